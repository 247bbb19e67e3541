/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "rb-archive-private.h"
#include "rb-bundle.h"
#include "rb-bundle-private.h"
#include "rb-bundle-verify-private.h"
#include "rb-enum-types.h"
#include "rb-error.h"
#include "rb-json-private.h"
#include "rb-manifest-private.h"
#include "rb-minisign-private.h"
#include "rb-names-private.h"
#include "rb-plugin-private.h"

/**
 * RbBundle:
 *
 * A `.rbp` plugin bundle: a ZIP archive with a `manifest.json`, native
 * libraries per platform and variant, minisign signatures, and optional
 * schemas, documents and SBOM files.
 *
 * Opening a bundle reads and validates its manifest and refuses unsafe
 * archives as a whole (absolute or `..` entry names, links, devices,
 * duplicate names, sizes beyond [property@RustBridge.Bundle:max-total-size]
 * and the other limits). [method@RustBridge.Bundle.load_plugin] verifies
 * the manifest signature, streams the library out of the archive into a
 * new private directory while hashing it, checks its SHA-256 checksum and
 * its signature, and only then loads it.
 *
 * Signatures are verified according to [property@RustBridge.Bundle:verify-mode]:
 * by default they are required, and checked with a key the application
 * trusts, the first of:
 *
 * - [property@RustBridge.Bundle:public-key], the publisher's key;
 * - the `.pub` file (minisign's format) whose key id signed the bundle, in
 *   [property@RustBridge.Bundle:trusted-keys-dir], then in
 *   `$XDG_CONFIG_HOME/rustbridge/trusted-keys/` (the user's) and in each
 *   `$XDG_DATA_DIRS/rustbridge/trusted-keys/` (the system's, e.g.
 *   `/usr/share/rustbridge/trusted-keys/`);
 * - only if [property@RustBridge.Bundle:trust-embedded-key] is set, the
 *   key the manifest carries: that proves the bundle is intact, not who
 *   made it.
 *
 * Without one, verification fails with %RB_BUNDLE_ERROR_NO_PUBLIC_KEY.
 * Which key was used, and from where, is logged at debug level
 * (`G_MESSAGES_DEBUG=RustBridge`).
 *
 * In %RB_VERIFY_MODE_WARN, what cannot be verified (a file that is not
 * signed, or signed by no trusted key: then the manifest's key checks its
 * integrity) is logged with g_message(), once per bundle, file and reason:
 * a message, never a warning, as a bundle must not be able to abort a
 * program that runs with fatal warnings.
 *
 * ```c
 * g_autoptr(RbBundle) bundle = rb_bundle_new_for_path ("hello-1.0.0.rbp", NULL, &error);
 * rb_bundle_set_public_key (bundle, "RWQ...");   // the publisher's key
 * g_autoptr(RbPlugin) plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
 * ```
 */

#define DEFAULT_MAX_MANIFEST_SIZE   (1024 * 1024)
#define DEFAULT_MAX_LIBRARY_SIZE    (G_GUINT64_CONSTANT (1) << 30)
#define DEFAULT_MAX_TOTAL_SIZE      (G_GUINT64_CONSTANT (4) << 30)
#define DEFAULT_MAX_ENTRIES         10000
#define MAX_FILE_SIZE               (16 * 1024 * 1024)   /* schemas, documents */


static void rb_bundle_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RbBundle, rb_bundle, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, rb_bundle_initable_iface_init))

enum {
  PROP_0,
  PROP_FILE,
  PROP_VERIFY_MODE,
  PROP_PUBLIC_KEY,
  PROP_TRUSTED_KEYS_DIR,
  PROP_TRUST_EMBEDDED_KEY,
  PROP_NAME,
  PROP_VERSION,
  PROP_DESCRIPTION,
  PROP_LICENSE,
  PROP_REPOSITORY,
  PROP_AUTHORS,
  PROP_BUNDLE_VERSION,
  PROP_MAX_MANIFEST_SIZE,
  PROP_MAX_LIBRARY_SIZE,
  PROP_MAX_TOTAL_SIZE,
  PROP_MAX_ENTRIES,
  PROP_AVAILABLE,           /* rb-bundle-availability.c */
  PROP_EXTRACTION_DIR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

RbBundleSource
rb_bundle_get_source (RbBundle *self)
{
  RbBundleSource source = {
    NULL, self->manifest, self->path, self->verify_mode, self->public_key, self->trusted_keys_dir,
    self->trust_embedded_key, self->max_library_size, &self->notices, NULL,
  };

  /* Opened now for a bundle listed from a cache (rb-bundle-lazy.c). */
  source.archive = rb_bundle_lazy_open (self, &source.unopened);
  return source;
}

/* ------------------------------------------------------------------ */
/* Init                                                                */

static gboolean
rb_bundle_initable_init (GInitable     *initable,
                         GCancellable  *cancellable,
                         GError       **error)
{
  RbBundle *self = RB_BUNDLE (initable);
  g_autoptr(GBytes) manifest_bytes = NULL;
  g_autofree char *path = NULL;

  if (self->initialized)
    {
      if (self->init_error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->init_error));
          return FALSE;
        }
      return TRUE;
    }
  self->initialized = TRUE;

  if (!rb_minisign_init (&self->init_error))
    goto fail;
  if (self->bytes == NULL && self->resource_path == NULL && self->file != NULL &&
      g_file_has_uri_scheme (self->file, "resource"))
    {
      g_autofree char *uri = g_file_get_uri (self->file);
      self->resource_path = g_uri_unescape_string (uri + strlen ("resource://"), NULL);
    }
  if (self->resource_path != NULL)
    {
      /* Compiled-in resources are static data: not copied. */
      g_autofree char *uri = g_strconcat ("resource://", self->resource_path, NULL);
      g_autoptr(GError) local = NULL;

      self->path = rb_names_escape (uri, -1, G_MAXSIZE);
      self->bytes = g_resources_lookup_data (self->resource_path, G_RESOURCE_LOOKUP_FLAGS_NONE, &local);
      if (self->bytes == NULL)
        {
          g_set_error (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND,
                       "Bundle “%s” is not in the application's resources: %s", self->path, local->message);
          goto fail;
        }
    }
  else if (self->bytes != NULL)
    self->path = g_strdup_printf ("(in memory, %" G_GSIZE_FORMAT " bytes)", g_bytes_get_size (self->bytes));
  else if (self->file == NULL || (path = g_file_get_path (self->file)) == NULL)
    {
      g_set_error_literal (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND,
                           "No local bundle file was given");
      goto fail;
    }
  else
    self->path = rb_names_escape (path, -1, G_MAXSIZE);
  if (g_cancellable_set_error_if_cancelled (cancellable, &self->init_error))
    goto fail;
  if (path != NULL && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND,
                   "Bundle “%s” does not exist or is not a regular file", self->path);
      goto fail;
    }

  if (self->bytes != NULL)
    self->archive = rb_archive_open_bytes (self->bytes, self->path, self->max_entries, self->max_total_size,
                                           &self->init_error);
  else
    self->archive = rb_archive_open (path, self->max_entries, self->max_total_size, &self->init_error);
  if (self->archive == NULL)
    goto fail;

  if (!rb_archive_has_file (self->archive, "manifest.json"))
    {
      g_set_error (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Bundle “%s” has no manifest.json", self->path);
      goto fail;
    }
  manifest_bytes = rb_archive_read (self->archive, "manifest.json", self->max_manifest_size,
                                    &self->init_error);
  if (manifest_bytes == NULL)
    goto fail;
  self->manifest = rb_manifest_new (manifest_bytes, self->path, &self->init_error);
  if (self->manifest == NULL)
    goto fail;
  self->opened = TRUE;
  return TRUE;

fail:
  /* Nothing half-read stays behind (nor the open file). */
  g_clear_pointer (&self->archive, rb_archive_free);
  g_propagate_error (error, g_error_copy (self->init_error));
  return FALSE;
}

static void
rb_bundle_initable_iface_init (GInitableIface *iface)
{
  iface->init = rb_bundle_initable_init;
}

/**
 * rb_bundle_new_for_file:
 * @file: the `.rbp` file: a local file, or a `resource://` one (see
 *   [ctor@RustBridge.Bundle.new_for_resource])
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Opens a bundle and validates its manifest. Nothing is verified or
 * extracted yet. Errors are in the %RB_BUNDLE_ERROR domain.
 *
 * Returns: (transfer full): the bundle, or %NULL with @error set
 */
RbBundle *
rb_bundle_new_for_file (GFile         *file,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (RB_TYPE_BUNDLE, cancellable, error, "file", file, NULL);
}

/**
 * rb_bundle_new_for_path:
 * @path: (type filename): path of the `.rbp` file
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Like [ctor@RustBridge.Bundle.new_for_file].
 *
 * Returns: (transfer full): the bundle, or %NULL with @error set
 */
RbBundle *
rb_bundle_new_for_path (const char    *path,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GFile) file = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  file = g_file_new_for_path (path);
  return rb_bundle_new_for_file (file, cancellable, error);
}

/* Opens a bundle whose fields the constructor set. */
static RbBundle *
bundle_init_new (RbBundle  *self,
                 GError   **error)
{
  if (!g_initable_init (G_INITABLE (self), NULL, error))
    {
      g_object_unref (self);
      return NULL;
    }
  return self;
}

/**
 * rb_bundle_new_for_bytes:
 * @bytes: the whole `.rbp` file
 * @error: return location for a #GError
 *
 * Opens a bundle held in memory, as [ctor@RustBridge.Bundle.new_for_file]
 * opens a file: the same checks, the same limits, and the same API
 * afterwards. The bundle keeps a reference to @bytes and reads them in
 * place (they are never copied whole); loading a library from it writes
 * nothing to the file system either (see
 * [method@RustBridge.Bundle.load_plugin]).
 *
 * [property@RustBridge.Bundle:file] is %NULL, and messages name the
 * bundle “(in memory, N bytes)”.
 *
 * Returns: (transfer full): the bundle, or %NULL with @error set
 */
RbBundle *
rb_bundle_new_for_bytes (GBytes  *bytes,
                         GError **error)
{
  RbBundle *self;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (RB_TYPE_BUNDLE, NULL);
  self->bytes = g_bytes_ref (bytes);
  return bundle_init_new (self, error);
}

/**
 * rb_bundle_new_for_resource:
 * @resource_path: the bundle's path in the application's registered
 *   resources (#GResource), e.g. `/org/example/App/plugins/hello.rbp`
 * @error: return location for a #GError
 *
 * Opens a bundle embedded in the application's resources, as GNOME
 * applications ship their assets. A compiled-in resource is read in place
 * (the bundle is not copied), so do not mark it `compressed="true"` in
 * the `.gresource.xml` (a bundle is compressed already, and a compressed
 * resource would be inflated into memory whole).
 *
 * [property@RustBridge.Bundle:file] is the `resource://` #GFile of
 * @resource_path, and messages name the bundle by that URI. A missing
 * resource is %RB_BUNDLE_ERROR_NOT_FOUND; otherwise everything is as with
 * [ctor@RustBridge.Bundle.new_for_file].
 *
 * Returns: (transfer full): the bundle, or %NULL with @error set
 */
RbBundle *
rb_bundle_new_for_resource (const char  *resource_path,
                            GError     **error)
{
  g_autofree char *escaped = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GFile) file = NULL;
  RbBundle *self;

  g_return_val_if_fail (resource_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  escaped = g_uri_escape_string (resource_path, G_URI_RESERVED_CHARS_ALLOWED_IN_PATH, FALSE);
  uri = g_strconcat ("resource://", escaped, NULL);
  file = g_file_new_for_uri (uri);
  self = g_object_new (RB_TYPE_BUNDLE, "file", file, NULL);
  self->resource_path = g_strdup (resource_path);
  return bundle_init_new (self, error);
}

/**
 * rb_bundle_get_current_platform:
 *
 * The platform key of this machine (`linux-x86_64`, `linux-aarch64`,
 * `darwin-aarch64`, ...), as bundles name it.
 *
 * Returns: the platform key
 */
const char *
rb_bundle_get_current_platform (void)
{
  return rb_manifest_get_current_platform ();
}

/* ------------------------------------------------------------------ */
/* Platforms and variants                                              */

/**
 * rb_bundle_list_platforms:
 * @self: a #RbBundle
 *
 * Lists the platforms the bundle has libraries for.
 *
 * Returns: (transfer full): the platform keys, sorted
 */
GStrv
rb_bundle_list_platforms (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return rb_manifest_list_platforms (self->manifest);
}

/**
 * rb_bundle_list_variants:
 * @self: a #RbBundle
 * @platform: (nullable): a platform key, or %NULL for the current platform
 * @error: return location for a #GError
 *
 * Lists the variants (`release`, `debug`, ...) of a platform.
 *
 * Returns: (transfer full): the variant names, sorted, or %NULL with
 *   @error set (%RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM)
 */
GStrv
rb_bundle_list_variants (RbBundle    *self,
                         const char  *platform,
                         GError     **error)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return rb_manifest_list_variants (self->manifest, platform, error);
}

/**
 * rb_bundle_dup_default_variant:
 * @self: a #RbBundle
 * @platform: (nullable): a platform key, or %NULL for the current platform
 * @error: return location for a #GError
 *
 * Gets the variant loaded when none is asked for: the platform's
 * `default_variant`, else `release`.
 *
 * Returns: (transfer full): the variant name, or %NULL with @error set
 */
char *
rb_bundle_dup_default_variant (RbBundle    *self,
                               const char  *platform,
                               GError     **error)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return rb_manifest_dup_default_variant (self->manifest, platform, error);
}

/**
 * rb_bundle_get_default_variant:
 * @self: a #RbBundle
 * @platform: (nullable): a platform key, or %NULL for the current platform
 * @error: return location for a #GError
 *
 * The 0.1 name of [method@RustBridge.Bundle.dup_default_variant], kept so
 * that code written for it still builds: it also returns a new string.
 *
 * Returns: (transfer full): the variant name, or %NULL with @error set
 */
char *
rb_bundle_get_default_variant (RbBundle    *self,
                               const char  *platform,
                               GError     **error)
{
  return rb_bundle_dup_default_variant (self, platform, error);
}

/**
 * rb_bundle_dup_library_path:
 * @self: a #RbBundle
 * @variant: (nullable): a variant, or %NULL for the default one
 * @error: return location for a #GError
 *
 * Gets the path inside the archive of the current platform's library.
 *
 * Returns: (transfer full): the entry name, or %NULL with @error set
 */
char *
rb_bundle_dup_library_path (RbBundle    *self,
                            const char  *variant,
                            GError     **error)
{
  g_autoptr(RbManifestVariant) resolved = NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  resolved = rb_manifest_resolve_variant (self->manifest, variant, error);
  return resolved != NULL ? g_steal_pointer (&resolved->library) : NULL;
}

/**
 * rb_bundle_verify:
 * @self: a #RbBundle
 * @variant: (nullable): a variant, or %NULL for the default one
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Verifies the manifest signature and the checksum and signature of the
 * current platform's library of @variant, as
 * [property@RustBridge.Bundle:verify-mode] asks, without writing anything.
 * An empty library is refused (%RB_BUNDLE_ERROR_INVALID_ARCHIVE) even if
 * its checksum and signature match.
 *
 * First of all, a library built with a rustbridge framework whose plugin
 * ABI this library does not implement (`build_info.rustbridge_version`,
 * the variant's own first: see [the bundle format](bundle-format.html))
 * is refused with %RB_BUNDLE_ERROR_UNSUPPORTED_VERSION. The same check
 * runs before [method@RustBridge.Bundle.extract_library] and
 * [method@RustBridge.Bundle.load_plugin] write or load anything.
 *
 * Returns: %TRUE if everything checked out, or %FALSE with @error set
 */
gboolean
rb_bundle_verify (RbBundle      *self,
                  const char    *variant,
                  GCancellable  *cancellable,
                  GError       **error)
{
  RbBundleSource source;
  g_autoptr(RbManifestVariant) resolved = NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  resolved = rb_manifest_resolve_variant (self->manifest, variant, error);
  if (resolved == NULL || !rb_manifest_check_framework (self->manifest, resolved, error))
    return FALSE;
  source = rb_bundle_get_source (self);
  return rb_bundle_verify_manifest (&source, error) &&
         rb_bundle_verify_library (&source, resolved, -1, NULL, cancellable, error);
}

/**
 * rb_bundle_extract_library:
 * @self: a #RbBundle
 * @variant: (nullable): a variant, or %NULL for the default one
 * @dest_dir: (nullable): the directory to write into, or %NULL for a new
 *   private directory (mode 0700)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Verifies (see [method@RustBridge.Bundle.verify]) and writes the current
 * platform's library. The file is named after the last component of the
 * manifest's library path; an existing file is never overwritten
 * (%RB_BUNDLE_ERROR_EXISTS). On failure nothing is left behind.
 *
 * Returns: (transfer full): the extracted library, or %NULL with @error set
 */
GFile *
rb_bundle_extract_library (RbBundle      *self,
                           const char    *variant,
                           GFile         *dest_dir,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *target = NULL;
  g_autoptr(RbManifestVariant) resolved = NULL;
  RbBundleSource source;
  gboolean private_dir = dest_dir == NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (dest_dir == NULL || G_IS_FILE (dest_dir), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Before a directory is made: the platform and variant are looked up
   * once, here. */
  resolved = rb_manifest_resolve_variant (self->manifest, variant, error);
  if (resolved == NULL || !rb_manifest_check_framework (self->manifest, resolved, error))
    return NULL;
  if (private_dir)
    {
      dir = rb_bundle_make_private_dir (NULL, resolved->file_name, error);
      if (dir == NULL)
        return NULL;
    }
  else if ((dir = g_file_get_path (dest_dir)) == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "The destination directory must be a local directory");
      return NULL;
    }

  source = rb_bundle_get_source (self);
  target = rb_bundle_verify_extract (&source, resolved, dir, cancellable, error);
  if (target == NULL)
    {
      if (private_dir)
        g_rmdir (dir);
      return NULL;
    }
  return g_file_new_for_path (target);
}

/* ------------------------------------------------------------------ */
/* Files and schemas                                                   */

/**
 * rb_bundle_list_files:
 * @self: a #RbBundle
 *
 * Lists the files in the archive. A bundle a [class@RustBridge.Registry]
 * listed from its metadata cache opens its archive now; if its file
 * changed since it was listed, the list is empty.
 *
 * Returns: (transfer full): entry names, in archive order
 */
GStrv
rb_bundle_list_files (RbBundle *self)
{
  RbArchive *archive;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  /* A bundle listed from a cache whose file changed since: no files. */
  archive = rb_bundle_get_archive (self, NULL);
  return archive != NULL ? rb_archive_list_files (archive) : g_new0 (char *, 1);
}

/**
 * rb_bundle_list_schemas:
 * @self: a #RbBundle
 *
 * Lists the schemas the manifest declares.
 *
 * Returns: (transfer full): schema names, sorted
 */
GStrv
rb_bundle_list_schemas (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return rb_manifest_list_schemas (self->manifest);
}

/**
 * rb_bundle_read_schema:
 * @self: a #RbBundle
 * @name: a schema name from [method@RustBridge.Bundle.list_schemas]
 * @error: return location for a #GError
 *
 * Reads a schema file and checks it against the manifest's checksum. A
 * schema the manifest gives no checksum for cannot be verified and is
 * refused (%RB_BUNDLE_ERROR_INVALID_MANIFEST), as is an empty file
 * (%RB_BUNDLE_ERROR_INVALID_ARCHIVE).
 *
 * Returns: (transfer full): the schema's bytes, or %NULL with @error set
 */
GBytes *
rb_bundle_read_schema (RbBundle    *self,
                       const char  *name,
                       GError     **error)
{
  const char *path, *checksum;
  g_autoptr(GBytes) bytes = NULL;
  RbArchive *archive;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (!rb_manifest_lookup_schema (self->manifest, name, &path, &checksum, error))
    return NULL;
  if (checksum == NULL)
    {
      /* Upstream's writer always gives one; without it the file cannot be
       * verified, so it is not handed out. */
      g_autofree char *shown = rb_names_shown (name);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Bundle “%s”: schema “%s” has no checksum, so it cannot be verified", self->path, shown);
      return NULL;
    }
  archive = rb_bundle_get_archive (self, error);
  if (archive == NULL || (bytes = rb_archive_read (archive, path, MAX_FILE_SIZE, error)) == NULL)
    return NULL;
  if (!rb_bundle_verify_checksum (checksum, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)))
    {
      g_autofree char *shown = rb_names_shown (name);
      g_autofree char *shown_path = rb_names_shown (path);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH,
                   "Bundle “%s”: schema “%s” (%s) does not match its checksum", self->path, shown,
                   shown_path);
      return NULL;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      g_autofree char *shown = rb_names_shown (name);
      g_autofree char *shown_path = rb_names_shown (path);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                   "Bundle “%s”: schema “%s” (“%s”) is empty", self->path, shown, shown_path);
      return NULL;
    }
  return g_steal_pointer (&bytes);
}

/**
 * rb_bundle_extract_schema:
 * @self: a #RbBundle
 * @name: a schema name
 * @dest_dir: the directory to write into
 * @error: return location for a #GError
 *
 * Writes a checksum-verified schema file into @dest_dir, named after the
 * last component of its path; never overwrites (%RB_BUNDLE_ERROR_EXISTS).
 *
 * Returns: (transfer full): the written file, or %NULL with @error set
 */
GFile *
rb_bundle_extract_schema (RbBundle    *self,
                          const char  *name,
                          GFile       *dest_dir,
                          GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *target = NULL;
  const char *path, *checksum;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (G_IS_FILE (dest_dir), NULL);

  bytes = rb_bundle_read_schema (self, name, error);
  if (bytes == NULL)
    return NULL;
  dir = g_file_get_path (dest_dir);
  if (dir == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "The destination directory must be a local directory");
      return NULL;
    }
  /* Read above: the schema is declared. */
  rb_manifest_lookup_schema (self->manifest, name, &path, &checksum, NULL);
  base = g_path_get_basename (path);
  target = rb_bundle_verify_write_new (dir, base, bytes, 0644, error);
  return target != NULL ? g_file_new_for_path (target) : NULL;
}

/**
 * rb_bundle_read_file:
 * @self: a #RbBundle
 * @name: an entry name from [method@RustBridge.Bundle.list_files], e.g.
 *   the path [method@RustBridge.Bundle.get_sbom_path] gives
 * @error: return location for a #GError
 *
 * Reads a file of the archive: an SBOM, a licence, a document. Nothing
 * is verified beyond the archive's own checks; schemas are better read
 * with [method@RustBridge.Bundle.read_schema] (checksum-verified), and
 * libraries are only loaded through [method@RustBridge.Bundle.load_plugin].
 *
 * Returns: (transfer full): the file's bytes, or %NULL with @error set
 *   (%RB_BUNDLE_ERROR_ENTRY_NOT_FOUND, or %RB_BUNDLE_ERROR_TOO_LARGE
 *   beyond 16 MiB)
 */
GBytes *
rb_bundle_read_file (RbBundle    *self,
                     const char  *name,
                     GError     **error)
{
  RbArchive *archive;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  archive = rb_bundle_get_archive (self, error);
  return archive != NULL ? rb_archive_read (archive, name, MAX_FILE_SIZE, error) : NULL;
}

/**
 * rb_bundle_get_file:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:file].
 *
 * Returns: (transfer none) (nullable): the bundle file, or %NULL for a
 *   bundle opened from bytes
 */
GFile *
rb_bundle_get_file (RbBundle *self)
{
  g_return_val_if_fail (RB_IS_BUNDLE (self), NULL);
  return self->file;
}

/**
 * rb_bundle_get_verify_mode:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:verify-mode].
 *
 * Returns: how signatures are verified
 */
RbVerifyMode
rb_bundle_get_verify_mode (RbBundle *self)
{
  g_return_val_if_fail (RB_IS_BUNDLE (self), RB_VERIFY_MODE_STRICT);
  return self->verify_mode;
}

/**
 * rb_bundle_set_verify_mode:
 * @self: a #RbBundle
 * @mode: how signatures are verified
 *
 * Sets [property@RustBridge.Bundle:verify-mode].
 */
void
rb_bundle_set_verify_mode (RbBundle     *self,
                           RbVerifyMode  mode)
{
  g_return_if_fail (RB_IS_BUNDLE (self));
  g_return_if_fail (mode <= RB_VERIFY_MODE_SKIP);

  if (self->verify_mode == mode)
    return;
  self->verify_mode = mode;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERIFY_MODE]);
}

/**
 * rb_bundle_get_public_key:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:public-key].
 *
 * Returns: (nullable): the trusted key set by the caller
 */
const char *
rb_bundle_get_public_key (RbBundle *self)
{
  g_return_val_if_fail (RB_IS_BUNDLE (self), NULL);
  return self->public_key;
}

/**
 * rb_bundle_set_public_key:
 * @self: a #RbBundle
 * @public_key: (nullable): a minisign public key (the base64 line or a
 *   whole `.pub` file), or %NULL to look for a trusted key by key id
 *
 * Sets [property@RustBridge.Bundle:public-key].
 */
void
rb_bundle_set_public_key (RbBundle   *self,
                          const char *public_key)
{
  g_return_if_fail (RB_IS_BUNDLE (self));

  if (g_strcmp0 (self->public_key, public_key) == 0)
    return;
  g_free (self->public_key);
  self->public_key = g_strdup (public_key);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PUBLIC_KEY]);
}

/**
 * rb_bundle_get_trusted_keys_dir:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:trusted-keys-dir].
 *
 * Returns: (nullable) (type filename): the directory of trusted keys
 */
const char *
rb_bundle_get_trusted_keys_dir (RbBundle *self)
{
  g_return_val_if_fail (RB_IS_BUNDLE (self), NULL);
  return self->trusted_keys_dir;
}

/**
 * rb_bundle_set_trusted_keys_dir:
 * @self: a #RbBundle
 * @dir: (nullable) (type filename): a directory of minisign `.pub` files,
 *   or %NULL for the user's and the system's directories only
 *
 * Sets [property@RustBridge.Bundle:trusted-keys-dir].
 */
void
rb_bundle_set_trusted_keys_dir (RbBundle   *self,
                                const char *dir)
{
  g_return_if_fail (RB_IS_BUNDLE (self));

  if (g_strcmp0 (self->trusted_keys_dir, dir) == 0)
    return;
  g_free (self->trusted_keys_dir);
  self->trusted_keys_dir = g_strdup (dir);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRUSTED_KEYS_DIR]);
}

/**
 * rb_bundle_get_trust_embedded_key:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:trust-embedded-key].
 *
 * Returns: whether the manifest's own key is used when no trusted key is
 */
gboolean
rb_bundle_get_trust_embedded_key (RbBundle *self)
{
  g_return_val_if_fail (RB_IS_BUNDLE (self), FALSE);
  return self->trust_embedded_key;
}

/**
 * rb_bundle_set_trust_embedded_key:
 * @self: a #RbBundle
 * @trust: whether to check signatures with the key the bundle carries
 *   when no trusted key is found (integrity only)
 *
 * Sets [property@RustBridge.Bundle:trust-embedded-key].
 */
void
rb_bundle_set_trust_embedded_key (RbBundle *self,
                                  gboolean  trust)
{
  g_return_if_fail (RB_IS_BUNDLE (self));

  trust = !!trust;
  if (self->trust_embedded_key == trust)
    return;
  self->trust_embedded_key = trust;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRUST_EMBEDDED_KEY]);
}

/**
 * rb_bundle_get_extraction_dir:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:extraction-dir].
 *
 * Returns: (nullable) (type filename): the fallback's directory
 */
const char *
rb_bundle_get_extraction_dir (RbBundle *self)
{
  g_return_val_if_fail (RB_IS_BUNDLE (self), NULL);
  return self->extraction_dir;
}

/**
 * rb_bundle_set_extraction_dir:
 * @self: a #RbBundle
 * @dir: (nullable) (type filename): a directory on a file system that
 *   allows executing files, or %NULL for `$TMPDIR`
 *
 * Sets [property@RustBridge.Bundle:extraction-dir].
 */
void
rb_bundle_set_extraction_dir (RbBundle   *self,
                              const char *dir)
{
  g_return_if_fail (RB_IS_BUNDLE (self));

  if (g_strcmp0 (self->extraction_dir, dir) == 0)
    return;
  g_free (self->extraction_dir);
  self->extraction_dir = g_strdup (dir);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXTRACTION_DIR]);
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

/* plugin.<name>; NULL for a bundle that is not open. */
static const char *
plugin_string (RbBundle   *self,
               const char *name)
{
  return self->opened ? rb_manifest_get_plugin_string (self->manifest, name) : NULL;
}

static void
rb_bundle_finalize (GObject *object)
{
  RbBundle *self = RB_BUNDLE (object);

  g_clear_object (&self->file);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self->resource_path);
  g_free (self->extraction_dir);
  g_free (self->public_key);
  g_free (self->trusted_keys_dir);
  rb_bundle_notices_clear (&self->notices);
  g_clear_error (&self->init_error);
  g_free (self->path);
  g_clear_pointer (&self->archive, rb_archive_free);
  g_clear_pointer (&self->manifest, rb_manifest_free);
  g_clear_pointer (&self->lazy, rb_bundle_lazy_free);

  G_OBJECT_CLASS (rb_bundle_parent_class)->finalize (object);
}

static void
rb_bundle_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  RbBundle *self = RB_BUNDLE (object);

  switch (prop_id)
    {
    case PROP_FILE: g_value_set_object (value, self->file); break;
    case PROP_VERIFY_MODE: g_value_set_enum (value, self->verify_mode); break;
    case PROP_PUBLIC_KEY: g_value_set_string (value, self->public_key); break;
    case PROP_TRUSTED_KEYS_DIR: g_value_set_string (value, self->trusted_keys_dir); break;
    case PROP_TRUST_EMBEDDED_KEY: g_value_set_boolean (value, self->trust_embedded_key); break;
    /* Read straight from the manifest: a bundle that is not open has
     * empty properties, not a programming error (unlike its methods). */
    case PROP_NAME: g_value_set_string (value, plugin_string (self, "name")); break;
    case PROP_VERSION: g_value_set_string (value, plugin_string (self, "version")); break;
    case PROP_DESCRIPTION: g_value_set_string (value, plugin_string (self, "description")); break;
    case PROP_LICENSE: g_value_set_string (value, plugin_string (self, "license")); break;
    case PROP_REPOSITORY: g_value_set_string (value, plugin_string (self, "repository")); break;
    case PROP_AUTHORS: g_value_set_boxed (value, self->opened ? rb_manifest_get_authors (self->manifest) : NULL); break;
    case PROP_BUNDLE_VERSION:
      g_value_set_string (value, self->opened ? rb_manifest_get_string (self->manifest, "bundle_version") : NULL);
      break;
    case PROP_MAX_MANIFEST_SIZE: g_value_set_uint64 (value, self->max_manifest_size); break;
    case PROP_MAX_LIBRARY_SIZE: g_value_set_uint64 (value, self->max_library_size); break;
    case PROP_MAX_TOTAL_SIZE: g_value_set_uint64 (value, self->max_total_size); break;
    case PROP_MAX_ENTRIES: g_value_set_uint (value, self->max_entries); break;
    case PROP_AVAILABLE: g_value_set_boolean (value, rb_bundle_get_available (self)); break;
    case PROP_EXTRACTION_DIR: g_value_set_string (value, self->extraction_dir); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_bundle_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  RbBundle *self = RB_BUNDLE (object);

  switch (prop_id)
    {
    case PROP_FILE: self->file = g_value_dup_object (value); break;
    case PROP_VERIFY_MODE: rb_bundle_set_verify_mode (self, g_value_get_enum (value)); break;
    case PROP_PUBLIC_KEY: rb_bundle_set_public_key (self, g_value_get_string (value)); break;
    case PROP_TRUSTED_KEYS_DIR: rb_bundle_set_trusted_keys_dir (self, g_value_get_string (value)); break;
    case PROP_TRUST_EMBEDDED_KEY: rb_bundle_set_trust_embedded_key (self, g_value_get_boolean (value)); break;
    case PROP_MAX_MANIFEST_SIZE: self->max_manifest_size = g_value_get_uint64 (value); break;
    case PROP_MAX_LIBRARY_SIZE: self->max_library_size = g_value_get_uint64 (value); break;
    case PROP_MAX_TOTAL_SIZE: self->max_total_size = g_value_get_uint64 (value); break;
    case PROP_MAX_ENTRIES: self->max_entries = g_value_get_uint (value); break;
    case PROP_EXTRACTION_DIR: rb_bundle_set_extraction_dir (self, g_value_get_string (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_bundle_class_init (RbBundleClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  const GParamFlags limit = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = rb_bundle_finalize;
  object_class->get_property = rb_bundle_get_property;
  object_class->set_property = rb_bundle_set_property;

  /**
   * RbBundle:file:
   *
   * The `.rbp` file: a local file, or the `resource://` file of a bundle
   * opened with [ctor@RustBridge.Bundle.new_for_resource]; %NULL for one
   * opened with [ctor@RustBridge.Bundle.new_for_bytes].
   */
  properties[PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * RbBundle:verify-mode:
   *
   * How signatures are verified; checksums are always checked.
   */
  properties[PROP_VERIFY_MODE] =
    g_param_spec_enum ("verify-mode", NULL, NULL, RB_TYPE_VERIFY_MODE, RB_VERIFY_MODE_STRICT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RbBundle:public-key:
   *
   * The publisher's minisign public key, which the application trusts
   * (the base64 line or a `.pub` file's text). When set, signatures are
   * checked with it alone. %NULL looks for a trusted key by the
   * signature's key id (see [class@RustBridge.Bundle]).
   */
  properties[PROP_PUBLIC_KEY] =
    g_param_spec_string ("public-key", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RbBundle:trusted-keys-dir:
   *
   * A directory of minisign `.pub` files the application trusts: the one
   * whose key id signed the bundle is used, when
   * [property@RustBridge.Bundle:public-key] is not set. It is searched
   * before the user's `$XDG_CONFIG_HOME/rustbridge/trusted-keys/` and the
   * system's `$XDG_DATA_DIRS/rustbridge/trusted-keys/`, which are searched
   * when it is %NULL too. Only regular `*.pub` files of at most 4 KiB are
   * read, and at most the first 1000 entries of a directory; other files
   * are skipped (with a debug message).
   */
  properties[PROP_TRUSTED_KEYS_DIR] =
    g_param_spec_string ("trusted-keys-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RbBundle:trust-embedded-key:
   *
   * Whether a signature no trusted key matches is checked with the public
   * key the bundle's manifest carries. That proves the bundle is intact
   * (integrity), **not** who made it (origin): anyone can make a bundle
   * that carries their own key. Off by default, so that
   * %RB_VERIFY_MODE_STRICT needs a key the application trusts.
   */
  properties[PROP_TRUST_EMBEDDED_KEY] =
    g_param_spec_boolean ("trust-embedded-key", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RbBundle:name:
   *
   * The plugin's name.
   */
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  /**
   * RbBundle:version:
   *
   * The plugin's version.
   */
  properties[PROP_VERSION] = g_param_spec_string ("version", NULL, NULL, NULL, ro);
  /**
   * RbBundle:description:
   *
   * The plugin's description.
   */
  properties[PROP_DESCRIPTION] = g_param_spec_string ("description", NULL, NULL, NULL, ro);
  /**
   * RbBundle:license:
   *
   * The plugin's licence.
   */
  properties[PROP_LICENSE] = g_param_spec_string ("license", NULL, NULL, NULL, ro);
  /**
   * RbBundle:repository:
   *
   * The plugin's repository.
   */
  properties[PROP_REPOSITORY] = g_param_spec_string ("repository", NULL, NULL, NULL, ro);
  /**
   * RbBundle:authors:
   *
   * The plugin's authors.
   */
  properties[PROP_AUTHORS] = g_param_spec_boxed ("authors", NULL, NULL, G_TYPE_STRV, ro);
  /**
   * RbBundle:bundle-version:
   *
   * The bundle format version.
   */
  properties[PROP_BUNDLE_VERSION] = g_param_spec_string ("bundle-version", NULL, NULL, NULL, ro);
  /**
   * RbBundle:max-manifest-size:
   *
   * Largest `manifest.json` accepted, in bytes. The manifest is held in
   * memory, so this is at most 256 MiB.
   */
  properties[PROP_MAX_MANIFEST_SIZE] =
    g_param_spec_uint64 ("max-manifest-size", NULL, NULL, 1, RB_ARCHIVE_MAX_READ_SIZE, DEFAULT_MAX_MANIFEST_SIZE,
                         limit);
  /**
   * RbBundle:max-library-size:
   *
   * Largest library accepted, in bytes (counted while streaming).
   */
  properties[PROP_MAX_LIBRARY_SIZE] =
    g_param_spec_uint64 ("max-library-size", NULL, NULL, 1, G_MAXUINT64, DEFAULT_MAX_LIBRARY_SIZE, limit);
  /**
   * RbBundle:max-total-size:
   *
   * Largest total of declared entry sizes, in bytes.
   */
  properties[PROP_MAX_TOTAL_SIZE] =
    g_param_spec_uint64 ("max-total-size", NULL, NULL, 1, G_MAXUINT64, DEFAULT_MAX_TOTAL_SIZE, limit);
  /**
   * RbBundle:max-entries:
   *
   * Most archive entries accepted.
   */
  properties[PROP_MAX_ENTRIES] =
    g_param_spec_uint ("max-entries", NULL, NULL, 1, G_MAXUINT, DEFAULT_MAX_ENTRIES, limit);
  properties[PROP_AVAILABLE] = g_param_spec_boolean ("available", NULL, NULL, FALSE, ro);

  /**
   * RbBundle:extraction-dir: (type filename)
   *
   * Where [method@RustBridge.Bundle.load_plugin] extracts the library when
   * it cannot load it from a sealed memfd (the fallback: memfds missing or
   * refused execution), in a new private subdirectory that is removed as
   * soon as the library is mapped. %NULL uses `$TMPDIR` (g_get_tmp_dir()).
   * Set it where `/tmp` is mounted `noexec`. Loading through a memfd, the
   * default, never uses it.
   */
  properties[PROP_EXTRACTION_DIR] =
    g_param_spec_string ("extraction-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rb_bundle_init (RbBundle *self)
{
  self->verify_mode = RB_VERIFY_MODE_STRICT;
  rb_bundle_notices_init (&self->notices);
  self->max_manifest_size = DEFAULT_MAX_MANIFEST_SIZE;
  self->max_library_size = DEFAULT_MAX_LIBRARY_SIZE;
  self->max_total_size = DEFAULT_MAX_TOTAL_SIZE;
  self->max_entries = DEFAULT_MAX_ENTRIES;
}
