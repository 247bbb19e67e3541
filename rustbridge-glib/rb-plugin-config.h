/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(RUSTBRIDGE_GLIB_INSIDE) && !defined(RUSTBRIDGE_GLIB_COMPILATION)
#error "Only <rustbridge-glib.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "rb-types.h"
#include "rb-version-macros.h"

G_BEGIN_DECLS

#define RB_TYPE_PLUGIN_CONFIG (rb_plugin_config_get_type ())

RB_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (RbPluginConfig, rb_plugin_config, RB, PLUGIN_CONFIG, GObject)

RB_AVAILABLE_IN_1_0
RbPluginConfig *rb_plugin_config_new                 (void) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
RbPluginConfig *rb_plugin_config_new_from_json       (const char      *json,
                                                      GError         **error) G_GNUC_WARN_UNUSED_RESULT;
RB_AVAILABLE_IN_1_0
char           *rb_plugin_config_to_json             (RbPluginConfig  *self) G_GNUC_WARN_UNUSED_RESULT;

RB_AVAILABLE_IN_1_0
RbLogLevel      rb_plugin_config_get_log_level       (RbPluginConfig  *self);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_log_level       (RbPluginConfig  *self,
                                                      RbLogLevel       log_level);
RB_AVAILABLE_IN_1_0
guint           rb_plugin_config_get_worker_threads  (RbPluginConfig  *self);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_worker_threads  (RbPluginConfig  *self,
                                                      guint            worker_threads);
RB_AVAILABLE_IN_1_0
guint           rb_plugin_config_get_max_concurrent_ops (RbPluginConfig *self);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_max_concurrent_ops (RbPluginConfig *self,
                                                         guint           max_concurrent_ops);
RB_AVAILABLE_IN_1_0
guint           rb_plugin_config_get_shutdown_timeout_ms (RbPluginConfig *self);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_shutdown_timeout_ms (RbPluginConfig *self,
                                                          guint           shutdown_timeout_ms);
RB_AVAILABLE_IN_1_0
guint           rb_plugin_config_get_max_queued_calls (RbPluginConfig *self);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_max_queued_calls (RbPluginConfig *self,
                                                       guint           max_queued_calls);
RB_AVAILABLE_IN_1_0
RbIsolation     rb_plugin_config_get_isolation       (RbPluginConfig  *self);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_isolation       (RbPluginConfig  *self,
                                                      RbIsolation      isolation);
RB_AVAILABLE_IN_1_0
guint           rb_plugin_config_get_call_timeout_ms (RbPluginConfig  *self);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_call_timeout_ms (RbPluginConfig  *self,
                                                      guint            call_timeout_ms);
RB_AVAILABLE_IN_1_0
guint           rb_plugin_config_get_memory_limit_mb (RbPluginConfig  *self);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_memory_limit_mb (RbPluginConfig  *self,
                                                      guint            memory_limit_mb);

RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_data            (RbPluginConfig  *self,
                                                      const char      *key,
                                                      JsonNode        *value);
RB_AVAILABLE_IN_1_0
gboolean        rb_plugin_config_set_data_json       (RbPluginConfig  *self,
                                                      const char      *key,
                                                      const char      *json,
                                                      GError         **error);
RB_AVAILABLE_IN_1_0
JsonNode       *rb_plugin_config_get_data            (RbPluginConfig  *self,
                                                      const char      *key);
RB_AVAILABLE_IN_1_0
void            rb_plugin_config_set_init_param      (RbPluginConfig  *self,
                                                      const char      *key,
                                                      JsonNode        *value);
RB_AVAILABLE_IN_1_0
gboolean        rb_plugin_config_set_init_param_json (RbPluginConfig  *self,
                                                      const char      *key,
                                                      const char      *json,
                                                      GError         **error);
RB_AVAILABLE_IN_1_0
JsonNode       *rb_plugin_config_get_init_param      (RbPluginConfig  *self,
                                                      const char      *key);
RB_AVAILABLE_IN_1_0
RbPluginConfig *rb_plugin_config_copy                (RbPluginConfig  *self) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
