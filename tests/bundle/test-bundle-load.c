/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbBundle, loading the plugin a bundle holds (sync and async, platforms and
 * variants, extraction), and the methods of a bundle that is not open. Bundles are made at test time by
 * tests/bundle/rb-make-bundle.py and signed with Debian's minisign tool (see
 * bundle-test-util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bundle-test-util.h"
#include "rb-test-util.h"


static void
test_valid_bundle (void)
{
  g_autofree char *path = make ("valid.rbp", "--schema", "echo=" "fixture-raw.h", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_auto(GStrv) platforms = rb_bundle_list_platforms (bundle);
  g_auto(GStrv) variants = rb_bundle_list_variants (bundle, NULL, &error);
  g_auto(GStrv) files = rb_bundle_list_files (bundle);
  g_auto(GStrv) schemas = rb_bundle_list_schemas (bundle);
  g_autolist(RbBundleMessage) messages = rb_bundle_list_api_messages (bundle);
  g_autofree char *manifest = rb_bundle_dup_manifest_json (bundle);
  g_autofree char *def = rb_bundle_dup_default_variant (bundle, NULL, &error);
  g_autofree char *manifest_01 = rb_bundle_get_manifest_json (bundle);
  g_autofree char *def_01 = rb_bundle_get_default_variant (bundle, NULL, NULL);
  g_auto(GStrv) authors = NULL;
  g_autofree char *bundle_version = NULL;

  /* The 0.1 names return new copies of the same. */
  g_assert_cmpstr (manifest_01, ==, manifest);
  g_assert_true (manifest_01 != manifest);
  g_assert_cmpstr (def_01, ==, def);
  g_assert_cmpstr (rb_bundle_get_name (bundle), ==, "test-plugin");
  g_assert_cmpstr (rb_bundle_get_version (bundle), ==, "1.0.0");
  g_assert_cmpstr (rb_bundle_get_description (bundle), ==, "A test plugin");
  g_assert_cmpstr (rb_bundle_get_license (bundle), ==, "MIT");
  g_assert_cmpstr (rb_bundle_get_repository (bundle), ==, "https://example.invalid/repo");
  g_object_get (bundle, "authors", &authors, "bundle-version", &bundle_version, NULL);
  g_assert_cmpstrv (authors, ((const char *[]) { "Ada", "Grace", NULL }));
  g_assert_cmpstr (bundle_version, ==, "1.0");
  g_assert_cmpstrv (platforms, ((const char *[]) { rb_bundle_get_current_platform (), NULL }));
  g_assert_cmpstrv (variants, ((const char *[]) { "release", NULL }));
  g_assert_cmpstr (def, ==, "release");
  g_assert_true (g_strv_contains ((const char * const *) files, "manifest.json"));
  g_assert_cmpstrv (schemas, ((const char *[]) { "echo", NULL }));
  g_assert_cmpuint (g_list_length (messages), ==, 2);
  g_assert_cmpstr (rb_bundle_message_get_type_tag (messages->data), ==, "echo");
  g_assert_cmpstr (rb_bundle_message_get_type_tag (messages->next->data), ==, "math.add");
  g_assert_nonnull (strstr (manifest, "\"bundle_version\""));
  g_assert_cmpstr (rb_bundle_get_build_info_string (bundle, "built_by"), ==, "rb-make-bundle");
  g_assert_cmpstr (rb_bundle_get_build_info_string (bundle, "custom.ci_job"), ==, "42");
  g_assert_cmpstr (rb_bundle_get_git_commit (bundle), ==, "abc123");
  g_assert_cmpstr (rb_bundle_get_sbom_path (bundle, "cyclonedx"), ==, "sbom/sbom.cdx.json");
  g_assert_cmpstr (rb_bundle_get_min_rustbridge_version (bundle), ==, "0.7.0");
  g_assert_true (g_str_has_prefix (rb_bundle_get_manifest_public_key (bundle), "RW"));

  g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_no_error (error);
  plugin = load_ok (bundle, NULL);
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"bundled\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"bundled\",\"length\":7}");
  g_assert_cmpstr (rb_plugin_get_bundle_name (plugin), ==, "test-plugin");
  g_assert_cmpstr (rb_plugin_get_bundle_version (plugin), ==, "1.0.0");
}

static void
test_rust_plugin_bundle (void)
{
  g_autofree char *path = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *lib = NULL;

  if (rb_test_skip_if_missing (RB_TEST_RUST))
    return;
  lib = g_strdup_printf ("debug=%s", rb_test_plugin_path (RB_TEST_RUST));
  /* Rust plugin as the "debug" variant next to the fixture's release. */
  path = make ("rust.rbp", "--variant", lib, NULL);
  bundle = open_ok (path);
  plugin = load_ok (bundle, "debug");
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"rust\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"rust\",\"length\":4}");
}

static void
test_platforms_and_variants (void)
{
  g_autofree char *noraw = g_strdup_printf ("debug=%s", rb_test_env_path ("RB_FIXTURE_NORAW_PLUGIN"));
  g_autofree char *two = make ("variants.rbp", "--variant", noraw, NULL);
  g_autofree char *def = make ("default-debug.rbp", "--variant", noraw, "--default-variant", "debug", NULL);
  g_autofree char *legacy = make ("legacy-platform.rbp", "--legacy-platform", "--bare-checksum", NULL);
  g_autoptr(RbBundle) b = open_ok (two);
  g_autoptr(RbBundle) d = open_ok (def);
  g_autoptr(RbBundle) l = open_ok (legacy);
  g_autoptr(RbPlugin) release = NULL;
  g_autoptr(RbPlugin) debug = NULL;
  g_autoptr(RbPlugin) by_default = NULL;
  g_autoptr(RbPlugin) from_legacy = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) variants = rb_bundle_list_variants (b, NULL, &error);
  g_auto(GStrv) none = NULL;
  g_autofree char *other = NULL;

  g_assert_cmpstrv (variants, ((const char *[]) { "debug", "release", NULL }));
  release = load_ok (b, NULL);
  debug = load_ok (b, "debug");
  /* The debug variant is the fixture built without the raw transport. */
  g_assert_true (rb_plugin_get_has_binary_transport (release));
  g_assert_false (rb_plugin_get_has_binary_transport (debug));
  load_fails (b, "nope", RB_BUNDLE_ERROR_VARIANT_NOT_FOUND, "nope");

  by_default = load_ok (d, NULL);
  g_assert_false (rb_plugin_get_has_binary_transport (by_default));

  from_legacy = load_ok (l, NULL);

  none = rb_bundle_list_variants (b, "windows-aarch64", &error);
  g_assert_null (none);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM);
  g_clear_error (&error);

  other = make ("other-platform.rbp", "--platform", "windows-aarch64", NULL);
  {
    g_autoptr(RbBundle) o = open_ok (other);
    load_fails (o, NULL, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM, "windows-aarch64");
  }
}

static void
test_extract_refuses_overwrite (void)
{
  g_autofree char *path = make ("extract.rbp", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) first = rb_bundle_extract_library (bundle, NULL, dest, NULL, &error);
  g_autoptr(GFile) second = NULL;
  g_autofree char *target = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  target = g_file_get_path (first);
  g_assert_true (g_str_has_suffix (target, "/librbfixture.so"));
  /* A file of the caller's is never overwritten. */
  g_assert_true (g_file_set_contents (target, "mine", -1, NULL));
  second = rb_bundle_extract_library (bundle, NULL, dest, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_EXISTS);
  g_assert_cmpint (g_stat (target, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 4);
  g_unlink (target);
  g_rmdir (dir);
}

static guint entries_at_callback;

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  RbPlugin **out = data;
  g_autoptr(GError) error = NULL;

  entries_at_callback = count_entries (tmpdir);
  *out = rb_bundle_load_plugin_finish (RB_BUNDLE (source), result, &error);
  g_assert_no_error (error);
}

static void
test_load_async (void)
{
  g_autofree char *path = make ("async.rbp", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  RbPlugin *plugin = NULL;
  guint before = count_entries (tmpdir);

  entries_at_callback = G_MAXUINT;
  rb_bundle_load_plugin_async (bundle, NULL, NULL, NULL, loaded_cb, &plugin);
  while (plugin == NULL)
    g_main_context_iteration (NULL, TRUE);
  /* Removed as soon as the library was mapped, before the caller hears
   * of it (who may crash then). */
  g_assert_cmpuint (entries_at_callback, ==, before);
  g_assert_cmpstr (rb_plugin_get_bundle_name (plugin), ==, "test-plugin");
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  rb_test_iterate_for (20);
  g_assert_cmpuint (count_entries (tmpdir), ==, before);
  g_object_unref (plugin);
}

static void
load_failed_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  GError **out = data;
  g_autoptr(RbPlugin) plugin = rb_bundle_load_plugin_finish (RB_BUNDLE (source), result, out);

  g_assert_null (plugin);
  g_assert_nonnull (*out);
}

/* Nothing is left on disk when an asynchronous load fails or is
 * cancelled, at whatever stage: here after the library was extracted and
 * verified, before the result reached the caller's context. */
static void
test_load_async_cancelled (void)
{
  /* A library not loaded yet: the load must get as far as writing it. */
  g_autofree char *library = unique_library (NULL, "async-cancel", "libasync.so", "async-cancel");
  g_autofree char *path = make ("async-cancel.rbp", "--library", library, NULL);
  g_autofree char *tampered = make ("async-tampered.rbp", "--tamper", "library", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbBundle) bad = open_ok (tampered);
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint before = count_entries (tmpdir);

  g_main_context_push_thread_default (context);
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) error = NULL;
      gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

      if (round == 0)
        {
          /* Extraction done: its result waits in @context. */
          rb_bundle_load_plugin_async (bundle, NULL, NULL, cancellable, load_failed_cb, &error);
          while (!g_main_context_pending (context))
            {
              g_assert_cmpint (g_get_monotonic_time (), <, deadline);
              g_usleep (1000);
            }
          /* The fallback's private directory waits with it; a memfd
           * writes nothing. */
          g_assert_cmpuint (count_entries (tmpdir), ==, before + (loads_extract ? 1 : 0));
          g_cancellable_cancel (cancellable);
        }
      else if (round == 1)
        {
          /* Cancelled before it started. */
          g_cancellable_cancel (cancellable);
          rb_bundle_load_plugin_async (bundle, NULL, NULL, cancellable, load_failed_cb, &error);
        }
      else
        rb_bundle_load_plugin_async (bad, NULL, NULL, NULL, load_failed_cb, &error);

      while (error == NULL)
        g_main_context_iteration (context, TRUE);
      if (round < 2)
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      else
        g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH);
      while (g_main_context_iteration (context, FALSE))
        ;
      g_assert_cmpuint (count_entries (tmpdir), ==, before);
    }
  g_main_context_pop_thread_default (context);
}

/* ---- loading without temporary files (memfd), and the name trap ---- */

/* Whether @plugin runs the raw-capable fixture (A) rather than the one
 * built without the binary transport (B): B refuses a raw call with
 * NOT_SUPPORTED before calling anything, A answers it (with whatever). */
static gboolean
runs_raw_fixture (RbPlugin *plugin)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) request = g_bytes_new_static ("x", 1);
  g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, 1, request, NULL, &error);

  return !g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED);
}

static RbPlugin *
load_library_bundle (const char *name,
                     const char *library,
                     const char *extraction_dir)
{
  g_autofree char *path = make (name, "--library", library, NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);

  rb_bundle_set_extraction_dir (bundle, extraction_dir);
  return load_ok (bundle, NULL);
}

/* The name trap: the loader finds an object already loaded by its path
 * name first. Library A is loaded from /proc/self/fd/N; were N closed, a
 * new memfd holding B would get N again, and loading "/proc/self/fd/N"
 * would hand out A's handle: B verified, A's code running. A's memfd stays
 * open and sealed, so B gets another number and runs its own code. */
static void
test_memfd_name_trap (void)
{
  g_autofree char *lib_a = unique_library (NULL, "trap-a", "libplugin.so", "trap A");
  g_autofree char *lib_b = unique_library (rb_test_env_path ("RB_FIXTURE_NORAW_PLUGIN"), "trap-b",
                                           "libplugin.so", "trap B");
  g_autoptr(RbPlugin) a = load_library_bundle ("trap-a.rbp", lib_a, NULL);
  g_autoptr(RbPlugin) b = NULL;
  const char *path_a = rb_plugin_get_path (a);

  if (!loads_extract)
    {
      int n, probe;

      g_assert_true (g_str_has_prefix (path_a, "/proc/self/fd/"));
      n = atoi (path_a + strlen ("/proc/self/fd/"));
      /* Still open, sealed against any change. */
      g_assert_cmpint (fcntl (n, F_GET_SEALS), ==, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
      g_assert_cmpint (fcntl (n, F_GETFD), ==, FD_CLOEXEC);
      /* The next memfd gets another number. */
      probe = memfd_create ("probe", MFD_CLOEXEC);
      g_assert_cmpint (probe, >=, 0);
      g_assert_cmpint (probe, !=, n);
      close (probe);
    }
  b = load_library_bundle ("trap-b.rbp", lib_b, NULL);
  g_assert_cmpstr (rb_plugin_get_path (b), !=, path_a);
  g_assert_true (runs_raw_fixture (a));
  g_assert_false (runs_raw_fixture (b));
}

/* The same library in two bundles is mapped once (its content is the
 * key), each bundle's copy verified all the same; two bundles with
 * different libraries get two. */
static void
test_memfd_same_library (void)
{
  g_autofree char *lib = unique_library (NULL, "same", "libsame.so", "same library");
  g_autofree char *other = unique_library (NULL, "same-other", "libsame.so", "another library");
  g_autofree char *first_path = make ("same-1.rbp", "--library", lib, NULL);
  g_autofree char *second_path = make ("same-2.rbp", "--library", lib, "--name", "second", NULL);
  g_autofree char *tampered_path = make ("same-3.rbp", "--library", lib, "--tamper", "library", NULL);
  g_autoptr(RbBundle) first = open_ok (first_path);
  g_autoptr(RbBundle) second = open_ok (second_path);
  g_autoptr(RbBundle) tampered = open_ok (tampered_path);
  g_autoptr(RbPlugin) p1 = load_ok (first, NULL);
  g_autoptr(RbPlugin) p2 = load_ok (second, NULL);
  g_autoptr(RbPlugin) p3 = load_library_bundle ("same-4.rbp", other, NULL);

  g_assert_cmpstr (rb_plugin_get_path (p1), ==, rb_plugin_get_path (p2));
  g_assert_cmpstr (rb_plugin_get_bundle_name (p2), ==, "second");
  g_assert_cmpstr (rb_plugin_get_path (p3), !=, rb_plugin_get_path (p1));
  /* Reuse does not skip verification: this copy does not match. */
  load_fails (tampered, NULL, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH, "does not match its checksum");
}

/* The fallback extracts into RbBundle:extraction-dir: each library in a
 * private directory of its own, removed once mapped, and never where a
 * library was loaded from before (the loader matches by path, and by
 * device and inode: a mapped file keeps its inode). Through a memfd the
 * directory is not used at all. */
static void
test_extraction_dir (void)
{
  g_autofree char *dir = g_build_filename (workdir, "extraction", NULL);
  g_autofree char *lib_a = unique_library (NULL, "dir-a", "libplugin.so", "dir A");
  g_autofree char *lib_b = unique_library (rb_test_env_path ("RB_FIXTURE_NORAW_PLUGIN"), "dir-b",
                                           "libplugin.so", "dir B");
  g_autoptr(RbPlugin) a = NULL;
  g_autoptr(RbPlugin) b = NULL;
  g_autofree char *dir_a = NULL;
  g_autofree char *path = make ("dir-prop.rbp", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autofree char *got = NULL;

  g_assert_null (rb_bundle_get_extraction_dir (bundle));
  g_object_set (bundle, "extraction-dir", dir, NULL);
  g_object_get (bundle, "extraction-dir", &got, NULL);
  g_assert_cmpstr (got, ==, dir);

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  a = load_library_bundle ("dir-a.rbp", lib_a, dir);
  b = load_library_bundle ("dir-b.rbp", lib_b, dir);
  g_assert_cmpstr (rb_plugin_get_path (a), !=, rb_plugin_get_path (b));
  if (loads_extract)
    {
      dir_a = g_path_get_dirname (rb_plugin_get_path (a));
      g_assert_true (g_str_has_prefix (rb_plugin_get_path (a), dir));
      g_assert_true (g_str_has_prefix (rb_plugin_get_path (b), dir));
    }
  g_assert_true (runs_raw_fixture (a));
  g_assert_false (runs_raw_fixture (b));
  g_assert_cmpuint (count_entries (dir), ==, 0);
  g_rmdir (dir);

  /* Both ways failing: the message says what was tried, and why each
   * failed (a library never loaded before, so nothing is reused). */
  if (loads_extract)
    {
      g_autofree char *missing = g_build_filename (workdir, "no-such-dir", NULL);
      g_autofree char *lib_c = unique_library (NULL, "dir-c", "libplugin.so", "dir C");
      g_autofree char *path_c = make ("dir-c.rbp", "--library", lib_c, NULL);
      g_autoptr(RbBundle) bundle_c = open_ok (path_c);
      g_autoptr(RbPlugin) c = NULL;
      g_autoptr(GError) error = NULL;

      rb_bundle_set_extraction_dir (bundle_c, missing);
      c = rb_bundle_load_plugin (bundle_c, NULL, NULL, NULL, &error);
      g_assert_null (c);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "a sealed memfd was not possible ("));
      g_assert_nonnull (strstr (error->message, "extracting the library into"));
      g_assert_nonnull (strstr (error->message, missing));
    }
}

/* What an inotify watch on @dir saw created since @fd was made. */
static guint
created_in (int fd)
{
  char buffer[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  guint n = 0;
  ssize_t len;

  while ((len = read (fd, buffer, sizeof buffer)) > 0)
    for (char *p = buffer; p < buffer + len; p += sizeof (struct inotify_event) + ((struct inotify_event *) p)->len)
      n++;
  return n;
}

/* Loading writes nothing under $TMPDIR (a private, empty one here): not
 * even for a moment, sync, async or cancelled; the fallback does, and
 * cleans up. */
static void
test_no_temp_files (void)
{
  g_autofree char *lib1 = unique_library (NULL, "notmp-1", "libnotmp.so", "no tmp 1");
  g_autofree char *lib2 = unique_library (NULL, "notmp-2", "libnotmp.so", "no tmp 2");
  g_autofree char *lib3 = unique_library (NULL, "notmp-3", "libnotmp.so", "no tmp 3");
  g_autofree char *p1 = make ("notmp-1.rbp", "--library", lib1, NULL);
  g_autofree char *p2 = make ("notmp-2.rbp", "--library", lib2, NULL);
  g_autofree char *p3 = make ("notmp-3.rbp", "--library", lib3, NULL);
  g_autoptr(RbBundle) b1 = open_ok (p1);
  g_autoptr(RbBundle) b2 = open_ok (p2);
  g_autoptr(RbBundle) b3 = open_ok (p3);
  g_autoptr(RbPlugin) sync = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  RbPlugin *async = NULL;
  int watch = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);

  g_assert_cmpint (watch, >=, 0);
  g_assert_cmpuint (count_entries (tmpdir), ==, 0);
  g_assert_cmpint (inotify_add_watch (watch, tmpdir, IN_CREATE | IN_MOVED_TO), >=, 0);

  sync = load_ok (b1, NULL);
  sync = (g_object_unref (sync), load_ok (b1, NULL));     /* again: the same image */
  rb_bundle_load_plugin_async (b2, NULL, NULL, NULL, loaded_cb, &async);
  while (async == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (async);
  g_cancellable_cancel (cancellable);
  {
    g_autoptr(GError) error = NULL;

    rb_bundle_load_plugin_async (b3, NULL, NULL, cancellable, load_failed_cb, &error);
    while (error == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }
  rb_test_iterate_for (20);

  if (loads_extract)
    g_assert_cmpuint (created_in (watch), >, 0);
  else
    g_assert_cmpuint (created_in (watch), ==, 0);
  g_assert_cmpuint (count_entries (tmpdir), ==, 0);
  close (watch);
}

/* Where the test can mount a noexec tmpfs (root, in a mount namespace of
 * its own: a subprocess), $TMPDIR on it: loading through a memfd works;
 * the fallback fails, saying what it tried, unless extraction-dir points
 * elsewhere. */
static void
test_noexec_tmpdir (void)
{
  g_autofree char *lib = NULL;
  g_autofree char *path = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      /* Whether this machine lets us: the same mount, in a namespace of
       * its own, by the unshare command. */
      g_autofree char *script = g_strdup_printf ("mount --make-rprivate / && mount -t tmpfs -o noexec "
                                                 "tmpfs '%s'", tmpdir);
      const char *probe[] = { "unshare", "-m", "sh", "-c", script, NULL };
      g_autofree char *err = NULL;
      int status = -1;

      if (!g_spawn_sync (NULL, (char **) probe, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                         NULL, NULL, &err, &status, NULL) ||
          !g_spawn_check_wait_status (status, NULL))
        {
          g_autofree char *reason = g_strdup_printf ("cannot mount a noexec tmpfs in a mount namespace "
                                                     "here (needs root or CAP_SYS_ADMIN): %s",
                                                     err != NULL ? g_strstrip (err) : "unshare not found");
          g_test_skip (reason);
          return;
        }
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      g_test_trap_assert_stdout ("*loaded*");
      return;
    }

  g_assert_cmpint (unshare (CLONE_NEWNS), ==, 0);
  g_assert_cmpint (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), ==, 0);
  g_assert_cmpint (mount ("tmpfs", tmpdir, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, "size=64m,mode=0700"), ==, 0);
  lib = unique_library (NULL, "noexec", "libnoexec.so", "noexec");
  path = make ("noexec.rbp", "--library", lib, NULL);
  bundle = open_ok (path);
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  if (loads_extract)
    {
      g_assert_null (plugin);
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
      g_assert_nonnull (strstr (error->message, "extracted (fallback)"));
      g_clear_error (&error);
      rb_bundle_set_extraction_dir (bundle, workdir);
      plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
    }
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  g_assert_cmpuint (count_entries (tmpdir), ==, 0);
  g_print ("loaded\n");
  /* So that the fixture can remove its directory. */
  g_assert_cmpint (umount2 (tmpdir, MNT_DETACH), ==, 0);
}

/* Runs @call expecting the critical of a method on a bundle that is not
 * open. */
#define REFUSED(call) G_STMT_START {                                              \
    g_test_expect_message ("RustBridge", G_LOG_LEVEL_CRITICAL, "*RB_BUNDLE_IS_OPEN*"); \
    call;                                                                          \
    g_test_assert_expected_messages ();                                            \
  } G_STMT_END

/* The same, for a call that must then return NULL. */
#define REFUSED_NULL(call) G_STMT_START {                                         \
    gconstpointer result_ = GINT_TO_POINTER (1);                                   \
    REFUSED (result_ = (call));                                                    \
    g_assert_null (result_);                                                       \
  } G_STMT_END

static void
never_called_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_assert_not_reached ();
}

/* Every method of @bundle (not open) refuses with a critical and a safe
 * value; the settings stay usable. */
static void
check_refuses_everything (RbBundle *bundle)
{
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_auto(GStrv) authors = NULL;
  gboolean b = TRUE;

  REFUSED_NULL (rb_bundle_list_files (bundle));
  REFUSED_NULL (rb_bundle_list_platforms (bundle));
  REFUSED_NULL (rb_bundle_list_variants (bundle, NULL, &error));
  REFUSED_NULL (rb_bundle_dup_default_variant (bundle, NULL, &error));
  REFUSED_NULL (rb_bundle_dup_library_path (bundle, NULL, &error));
  REFUSED (b = rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_false (b);
  REFUSED_NULL (rb_bundle_extract_library (bundle, NULL, dest, NULL, &error));
  REFUSED_NULL (rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error));
  REFUSED (rb_bundle_load_plugin_async (bundle, NULL, NULL, NULL, never_called_cb, NULL));
  REFUSED_NULL (rb_bundle_list_schemas (bundle));
  REFUSED_NULL (rb_bundle_read_schema (bundle, "echo", &error));
  REFUSED_NULL (rb_bundle_extract_schema (bundle, "echo", dest, &error));
  REFUSED_NULL (rb_bundle_read_file (bundle, "manifest.json", &error));
  REFUSED_NULL (rb_bundle_dup_manifest_json (bundle));
  REFUSED_NULL (rb_bundle_get_name (bundle));
  REFUSED_NULL (rb_bundle_get_version (bundle));
  REFUSED_NULL (rb_bundle_get_description (bundle));
  REFUSED_NULL (rb_bundle_get_license (bundle));
  REFUSED_NULL (rb_bundle_get_repository (bundle));
  REFUSED_NULL (rb_bundle_get_authors (bundle));
  REFUSED_NULL (rb_bundle_get_bundle_version (bundle));
  REFUSED_NULL (rb_bundle_get_manifest_public_key (bundle));
  REFUSED_NULL (rb_bundle_get_min_rustbridge_version (bundle));
  REFUSED_NULL (rb_bundle_get_build_info_string (bundle, "built_by"));
  REFUSED_NULL (rb_bundle_get_git_commit (bundle));
  REFUSED_NULL (rb_bundle_get_git_branch (bundle));
  REFUSED_NULL (rb_bundle_get_git_tag (bundle));
  REFUSED (b = rb_bundle_get_git_dirty (bundle));
  g_assert_false (b);
  REFUSED_NULL (rb_bundle_dup_built_at (bundle));
  REFUSED_NULL (rb_bundle_get_sbom_path (bundle, "cyclonedx"));
  REFUSED_NULL (rb_bundle_get_notices_path (bundle));
  REFUSED_NULL (rb_bundle_get_license_file_path (bundle));
  REFUSED_NULL (rb_bundle_list_api_messages (bundle));
  REFUSED_NULL (rb_bundle_lookup_api_message (bundle, "echo"));
  REFUSED_NULL (rb_bundle_lookup_api_message_by_id (bundle, 1));
  REFUSED_NULL (rb_bundle_get_api_transports (bundle));
  /* Nothing was set or written. */
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 0);
  g_rmdir (dir);

  /* Reading properties is no programming error: they are empty. */
  g_object_get (bundle, "name", &name, "authors", &authors, NULL);
  g_assert_null (name);
  g_assert_null (authors);
  /* The settings are not the manifest's: they work without an archive. */
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
  g_assert_cmpint (rb_bundle_get_verify_mode (bundle), ==, RB_VERIFY_MODE_WARN);
  rb_bundle_set_public_key (bundle, "RWQ");
  g_assert_cmpstr (rb_bundle_get_public_key (bundle), ==, "RWQ");
}

/* A bundle that was never opened refuses calls instead of crashing. */
static void
test_unopened (void)
{
  g_autoptr(RbBundle) bundle = g_object_new (RB_TYPE_BUNDLE, NULL);

  check_refuses_everything (bundle);
  g_assert_null (rb_bundle_get_file (bundle));
}

/* Nor does a bundle whose opening failed, whatever the stage: every
 * method refuses, and a second init gives the same error. */
static void
test_failed_open (void)
{
  g_autofree char *missing = g_build_filename (workdir, "missing.rbp", NULL);
  g_autofree char *bad_version = make_unsigned ("fo-version.rbp", "--set", "bundle_version=\"2.0\"", NULL);
  g_autofree char *bad_notices = make_unsigned ("fo-notices.rbp", "--set", "notices=5", NULL);
  g_autofree char *bad_api = make_unsigned ("fo-api.rbp", "--set", "api={\"messages\":[5]}", NULL);
  g_autofree char *bad_schema = make_unsigned ("fo-schema.rbp", "--set", "schemas={\"s\":{\"path\":\"../s\"}}", NULL);
  const struct {
    const char *path;
    int         code;
  } cases[] = {
    { missing, RB_BUNDLE_ERROR_NOT_FOUND },
    { bad_version, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION },
    { bad_notices, RB_BUNDLE_ERROR_INVALID_MANIFEST },   /* before api was read */
    { bad_api, RB_BUNDLE_ERROR_INVALID_MANIFEST },       /* while api was read */
    { bad_schema, RB_BUNDLE_ERROR_INVALID_MANIFEST },    /* after api was read */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GFile) file = g_file_new_for_path (cases[i].path);
      g_autoptr(RbBundle) bundle = g_object_new (RB_TYPE_BUNDLE, "file", file, NULL);
      g_autoptr(GError) error = NULL;

      g_assert_false (g_initable_init (G_INITABLE (bundle), NULL, &error));
      g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
      g_clear_error (&error);
      check_refuses_everything (bundle);
      g_assert_true (rb_bundle_get_file (bundle) == file);
      g_assert_false (g_initable_init (G_INITABLE (bundle), NULL, &error));
      g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
    }
}

int
main (int   argc,
      char *argv[])
{
  if (!rb_bundle_test_init (&argc, &argv))
    return g_test_run ();

  g_test_add_func ("/bundle/valid", test_valid_bundle);
  g_test_add_func ("/bundle/rust-plugin", test_rust_plugin_bundle);
  g_test_add_func ("/bundle/platforms-and-variants", test_platforms_and_variants);
  g_test_add_func ("/bundle/extract-refuses-overwrite", test_extract_refuses_overwrite);
  g_test_add_func ("/bundle/load-async", test_load_async);
  g_test_add_func ("/bundle/load-async-cancelled", test_load_async_cancelled);
  g_test_add_func ("/bundle/unopened", test_unopened);
  g_test_add_func ("/bundle/failed-open", test_failed_open);
  g_test_add_func ("/bundle/memfd/name-trap", test_memfd_name_trap);
  g_test_add_func ("/bundle/memfd/same-library", test_memfd_same_library);
  g_test_add_func ("/bundle/memfd/extraction-dir", test_extraction_dir);
  g_test_add_func ("/bundle/memfd/no-temp-files", test_no_temp_files);
  g_test_add_func ("/bundle/memfd/noexec-tmpdir", test_noexec_tmpdir);

  return rb_bundle_test_run ();
}
