/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

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

/* TRUE if [data, data+len) is exactly one JSON value, optionally
 * surrounded by white space, with valid UTF-8 and no NUL bytes. */
gboolean  rb_json_value_is_valid      (const char    *data,
                                       gsize          len);

G_END_DECLS
