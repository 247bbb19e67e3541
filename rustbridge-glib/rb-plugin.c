/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "rb-enum-types.h"
#include "rb-error.h"
#include "rb-plugin-private.h"

/**
 * RbPlugin:
 *
 * A loaded rustbridge plugin.
 *
 * `RbPlugin` maps a plugin library (once per file, for the life of the
 * process), starts one plugin instance in it and calls its handlers:
 * JSON calls with [method@RustBridge.Plugin.call] and
 * [method@RustBridge.Plugin.call_json], binary calls with
 * [method@RustBridge.Plugin.call_raw]. Every blocking operation has an
 * `_async` variant whose result arrives in the thread-default
 * [struct@GLib.MainContext] of the caller; async calls run on a worker pool
 * owned by the plugin.
 *
 * ```c
 * g_autoptr(GError) error = NULL;
 * g_autoptr(RbPlugin) plugin = rb_plugin_new ("libhello.so", NULL, NULL, &error);
 * g_autofree char *reply = NULL;
 *
 * if (plugin != NULL)
 *   reply = rb_plugin_call (plugin, "echo", "{\"message\":\"hi\"}", NULL, &error);
 * ```
 *
 * ## Threads and contexts
 *
 * Calls may be made from any thread. The [signal@RustBridge.Plugin::log]
 * and [signal@RustBridge.Plugin::state-changed] signals and every property
 * notification are emitted in the main context that was thread-default
 * when the plugin was created (its *owner context*), never in a plugin
 * thread; they need that context to be iterated.
 *
 * ## Library-wide behaviour
 *
 * Some plugin settings are global to a plugin library rather than to one
 * instance ([plugin ABI](plugin-abi.html)): the log level, the log callback (every shutdown
 * of an instance clears it for the other instances of the same file), and
 * the binary handlers (after one instance of a file shuts down, raw calls
 * on the other instances fail with %RB_PLUGIN_ERROR_UNKNOWN_MESSAGE).
 * `RbPlugin` reports these as the plugin does and does not hide them.
 */

G_DEFINE_FINAL_TYPE_WITH_CODE (RbPlugin, rb_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, rb_plugin_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE, rb_plugin_async_initable_iface_init))

enum {
  PROP_0,
  PROP_PATH,
  PROP_CONFIG,
  PROP_STATE,
  PROP_LOG_LEVEL,
  PROP_REJECTED_REQUEST_COUNT,
  PROP_HAS_BINARY_TRANSPORT,
  PROP_BUNDLE_NAME,
  PROP_BUNDLE_VERSION,
  PROP_DROPPED_LOG_COUNT,
  PROP_CRASH_COUNT,
  N_PROPS
};

enum {
  SIGNAL_LOG,
  SIGNAL_STATE_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
GParamSpec *rb_plugin_crash_count_pspec;
static guint signals[N_SIGNALS];

/* ------------------------------------------------------------------ */
/* Log messages, state changes, notifications (rb-relay-private.h)     */

static GLogLevelFlags
glib_level_for (RbLogLevel level)
{
  /* Never ERROR (always fatal) nor WARNING/CRITICAL (fatal under GTest and
   * G_DEBUG=fatal-warnings): a plugin's error is an event of the
   * application, not a bug in the host. The severity survives in the
   * PRIORITY field (syslog numbering) for the journal. */
  switch (level)
    {
    case RB_LOG_LEVEL_TRACE:
    case RB_LOG_LEVEL_DEBUG:
      return G_LOG_LEVEL_DEBUG;
    case RB_LOG_LEVEL_INFO:
      return G_LOG_LEVEL_INFO;
    case RB_LOG_LEVEL_WARN:
    case RB_LOG_LEVEL_ERROR:
    case RB_LOG_LEVEL_OFF:
    default:
      return G_LOG_LEVEL_MESSAGE;
    }
}

static const char *
syslog_priority_for (RbLogLevel level)
{
  switch (level)
    {
    case RB_LOG_LEVEL_TRACE:
    case RB_LOG_LEVEL_DEBUG:
      return "7";
    case RB_LOG_LEVEL_INFO:
      return "6";
    case RB_LOG_LEVEL_WARN:
      return "4";
    case RB_LOG_LEVEL_ERROR:
    case RB_LOG_LEVEL_OFF:
    default:
      return "3";
    }
}

/* The default handler of RbPlugin::log: runs only when no handler took
 * the message (returned TRUE). Returns FALSE so that the handlers
 * connected after it still see the message. */
static gboolean
rb_plugin_real_log (RbPlugin   *self,
                    RbLogLevel  level,
                    const char *target,
                    const char *message)
{
  const GLogField fields[] = {
    { "MESSAGE", message, -1 },
    { "PRIORITY", syslog_priority_for (level), -1 },
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
    { "RB_PLUGIN_TARGET", target, -1 },
    { "RB_PLUGIN_PATH", self->path, -1 },
  };

  g_log_structured_array (glib_level_for (level), fields, G_N_ELEMENTS (fields));
  return FALSE;
}

static void
rb_plugin_relay_log (GObject    *object,
                     guint8      level,
                     const char *target,
                     const char *message)
{
  gboolean handled = FALSE;

  if (level > RB_LOG_LEVEL_OFF)
    level = RB_LOG_LEVEL_ERROR;
  g_signal_emit (object, signals[SIGNAL_LOG], 0, (RbLogLevel) level, target, message, &handled);
}

static void
rb_plugin_relay_state_changed (GObject *object,
                               gint     old_state,
                               gint     new_state)
{
  g_object_notify_by_pspec (object, properties[PROP_STATE]);
  g_signal_emit (object, signals[SIGNAL_STATE_CHANGED], 0,
                 (RbLifecycleState) old_state, (RbLifecycleState) new_state);
}

static void
rb_plugin_relay_logs_dropped (GObject  *object,
                              gboolean  first)
{
  /* Once per plugin, on the owner context, at a level no GLib setting
   * makes fatal (the count is the property). */
  if (first)
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                      "MESSAGE", "Plugin “%s” logs faster than its main context delivers "
                      "(more than %d messages or %d bytes waiting): dropping log messages "
                      "(see RbPlugin:dropped-log-count)",
                      RB_PLUGIN (object)->path, RB_RELAY_MAX_PENDING_LOGS,
                      RB_RELAY_MAX_PENDING_BYTES);
  g_object_notify_by_pspec (object, properties[PROP_DROPPED_LOG_COUNT]);
}

static const RbRelayFuncs rb_plugin_relay_funcs = {
  .log = rb_plugin_relay_log,
  .state_changed = rb_plugin_relay_state_changed,
  .logs_dropped = rb_plugin_relay_logs_dropped,
};

/**
 * rb_plugin_new:
 * @path: (type filename): path of the plugin library
 * @config: (nullable): the configuration, or %NULL for the defaults
 * @cancellable: (nullable): a #GCancellable, checked before loading
 * @error: return location for a #GError
 *
 * Loads the plugin library at @path (or reuses it if it is already
 * loaded) and starts a plugin instance in it. The plugin's start-up code
 * runs on the calling thread; see [func@RustBridge.Plugin.new_async] to
 * start it without blocking.
 *
 * Errors: %RB_PLUGIN_ERROR_LOAD_FAILED if the file is missing, is not a
 * shared library or lacks a required symbol; %RB_PLUGIN_ERROR_INIT_FAILED
 * if the plugin refused to start.
 *
 * Returns: (transfer full): the active plugin, or %NULL with @error set
 */
RbPlugin *
rb_plugin_new (const char      *path,
               RbPluginConfig  *config,
               GCancellable    *cancellable,
               GError         **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (RB_TYPE_PLUGIN, cancellable, error,
                         "path", path,
                         "config", config,
                         NULL);
}

/**
 * rb_plugin_new_async:
 * @path: (type filename): path of the plugin library
 * @config: (nullable): the configuration, or %NULL for the defaults
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the plugin is ready
 * @user_data: data for @callback
 *
 * Loads and starts a plugin in a thread; the plugin's
 * [property@RustBridge.Plugin:state] goes from `STARTING` to `ACTIVE`
 * (notified in the caller's main context).
 */
void
rb_plugin_new_async (const char          *path,
                     RbPluginConfig      *config,
                     int                  io_priority,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_return_if_fail (path != NULL);
  g_return_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config));

  g_async_initable_new_async (RB_TYPE_PLUGIN, io_priority, cancellable, callback, user_data,
                              "path", path,
                              "config", config,
                              NULL);
}

/**
 * rb_plugin_new_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@RustBridge.Plugin.new_async].
 *
 * Returns: (transfer full): the active plugin, or %NULL with @error set
 */
RbPlugin *
rb_plugin_new_finish (GAsyncResult  *result,
                      GError       **error)
{
  g_autoptr(GObject) source_object = NULL;
  GObject *object;

  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source_object = g_async_result_get_source_object (result);
  object = g_async_initable_new_finish (G_ASYNC_INITABLE (source_object), result, error);
  return object != NULL ? RB_PLUGIN (object) : NULL;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */

/**
 * rb_plugin_get_path:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:path].
 *
 * Returns: (type filename): the path the plugin was loaded from
 */
const char *
rb_plugin_get_path (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  return self->path;
}

/**
 * rb_plugin_get_config:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:config].
 *
 * Returns: (transfer none) (nullable): the configuration the plugin was
 *   created with (%NULL before it was initialised without one)
 */
RbPluginConfig *
rb_plugin_get_config (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  return self->config;
}

/**
 * rb_plugin_get_state:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:state].
 *
 * Returns: the lifecycle state as the host tracks it
 */
RbLifecycleState
rb_plugin_get_state (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), RB_LIFECYCLE_STATE_FAILED);
  return g_atomic_int_get (&self->state);
}

/**
 * rb_plugin_get_log_level:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:log-level].
 *
 * Returns: the log level last given to the plugin
 */
RbLogLevel
rb_plugin_get_log_level (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), RB_LOG_LEVEL_INFO);
  return g_atomic_int_get (&self->log_level);
}

/**
 * rb_plugin_set_log_level:
 * @self: a #RbPlugin
 * @log_level: the new level
 *
 * Changes the plugin's log filter. The filter is global to the plugin
 * library: other plugins loaded from the same file change too. Does
 * nothing to a plugin that is not active.
 */
void
rb_plugin_set_log_level (RbPlugin   *self,
                         RbLogLevel  log_level)
{
  RbInflightSlot *ticket;

  g_return_if_fail (RB_IS_PLUGIN (self));
  g_return_if_fail (log_level <= RB_LOG_LEVEL_OFF);

  if (!rb_plugin_admit (self, &ticket, NULL))
    return;
  if (self->backend == RB_BACKEND_ISOLATED)
    rb_isolated_set_log_level (self->isolated, (guint8) log_level);
  else
    self->abi->plugin_set_log_level (self->handle, (uint8_t) log_level);
  rb_plugin_release (self, ticket);

  if (g_atomic_int_exchange (&self->log_level, log_level) != (gint) log_level)
    rb_relay_notify (self->relay, properties[PROP_LOG_LEVEL]);
}

/**
 * rb_plugin_get_rejected_request_count:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:rejected-request-count].
 *
 * Returns: calls rejected because of a concurrency limit: by the plugin
 *   (`max_concurrent_ops`) plus async calls refused because the queue was full
 */
guint64
rb_plugin_get_rejected_request_count (RbPlugin *self)
{
  RbInflightSlot *ticket;
  guint64 count;

  g_return_val_if_fail (RB_IS_PLUGIN (self), 0);

  count = __atomic_load_n (&self->host_rejected, __ATOMIC_RELAXED);
  if (rb_plugin_admit (self, &ticket, NULL))
    {
      if (self->backend == RB_BACKEND_ISOLATED)
        count += rb_isolated_get_rejected_count (self->isolated);
      else
        count += self->abi->plugin_get_rejected_count (self->handle);
      rb_plugin_release (self, ticket);
    }
  return count;
}

/**
 * rb_plugin_get_has_binary_transport:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:has-binary-transport].
 *
 * Returns: whether the plugin exports the binary transport
 *   ([method@RustBridge.Plugin.call_raw])
 */
gboolean
rb_plugin_get_has_binary_transport (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), FALSE);
  if (self->backend == RB_BACKEND_ISOLATED)
    return self->isolated_has_raw;
  return self->library != NULL && rb_library_has_raw (self->library);
}

/**
 * rb_plugin_get_crash_count:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:crash-count].
 *
 * Returns: how many times the plugin's helper process died (isolated
 *   plugins; always 0 for a plugin in the application's process)
 */
guint
rb_plugin_get_crash_count (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), 0);
  return (guint) g_atomic_int_get (&self->crash_count);
}

/**
 * rb_plugin_get_dropped_log_count:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:dropped-log-count].
 *
 * Returns: log messages dropped because the owner context did not deliver
 *   them fast enough (more than 4096 messages or 8 MiB were waiting)
 */
guint64
rb_plugin_get_dropped_log_count (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), 0);
  return rb_relay_get_dropped (self->relay);
}

/**
 * rb_plugin_get_bundle_name:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:bundle-name].
 *
 * Returns: (nullable): the name of the bundle the plugin was loaded from,
 *   or %NULL if it was loaded from a library file
 */
const char *
rb_plugin_get_bundle_name (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  return self->bundle_name;
}

/**
 * rb_plugin_get_bundle_version:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:bundle-version].
 *
 * Returns: (nullable): the version of the bundle the plugin was loaded
 *   from, or %NULL if it was loaded from a library file
 */
const char *
rb_plugin_get_bundle_version (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  return self->bundle_version;
}

static gboolean
replace_str (char       **field,
             const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

void
rb_plugin_set_bundle_info (RbPlugin   *self,
                           const char *bundle_name,
                           const char *bundle_version)
{
  g_return_if_fail (RB_IS_PLUGIN (self));

  if (replace_str (&self->bundle_name, bundle_name))
    rb_relay_notify (self->relay, properties[PROP_BUNDLE_NAME]);
  if (replace_str (&self->bundle_version, bundle_version))
    rb_relay_notify (self->relay, properties[PROP_BUNDLE_VERSION]);
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
rb_plugin_dispose (GObject *object)
{
  RbPlugin *self = RB_PLUGIN (object);

  /* Dropped before its owner context ran (or in the load's callback):
   * what is held is delivered now, before the shutdown's state changes,
   * to the handlers connected so far. */
  if (rb_relay_on_owner_context (self->relay))
    rb_relay_flush (self->relay);
  else
    rb_plugin_release_start_up (self);

  /* Async calls in flight hold references, so none is running here. */
  {
    g_autoptr(GError) error = NULL;

    if (!rb_plugin_do_shutdown (self, &error))
      g_debug ("%s", error->message);
  }

  if (self->library != NULL && self->sink.library != NULL)
    {
      rb_library_remove_sink (self->library, &self->sink);
      self->sink.library = NULL;
    }

  G_OBJECT_CLASS (rb_plugin_parent_class)->dispose (object);
}

static void
rb_plugin_finalize (GObject *object)
{
  RbPlugin *self = RB_PLUGIN (object);

  /* Queued calls hold references: none is left here. */
  g_clear_pointer (&self->calls, rb_call_queue_free);
  g_clear_pointer (&self->owner, rb_dispatcher_unref);
  g_clear_pointer (&self->relay, rb_relay_unref);
  g_clear_error (&self->init_error);
  g_clear_error (&self->crash_error);
  g_clear_pointer (&self->isolated, rb_isolated_free);
  g_clear_pointer (&self->reload, rb_plugin_reload_free);
  g_clear_object (&self->config);
  g_free (self->path);
  g_free (self->bundle_name);
  g_free (self->bundle_version);
  rb_inflight_clear (&self->inflight);
  g_mutex_clear (&self->shutdown_lock);
  g_mutex_clear (&self->handle_lock);
  g_mutex_clear (&self->crash_lock);

  G_OBJECT_CLASS (rb_plugin_parent_class)->finalize (object);
}

static void
rb_plugin_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  RbPlugin *self = RB_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_STATE:
      g_value_set_enum (value, rb_plugin_get_state (self));
      break;
    case PROP_LOG_LEVEL:
      g_value_set_enum (value, rb_plugin_get_log_level (self));
      break;
    case PROP_REJECTED_REQUEST_COUNT:
      g_value_set_uint64 (value, rb_plugin_get_rejected_request_count (self));
      break;
    case PROP_HAS_BINARY_TRANSPORT:
      g_value_set_boolean (value, rb_plugin_get_has_binary_transport (self));
      break;
    case PROP_BUNDLE_NAME:
      g_value_set_string (value, self->bundle_name);
      break;
    case PROP_BUNDLE_VERSION:
      g_value_set_string (value, self->bundle_version);
      break;
    case PROP_DROPPED_LOG_COUNT:
      g_value_set_uint64 (value, rb_plugin_get_dropped_log_count (self));
      break;
    case PROP_CRASH_COUNT:
      g_value_set_uint (value, rb_plugin_get_crash_count (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_plugin_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  RbPlugin *self = RB_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_CONFIG:
      /* A private copy: later changes to the caller's object must not
       * change what this plugin reports. */
      if (g_value_get_object (value) != NULL)
        self->config = rb_plugin_config_copy (g_value_get_object (value));
      break;
    case PROP_LOG_LEVEL:
      rb_plugin_set_log_level (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_plugin_class_init (RbPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rb_plugin_dispose;
  object_class->finalize = rb_plugin_finalize;
  object_class->get_property = rb_plugin_get_property;
  object_class->set_property = rb_plugin_set_property;

  /**
   * RbPlugin:path: (type filename)
   *
   * The path of the plugin library.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:config:
   *
   * The configuration given at creation (a copy of it).
   */
  properties[PROP_CONFIG] =
    g_param_spec_object ("config", NULL, NULL, RB_TYPE_PLUGIN_CONFIG,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:state:
   *
   * The lifecycle state. Every change is notified (and
   * [signal@RustBridge.Plugin::state-changed] emitted) in the owner context.
   *
   * A `notify::state` handler reads the state when the notification is
   * delivered: when two changes are delivered together (a shutdown on
   * another thread, the start-up pair) both notifications show the final
   * state. Follow transitions with [signal@RustBridge.Plugin::state-changed],
   * which carries each one's states; use the notification to refresh a
   * view of the current state ([threading](threading.html) has an example).
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       RB_TYPE_LIFECYCLE_STATE, RB_LIFECYCLE_STATE_INSTALLED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:log-level:
   *
   * The plugin's log filter; writing it forwards the level to the plugin
   * (library-wide, see [method@RustBridge.Plugin.set_log_level]).
   */
  properties[PROP_LOG_LEVEL] =
    g_param_spec_enum ("log-level", NULL, NULL,
                       RB_TYPE_LOG_LEVEL, RB_LOG_LEVEL_INFO,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:rejected-request-count:
   *
   * Calls rejected for exceeding a concurrency limit: read from the plugin
   * (and the host's own queue count) on every read; not notified.
   */
  properties[PROP_REJECTED_REQUEST_COUNT] =
    g_param_spec_uint64 ("rejected-request-count", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:has-binary-transport:
   *
   * Whether the plugin exports the binary transport.
   */
  properties[PROP_HAS_BINARY_TRANSPORT] =
    g_param_spec_boolean ("has-binary-transport", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:bundle-name:
   *
   * The name of the bundle the plugin was loaded from, if any.
   */
  properties[PROP_BUNDLE_NAME] =
    g_param_spec_string ("bundle-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:bundle-version:
   *
   * The version of the bundle the plugin was loaded from, if any.
   */
  properties[PROP_BUNDLE_VERSION] =
    g_param_spec_string ("bundle-version", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:dropped-log-count:
   *
   * Log messages this plugin dropped because its owner context did not
   * deliver them fast enough: more than 4096 messages, or more than 8 MiB,
   * were waiting. Notified in the owner context (coalesced: one
   * notification may stand for many drops).
   */
  properties[PROP_DROPPED_LOG_COUNT] =
    g_param_spec_uint64 ("dropped-log-count", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:crash-count:
   *
   * How many times the helper process of an isolated plugin
   * ([property@RustBridge.PluginConfig:isolation]) died on its own: a
   * crash, an exit, a kill by the system, or a kill after a call
   * timeout. Each one turns the plugin `FAILED` (its calls fail with
   * %RB_PLUGIN_ERROR_CRASHED until [method@RustBridge.Plugin.restart]).
   * Notified in the owner context. Always 0 without isolation.
   */
  properties[PROP_CRASH_COUNT] =
    g_param_spec_uint ("crash-count", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  rb_plugin_crash_count_pspec = properties[PROP_CRASH_COUNT];

  /**
   * RbPlugin::log:
   * @self: the plugin
   * @level: the message's level
   * @target: where in the plugin it was logged (e.g. a Rust module path)
   * @message: the message
   *
   * A message the plugin logged, emitted in the owner context (the
   * thread-default main context when the plugin was created), never in a
   * plugin thread. A message logged while a call of this plugin runs on
   * the calling thread goes to this plugin only; messages from the
   * plugin's own threads carry no instance and go to every live plugin of
   * the same library file.
   *
   * A message longer than 64 KiB is cut there and ends with a marker
   * giving its full length; invalid UTF-8 is replaced. At most 4096
   * messages or 8 MiB may wait for the owner context per plugin: more are
   * dropped and counted in [property@RustBridge.Plugin:dropped-log-count].
   *
   * Messages the plugin logs while it starts (in `plugin_create` and
   * `plugin_init`) are kept until its creator has the object: a handler
   * connected right after [ctor@RustBridge.Plugin.new] returns, or in the
   * callback of [func@RustBridge.Plugin.new_async] or
   * [method@RustBridge.Bundle.load_plugin_async], receives them, in order
   * with the start-up [signal@RustBridge.Plugin::state-changed] emissions,
   * once the owner context runs again.
   *
   * A handler returns %TRUE to take the message: the emission stops
   * there, and the message does not reach GLib's log. A handler that
   * returns %FALSE (in Python and JavaScript, also one that returns
   * nothing) leaves it to the next handler and, in the end, to the
   * default handler. In C:
   *
   * ```c
   * static gboolean
   * on_log (RbPlugin *plugin, RbLogLevel level, const char *target,
   *         const char *message, gpointer user_data)
   * {
   *   append_to_log_view (user_data, level, message);
   *   return TRUE;  // taken: not printed by GLib
   * }
   * ```
   *
   * In Python: `plugin.connect('log', lambda p, level, target, message: view.add(message) or True)`;
   * in JavaScript: `plugin.connect('log', (_p, level, target, message) => { view.add(message); return true; })`.
   *
   * The default handler runs when no handler took the message. It passes
   * the message to GLib's structured logging with the log domain
   * `RustBridge` and the fields `RB_PLUGIN_TARGET` and `RB_PLUGIN_PATH`.
   * Trace and debug map to %G_LOG_LEVEL_DEBUG, info to
   * %G_LOG_LEVEL_INFO, warn and error to %G_LOG_LEVEL_MESSAGE — never to
   * a level GLib can make fatal — with the severity kept in the
   * `PRIORITY` field (4 for warn, 3 for error). Handlers connected with
   * `G_CONNECT_AFTER` (`connect_after()` in Python and JavaScript) run
   * after it: they see every message that no handler took, once it has
   * gone to GLib's log, and what they return changes nothing.
   *
   * Returns: %TRUE if the handler took the message (stop the emission and
   *   keep it out of GLib's log), %FALSE to pass it on
   */
  signals[SIGNAL_LOG] =
    g_signal_new_class_handler ("log",
                                G_TYPE_FROM_CLASS (klass),
                                G_SIGNAL_RUN_LAST,
                                G_CALLBACK (rb_plugin_real_log),
                                g_signal_accumulator_true_handled, NULL, NULL,
                                G_TYPE_BOOLEAN, 3,
                                RB_TYPE_LOG_LEVEL,
                                G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                                G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * RbPlugin::state-changed:
   * @self: the plugin
   * @old_state: the previous state
   * @new_state: the new state
   *
   * Emitted on every lifecycle transition, together with the notification
   * of [property@RustBridge.Plugin:state], in the owner context. Unlike a
   * `notify::state` handler, which reads the state at delivery time, a
   * handler sees every transition, in order. The start-up transitions
   * (`INSTALLED` to `STARTING` to `ACTIVE`) reach handlers connected right
   * after the load (see [signal@RustBridge.Plugin::log]).
   */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2,
                  RB_TYPE_LIFECYCLE_STATE,
                  RB_TYPE_LIFECYCLE_STATE);
}

static void
rb_plugin_init (RbPlugin *self)
{
  self->state = RB_LIFECYCLE_STATE_INSTALLED;
  self->log_level = RB_LOG_LEVEL_INFO;
  rb_inflight_init (&self->inflight);
  g_mutex_init (&self->shutdown_lock);
  g_mutex_init (&self->handle_lock);
  g_mutex_init (&self->crash_lock);
  self->owner_thread = g_thread_self ();
  self->owner = rb_dispatcher_get_thread_default ();
  self->relay = rb_relay_new (G_OBJECT (self), self->owner, self->owner_thread,
                              &rb_plugin_relay_funcs);
  /* Start-up events wait for the creator (see rb_plugin_release_start_up()). */
  rb_relay_hold (self->relay);
  self->start_up_held = TRUE;
}
