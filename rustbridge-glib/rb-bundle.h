/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(RUSTBRIDGE_GLIB_INSIDE) && !defined(RUSTBRIDGE_GLIB_COMPILATION)
#error "Only <rustbridge-glib.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "rb-bundle-message.h"
#include "rb-plugin.h"
#include "rb-plugin-config.h"
#include "rb-types.h"
#include "rb-version-macros.h"

G_BEGIN_DECLS

#define RB_TYPE_BUNDLE (rb_bundle_get_type ())

RB_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (RbBundle, rb_bundle, RB, BUNDLE, GObject)

/* Opening */
RB_AVAILABLE_IN_1_0
RbBundle     *rb_bundle_new_for_path            (const char          *path,
                                                 GCancellable        *cancellable,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
RbBundle     *rb_bundle_new_for_file            (GFile               *file,
                                                 GCancellable        *cancellable,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
RbBundle     *rb_bundle_new_for_bytes           (GBytes              *bytes,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
RbBundle     *rb_bundle_new_for_resource        (const char          *resource_path,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
GFile        *rb_bundle_get_file                (RbBundle            *self);

/* Trust */
RB_AVAILABLE_IN_1_0
RbVerifyMode  rb_bundle_get_verify_mode         (RbBundle            *self);
RB_AVAILABLE_IN_1_0
void          rb_bundle_set_verify_mode         (RbBundle            *self,
                                                 RbVerifyMode         mode);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_public_key          (RbBundle            *self);
RB_AVAILABLE_IN_1_0
void          rb_bundle_set_public_key          (RbBundle            *self,
                                                 const char          *public_key);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_trusted_keys_dir    (RbBundle            *self);
RB_AVAILABLE_IN_1_0
void          rb_bundle_set_trusted_keys_dir    (RbBundle            *self,
                                                 const char          *dir);
RB_AVAILABLE_IN_1_0
gboolean      rb_bundle_get_trust_embedded_key  (RbBundle            *self);
RB_AVAILABLE_IN_1_0
void          rb_bundle_set_trust_embedded_key  (RbBundle            *self,
                                                 gboolean             trust);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_manifest_public_key (RbBundle            *self);

/* The plugin */
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_name                (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_version             (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_description         (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_license             (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_repository          (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char * const *rb_bundle_get_authors             (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_bundle_version      (RbBundle            *self);
RB_AVAILABLE_IN_1_0
char         *rb_bundle_dup_manifest_json       (RbBundle            *self) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
char         *rb_bundle_get_manifest_json       (RbBundle            *self) G_GNUC_WARN_UNUSED_RESULT;

/* Build information */
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_build_info_string   (RbBundle            *self,
                                                 const char          *key);
RB_AVAILABLE_IN_1_0
GDateTime    *rb_bundle_dup_built_at            (RbBundle            *self) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_git_commit          (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_git_branch          (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_git_tag             (RbBundle            *self);
RB_AVAILABLE_IN_1_0
gboolean      rb_bundle_get_git_dirty           (RbBundle            *self);

/* The API the plugin declares */
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_min_rustbridge_version (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char * const *rb_bundle_get_api_transports      (RbBundle            *self);
RB_AVAILABLE_IN_1_0
GList        *rb_bundle_list_api_messages       (RbBundle            *self) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
RbBundleMessage *rb_bundle_lookup_api_message      (RbBundle            *self,
                                                    const char          *type_tag) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
RbBundleMessage *rb_bundle_lookup_api_message_by_id (RbBundle            *self,
                                                     guint32              message_id) G_GNUC_WARN_UNUSED_RESULT;

/* Platforms and variants */
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_current_platform    (void);
RB_AVAILABLE_IN_1_0
GStrv         rb_bundle_list_platforms          (RbBundle            *self) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
GStrv         rb_bundle_list_variants           (RbBundle            *self,
                                                 const char          *platform,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
char         *rb_bundle_dup_default_variant     (RbBundle            *self,
                                                 const char          *platform,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
char         *rb_bundle_get_default_variant     (RbBundle            *self,
                                                 const char          *platform,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
char         *rb_bundle_dup_library_path        (RbBundle            *self,
                                                 const char          *variant,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
char         *rb_bundle_dup_variant_json        (RbBundle            *self,
                                                 const char          *platform,
                                                 const char          *variant,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
char         *rb_bundle_dup_variant_build_json  (RbBundle            *self,
                                                 const char          *platform,
                                                 const char          *variant,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
char         *rb_bundle_dup_variant_build_info_json (RbBundle        *self,
                                                     const char      *platform,
                                                     const char      *variant,
                                                     GError          **error) G_GNUC_WARN_UNUSED_RESULT;

/* Verifying and loading the library */
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_extraction_dir      (RbBundle            *self);
RB_AVAILABLE_IN_1_0
void          rb_bundle_set_extraction_dir      (RbBundle            *self,
                                                 const char          *dir);
RB_AVAILABLE_IN_1_0
gboolean      rb_bundle_verify                  (RbBundle            *self,
                                                 const char          *variant,
                                                 GCancellable        *cancellable,
                                                 GError              **error);
RB_AVAILABLE_IN_1_0
GFile        *rb_bundle_extract_library         (RbBundle            *self,
                                                 const char          *variant,
                                                 GFile               *dest_dir,
                                                 GCancellable        *cancellable,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
RbPlugin     *rb_bundle_load_plugin             (RbBundle            *self,
                                                 const char          *variant,
                                                 RbPluginConfig      *config,
                                                 GCancellable        *cancellable,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
void          rb_bundle_load_plugin_async       (RbBundle            *self,
                                                 const char          *variant,
                                                 RbPluginConfig      *config,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
RbPlugin     *rb_bundle_load_plugin_finish      (RbBundle            *self,
                                                 GAsyncResult        *result,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;

/* Schemas and other files */
RB_AVAILABLE_IN_1_0
GStrv         rb_bundle_list_schemas            (RbBundle            *self) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
GBytes       *rb_bundle_read_schema             (RbBundle            *self,
                                                 const char          *name,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
GFile        *rb_bundle_extract_schema          (RbBundle            *self,
                                                 const char          *name,
                                                 GFile               *dest_dir,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
GStrv         rb_bundle_list_files              (RbBundle            *self) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
GBytes       *rb_bundle_read_file               (RbBundle            *self,
                                                 const char          *name,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_sbom_path           (RbBundle            *self,
                                                 const char          *format);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_notices_path        (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const char   *rb_bundle_get_license_file_path   (RbBundle            *self);

/* Availability (rb-bundle-availability.c) */
RB_AVAILABLE_IN_1_0
gboolean      rb_bundle_get_available           (RbBundle            *self);
RB_AVAILABLE_IN_1_0
const GError *rb_bundle_get_unavailable_reason  (RbBundle            *self);

G_END_DECLS
