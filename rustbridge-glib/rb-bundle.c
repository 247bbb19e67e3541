/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sodium.h>

#include "rb-archive-private.h"
#include "rb-bundle.h"
#include "rb-bundle-message-private.h"
#include "rb-enum-types.h"
#include "rb-error.h"
#include "rb-json-private.h"
#include "rb-minisign-private.h"
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
 * by default they are required. Set [property@RustBridge.Bundle:public-key]
 * to the key you trust: the key inside the manifest only proves that the
 * bundle is self-consistent, not who made it.
 *
 * ```c
 * g_autoptr(RbBundle) bundle = rb_bundle_new_for_path ("hello-1.0.0.rbp", &error);
 * rb_bundle_set_public_key (bundle, "RWQ...");   // the publisher's key
 * g_autoptr(RbPlugin) plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
 * ```
 */

#define DEFAULT_MAX_MANIFEST_SIZE   (1024 * 1024)
#define DEFAULT_MAX_LIBRARY_SIZE    (G_GUINT64_CONSTANT (1) << 30)
#define DEFAULT_MAX_TOTAL_SIZE      (G_GUINT64_CONSTANT (4) << 30)
#define DEFAULT_MAX_ENTRIES         10000
#define MAX_SIGNATURE_SIZE          (64 * 1024)
#define MAX_FILE_SIZE               (16 * 1024 * 1024)   /* schemas, documents */

/* The rustbridge version whose ABI we implement (doc/plugin-abi.md). */
#define SUPPORTED_RUSTBRIDGE_MAJOR  0
#define SUPPORTED_RUSTBRIDGE_MINOR  7

struct _RbBundle {
  GObject       parent_instance;

  GFile        *file;
  RbVerifyMode  verify_mode;
  char         *public_key;
  guint64       max_manifest_size;
  guint64       max_library_size;
  guint64       max_total_size;
  guint         max_entries;

  gboolean      initialized;
  gboolean      opened;         /* init succeeded: the state below is complete */
  GError       *init_error;
  char         *path;           /* for messages: escaped */
  RbArchive    *archive;
  GBytes       *manifest_bytes;
  JsonNode     *manifest;       /* root, an object */
  char        **authors;
  char        **transports;     /* api.transports */
  GPtrArray    *messages;       /* RbBundleMessage, api.messages in order */
};

/* Methods need an opened bundle: g_initable_init() succeeded, not merely
 * got as far as reading the manifest. */
#define RB_BUNDLE_IS_OPEN(self) (RB_IS_BUNDLE (self) && (self)->opened)

static void rb_bundle_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RbBundle, rb_bundle, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, rb_bundle_initable_iface_init))

enum {
  PROP_0,
  PROP_FILE,
  PROP_VERIFY_MODE,
  PROP_PUBLIC_KEY,
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
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ------------------------------------------------------------------ */
/* Manifest helpers                                                    */

static JsonObject *
root (RbBundle *self)
{
  return self->manifest != NULL ? json_node_get_object (self->manifest) : NULL;
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;
  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node) : NULL;
}

static gboolean
manifest_error (GError     **error,
                const char  *format,
                ...) G_GNUC_PRINTF (2, 3);

static gboolean
manifest_error (GError     **error,
                const char  *format,
                ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
               "Invalid manifest.json: %s", message);
  return FALSE;
}

/* Optional member: absent or null is fine, anything else must be @type. */
static gboolean
check_optional (JsonObject  *object,
                const char  *where,
                const char  *name,
                JsonNodeType type,
                GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_TYPE (node) != type ||
      (type == JSON_NODE_VALUE && json_node_get_value_type (node) != G_TYPE_STRING))
    return manifest_error (error, "“%s%s” must be %s", where, name,
                           type == JSON_NODE_OBJECT ? "an object" :
                           type == JSON_NODE_ARRAY ? "an array" : "a string");
  return TRUE;
}

/* An optional array of strings: absent or null gives an empty GStrv. */
static gboolean
string_array (JsonObject   *object,
              const char   *where,
              const char   *name,
              char       ***out,
              GError      **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonNode *node = json_object_get_member (object, name);

  if (!check_optional (object, where, name, JSON_NODE_ARRAY, error))
    return FALSE;
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (json_node_get_value_type (element) != G_TYPE_STRING)
            return manifest_error (error, "“%s%s” must hold strings only", where, name);
          g_strv_builder_add (builder, json_node_get_string (element));
        }
    }
  g_strfreev (*out);
  *out = g_strv_builder_end (builder);
  return TRUE;
}

/* `api`: its types are checked, and its messages built, at open. */
static gboolean
validate_api (RbBundle    *self,
              JsonObject  *api,
              GError     **error)
{
  JsonNode *messages;

  if (api == NULL)
    return TRUE;
  if (!check_optional (api, "api.", "min_rustbridge_version", JSON_NODE_VALUE, error) ||
      !check_optional (api, "api.", "messages", JSON_NODE_ARRAY, error) ||
      !string_array (api, "api.", "transports", &self->transports, error))
    return FALSE;

  messages = json_object_get_member (api, "messages");
  if (messages != NULL && JSON_NODE_HOLDS_ARRAY (messages))
    {
      JsonArray *array = json_node_get_array (messages);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *where = g_strdup_printf ("api.messages[%u]", i);
          RbBundleMessage *message = rb_bundle_message_new_from_json (json_array_get_element (array, i),
                                                                      where, error);
          if (message == NULL)
            return FALSE;
          g_ptr_array_add (self->messages, message);
        }
    }
  return TRUE;
}

static gboolean
checksum_is_valid (const char *checksum)
{
  if (g_ascii_strncasecmp (checksum, "sha256:", 7) == 0)
    checksum += 7;
  if (strlen (checksum) != 64)
    return FALSE;
  for (const char *p = checksum; *p; p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;
  return TRUE;
}

static gboolean
variant_name_is_valid (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-'))
      return FALSE;
  return TRUE;
}

static gboolean
validate_variant (JsonObject  *variant,
                  const char  *platform,
                  const char  *name,
                  GError     **error)
{
  const char *library = member_string (variant, "library");
  const char *checksum = member_string (variant, "checksum");
  /* Names from the manifest are escaped for messages; @platform already is. */
  g_autofree char *shown_name = rb_archive_shown_name (name);

  if (!variant_name_is_valid (name))
    return manifest_error (error, "variant name “%s” of platform “%s” is not lowercase letters, digits and hyphens",
                           shown_name, platform);
  if (library == NULL)
    return manifest_error (error, "variant “%s” of platform “%s” has no “library” string", shown_name, platform);
  if (!rb_archive_name_is_safe (library))
    {
      g_autofree char *shown_library = rb_archive_shown_name (library);
      return manifest_error (error, "variant “%s” of platform “%s” has an unsafe library path “%s”",
                             shown_name, platform, shown_library);
    }
  if (checksum == NULL || !checksum_is_valid (checksum))
    return manifest_error (error, "variant “%s” of platform “%s” has no valid “checksum” (sha256:<64 hex>)",
                           shown_name, platform);
  return TRUE;
}

static gboolean
validate_platform (JsonObject  *platform,
                   const char  *platform_key,
                   GError     **error)
{
  JsonObject *variants = member_object (platform, "variants");
  const char *default_variant = member_string (platform, "default_variant");
  g_autofree char *key = rb_archive_shown_name (platform_key);
  g_autoptr(GList) names = NULL;

  if (!check_optional (platform, "platforms.*.", "default_variant", JSON_NODE_VALUE, error))
    return FALSE;

  if (variants == NULL)
    {
      /* Legacy single-variant form: library/checksum on the platform. */
      if (json_object_has_member (platform, "variants"))
        return manifest_error (error, "“platforms.%s.variants” must be an object", key);
      if (member_string (platform, "library") == NULL)
        return manifest_error (error, "platform “%s” has neither “variants” nor “library”", key);
      return validate_variant (platform, key, "release", error);
    }

  names = json_object_get_members (variants);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *variant = member_object (variants, l->data);
      if (variant == NULL)
        {
          g_autofree char *shown = rb_archive_shown_name (l->data);
          return manifest_error (error, "variant “%s” of platform “%s” must be an object", shown, key);
        }
      if (!validate_variant (variant, key, l->data, error))
        return FALSE;
    }
  if (default_variant != NULL)
    {
      if (!json_object_has_member (variants, default_variant))
        {
          g_autofree char *shown = rb_archive_shown_name (default_variant);
          return manifest_error (error, "platform “%s” names default variant “%s”, which it does not have",
                                 key, shown);
        }
    }
  else if (!json_object_has_member (variants, "release"))
    return manifest_error (error, "platform “%s” has no “release” variant", key);
  return TRUE;
}

static void
check_min_rustbridge_version (RbBundle *self)
{
  const char *min = member_string (member_object (root (self), "api"), "min_rustbridge_version");
  guint64 major = 0, minor = 0;
  char *end = NULL;

  if (min == NULL)
    return;
  major = g_ascii_strtoull (min, &end, 10);
  if (end != NULL && *end == '.')
    minor = g_ascii_strtoull (end + 1, NULL, 10);
  if (major > SUPPORTED_RUSTBRIDGE_MAJOR ||
      (major == SUPPORTED_RUSTBRIDGE_MAJOR && minor > SUPPORTED_RUSTBRIDGE_MINOR))
    {
      g_autofree char *shown = rb_archive_shown_name (min);
      /* A MESSAGE, as every report about a bundle's content. */
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                        "MESSAGE", "Bundle “%s” asks for rustbridge %s or newer; this host implements %d.%d",
                        self->path, shown, SUPPORTED_RUSTBRIDGE_MAJOR, SUPPORTED_RUSTBRIDGE_MINOR);
    }
}

static gboolean
validate_manifest (RbBundle  *self,
                   GError   **error)
{
  JsonObject *object = root (self);
  JsonObject *plugin, *platforms;
  const char *bundle_version;
  g_autoptr(GList) keys = NULL;

  if (object == NULL)
    return manifest_error (error, "not a JSON object");

  bundle_version = member_string (object, "bundle_version");
  if (bundle_version == NULL)
    return manifest_error (error, "“bundle_version” is missing or not a string");
  if (g_ascii_strtoull (bundle_version, NULL, 10) != 1 || !g_ascii_isdigit (bundle_version[0]))
    {
      g_autofree char *shown = rb_archive_shown_name (bundle_version);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION,
                   "Bundle “%s” has format version “%s”; only 1.x is supported", self->path, shown);
      return FALSE;
    }

  plugin = member_object (object, "plugin");
  if (plugin == NULL)
    return manifest_error (error, "“plugin” is missing or not an object");
  if (member_string (plugin, "name") == NULL || *member_string (plugin, "name") == '\0')
    return manifest_error (error, "“plugin.name” is missing or not a string");
  if (member_string (plugin, "version") == NULL)
    return manifest_error (error, "“plugin.version” is missing or not a string");
  if (!check_optional (plugin, "plugin.", "description", JSON_NODE_VALUE, error) ||
      !check_optional (plugin, "plugin.", "license", JSON_NODE_VALUE, error) ||
      !check_optional (plugin, "plugin.", "repository", JSON_NODE_VALUE, error) ||
      !string_array (plugin, "plugin.", "authors", &self->authors, error))
    return FALSE;

  platforms = member_object (object, "platforms");
  if (platforms == NULL)
    return manifest_error (error, "“platforms” is missing or not an object");
  keys = json_object_get_members (platforms);
  if (keys == NULL)
    return manifest_error (error, "“platforms” is empty");
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonObject *platform = member_object (platforms, l->data);
      if (platform == NULL)
        {
          g_autofree char *shown = rb_archive_shown_name (l->data);
          return manifest_error (error, "“platforms.%s” must be an object", shown);
        }
      if (!validate_platform (platform, l->data, error))
        return FALSE;
    }

  if (!check_optional (object, "", "public_key", JSON_NODE_VALUE, error) ||
      !check_optional (object, "", "build_info", JSON_NODE_OBJECT, error) ||
      !check_optional (object, "", "sbom", JSON_NODE_OBJECT, error) ||
      !check_optional (object, "", "schemas", JSON_NODE_OBJECT, error) ||
      !check_optional (object, "", "notices", JSON_NODE_VALUE, error) ||
      !check_optional (object, "", "license_file", JSON_NODE_VALUE, error) ||
      !check_optional (object, "", "api", JSON_NODE_OBJECT, error) ||
      !validate_api (self, member_object (object, "api"), error))
    return FALSE;

  {
    JsonObject *schemas = member_object (object, "schemas");
    g_autoptr(GList) names = schemas ? json_object_get_members (schemas) : NULL;

    for (GList *l = names; l != NULL; l = l->next)
      {
        JsonObject *schema = member_object (schemas, l->data);
        const char *path = member_string (schema, "path");
        const char *checksum = member_string (schema, "checksum");

        g_autofree char *shown = rb_archive_shown_name (l->data);

        if (schema == NULL || path == NULL || !rb_archive_name_is_safe (path))
          return manifest_error (error, "schema “%s” needs a safe “path”", shown);
        if (checksum != NULL && !checksum_is_valid (checksum))
          return manifest_error (error, "schema “%s” has an invalid checksum", shown);
      }
  }

  check_min_rustbridge_version (self);
  return TRUE;
}

/* The member names of @object, sorted, as a GStrv (empty for NULL). */
static GStrv
sorted_members (JsonObject *object)
{
  g_autoptr(GList) names = object != NULL ? json_object_get_members (object) : NULL;
  GStrvBuilder *builder = g_strv_builder_new ();
  GStrv result;

  names = g_list_sort (names, (GCompareFunc) g_strcmp0);
  for (GList *l = names; l != NULL; l = l->next)
    g_strv_builder_add (builder, l->data);
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

/* Creates @target for writing; never replaces an existing file or
 * follows a link (RB_BUNDLE_ERROR_EXISTS). Returns an fd or -1. */
static int
create_exclusive (const char  *target,
                  mode_t       mode,
                  GError     **error)
{
  int fd = open (target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

  if (fd < 0)
    {
      int saved = errno;
      g_autofree char *shown = rb_archive_escape (target, -1, G_MAXSIZE);

      if (saved == EEXIST)
        g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_EXISTS,
                     "“%s” already exists: not overwriting it", shown);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     "Could not create “%s”: %s", shown, g_strerror (saved));
    }
  return fd;
}

static gboolean
write_all (int            fd,
           const guint8  *data,
           gsize          len,
           const char    *what,
           GError       **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;
          g_autofree char *shown = rb_archive_escape (what, -1, G_MAXSIZE);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Could not write %s: %s", shown, g_strerror (saved));
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Init                                                                */

static gboolean
rb_bundle_initable_init (GInitable     *initable,
                         GCancellable  *cancellable,
                         GError       **error)
{
  RbBundle *self = RB_BUNDLE (initable);
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *path = NULL;
  const char *data;
  gsize size;

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
  if (self->file == NULL || (path = g_file_get_path (self->file)) == NULL)
    {
      g_set_error_literal (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND,
                           "No local bundle file was given");
      goto fail;
    }
  self->path = rb_archive_escape (path, -1, G_MAXSIZE);
  if (g_cancellable_set_error_if_cancelled (cancellable, &self->init_error))
    goto fail;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND,
                   "Bundle “%s” does not exist or is not a regular file", self->path);
      goto fail;
    }

  self->archive = rb_archive_open (path, self->max_entries, self->max_total_size, &self->init_error);
  if (self->archive == NULL)
    goto fail;

  if (!rb_archive_has_file (self->archive, "manifest.json"))
    {
      g_set_error (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Bundle “%s” has no manifest.json", self->path);
      goto fail;
    }
  self->manifest_bytes = rb_archive_read (self->archive, "manifest.json", self->max_manifest_size,
                                          &self->init_error);
  if (self->manifest_bytes == NULL)
    goto fail;

  data = g_bytes_get_data (self->manifest_bytes, &size);
  parser = json_parser_new_immutable ();
  /* Never json-glib on text nested deeper than it can take. */
  if (size == 0 || !rb_json_load_untrusted (parser, data, (gssize) size, &local_error))
    {
      g_set_error (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Invalid manifest.json in “%s”: %s", self->path,
                   local_error ? local_error->message : "the file is empty");
      goto fail;
    }
  self->manifest = json_node_ref (json_parser_get_root (parser));
  if (!JSON_NODE_HOLDS_OBJECT (self->manifest))
    {
      g_clear_pointer (&self->manifest, json_node_unref);
      g_set_error (&self->init_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Invalid manifest.json in “%s”: not a JSON object", self->path);
      goto fail;
    }
  if (!validate_manifest (self, &self->init_error))
    goto fail;
  self->opened = TRUE;
  return TRUE;

fail:
  /* Nothing half-read stays behind (nor the open file). */
  g_clear_pointer (&self->archive, rb_archive_free);
  g_clear_pointer (&self->manifest_bytes, g_bytes_unref);
  g_clear_pointer (&self->manifest, json_node_unref);
  g_ptr_array_set_size (self->messages, 0);
  g_strfreev (self->authors);
  self->authors = g_new0 (char *, 1);
  g_strfreev (self->transports);
  self->transports = g_new0 (char *, 1);
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
 * @file: the `.rbp` file (a local file)
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
 * @error: return location for a #GError
 *
 * Like [ctor@RustBridge.Bundle.new_for_file].
 *
 * Returns: (transfer full): the bundle, or %NULL with @error set
 */
RbBundle *
rb_bundle_new_for_path (const char  *path,
                        GError     **error)
{
  g_autoptr(GFile) file = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  file = g_file_new_for_path (path);
  return rb_bundle_new_for_file (file, NULL, error);
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
#if defined(__linux__)
# define RB_OS "linux"
#elif defined(__APPLE__)
# define RB_OS "darwin"
#elif defined(_WIN32)
# define RB_OS "windows"
#else
# define RB_OS "unknown"
#endif
#if defined(__x86_64__) || defined(_M_X64)
# define RB_CPU "x86_64"
#elif defined(__aarch64__) || defined(_M_ARM64)
# define RB_CPU "aarch64"
#else
# define RB_CPU "unknown"
#endif
  return RB_OS "-" RB_CPU;
}

/* ------------------------------------------------------------------ */
/* Platforms and variants                                              */

static JsonObject *
lookup_platform (RbBundle    *self,
                 const char  *platform,
                 GError     **error)
{
  JsonObject *platforms = member_object (root (self), "platforms");
  JsonObject *entry;

  if (platform == NULL)
    platform = rb_bundle_get_current_platform ();
  entry = member_object (platforms, platform);
  if (entry == NULL)
    {
      g_auto(GStrv) have = rb_bundle_list_platforms (self);
      g_autofree char *list = g_strjoinv (", ", have);
      g_autofree char *shown_list = rb_archive_shown_name (list);
      g_autofree char *shown = rb_archive_shown_name (platform);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM,
                   "Bundle “%s” has no library for platform “%s” (it has: %s)", self->path, shown, shown_list);
    }
  return entry;
}

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
  return sorted_members (member_object (root (self), "platforms"));
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
  JsonObject *entry, *variants;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  entry = lookup_platform (self, platform, error);
  if (entry == NULL)
    return NULL;
  variants = member_object (entry, "variants");
  if (variants == NULL)
    {
      /* The legacy single-variant form. */
      const char *release[] = { "release", NULL };
      return g_strdupv ((char **) release);
    }
  return sorted_members (variants);
}

/**
 * rb_bundle_get_default_variant:
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
rb_bundle_get_default_variant (RbBundle    *self,
                               const char  *platform,
                               GError     **error)
{
  JsonObject *entry;
  const char *name;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  entry = lookup_platform (self, platform, error);
  if (entry == NULL)
    return NULL;
  name = member_string (entry, "default_variant");
  return g_strdup (name != NULL ? name : "release");
}

/* The variant entry (an object with library + checksum). */
static JsonObject *
lookup_variant (RbBundle    *self,
                const char  *variant,
                GError     **error)
{
  JsonObject *entry = lookup_platform (self, NULL, error);
  JsonObject *variants, *found;
  g_autofree char *fallback = NULL;

  if (entry == NULL)
    return NULL;
  if (variant == NULL)
    variant = fallback = rb_bundle_get_default_variant (self, NULL, NULL);
  variants = member_object (entry, "variants");
  found = variants != NULL ? member_object (variants, variant)
                           : (g_strcmp0 (variant, "release") == 0 ? entry : NULL);
  if (found == NULL)
    {
      g_autofree char *shown = rb_archive_shown_name (variant);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_VARIANT_NOT_FOUND,
                   "Bundle “%s” has no variant “%s” for platform “%s”", self->path, shown,
                   rb_bundle_get_current_platform ());
    }
  return found;
}

/**
 * rb_bundle_get_library_path:
 * @self: a #RbBundle
 * @variant: (nullable): a variant, or %NULL for the default one
 * @error: return location for a #GError
 *
 * Gets the path inside the archive of the current platform's library.
 *
 * Returns: (transfer full): the entry name, or %NULL with @error set
 */
char *
rb_bundle_get_library_path (RbBundle    *self,
                            const char  *variant,
                            GError     **error)
{
  JsonObject *entry;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  entry = lookup_variant (self, variant, error);
  return entry != NULL ? g_strdup (member_string (entry, "library")) : NULL;
}

/* ------------------------------------------------------------------ */
/* Signatures                                                          */

/* A MESSAGE, not a WARNING: what a bundle holds must not abort a program
 * that runs with fatal warnings (every GTest program does). */
static void
warn_unverified (RbBundle   *self,
                 const char *what,
                 const char *why)
{
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    "MESSAGE", "Bundle “%s”: %s is not verified (%s; verify-mode is WARN)",
                    self->path, what, why);
}

/* Finds the signature of @name and the key to check it with. Returns
 * FALSE with @error set on failure; TRUE with *signature_out unset when
 * nothing is to be checked (SKIP, or WARN with a message logged). */
static gboolean
prepare_signature (RbBundle             *self,
                   const char           *name,
                   RbMinisignKey        *key,
                   RbMinisignSignature  *signature,
                   gboolean             *check,
                   GError              **error)
{
  g_autofree char *sig_name = g_strconcat (name, ".minisig", NULL);
  g_autofree char *shown = rb_archive_shown_name (name);
  g_autofree char *shown_sig = rb_archive_shown_name (sig_name);
  g_autoptr(GBytes) sig_bytes = NULL;
  const char *key_text;
  gsize size;
  const guint8 *data;

  *check = FALSE;
  if (self->verify_mode == RB_VERIFY_MODE_SKIP)
    return TRUE;

  if (!rb_archive_has_file (self->archive, sig_name))
    {
      if (self->verify_mode == RB_VERIFY_MODE_WARN)
        {
          warn_unverified (self, shown, "it is not signed");
          return TRUE;
        }
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING,
                   "Bundle “%s”: “%s” is not signed (no “%s”)", self->path, shown, shown_sig);
      return FALSE;
    }

  key_text = self->public_key != NULL ? self->public_key : member_string (root (self), "public_key");
  if (key_text == NULL)
    {
      if (self->verify_mode == RB_VERIFY_MODE_WARN)
        {
          warn_unverified (self, shown, "there is no public key");
          return TRUE;
        }
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NO_PUBLIC_KEY,
                   "Bundle “%s”: cannot verify “%s”: no public key (set RbBundle:public-key)",
                   self->path, shown);
      return FALSE;
    }
  if (!rb_minisign_key_parse (key_text, self->public_key != NULL ? "public-key property" : "manifest public_key",
                              key, error))
    return FALSE;

  sig_bytes = rb_archive_read (self->archive, sig_name, MAX_SIGNATURE_SIZE, error);
  if (sig_bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (sig_bytes, &size);
  if (!rb_minisign_signature_parse (data, size, shown_sig, signature, error))
    return FALSE;
  *check = TRUE;
  return TRUE;
}

static gboolean
verify_manifest_signature (RbBundle  *self,
                           GError   **error)
{
  RbMinisignKey key;
  RbMinisignSignature signature = { 0 };
  gboolean check, ok;
  const guint8 *data;
  gsize size;

  if (!prepare_signature (self, "manifest.json", &key, &signature, &check, error))
    return FALSE;
  if (!check)
    return TRUE;
  data = g_bytes_get_data (self->manifest_bytes, &size);
  ok = rb_minisign_verify (&key, &signature, data, size, NULL, "manifest.json.minisig", error);
  rb_minisign_signature_clear (&signature);
  return ok;
}

/* ------------------------------------------------------------------ */
/* Streaming the library out                                           */

typedef struct {
  int                                fd;        /* -1: verify only */
  crypto_hash_sha256_state           sha256;
  crypto_generichash_state           blake2b;
  GByteArray                        *copy;      /* legacy signature without a file */
} Sink;

static gboolean
sink_chunk (const guint8  *data,
            gsize          len,
            gpointer       user_data,
            GError       **error)
{
  Sink *sink = user_data;

  crypto_hash_sha256_update (&sink->sha256, data, len);
  crypto_generichash_update (&sink->blake2b, data, len);
  if (sink->copy != NULL)
    g_byte_array_append (sink->copy, data, (guint) len);
  if (sink->fd >= 0)
    return write_all (sink->fd, data, len, "the extracted library", error);
  return TRUE;
}

static gboolean
checksum_matches (const char   *expected,
                  const guint8  digest[crypto_hash_sha256_BYTES])
{
  char hex[crypto_hash_sha256_BYTES * 2 + 1];

  if (g_ascii_strncasecmp (expected, "sha256:", 7) == 0)
    expected += 7;
  sodium_bin2hex (hex, sizeof hex, digest, crypto_hash_sha256_BYTES);
  return g_ascii_strcasecmp (hex, expected) == 0;
}

/*
 * Verifies the manifest signature, then streams the library of @variant
 * through the hashes (and into @fd unless it is -1), then checks its
 * checksum and signature. For a legacy signature with a file, the file is
 * mapped and checked once written.
 */
static gboolean
stream_library (RbBundle      *self,
                const char    *variant,
                int            fd,
                const char    *written_path,
                GCancellable  *cancellable,
                GError       **error)
{
  JsonObject *entry;
  const char *library, *checksum;
  RbMinisignKey key;
  RbMinisignSignature signature = { 0 };
  g_autofree char *shown = NULL;
  g_autofree char *sig_name = NULL;
  guint8 digest[crypto_hash_sha256_BYTES];
  guint8 prehash[RB_MINISIGN_PREHASH_LEN];
  gboolean check = FALSE, ok = FALSE;
  Sink sink = { fd, { { 0 } }, { { 0 } }, NULL };

  if (!verify_manifest_signature (self, error))
    return FALSE;

  entry = lookup_variant (self, variant, error);
  if (entry == NULL)
    return FALSE;
  library = member_string (entry, "library");
  checksum = member_string (entry, "checksum");
  shown = rb_archive_shown_name (library);
  if (!rb_archive_has_file (self->archive, library))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                   "Bundle “%s” has no “%s” (named by the manifest)", self->path, shown);
      return FALSE;
    }
  if (!prepare_signature (self, library, &key, &signature, &check, error))
    return FALSE;

  crypto_hash_sha256_init (&sink.sha256);
  crypto_generichash_init (&sink.blake2b, NULL, 0, sizeof prehash);
  if (check && !signature.prehashed && fd < 0)
    {
      /* A legacy signature covers the bytes themselves: without a file to
       * map, they are held in memory, within the cap of every such read. */
      if (rb_archive_get_size (self->archive, library) > RB_ARCHIVE_MAX_READ_SIZE)
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                       "Bundle “%s”: “%s” has a legacy signature and is larger than the %" G_GUINT64_FORMAT
                       " bytes it can be verified in memory; extract it to verify it",
                       self->path, shown, RB_ARCHIVE_MAX_READ_SIZE);
          goto out;
        }
      sink.copy = g_byte_array_new ();
    }

  if (!rb_archive_stream (self->archive, library, self->max_library_size, cancellable,
                          sink_chunk, &sink, error))
    goto out;

  crypto_hash_sha256_final (&sink.sha256, digest);
  crypto_generichash_final (&sink.blake2b, prehash, sizeof prehash);
  if (!checksum_matches (checksum, digest))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH,
                   "Bundle “%s”: “%s” does not match its checksum", self->path, shown);
      goto out;
    }

  if (check)
    {
      sig_name = g_strconcat (shown, ".minisig", NULL);     /* for messages */
      if (signature.prehashed)
        ok = rb_minisign_verify (&key, &signature, NULL, 0, prehash, sig_name, error);
      else if (sink.copy != NULL)
        ok = rb_minisign_verify (&key, &signature, sink.copy->data, sink.copy->len, NULL, sig_name, error);
      else
        {
          /* Legacy signatures cover the raw bytes: read back what we wrote. */
          g_autoptr(GMappedFile) mapped = g_mapped_file_new (written_path, FALSE, error);
          ok = mapped != NULL &&
               rb_minisign_verify (&key, &signature, (const guint8 *) g_mapped_file_get_contents (mapped),
                                   g_mapped_file_get_length (mapped), NULL, sig_name, error);
        }
    }
  else
    ok = TRUE;

  /* Even one its checksum and signature vouch for: no library is empty
   * (the archive checked that the size it declares is what it holds). */
  if (ok && rb_archive_get_size (self->archive, library) == 0)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                   "Bundle “%s”: “%s” is empty", self->path, shown);
      ok = FALSE;
    }

out:
  rb_minisign_signature_clear (&signature);
  if (sink.copy != NULL)
    g_byte_array_unref (sink.copy);
  return ok;
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
 * Returns: %TRUE if everything checked out, or %FALSE with @error set
 */
gboolean
rb_bundle_verify (RbBundle      *self,
                  const char    *variant,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return stream_library (self, variant, -1, NULL, cancellable, error);
}

static char *
library_basename (RbBundle    *self,
                  const char  *variant,
                  GError     **error)
{
  JsonObject *entry = lookup_variant (self, variant, error);
  g_autofree char *base = NULL;

  if (entry == NULL)
    return NULL;
  /* Only the last component of the manifest's path names the file. */
  base = g_path_get_basename (member_string (entry, "library"));
  if (!rb_archive_name_is_safe (base) || strchr (base, '/') != NULL)
    {
      g_autofree char *shown = rb_archive_shown_name (base);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSAFE_PATH,
                   "Bundle “%s”: unsafe library file name “%s”", self->path, shown);
      return NULL;
    }
  return g_steal_pointer (&base);
}

/* Writes the verified library to @dir/<basename>; on any failure nothing
 * is left behind. */
static char *
extract_into (RbBundle      *self,
              const char    *variant,
              const char    *dir,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autofree char *base = library_basename (self, variant, error);
  g_autofree char *target = NULL;
  int fd;
  gboolean ok;

  if (base == NULL)
    return NULL;
  target = g_build_filename (dir, base, NULL);
  fd = create_exclusive (target, 0600, error);
  if (fd < 0)
    return NULL;

  ok = stream_library (self, variant, fd, target, cancellable, error);
  if (ok && (fchmod (fd, 0700) != 0 || fsync (fd) != 0))
    {
      int saved = errno;
      g_autofree char *shown = rb_archive_escape (target, -1, G_MAXSIZE);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not finish “%s”: %s", shown, g_strerror (saved));
      ok = FALSE;
    }
  close (fd);
  if (!ok)
    {
      g_unlink (target);
      return NULL;
    }
  return g_steal_pointer (&target);
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
  gboolean private_dir = dest_dir == NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (dest_dir == NULL || G_IS_FILE (dest_dir), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (private_dir)
    {
      dir = g_dir_make_tmp ("rustbridge-XXXXXX", error);
      if (dir == NULL)
        return NULL;
    }
  else if ((dir = g_file_get_path (dest_dir)) == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "The destination directory must be a local directory");
      return NULL;
    }

  target = extract_into (self, variant, dir, cancellable, error);
  if (target == NULL)
    {
      if (private_dir)
        g_rmdir (dir);
      return NULL;
    }
  return g_file_new_for_path (target);
}

static void
remove_extracted (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
}

/**
 * rb_bundle_load_plugin:
 * @self: a #RbBundle
 * @variant: (nullable): a variant, or %NULL for the default one
 * @config: (nullable): the plugin configuration, or %NULL for the defaults
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Verifies and extracts the current platform's library into a new private
 * directory, loads it with [ctor@RustBridge.Plugin.new] and records the
 * bundle's name and version on the plugin. The extracted file and its
 * directory are removed as soon as the library is mapped (or loading
 * failed): the mapping stays valid, and nothing is left on disk, even if
 * the process later crashes.
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
  g_autoptr(GFile) library = NULL;
  g_autofree char *path = NULL;
  RbPlugin *plugin;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  library = rb_bundle_extract_library (self, variant, NULL, cancellable, error);
  if (library == NULL)
    return NULL;
  path = g_file_get_path (library);
  plugin = rb_plugin_new (path, config, cancellable, error);
  remove_extracted (path);
  if (plugin != NULL)
    rb_plugin_set_bundle_info (plugin, rb_bundle_get_name (self), rb_bundle_get_version (self));
  return plugin;
}

typedef struct {
  char           *variant;
  RbPluginConfig *config;
  char           *path;    /* the extracted library */
} LoadData;

/* The destroy notify of an extracted library's path: whoever drops it
 * (a cancelled task, or one never dispatched) removes the file too. */
static void
extracted_free (char *path)
{
  remove_extracted (path);
  g_free (path);
}

static void
load_data_free (LoadData *data)
{
  g_clear_pointer (&data->path, extracted_free);
  g_free (data->variant);
  g_clear_object (&data->config);
  g_free (data);
}

static void
load_extract_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  g_autoptr(GFile) library = rb_bundle_extract_library (source_object, data->variant, NULL,
                                                        cancellable, &error);

  if (library == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_file_get_path (library), (GDestroyNotify) extracted_free);
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

  /* Mapped (or not loadable): the file goes before the caller hears of
   * it, as in the synchronous load. */
  g_clear_pointer (&data->path, extracted_free);
  if (plugin == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  rb_plugin_set_bundle_info (plugin, rb_bundle_get_name (self), rb_bundle_get_version (self));
  /* Its start-up events wait until our caller has it too. */
  rb_plugin_hold_start_up_until (plugin, task);
  g_task_return_pointer (task, plugin, g_object_unref);
}

static void
load_extracted (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadData *data = g_task_get_task_data (task);
  GCancellable *cancellable;
  GError *error = NULL;

  /* A cancelled task drops its extracted library (extracted_free())
   * rather than hand it out. */
  data->path = g_task_propagate_pointer (G_TASK (result), &error);
  if (data->path == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Created from this (the caller's) context, so the plugin's signals go
   * there; the library file is removed once it is loaded, or with the
   * task data. */
  cancellable = g_task_get_cancellable (task);
  rb_plugin_new_async (data->path, data->config, G_PRIORITY_DEFAULT,
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
 * verification and extraction run in a thread, then the plugin starts
 * with [func@RustBridge.Plugin.new_async]. The plugin's signals are
 * emitted in the caller's thread-default main context.
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
  g_autoptr(GTask) extract = NULL;
  LoadData *data;

  g_return_if_fail (RB_BUNDLE_IS_OPEN (self));
  g_return_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_bundle_load_plugin_async);
  data = g_new0 (LoadData, 1);
  data->variant = g_strdup (variant);
  data->config = config != NULL ? g_object_ref (config) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);

  extract = g_task_new (self, cancellable, load_extracted, g_steal_pointer (&task));
  g_task_set_source_tag (extract, rb_bundle_load_plugin_async);
  g_task_set_task_data (extract, data, NULL);
  g_task_run_in_thread (extract, load_extract_thread);
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

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------ */
/* Files and schemas                                                   */

/**
 * rb_bundle_list_files:
 * @self: a #RbBundle
 *
 * Lists the files in the archive.
 *
 * Returns: (transfer full): entry names, in archive order
 */
GStrv
rb_bundle_list_files (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return rb_archive_list_files (self->archive);
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
  return sorted_members (member_object (root (self), "schemas"));
}

static JsonObject *
lookup_schema (RbBundle    *self,
               const char  *name,
               GError     **error)
{
  JsonObject *schema = member_object (member_object (root (self), "schemas"), name);

  if (schema == NULL)
    {
      g_autofree char *shown = rb_archive_shown_name (name);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                   "Bundle “%s” declares no schema “%s”", self->path, shown);
    }
  return schema;
}

/**
 * rb_bundle_read_schema:
 * @self: a #RbBundle
 * @name: a schema name from [method@RustBridge.Bundle.list_schemas]
 * @error: return location for a #GError
 *
 * Reads a schema file and checks it against the manifest's checksum
 * (when the manifest gives one). An empty file is refused
 * (%RB_BUNDLE_ERROR_INVALID_ARCHIVE).
 *
 * Returns: (transfer full): the schema's bytes, or %NULL with @error set
 */
GBytes *
rb_bundle_read_schema (RbBundle    *self,
                       const char  *name,
                       GError     **error)
{
  JsonObject *schema;
  const char *checksum;
  g_autoptr(GBytes) bytes = NULL;
  guint8 digest[crypto_hash_sha256_BYTES];
  const guint8 *data;
  gsize size;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  schema = lookup_schema (self, name, error);
  if (schema == NULL)
    return NULL;
  bytes = rb_archive_read (self->archive, member_string (schema, "path"), MAX_FILE_SIZE, error);
  if (bytes == NULL)
    return NULL;
  checksum = member_string (schema, "checksum");
  if (checksum != NULL)
    {
      data = g_bytes_get_data (bytes, &size);
      crypto_hash_sha256 (digest, data, size);
      if (!checksum_matches (checksum, digest))
        {
          g_autofree char *shown = rb_archive_shown_name (name);
          g_autofree char *shown_path = rb_archive_shown_name (member_string (schema, "path"));
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH,
                       "Bundle “%s”: schema “%s” (%s) does not match its checksum", self->path, shown,
                       shown_path);
          return NULL;
        }
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      g_autofree char *shown = rb_archive_shown_name (name);
      g_autofree char *shown_path = rb_archive_shown_name (member_string (schema, "path"));
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
  const guint8 *data;
  gsize size;
  int fd;

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
  base = g_path_get_basename (member_string (lookup_schema (self, name, NULL), "path"));
  target = g_build_filename (dir, base, NULL);
  fd = create_exclusive (target, 0644, error);
  if (fd < 0)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  if (!write_all (fd, data, size, target, error))
    {
      close (fd);
      g_unlink (target);
      return NULL;
    }
  close (fd);
  return g_file_new_for_path (target);
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
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return rb_archive_read (self->archive, name, MAX_FILE_SIZE, error);
}

/* ------------------------------------------------------------------ */
/* Manifest accessors                                                  */

/**
 * rb_bundle_get_manifest_json:
 * @self: a #RbBundle
 *
 * Gets the manifest exactly as stored in the bundle.
 *
 * Returns: (transfer full): the text of `manifest.json`
 */
char *
rb_bundle_get_manifest_json (RbBundle *self)
{
  const char *data;
  gsize size;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  data = g_bytes_get_data (self->manifest_bytes, &size);
  return g_strndup (data, size);
}

static const char *
plugin_string (RbBundle   *self,
               const char *name)
{
  return member_string (member_object (root (self), "plugin"), name);
}

/**
 * rb_bundle_get_name:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:name].
 *
 * Returns: the plugin's name (`plugin.name`)
 */
const char *
rb_bundle_get_name (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return plugin_string (self, "name");
}

/**
 * rb_bundle_get_version:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:version].
 *
 * Returns: the plugin's version (`plugin.version`)
 */
const char *
rb_bundle_get_version (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return plugin_string (self, "version");
}

/**
 * rb_bundle_get_description:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:description].
 *
 * Returns: (nullable): the plugin's description
 */
const char *
rb_bundle_get_description (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return plugin_string (self, "description");
}

/**
 * rb_bundle_get_license:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:license].
 *
 * Returns: (nullable): the plugin's licence
 */
const char *
rb_bundle_get_license (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return plugin_string (self, "license");
}

/**
 * rb_bundle_get_repository:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:repository].
 *
 * Returns: (nullable): the plugin's repository URL
 */
const char *
rb_bundle_get_repository (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return plugin_string (self, "repository");
}

/**
 * rb_bundle_get_authors:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:authors].
 *
 * Returns: (transfer none) (array zero-terminated=1): the plugin's authors
 */
const char * const *
rb_bundle_get_authors (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return (const char * const *) self->authors;
}

/**
 * rb_bundle_get_bundle_version:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:bundle-version].
 *
 * Returns: the bundle format version (`bundle_version`)
 */
const char *
rb_bundle_get_bundle_version (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return member_string (root (self), "bundle_version");
}

/**
 * rb_bundle_get_manifest_public_key:
 * @self: a #RbBundle
 *
 * Gets the public key the manifest carries. It only proves that the
 * bundle is self-consistent; prefer setting the publisher's key as
 * [property@RustBridge.Bundle:public-key].
 *
 * Returns: (nullable): the manifest's `public_key`
 */
const char *
rb_bundle_get_manifest_public_key (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return member_string (root (self), "public_key");
}

/**
 * rb_bundle_get_min_rustbridge_version:
 * @self: a #RbBundle
 *
 * Gets `api.min_rustbridge_version`.
 *
 * Returns: (nullable): the minimum rustbridge version the plugin needs
 */
const char *
rb_bundle_get_min_rustbridge_version (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return member_string (member_object (root (self), "api"), "min_rustbridge_version");
}

static JsonNode *
member_copy (JsonObject *object,
             const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  /* Not through text: a number like 1e400 reads as infinity, which json-glib
   * writes as "inf.0", which it then cannot read. */
  return rb_json_node_deep_copy (node);
}

/**
 * rb_bundle_get_build_info:
 * @self: a #RbBundle
 *
 * Gets the `build_info` object (`built_by`, `built_at`, `host`,
 * `compiler`, `rustbridge_version`, `git`, `custom`).
 *
 * Returns: (transfer full) (nullable): a copy of `build_info`
 */
JsonNode *
rb_bundle_get_build_info (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return member_copy (root (self), "build_info");
}

/**
 * rb_bundle_get_build_info_string:
 * @self: a #RbBundle
 * @key: a member of `build_info` (e.g. `built_at`), or of its `custom`
 *   object when prefixed with `custom.`
 *
 * Gets one string of the build information.
 *
 * Returns: (nullable): the value, or %NULL if absent or not a string
 */
const char *
rb_bundle_get_build_info_string (RbBundle   *self,
                                 const char *key)
{
  JsonObject *info;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  info = member_object (root (self), "build_info");
  if (g_str_has_prefix (key, "custom."))
    return member_string (member_object (info, "custom"), key + strlen ("custom."));
  return member_string (info, key);
}

/**
 * rb_bundle_get_git_commit:
 * @self: a #RbBundle
 *
 * Gets `build_info.git.commit`.
 *
 * Returns: (nullable): the commit the plugin was built from
 */
const char *
rb_bundle_get_git_commit (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return member_string (member_object (member_object (root (self), "build_info"), "git"), "commit");
}

/**
 * rb_bundle_get_api_messages:
 * @self: a #RbBundle
 *
 * Gets `api.messages`: the messages the plugin declares (`type_tag`,
 * `message_id`, `description`, `transport`, schemas).
 *
 * Returns: (transfer full) (nullable): a copy of the array
 */
JsonNode *
rb_bundle_get_api_messages (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return member_copy (member_object (root (self), "api"), "messages");
}

/**
 * rb_bundle_list_api_message_tags:
 * @self: a #RbBundle
 *
 * Lists the type tags of `api.messages`.
 *
 * Returns: (transfer full): the type tags, in manifest order
 */
GStrv
rb_bundle_list_api_message_tags (RbBundle *self)
{
  g_autoptr(GStrvBuilder) builder = NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->messages->len; i++)
    g_strv_builder_add (builder, rb_bundle_message_get_type_tag (g_ptr_array_index (self->messages, i)));
  return g_strv_builder_end (builder);
}

/**
 * rb_bundle_list_api_messages:
 * @self: a #RbBundle
 *
 * Lists the messages the plugin declares (`api.messages`), typed. In C,
 * `g_autolist(RbBundleMessage)` frees the list.
 *
 * Returns: (transfer full) (element-type RbBundleMessage): the messages,
 *   in manifest order (%NULL, the empty list, if the manifest declares none)
 */
GList *
rb_bundle_list_api_messages (RbBundle *self)
{
  GList *list = NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  for (guint i = self->messages->len; i-- > 0;)
    list = g_list_prepend (list, rb_bundle_message_ref (g_ptr_array_index (self->messages, i)));
  return list;
}

/* A new reference to the first message with @type_tag or, when that is
 * NULL, with @message_id; NULL if there is none. */
static RbBundleMessage *
find_message (RbBundle     *self,
              const char   *type_tag,
              gint64        message_id)
{
  for (guint i = 0; i < self->messages->len; i++)
    {
      RbBundleMessage *message = g_ptr_array_index (self->messages, i);

      if (type_tag != NULL ? g_strcmp0 (rb_bundle_message_get_type_tag (message), type_tag) == 0
                           : rb_bundle_message_get_message_id (message) == message_id)
        return rb_bundle_message_ref (message);
    }
  return NULL;
}

/**
 * rb_bundle_lookup_api_message:
 * @self: a #RbBundle
 * @type_tag: a type tag
 *
 * Finds the message the plugin declares for @type_tag.
 *
 * Returns: (transfer full) (nullable): the first message with that type
 *   tag, or %NULL if the manifest declares none
 */
RbBundleMessage *
rb_bundle_lookup_api_message (RbBundle   *self,
                              const char *type_tag)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (type_tag != NULL, NULL);
  return find_message (self, type_tag, -1);
}

/**
 * rb_bundle_lookup_api_message_by_id:
 * @self: a #RbBundle
 * @message_id: the id of a binary message
 *
 * Finds the message the plugin declares with @message_id, the id that
 * [method@RustBridge.Plugin.call_raw] takes.
 *
 * Returns: (transfer full) (nullable): the first message with that id,
 *   or %NULL if the manifest declares none
 */
RbBundleMessage *
rb_bundle_lookup_api_message_by_id (RbBundle *self,
                                    guint32   message_id)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return find_message (self, NULL, message_id);
}

/**
 * rb_bundle_get_api_transports:
 * @self: a #RbBundle
 *
 * Gets the transports the plugin declares (`api.transports`: `json`,
 * `cstruct`).
 *
 * Returns: (transfer full): the transports, in manifest order (empty if
 *   the manifest declares none)
 */
GStrv
rb_bundle_get_api_transports (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return g_strdupv (self->transports);
}

/**
 * rb_bundle_get_sbom_path:
 * @self: a #RbBundle
 * @format: `cyclonedx` or `spdx`
 *
 * Gets the path inside the archive of an SBOM file.
 *
 * Returns: (nullable): the entry name, or %NULL if the bundle has none
 */
const char *
rb_bundle_get_sbom_path (RbBundle   *self,
                         const char *format)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (format != NULL, NULL);
  return member_string (member_object (root (self), "sbom"), format);
}

static const char *
git_string (RbBundle   *self,
            const char *name)
{
  return member_string (member_object (member_object (root (self), "build_info"), "git"), name);
}

/**
 * rb_bundle_get_git_branch:
 * @self: a #RbBundle
 *
 * Gets `build_info.git.branch`.
 *
 * Returns: (nullable): the branch the plugin was built from
 */
const char *
rb_bundle_get_git_branch (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return git_string (self, "branch");
}

/**
 * rb_bundle_get_git_tag:
 * @self: a #RbBundle
 *
 * Gets `build_info.git.tag`.
 *
 * Returns: (nullable): the tag of the commit the plugin was built from
 */
const char *
rb_bundle_get_git_tag (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return git_string (self, "tag");
}

/**
 * rb_bundle_get_git_dirty:
 * @self: a #RbBundle
 *
 * Gets `build_info.git.dirty`: whether the plugin was built from a tree
 * with uncommitted changes.
 *
 * Returns: %TRUE only if the manifest says `true`
 */
gboolean
rb_bundle_get_git_dirty (RbBundle *self)
{
  JsonObject *git;
  JsonNode *dirty;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), FALSE);

  git = member_object (member_object (root (self), "build_info"), "git");
  dirty = git != NULL ? json_object_get_member (git, "dirty") : NULL;
  return dirty != NULL && json_node_get_value_type (dirty) == G_TYPE_BOOLEAN && json_node_get_boolean (dirty);
}

/**
 * rb_bundle_get_built_at:
 * @self: a #RbBundle
 *
 * Gets `build_info.built_at` as a date and time. A time without a time
 * zone is taken as UTC.
 *
 * Returns: (transfer full) (nullable): when the plugin was built, or
 *   %NULL if the manifest does not say or the text is not ISO 8601
 */
GDateTime *
rb_bundle_get_built_at (RbBundle *self)
{
  g_autoptr(GTimeZone) utc = NULL;
  const char *text;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  text = member_string (member_object (root (self), "build_info"), "built_at");
  if (text == NULL)
    return NULL;
  utc = g_time_zone_new_utc ();
  return g_date_time_new_from_iso8601 (text, utc);
}

/**
 * rb_bundle_get_notices_path:
 * @self: a #RbBundle
 *
 * Gets the path inside the archive of the third-party notices
 * (`notices`); read it with [method@RustBridge.Bundle.read_file].
 *
 * Returns: (nullable): the entry name, or %NULL if the bundle has none
 */
const char *
rb_bundle_get_notices_path (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return member_string (root (self), "notices");
}

/**
 * rb_bundle_get_license_file_path:
 * @self: a #RbBundle
 *
 * Gets the path inside the archive of the licence text (`license_file`);
 * read it with [method@RustBridge.Bundle.read_file].
 *
 * Returns: (nullable): the entry name, or %NULL if the bundle has none
 */
const char *
rb_bundle_get_license_file_path (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return member_string (root (self), "license_file");
}

/**
 * rb_bundle_get_file:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:file].
 *
 * Returns: (transfer none): the bundle file
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
 *   whole `.pub` file), or %NULL to use the manifest's key
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

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
rb_bundle_finalize (GObject *object)
{
  RbBundle *self = RB_BUNDLE (object);

  g_clear_object (&self->file);
  g_free (self->public_key);
  g_clear_error (&self->init_error);
  g_free (self->path);
  g_clear_pointer (&self->archive, rb_archive_free);
  g_clear_pointer (&self->manifest_bytes, g_bytes_unref);
  g_clear_pointer (&self->manifest, json_node_unref);
  g_strfreev (self->authors);
  g_strfreev (self->transports);
  g_clear_pointer (&self->messages, g_ptr_array_unref);

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
    /* Read straight from the manifest: a bundle that is not open has
     * empty properties, not a programming error (unlike its methods). */
    case PROP_NAME: g_value_set_string (value, plugin_string (self, "name")); break;
    case PROP_VERSION: g_value_set_string (value, plugin_string (self, "version")); break;
    case PROP_DESCRIPTION: g_value_set_string (value, plugin_string (self, "description")); break;
    case PROP_LICENSE: g_value_set_string (value, plugin_string (self, "license")); break;
    case PROP_REPOSITORY: g_value_set_string (value, plugin_string (self, "repository")); break;
    case PROP_AUTHORS: g_value_set_boxed (value, self->opened ? self->authors : NULL); break;
    case PROP_BUNDLE_VERSION: g_value_set_string (value, member_string (root (self), "bundle_version")); break;
    case PROP_MAX_MANIFEST_SIZE: g_value_set_uint64 (value, self->max_manifest_size); break;
    case PROP_MAX_LIBRARY_SIZE: g_value_set_uint64 (value, self->max_library_size); break;
    case PROP_MAX_TOTAL_SIZE: g_value_set_uint64 (value, self->max_total_size); break;
    case PROP_MAX_ENTRIES: g_value_set_uint (value, self->max_entries); break;
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
    case PROP_MAX_MANIFEST_SIZE: self->max_manifest_size = g_value_get_uint64 (value); break;
    case PROP_MAX_LIBRARY_SIZE: self->max_library_size = g_value_get_uint64 (value); break;
    case PROP_MAX_TOTAL_SIZE: self->max_total_size = g_value_get_uint64 (value); break;
    case PROP_MAX_ENTRIES: self->max_entries = g_value_get_uint (value); break;
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
   * The `.rbp` file.
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
   * The minisign public key to trust (base64 line or `.pub` file text);
   * replaces the manifest's key. %NULL uses the manifest's key.
   */
  properties[PROP_PUBLIC_KEY] =
    g_param_spec_string ("public-key", NULL, NULL, NULL,
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

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rb_bundle_init (RbBundle *self)
{
  self->verify_mode = RB_VERIFY_MODE_STRICT;
  self->max_manifest_size = DEFAULT_MAX_MANIFEST_SIZE;
  self->max_library_size = DEFAULT_MAX_LIBRARY_SIZE;
  self->max_total_size = DEFAULT_MAX_TOTAL_SIZE;
  self->max_entries = DEFAULT_MAX_ENTRIES;
  self->authors = g_new0 (char *, 1);
  self->transports = g_new0 (char *, 1);
  self->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) rb_bundle_message_unref);
}
