/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * rb-names-private: names for messages. Whatever a bundle, a plugin or a
 * caller names (entry names, platforms, variants, schemas, type tags,
 * paths) is shown escaped, so that a message can neither be forged with
 * control characters nor grow without bound. A leaf: GLib only.
 */

#include <glib.h>

G_BEGIN_DECLS

/* How many bytes of a name a message shows. */
#define RB_NAMES_SHOWN_MAX 200

/* @text (@len bytes, or up to a NUL if -1) as a message may show it: C0
 * and C1 controls, DEL, Unicode format characters and line separators as
 * \xNN or \uNNNN, bytes that are not UTF-8 as \xNN, backslashes doubled;
 * cut before @max_bytes would be exceeded, with an ellipsis. */
char *rb_names_escape       (const char *text,
                             gssize      len,
                             gsize       max_bytes) G_GNUC_WARN_UNUSED_RESULT;

/* The same, with every character beyond ASCII as \uNNNN or \UNNNNNNNN too
 * (and "..." as the ellipsis): for names that may differ in characters
 * that look alike. */
char *rb_names_escape_ascii (const char *text,
                             gssize      len,
                             gsize       max_bytes) G_GNUC_WARN_UNUSED_RESULT;

/* A name (from a bundle, a plugin or a caller) for a message: escaped,
 * and cut at RB_NAMES_SHOWN_MAX bytes. */
char *rb_names_shown        (const char *name) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
