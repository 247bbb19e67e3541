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

G_END_DECLS
