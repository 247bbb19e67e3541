/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(RUSTBRIDGE_GLIB_INSIDE) && !defined(RUSTBRIDGE_GLIB_COMPILATION)
#error "Only <rustbridge-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "rb-bundle.h"
#include "rb-plugin.h"
#include "rb-plugin-config.h"
#include "rb-types.h"
#include "rb-version-macros.h"

G_BEGIN_DECLS

#define RB_TYPE_REGISTRY (rb_registry_get_type ())

RB_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (RbRegistry, rb_registry, RB, REGISTRY, GObject)

RB_AVAILABLE_IN_1_0
RbRegistry   *rb_registry_new                   (const char          *app_id) G_GNUC_WARN_UNUSED_RESULT;

RB_AVAILABLE_IN_1_0
const char   *rb_registry_get_app_id            (RbRegistry          *self);
RB_AVAILABLE_IN_1_0
void          rb_registry_add_search_path       (RbRegistry          *self,
                                                 const char          *path);
RB_AVAILABLE_IN_1_0
GStrv         rb_registry_dup_search_paths      (RbRegistry          *self) G_GNUC_WARN_UNUSED_RESULT;

RB_AVAILABLE_IN_1_0
RbVerifyMode  rb_registry_get_verify_mode       (RbRegistry          *self);
RB_AVAILABLE_IN_1_0
void          rb_registry_set_verify_mode       (RbRegistry          *self,
                                                 RbVerifyMode         mode);
RB_AVAILABLE_IN_1_0
const char   *rb_registry_get_trusted_keys_dir  (RbRegistry          *self);
RB_AVAILABLE_IN_1_0
void          rb_registry_set_trusted_keys_dir  (RbRegistry          *self,
                                                 const char          *dir);
RB_AVAILABLE_IN_1_0
gboolean      rb_registry_get_watch             (RbRegistry          *self);
RB_AVAILABLE_IN_1_0
void          rb_registry_set_watch             (RbRegistry          *self,
                                                 gboolean             watch);

/* Scanning */
RB_AVAILABLE_IN_1_0
gboolean      rb_registry_rescan                (RbRegistry          *self,
                                                 GCancellable        *cancellable,
                                                 GError              **error);
RB_AVAILABLE_IN_1_0
void          rb_registry_rescan_async          (RbRegistry          *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
gboolean      rb_registry_rescan_finish         (RbRegistry          *self,
                                                 GAsyncResult        *result,
                                                 GError              **error);
RB_AVAILABLE_IN_1_0
RbBundle     *rb_registry_lookup_bundle         (RbRegistry          *self,
                                                 const char          *name);

/* Enabled and loaded plugins */
RB_AVAILABLE_IN_1_0
GStrv         rb_registry_dup_enabled_plugins   (RbRegistry          *self) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
void          rb_registry_set_enabled_plugins   (RbRegistry          *self,
                                                 const char * const  *names);
RB_AVAILABLE_IN_1_0
GStrv         rb_registry_dup_loaded_plugins    (RbRegistry          *self) G_GNUC_WARN_UNUSED_RESULT;

RB_AVAILABLE_IN_1_0
RbPlugin     *rb_registry_load_plugin           (RbRegistry          *self,
                                                 const char          *name,
                                                 RbPluginConfig      *config,
                                                 GCancellable        *cancellable,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
void          rb_registry_load_plugin_async     (RbRegistry          *self,
                                                 const char          *name,
                                                 RbPluginConfig      *config,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
RbPlugin     *rb_registry_load_plugin_finish    (RbRegistry          *self,
                                                 GAsyncResult        *result,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
RbPlugin     *rb_registry_get_plugin            (RbRegistry          *self,
                                                 const char          *name);
RB_AVAILABLE_IN_1_0
gboolean      rb_registry_unload_plugin         (RbRegistry          *self,
                                                 const char          *name,
                                                 GCancellable        *cancellable,
                                                 GError              **error);
RB_AVAILABLE_IN_1_0
void          rb_registry_unload_plugin_async   (RbRegistry          *self,
                                                 const char          *name,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
gboolean      rb_registry_unload_plugin_finish  (RbRegistry          *self,
                                                 GAsyncResult        *result,
                                                 GError              **error);

G_END_DECLS
