/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The plugin behind fuzz-envelope: every plugin_call() and
 * plugin_call_raw() returns the response that the fuzz target set last
 * with rb_fuzz_plugin_set_response(), as a hostile plugin could: any
 * error code, any bytes, NULL data, and len/capacity as given (len may
 * exceed capacity; the allocation is exactly @capacity bytes, so ASan
 * sees any read past it). Plain C like tests/plugins, not instrumented.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../plugins/test-plugin-abi.h"


enum { STATE_ACTIVE = 2, STATE_STOPPED = 4 };

static int handle_state = STATE_ACTIVE;

/* The next response (single-threaded: the fuzz target calls synchronously). */
static uint32_t next_code;
static uint8_t *next_bytes;
static size_t next_size;
static size_t next_len;
static size_t next_capacity;
static bool next_null;

EXPORT void rb_fuzz_plugin_set_response (uint32_t code, const uint8_t *bytes, size_t size,
                                         size_t len, size_t capacity, bool null_data);
EXPORT void *plugin_create (void);
EXPORT void *plugin_init (void *plugin, const uint8_t *config_json, size_t config_len,
                          RbLogCallback log_cb);
EXPORT RbFfiBuffer plugin_call (void *handle, const char *type_tag, const uint8_t *request,
                                size_t request_len);
EXPORT void plugin_free_buffer (RbFfiBuffer *buf);
EXPORT bool plugin_shutdown (void *handle);
EXPORT uint8_t plugin_get_state (void *handle);
EXPORT void plugin_set_log_level (void *handle, uint8_t level);
EXPORT uint64_t plugin_get_rejected_count (void *handle);
EXPORT RbResponse plugin_call_raw (void *handle, uint32_t message_id, const void *request,
                                   size_t request_size);
EXPORT void rb_response_free (RbResponse *resp);

void
rb_fuzz_plugin_set_response (uint32_t       code,
                             const uint8_t *bytes,
                             size_t         size,
                             size_t         len,
                             size_t         capacity,
                             bool           null_data)
{
  free (next_bytes);
  next_bytes = malloc (size ? size : 1);
  if (size > 0)
    memcpy (next_bytes, bytes, size);
  next_size = size;
  next_code = code;
  next_len = len;
  next_capacity = capacity;
  next_null = null_data;
}

/* A fresh allocation of exactly @capacity bytes (at least one, so that
 * capacity 0 with len > 0 is still a valid pointer to over-read). */
static uint8_t *
take_data (void)
{
  uint8_t *data;

  if (next_null)
    return NULL;
  data = malloc (next_capacity ? next_capacity : 1);
  memset (data, 0, next_capacity ? next_capacity : 1);
  memcpy (data, next_bytes, next_size < next_capacity ? next_size : next_capacity);
  return data;
}

void *
plugin_create (void)
{
  return &handle_state;
}

void *
plugin_init (void *plugin, const uint8_t *config_json, size_t config_len, RbLogCallback log_cb)
{
  handle_state = STATE_ACTIVE;
  return plugin;
}

RbFfiBuffer
plugin_call (void *handle, const char *type_tag, const uint8_t *request, size_t request_len)
{
  RbFfiBuffer buf = { take_data (), next_len, next_capacity, next_code };
  return buf;
}

void
plugin_free_buffer (RbFfiBuffer *buf)
{
  if (buf != NULL)
    free (buf->data);
}

bool
plugin_shutdown (void *handle)
{
  handle_state = STATE_STOPPED;
  return true;
}

uint8_t
plugin_get_state (void *handle)
{
  return handle == &handle_state ? (uint8_t) handle_state : 255;
}

void
plugin_set_log_level (void *handle, uint8_t level)
{
}

uint64_t
plugin_get_rejected_count (void *handle)
{
  return 0;
}

RbResponse
plugin_call_raw (void *handle, uint32_t message_id, const void *request, size_t request_size)
{
  RbResponse resp = { next_code, (uint32_t) next_len, (uint32_t) next_capacity, take_data () };
  return resp;
}

void
rb_response_free (RbResponse *resp)
{
  if (resp != NULL)
    free (resp->data);
}
