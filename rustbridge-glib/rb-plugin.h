/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(RUSTBRIDGE_GLIB_INSIDE) && !defined(RUSTBRIDGE_GLIB_COMPILATION)
#error "Only <rustbridge-glib.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "rb-plugin-config.h"
#include "rb-types.h"
#include "rb-version-macros.h"

G_BEGIN_DECLS

#define RB_TYPE_PLUGIN (rb_plugin_get_type ())

RB_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (RbPlugin, rb_plugin, RB, PLUGIN, GObject)

/* RbBundle (rb-bundle.h, which includes this header): rb_plugin_reload(). */
typedef struct _RbBundle RbBundle;

RB_AVAILABLE_IN_1_0
RbPlugin        *rb_plugin_new                  (const char          *path,
                                                 RbPluginConfig      *config,
                                                 GCancellable        *cancellable,
                                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
void             rb_plugin_new_async            (const char          *path,
                                                 RbPluginConfig      *config,
                                                 int                  io_priority,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
RbPlugin        *rb_plugin_new_finish           (GAsyncResult        *result,
                                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;

RB_AVAILABLE_IN_1_0
char            *rb_plugin_call                 (RbPlugin            *self,
                                                 const char          *type_tag,
                                                 const char          *request_json,
                                                 GCancellable        *cancellable,
                                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
void             rb_plugin_call_async           (RbPlugin            *self,
                                                 const char          *type_tag,
                                                 const char          *request_json,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
char            *rb_plugin_call_finish          (RbPlugin            *self,
                                                 GAsyncResult        *result,
                                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;

RB_AVAILABLE_IN_1_0
JsonNode        *rb_plugin_call_json            (RbPlugin            *self,
                                                 const char          *type_tag,
                                                 JsonNode            *request,
                                                 GCancellable        *cancellable,
                                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
void             rb_plugin_call_json_async      (RbPlugin            *self,
                                                 const char          *type_tag,
                                                 JsonNode            *request,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
JsonNode        *rb_plugin_call_json_finish     (RbPlugin            *self,
                                                 GAsyncResult        *result,
                                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;

RB_AVAILABLE_IN_1_0
GBytes          *rb_plugin_call_raw             (RbPlugin            *self,
                                                 guint32              message_id,
                                                 GBytes              *request,
                                                 GCancellable        *cancellable,
                                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
void             rb_plugin_call_raw_async       (RbPlugin            *self,
                                                 guint32              message_id,
                                                 GBytes              *request,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
GBytes          *rb_plugin_call_raw_finish      (RbPlugin            *self,
                                                 GAsyncResult        *result,
                                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;

RB_AVAILABLE_IN_1_0
gboolean         rb_plugin_shutdown             (RbPlugin            *self,
                                                 GCancellable        *cancellable,
                                                 GError             **error);
RB_AVAILABLE_IN_1_0
void             rb_plugin_shutdown_async       (RbPlugin            *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
gboolean         rb_plugin_shutdown_finish      (RbPlugin            *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

RB_AVAILABLE_IN_1_0
gboolean         rb_plugin_restart              (RbPlugin            *self,
                                                 GCancellable        *cancellable,
                                                 GError             **error);
RB_AVAILABLE_IN_1_0
void             rb_plugin_restart_async        (RbPlugin            *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
gboolean         rb_plugin_restart_finish       (RbPlugin            *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
RB_AVAILABLE_IN_1_0
gboolean         rb_plugin_reload               (RbPlugin            *self,
                                                 RbBundle            *bundle,
                                                 GCancellable        *cancellable,
                                                 GError             **error);
RB_AVAILABLE_IN_1_0
void             rb_plugin_reload_async         (RbPlugin            *self,
                                                 RbBundle            *bundle,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RB_AVAILABLE_IN_1_0
gboolean         rb_plugin_reload_finish        (RbPlugin            *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

RB_AVAILABLE_IN_1_0
const char      *rb_plugin_get_path             (RbPlugin            *self);
RB_AVAILABLE_IN_1_0
RbPluginConfig  *rb_plugin_get_config           (RbPlugin            *self);
RB_AVAILABLE_IN_1_0
RbLifecycleState rb_plugin_get_state            (RbPlugin            *self);
RB_AVAILABLE_IN_1_0
RbLogLevel       rb_plugin_get_log_level        (RbPlugin            *self);
RB_AVAILABLE_IN_1_0
void             rb_plugin_set_log_level        (RbPlugin            *self,
                                                 RbLogLevel           log_level);
RB_AVAILABLE_IN_1_0
guint64          rb_plugin_get_rejected_request_count (RbPlugin      *self);
RB_AVAILABLE_IN_1_0
gboolean         rb_plugin_get_has_binary_transport   (RbPlugin      *self);
RB_AVAILABLE_IN_1_0
guint64          rb_plugin_get_dropped_log_count      (RbPlugin      *self);
RB_AVAILABLE_IN_1_0
guint            rb_plugin_get_crash_count      (RbPlugin            *self);
RB_AVAILABLE_IN_1_0
const char      *rb_plugin_get_bundle_name      (RbPlugin            *self);
RB_AVAILABLE_IN_1_0
const char      *rb_plugin_get_bundle_version   (RbPlugin            *self);

G_END_DECLS
