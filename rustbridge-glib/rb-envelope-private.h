/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Reads a plugin_call() response (spec/ABI.md, "The JSON call and its
 * response"): returns the payload JSON text of a success envelope, or
 * %NULL with @error set from an error envelope, from plain error text, or
 * to %RB_PLUGIN_ERROR_PROTOCOL when the response is malformed.
 */
char     *rb_envelope_read            (guint32        error_code,
                                       const guint8  *data,
                                       gsize          len,
                                       GError       **error);

/* Sets @error from a failed response (error envelope or plain text). */
void      rb_envelope_set_error       (guint32        error_code,
                                       const guint8  *data,
                                       gsize          len,
                                       GError       **error);

/* Maps a wire error code to an RbPluginError code and sets @error. */
void      rb_envelope_set_wire_error  (GError       **error,
                                       guint32        wire_code,
                                       const char    *message);

/* Containers nested deeper than this are refused, so that no untrusted
 * text reaches json-glib (which has no depth limit of its own and recurses
 * per level) without passing the scanner first. */
#define RB_JSON_MAX_DEPTH 512

typedef enum {
  RB_JSON_VALID,
  RB_JSON_MALFORMED,
  RB_JSON_TOO_DEEP,   /* well-formed so far, but nested deeper than RB_JSON_MAX_DEPTH */
} RbJsonCheck;

/* TRUE if [data, data+len) is exactly one JSON value, optionally
 * surrounded by white space, with valid UTF-8 and no NUL bytes, nested at
 * most RB_JSON_MAX_DEPTH deep. */
gboolean  rb_json_value_is_valid      (const char    *data,
                                       gsize          len);

/* The same check, saying why the text was refused. */
RbJsonCheck rb_json_value_check       (const char    *data,
                                       gsize          len);

/* Checks the buffer a plugin handed out before anything reads it: @len
 * must not exceed @capacity, and @data may be NULL only when @len is 0.
 * Otherwise sets @error (%RB_PLUGIN_ERROR_PROTOCOL, naming @what). The
 * buffer is still the plugin's to free. */
gboolean  rb_envelope_check_buffer_slow (const void  *data,
                                         gsize        len,
                                         gsize        capacity,
                                         const char  *what,
                                         GError     **error);

static inline gboolean
rb_envelope_check_buffer (const void  *data,
                          gsize        len,
                          gsize        capacity,
                          const char  *what,
                          GError     **error)
{
  if (G_LIKELY (len <= capacity && (data != NULL || len == 0)))
    return TRUE;
  return rb_envelope_check_buffer_slow (data, len, capacity, what, error);
}

G_END_DECLS
