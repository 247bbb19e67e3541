/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "rb-archive-private.h"
#include "rb-bundle-message-private.h"
#include "rb-error.h"
#include "rb-json-private.h"
#include "rb-manifest-private.h"
#include "rb-names-private.h"

struct _RbManifest {
  char        *path;           /* the bundle's, for messages: escaped */
  GBytes      *bytes;
  JsonNode    *node;           /* the root, an object */
  JsonObject  *root;
  char       **authors;
  char       **transports;     /* api.transports */
  GPtrArray   *messages;       /* RbBundleMessage, api.messages in order */
  gint         newer_logged;   /* atomic: a newer framework was reported */
  char        *unsupported;    /* another format version: why (see rb_manifest_new_unsupported()) */
};

/* ------------------------------------------------------------------ */
/* Validation                                                          */

/* Optional member: absent or null is fine, anything else must be @type. */
static gboolean
check_optional (JsonObject  *object,
                const char  *where,
                const char  *name,
                JsonNodeType type,
                GError     **error)
{
  JsonNode *node = rb_json_object_get_present (object, name);

  if (node == NULL)
    return TRUE;
  if (JSON_NODE_TYPE (node) != type ||
      (type == JSON_NODE_VALUE && json_node_get_value_type (node) != G_TYPE_STRING))
    return rb_json_manifest_error (error, "“%s%s” must be %s", where, name,
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
            return rb_json_manifest_error (error, "“%s%s” must hold strings only", where, name);
          g_strv_builder_add (builder, json_node_get_string (element));
        }
    }
  g_strfreev (*out);
  *out = g_strv_builder_end (builder);
  return TRUE;
}

/* `api`: its types are checked, and its messages built, at open. */
static gboolean
validate_api (RbManifest  *self,
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

/* Lowercase ASCII letters, digits and hyphens, starting and ending with a
 * letter or a digit (as upstream's validator). */
static gboolean
variant_name_is_valid (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || name[0] == '-' || name[len - 1] == '-')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-'))
      return FALSE;
  return TRUE;
}

/* An optional path of a file in the archive: a string and a safe entry
 * name (the upstream tools always write docs/NOTICES.txt and
 * legal/LICENSE; any safe path is accepted). */
static gboolean
check_optional_path (JsonObject  *object,
                     const char  *where,
                     const char  *name,
                     GError     **error)
{
  const char *path = rb_json_object_get_string (object, name);

  if (!check_optional (object, where, name, JSON_NODE_VALUE, error))
    return FALSE;
  if (path != NULL && !rb_archive_name_is_safe (path))
    {
      g_autofree char *shown = rb_names_shown (path);
      return rb_json_manifest_error (error, "“%s%s” is not a safe path in the archive: “%s”", where, name, shown);
    }
  return TRUE;
}

/* `build_info` (top-level, or a 1.1 variant's): the members something
 * reads must have their types. `git.commit` is optional although
 * upstream's writer requires it: a git object without one reads as
 * no commit. */
static gboolean
validate_build_info (JsonObject  *info,
                     const char  *where,
                     GError     **error)
{
  g_autofree char *git_where = g_strconcat (where, "git.", NULL);

  if (info == NULL)
    return TRUE;
  return check_optional (info, where, "rustbridge_version", JSON_NODE_VALUE, error) &&
         check_optional (info, where, "git", JSON_NODE_OBJECT, error) &&
         check_optional (rb_json_object_get_object (info, "git"), git_where, "commit", JSON_NODE_VALUE, error);
}

/* `schemas` (top-level, or a 1.1 variant's): every entry an object with a
 * safe `path`; `format` (any string: writers differ) and `checksum` are
 * checked when present. A schema without a checksum is listed but cannot
 * be read (rb_bundle_read_schema() refuses it). */
static gboolean
validate_schemas (JsonObject  *schemas,
                  const char  *where,
                  GError     **error)
{
  g_autoptr(GList) names = schemas ? json_object_get_members (schemas) : NULL;

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *schema = rb_json_object_get_object (schemas, l->data);
      const char *path = rb_json_object_get_string (schema, "path");
      const char *checksum = rb_json_object_get_string (schema, "checksum");
      g_autofree char *shown = rb_names_shown (l->data);
      g_autofree char *member = g_strdup_printf ("%s%s.", where, shown);

      if (schema == NULL || path == NULL || !rb_archive_name_is_safe (path))
        return rb_json_manifest_error (error, "schema “%s” needs a safe “path”", shown);
      if (!check_optional (schema, member, "format", JSON_NODE_VALUE, error) ||
          !check_optional (schema, member, "checksum", JSON_NODE_VALUE, error))
        return FALSE;
      if (checksum != NULL && !checksum_is_valid (checksum))
        return rb_json_manifest_error (error, "schema “%s” has an invalid checksum", shown);
    }
  return TRUE;
}

/* The members format 1.1 adds to a variant. */
static gboolean
validate_variant_metadata (JsonObject  *variant,
                           const char  *platform,
                           const char  *shown_name,
                           GError     **error)
{
  g_autofree char *where = g_strdup_printf ("platforms.%s.variants.%s.", platform, shown_name);
  g_autofree char *build_info_where = g_strconcat (where, "build_info.", NULL);
  g_autofree char *schemas_where = g_strconcat (where, "schemas.", NULL);

  /* `build` is free-form (the tools write an object): not checked. */
  return check_optional (variant, where, "build_info", JSON_NODE_OBJECT, error) &&
         check_optional (variant, where, "sbom", JSON_NODE_OBJECT, error) &&
         check_optional (variant, where, "schema_checksum", JSON_NODE_VALUE, error) &&
         check_optional (variant, where, "schemas", JSON_NODE_OBJECT, error) &&
         validate_build_info (rb_json_object_get_object (variant, "build_info"), build_info_where, error) &&
         validate_schemas (rb_json_object_get_object (variant, "schemas"), schemas_where, error);
}

static gboolean
validate_variant (JsonObject  *variant,
                  const char  *platform,
                  const char  *name,
                  GError     **error)
{
  const char *library = rb_json_object_get_string (variant, "library");
  const char *checksum = rb_json_object_get_string (variant, "checksum");
  /* Names from the manifest are escaped for messages; @platform already is. */
  g_autofree char *shown_name = rb_names_shown (name);

  if (!variant_name_is_valid (name))
    return rb_json_manifest_error (error, "variant name “%s” of platform “%s” is not lowercase letters, digits and "
                                   "hyphens starting and ending with a letter or a digit",
                                   shown_name, platform);
  if (library == NULL)
    return rb_json_manifest_error (error, "variant “%s” of platform “%s” has no “library” string", shown_name, platform);
  if (!rb_archive_name_is_safe (library))
    {
      g_autofree char *shown_library = rb_names_shown (library);
      return rb_json_manifest_error (error, "variant “%s” of platform “%s” has an unsafe library path “%s”",
                             shown_name, platform, shown_library);
    }
  if (checksum == NULL || !checksum_is_valid (checksum))
    return rb_json_manifest_error (error, "variant “%s” of platform “%s” has no valid “checksum” (sha256:<64 hex>)",
                           shown_name, platform);
  return validate_variant_metadata (variant, platform, shown_name, error);
}

static gboolean
validate_platform (JsonObject  *platform,
                   const char  *platform_key,
                   GError     **error)
{
  JsonObject *variants = rb_json_object_get_object (platform, "variants");
  const char *default_variant = rb_json_object_get_string (platform, "default_variant");
  g_autofree char *key = rb_names_shown (platform_key);
  g_autoptr(GList) names = NULL;

  if (!check_optional (platform, "platforms.*.", "default_variant", JSON_NODE_VALUE, error))
    return FALSE;

  if (variants == NULL)
    {
      /* Legacy single-variant form: library/checksum on the platform. */
      if (json_object_has_member (platform, "variants"))
        return rb_json_manifest_error (error, "“platforms.%s.variants” must be an object", key);
      if (rb_json_object_get_string (platform, "library") == NULL)
        return rb_json_manifest_error (error, "platform “%s” has neither “variants” nor “library”", key);
      return validate_variant (platform, key, "release", error);
    }

  names = json_object_get_members (variants);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *variant = rb_json_object_get_object (variants, l->data);
      if (variant == NULL)
        {
          g_autofree char *shown = rb_names_shown (l->data);
          return rb_json_manifest_error (error, "variant “%s” of platform “%s” must be an object", shown, key);
        }
      if (!validate_variant (variant, key, l->data, error))
        return FALSE;
    }
  if (default_variant != NULL)
    {
      if (!json_object_has_member (variants, default_variant))
        {
          g_autofree char *shown = rb_names_shown (default_variant);
          return rb_json_manifest_error (error, "platform “%s” names default variant “%s”, which it does not have",
                                 key, shown);
        }
    }
  else if (!json_object_has_member (variants, "release"))
    return rb_json_manifest_error (error, "platform “%s” has no “release” variant", key);
  return TRUE;
}

/* "MAJOR.MINOR", then nothing or ".PATCH…", "-pre…", "+build…"; an
 * optional leading "v". */
static gboolean
parse_version (const char *text,
               guint64    *major,
               guint64    *minor)
{
  const char *p = text;
  char *end = NULL;

  if (*p == 'v')
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  *major = g_ascii_strtoull (p, &end, 10);
  if (*end != '.' || !g_ascii_isdigit (end[1]))
    return FALSE;
  *minor = g_ascii_strtoull (end + 1, &end, 10);
  return *end == '\0' || *end == '.' || *end == '-' || *end == '+';
}

static gboolean
newer_than_tested (guint64 major,
                   guint64 minor)
{
  return major > RB_MANIFEST_RUSTBRIDGE_TESTED_MAJOR ||
         (major == RB_MANIFEST_RUSTBRIDGE_TESTED_MAJOR && minor > RB_MANIFEST_RUSTBRIDGE_TESTED_MINOR);
}

/* api.min_rustbridge_version (bundles from before 0.7): only reported,
 * nothing depends on it; the check that refuses is on the framework that
 * built the library (rb_manifest_check_framework()). */
static void
check_min_rustbridge_version (RbManifest *self)
{
  const char *min = rb_manifest_get_min_rustbridge_version (self);
  guint64 major = 0, minor = 0;

  if (min == NULL || !parse_version (min, &major, &minor) || !newer_than_tested (major, minor))
    return;
  {
    g_autofree char *shown = rb_names_shown (min);
    /* A MESSAGE, as every report about a bundle's content. */
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                      "MESSAGE", "Bundle “%s” asks for rustbridge %s or newer; this library knows versions up to %d.%d",
                      self->path, shown, RB_MANIFEST_RUSTBRIDGE_TESTED_MAJOR, RB_MANIFEST_RUSTBRIDGE_TESTED_MINOR);
  }
}

gboolean
rb_manifest_check_framework (RbManifest               *self,
                             const RbManifestVariant  *variant,
                             GError                  **error)
{
  const char *version = variant->rustbridge_version;
  g_autofree char *shown = NULL;
  g_autofree char *shown_variant = NULL;
  guint64 major = 0, minor = 0;

  if (version == NULL)
    return TRUE;
  shown = rb_names_shown (version);
  shown_variant = rb_names_shown (variant->name);
  if (!parse_version (version, &major, &minor))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION,
                   "Bundle “%s” (variant “%s”) was built with rustbridge “%s”, which is not a version "
                   "number; this library loads plugins built with rustbridge %d.%d to %d.x",
                   self->path, shown_variant, shown, RB_MANIFEST_RUSTBRIDGE_OLDEST_MAJOR,
                   RB_MANIFEST_RUSTBRIDGE_OLDEST_MINOR, RB_MANIFEST_RUSTBRIDGE_LAST_MAJOR);
      return FALSE;
    }
  if (major > RB_MANIFEST_RUSTBRIDGE_LAST_MAJOR ||
      (major == RB_MANIFEST_RUSTBRIDGE_OLDEST_MAJOR && minor < RB_MANIFEST_RUSTBRIDGE_OLDEST_MINOR))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION,
                   "Bundle “%s” (variant “%s”) was built with rustbridge %s, whose plugin ABI this "
                   "library does not implement (it loads plugins built with rustbridge %d.%d to %d.x)",
                   self->path, shown_variant, shown, RB_MANIFEST_RUSTBRIDGE_OLDEST_MAJOR,
                   RB_MANIFEST_RUSTBRIDGE_OLDEST_MINOR, RB_MANIFEST_RUSTBRIDGE_LAST_MAJOR);
      return FALSE;
    }
  /* Same major version, so the same ABI: loaded, and said once per bundle
   * (INFO: nothing is wrong, and a bundle must never cause a WARNING). */
  if (newer_than_tested (major, minor) && g_atomic_int_compare_and_exchange (&self->newer_logged, 0, 1))
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                      "MESSAGE", "Bundle “%s” was built with rustbridge %s, newer than any this library was "
                      "tested with (%d.%d.x); it has the same ABI and is loaded",
                      self->path, shown, RB_MANIFEST_RUSTBRIDGE_TESTED_MAJOR, RB_MANIFEST_RUSTBRIDGE_TESTED_MINOR);
  return TRUE;
}

static gboolean
bundle_version_supported (RbManifest  *self,
                          const char  *bundle_version,
                          GError     **error)
{
  g_autofree char *shown = NULL;

  if (g_ascii_strtoull (bundle_version, NULL, 10) == 1 && g_ascii_isdigit (bundle_version[0]))
    return TRUE;
  shown = rb_names_shown (bundle_version);
  g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION,
               "Bundle “%s” has format version “%s”; only 1.x is supported", self->path, shown);
  return FALSE;
}

static gboolean
validate_manifest (RbManifest  *self,
                   GError     **error)
{
  JsonObject *object = self->root;
  JsonObject *plugin, *platforms;
  const char *bundle_version;
  g_autoptr(GList) keys = NULL;

  if (object == NULL)
    return rb_json_manifest_error (error, "not a JSON object");

  bundle_version = rb_json_object_get_string (object, "bundle_version");
  if (bundle_version == NULL)
    return rb_json_manifest_error (error, "“bundle_version” is missing or not a string");
  if (!bundle_version_supported (self, bundle_version, error))
    return FALSE;

  plugin = rb_json_object_get_object (object, "plugin");
  if (plugin == NULL)
    return rb_json_manifest_error (error, "“plugin” is missing or not an object");
  if (rb_json_object_get_string (plugin, "name") == NULL || *rb_json_object_get_string (plugin, "name") == '\0')
    return rb_json_manifest_error (error, "“plugin.name” is missing or not a string");
  if (rb_json_object_get_string (plugin, "version") == NULL)
    return rb_json_manifest_error (error, "“plugin.version” is missing or not a string");
  if (!check_optional (plugin, "plugin.", "description", JSON_NODE_VALUE, error) ||
      !check_optional (plugin, "plugin.", "license", JSON_NODE_VALUE, error) ||
      !check_optional (plugin, "plugin.", "repository", JSON_NODE_VALUE, error) ||
      !string_array (plugin, "plugin.", "authors", &self->authors, error))
    return FALSE;

  platforms = rb_json_object_get_object (object, "platforms");
  if (platforms == NULL)
    return rb_json_manifest_error (error, "“platforms” is missing or not an object");
  keys = json_object_get_members (platforms);
  if (keys == NULL)
    return rb_json_manifest_error (error, "“platforms” is empty");
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonObject *platform = rb_json_object_get_object (platforms, l->data);
      if (platform == NULL)
        {
          g_autofree char *shown = rb_names_shown (l->data);
          return rb_json_manifest_error (error, "“platforms.%s” must be an object", shown);
        }
      if (!validate_platform (platform, l->data, error))
        return FALSE;
    }

  if (!check_optional (object, "", "public_key", JSON_NODE_VALUE, error) ||
      !check_optional (object, "", "build_info", JSON_NODE_OBJECT, error) ||
      !validate_build_info (rb_json_object_get_object (object, "build_info"), "build_info.", error) ||
      !check_optional (object, "", "schema_checksum", JSON_NODE_VALUE, error) ||
      /* {"jni": {platform: entry}}: Java-only libraries, never loaded
       * here, so only the shape of the member is checked. */
      !check_optional (object, "", "bridges", JSON_NODE_OBJECT, error) ||
      !check_optional (object, "", "sbom", JSON_NODE_OBJECT, error) ||
      !check_optional (object, "", "schemas", JSON_NODE_OBJECT, error) ||
      !check_optional_path (object, "", "notices", error) ||
      !check_optional_path (object, "", "license_file", error) ||
      !check_optional_path (rb_json_object_get_object (object, "sbom"), "sbom.", "cyclonedx", error) ||
      !check_optional_path (rb_json_object_get_object (object, "sbom"), "sbom.", "spdx", error) ||
      !check_optional (object, "", "api", JSON_NODE_OBJECT, error) ||
      !validate_api (self, rb_json_object_get_object (object, "api"), error))
    return FALSE;

  if (!validate_schemas (rb_json_object_get_object (object, "schemas"), "schemas.", error))
    return FALSE;

  check_min_rustbridge_version (self);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

/* A manifest object with the text @bytes, parsed, not validated yet. */
static RbManifest *
manifest_parse (GBytes      *bytes,
                const char  *shown_path,
                GError     **error)
{
  g_autoptr(RbManifest) self = g_new0 (RbManifest, 1);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  const char *data;
  gsize size;

  self->path = g_strdup (shown_path);
  self->bytes = g_bytes_ref (bytes);
  self->authors = g_new0 (char *, 1);
  self->transports = g_new0 (char *, 1);
  self->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) rb_bundle_message_unref);

  data = g_bytes_get_data (bytes, &size);
  /* Never json-glib on text nested deeper than it can take. */
  if (size == 0 || !rb_json_load_untrusted (parser, data, (gssize) size, &local_error))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Invalid manifest.json in “%s”: %s", self->path,
                   local_error ? local_error->message : "the file is empty");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Invalid manifest.json in “%s”: not a JSON object", self->path);
      return NULL;
    }
  self->node = json_node_ref (json_parser_get_root (parser));
  self->root = json_node_get_object (self->node);
  return g_steal_pointer (&self);
}

RbManifest *
rb_manifest_new (GBytes      *bytes,
                 const char  *shown_path,
                 GError     **error)
{
  g_autoptr(RbManifest) self = manifest_parse (bytes, shown_path, error);

  if (self == NULL || !validate_manifest (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

RbManifest *
rb_manifest_new_unsupported (GBytes      *bytes,
                             const char  *shown_path,
                             const char  *fallback_name,
                             GError     **error)
{
  g_autoptr(RbManifest) parsed = manifest_parse (bytes, shown_path, error);
  g_autoptr(GError) reason = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  RbManifest *self;
  JsonObject *plugin;
  const char *bundle_version, *name, *version;
  gsize len;

  if (parsed == NULL)
    return NULL;
  bundle_version = rb_json_object_get_string (parsed->root, "bundle_version");
  if (bundle_version == NULL || bundle_version_supported (parsed, bundle_version, &reason))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Invalid manifest.json in “%s”: no format version that this library does not read",
                   parsed->path);
      return NULL;
    }
  /* Only what any format version is likely to keep, checked as strings;
   * nothing else of an unknown layout is looked at. */
  plugin = rb_json_object_get_object (parsed->root, "plugin");
  name = rb_json_object_get_string (plugin, "name");
  version = rb_json_object_get_string (plugin, "version");
  if (name == NULL || *name == '\0')
    name = fallback_name;
  if (version == NULL)
    version = "";

  builder = json_builder_new_immutable ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "bundle_version");
  json_builder_add_string_value (builder, bundle_version);
  json_builder_set_member_name (builder, "plugin");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, version);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  generator = json_generator_new ();
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);

  self = g_new0 (RbManifest, 1);
  self->path = g_strdup (shown_path);
  self->bytes = g_bytes_new_take (g_steal_pointer (&text), len);
  self->node = g_steal_pointer (&root);
  self->root = json_node_get_object (self->node);
  self->authors = g_new0 (char *, 1);
  self->transports = g_new0 (char *, 1);
  self->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) rb_bundle_message_unref);
  self->unsupported = g_strdup (reason->message);
  return self;
}

void
rb_manifest_free (RbManifest *self)
{
  if (self == NULL)
    return;
  g_free (self->path);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->node, json_node_unref);
  g_strfreev (self->authors);
  g_strfreev (self->transports);
  g_clear_pointer (&self->messages, g_ptr_array_unref);
  g_free (self->unsupported);
  g_free (self);
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */

GBytes *
rb_manifest_get_bytes (RbManifest *self)
{
  return self->bytes;
}

const char *
rb_manifest_get_current_platform (void)
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

const char *
rb_manifest_get_string (RbManifest *self,
                        const char *name)
{
  return rb_json_object_get_string (self->root, name);
}

const char *
rb_manifest_get_plugin_string (RbManifest *self,
                               const char *name)
{
  return rb_json_object_get_string (rb_json_object_get_object (self->root, "plugin"), name);
}

const char * const *
rb_manifest_get_authors (RbManifest *self)
{
  return (const char * const *) self->authors;
}

const char *
rb_manifest_get_min_rustbridge_version (RbManifest *self)
{
  return rb_json_object_get_string (rb_json_object_get_object (self->root, "api"), "min_rustbridge_version");
}

const char * const *
rb_manifest_get_transports (RbManifest *self)
{
  return (const char * const *) self->transports;
}

const char *
rb_manifest_get_sbom_path (RbManifest *self,
                           const char *format)
{
  return rb_json_object_get_string (rb_json_object_get_object (self->root, "sbom"), format);
}

JsonObject *
rb_manifest_get_build_info (RbManifest *self)
{
  return rb_json_object_get_object (self->root, "build_info");
}

GPtrArray *
rb_manifest_get_messages (RbManifest *self)
{
  return self->messages;
}

/* ------------------------------------------------------------------ */
/* Platforms and variants                                              */

static JsonObject *
lookup_platform (RbManifest  *self,
                 const char  *platform,
                 GError     **error)
{
  JsonObject *entry;

  if (self->unsupported != NULL)
    {
      /* Whatever the format version has of libraries is not understood. */
      g_set_error_literal (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, self->unsupported);
      return NULL;
    }
  if (platform == NULL)
    platform = rb_manifest_get_current_platform ();
  entry = rb_json_object_get_object (rb_json_object_get_object (self->root, "platforms"), platform);
  if (entry == NULL)
    {
      g_auto(GStrv) have = rb_manifest_list_platforms (self);
      g_autofree char *list = g_strjoinv (", ", have);
      g_autofree char *shown_list = rb_names_shown (list);
      g_autofree char *shown = rb_names_shown (platform);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM,
                   "Bundle “%s” has no library for platform “%s” (it has: %s)", self->path, shown, shown_list);
    }
  return entry;
}

GStrv
rb_manifest_list_platforms (RbManifest *self)
{
  return rb_json_object_list_members (rb_json_object_get_object (self->root, "platforms"));
}

GStrv
rb_manifest_list_variants (RbManifest  *self,
                           const char  *platform,
                           GError     **error)
{
  JsonObject *entry = lookup_platform (self, platform, error);
  JsonObject *variants;

  if (entry == NULL)
    return NULL;
  variants = rb_json_object_get_object (entry, "variants");
  if (variants == NULL)
    {
      /* The legacy single-variant form. */
      const char *release[] = { "release", NULL };
      return g_strdupv ((char **) release);
    }
  return rb_json_object_list_members (variants);
}

static const char *
default_variant (JsonObject *entry)
{
  const char *name = rb_json_object_get_string (entry, "default_variant");

  return name != NULL ? name : "release";
}

char *
rb_manifest_dup_default_variant (RbManifest  *self,
                                 const char  *platform,
                                 GError     **error)
{
  JsonObject *entry = lookup_platform (self, platform, error);

  return entry != NULL ? g_strdup (default_variant (entry)) : NULL;
}

JsonObject *
rb_manifest_lookup_variant (RbManifest  *self,
                            const char  *platform,
                            const char  *variant,
                            GError     **error)
{
  JsonObject *entry = lookup_platform (self, platform, error);
  JsonObject *variants, *found;

  if (entry == NULL)
    return NULL;
  if (platform == NULL)
    platform = rb_manifest_get_current_platform ();
  if (variant == NULL)
    variant = default_variant (entry);
  variants = rb_json_object_get_object (entry, "variants");
  found = variants != NULL ? rb_json_object_get_object (variants, variant)
                           : (g_strcmp0 (variant, "release") == 0 ? entry : NULL);
  if (found == NULL)
    {
      g_autofree char *shown = rb_names_shown (variant);
      g_autofree char *shown_platform = rb_names_shown (platform);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_VARIANT_NOT_FOUND,
                   "Bundle “%s” has no variant “%s” for platform “%s”", self->path, shown, shown_platform);
    }
  return found;
}

JsonObject *
rb_manifest_variant_build_info (RbManifest *self,
                                JsonObject *entry)
{
  JsonObject *own = rb_json_object_get_object (entry, "build_info");

  return own != NULL ? own : rb_manifest_get_build_info (self);
}

RbManifestVariant *
rb_manifest_resolve_variant (RbManifest  *self,
                             const char  *variant,
                             GError     **error)
{
  JsonObject *found = rb_manifest_lookup_variant (self, NULL, variant, error);
  RbManifestVariant *resolved;

  if (found == NULL)
    return NULL;
  /* Validation made sure that both are there. */
  resolved = g_new0 (RbManifestVariant, 1);
  resolved->name = g_strdup (variant != NULL ? variant : default_variant (lookup_platform (self, NULL, NULL)));
  resolved->library = g_strdup (rb_json_object_get_string (found, "library"));
  resolved->checksum = g_strdup (rb_json_object_get_string (found, "checksum"));
  resolved->file_name = g_path_get_basename (resolved->library);
  resolved->rustbridge_version = g_strdup (rb_json_object_get_string (rb_manifest_variant_build_info (self, found),
                                                                      "rustbridge_version"));
  return resolved;
}

void
rb_manifest_variant_free (RbManifestVariant *variant)
{
  if (variant == NULL)
    return;
  g_free (variant->name);
  g_free (variant->library);
  g_free (variant->checksum);
  g_free (variant->file_name);
  g_free (variant->rustbridge_version);
  g_free (variant);
}

/* ------------------------------------------------------------------ */
/* Schemas                                                             */

GStrv
rb_manifest_list_schemas (RbManifest *self)
{
  return rb_json_object_list_members (rb_json_object_get_object (self->root, "schemas"));
}

gboolean
rb_manifest_lookup_schema (RbManifest   *self,
                           const char   *name,
                           const char  **path,
                           const char  **checksum,
                           GError      **error)
{
  JsonObject *schema = rb_json_object_get_object (rb_json_object_get_object (self->root, "schemas"), name);

  if (schema == NULL)
    {
      g_autofree char *shown = rb_names_shown (name);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                   "Bundle “%s” declares no schema “%s”", self->path, shown);
      return FALSE;
    }
  *path = rb_json_object_get_string (schema, "path");
  *checksum = rb_json_object_get_string (schema, "checksum");
  return TRUE;
}
