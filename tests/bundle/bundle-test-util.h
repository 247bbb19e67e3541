/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <rustbridge-glib.h>

G_BEGIN_DECLS

/* Runs @argv in @dir; a failure ends the test with the command's stderr. */
void  rb_test_run_in (const char         *dir,
                      const char * const *argv);

/* Removes @path and everything under it. */
void  rb_test_remove_tree  (const char         *path);

/* Makes @dir/@name with tests/bundle/rb-make-bundle.py around the fixture plugin
 * for the current platform, signed with @key_path and embedding @pub_path unless
 * they are NULL, with the tool options @extra. Returns the path. */
char *rb_test_make_bundle (const char         *dir,
                           const char         *name,
                           const char         *key_path,
                           const char         *pub_path,
                           const char * const *extra);

/* ---- the RbBundle test programs' fixture (test-bundle-*.c). Programs
 * with a fixture of their own (trust, compat) define
 * RB_BUNDLE_TEST_OWN_FIXTURE before including this header. ---- */
#ifndef RB_BUNDLE_TEST_OWN_FIXTURE

extern char      *workdir;   /* keys and bundles */
extern char      *tmpdir;    /* TMPDIR: private extraction dirs land here */
extern char      *key, *pub, *key2, *pub2;  /* two minisign key pairs */
extern GPtrArray *warnings;  /* what the library reported about bundles */

/* How the programs open bundles: --rb-bundle-open=bytes or =resource on
 * the command line runs every case through rb_bundle_new_for_bytes() or
 * rb_bundle_new_for_resource() instead of the path (meson runs each
 * program each way). A path that is not a regular file (missing, a FIFO,
 * a directory) cannot be read into memory: it is opened by path in every
 * mode. --rb-bundle-open=cached lists the file (a hard link to it) in a
 * registry whose metadata cache knows it already: the bundle is made from
 * the cached manifest, and its archive is opened on first use; a file no
 * registry lists (it does not open) is opened by path. */
typedef enum {
  OPEN_PATH,
  OPEN_BYTES,
  OPEN_RESOURCE,
  OPEN_CACHED,
} OpenMode;
extern OpenMode   open_mode;
/* Whether libraries load through the fallback (--rb-no-memfd sets
 * RUSTBRIDGE_NO_MEMFD: meson runs the load program that way too). */
extern gboolean   loads_extract;

/* Opens @path as open_mode says. */
RbBundle *open_bundle   (const char         *path,
                         GError            **error);
/* How messages name the bundle open_bundle (@path) opens, or fails to
 * open. */
const char *named_in_messages (const char       *path);
/* Skips the test unless bundles are opened by path (for cases about the
 * file itself). Returns TRUE if it skipped. */
gboolean  skip_unless_path (void);

/* Sets the fixture up (a private TMPDIR, two key pairs, a copy of
 * plugins/fixture-raw.h in workdir) and calls rb_test_init(); installs a
 * log writer that collects the library's MESSAGE and INFO records in
 * @warnings and lets WARNING and CRITICAL abort. FALSE when minisign is
 * not installed (the program then only runs g_test_run()). */
gboolean  rb_bundle_test_init (int    *argc,
                               char ***argv);
/* g_test_run(), then removes the fixture. */
int       rb_bundle_test_run  (void);

/* Whether a collected message contains @needle. */
gboolean  warned_about  (const char         *needle);
/* Runs @argv in workdir. */
void      run           (const char * const *argv);
/* make ("name.rbp", extra args..., NULL): a bundle around the fixture
 * plugin, signed with key 1 and embedding pub 1 unless told otherwise;
 * make_unsigned() neither signs nor embeds a key. */
char     *make_v        (const char         *name,
                         gboolean            sign,
                         const char * const *extra);
char     *make          (const char         *name,
                         ...) G_GNUC_NULL_TERMINATED;
char     *make_unsigned (const char         *name,
                         ...) G_GNUC_NULL_TERMINATED;
/* A copy of the plugin library @library (NULL: the fixture plugin) at
 * workdir/@subdir/@file_name with @tag appended after its end (the loader
 * ignores it): a library with content of its own, which this process has
 * not loaded yet. Returns the path, for make ("x.rbp", "--library", path). */
char     *unique_library (const char         *library,
                          const char         *subdir,
                          const char         *file_name,
                          const char         *tag);
/* How many names @dir holds. */
guint     count_entries (const char         *dir);
/* Opens @path, which must succeed. */
RbBundle *open_ok       (const char         *path);
/* Opening @path fails with @code, the message containing @needle. */
void      open_fails    (const char         *path,
                         int                 code,
                         const char         *needle);
/* Loading @variant fails with @code, leaving nothing in tmpdir. */
void      load_fails    (RbBundle           *bundle,
                         const char         *variant,
                         int                 code,
                         const char         *needle);
/* Loads @variant, which must succeed, leaving nothing in tmpdir. */
RbPlugin *load_ok       (RbBundle           *bundle,
                         const char         *variant);
#endif

G_END_DECLS
