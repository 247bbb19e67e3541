/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "rb-bundle-private.h"
#include "rb-error.h"
#include "rb-plugin-private.h"

/*
 * rb_plugin_reload(): the same RbPlugin switches to a fresh instance of a
 * (new) library.
 *
 * 1. The new instance starts while the old one serves: in process, a new
 *    plugin_init handle of the same mapping (no bundle) or of the bundle's
 *    library (loaded as rb_bundle_load_plugin() loads it, then taken out
 *    of the temporary plugin); isolated, a new helper process, given a
 *    bundle's library as its verified sealed memfd (the bundle's, or the
 *    running one's without a bundle), as an isolated bundle load does.
 * 2. The switch, the only part calls notice: the state goes to STARTING,
 *    which turns new calls back in admission; instead of failing they wait
 *    in rb_plugin_admit_slow() while `switching` is set. The calls in
 *    flight are waited for (rb_inflight_wait_idle(), as a shutdown does),
 *    then handle, abi, library (or the helper) are swapped, the state goes
 *    back to ACTIVE and the waiting calls are admitted to the new
 *    instance. The hot path does not change: the pointers it reads stay
 *    behind admission.
 * 3. The old instance is shut down (plugin_shutdown, or the helper's
 *    shutdown) after the switch, while calls already run on the new one.
 *
 * A failure in 1 leaves the old instance serving untouched; so does a
 * switch whose calls in flight do not finish within shutdown-timeout-ms
 * (the new instance is stopped then). Reloads, restarts and shutdowns are
 * serialised by shutdown_lock.
 *
 * Strings that calls may read without a lock (path, bundle name and
 * version in messages and getters) are not freed when replaced: they are
 * kept until the plugin is finalized (a few bytes per reload).
 */

/* How much longer than shutdown-timeout-ms a call waits for a switch:
 * the swap itself (microseconds) and scheduling. */
#define RB_RELOAD_SWAP_MARGIN_MS 1000

/* A helper started by a reload: its death counts only while it serves. */
typedef struct {
  RbPlugin   *plugin;    /* unowned: the plugin outlives its helpers */
  RbIsolated *isolated;  /* the helper this belongs to, or NULL */
  gint        current;   /* atomic */
} RbReloadHelper;

struct _RbPluginReload {
  GMutex          lock;
  GCond           cond;
  gint            switching;  /* atomic; set and cleared under lock */
  /* The log sink of the instance that self->sink is not registered for
   * (the new one before the switch, the old one after it). */
  RbLogSink       spare;
  GPtrArray      *retired;    /* replaced strings, freed with the plugin */
  /* At most two helpers live at once (the serving one, the next one). */
  RbReloadHelper  helpers[2];
};

/* One instance: the new one before the switch, the old one after it. */
typedef struct {
  RbLibrary      *library;      /* in process */
  void           *handle;
  gboolean        handle_live;
  RbIsolated     *isolated;     /* isolated */
  RbReloadHelper *helper;       /* NULL: started by init or a restart */
  gboolean        has_raw;
  gboolean        spare_sink;   /* reload->spare is registered on library */
  char           *path;         /* owned; NULL: unchanged */
  char           *bundle_name;  /* owned; NULL: unchanged */
  char           *bundle_version;
} Instance;

static void
instance_clear (Instance *instance)
{
  g_clear_pointer (&instance->path, g_free);
  g_clear_pointer (&instance->bundle_name, g_free);
  g_clear_pointer (&instance->bundle_version, g_free);
}

void
rb_plugin_reload_free (RbPluginReload *reload)
{
  g_mutex_clear (&reload->lock);
  g_cond_clear (&reload->cond);
  g_ptr_array_unref (reload->retired);
  g_free (reload);
}

/* shutdown_lock held. */
static RbPluginReload *
reload_get (RbPlugin *self)
{
  RbPluginReload *reload = g_atomic_pointer_get (&self->reload);

  if (reload != NULL)
    return reload;
  reload = g_new0 (RbPluginReload, 1);
  g_mutex_init (&reload->lock);
  g_cond_init (&reload->cond);
  reload->retired = g_ptr_array_new_with_free_func (g_free);
  reload->spare.func = rb_relay_log;
  reload->spare.user_data = self->relay;
  for (guint i = 0; i < G_N_ELEMENTS (reload->helpers); i++)
    reload->helpers[i].plugin = self;
  g_atomic_pointer_set (&self->reload, reload);
  return reload;
}

gboolean
rb_plugin_reload_is_switching (RbPlugin *self)
{
  RbPluginReload *reload = g_atomic_pointer_get (&self->reload);

  return reload != NULL && g_atomic_int_get (&reload->switching);
}

gboolean
rb_plugin_admit_slow (RbPlugin          *self,
                      RbInflightSlot   **ticket,
                      RbLifecycleState   state,
                      GError           **error)
{
  RbPluginReload *reload = g_atomic_pointer_get (&self->reload);

  if (reload != NULL && state == RB_LIFECYCLE_STATE_STARTING)
    {
      guint timeout_ms = rb_plugin_config_get_shutdown_timeout_ms (self->config);
      gint64 end_time = g_get_monotonic_time () +
                        ((gint64) timeout_ms + RB_RELOAD_SWAP_MARGIN_MS) * G_TIME_SPAN_MILLISECOND;

      for (;;)
        {
          /* `switching` is set before the state leaves ACTIVE and
           * cleared after it is back: a call that saw STARTING because of
           * a switch finds it set here, or finds the switch done. */
          g_mutex_lock (&reload->lock);
          while (g_atomic_int_get (&reload->switching) &&
                 g_cond_wait_until (&reload->cond, &reload->lock, end_time))
            ;
          g_mutex_unlock (&reload->lock);

          *ticket = rb_inflight_enter (&self->inflight);
          state = g_atomic_int_get (&self->state);
          if (state == RB_LIFECYCLE_STATE_ACTIVE)
            return TRUE;
          rb_inflight_leave (&self->inflight, *ticket);
          /* Another switch may have begun at once (reloads back to back). */
          if (state != RB_LIFECYCLE_STATE_STARTING || !g_atomic_int_get (&reload->switching) ||
              g_get_monotonic_time () >= end_time)
            break;
        }
    }
  rb_plugin_set_inactive_error (self, state, error);
  return FALSE;
}

static void
reload_end_switch (RbPluginReload *reload)
{
  g_mutex_lock (&reload->lock);
  g_atomic_int_set (&reload->switching, FALSE);
  g_cond_broadcast (&reload->cond);
  g_mutex_unlock (&reload->lock);
}

/* ---- isolated helpers started by a reload -------------------------------- */

static void
reload_helper_log (gpointer    user_data,
                   guint8      level,
                   const char *target,
                   const char *message,
                   gsize       message_len)
{
  RbReloadHelper *helper = user_data;

  rb_relay_log (helper->plugin->relay, level, target, message, message_len);
}

/* As the back end's death of a helper (rb-plugin-backend.c), for the
 * serving helper only: a new one that dies while it starts fails the
 * reload, an old one that dies while it stops is of no concern. */
static void
reload_helper_died (gpointer      user_data,
                    const GError *error)
{
  RbReloadHelper *helper = user_data;
  RbPlugin *self = helper->plugin;

  if (!g_atomic_int_get (&helper->current))
    return;
  g_mutex_lock (&self->crash_lock);
  g_clear_error (&self->crash_error);
  self->crash_error = g_error_copy (error);
  g_mutex_unlock (&self->crash_lock);

  g_atomic_int_inc (&self->crash_count);
  rb_relay_notify (self->relay, rb_plugin_crash_count_pspec);
  rb_plugin_transition (self, RB_LIFECYCLE_STATE_ACTIVE, RB_LIFECYCLE_STATE_FAILED);
}

static void
remove_extracted (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
}

static gboolean
start_isolated (RbPlugin        *self,
                RbPluginReload  *reload,
                RbBundle        *bundle,
                const char      *config_json,
                Instance        *next,
                GCancellable    *cancellable,
                GError         **error)
{
  g_autofree char *bwrap = NULL;
  g_autofree char *image = NULL;
  RbIsolatedOptions options = { 0 };
  RbReloadHelper *helper;
  const char *path = self->path;
  gboolean extracted = FALSE;
  int library_fd;

  if (bundle != NULL)
    {
      /* Verified as rb_bundle_load_plugin() does: into a sealed memfd, or
       * (the fallback) a private file, removed once the helper has it. */
      image = rb_bundle_prepare_library (bundle, NULL, &extracted, cancellable, error);
      if (image == NULL)
        return FALSE;
      path = image;
    }
  /* A bundle's library, this one's or (without @bundle) the running
   * one's: the helper gets its verified sealed memfd, as an isolated
   * bundle load's does (rb-plugin-backend.c); nothing goes to disk. */
  library_fd = rb_library_lookup_fd (path);

  /* The slot that the serving helper does not use. */
  helper = self->isolated != NULL && reload->helpers[0].isolated == self->isolated ? &reload->helpers[1]
                                                                                   : &reload->helpers[0];
  g_atomic_int_set (&helper->current, FALSE);
  helper->isolated = NULL;

  if (rb_plugin_config_get_isolation (self->config) == RB_ISOLATION_SANDBOX)
    {
      bwrap = rb_plugin_sandbox_bwrap (self, error);
      if (bwrap == NULL)
        {
          if (extracted)
            remove_extracted (image);
          return FALSE;
        }
    }
  options.sandbox_bwrap = bwrap;
  options.call_timeout_ms = rb_plugin_config_get_call_timeout_ms (self->config);
  options.memory_limit_mb = rb_plugin_config_get_memory_limit_mb (self->config);
  options.spin_us = -1;
  options.log_func = reload_helper_log;
  options.died_func = reload_helper_died;
  options.user_data = helper;

  if (library_fd >= 0)
    next->isolated = rb_isolated_new_for_fd (path, library_fd, config_json, strlen (config_json),
                                             &options, error);
  else
    next->isolated = rb_isolated_new (path, config_json, strlen (config_json), &options, error);
  if (extracted)
    remove_extracted (image);
  if (next->isolated == NULL)
    return FALSE;
  helper->isolated = next->isolated;
  next->helper = helper;
  next->has_raw = rb_isolated_has_raw (next->isolated);
  rb_isolated_set_log_level (next->isolated, (guint8) g_atomic_int_get (&self->log_level));
  if (bundle != NULL)
    next->path = g_steal_pointer (&image);
  if (!rb_isolated_is_alive (next->isolated))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
                   "Plugin “%s” was not reloaded: the new instance's helper died as it started",
                   path);
      return FALSE;
    }
  return TRUE;
}

void
rb_plugin_reload_forget_isolated (RbPlugin   *self,
                                  RbIsolated *gone)
{
  if (self->reload == NULL || gone == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->reload->helpers); i++)
    if (self->reload->helpers[i].isolated == gone)
      {
        g_atomic_int_set (&self->reload->helpers[i].current, FALSE);
        self->reload->helpers[i].isolated = NULL;
      }
}

/* ---- in process ------------------------------------------------------------ */

/* Takes the running instance out of @tmp (a plugin loaded only for it):
 * @tmp will neither call nor shut it down. */
static gboolean
take_instance (RbPlugin  *tmp,
               Instance  *next,
               GError   **error)
{
  gboolean ok = FALSE;

  g_mutex_lock (&tmp->shutdown_lock);
  if (tmp->backend != RB_BACKEND_ISOLATED && tmp->library != NULL && tmp->handle_live)
    {
      g_mutex_lock (&tmp->handle_lock);
      tmp->handle_live = FALSE;
      g_mutex_unlock (&tmp->handle_lock);
      next->library = tmp->library;
      next->handle = g_steal_pointer (&tmp->handle);
      next->handle_live = TRUE;
      next->path = g_strdup (tmp->path);
      if (tmp->sink.library != NULL)
        {
          rb_library_remove_sink (tmp->library, &tmp->sink);
          tmp->sink.library = NULL;
        }
      rb_plugin_set_state (tmp, RB_LIFECYCLE_STATE_STOPPED);
      ok = TRUE;
    }
  else
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED,
                 "Plugin “%s” was not reloaded: the new instance is not running", tmp->path);
  g_mutex_unlock (&tmp->shutdown_lock);
  return ok;
}

static gboolean
start_in_process (RbPlugin        *self,
                  RbPluginReload  *reload,
                  RbBundle        *bundle,
                  const char      *config_json,
                  Instance        *next,
                  GCancellable    *cancellable,
                  GError         **error)
{
  RbLogLevel log_level = g_atomic_int_get (&self->log_level);

  if (bundle == NULL)
    {
      /* The same mapping (it is never unmapped): its new instance starts
       * during the switch (see reload_switch()). */
      next->library = self->library;
      return TRUE;
    }

  {
    /* Loaded as a direct load of the bundle is (verification, trust, the
     * library's image), then taken over. */
    g_autoptr(RbPlugin) tmp = rb_bundle_load_plugin (bundle, NULL, self->config, cancellable, error);
    RbLogSink *previous;
    const RbAbi *abi;

    if (tmp == NULL || !take_instance (tmp, next, error))
      return FALSE;
    abi = rb_library_get_abi (next->library);
    if (next->library == self->library)
      {
        /* The same library after all (the same file, or the same content
         * mapped once): the instance proved the bundle loads; the switch
         * starts the one that serves (see reload_switch()). */
        if (!abi->plugin_shutdown (next->handle))
          g_debug ("Reload of plugin “%s”: the probe instance failed to shut down", self->path);
        rb_library_release_handle (next->library, next->handle);
        next->handle = NULL;
        next->handle_live = FALSE;
        return TRUE;
      }
    if (next->library != self->library)
      {
        rb_library_add_sink (next->library, &reload->spare);
        next->spare_sink = TRUE;
      }
    previous = rb_library_enter_call (next->spare_sink ? &reload->spare : &self->sink);
    abi->plugin_set_log_level (next->handle, (uint8_t) log_level);
    rb_library_leave_call (previous);

    /* Raw calls already checked the transport before admission: a
     * library without it would be called through a NULL pointer. */
    if (self->abi->plugin_call_raw != NULL && abi->plugin_call_raw == NULL)
      {
        g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
                     "Plugin “%s” was not reloaded from bundle “%s”: the new library does not "
                     "support the binary transport (plugin_call_raw) that the running one offers",
                     self->path, rb_bundle_get_name (bundle));
        return FALSE;
      }
  }
  return TRUE;
}

/* ---- the switch ---------------------------------------------------------- */

static void
retire (RbPluginReload  *reload,
        char           **field,
        char           **value)
{
  if (*value == NULL)
    return;
  if (*field != NULL)
    g_ptr_array_add (reload->retired, *field);
  *field = g_steal_pointer (value);
}

static void
notify_by_name (RbPlugin   *self,
                const char *name)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self), name);

  rb_relay_notify (self->relay, pspec);
}

/* Waits for the calls in flight, swaps @next in (what it replaced goes to
 * @old) and lets the waiting calls in. FALSE if the calls did not finish
 * in time: nothing was swapped, the old instance serves again. */
static void instance_stop (RbPlugin       *self,
                           RbPluginReload *reload,
                           Instance       *instance);

/* A same-library reload failed after the old instance stopped (@error
 * says why): an active plugin's instance starts again in its place. */
static void
restart_old (RbPlugin         *self,
             RbLifecycleState  from,
             const char       *config_json,
             GError          **error)
{
  g_autoptr(GError) again = NULL;
  gpointer handle = NULL;

  if (from == RB_LIFECYCLE_STATE_ACTIVE)
    handle = rb_plugin_create_handle (self, self->library, &self->sink, self->path, config_json,
                                      g_atomic_int_get (&self->log_level), &again);
  if (handle == NULL)
    {
      if (again != NULL)
        g_debug ("Plugin “%s”: the previous instance did not start again: %s", self->path, again->message);
      rb_plugin_set_state (self, RB_LIFECYCLE_STATE_FAILED);
      return;
    }
  g_mutex_lock (&self->handle_lock);
  self->handle = handle;
  self->handle_live = TRUE;
  g_mutex_unlock (&self->handle_lock);
  g_prefix_error (error, "Plugin “%s” was not reloaded (its previous instance was started again): ", self->path);
  rb_plugin_set_state (self, from);
}

static gboolean
reload_switch (RbPlugin          *self,
               RbPluginReload    *reload,
               RbLifecycleState   from,
               const char        *config_json,
               Instance          *next,
               Instance          *old,
               GError           **error)
{
  guint timeout_ms = rb_plugin_config_get_shutdown_timeout_ms (self->config);
  gint64 end_time = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  gboolean new_path = next->path != NULL, new_bundle = next->bundle_name != NULL;

  if (from == RB_LIFECYCLE_STATE_ACTIVE)
    {
      g_mutex_lock (&reload->lock);
      g_atomic_int_set (&reload->switching, TRUE);
      g_mutex_unlock (&reload->lock);
    }
  /* Published (seq_cst) before the wait: a call either entered in time to
   * be waited for, or sees STARTING and waits for the switch. */
  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_STARTING);
  if (!rb_inflight_wait_idle (&self->inflight, end_time))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "Plugin “%s” was not reloaded: its calls in flight did not finish within "
                   "%u ms (shutdown-timeout-ms); the running instance keeps serving",
                   self->path, timeout_ms);
      rb_plugin_set_state (self, from);
      reload_end_switch (reload);
      return FALSE;
    }

  old->library = self->library;
  old->handle = self->handle;
  old->handle_live = self->handle_live;
  old->isolated = self->isolated;
  old->helper = NULL;
  if (next->isolated == NULL && next->handle == NULL)
    {
      /* In process, the same library: its log callback and level are the
       * library's, and a shutdown clears them for every instance
       * (doc/plugin-abi.md). So the old instance stops before the new one
       * starts, while calls wait; if the new one fails to start, an
       * active plugin's old instance is started again (its own path and
       * configuration), and serves as before; only if that fails too is
       * the plugin FAILED, as a restart leaves it. */
      g_mutex_lock (&self->handle_lock);
      self->handle_live = FALSE;
      g_mutex_unlock (&self->handle_lock);
      instance_stop (self, reload, old);
      next->handle = rb_plugin_create_handle (self, self->library, &self->sink,
                                              next->path != NULL ? next->path : self->path,
                                              config_json, g_atomic_int_get (&self->log_level), error);
      if (next->handle == NULL)
        {
          restart_old (self, from, config_json, error);
          reload_end_switch (reload);
          return FALSE;
        }
      next->handle_live = TRUE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (reload->helpers); i++)
    if (self->isolated != NULL && reload->helpers[i].isolated == self->isolated)
      old->helper = &reload->helpers[i];

  g_mutex_lock (&self->handle_lock);
  if (next->isolated != NULL)
    {
      self->isolated = next->isolated;
      self->isolated_has_raw = next->has_raw;
    }
  else
    {
      self->library = next->library;
      self->abi = rb_library_get_abi (next->library);
      self->handle = next->handle;
    }
  self->handle_live = TRUE;
  g_mutex_unlock (&self->handle_lock);

  /* The calls' sink follows the serving library; the spare one keeps the
   * old library's messages (its shutdown's) attributed to this plugin. */
  if (next->spare_sink)
    {
      if (self->sink.library != NULL)
        rb_library_remove_sink (self->sink.library, &self->sink);
      rb_library_remove_sink (next->library, &reload->spare);
      rb_library_add_sink (next->library, &self->sink);
      rb_library_add_sink (old->library, &reload->spare);
      next->spare_sink = FALSE;
      old->spare_sink = TRUE;
    }

  retire (reload, &self->path, &next->path);
  retire (reload, &self->bundle_name, &next->bundle_name);
  retire (reload, &self->bundle_version, &next->bundle_version);

  if (old->helper != NULL)
    g_atomic_int_set (&old->helper->current, FALSE);
  if (next->helper != NULL)
    g_atomic_int_set (&next->helper->current, TRUE);
  g_mutex_lock (&self->crash_lock);
  g_clear_error (&self->crash_error);
  g_mutex_unlock (&self->crash_lock);

  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_ACTIVE);
  reload_end_switch (reload);

  /* A helper that died in between was not reported (not serving yet). */
  if (next->isolated != NULL && !rb_isolated_is_alive (next->isolated))
    {
      g_mutex_lock (&self->crash_lock);
      if (self->crash_error == NULL)
        g_set_error (&self->crash_error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
                     "Plugin “%s” crashed: its helper died as the reload switched to it", self->path);
      g_mutex_unlock (&self->crash_lock);
      rb_plugin_transition (self, RB_LIFECYCLE_STATE_ACTIVE, RB_LIFECYCLE_STATE_FAILED);
    }

  if (new_path)
    notify_by_name (self, "path");
  if (new_bundle)
    {
      notify_by_name (self, "bundle-name");
      notify_by_name (self, "bundle-version");
    }
  if (next->isolated != NULL || old->library != self->library)
    notify_by_name (self, "has-binary-transport");
  return TRUE;
}

/* Shuts @instance down (no call uses it any more). */
static void
instance_stop (RbPlugin       *self,
               RbPluginReload *reload,
               Instance       *instance)
{
  g_autoptr(GError) error = NULL;

  if (instance->isolated != NULL)
    {
      if (instance->helper != NULL)
        g_atomic_int_set (&instance->helper->current, FALSE);
      if (rb_isolated_is_alive (instance->isolated) &&
          !rb_isolated_shutdown (instance->isolated, rb_plugin_config_get_shutdown_timeout_ms (self->config),
                                 &error))
        g_debug ("Reload of plugin “%s”: the old instance: %s", self->path, error->message);
      rb_isolated_free (instance->isolated);
      if (instance->helper != NULL)
        instance->helper->isolated = NULL;
      instance->isolated = NULL;
    }
  else if (instance->handle_live)
    {
      const RbAbi *abi = rb_library_get_abi (instance->library);

      if (!abi->plugin_shutdown (instance->handle))
        g_debug ("Reload of plugin “%s”: the old instance failed to shut down", self->path);
      /* The plugin forgets the handle either way. */
      rb_library_release_handle (instance->library, instance->handle);
      instance->handle_live = FALSE;
    }
  if (instance->spare_sink)
    {
      rb_library_remove_sink (instance->library, &reload->spare);
      instance->spare_sink = FALSE;
    }
  instance_clear (instance);
}

static gboolean
rb_plugin_do_reload (RbPlugin       *self,
                     RbBundle       *bundle,
                     GCancellable   *cancellable,
                     GError        **error)
{
  g_autofree char *config_json = NULL;
  RbPluginReload *reload;
  RbLifecycleState state;
  Instance next = { 0 }, old = { 0 };
  gboolean ok = FALSE;

  g_mutex_lock (&self->shutdown_lock);
  state = g_atomic_int_get (&self->state);
  if (!self->initialized || self->init_error != NULL ||
      (self->library == NULL && self->backend != RB_BACKEND_ISOLATED) ||
      (state != RB_LIFECYCLE_STATE_ACTIVE && state != RB_LIFECYCLE_STATE_FAILED &&
       state != RB_LIFECYCLE_STATE_STOPPED))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
                   "Plugin “%s” cannot be reloaded (state: %s)", self->path,
                   rb_lifecycle_state_name (state));
      goto out;
    }
  if (bundle != NULL && !rb_bundle_get_available (bundle))
    {
      const GError *reason = rb_bundle_get_unavailable_reason (bundle);

      if (reason != NULL)
        {
          g_propagate_prefixed_error (error, g_error_copy (reason),
                                      "Plugin “%s” was not reloaded: ", self->path);
          goto out;
        }
    }

  reload = reload_get (self);
  config_json = rb_plugin_config_to_json (self->config);
  if (self->backend == RB_BACKEND_ISOLATED)
    ok = start_isolated (self, reload, bundle, config_json, &next, cancellable, error);
  else
    ok = start_in_process (self, reload, bundle, config_json, &next, cancellable, error);
  if (ok && bundle != NULL)
    {
      next.bundle_name = g_strdup (rb_bundle_get_name (bundle));
      next.bundle_version = g_strdup (rb_bundle_get_version (bundle));
    }
  if (ok)
    ok = reload_switch (self, reload, state, config_json, &next, &old, error);
  if (ok)
    instance_stop (self, reload, &old);
  else
    instance_stop (self, reload, &next);

out:
  g_mutex_unlock (&self->shutdown_lock);
  return ok;
}

/**
 * rb_plugin_reload:
 * @self: a #RbPlugin
 * @bundle: (nullable): the bundle to load the new instance from, or %NULL
 *   for the plugin's own source (the same library)
 * @cancellable: (nullable): a #GCancellable, for loading the new instance
 * @error: return location for a #GError
 *
 * Switches @self to a fresh instance of the plugin, from @bundle (a newer
 * version, say) or from its own source, without the application noticing
 * beyond a short wait: the same object keeps serving, so references,
 * signal handlers and property bindings stay valid.
 *
 * The new instance starts (with the plugin's configuration) while the old
 * one still serves. Then calls that arrive wait, calls in flight finish on
 * the old instance, and the waiting calls go to the new one; the old one
 * is then shut down. The switch shows as [signal@RustBridge.Plugin::state-changed]
 * from `ACTIVE` to `STARTING` and back to `ACTIVE`; it lasts as long as the
 * calls in flight (up to [property@RustBridge.PluginConfig:shutdown-timeout-ms]),
 * not the new instance's start-up. No call fails because of a reload.
 * [property@RustBridge.Plugin:bundle-name], `bundle-version` and `path`
 * change to the new source's (notified).
 *
 * If anything fails (the bundle does not verify or is not trusted, the
 * new instance does not start, the calls in flight do not finish in time)
 * the old instance keeps serving and @error says why. A plugin that is
 * `FAILED` or `STOPPED` is started anew from the new source.
 *
 * In process, libraries are never unmapped: a new version's library is
 * mapped next to the old one. A reload of the library already mapped
 * (without @bundle, or a bundle with the same library) makes a new
 * instance of the same mapping; as a library's log callback and level
 * are shared by its instances and cleared by a shutdown, the old instance
 * is then shut down before the new one starts: calls wait for that start
 * too, and if it fails the plugin is left `FAILED`, as after
 * [method@RustBridge.Plugin.restart]. An isolated plugin gets a new
 * helper process, which receives a bundle's verified library without
 * writing it to disk (as [method@RustBridge.Bundle.load_plugin] does);
 * without @bundle, a plugin loaded from a path needs its library file, as
 * a restart does.
 *
 * This blocks while the new instance starts: on a main thread, use
 * [method@RustBridge.Plugin.reload_async].
 *
 * Returns: %TRUE once calls go to the new instance, or %FALSE with @error
 *   set (%RB_PLUGIN_ERROR_INVALID_STATE when the plugin never started or is
 *   starting or stopping; %G_IO_ERROR_TIMED_OUT when the calls in flight
 *   did not finish; the errors of [method@RustBridge.Bundle.load_plugin])
 */
gboolean
rb_plugin_reload (RbPlugin      *self,
                  RbBundle      *bundle,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (bundle == NULL || RB_IS_BUNDLE (bundle), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  return rb_plugin_do_reload (self, bundle, cancellable, error);
}

static void
rb_plugin_reload_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  GError *error = NULL;

  if (rb_plugin_do_reload (source_object, task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * rb_plugin_reload_async:
 * @self: a #RbPlugin
 * @bundle: (nullable): the bundle to load the new instance from, or %NULL
 *   for the plugin's own source
 * @cancellable: (nullable): a #GCancellable, for loading the new instance
 * @callback: (scope async): called when the plugin has switched, or not
 * @user_data: data for @callback
 *
 * Starts [method@RustBridge.Plugin.reload] in a thread.
 */
void
rb_plugin_reload_async (RbPlugin            *self,
                        RbBundle            *bundle,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RB_IS_PLUGIN (self));
  g_return_if_fail (bundle == NULL || RB_IS_BUNDLE (bundle));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_plugin_reload_async);
  if (bundle != NULL)
    g_task_set_task_data (task, g_object_ref (bundle), g_object_unref);
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_run_in_thread (task, rb_plugin_reload_thread);
}

/**
 * rb_plugin_reload_finish:
 * @self: a #RbPlugin
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Plugin.reload_async].
 *
 * Returns: %TRUE once calls go to the new instance, or %FALSE with @error
 *   set (the old instance then keeps serving)
 */
gboolean
rb_plugin_reload_finish (RbPlugin      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_plugin_reload_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
