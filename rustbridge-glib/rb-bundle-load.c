/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "rb-bundle.h"
#include "rb-bundle-private.h"
#include "rb-bundle-verify-private.h"
#include "rb-error.h"
#include "rb-library-private.h"
#include "rb-names-private.h"
#include "rb-plugin-private.h"

/*
 * Loading a bundle's library (rb_bundle_load_plugin() and its async
 * form), in three steps:
 *
 * 1. prepare (any thread, blocking): verify the manifest's signature and
 *    stream the library through its checksum and signature checks into
 *    a sealed memfd, registered as the image of its SHA-256
 *    (rb-library-private.h); or, when that content has an image already,
 *    verify the bundle's copy without writing it and reuse the image; or,
 *    when memfds are missing or refused execution, extract it into a new
 *    private directory (the fallback, in RbBundle:extraction-dir or
 *    $TMPDIR);
 * 2. rb_plugin_new() on the image's path (/proc/self/fd/N, or the file);
 * 3. finish: a fallback file and its directory are removed as soon as the
 *    library is mapped or failed to load (by whoever drops the prepared
 *    load: a cancelled task too), and the loaded file is recorded as its
 *    content's image.
 *
 * Nothing here writes to the file system but the fallback.
 */

/* How many private directories are tried before giving up: only a name a
 * library was loaded from before is skipped, which mkdtemp() all but never
 * hands out again. */
#define MAX_DIR_TRIES 16

typedef struct {
  char     *path;       /* what rb_plugin_new() loads */
  char     *digest;     /* the library's SHA-256, lowercase hex */
  gboolean  extracted;  /* a fallback file: removed once loaded */
} Prepared;

static void
remove_extracted (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
}

/* Whoever drops a prepared load removes its fallback file. */
static void
prepared_free (Prepared *prepared)
{
  if (prepared == NULL)
    return;
  if (prepared->extracted)
    remove_extracted (prepared->path);
  g_free (prepared->path);
  g_free (prepared->digest);
  g_free (prepared);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Prepared, prepared_free)

char *
rb_bundle_make_private_dir (const char  *parent,
                            const char  *file_name,
                            GError     **error)
{
  for (guint i = 0; i < MAX_DIR_TRIES; i++)
    {
      g_autofree char *dir = g_build_filename (parent != NULL ? parent : g_get_tmp_dir (),
                                               "rustbridge-XXXXXX", NULL);
      g_autofree char *canonical = NULL;
      g_autofree char *target = NULL;

      if (g_mkdtemp_full (dir, 0700) == NULL)
        {
          int saved = errno;
          g_autofree char *shown = rb_names_escape (dir, -1, G_MAXSIZE);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Could not create a private directory “%s”: %s", shown, g_strerror (saved));
          return NULL;
        }
      /* The loader and rb_library_open() know files by canonical path. */
      canonical = realpath (dir, NULL);
      target = canonical != NULL ? g_build_filename (canonical, file_name, NULL) : NULL;
      if (target != NULL && !rb_library_path_is_taken (target))
        return g_steal_pointer (&dir);
      g_rmdir (dir);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               "Could not create a private directory no library was loaded from");
  return NULL;
}

/* The fallback: extracts into a new private directory. @memfd_error says
 * why the memfd was not used (it goes into the message on failure). */
static Prepared *
prepare_extracted (RbBundle                 *self,
                   const RbBundleSource     *source,
                   const RbManifestVariant  *variant,
                   const GError             *memfd_error,
                   GCancellable             *cancellable,
                   GError                  **error)
{
  const char *parent = self->extraction_dir != NULL ? self->extraction_dir : g_get_tmp_dir ();
  g_autofree char *shown_parent = rb_names_escape (parent, -1, G_MAXSIZE);
  g_autofree char *dir = NULL;
  g_autofree char *target = NULL;
  GError *local = NULL;
  Prepared *prepared;

  g_debug ("Bundle “%s”: not loading from a sealed memfd (%s): extracting into “%s”", source->path,
           memfd_error->message, shown_parent);
  dir = rb_bundle_make_private_dir (parent, variant->file_name, &local);
  if (dir != NULL)
    {
      target = rb_bundle_verify_extract (source, variant, dir, cancellable, &local);
      if (target == NULL)
        g_rmdir (dir);
    }
  if (target == NULL)
    {
      /* Both ways were tried: say so. Verification errors keep their code. */
      g_prefix_error (&local, "Bundle “%s”: a sealed memfd was not possible (%s), and extracting the "
                      "library into “%s” failed: ", source->path, memfd_error->message, shown_parent);
      g_propagate_error (error, local);
      return NULL;
    }
  prepared = g_new0 (Prepared, 1);
  prepared->path = g_steal_pointer (&target);
  prepared->extracted = TRUE;
  return prepared;
}

/* Step 1 (see the top of the file). */
static Prepared *
prepare (RbBundle      *self,
         const char    *variant,
         GCancellable  *cancellable,
         GError       **error)
{
  g_autoptr(RbManifestVariant) resolved = NULL;
  g_autoptr(Prepared) prepared = g_new0 (Prepared, 1);
  g_autoptr(GError) memfd_error = NULL;
  g_autofree char *image = NULL;
  RbBundleSource source;
  gboolean unavailable;
  int fd;

  resolved = rb_manifest_resolve_variant (self->manifest, variant, error);
  if (resolved == NULL || !rb_manifest_check_framework (self->manifest, resolved, error))
    return NULL;
  source = rb_bundle_get_source (self);
  prepared->digest = rb_bundle_verify_digest_hex (resolved->checksum);

  /* The same content is mapped once: this bundle's copy is verified
   * (its own signature, its own trust) without being written anywhere,
   * and a legacy signature is checked against the image's bytes. */
  image = rb_library_dup_image_path (prepared->digest);
  if (image != NULL)
    {
      const char *written = rb_library_lookup_fd (image) >= 0 ? image : NULL;

      if (!rb_bundle_verify_manifest (&source, error) ||
          !rb_bundle_verify_library (&source, resolved, -1, written, cancellable, error))
        return NULL;
      prepared->path = g_steal_pointer (&image);
      return g_steal_pointer (&prepared);
    }

  fd = rb_bundle_verify_to_memfd (&source, resolved, cancellable, &unavailable, &memfd_error);
  if (fd >= 0)
    {
      /* The checksum matched: the digest is the memfd's content's. */
      prepared->path = rb_library_register_memfd (fd, prepared->digest);
      return g_steal_pointer (&prepared);
    }
  if (!unavailable)
    {
      g_propagate_error (error, g_steal_pointer (&memfd_error));
      return NULL;
    }
  {
    Prepared *extracted = prepare_extracted (self, &source, resolved, memfd_error, cancellable, error);

    if (extracted == NULL)
      return NULL;
    extracted->digest = g_steal_pointer (&prepared->digest);
    return extracted;
  }
}

char *
rb_bundle_prepare_library (RbBundle      *self,
                           const char    *variant,
                           gboolean      *extracted,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(Prepared) prepared = prepare (self, variant, cancellable, error);

  if (prepared == NULL)
    return NULL;
  /* The caller removes a fallback file, not prepared_free(). */
  *extracted = prepared->extracted;
  prepared->extracted = FALSE;
  return g_steal_pointer (&prepared->path);
}

/* Step 3: after rb_plugin_new() (*plugin NULL if it failed, with @error
 * set). Frees @prepared. */
static RbPlugin *
finish (RbBundle  *self,
        Prepared  *prepared,
        RbPlugin  *plugin,
        GError   **error)
{
  if (plugin == NULL)
    {
      if (!prepared->extracted)
        g_prefix_error (error, "Bundle “%s”, its library from a sealed memfd: ", self->path);
      else
        g_prefix_error (error, "Bundle “%s”, its library extracted (fallback): ", self->path);
    }
  else
    {
      /* An isolated plugin maps nothing here (plugin->library is NULL). */
      if (prepared->extracted && plugin->library != NULL)
        rb_library_register_file (plugin->library, prepared->digest);
      rb_plugin_set_bundle_info (plugin, rb_bundle_get_name (self), rb_bundle_get_version (self));
    }
  prepared_free (prepared);
  return plugin;
}

/**
 * rb_bundle_load_plugin:
 * @self: a #RbBundle
 * @variant: (nullable): a variant, or %NULL for the default one
 * @config: (nullable): the plugin configuration, or %NULL for the defaults
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Verifies the current platform's library and loads it with
 * [ctor@RustBridge.Plugin.new], then records the bundle's name and
 * version on the plugin.
 *
 * The library is streamed out of the archive into a sealed memfd while it
 * is hashed, and loaded from there: the bytes that were verified are the
 * bytes that get mapped, and nothing is written to the file system (a
 * `noexec` `/tmp` does not matter). [property@RustBridge.Plugin:path] is
 * then `/proc/self/fd/N`; the memfd stays open for the life of the
 * process, as the library stays mapped. A library with the same content
 * (SHA-256) already loaded, from this bundle or another, is verified again
 * from this bundle and reused, not mapped twice.
 *
 * Where memfds are missing or may not be executed, the library is
 * extracted into a new private directory in
 * [property@RustBridge.Bundle:extraction-dir] (default `$TMPDIR`) instead;
 * the file and its directory are removed as soon as the library is mapped
 * (or loading failed). An error then says that both were tried.
 *
 * Returns: (transfer full): the active plugin, or %NULL with @error set
 */
RbPlugin *
rb_bundle_load_plugin (RbBundle        *self,
                       const char      *variant,
                       RbPluginConfig  *config,
                       GCancellable    *cancellable,
                       GError         **error)
{
  Prepared *prepared;
  GError *local = NULL;
  RbPlugin *plugin;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  prepared = prepare (self, variant, cancellable, error);
  if (prepared == NULL)
    return NULL;
  plugin = rb_plugin_new (prepared->path, config, cancellable, &local);
  plugin = finish (self, prepared, plugin, &local);
  if (local != NULL)
    g_propagate_error (error, local);
  return plugin;
}

typedef struct {
  char           *variant;
  RbPluginConfig *config;
  Prepared       *prepared;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_clear_pointer (&data->prepared, prepared_free);
  g_free (data->variant);
  g_clear_object (&data->config);
  g_free (data);
}

static void
load_prepare_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  Prepared *prepared = prepare (source_object, data->variant, cancellable, &error);

  if (prepared == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, prepared, (GDestroyNotify) prepared_free);
}

static void
load_plugin_ready (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RbBundle *self = g_task_get_source_object (task);
  LoadData *data = g_task_get_task_data (task);
  GError *error = NULL;
  RbPlugin *plugin = rb_plugin_new_finish (result, &error);

  /* Mapped (or not loadable): a fallback file goes before the caller
   * hears of it, as in the synchronous load. */
  plugin = finish (self, g_steal_pointer (&data->prepared), plugin, &error);
  if (plugin == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Its start-up events wait until our caller has it too. */
  rb_plugin_hold_start_up_until (plugin, task);
  g_task_return_pointer (task, plugin, g_object_unref);
}

static void
load_prepared (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;

  /* A cancelled task drops what it prepared (prepared_free()) rather
   * than hand it out. */
  data->prepared = g_task_propagate_pointer (G_TASK (result), &error);
  if (data->prepared == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Created from this (the caller's) context, so the plugin's signals go
   * there; a fallback file is removed once it is loaded, or with the task
   * data. */
  rb_plugin_new_async (data->prepared->path, data->config, G_PRIORITY_DEFAULT,
                       cancellable, load_plugin_ready, g_steal_pointer (&task));
}

/**
 * rb_bundle_load_plugin_async:
 * @self: a #RbBundle
 * @variant: (nullable): a variant, or %NULL for the default one
 * @config: (nullable): the plugin configuration, or %NULL for the defaults
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the plugin is ready
 * @user_data: data for @callback
 *
 * Does [method@RustBridge.Bundle.load_plugin] without blocking: the
 * verification (into a sealed memfd, or the fallback's extraction) runs
 * in a thread, then the plugin starts with
 * [func@RustBridge.Plugin.new_async]. The plugin's signals are emitted in
 * the caller's thread-default main context.
 */
void
rb_bundle_load_plugin_async (RbBundle            *self,
                             const char          *variant,
                             RbPluginConfig      *config,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) prepare_task = NULL;
  LoadData *data;

  g_return_if_fail (RB_BUNDLE_IS_OPEN (self));
  g_return_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_bundle_load_plugin_async);
  data = g_new0 (LoadData, 1);
  data->variant = g_strdup (variant);
  data->config = config != NULL ? g_object_ref (config) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);

  prepare_task = g_task_new (self, cancellable, load_prepared, g_steal_pointer (&task));
  g_task_set_source_tag (prepare_task, rb_bundle_load_plugin_async);
  g_task_set_task_data (prepare_task, data, NULL);
  g_task_run_in_thread (prepare_task, load_prepare_thread);
}

/**
 * rb_bundle_load_plugin_finish:
 * @self: a #RbBundle
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Bundle.load_plugin_async].
 *
 * Returns: (transfer full): the active plugin, or %NULL with @error set
 */
RbPlugin *
rb_bundle_load_plugin_finish (RbBundle      *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (RB_IS_BUNDLE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_bundle_load_plugin_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
