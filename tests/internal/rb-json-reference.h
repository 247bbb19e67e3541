/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The contract of rb_json_value_is_valid(), written for clarity instead
 * of speed: the oracle for the differential test and the fuzz target. */
#define RB_JSON_REFERENCE_MAX_DEPTH 512

gboolean rb_json_reference_is_valid (const char *data,
                                     gsize       len);

G_END_DECLS
