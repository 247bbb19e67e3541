/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <rustbridge-glib.h>

G_BEGIN_DECLS

/* The directories of a registry test program, all under one fresh base
 * directory that the program removes at the end. */
typedef struct {
  char *base;
  char *config;      /* XDG_CONFIG_HOME */
  char *data_home;   /* XDG_DATA_HOME */
  char *data_dir;    /* XDG_DATA_DIRS */
  char *cache_home;  /* XDG_CACHE_HOME */
  char *tmp;         /* TMPDIR */
  char *store;       /* the bundles, made once, copied from there */
  char *trusted;     /* $XDG_CONFIG_HOME/rustbridge/trusted-keys */
} RegistryTestDirs;

/* Makes the base directory @prefix-XXXXXX under $TMPDIR (or /tmp), points
 * the XDG directories and TMPDIR into it and makes tmp, store and trusted.
 * Call it first in main(): GLib must not have read the XDG variables. */
void  registry_test_dirs_init  (RegistryTestDirs *dirs,
                                const char       *prefix);
/* Removes the base directory and frees the paths. */
void  registry_test_dirs_clear (RegistryTestDirs *dirs);

/* The path of @name in the store. */
char *registry_test_store_path (const RegistryTestDirs *dirs,
                                const char             *name);

/* Makes the minisign key pair @name.key, @name.pub in the store; returns
 * their paths. */
void  registry_test_make_key   (const RegistryTestDirs  *dirs,
                                const char              *name,
                                char                   **key_path,
                                char                   **pub_path);
/* Trusts @pub_path: copies it into the trusted-keys directory. */
void  registry_test_trust_key  (const RegistryTestDirs *dirs,
                                const char             *pub_path);

/* Copies the store's @store_name to @dir/@name through a temporary file
 * and a rename, as an installer would (a new inode). */
void  registry_test_install    (const RegistryTestDirs *dirs,
                                const char             *store_name,
                                const char             *dir,
                                const char             *name);

G_END_DECLS
