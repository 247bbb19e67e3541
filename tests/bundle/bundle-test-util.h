/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs @argv in @dir; a failure ends the test with the command's stderr. */
void  rb_test_run_in (const char         *dir,
                      const char * const *argv);

/* Removes @path and everything under it. */
void  rb_test_remove_tree  (const char         *path);

/* Makes @dir/@name with tools/rb-make-bundle.py around the fixture plugin
 * for the current platform, signed with @key and embedding @pub unless
 * they are NULL, with the tool options @extra. Returns the path. */
char *rb_test_make_bundle (const char         *dir,
                           const char         *name,
                           const char         *key,
                           const char         *pub,
                           const char * const *extra);

G_END_DECLS
