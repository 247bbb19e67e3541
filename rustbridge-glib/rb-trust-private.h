/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * rb-trust-private: the keys an application trusts, found by the key id
 * of a signature in directories of minisign `.pub` files: the bundle's
 * trusted-keys-dir, then $XDG_CONFIG_HOME/rustbridge/trusted-keys/, then
 * each $XDG_DATA_DIRS/rustbridge/trusted-keys/.
 *
 * A directory is read within bounds: at most RB_TRUST_MAX_DIR_ENTRIES
 * names, and only regular `*.pub` files of at most RB_TRUST_MAX_KEY_FILE
 * bytes. Files that cannot be read or are not keys are skipped with a
 * debug message (never a warning: anyone may drop a file there).
 */

#include <glib.h>

#include "rb-minisign-private.h"

G_BEGIN_DECLS

#define RB_TRUST_MAX_DIR_ENTRIES 1000
#define RB_TRUST_MAX_KEY_FILE    4096

/* Looks for the key with @key_id in @dir. Returns TRUE with *key and
 * *found_path (the file) set if one is there; a missing or unreadable
 * directory is no error, only no key. */
gboolean  rb_trust_find_in_dir       (const char    *dir,
                                      const guint8   key_id[RB_MINISIGN_KEY_ID_LEN],
                                      RbMinisignKey *key,
                                      char         **found_path);

/* The user's and the system's trusted-keys directories, in search
 * order (as GLib resolved XDG_CONFIG_HOME and XDG_DATA_DIRS). */
GStrv     rb_trust_default_dirs      (void);

/* Looks in @dir (unless NULL), then in the default directories. */
gboolean  rb_trust_find              (const char    *dir,
                                      const guint8   key_id[RB_MINISIGN_KEY_ID_LEN],
                                      RbMinisignKey *key,
                                      char         **found_path);

G_END_DECLS
