/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The benchmarks' own plugin: the smallest thing that speaks the plugin
 * ABI (doc/plugin-abi.md), so that a figure is the host's cost and not a
 * handler's.
 *
 *   JSON "echo"    the request itself as the payload (any size)
 *   JSON "touch"   reads one byte of every page of the padding (built with
 *                  -DRB_BENCH_PAD and the symbols rb_bench_pad and
 *                  rb_bench_pad_end, as bench-bundle.sh does), so that
 *                  the loader's mapping of it is resident
 *   JSON "segv"    crashes (isolated benchmarks only)
 *   raw message 1  the request bytes back (any size)
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugins/test-plugin-abi.h"

#ifdef RB_BENCH_PAD
extern const uint8_t rb_bench_pad[];
extern const uint8_t rb_bench_pad_end[];
#endif

#define HANDLE_MAGIC 0x52424245u

typedef struct {
  uint32_t magic;
} Handle;

static bool
valid (void *h)
{
  return h != NULL && ((Handle *) h)->magic == HANDLE_MAGIC;
}

static RbFfiBuffer
buffer_printf (uint32_t code, const char *prefix, const uint8_t *middle, size_t middle_len, const char *suffix)
{
  size_t a = strlen (prefix), c = strlen (suffix);
  RbFfiBuffer buf = { malloc (a + middle_len + c), a + middle_len + c, a + middle_len + c, code };

  memcpy (buf.data, prefix, a);
  if (middle_len > 0)
    memcpy (buf.data + a, middle, middle_len);
  memcpy (buf.data + a + middle_len, suffix, c);
  return buf;
}

EXPORT void *
plugin_create (void)
{
  Handle *h = calloc (1, sizeof *h);

  h->magic = HANDLE_MAGIC;
  return h;
}

EXPORT void *
plugin_init (void *plugin, const uint8_t *config, size_t config_len, RbLogCallback log_cb)
{
  (void) config; (void) config_len; (void) log_cb;
  return plugin;
}

EXPORT RbFfiBuffer
plugin_call (void *h, const char *tag, const uint8_t *request, size_t len)
{
  if (!valid (h))
    return buffer_printf (1, "{\"status\":\"error\",\"error_code\":1,\"error_message\":\"Invalid handle\"}", NULL, 0, "");
  if (strcmp (tag, "echo") == 0)
    return buffer_printf (0, "{\"status\":\"success\",\"payload\":", request, len, "}");
  if (strcmp (tag, "segv") == 0)
    raise (SIGSEGV);
#ifdef RB_BENCH_PAD
  if (strcmp (tag, "touch") == 0)
    {
      const volatile uint8_t *p = rb_bench_pad;
      size_t size = (size_t) (rb_bench_pad_end - rb_bench_pad);
      unsigned sum = 0;
      char text[64];

      for (size_t i = 0; i < size; i += 4096)
        sum += p[i];
      snprintf (text, sizeof text, "{\"bytes\":%zu,\"sum\":%u}", size, sum);
      return buffer_printf (0, "{\"status\":\"success\",\"payload\":", (const uint8_t *) text, strlen (text), "}");
    }
#endif
  return buffer_printf (6, "{\"status\":\"error\",\"error_code\":6,\"error_message\":\"unknown message type\"}",
                        NULL, 0, "");
}

EXPORT void
plugin_free_buffer (RbFfiBuffer *buf)
{
  if (buf == NULL)
    return;
  free (buf->data);
  buf->data = NULL;
  buf->len = buf->capacity = 0;
}

EXPORT bool
plugin_shutdown (void *h)
{
  if (!valid (h))
    return false;
  ((Handle *) h)->magic = 0;
  free (h);
  return true;
}

EXPORT uint8_t
plugin_get_state (void *h)
{
  return valid (h) ? 2 : 255;
}

EXPORT void
plugin_set_log_level (void *h, uint8_t level)
{
  (void) h; (void) level;
}

EXPORT uint64_t
plugin_get_rejected_count (void *h)
{
  (void) h;
  return 0;
}

EXPORT RbResponse
plugin_call_raw (void *h, uint32_t message_id, const void *request, size_t size)
{
  static const char unknown[] = "Unknown message ID";
  RbResponse resp = { 0, 0, 0, NULL };

  if (!valid (h) || message_id != 1 || size > UINT32_MAX)
    {
      resp.error_code = 6;
      resp.data = strdup (unknown);
      resp.len = resp.capacity = sizeof unknown;
      return resp;
    }
  resp.data = malloc (size > 0 ? size : 1);
  if (size > 0)
    memcpy (resp.data, request, size);
  resp.len = resp.capacity = (uint32_t) size;
  if (resp.capacity == 0)
    resp.capacity = 1;
  return resp;
}

EXPORT void
rb_response_free (RbResponse *resp)
{
  if (resp == NULL || resp->capacity == 0)
    return;
  free (resp->data);
  resp->data = NULL;
}
