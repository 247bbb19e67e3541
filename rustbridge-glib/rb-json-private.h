/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * rb-json-private: what the library does with untrusted JSON, in one
 * place. A leaf: it depends on json-glib and rb-error.h only.
 *
 * - The strict scanner (rb_json_value_check() and its in-place form): one
 *   JSON value, valid UTF-8, no NUL, standard escapes, nested at most
 *   RB_JSON_MAX_DEPTH deep; no recursion, no allocation in place.
 * - rb_json_load_untrusted(): json-glib recurses once per level without a
 *   limit, so untrusted text reaches it only once the scanner accepted it.
 * - Typed member getters, all NULL-tolerant (a missing object reads as an
 *   object without members), and the deep copy.
 * - rb_json_manifest_error(): the one builder of "Invalid manifest.json:"
 *   messages (RB_BUNDLE_ERROR_INVALID_MANIFEST).
 */

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Containers nested deeper than this are refused, so that no untrusted
 * text reaches json-glib (which has no depth limit of its own and recurses
 * per level) without passing the scanner first. test-config checks both
 * sides of it through the public API. */
#define RB_JSON_MAX_DEPTH 512

typedef enum {
  RB_JSON_VALID,
  RB_JSON_MALFORMED,
  RB_JSON_TOO_DEEP,   /* well-formed so far, but nested deeper than RB_JSON_MAX_DEPTH */
} RbJsonCheck;

/* TRUE if [data, data+len) is exactly one JSON value, optionally
 * surrounded by white space, with valid UTF-8 and no NUL bytes, nested at
 * most RB_JSON_MAX_DEPTH deep. */
gboolean    rb_json_value_is_valid  (const char    *data,
                                     gsize          len);

/* The same check, saying why the text was refused. */
RbJsonCheck rb_json_value_check     (const char    *data,
                                     gsize          len);

/* How many readable bytes rb_json_scan_in_place() needs before @start. */
#define RB_JSON_SCAN_LEAD 16

/*
 * The same check on [start, end) in place, without a copy. Its
 * preconditions, which make the hot loops cheap:
 *
 * - the RB_JSON_SCAN_LEAD bytes before @start and the byte at @end are
 *   readable too, so the string loop can load a whole block anywhere
 *   (near the end it loads the block that ends at @end and shifts the
 *   mask);
 * - the byte at @end is a NUL or a closing brace: it ends every run of
 *   white space, digits, hex digits or literal letters, so most loops need
 *   no bounds check, and the grammar checks only that it never goes past
 *   @end (a closing brace there could close an object).
 *
 * The success envelope's payload meets them as it comes from the plugin:
 * it follows the 30-byte envelope prefix and precedes the envelope's
 * closing brace. Scanning in place spares a copy that the scan would then
 * wait for (block loads cannot take their bytes from the several pending
 * stores of a fresh copy).
 */
RbJsonCheck rb_json_scan_in_place   (const guchar  *start,
                                     const guchar  *end);

/*
 * Loads untrusted JSON text (@len bytes, or up to a NUL if -1) into
 * @parser. Text nested deeper than RB_JSON_MAX_DEPTH, or that the strict
 * scanner refuses, never reaches json-glib's recursive parser (except,
 * for its message, text with too few brackets to nest deeply however
 * read). On failure @error is set in JSON_PARSER_ERROR, with a message for
 * the caller to put after its own context: "nested deeper than 512
 * levels", or what is wrong with the text.
 */
gboolean rb_json_load_untrusted (JsonParser  *parser,
                                 const char  *data,
                                 gssize       len,
                                 GError     **error);

/* A copy of @node that shares nothing with it and is not sealed
 * (json_node_copy() shares arrays and objects), made without going
 * through text: a double that
 * text cannot hold (1e400 reads as infinity) survives it. Recurses once
 * per level: for trees that passed rb_json_load_untrusted() or that the
 * caller built. */
JsonNode *rb_json_node_deep_copy  (JsonNode    *node) G_GNUC_WARN_UNUSED_RESULT;

/* FALSE if @node holds a number JSON text cannot write back (an infinity
 * or NaN: json-glib reads 1e400 as infinity and writes "inf.0"). */
gboolean  rb_json_node_is_finite  (JsonNode    *node);

/* @node as compact JSON text. Unlike json_to_string() (json-glib 1.6
 * writes 1e-08 as "1e-08.0", which is not JSON), always valid JSON; a
 * non-finite double is written as null. Recurses once per level. */
char     *rb_json_to_string       (JsonNode    *node) G_GNUC_WARN_UNUSED_RESULT;
/* Appends @s (UTF-8) to @out as a JSON string literal, quotes included. */
void      rb_json_write_string    (GString     *out,
                                   const char  *s);

/* Typed member getters. @object may be NULL (no members). */

/* The member @name, or NULL if it is absent or JSON null. */
JsonNode   *rb_json_object_get_present (JsonObject *object,
                                        const char *name);
/* The member @name if it is an object, else NULL. */
JsonObject *rb_json_object_get_object  (JsonObject *object,
                                        const char *name);
/* The member @name if it is a string, else NULL. */
const char *rb_json_object_get_string  (JsonObject *object,
                                        const char *name);
/* The member @name if it is a boolean, else @fallback. */
gboolean    rb_json_object_get_boolean (JsonObject *object,
                                        const char *name,
                                        gboolean    fallback);
/* The member names of @object, sorted, as a GStrv (empty for NULL). */
GStrv       rb_json_object_list_members (JsonObject *object) G_GNUC_WARN_UNUSED_RESULT;

/* Sets @error to RB_BUNDLE_ERROR_INVALID_MANIFEST with the message
 * "Invalid manifest.json: " and @format. Returns FALSE. */
gboolean    rb_json_manifest_error     (GError    **error,
                                        const char *format,
                                        ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
