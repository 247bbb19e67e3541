/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * rb-envelope-private: the response envelope reader. The JSON it checks
 * goes through the strict scanner of rb-json-private.h first; this file
 * knows only the envelope (status, payload, error_code, error_message).
 */

/*
 * Reads a plugin_call() response (doc/plugin-abi.md, "The four response
 * forms"): returns the payload JSON text of a success envelope, or
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
