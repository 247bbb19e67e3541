/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* json-glib recurses once per level of nesting, without a limit: untrusted
 * text reaches it only once the validator (rb_json_value_is_valid(), which
 * stops at this depth without recursing) has accepted it. Keep it equal to
 * RB_JSON_MAX_DEPTH in rb-envelope-private.c: test-config checks both
 * sides of it through the public API. */
#define RB_JSON_MAX_UNTRUSTED_DEPTH 512

/*
 * Loads untrusted JSON text (@len bytes, or up to a NUL if -1) into
 * @parser. Text nested deeper than RB_JSON_MAX_UNTRUSTED_DEPTH, or that
 * the strict validator refuses, never reaches json-glib's recursive
 * parser (except, for its message, text with too few brackets to nest
 * deeply however read). On failure @error is set in JSON_PARSER_ERROR,
 * with a message for the caller to put after its own context: "nested
 * deeper than 512 levels", or what is wrong with the text.
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

G_END_DECLS
