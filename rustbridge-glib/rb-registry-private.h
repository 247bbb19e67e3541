/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * struct _RbRegistry, shared by rb-registry.c (the object, its
 * properties, the list model, the watch) and rb-registry-load.c (which
 * bundle a name loads, loading and unloading, scanning). Never included
 * by anything else.
 */

#include "rb-registry.h"
#include "rb-registry-scan-private.h"

G_BEGIN_DECLS

typedef struct {
  RbPlugin       *plugin;
  RbBundle       *bundle;
  char           *path;
  RbRegistryStat  st;
  /* Live reload (rb-registry-load.c): one rb_plugin_reload_async() at a
   * time; a replacement seen meanwhile waits here (only the latest). */
  gboolean        reloading;
  RbBundle       *next_bundle;
  char           *next_path;
} Loaded;

typedef struct {
  RbBundle  *bundle;
  GPtrArray *tasks;        /* waiting rb_registry_load_plugin_async() calls */
  gboolean   for_enabled;  /* started by enabled-plugins */
} Pending;

struct _RbRegistry {
  GObject       parent_instance;

  char         *app_id;
  GPtrArray    *search_paths;
  RbVerifyMode  verify_mode;
  char         *trusted_keys_dir;
  gboolean      watch;
  GStrv         enabled;

  GPtrArray    *items;        /* RbRegistryEntry with a bundle, sorted: the model */
  GHashTable   *entries;      /* path → RbRegistryEntry: the last scan's, never changed */
  char         *entries_trust;
  guint         scan_serial;
  guint         applied_serial;
  char         *cache_path;

  GHashTable   *loaded;       /* name → Loaded */
  GHashTable   *pending;      /* name → Pending */

  GMainContext *context;
  GPtrArray    *monitors;
  GSource      *settle;
  gboolean      watch_scanning;
  gboolean      watch_again;
};

enum {
  RB_REGISTRY_PROP_0,
  RB_REGISTRY_PROP_APP_ID,
  RB_REGISTRY_PROP_SEARCH_PATHS,
  RB_REGISTRY_PROP_VERIFY_MODE,
  RB_REGISTRY_PROP_TRUSTED_KEYS_DIR,
  RB_REGISTRY_PROP_ENABLED_PLUGINS,
  RB_REGISTRY_PROP_LOADED_PLUGINS,
  RB_REGISTRY_PROP_WATCH,
  RB_REGISTRY_PROP_ITEM_TYPE,
  RB_REGISTRY_PROP_N_ITEMS,
  RB_REGISTRY_N_PROPS
};

enum {
  RB_REGISTRY_SIGNAL_PLUGIN_LOADED,
  RB_REGISTRY_SIGNAL_PLUGIN_UNLOADED,
  RB_REGISTRY_SIGNAL_PLUGIN_RELOADED,
  RB_REGISTRY_SIGNAL_RELOAD_FAILED,
  RB_REGISTRY_SIGNAL_LOAD_FAILED,
  RB_REGISTRY_N_SIGNALS
};

extern GParamSpec *rb_registry_properties[RB_REGISTRY_N_PROPS];
extern guint       rb_registry_signals[RB_REGISTRY_N_SIGNALS];

void  rb_registry_loaded_free   (Loaded     *loaded);
void  rb_registry_pending_free  (Pending    *pending);

void  rb_registry_watch_start   (RbRegistry *self);
void  rb_registry_watch_stop    (RbRegistry *self);
/* Something changed in a search path: rescan once it settled. */
void  rb_registry_watch_changed (RbRegistry *self);
/* Loads what is enabled and not loaded; with @unload, unloads what is
 * loaded and not enabled. */
void  rb_registry_reconcile     (RbRegistry *self,
                                 gboolean    unload);

G_END_DECLS
