/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-enum-types.h"
#include "rb-error.h"
#include "rb-json-private.h"
#include "rb-plugin-config.h"

/**
 * RbPluginConfig:
 *
 * The configuration handed to a plugin when it starts.
 *
 * `RbPluginConfig` holds the standard settings of every rustbridge plugin
 * (log level, worker threads, concurrency limit, shutdown timeout), the
 * plugin-specific `data` object and the one-time `init_params`. It is
 * serialised to the configuration JSON of the plugin ABI by
 * [method@RustBridge.PluginConfig.to_json] when a plugin is created;
 * changing a configuration afterwards does not affect plugins that were
 * already created with it.
 *
 * ```c
 * g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
 *
 * g_object_set (config, "log-level", RB_LOG_LEVEL_DEBUG,
 *                       "max-concurrent-ops", 16, NULL);
 * rb_plugin_config_set_data_json (config, "greeting", "\"hi\"", NULL);
 * ```
 */

#define DEFAULT_LOG_LEVEL RB_LOG_LEVEL_INFO
#define DEFAULT_MAX_CONCURRENT_OPS 1000
#define DEFAULT_SHUTDOWN_TIMEOUT_MS 5000

struct _RbPluginConfig {
  GObject     parent_instance;

  RbLogLevel  log_level;
  guint       worker_threads;
  guint       max_concurrent_ops;
  guint       shutdown_timeout_ms;
  guint       max_queued_calls;
  RbIsolation isolation;
  guint       call_timeout_ms;
  guint       memory_limit_mb;
  JsonObject *data;          /* nullable */
  JsonObject *init_params;   /* nullable */
};

G_DEFINE_FINAL_TYPE (RbPluginConfig, rb_plugin_config, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LOG_LEVEL,
  PROP_WORKER_THREADS,
  PROP_MAX_CONCURRENT_OPS,
  PROP_SHUTDOWN_TIMEOUT_MS,
  PROP_MAX_QUEUED_CALLS,
  PROP_ISOLATION,
  PROP_CALL_TIMEOUT_MS,
  PROP_MEMORY_LIMIT_MB,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const log_level_names[] = {
  "trace", "debug", "info", "warn", "error", "off",
};

/* json_node_copy() shares objects and arrays; a configuration must own
 * its values (never on a hot path). */
static JsonObject *
json_object_deep_copy (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autoptr(JsonNode) copy = rb_json_node_deep_copy (node);
  return json_object_ref (json_node_get_object (copy));
}

static void
rb_plugin_config_finalize (GObject *object)
{
  RbPluginConfig *self = RB_PLUGIN_CONFIG (object);

  g_clear_pointer (&self->data, json_object_unref);
  g_clear_pointer (&self->init_params, json_object_unref);

  G_OBJECT_CLASS (rb_plugin_config_parent_class)->finalize (object);
}

static void
rb_plugin_config_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  RbPluginConfig *self = RB_PLUGIN_CONFIG (object);

  switch (prop_id)
    {
    case PROP_LOG_LEVEL:
      g_value_set_enum (value, self->log_level);
      break;
    case PROP_WORKER_THREADS:
      g_value_set_uint (value, self->worker_threads);
      break;
    case PROP_MAX_CONCURRENT_OPS:
      g_value_set_uint (value, self->max_concurrent_ops);
      break;
    case PROP_SHUTDOWN_TIMEOUT_MS:
      g_value_set_uint (value, self->shutdown_timeout_ms);
      break;
    case PROP_MAX_QUEUED_CALLS:
      g_value_set_uint (value, self->max_queued_calls);
      break;
    case PROP_ISOLATION:
      g_value_set_enum (value, self->isolation);
      break;
    case PROP_CALL_TIMEOUT_MS:
      g_value_set_uint (value, self->call_timeout_ms);
      break;
    case PROP_MEMORY_LIMIT_MB:
      g_value_set_uint (value, self->memory_limit_mb);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_plugin_config_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  RbPluginConfig *self = RB_PLUGIN_CONFIG (object);

  switch (prop_id)
    {
    case PROP_LOG_LEVEL:
      rb_plugin_config_set_log_level (self, g_value_get_enum (value));
      break;
    case PROP_WORKER_THREADS:
      rb_plugin_config_set_worker_threads (self, g_value_get_uint (value));
      break;
    case PROP_MAX_CONCURRENT_OPS:
      rb_plugin_config_set_max_concurrent_ops (self, g_value_get_uint (value));
      break;
    case PROP_SHUTDOWN_TIMEOUT_MS:
      rb_plugin_config_set_shutdown_timeout_ms (self, g_value_get_uint (value));
      break;
    case PROP_MAX_QUEUED_CALLS:
      rb_plugin_config_set_max_queued_calls (self, g_value_get_uint (value));
      break;
    case PROP_ISOLATION:
      rb_plugin_config_set_isolation (self, g_value_get_enum (value));
      break;
    case PROP_CALL_TIMEOUT_MS:
      rb_plugin_config_set_call_timeout_ms (self, g_value_get_uint (value));
      break;
    case PROP_MEMORY_LIMIT_MB:
      rb_plugin_config_set_memory_limit_mb (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_plugin_config_class_init (RbPluginConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rb_plugin_config_finalize;
  object_class->get_property = rb_plugin_config_get_property;
  object_class->set_property = rb_plugin_config_set_property;

  /**
   * RbPluginConfig:log-level:
   *
   * The initial log level of the plugin (`log_level` in the config JSON).
   */
  properties[PROP_LOG_LEVEL] =
    g_param_spec_enum ("log-level", NULL, NULL,
                       RB_TYPE_LOG_LEVEL, DEFAULT_LOG_LEVEL,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPluginConfig:worker-threads:
   *
   * Threads of the plugin's own async runtime, and the size of the
   * plugin's worker pool for async calls; 0 means the number of processors.
   */
  properties[PROP_WORKER_THREADS] =
    g_param_spec_uint ("worker-threads", NULL, NULL,
                       0, 1024, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPluginConfig:max-concurrent-ops:
   *
   * How many JSON calls the plugin admits at once; more are rejected with
   * %RB_PLUGIN_ERROR_TOO_MANY_REQUESTS. 0 means no limit (the plugin
   * admits every call; async calls still wait in a bounded queue, see
   * [property@RustBridge.PluginConfig:max-queued-calls]).
   */
  properties[PROP_MAX_CONCURRENT_OPS] =
    g_param_spec_uint ("max-concurrent-ops", NULL, NULL,
                       0, G_MAXINT32, DEFAULT_MAX_CONCURRENT_OPS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPluginConfig:shutdown-timeout-ms:
   *
   * How long [method@RustBridge.Plugin.shutdown] waits for the calls
   * already handed to the plugin to return, in milliseconds, before it
   * calls the plugin's own shutdown anyway.
   *
   * This bounds only that wait, not the whole shutdown. The plugin is
   * given the value in its configuration but does not use it: its own
   * shutdown allows its stop code a fixed 5 seconds and its runtime half
   * as long again, and it may also wait for a handler that is still
   * running when it is called. With a 200 ms timeout and a 1.5 s call in
   * flight, the shutdown returns when the call ends. See
   * [the plugin ABI](plugin-abi.html#shutting-down).
   */
  properties[PROP_SHUTDOWN_TIMEOUT_MS] =
    g_param_spec_uint ("shutdown-timeout-ms", NULL, NULL,
                       0, G_MAXINT32, DEFAULT_SHUTDOWN_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPluginConfig:max-queued-calls:
   *
   * How many async calls may wait in the plugin's worker pool (queued or
   * running); more fail at once with %RB_PLUGIN_ERROR_TOO_MANY_REQUESTS.
   * 0 means 64 × [property@RustBridge.PluginConfig:max-concurrent-ops],
   * or 64,000 when that is 0 (no limit).
   * This is a host-side setting and is not part of the config JSON.
   */
  properties[PROP_MAX_QUEUED_CALLS] =
    g_param_spec_uint ("max-queued-calls", NULL, NULL,
                       0, G_MAXINT32, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPluginConfig:isolation:
   *
   * Where the plugin's code runs: in the application's process (the
   * default), in a helper process, or in a sandboxed helper process. The
   * calls, signals and properties of [class@RustBridge.Plugin] are the
   * same in every mode; see [isolation](isolation.html) for what each mode
   * costs and protects against. A host-side setting: not passed to the
   * plugin.
   */
  properties[PROP_ISOLATION] =
    g_param_spec_enum ("isolation", NULL, NULL,
                       RB_TYPE_ISOLATION, RB_ISOLATION_NONE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPluginConfig:call-timeout-ms:
   *
   * How long a call may take, in milliseconds; 0 (the default) means no
   * limit. A call past it fails with %G_IO_ERROR_TIMED_OUT. With
   * isolation the helper is then killed (nothing else stops a hung
   * native call): the plugin goes to `FAILED`, its other calls fail with
   * %RB_PLUGIN_ERROR_CRASHED, and [method@RustBridge.Plugin.restart]
   * brings it back. Without isolation the caller gets the timeout but the
   * native call keeps running on a worker thread; its late result is
   * freed and dropped. A host-side setting: not passed to the plugin.
   */
  properties[PROP_CALL_TIMEOUT_MS] =
    g_param_spec_uint ("call-timeout-ms", NULL, NULL,
                       0, G_MAXINT32, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPluginConfig:memory-limit-mb:
   *
   * The address-space limit of an isolated plugin's helper process
   * (`RLIMIT_AS`), in MiB; 0 (the default) means none. A plugin that
   * exceeds it fails its allocations (usually an abort: the plugin is
   * reported as crashed). Ignored without isolation. A host-side setting:
   * not passed to the plugin.
   */
  properties[PROP_MEMORY_LIMIT_MB] =
    g_param_spec_uint ("memory-limit-mb", NULL, NULL,
                       0, G_MAXINT32, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rb_plugin_config_init (RbPluginConfig *self)
{
  self->log_level = DEFAULT_LOG_LEVEL;
  self->max_concurrent_ops = DEFAULT_MAX_CONCURRENT_OPS;
  self->shutdown_timeout_ms = DEFAULT_SHUTDOWN_TIMEOUT_MS;
}

/**
 * rb_plugin_config_new:
 *
 * Creates a configuration with every setting at its default.
 *
 * Returns: (transfer full): a new #RbPluginConfig
 */
RbPluginConfig *
rb_plugin_config_new (void)
{
  return g_object_new (RB_TYPE_PLUGIN_CONFIG, NULL);
}

static gboolean
read_uint_member (JsonObject  *object,
                  const char  *member,
                  guint        min,
                  guint       *out,
                  GError     **error)
{
  JsonNode *node = rb_json_object_get_present (object, member);
  gint64 v;

  if (node == NULL)
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                   "Invalid plugin configuration: “%s” must be an integer", member);
      return FALSE;
    }
  v = json_node_get_int (node);
  if (v < min || v > G_MAXINT32)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                   "Invalid plugin configuration: “%s” is out of range (%" G_GINT64_FORMAT ")",
                   member, v);
      return FALSE;
    }
  *out = (guint) v;
  return TRUE;
}

static gboolean
read_isolation_member (JsonObject   *object,
                       RbIsolation  *out,
                       GError      **error)
{
  static const char * const names[] = { "none", "process", "sandbox" };
  JsonNode *node = rb_json_object_get_present (object, "isolation");
  const char *name;

  if (node == NULL)
    return TRUE;
  name = json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node) : NULL;
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (name, names[i]) == 0)
      {
        *out = (RbIsolation) i;
        return TRUE;
      }
  g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                       "Invalid plugin configuration: “isolation” must be \"none\", "
                       "\"process\" or \"sandbox\"");
  return FALSE;
}

/**
 * rb_plugin_config_new_from_json:
 * @json: the configuration JSON of the plugin ABI
 * @error: return location for a #GError
 *
 * Creates a configuration from the JSON object that plugins receive
 * (fields `log_level`, `worker_threads`, `max_concurrent_ops`,
 * `shutdown_timeout_ms`, `data` and `init_params`; all optional, unknown
 * fields ignored). The host-side fields `isolation` (`"none"`,
 * `"process"` or `"sandbox"`), `call_timeout_ms` and `memory_limit_mb`
 * are read too; [method@RustBridge.PluginConfig.to_json] leaves them out
 * (the plugin never sees them).
 *
 * Returns: (transfer full): a new #RbPluginConfig, or %NULL with @error set
 *   to %RB_PLUGIN_ERROR_CONFIG if @json is not a JSON object, is nested
 *   deeper than 512 levels, or a field has the wrong type
 */
RbPluginConfig *
rb_plugin_config_new_from_json (const char  *json,
                                GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(RbPluginConfig) self = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonObject *root;
  JsonNode *node;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  parser = json_parser_new_immutable ();
  if (!rb_json_load_untrusted (parser, json, -1, &local_error))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                   "Invalid plugin configuration: %s", local_error->message);
      return NULL;
    }
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                           "Invalid plugin configuration: not a JSON object");
      return NULL;
    }
  /* It goes back to text for the plugin: json-glib would write "inf.0". */
  if (!rb_json_node_is_finite (node))
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                           "Invalid plugin configuration: a number is beyond the range of a double");
      return NULL;
    }
  root = json_node_get_object (node);
  self = rb_plugin_config_new ();

  node = rb_json_object_get_present (root, "log_level");
  if (node != NULL)
    {
      const char *name;

      if (json_node_get_value_type (node) != G_TYPE_STRING)
        {
          g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                               "Invalid plugin configuration: “log_level” must be a string");
          return NULL;
        }
      /* Plugins read unknown level names as "info"; so do we. */
      name = json_node_get_string (node);
      self->log_level = DEFAULT_LOG_LEVEL;
      for (guint i = 0; i < G_N_ELEMENTS (log_level_names); i++)
        if (g_ascii_strcasecmp (name, log_level_names[i]) == 0)
          self->log_level = (RbLogLevel) i;
    }

  if (!read_uint_member (root, "worker_threads", 0, &self->worker_threads, error) ||
      !read_uint_member (root, "max_concurrent_ops", 0, &self->max_concurrent_ops, error) ||
      !read_uint_member (root, "shutdown_timeout_ms", 0, &self->shutdown_timeout_ms, error) ||
      !read_uint_member (root, "call_timeout_ms", 0, &self->call_timeout_ms, error) ||
      !read_uint_member (root, "memory_limit_mb", 0, &self->memory_limit_mb, error) ||
      !read_isolation_member (root, &self->isolation, error))
    return NULL;

  node = rb_json_object_get_present (root, "data");
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                               "Invalid plugin configuration: “data” must be an object");
          return NULL;
        }
      self->data = json_object_ref (json_node_get_object (node));
    }

  node = rb_json_object_get_present (root, "init_params");
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                               "Invalid plugin configuration: “init_params” must be an object");
          return NULL;
        }
      self->init_params = json_object_ref (json_node_get_object (node));
    }

  return g_steal_pointer (&self);
}

/**
 * rb_plugin_config_to_json:
 * @self: a #RbPluginConfig
 *
 * Serialises the configuration to the JSON object that `plugin_init`
 * receives. `worker_threads` is omitted when it is 0 (the plugin then
 * uses one thread per processor); `data` is `null` when no data was set
 * and `init_params` is omitted when none was set.
 *
 * Returns: (transfer full): compact JSON text
 */
char *
rb_plugin_config_to_json (RbPluginConfig *self)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (RB_IS_PLUGIN_CONFIG (self), NULL);

  builder = json_builder_new_immutable ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "log_level");
  json_builder_add_string_value (builder, log_level_names[self->log_level]);
  if (self->worker_threads > 0)
    {
      json_builder_set_member_name (builder, "worker_threads");
      json_builder_add_int_value (builder, self->worker_threads);
    }
  json_builder_set_member_name (builder, "max_concurrent_ops");
  json_builder_add_int_value (builder, self->max_concurrent_ops);
  json_builder_set_member_name (builder, "shutdown_timeout_ms");
  json_builder_add_int_value (builder, self->shutdown_timeout_ms);
  json_builder_set_member_name (builder, "data");
  if (self->data != NULL)
    {
      JsonNode *node = json_node_init_object (json_node_alloc (), self->data);
      json_builder_add_value (builder, node);
    }
  else
    json_builder_add_null_value (builder);
  if (self->init_params != NULL)
    {
      JsonNode *node = json_node_init_object (json_node_alloc (), self->init_params);
      json_builder_set_member_name (builder, "init_params");
      json_builder_add_value (builder, node);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return rb_json_to_string (root);
}

/**
 * rb_plugin_config_copy:
 * @self: a #RbPluginConfig
 *
 * Makes a deep copy of the configuration.
 *
 * Returns: (transfer full): a new configuration with the same settings
 */
RbPluginConfig *
rb_plugin_config_copy (RbPluginConfig *self)
{
  RbPluginConfig *copy;

  g_return_val_if_fail (RB_IS_PLUGIN_CONFIG (self), NULL);

  copy = rb_plugin_config_new ();
  copy->log_level = self->log_level;
  copy->worker_threads = self->worker_threads;
  copy->max_concurrent_ops = self->max_concurrent_ops;
  copy->shutdown_timeout_ms = self->shutdown_timeout_ms;
  copy->max_queued_calls = self->max_queued_calls;
  copy->isolation = self->isolation;
  copy->call_timeout_ms = self->call_timeout_ms;
  copy->memory_limit_mb = self->memory_limit_mb;
  if (self->data != NULL)
    copy->data = json_object_deep_copy (self->data);
  if (self->init_params != NULL)
    copy->init_params = json_object_deep_copy (self->init_params);
  return copy;
}

#define DEFINE_UINT_ACCESSORS(field, PROP, valid)                               \
guint                                                                         \
rb_plugin_config_get_##field (RbPluginConfig *self)                           \
{                                                                             \
  g_return_val_if_fail (RB_IS_PLUGIN_CONFIG (self), 0);                       \
  return self->field;                                                         \
}                                                                             \
                                                                              \
void                                                                          \
rb_plugin_config_set_##field (RbPluginConfig *self,                           \
                              guint           field)                          \
{                                                                             \
  g_return_if_fail (RB_IS_PLUGIN_CONFIG (self));                              \
  g_return_if_fail (valid);                                                   \
  if (self->field == field)                                                   \
    return;                                                                   \
  self->field = field;                                                        \
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP]);               \
}

/**
 * rb_plugin_config_get_worker_threads:
 * @self: a #RbPluginConfig
 *
 * Gets [property@RustBridge.PluginConfig:worker-threads].
 *
 * Returns: the [property@RustBridge.PluginConfig:worker-threads] setting
 */
/**
 * rb_plugin_config_set_worker_threads:
 * @self: a #RbPluginConfig
 * @worker_threads: threads of the plugin's runtime, 0 for one per processor
 *
 * Sets [property@RustBridge.PluginConfig:worker-threads].
 */
DEFINE_UINT_ACCESSORS (worker_threads, PROP_WORKER_THREADS, worker_threads <= 1024)

/**
 * rb_plugin_config_get_max_concurrent_ops:
 * @self: a #RbPluginConfig
 *
 * Gets [property@RustBridge.PluginConfig:max-concurrent-ops].
 *
 * Returns: the [property@RustBridge.PluginConfig:max-concurrent-ops] setting
 */
/**
 * rb_plugin_config_set_max_concurrent_ops:
 * @self: a #RbPluginConfig
 * @max_concurrent_ops: calls admitted at once, 0 for no limit
 *
 * Sets [property@RustBridge.PluginConfig:max-concurrent-ops].
 */
DEFINE_UINT_ACCESSORS (max_concurrent_ops, PROP_MAX_CONCURRENT_OPS, max_concurrent_ops <= G_MAXINT32)

/**
 * rb_plugin_config_get_shutdown_timeout_ms:
 * @self: a #RbPluginConfig
 *
 * Gets [property@RustBridge.PluginConfig:shutdown-timeout-ms].
 *
 * Returns: the [property@RustBridge.PluginConfig:shutdown-timeout-ms] setting
 */
/**
 * rb_plugin_config_set_shutdown_timeout_ms:
 * @self: a #RbPluginConfig
 * @shutdown_timeout_ms: milliseconds
 *
 * Sets [property@RustBridge.PluginConfig:shutdown-timeout-ms].
 */
DEFINE_UINT_ACCESSORS (shutdown_timeout_ms, PROP_SHUTDOWN_TIMEOUT_MS, shutdown_timeout_ms <= G_MAXINT32)

/**
 * rb_plugin_config_get_max_queued_calls:
 * @self: a #RbPluginConfig
 *
 * Gets [property@RustBridge.PluginConfig:max-queued-calls].
 *
 * Returns: the [property@RustBridge.PluginConfig:max-queued-calls] setting
 */
/**
 * rb_plugin_config_set_max_queued_calls:
 * @self: a #RbPluginConfig
 * @max_queued_calls: async calls that may wait, 0 for the default
 *
 * Sets [property@RustBridge.PluginConfig:max-queued-calls].
 */
DEFINE_UINT_ACCESSORS (max_queued_calls, PROP_MAX_QUEUED_CALLS, max_queued_calls <= G_MAXINT32)

/**
 * rb_plugin_config_get_call_timeout_ms:
 * @self: a #RbPluginConfig
 *
 * Gets [property@RustBridge.PluginConfig:call-timeout-ms].
 *
 * Returns: the [property@RustBridge.PluginConfig:call-timeout-ms] setting
 */
/**
 * rb_plugin_config_set_call_timeout_ms:
 * @self: a #RbPluginConfig
 * @call_timeout_ms: the limit of one call in milliseconds, 0 for none
 *
 * Sets [property@RustBridge.PluginConfig:call-timeout-ms].
 */
DEFINE_UINT_ACCESSORS (call_timeout_ms, PROP_CALL_TIMEOUT_MS, call_timeout_ms <= G_MAXINT32)

/**
 * rb_plugin_config_get_memory_limit_mb:
 * @self: a #RbPluginConfig
 *
 * Gets [property@RustBridge.PluginConfig:memory-limit-mb].
 *
 * Returns: the [property@RustBridge.PluginConfig:memory-limit-mb] setting
 */
/**
 * rb_plugin_config_set_memory_limit_mb:
 * @self: a #RbPluginConfig
 * @memory_limit_mb: the helper's address-space limit in MiB, 0 for none
 *
 * Sets [property@RustBridge.PluginConfig:memory-limit-mb].
 */
DEFINE_UINT_ACCESSORS (memory_limit_mb, PROP_MEMORY_LIMIT_MB, memory_limit_mb <= G_MAXINT32)

/**
 * rb_plugin_config_get_isolation:
 * @self: a #RbPluginConfig
 *
 * Gets [property@RustBridge.PluginConfig:isolation].
 *
 * Returns: the [property@RustBridge.PluginConfig:isolation] setting
 */
RbIsolation
rb_plugin_config_get_isolation (RbPluginConfig *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN_CONFIG (self), RB_ISOLATION_NONE);
  return self->isolation;
}

/**
 * rb_plugin_config_set_isolation:
 * @self: a #RbPluginConfig
 * @isolation: where the plugin's code runs
 *
 * Sets [property@RustBridge.PluginConfig:isolation].
 */
void
rb_plugin_config_set_isolation (RbPluginConfig *self,
                                RbIsolation     isolation)
{
  g_return_if_fail (RB_IS_PLUGIN_CONFIG (self));
  g_return_if_fail (isolation <= RB_ISOLATION_SANDBOX);

  if (self->isolation == isolation)
    return;
  self->isolation = isolation;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ISOLATION]);
}

/**
 * rb_plugin_config_get_log_level:
 * @self: a #RbPluginConfig
 *
 * Gets [property@RustBridge.PluginConfig:log-level].
 *
 * Returns: the [property@RustBridge.PluginConfig:log-level] setting
 */
RbLogLevel
rb_plugin_config_get_log_level (RbPluginConfig *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN_CONFIG (self), DEFAULT_LOG_LEVEL);
  return self->log_level;
}

/**
 * rb_plugin_config_set_log_level:
 * @self: a #RbPluginConfig
 * @log_level: the initial log level
 *
 * Sets [property@RustBridge.PluginConfig:log-level].
 */
void
rb_plugin_config_set_log_level (RbPluginConfig *self,
                                RbLogLevel      log_level)
{
  g_return_if_fail (RB_IS_PLUGIN_CONFIG (self));
  g_return_if_fail (log_level <= RB_LOG_LEVEL_OFF);

  if (self->log_level == log_level)
    return;
  self->log_level = log_level;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_LEVEL]);
}

static void
object_set_member (JsonObject **object,
                   const char  *key,
                   JsonNode    *value)
{
  if (*object == NULL)
    *object = json_object_new ();
  json_object_set_member (*object, key,
                          value != NULL ? rb_json_node_deep_copy (value) : json_node_new (JSON_NODE_NULL));
}

static gboolean
object_set_member_json (JsonObject **object,
                        const char  *what,
                        const char  *key,
                        const char  *json,
                        GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;

  if (!rb_json_load_untrusted (parser, json, -1, &local_error))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                   "Invalid JSON for %s “%s”: %s", what, key, local_error->message);
      return FALSE;
    }
  if (!rb_json_node_is_finite (json_parser_get_root (parser)))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                   "Invalid JSON for %s “%s”: a number is beyond the range of a double", what, key);
      return FALSE;
    }
  object_set_member (object, key, json_parser_get_root (parser));
  return TRUE;
}

static JsonNode *
object_get_member (JsonObject *object,
                   const char *key)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;

  return node != NULL ? rb_json_node_deep_copy (node) : NULL;
}

/* The public accessors of one JSON object of the configuration: NAME's
 * set_NAME, set_NAME_json and get_NAME, over self->MEMBER, named WHAT in
 * messages. */
#define DEFINE_JSON_MEMBER_ACCESSORS(name, member, what)                        \
void                                                                          \
rb_plugin_config_set_##name (RbPluginConfig *self,                            \
                             const char     *key,                             \
                             JsonNode       *value)                           \
{                                                                             \
  g_return_if_fail (RB_IS_PLUGIN_CONFIG (self));                              \
  g_return_if_fail (key != NULL);                                             \
                                                                              \
  object_set_member (&self->member, key, value);                              \
}                                                                             \
                                                                              \
gboolean                                                                      \
rb_plugin_config_set_##name##_json (RbPluginConfig  *self,                    \
                                    const char      *key,                     \
                                    const char      *json,                    \
                                    GError         **error)                   \
{                                                                             \
  g_return_val_if_fail (RB_IS_PLUGIN_CONFIG (self), FALSE);                   \
  g_return_val_if_fail (key != NULL, FALSE);                                  \
  g_return_val_if_fail (json != NULL, FALSE);                                 \
                                                                              \
  return object_set_member_json (&self->member, what, key, json, error);      \
}                                                                             \
                                                                              \
JsonNode *                                                                    \
rb_plugin_config_get_##name (RbPluginConfig *self,                            \
                             const char     *key)                             \
{                                                                             \
  g_return_val_if_fail (RB_IS_PLUGIN_CONFIG (self), NULL);                    \
  g_return_val_if_fail (key != NULL, NULL);                                   \
                                                                              \
  return object_get_member (self->member, key);                               \
}

/**
 * rb_plugin_config_set_data:
 * @self: a #RbPluginConfig
 * @key: member name in the `data` object
 * @value: (nullable): the value (copied); %NULL stores JSON `null`
 *
 * Sets one member of the plugin-specific `data` object.
 */
/**
 * rb_plugin_config_set_data_json:
 * @self: a #RbPluginConfig
 * @key: member name in the `data` object
 * @json: the value as JSON text
 * @error: return location for a #GError
 *
 * Like [method@RustBridge.PluginConfig.set_data], with the value given as
 * JSON text.
 *
 * Returns: %TRUE, or %FALSE with @error set to %RB_PLUGIN_ERROR_CONFIG if
 *   @json is not valid JSON or is nested deeper than 512 levels (the
 *   configuration is then unchanged)
 */
/**
 * rb_plugin_config_get_data:
 * @self: a #RbPluginConfig
 * @key: member name in the `data` object
 *
 * Gets one member of the plugin-specific `data` object.
 *
 * Returns: (transfer full) (nullable): a copy of the member, or %NULL if unset
 */
DEFINE_JSON_MEMBER_ACCESSORS (data, data, "data member")

/**
 * rb_plugin_config_set_init_param:
 * @self: a #RbPluginConfig
 * @key: member name in the `init_params` object
 * @value: (nullable): the value (copied); %NULL stores JSON `null`
 *
 * Sets one of the one-time start-up parameters.
 */
/**
 * rb_plugin_config_set_init_param_json:
 * @self: a #RbPluginConfig
 * @key: member name in the `init_params` object
 * @json: the value as JSON text
 * @error: return location for a #GError
 *
 * Like [method@RustBridge.PluginConfig.set_init_param], with the value
 * given as JSON text.
 *
 * Returns: %TRUE, or %FALSE with @error set to %RB_PLUGIN_ERROR_CONFIG if
 *   @json is not valid JSON or is nested deeper than 512 levels (the
 *   configuration is then unchanged)
 */
/**
 * rb_plugin_config_get_init_param:
 * @self: a #RbPluginConfig
 * @key: member name in the `init_params` object
 *
 * Gets one of the one-time start-up parameters.
 *
 * Returns: (transfer full) (nullable): a copy of the parameter, or %NULL if unset
 */
DEFINE_JSON_MEMBER_ACCESSORS (init_param, init_params, "init parameter")
