/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RbRegistry: which bundle a name loads, loading and unloading, scanning
 * (rb-registry.c has the object and its overview). */
#include "config.h"

#include <string.h>

#include "rb-bundle-availability-private.h"
#include "rb-enum-types.h"
#include "rb-error.h"
#include "rb-registry-private.h"
#include "rb-registry-scan-private.h"

void
rb_registry_loaded_free (Loaded *loaded)
{
  g_clear_object (&loaded->plugin);
  g_clear_object (&loaded->bundle);
  g_free (loaded->path);
  g_clear_object (&loaded->next_bundle);
  g_free (loaded->next_path);
  g_free (loaded);
}

void
rb_registry_pending_free (Pending *pending)
{
  g_clear_object (&pending->bundle);
  g_ptr_array_unref (pending->tasks);
  g_free (pending);
}

/* ------------------------------------------------------------------ */
/* Which bundle a name loads                                           */

/* Whether @a should be loaded rather than @b (same name). */
static gboolean
entry_better (RbRegistryEntry *a,
              RbRegistryEntry *b)
{
  int c;

  if ((a->error == NULL) != (b->error == NULL))
    return a->error == NULL;
  c = rb_registry_compare_versions (rb_bundle_get_version (a->bundle), rb_bundle_get_version (b->bundle));
  if (c != 0)
    return c > 0;
  if (a->dir_index != b->dir_index)
    return a->dir_index < b->dir_index;
  return strcmp (a->path, b->path) < 0;
}

static RbRegistryEntry *
lookup_entry (RbRegistry *self,
              const char *name)
{
  RbRegistryEntry *best = NULL;

  for (guint i = 0; i < self->items->len; i++)
    {
      RbRegistryEntry *entry = g_ptr_array_index (self->items, i);

      if (g_strcmp0 (rb_bundle_get_name (entry->bundle), name) == 0 &&
          (best == NULL || entry_better (entry, best)))
        best = entry;
    }
  return best;
}

/**
 * rb_registry_lookup_bundle:
 * @self: a #RbRegistry
 * @name: a plugin name
 *
 * Finds the bundle [method@RustBridge.Registry.load_plugin] would load for
 * @name (see [class@RustBridge.Registry] for the choice between bundles of
 * the same name), or, if none of them is available, the one it would
 * report.
 *
 * Returns: (transfer none) (nullable): the bundle, or %NULL if no listed
 *   bundle has that name
 */
RbBundle *
rb_registry_lookup_bundle (RbRegistry *self,
                           const char *name)
{
  RbRegistryEntry *entry;

  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  entry = lookup_entry (self, name);
  return entry != NULL ? entry->bundle : NULL;
}

/* The entry to load for @name, or NULL with @error set. */
static RbRegistryEntry *
entry_to_load (RbRegistry  *self,
               const char  *name,
               GError     **error)
{
  RbRegistryEntry *entry = lookup_entry (self, name);

  if (entry == NULL)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND,
                   "No bundle of plugin “%s” in the search paths of %s", name, self->app_id);
      return NULL;
    }
  if (entry->error != NULL)
    {
      g_propagate_error (error, g_error_copy (entry->error));
      return NULL;
    }
  return entry;
}

/* ------------------------------------------------------------------ */
/* Loading and unloading                                               */

static void
record_loaded (RbRegistry      *self,
               const char      *name,
               RbRegistryEntry *entry,
               RbPlugin        *plugin)
{
  Loaded *loaded = g_new0 (Loaded, 1);

  loaded->plugin = g_object_ref (plugin);
  loaded->bundle = g_object_ref (entry->bundle);
  loaded->path = g_strdup (entry->path);
  loaded->st = entry->st;
  g_hash_table_replace (self->loaded, g_strdup (name), loaded);
  g_object_notify_by_pspec (G_OBJECT (self), rb_registry_properties[RB_REGISTRY_PROP_LOADED_PLUGINS]);
  g_signal_emit (self, rb_registry_signals[RB_REGISTRY_SIGNAL_PLUGIN_LOADED], 0, loaded->bundle, loaded->plugin);
}

/**
 * rb_registry_get_plugin:
 * @self: a #RbRegistry
 * @name: a plugin name
 *
 * Gets the plugin loaded under @name.
 *
 * Returns: (transfer none) (nullable): the plugin, or %NULL if it is not
 *   loaded
 */
RbPlugin *
rb_registry_get_plugin (RbRegistry *self,
                        const char *name)
{
  Loaded *loaded;

  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  loaded = g_hash_table_lookup (self->loaded, name);
  return loaded != NULL ? loaded->plugin : NULL;
}

/**
 * rb_registry_load_plugin:
 * @self: a #RbRegistry
 * @name: a plugin name
 * @config: (nullable): the plugin configuration, or %NULL for the defaults
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Loads the plugin @name from the bundle
 * [method@RustBridge.Registry.lookup_bundle] gives, with
 * [method@RustBridge.Bundle.load_plugin] (which verifies it in full), and
 * emits [signal@RustBridge.Registry::plugin-loaded]. A plugin already
 * loaded is returned as it is (@config is then not used).
 *
 * Returns: (transfer full): the plugin, or %NULL with @error set:
 *   %RB_BUNDLE_ERROR_NOT_FOUND if no listed bundle has that name, the
 *   bundle's unavailable reason, or why loading failed
 */
RbPlugin *
rb_registry_load_plugin (RbRegistry      *self,
                         const char      *name,
                         RbPluginConfig  *config,
                         GCancellable    *cancellable,
                         GError         **error)
{
  g_autoptr(RbRegistryEntry) entry = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  RbPlugin *existing;

  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((existing = rb_registry_get_plugin (self, name)) != NULL)
    return g_object_ref (existing);
  entry = entry_to_load (self, name, error);
  if (entry == NULL)
    return NULL;
  rb_registry_entry_ref (entry);
  plugin = rb_bundle_load_plugin (entry->bundle, NULL, config, cancellable, error);
  if (plugin == NULL)
    return NULL;
  record_loaded (self, name, entry, plugin);
  return g_steal_pointer (&plugin);
}

typedef struct {
  RbRegistry      *registry;
  char            *name;
  RbRegistryEntry *entry;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_object_unref (data->registry);
  g_free (data->name);
  rb_registry_entry_unref (data->entry);
  g_free (data);
}

static gboolean
name_enabled (RbRegistry *self,
              const char *name)
{
  return self->enabled != NULL && g_strv_contains ((const char * const *) self->enabled, name);
}

static void
load_ready (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  LoadData *data = user_data;
  RbRegistry *self = data->registry;
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = rb_bundle_load_plugin_finish (RB_BUNDLE (source), result, &error);
  Pending *pending = NULL;
  RbPlugin *existing;
  gboolean for_enabled;
  g_autoptr(GPtrArray) tasks = NULL;
  g_autofree char *key = NULL;

  g_hash_table_steal_extended (self->pending, data->name, (gpointer *) &key, (gpointer *) &pending);
  g_assert (pending != NULL);
  tasks = g_ptr_array_ref (pending->tasks);
  for_enabled = pending->for_enabled;
  rb_registry_pending_free (pending);

  if (plugin != NULL)
    {
      if ((existing = rb_registry_get_plugin (self, data->name)) != NULL)
        g_set_object (&plugin, existing);   /* loaded meanwhile (synchronously): that one stays */
      else if (tasks->len > 0 || !for_enabled || name_enabled (self, data->name))
        record_loaded (self, data->name, data->entry, plugin);
      else
        rb_plugin_shutdown_async (plugin, NULL, NULL, NULL);   /* disabled while it loaded */
    }
  else if (for_enabled)
    g_signal_emit (self, rb_registry_signals[RB_REGISTRY_SIGNAL_LOAD_FAILED], 0, data->name, error);

  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (plugin != NULL)
        g_task_return_pointer (task, g_object_ref (plugin), g_object_unref);
      else
        g_task_return_error (task, g_error_copy (error));
    }
  load_data_free (data);
}

/* Starts loading @entry as @name, or joins the load already running. */
static void
start_load (RbRegistry      *self,
            const char      *name,
            RbRegistryEntry *entry,
            RbPluginConfig  *config,
            GCancellable    *cancellable,
            GTask           *task)
{
  Pending *pending = g_hash_table_lookup (self->pending, name);
  LoadData *data;

  if (pending == NULL)
    {
      pending = g_new0 (Pending, 1);
      pending->bundle = g_object_ref (entry->bundle);
      pending->tasks = g_ptr_array_new_with_free_func (g_object_unref);
      g_hash_table_insert (self->pending, g_strdup (name), pending);
      data = g_new0 (LoadData, 1);
      data->registry = g_object_ref (self);
      data->name = g_strdup (name);
      data->entry = rb_registry_entry_ref (entry);
      rb_bundle_load_plugin_async (entry->bundle, NULL, config, cancellable, load_ready, data);
    }
  if (task != NULL)
    g_ptr_array_add (pending->tasks, g_object_ref (task));
  else
    pending->for_enabled = TRUE;
}

/**
 * rb_registry_load_plugin_async:
 * @self: a #RbRegistry
 * @name: a plugin name
 * @config: (nullable): the plugin configuration, or %NULL for the defaults
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the plugin is loaded
 * @user_data: data for @callback
 *
 * Does [method@RustBridge.Registry.load_plugin] without blocking. Calls
 * for a name whose load is under way share it (and its @config and
 * @cancellable).
 */
void
rb_registry_load_plugin_async (RbRegistry          *self,
                               const char          *name,
                               RbPluginConfig      *config,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RbRegistryEntry *entry = NULL;
  RbPlugin *existing;
  GError *error = NULL;

  g_return_if_fail (RB_IS_REGISTRY (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_registry_load_plugin_async);
  if ((existing = rb_registry_get_plugin (self, name)) != NULL)
    {
      g_task_return_pointer (task, g_object_ref (existing), g_object_unref);
      return;
    }
  if (!g_hash_table_contains (self->pending, name) && (entry = entry_to_load (self, name, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  start_load (self, name, g_hash_table_contains (self->pending, name) ? NULL : entry, config, cancellable, task);
}

/**
 * rb_registry_load_plugin_finish:
 * @self: a #RbRegistry
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Registry.load_plugin_async].
 *
 * Returns: (transfer full): the plugin, or %NULL with @error set
 */
RbPlugin *
rb_registry_load_plugin_finish (RbRegistry    *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (RB_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_registry_load_plugin_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Takes @name out of the loaded plugins; NULL with @error set if it is
 * not loaded. */
static Loaded *
take_loaded (RbRegistry  *self,
             const char  *name,
             GError     **error)
{
  g_autofree char *key = NULL;
  Loaded *loaded = NULL;

  if (!g_hash_table_steal_extended (self->loaded, name, (gpointer *) &key, (gpointer *) &loaded))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE, "Plugin “%s” is not loaded", name);
      return NULL;
    }
  g_object_notify_by_pspec (G_OBJECT (self), rb_registry_properties[RB_REGISTRY_PROP_LOADED_PLUGINS]);
  return loaded;
}

/**
 * rb_registry_unload_plugin:
 * @self: a #RbRegistry
 * @name: a plugin name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Shuts the plugin loaded under @name down with
 * [method@RustBridge.Plugin.shutdown] and emits
 * [signal@RustBridge.Registry::plugin-unloaded]. It is no longer loaded
 * afterwards even if its shutdown failed.
 *
 * Returns: %TRUE if it shut down cleanly, or %FALSE with @error set
 *   (%RB_PLUGIN_ERROR_INVALID_STATE if it was not loaded)
 */
gboolean
rb_registry_unload_plugin (RbRegistry    *self,
                           const char    *name,
                           GCancellable  *cancellable,
                           GError       **error)
{
  Loaded *loaded;
  gboolean ok;

  g_return_val_if_fail (RB_IS_REGISTRY (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if ((loaded = take_loaded (self, name, error)) == NULL)
    return FALSE;
  ok = rb_plugin_shutdown (loaded->plugin, cancellable, error);
  g_signal_emit (self, rb_registry_signals[RB_REGISTRY_SIGNAL_PLUGIN_UNLOADED], 0, loaded->bundle, loaded->plugin);
  rb_registry_loaded_free (loaded);
  return ok;
}

static void
unload_ready (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Loaded *loaded = g_task_get_task_data (task);
  GError *error = NULL;

  if (!rb_plugin_shutdown_finish (RB_PLUGIN (source), result, &error))
    g_debug ("Plugin %s: %s", rb_plugin_get_path (RB_PLUGIN (source)), error->message);
  g_signal_emit (g_task_get_source_object (task), rb_registry_signals[RB_REGISTRY_SIGNAL_PLUGIN_UNLOADED], 0, loaded->bundle,
                 loaded->plugin);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * rb_registry_unload_plugin_async:
 * @self: a #RbRegistry
 * @name: a plugin name
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the plugin has shut down
 * @user_data: data for @callback
 *
 * Does [method@RustBridge.Registry.unload_plugin] without blocking: the
 * plugin is no longer loaded at once (the loaded-plugins property says
 * so), and [signal@RustBridge.Registry::plugin-unloaded] is emitted when
 * it has shut down.
 */
void
rb_registry_unload_plugin_async (RbRegistry          *self,
                                 const char          *name,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  Loaded *loaded;

  g_return_if_fail (RB_IS_REGISTRY (self));
  g_return_if_fail (name != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_registry_unload_plugin_async);
  if ((loaded = take_loaded (self, name, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_set_task_data (task, loaded, (GDestroyNotify) rb_registry_loaded_free);
  rb_plugin_shutdown_async (loaded->plugin, cancellable, unload_ready, g_steal_pointer (&task));
}

/**
 * rb_registry_unload_plugin_finish:
 * @self: a #RbRegistry
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Registry.unload_plugin_async].
 *
 * Returns: %TRUE if the plugin shut down cleanly, or %FALSE with @error set
 */
gboolean
rb_registry_unload_plugin_finish (RbRegistry    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (RB_IS_REGISTRY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_registry_unload_plugin_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
rb_registry_reconcile (RbRegistry *self,
                       gboolean    unload)
{
  for (guint i = 0; self->enabled != NULL && self->enabled[i] != NULL; i++)
    {
      const char *name = self->enabled[i];
      g_autoptr(GError) error = NULL;
      RbRegistryEntry *entry;

      if (g_hash_table_contains (self->loaded, name))
        continue;
      if (g_hash_table_contains (self->pending, name))
        {
          start_load (self, name, NULL, NULL, NULL, NULL);   /* marks it wanted */
          continue;
        }
      entry = entry_to_load (self, name, &error);
      if (entry != NULL)
        start_load (self, name, entry, NULL, NULL, NULL);
      else if (unload && lookup_entry (self, name) != NULL)
        g_signal_emit (self, rb_registry_signals[RB_REGISTRY_SIGNAL_LOAD_FAILED], 0, name, error);
    }
  if (unload)
    {
      g_autoptr(GPtrArray) extra = g_ptr_array_new_with_free_func (g_free);
      GHashTableIter iter;
      const char *name;

      g_hash_table_iter_init (&iter, self->loaded);
      while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
        if (!name_enabled (self, name))
          g_ptr_array_add (extra, g_strdup (name));
      for (guint i = 0; i < extra->len; i++)
        rb_registry_unload_plugin_async (self, g_ptr_array_index (extra, i), NULL, NULL, NULL);
    }
}

/* ------------------------------------------------------------------ */
/* Scanning                                                            */

static RbRegistryScanInput *
scan_input (RbRegistry *self)
{
  RbRegistryScanInput *input = g_new0 (RbRegistryScanInput, 1);

  g_ptr_array_add (self->search_paths, NULL);
  input->paths = g_strdupv ((char **) self->search_paths->pdata);
  g_ptr_array_remove_index (self->search_paths, self->search_paths->len - 1);
  input->verify_mode = self->verify_mode;
  input->trusted_keys_dir = g_strdup (self->trusted_keys_dir);
  input->previous = g_hash_table_ref (self->entries);
  input->previous_trust = g_strdup (self->entries_trust);
  input->cache_path = g_strdup (self->cache_path);
  return input;
}

/* ------------------------------------------------------------------ */
/* Live reload                                                         */

typedef struct {
  RbRegistry *registry;
  char       *name;
  RbPlugin   *plugin;
  RbBundle   *bundle;     /* the replacement */
  char       *path;
} Reload;

static void
reload_free (Reload *reload)
{
  g_object_unref (reload->registry);
  g_free (reload->name);
  g_object_unref (reload->plugin);
  g_object_unref (reload->bundle);
  g_free (reload->path);
  g_free (reload);
}

static void start_reload (RbRegistry *self,
                          const char *name,
                          Loaded     *loaded,
                          RbBundle   *bundle,
                          const char *path);

static void
reload_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Reload *reload = user_data;
  RbRegistry *self = reload->registry;
  g_autoptr(GError) error = NULL;
  gboolean ok = rb_plugin_reload_finish (reload->plugin, result, &error);
  Loaded *loaded = g_hash_table_lookup (self->loaded, reload->name);

  /* Unloaded meanwhile (or loaded anew): only the signal is left. */
  if (loaded != NULL && loaded->plugin != reload->plugin)
    loaded = NULL;
  if (loaded != NULL)
    loaded->reloading = FALSE;

  if (!ok)
    g_signal_emit (self, rb_registry_signals[RB_REGISTRY_SIGNAL_RELOAD_FAILED], 0, reload->bundle, error);
  else if (loaded != NULL)
    {
      g_autoptr(RbBundle) old_bundle = g_steal_pointer (&loaded->bundle);

      loaded->bundle = g_object_ref (reload->bundle);
      g_free (loaded->path);
      loaded->path = g_strdup (reload->path);
      g_signal_emit (self, rb_registry_signals[RB_REGISTRY_SIGNAL_PLUGIN_RELOADED], 0, old_bundle,
                     loaded->bundle, loaded->plugin);
    }

  /* A handler may have unloaded it: look again. */
  loaded = g_hash_table_lookup (self->loaded, reload->name);
  if (loaded != NULL && loaded->plugin == reload->plugin && !loaded->reloading &&
      loaded->next_bundle != NULL)
    {
      g_autoptr(RbBundle) next = g_steal_pointer (&loaded->next_bundle);
      g_autofree char *next_path = g_steal_pointer (&loaded->next_path);

      start_reload (self, reload->name, loaded, next, next_path);
    }
  reload_free (reload);
}

static void
start_reload (RbRegistry *self,
              const char *name,
              Loaded     *loaded,
              RbBundle   *bundle,
              const char *path)
{
  Reload *reload = g_new0 (Reload, 1);

  reload->registry = g_object_ref (self);
  reload->name = g_strdup (name);
  reload->plugin = g_object_ref (loaded->plugin);
  reload->bundle = g_object_ref (bundle);
  reload->path = g_strdup (path);
  loaded->reloading = TRUE;
  rb_plugin_reload_async (loaded->plugin, bundle, NULL, reload_done, reload);
}

/* A loaded plugin's bundle file was replaced (apply_scan()): a new bundle
 * that can be loaded replaces the running instance live
 * (rb_plugin_reload(), then plugin-reloaded); one that cannot is
 * reported (reload-failed) and the loaded instance keeps serving. One
 * reload runs at a time per plugin; the latest replacement seen meanwhile
 * follows it. */
static void
registry_bundle_replaced (RbRegistry      *self,
                          const char      *name,
                          Loaded          *loaded,
                          RbRegistryEntry *entry)
{
  if (entry->error != NULL)
    {
      g_signal_emit (self, rb_registry_signals[RB_REGISTRY_SIGNAL_RELOAD_FAILED], 0, entry->bundle, entry->error);
      return;
    }
  if (loaded->reloading)
    {
      g_set_object (&loaded->next_bundle, entry->bundle);
      g_free (loaded->next_path);
      loaded->next_path = g_strdup (entry->path);
      return;
    }
  start_reload (self, name, loaded, entry->bundle, entry->path);
}

static void
apply_scan (RbRegistry           *self,
            RbRegistryScanResult *result,
            guint                 serial)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) rb_registry_entry_unref);
  GHashTable *entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                               (GDestroyNotify) rb_registry_entry_unref);
  guint old_len = self->items->len, prefix = 0, suffix = 0, removed, added;
  GHashTableIter iter;
  const char *name;
  Loaded *loaded;

  /* A scan that started before the one already applied saw an older
   * state of the files. */
  if (serial < self->applied_serial)
    return;
  self->applied_serial = serial;

  for (guint i = 0; i < result->entries->len; i++)
    {
      RbRegistryEntry *entry = g_ptr_array_index (result->entries, i);

      g_hash_table_insert (entries, entry->path, rb_registry_entry_ref (entry));
      if (entry->bundle != NULL)
        g_ptr_array_add (items, rb_registry_entry_ref (entry));
    }

  /* One change covering everything between the unchanged ends. */
  while (prefix < old_len && prefix < items->len &&
         ((RbRegistryEntry *) g_ptr_array_index (self->items, prefix))->bundle ==
         ((RbRegistryEntry *) g_ptr_array_index (items, prefix))->bundle)
    prefix++;
  while (suffix < old_len - prefix && suffix < items->len - prefix &&
         ((RbRegistryEntry *) g_ptr_array_index (self->items, old_len - 1 - suffix))->bundle ==
         ((RbRegistryEntry *) g_ptr_array_index (items, items->len - 1 - suffix))->bundle)
    suffix++;
  removed = old_len - prefix - suffix;
  added = items->len - prefix - suffix;

  g_clear_pointer (&self->entries, g_hash_table_unref);
  self->entries = entries;
  g_free (self->entries_trust);
  self->entries_trust = g_strdup (result->trust);
  g_ptr_array_unref (self->items);
  self->items = g_steal_pointer (&items);
  if (removed > 0 || added > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), prefix, removed, added);
  if (old_len != self->items->len)
    g_object_notify_by_pspec (G_OBJECT (self), rb_registry_properties[RB_REGISTRY_PROP_N_ITEMS]);

  g_hash_table_iter_init (&iter, self->loaded);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &loaded))
    {
      RbRegistryEntry *entry = g_hash_table_lookup (self->entries, loaded->path);

      if (entry != NULL && entry->bundle != NULL && entry->bundle != loaded->bundle &&
          (entry->st.ino != loaded->st.ino || entry->st.dev != loaded->st.dev ||
           entry->st.size != loaded->st.size || entry->st.mtime_ns != loaded->st.mtime_ns ||
           entry->st.ctime_ns != loaded->st.ctime_ns))
        {
          registry_bundle_replaced (self, name, loaded, entry);
          loaded->st = entry->st;   /* reported once */
        }
    }
  rb_registry_reconcile (self, FALSE);
}

/**
 * rb_registry_rescan:
 * @self: a #RbRegistry
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the search paths again and updates the list, emitting
 * [signal@Gio.ListModel::items-changed]; an unchanged file keeps its
 * [class@RustBridge.Bundle] object. Enabled plugins that became available
 * are loaded. Problems with single files never fail the scan.
 *
 * Returns: %TRUE, or %FALSE if it was cancelled
 */
gboolean
rb_registry_rescan (RbRegistry    *self,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autoptr(RbRegistryScanResult) result = NULL;
  RbRegistryScanInput *input;

  g_return_val_if_fail (RB_IS_REGISTRY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  input = scan_input (self);
  result = rb_registry_scan (input, cancellable, error);
  rb_registry_scan_input_free (input);
  if (result == NULL)
    return FALSE;
  apply_scan (self, result, ++self->scan_serial);
  return TRUE;
}

static void
rescan_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;
  RbRegistryScanResult *result = rb_registry_scan (task_data, cancellable, &error);

  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) rb_registry_scan_result_free);
}

static void
rescan_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RbRegistry *self = RB_REGISTRY (source);
  g_autoptr(RbRegistryScanResult) scan = NULL;
  GError *error = NULL;

  scan = g_task_propagate_pointer (G_TASK (result), &error);
  if (scan == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  apply_scan (self, scan, GPOINTER_TO_UINT (g_task_get_task_data (task)));
  /* The watch looks again at a file that was being written. */
  if (scan->unsettled && self->watch)
    rb_registry_watch_changed (self);
  g_task_return_boolean (task, TRUE);
}

/**
 * rb_registry_rescan_async:
 * @self: a #RbRegistry
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the list is updated
 * @user_data: data for @callback
 *
 * Does [method@RustBridge.Registry.rescan] in a thread; the list changes
 * (in the caller's thread) before @callback is called.
 */
void
rb_registry_rescan_async (RbRegistry          *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) scan = NULL;

  g_return_if_fail (RB_IS_REGISTRY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_registry_rescan_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (++self->scan_serial), NULL);
  scan = g_task_new (self, cancellable, rescan_done, g_steal_pointer (&task));
  g_task_set_source_tag (scan, rb_registry_rescan_async);
  g_task_set_task_data (scan, scan_input (self), (GDestroyNotify) rb_registry_scan_input_free);
  g_task_run_in_thread (scan, rescan_thread);
}

/**
 * rb_registry_rescan_finish:
 * @self: a #RbRegistry
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Registry.rescan_async].
 *
 * Returns: %TRUE, or %FALSE with @error set if it was cancelled
 */
gboolean
rb_registry_rescan_finish (RbRegistry    *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (RB_IS_REGISTRY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_registry_rescan_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
