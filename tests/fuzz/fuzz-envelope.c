/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: the plugin call boundary (rb_plugin_call,
 * rb_plugin_call_json, rb_plugin_call_raw) and the envelope reader behind
 * it, fed by a plugin (fuzz-plugin.c) whose responses come from the input:
 * success and error envelopes, plain error text, any error code, NULL
 * data, and len/capacity as the input says, so len > capacity (a lying
 * plugin) is tried too. The plugin allocates exactly @capacity bytes:
 * ASan reports any read past them.
 *
 * Input: flags (1 byte: see the enum below), error code (4 bytes, little-endian), then if
 * flags & EXPLICIT_SIZES, len and capacity (2 bytes each), then the bytes.
 *
 * Checks: no crash, leak or WARNING/CRITICAL; a failure sets an
 * RB_PLUGIN_ERROR with a UTF-8 message; a JSON payload is one strict JSON
 * value; raw bytes are readable to their end.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rustbridge-glib.h>

#include "rb-envelope-private.h"
#include "rb-json-private.h"
#include "fuzz-util.h"

enum {
  FLAG_RAW            = 1 << 0,   /* plugin_call_raw (RbResponse) */
  FLAG_EXPLICIT_SIZES = 1 << 1,   /* len and capacity from the input */
  FLAG_NULL_DATA      = 1 << 2,   /* data == NULL whatever len says */
  FLAG_JSON_NODE      = 1 << 3,   /* rb_plugin_call_json rather than rb_plugin_call */
  FLAG_NULL_ERROR     = 1 << 4,   /* GError ** is NULL (the caller ignores errors) */
};

typedef void (*SetResponseFunc) (uint32_t code, const uint8_t *bytes, size_t size,
                                 size_t len, size_t capacity, bool null_data);

static RbPlugin *plugin;
static SetResponseFunc set_response;

static void
setup (void)
{
  g_autoptr(GError) error = NULL;
  void *module;

  fuzz_setup ();
  plugin = rb_plugin_new (RB_FUZZ_PLUGIN_PATH, NULL, NULL, &error);
  if (plugin == NULL)
    {
      fprintf (stderr, "cannot load %s: %s\n", RB_FUZZ_PLUGIN_PATH, error->message);
      abort ();
    }
  /* The library has it open already: this only finds it. */
  module = dlopen (RB_FUZZ_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  set_response = module != NULL ? (SetResponseFunc) dlsym (module, "rb_fuzz_plugin_set_response") : NULL;
  if (set_response == NULL)
    {
      fprintf (stderr, "rb_fuzz_plugin_set_response not found in %s\n", RB_FUZZ_PLUGIN_PATH);
      abort ();
    }
}

static guint32
read_le (const uint8_t *p,
         gsize          n)
{
  guint32 v = 0;

  for (gsize i = 0; i < n; i++)
    v |= (guint32) p[i] << (8 * i);
  return v;
}

static void
call_json (gboolean json_node,
           gboolean null_error)
{
  g_autoptr(GError) error = NULL;
  GError **error_p = null_error ? NULL : &error;

  if (json_node)
    {
      g_autoptr(JsonNode) node = rb_plugin_call_json (plugin, "fuzz", NULL, NULL, error_p);

      if (node == NULL && !null_error)
        fuzz_check_error (error, RB_PLUGIN_ERROR, "rb_plugin_call_json");
    }
  else
    {
      g_autofree char *payload = rb_plugin_call (plugin, "fuzz", "{}", NULL, error_p);

      if (payload == NULL)
        {
          if (!null_error)
            fuzz_check_error (error, RB_PLUGIN_ERROR, "rb_plugin_call");
        }
      else if (!rb_json_value_is_valid (payload, strlen (payload)))
        {
          fprintf (stderr, "rb_plugin_call returned a payload that is not strict JSON: %s\n", payload);
          abort ();
        }
    }
}

static void
call_raw (gboolean null_error)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) request = g_bytes_new_static ("\0\0\0\0", 4);
  g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, 1, request, NULL, null_error ? NULL : &error);

  if (reply == NULL && null_error)
    return;
  if (reply == NULL)
    fuzz_check_error (error, RB_PLUGIN_ERROR, "rb_plugin_call_raw");
  else
    {
      gsize size;
      const volatile guint8 *bytes = g_bytes_get_data (reply, &size);
      guint8 sum = 0;

      /* A caller reads what it is given: all of it must be there. */
      for (gsize i = 0; i < size; i++)
        sum ^= bytes[i];
      (void) sum;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  guint8 flags;
  guint32 code;
  gsize len, capacity;

  if (plugin == NULL)
    setup ();
  if (size < 5)
    return 0;
  flags = data[0];
  code = read_le (data + 1, 4);
  data += 5;
  size -= 5;
  if (flags & FLAG_EXPLICIT_SIZES)
    {
      if (size < 4)
        return 0;
      len = read_le (data, 2);
      capacity = read_le (data + 2, 2);
      data += 4;
      size -= 4;
    }
  else
    len = capacity = size;

  set_response (code, data, size, len, capacity, (flags & FLAG_NULL_DATA) != 0);
  if (flags & FLAG_RAW)
    call_raw ((flags & FLAG_NULL_ERROR) != 0);
  else
    call_json ((flags & FLAG_JSON_NODE) != 0, (flags & FLAG_NULL_ERROR) != 0);

  /* The reader alone, on an exactly-sized copy of the bytes. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *payload = rb_envelope_read (code, data, size, &error);

    if (payload == NULL)
      fuzz_check_error (error, RB_PLUGIN_ERROR, "rb_envelope_read");
  }
  return 0;
}
