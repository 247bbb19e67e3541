/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "rb-bundle-private.h"
#include "rb-json-private.h"
#include "rb-manifest-private.h"

/* RbBundle's typed accessors of the manifest (rb-bundle.c has the rest of
 * RbBundle): each reads the RbManifest that opening the bundle validated. */

/* ------------------------------------------------------------------ */
/* Manifest accessors                                                  */

/**
 * rb_bundle_dup_manifest_json:
 * @self: a #RbBundle
 *
 * Gets the manifest exactly as stored in the bundle: the way to read what
 * no typed accessor gives.
 *
 * Returns: (transfer full): the text of `manifest.json`
 */
char *
rb_bundle_dup_manifest_json (RbBundle *self)
{
  const char *data;
  gsize size;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  data = g_bytes_get_data (rb_manifest_get_bytes (self->manifest), &size);
  return g_strndup (data, size);
}

/**
 * rb_bundle_get_manifest_json:
 * @self: a #RbBundle
 *
 * The 0.1 name of [method@RustBridge.Bundle.dup_manifest_json], kept so
 * that code written for it still builds: it also returns a new string.
 *
 * Returns: (transfer full): the text of `manifest.json`
 */
char *
rb_bundle_get_manifest_json (RbBundle *self)
{
  return rb_bundle_dup_manifest_json (self);
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
  return rb_manifest_get_plugin_string (self->manifest, "name");
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
  return rb_manifest_get_plugin_string (self->manifest, "version");
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
  return rb_manifest_get_plugin_string (self->manifest, "description");
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
  return rb_manifest_get_plugin_string (self->manifest, "license");
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
  return rb_manifest_get_plugin_string (self->manifest, "repository");
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
  return rb_manifest_get_authors (self->manifest);
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
  return rb_manifest_get_string (self->manifest, "bundle_version");
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
  return rb_manifest_get_string (self->manifest, "public_key");
}

/**
 * rb_bundle_get_min_rustbridge_version:
 * @self: a #RbBundle
 *
 * Gets `api.min_rustbridge_version`, which only bundles made before
 * rustbridge 0.7 have. It is informational: loading checks
 * `build_info.rustbridge_version` instead.
 *
 * Returns: (nullable): the minimum rustbridge version the plugin needs
 */
const char *
rb_bundle_get_min_rustbridge_version (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return rb_manifest_get_min_rustbridge_version (self->manifest);
}

/**
 * rb_bundle_get_build_info_string:
 * @self: a #RbBundle
 * @key: a string member of `build_info` (`built_by`, `host`, `compiler`,
 *   `rustbridge_version`), or of its `custom` object when prefixed with
 *   `custom.`
 *
 * Gets one string of the build information. The members that are not
 * plain strings have their own typed accessors:
 * [method@RustBridge.Bundle.dup_built_at] and the `get_git_*` methods.
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

  info = rb_manifest_get_build_info (self->manifest);
  if (g_str_has_prefix (key, "custom."))
    return rb_json_object_get_string (rb_json_object_get_object (info, "custom"), key + strlen ("custom."));
  return rb_json_object_get_string (info, key);
}

static JsonObject *
build_info_git (RbBundle *self)
{
  return rb_json_object_get_object (rb_manifest_get_build_info (self->manifest), "git");
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
  return rb_json_object_get_string (build_info_git (self), "commit");
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
  return rb_json_object_get_string (build_info_git (self), "branch");
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
  return rb_json_object_get_string (build_info_git (self), "tag");
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
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), FALSE);
  return rb_json_object_get_boolean (build_info_git (self), "dirty", FALSE);
}

/**
 * rb_bundle_dup_built_at:
 * @self: a #RbBundle
 *
 * Gets `build_info.built_at` as a date and time. A time without a time
 * zone is taken as UTC.
 *
 * Returns: (transfer full) (nullable): when the plugin was built, or
 *   %NULL if the manifest does not say or the text is not ISO 8601
 */
GDateTime *
rb_bundle_dup_built_at (RbBundle *self)
{
  g_autoptr(GTimeZone) utc = NULL;
  const char *text;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  text = rb_json_object_get_string (rb_manifest_get_build_info (self->manifest), "built_at");
  if (text == NULL)
    return NULL;
  utc = g_time_zone_new_utc ();
  return g_date_time_new_from_iso8601 (text, utc);
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
  GPtrArray *messages;
  GList *list = NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  messages = rb_manifest_get_messages (self->manifest);
  for (guint i = messages->len; i-- > 0;)
    list = g_list_prepend (list, rb_bundle_message_ref (g_ptr_array_index (messages, i)));
  return list;
}

/* A new reference to the first message with @type_tag or, when that is
 * NULL, with @message_id; NULL if there is none. */
static RbBundleMessage *
find_message (RbBundle     *self,
              const char   *type_tag,
              gint64        message_id)
{
  GPtrArray *messages = rb_manifest_get_messages (self->manifest);

  for (guint i = 0; i < messages->len; i++)
    {
      RbBundleMessage *message = g_ptr_array_index (messages, i);

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
 * Returns: (transfer none) (array zero-terminated=1): the transports, in
 *   manifest order (empty if the manifest declares none)
 */
const char * const *
rb_bundle_get_api_transports (RbBundle *self)
{
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  return rb_manifest_get_transports (self->manifest);
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
  return rb_manifest_get_sbom_path (self->manifest, format);
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
  return rb_manifest_get_string (self->manifest, "notices");
}

/* ------------------------------------------------------------------ */
/* Per-variant metadata (format 1.1)                                   */

/* @node as JSON text, or NULL (no error) when it is absent or null. */
static char *
node_to_json (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return rb_json_to_string (node);
}

/**
 * rb_bundle_dup_variant_json:
 * @self: a #RbBundle
 * @platform: (nullable): a platform key, or %NULL for the current platform
 * @variant: (nullable): a variant, or %NULL for the platform's default one
 * @error: return location for a #GError
 *
 * Gets a variant's entry of the manifest as JSON text: `library`,
 * `checksum`, the free-form `build`, the members format 1.1 added
 * (`build_info`, `sbom`, `schema_checksum`, `schemas`) and any member a
 * newer writer added, as stored. For a platform in the older
 * single-variant form, the `release` variant's entry is the platform's.
 *
 * Returns: (transfer full): a JSON object, or %NULL with @error set
 *   (%RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM, %RB_BUNDLE_ERROR_VARIANT_NOT_FOUND)
 */
char *
rb_bundle_dup_variant_json (RbBundle    *self,
                            const char  *platform,
                            const char  *variant,
                            GError     **error)
{
  JsonObject *entry;
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = rb_manifest_lookup_variant (self->manifest, platform, variant, error);
  if (entry == NULL)
    return NULL;
  node = json_node_init_object (json_node_alloc (), entry);
  return rb_json_to_string (node);
}

/**
 * rb_bundle_dup_variant_build_json:
 * @self: a #RbBundle
 * @platform: (nullable): a platform key, or %NULL for the current platform
 * @variant: (nullable): a variant, or %NULL for the platform's default one
 * @error: return location for a #GError
 *
 * Gets a variant's own `build` member as JSON text: the settings it was
 * built with (the upstream tools write an object such as
 * `{"profile": "release", "opt_level": "3", "features": []}`; its content
 * is free-form and not checked).
 *
 * Returns: (transfer full) (nullable): the JSON value, %NULL without
 *   @error set if the variant has no `build`, or %NULL with @error set
 *   (%RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM, %RB_BUNDLE_ERROR_VARIANT_NOT_FOUND)
 */
char *
rb_bundle_dup_variant_build_json (RbBundle    *self,
                                  const char  *platform,
                                  const char  *variant,
                                  GError     **error)
{
  JsonObject *entry;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = rb_manifest_lookup_variant (self->manifest, platform, variant, error);
  if (entry == NULL)
    return NULL;
  return node_to_json (json_object_get_member (entry, "build"));
}

/**
 * rb_bundle_dup_variant_build_info_json:
 * @self: a #RbBundle
 * @platform: (nullable): a platform key, or %NULL for the current platform
 * @variant: (nullable): a variant, or %NULL for the platform's default one
 * @error: return location for a #GError
 *
 * Gets the build information that applies to a variant, as JSON text: the
 * variant's own `build_info` (format 1.1, a bundle merged from several
 * builds), else the manifest's top-level `build_info`. Its
 * `rustbridge_version` is the one checked before the variant's library
 * is loaded. The typed `get_build_info_string`, `get_git_*` and
 * `dup_built_at` methods read the top-level one only.
 *
 * Returns: (transfer full) (nullable): a JSON object, %NULL without
 *   @error set if neither exists, or %NULL with @error set
 *   (%RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM, %RB_BUNDLE_ERROR_VARIANT_NOT_FOUND)
 */
char *
rb_bundle_dup_variant_build_info_json (RbBundle    *self,
                                       const char  *platform,
                                       const char  *variant,
                                       GError     **error)
{
  JsonObject *entry, *info;
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = rb_manifest_lookup_variant (self->manifest, platform, variant, error);
  if (entry == NULL)
    return NULL;
  info = rb_manifest_variant_build_info (self->manifest, entry);
  if (info == NULL)
    return NULL;
  node = json_node_init_object (json_node_alloc (), info);
  return rb_json_to_string (node);
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
  return rb_manifest_get_string (self->manifest, "license_file");
}
