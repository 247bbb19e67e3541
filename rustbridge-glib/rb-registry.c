/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "rb-enum-types.h"
#include "rb-error.h"
#include "rb-registry.h"
#include "rb-registry-private.h"

/**
 * RbRegistry:
 *
 * The plugin bundles installed for an application, as a [iface@Gio.ListModel]
 * of [class@RustBridge.Bundle] sorted by name, then version; and the
 * plugins loaded from them, by name.
 *
 * Bundles (`*.rbp` files not starting with a dot) are looked for, without
 * recursing, in `$XDG_DATA_HOME/<app-id>/plugins`, in
 * `<dir>/<app-id>/plugins` for each `<dir>` of `$XDG_DATA_DIRS`, and in the
 * paths added with [method@RustBridge.Registry.add_search_path], in this
 * order. [method@RustBridge.Registry.rescan] reads them; scanning only
 * reads each bundle's index and manifest and checks its manifest
 * signature (see [method@RustBridge.Bundle.get_unavailable_reason]):
 * nothing is extracted, mapped or run. A file that is not a bundle (not
 * a ZIP archive, no valid manifest, unreadable, a broken or looping link)
 * is left out of the list, with a debug message
 * (`G_MESSAGES_DEBUG=RustBridge`); a bundle that cannot be loaded here is
 * listed with [property@RustBridge.Bundle:available] %FALSE and a reason.
 * That includes a bundle of a format version (`bundle_version`) this
 * library does not read (%RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, naming the
 * file and the version): it is listed under its manifest's
 * `plugin.name` and `plugin.version` (the file name and an empty version
 * if those are not strings), and has nothing else. At most 10000 names
 * of each search path are read.
 *
 * Two bundles with the same plugin name: [method@RustBridge.Registry.load_plugin]
 * takes the available one with the highest version; for equal versions,
 * the one in the earlier search path (the user's directory before the
 * system's, those before added paths), then the first by file name. Both
 * are listed.
 *
 * A small cache in `$XDG_CACHE_HOME/rustbridge-glib/` remembers, per file
 * (path, device, inode, size, modification and change times), whether it
 * is a bundle, its manifest and why it is unavailable, so a start-up with
 * many installed bundles reads only the files that changed. The verdicts
 * are reused only under the same trust inputs (this library's version,
 * the verify mode, [property@RustBridge.Registry:trusted-keys-dir] and
 * the files of every trusted-keys directory); the cache is read as
 * untrusted input, and whatever it says, loading a plugin verifies the
 * bundle in full again: a cache can at worst show a bundle with the wrong
 * availability or metadata, never get unverified code loaded.
 *
 * [property@RustBridge.Registry:enabled-plugins] is meant for
 * g_settings_bind(): setting it loads the named plugins (with the default
 * configuration) and unloads loaded plugins it does not name.
 *
 * With [property@RustBridge.Registry:watch], changes in the search paths
 * are picked up by themselves: once no file there has changed for a
 * quarter of a second, the registry rescans (a file still being written
 * is not opened, or fails to open as a ZIP archive, and is looked at again
 * when it changes).
 *
 * A registry is used from one thread: its signals and
 * [signal@Gio.ListModel::items-changed] are emitted in the thread-default
 * main context of the thread that made it.
 *
 * ```c
 * g_autoptr(RbRegistry) registry = rb_registry_new ("org.example.App");
 * g_autoptr(GSettings) settings = g_settings_new ("org.example.App");
 * rb_registry_rescan (registry, NULL, &error);
 * g_settings_bind (settings, "enabled-plugins", registry, "enabled-plugins", G_SETTINGS_BIND_DEFAULT);
 * ```
 */

#define SETTLE_MS 250

static void rb_registry_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RbRegistry, rb_registry, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, rb_registry_list_model_init))

GParamSpec *rb_registry_properties[RB_REGISTRY_N_PROPS];
guint rb_registry_signals[RB_REGISTRY_N_SIGNALS];

/* ------------------------------------------------------------------ */
/* GListModel                                                          */

static GType
rb_registry_get_item_type (GListModel *model)
{
  return RB_TYPE_BUNDLE;
}

static guint
rb_registry_get_n_items (GListModel *model)
{
  return RB_REGISTRY (model)->items->len;
}

static gpointer
rb_registry_get_item (GListModel *model,
                      guint       position)
{
  RbRegistry *self = RB_REGISTRY (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (((RbRegistryEntry *) g_ptr_array_index (self->items, position))->bundle);
}

static void
rb_registry_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = rb_registry_get_item_type;
  iface->get_n_items = rb_registry_get_n_items;
  iface->get_item = rb_registry_get_item;
}

/* ------------------------------------------------------------------ */
/* Search paths                                                        */

static gboolean
add_path (RbRegistry *self,
          const char *path)
{
  for (guint i = 0; i < self->search_paths->len; i++)
    if (strcmp (g_ptr_array_index (self->search_paths, i), path) == 0)
      return FALSE;
  g_ptr_array_add (self->search_paths, g_strdup (path));
  return TRUE;
}

/* An application id names one directory: nothing that climbs out. */
static gboolean
app_id_is_safe (const char *app_id)
{
  return app_id != NULL && *app_id != '\0' && strchr (app_id, '/') == NULL &&
         strcmp (app_id, ".") != 0 && strcmp (app_id, "..") != 0;
}

/**
 * rb_registry_new:
 * @app_id: the application's id (e.g. `org.example.App`), which names its
 *   plugin directories
 *
 * Makes a registry for @app_id, whose search paths are
 * `$XDG_DATA_HOME/<app_id>/plugins` and `<dir>/<app_id>/plugins` for each
 * directory of `$XDG_DATA_DIRS`. The list is empty until
 * [method@RustBridge.Registry.rescan].
 *
 * Returns: (transfer full): a new registry
 */
RbRegistry *
rb_registry_new (const char *app_id)
{
  g_return_val_if_fail (app_id_is_safe (app_id), NULL);

  return g_object_new (RB_TYPE_REGISTRY, "app-id", app_id, NULL);
}

/**
 * rb_registry_get_app_id:
 * @self: a #RbRegistry
 *
 * Gets [property@RustBridge.Registry:app-id].
 *
 * Returns: the application id
 */
const char *
rb_registry_get_app_id (RbRegistry *self)
{
  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);
  return self->app_id;
}

/**
 * rb_registry_add_search_path:
 * @self: a #RbRegistry
 * @path: (type filename): a directory, e.g. one in the application's own
 *   installation prefix
 *
 * Adds @path after the other search paths (a path already there is not
 * added again). It is read by the next scan.
 */
void
rb_registry_add_search_path (RbRegistry *self,
                             const char *path)
{
  g_return_if_fail (RB_IS_REGISTRY (self));
  g_return_if_fail (path != NULL);

  if (!add_path (self, path))
    return;
  if (self->watch)
    {
      rb_registry_watch_stop (self);
      rb_registry_watch_start (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), rb_registry_properties[RB_REGISTRY_PROP_SEARCH_PATHS]);
}

/**
 * rb_registry_dup_search_paths:
 * @self: a #RbRegistry
 *
 * Gets [property@RustBridge.Registry:search-paths].
 *
 * Returns: (transfer full) (array zero-terminated=1) (element-type filename):
 *   the search paths, in the order they are searched
 */
GStrv
rb_registry_dup_search_paths (RbRegistry *self)
{
  GStrv paths;

  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);

  paths = g_new0 (char *, self->search_paths->len + 1);
  for (guint i = 0; i < self->search_paths->len; i++)
    paths[i] = g_strdup (g_ptr_array_index (self->search_paths, i));
  return paths;
}

/* ------------------------------------------------------------------ */
/* Settings                                                            */

/**
 * rb_registry_get_verify_mode:
 * @self: a #RbRegistry
 *
 * Gets [property@RustBridge.Registry:verify-mode].
 *
 * Returns: how the bundles' signatures are verified
 */
RbVerifyMode
rb_registry_get_verify_mode (RbRegistry *self)
{
  g_return_val_if_fail (RB_IS_REGISTRY (self), RB_VERIFY_MODE_STRICT);
  return self->verify_mode;
}

/**
 * rb_registry_set_verify_mode:
 * @self: a #RbRegistry
 * @mode: how the bundles' signatures are verified
 *
 * Sets [property@RustBridge.Registry:verify-mode].
 */
void
rb_registry_set_verify_mode (RbRegistry   *self,
                             RbVerifyMode  mode)
{
  g_return_if_fail (RB_IS_REGISTRY (self));
  g_return_if_fail (mode <= RB_VERIFY_MODE_SKIP);

  if (self->verify_mode == mode)
    return;
  self->verify_mode = mode;
  g_object_notify_by_pspec (G_OBJECT (self), rb_registry_properties[RB_REGISTRY_PROP_VERIFY_MODE]);
}

/**
 * rb_registry_get_trusted_keys_dir:
 * @self: a #RbRegistry
 *
 * Gets [property@RustBridge.Registry:trusted-keys-dir].
 *
 * Returns: (nullable) (type filename): the directory of trusted keys
 */
const char *
rb_registry_get_trusted_keys_dir (RbRegistry *self)
{
  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);
  return self->trusted_keys_dir;
}

/**
 * rb_registry_set_trusted_keys_dir:
 * @self: a #RbRegistry
 * @dir: (nullable) (type filename): a directory of minisign `.pub` files
 *
 * Sets [property@RustBridge.Registry:trusted-keys-dir].
 */
void
rb_registry_set_trusted_keys_dir (RbRegistry *self,
                                  const char *dir)
{
  g_return_if_fail (RB_IS_REGISTRY (self));

  if (g_strcmp0 (self->trusted_keys_dir, dir) == 0)
    return;
  g_free (self->trusted_keys_dir);
  self->trusted_keys_dir = g_strdup (dir);
  g_object_notify_by_pspec (G_OBJECT (self), rb_registry_properties[RB_REGISTRY_PROP_TRUSTED_KEYS_DIR]);
}

/**
 * rb_registry_dup_enabled_plugins:
 * @self: a #RbRegistry
 *
 * Gets [property@RustBridge.Registry:enabled-plugins].
 *
 * Returns: (transfer full): the enabled plugins' names
 */
GStrv
rb_registry_dup_enabled_plugins (RbRegistry *self)
{
  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);
  return self->enabled != NULL ? g_strdupv (self->enabled) : g_new0 (char *, 1);
}

/**
 * rb_registry_set_enabled_plugins:
 * @self: a #RbRegistry
 * @names: (nullable) (array zero-terminated=1): plugin names, or %NULL for none
 *
 * Sets [property@RustBridge.Registry:enabled-plugins]: the named plugins
 * that are listed and available start loading (asynchronously), and
 * loaded plugins not named are unloaded.
 */
void
rb_registry_set_enabled_plugins (RbRegistry         *self,
                                 const char * const *names)
{
  const char * const empty[] = { NULL };

  g_return_if_fail (RB_IS_REGISTRY (self));

  if (names == NULL)
    names = empty;
  if (self->enabled != NULL && g_strv_equal ((const char * const *) self->enabled, names))
    return;
  g_strfreev (self->enabled);
  self->enabled = g_strdupv ((char **) names);
  g_object_notify_by_pspec (G_OBJECT (self), rb_registry_properties[RB_REGISTRY_PROP_ENABLED_PLUGINS]);
  rb_registry_reconcile (self, TRUE);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/**
 * rb_registry_dup_loaded_plugins:
 * @self: a #RbRegistry
 *
 * Gets [property@RustBridge.Registry:loaded-plugins].
 *
 * Returns: (transfer full): the loaded plugins' names, sorted
 */
GStrv
rb_registry_dup_loaded_plugins (RbRegistry *self)
{
  g_autofree char **keys = NULL;
  GStrv names;
  guint n;

  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);

  keys = (char **) g_hash_table_get_keys_as_array (self->loaded, &n);
  names = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    names[i] = g_strdup (keys[i]);
  qsort (names, n, sizeof (char *), compare_strings);
  return names;
}

/* ------------------------------------------------------------------ */
/* Watch                                                               */

static void
watch_scan_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  RbRegistry *self = RB_REGISTRY (source);

  rb_registry_rescan_finish (self, result, NULL);
  self->watch_scanning = FALSE;
  if (self->watch_again)
    {
      self->watch_again = FALSE;
      rb_registry_watch_changed (self);
    }
}

static gboolean
settled (gpointer user_data)
{
  RbRegistry *self = user_data;

  g_clear_pointer (&self->settle, g_source_unref);
  if (self->watch_scanning)
    {
      self->watch_again = TRUE;
      return G_SOURCE_REMOVE;
    }
  self->watch_scanning = TRUE;
  rb_registry_rescan_async (self, NULL, watch_scan_done, NULL);
  return G_SOURCE_REMOVE;
}

void
rb_registry_watch_changed (RbRegistry *self)
{
  /* Each change starts the wait again: a file being copied in is looked
   * at once nothing has changed for SETTLE_MS. */
  if (self->settle != NULL)
    {
      g_source_destroy (self->settle);
      g_clear_pointer (&self->settle, g_source_unref);
    }
  self->settle = g_timeout_source_new (SETTLE_MS);
  g_source_set_callback (self->settle, settled, self, NULL);
  g_source_set_static_name (self->settle, "[rustbridge-glib] registry settle");
  g_source_attach (self->settle, self->context);
}

static void
monitor_changed (GFileMonitor      *monitor,
                 GFile             *file,
                 GFile             *other,
                 GFileMonitorEvent  event,
                 gpointer           user_data)
{
  rb_registry_watch_changed (user_data);
}

void
rb_registry_watch_start (RbRegistry *self)
{
  /* Monitors deliver in the thread-default context at their creation:
   * the registry's. */
  g_main_context_push_thread_default (self->context);
  for (guint i = 0; i < self->search_paths->len; i++)
    {
      g_autoptr(GFile) dir = g_file_new_for_path (g_ptr_array_index (self->search_paths, i));
      g_autoptr(GError) error = NULL;
      GFileMonitor *monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);

      if (monitor == NULL)
        {
          g_debug ("Cannot watch %s: %s", (char *) g_ptr_array_index (self->search_paths, i), error->message);
          continue;
        }
      g_file_monitor_set_rate_limit (monitor, 100);
      g_signal_connect_object (monitor, "changed", G_CALLBACK (monitor_changed), self, 0);
      g_ptr_array_add (self->monitors, monitor);
    }
  g_main_context_pop_thread_default (self->context);
}

void
rb_registry_watch_stop (RbRegistry *self)
{
  for (guint i = 0; i < self->monitors->len; i++)
    g_file_monitor_cancel (g_ptr_array_index (self->monitors, i));
  g_ptr_array_set_size (self->monitors, 0);
  if (self->settle != NULL)
    {
      g_source_destroy (self->settle);
      g_clear_pointer (&self->settle, g_source_unref);
    }
}

/**
 * rb_registry_get_watch:
 * @self: a #RbRegistry
 *
 * Gets [property@RustBridge.Registry:watch].
 *
 * Returns: whether the search paths are watched
 */
gboolean
rb_registry_get_watch (RbRegistry *self)
{
  g_return_val_if_fail (RB_IS_REGISTRY (self), FALSE);
  return self->watch;
}

/**
 * rb_registry_set_watch:
 * @self: a #RbRegistry
 * @watch: whether to watch the search paths
 *
 * Sets [property@RustBridge.Registry:watch].
 */
void
rb_registry_set_watch (RbRegistry *self,
                       gboolean    watch)
{
  g_return_if_fail (RB_IS_REGISTRY (self));

  watch = !!watch;
  if (self->watch == watch)
    return;
  self->watch = watch;
  if (watch)
    rb_registry_watch_start (self);
  else
    rb_registry_watch_stop (self);
  g_object_notify_by_pspec (G_OBJECT (self), rb_registry_properties[RB_REGISTRY_PROP_WATCH]);
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
rb_registry_constructed (GObject *object)
{
  RbRegistry *self = RB_REGISTRY (object);

  G_OBJECT_CLASS (rb_registry_parent_class)->constructed (object);

  if (!app_id_is_safe (self->app_id))
    {
      g_debug ("Registry without a usable application id: no default search paths, no cache");
      return;
    }
  {
    g_autofree char *user = g_build_filename (g_get_user_data_dir (), self->app_id, "plugins", NULL);
    const char * const *system = g_get_system_data_dirs ();

    add_path (self, user);
    for (guint i = 0; system[i] != NULL; i++)
      {
        g_autofree char *path = g_build_filename (system[i], self->app_id, "plugins", NULL);
        add_path (self, path);
      }
  }
  self->cache_path = rb_registry_cache_path (self->app_id);
}

static void
rb_registry_dispose (GObject *object)
{
  RbRegistry *self = RB_REGISTRY (object);

  rb_registry_watch_stop (self);
  /* Plugins the application still holds stay active; the others shut
   * down as they are finalized. */
  g_hash_table_remove_all (self->loaded);

  G_OBJECT_CLASS (rb_registry_parent_class)->dispose (object);
}

static void
rb_registry_finalize (GObject *object)
{
  RbRegistry *self = RB_REGISTRY (object);

  g_free (self->app_id);
  g_ptr_array_unref (self->search_paths);
  g_free (self->trusted_keys_dir);
  g_strfreev (self->enabled);
  g_ptr_array_unref (self->items);
  g_hash_table_unref (self->entries);
  g_free (self->entries_trust);
  g_free (self->cache_path);
  g_hash_table_unref (self->loaded);
  g_hash_table_unref (self->pending);
  g_ptr_array_unref (self->monitors);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (rb_registry_parent_class)->finalize (object);
}

static void
rb_registry_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  RbRegistry *self = RB_REGISTRY (object);

  switch (prop_id)
    {
    case RB_REGISTRY_PROP_APP_ID: g_value_set_string (value, self->app_id); break;
    case RB_REGISTRY_PROP_SEARCH_PATHS: g_value_take_boxed (value, rb_registry_dup_search_paths (self)); break;
    case RB_REGISTRY_PROP_VERIFY_MODE: g_value_set_enum (value, self->verify_mode); break;
    case RB_REGISTRY_PROP_TRUSTED_KEYS_DIR: g_value_set_string (value, self->trusted_keys_dir); break;
    case RB_REGISTRY_PROP_ENABLED_PLUGINS: g_value_take_boxed (value, rb_registry_dup_enabled_plugins (self)); break;
    case RB_REGISTRY_PROP_LOADED_PLUGINS: g_value_take_boxed (value, rb_registry_dup_loaded_plugins (self)); break;
    case RB_REGISTRY_PROP_WATCH: g_value_set_boolean (value, self->watch); break;
    case RB_REGISTRY_PROP_ITEM_TYPE: g_value_set_gtype (value, RB_TYPE_BUNDLE); break;
    case RB_REGISTRY_PROP_N_ITEMS: g_value_set_uint (value, self->items->len); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_registry_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  RbRegistry *self = RB_REGISTRY (object);

  switch (prop_id)
    {
    case RB_REGISTRY_PROP_APP_ID: self->app_id = g_value_dup_string (value); break;
    case RB_REGISTRY_PROP_VERIFY_MODE: rb_registry_set_verify_mode (self, g_value_get_enum (value)); break;
    case RB_REGISTRY_PROP_TRUSTED_KEYS_DIR: rb_registry_set_trusted_keys_dir (self, g_value_get_string (value)); break;
    case RB_REGISTRY_PROP_ENABLED_PLUGINS:
      rb_registry_set_enabled_plugins (self, g_value_get_boxed (value));
      break;
    case RB_REGISTRY_PROP_WATCH: rb_registry_set_watch (self, g_value_get_boolean (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_registry_class_init (RbRegistryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = rb_registry_constructed;
  object_class->dispose = rb_registry_dispose;
  object_class->finalize = rb_registry_finalize;
  object_class->get_property = rb_registry_get_property;
  object_class->set_property = rb_registry_set_property;

  /**
   * RbRegistry:app-id:
   *
   * The application's id, which names its plugin directories.
   */
  rb_registry_properties[RB_REGISTRY_PROP_APP_ID] =
    g_param_spec_string ("app-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * RbRegistry:search-paths: (type GStrv)
   *
   * The directories searched for bundles, in order.
   */
  rb_registry_properties[RB_REGISTRY_PROP_SEARCH_PATHS] =
    g_param_spec_boxed ("search-paths", NULL, NULL, G_TYPE_STRV, ro);
  /**
   * RbRegistry:verify-mode:
   *
   * The [property@RustBridge.Bundle:verify-mode] of every bundle the
   * registry opens; the next scan decides availability with it.
   */
  rb_registry_properties[RB_REGISTRY_PROP_VERIFY_MODE] =
    g_param_spec_enum ("verify-mode", NULL, NULL, RB_TYPE_VERIFY_MODE, RB_VERIFY_MODE_STRICT, rw);
  /**
   * RbRegistry:trusted-keys-dir:
   *
   * The [property@RustBridge.Bundle:trusted-keys-dir] of every bundle the
   * registry opens; the next scan decides availability with it.
   */
  rb_registry_properties[RB_REGISTRY_PROP_TRUSTED_KEYS_DIR] =
    g_param_spec_string ("trusted-keys-dir", NULL, NULL, NULL, rw);
  /**
   * RbRegistry:enabled-plugins: (type GStrv)
   *
   * The names of the plugins the user enabled; bind it to a settings key
   * with g_settings_bind(). Setting it loads, asynchronously and with the
   * default configuration, the named plugins that are listed and
   * available (and, after each scan, those that became so), and unloads
   * loaded plugins it does not name. Failures are reported with
   * [signal@RustBridge.Registry::load-failed].
   */
  rb_registry_properties[RB_REGISTRY_PROP_ENABLED_PLUGINS] =
    g_param_spec_boxed ("enabled-plugins", NULL, NULL, G_TYPE_STRV, rw);
  /**
   * RbRegistry:loaded-plugins: (type GStrv)
   *
   * The names of the loaded plugins, sorted.
   */
  rb_registry_properties[RB_REGISTRY_PROP_LOADED_PLUGINS] =
    g_param_spec_boxed ("loaded-plugins", NULL, NULL, G_TYPE_STRV, ro);
  /**
   * RbRegistry:watch:
   *
   * Whether the search paths are watched, and rescanned when their files
   * change (once they have settled: see [class@RustBridge.Registry]).
   */
  rb_registry_properties[RB_REGISTRY_PROP_WATCH] =
    g_param_spec_boolean ("watch", NULL, NULL, FALSE, rw);
  /**
   * RbRegistry:item-type:
   *
   * The type of the items: [class@RustBridge.Bundle].
   */
  rb_registry_properties[RB_REGISTRY_PROP_ITEM_TYPE] =
    g_param_spec_gtype ("item-type", NULL, NULL, RB_TYPE_BUNDLE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * RbRegistry:n-items:
   *
   * The number of bundles listed.
   */
  rb_registry_properties[RB_REGISTRY_PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0, ro);

  g_object_class_install_properties (object_class, RB_REGISTRY_N_PROPS, rb_registry_properties);

  /**
   * RbRegistry::plugin-loaded:
   * @self: the registry
   * @bundle: the bundle it was loaded from
   * @plugin: the plugin
   *
   * A plugin was loaded (emitted in the registry's context).
   */
  rb_registry_signals[RB_REGISTRY_SIGNAL_PLUGIN_LOADED] =
    g_signal_new ("plugin-loaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, RB_TYPE_BUNDLE, RB_TYPE_PLUGIN);
  /**
   * RbRegistry::plugin-unloaded:
   * @self: the registry
   * @bundle: the bundle it was loaded from
   * @plugin: the plugin, shut down
   *
   * A plugin was unloaded and has shut down (emitted in the registry's
   * context).
   */
  rb_registry_signals[RB_REGISTRY_SIGNAL_PLUGIN_UNLOADED] =
    g_signal_new ("plugin-unloaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, RB_TYPE_BUNDLE, RB_TYPE_PLUGIN);
  /**
   * RbRegistry::plugin-reloaded:
   * @self: the registry
   * @old_bundle: the bundle the plugin ran from
   * @new_bundle: the bundle it runs from now
   * @plugin: the plugin (the same object)
   *
   * A loaded plugin's bundle was replaced and the plugin switched to the
   * new library (emitted in the registry's context).
   */
  rb_registry_signals[RB_REGISTRY_SIGNAL_PLUGIN_RELOADED] =
    g_signal_new ("plugin-reloaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, RB_TYPE_BUNDLE, RB_TYPE_BUNDLE, RB_TYPE_PLUGIN);
  /**
   * RbRegistry::reload-failed:
   * @self: the registry
   * @bundle: the bundle that replaced a loaded plugin's
   * @error: why it cannot be loaded
   *
   * A loaded plugin's bundle was replaced by one that cannot be loaded;
   * the loaded plugin keeps serving (emitted in the registry's context).
   */
  rb_registry_signals[RB_REGISTRY_SIGNAL_RELOAD_FAILED] =
    g_signal_new ("reload-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, RB_TYPE_BUNDLE, G_TYPE_ERROR);
  /**
   * RbRegistry::load-failed:
   * @self: the registry
   * @name: the plugin's name
   * @error: why it was not loaded
   *
   * An enabled plugin (see [property@RustBridge.Registry:enabled-plugins])
   * could not be loaded (emitted in the registry's context).
   */
  rb_registry_signals[RB_REGISTRY_SIGNAL_LOAD_FAILED] =
    g_signal_new ("load-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);
}

static void
rb_registry_init (RbRegistry *self)
{
  self->search_paths = g_ptr_array_new_with_free_func (g_free);
  self->verify_mode = RB_VERIFY_MODE_STRICT;
  self->items = g_ptr_array_new_with_free_func ((GDestroyNotify) rb_registry_entry_unref);
  self->entries = g_hash_table_new (g_str_hash, g_str_equal);
  self->loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rb_registry_loaded_free);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rb_registry_pending_free);
  self->monitors = g_ptr_array_new_with_free_func (g_object_unref);
  self->context = g_main_context_ref_thread_default ();
}
