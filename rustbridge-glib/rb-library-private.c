/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <ffi.h>
#include <gio/gio.h>
#include <gmodule.h>

#include "rb-error.h"
#include "rb-library-private.h"

struct _RbLibrary {
  char        *path;       /* canonical */
  GModule     *module;
  RbAbi        abi;
  gboolean     has_raw;

  /* A distinct C entry point per library: the plugin's log callback has no
   * user-data argument, so the libffi closure binds this library to it. */
  ffi_closure *closure;
  ffi_cif      cif;
  ffi_type    *arg_types[4];
  RbLogCallback log_entry;

  GMutex       sinks_lock;
  GPtrArray   *sinks;      /* RbLogSink *, unowned; guarded by sinks_lock */

  GMutex       handles_lock;
  GHashTable  *handles;    /* live plugin handles; guarded by handles_lock */
};

static GMutex libraries_lock;
static GHashTable *libraries; /* canonical path -> RbLibrary*, never freed */

static void
rb_library_log_trampoline (ffi_cif *cif,
                           void    *ret,
                           void   **args,
                           void    *user_data)
{
  RbLibrary *self = user_data;
  guint8 level = *(uint8_t *) args[0];
  const char *target = *(const char **) args[1];
  const char *message = *(const char **) args[2];
  gsize message_len = *(size_t *) args[3];
  RbLogSink *sink = rb_thread.current_sink;

  if (message == NULL)
    message_len = 0;
  if (target == NULL)
    target = "";

  g_mutex_lock (&self->sinks_lock);
  if (sink != NULL && sink->library == self && g_ptr_array_find (self->sinks, sink, NULL))
    {
      sink->func (sink->user_data, level, target, message, message_len);
    }
  else
    {
      /* From one of the plugin's own threads: the ABI does not say which
       * handle logged, so every live plugin of this library hears it. */
      for (guint i = 0; i < self->sinks->len; i++)
        {
          RbLogSink *s = g_ptr_array_index (self->sinks, i);
          s->func (s->user_data, level, target, message, message_len);
        }
    }
  g_mutex_unlock (&self->sinks_lock);
}

static gboolean
rb_library_setup_closure (RbLibrary  *self,
                          GError    **error)
{
  void *code = NULL;

  self->arg_types[0] = &ffi_type_uint8;
  self->arg_types[1] = &ffi_type_pointer;
  self->arg_types[2] = &ffi_type_pointer;
  self->arg_types[3] = &ffi_type_uint64;
  G_STATIC_ASSERT (sizeof (size_t) == sizeof (uint64_t));

  if (ffi_prep_cif (&self->cif, FFI_DEFAULT_ABI, 4, &ffi_type_void, self->arg_types) != FFI_OK)
    goto fail;

  self->closure = ffi_closure_alloc (sizeof (ffi_closure), &code);
  if (self->closure == NULL)
    goto fail;

  if (ffi_prep_closure_loc (self->closure, &self->cif, rb_library_log_trampoline, self, code) != FFI_OK)
    {
      ffi_closure_free (self->closure);
      self->closure = NULL;
      goto fail;
    }

  self->log_entry = (RbLogCallback) code;
  return TRUE;

fail:
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
               "Could not create the log callback for plugin “%s” (libffi closure)",
               self->path);
  return FALSE;
}

#define RB_REQUIRED_SYMBOL(name) { #name, G_STRUCT_OFFSET (RbAbi, name) }

static const struct {
  const char *name;
  gsize       offset;
} required_symbols[] = {
  RB_REQUIRED_SYMBOL (plugin_create),
  RB_REQUIRED_SYMBOL (plugin_init),
  RB_REQUIRED_SYMBOL (plugin_call),
  RB_REQUIRED_SYMBOL (plugin_free_buffer),
  RB_REQUIRED_SYMBOL (plugin_shutdown),
  RB_REQUIRED_SYMBOL (plugin_get_state),
  RB_REQUIRED_SYMBOL (plugin_set_log_level),
  RB_REQUIRED_SYMBOL (plugin_get_rejected_count),
};

static RbLibrary *
rb_library_load (const char  *canonical,
                 GError     **error)
{
  g_autofree RbLibrary *self = g_new0 (RbLibrary, 1);
  GModule *module;
  gpointer raw_call = NULL, raw_free = NULL, create_with_config = NULL;

  /* Local binding, immediate resolution: a plugin's symbols must not leak
   * into the global namespace, and a broken library fails here, not on
   * its first call. */
  module = g_module_open_full (canonical, G_MODULE_BIND_LOCAL, error);
  if (module == NULL)
    {
      /* GModuleError is not our domain: restate it in ours. */
      g_autoptr(GError) local = g_steal_pointer (error);
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not load plugin “%s”: %s", canonical,
                   local ? local->message : "unknown error");
      return NULL;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (required_symbols); i++)
    {
      gpointer sym = NULL;

      if (!g_module_symbol (module, required_symbols[i].name, &sym) || sym == NULL)
        {
          g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                       "“%s” is not a rustbridge plugin: required symbol “%s” is missing",
                       canonical, required_symbols[i].name);
          /* Unmapping a library we never called into is safe. */
          g_module_close (module);
          return NULL;
        }
      G_STRUCT_MEMBER (gpointer, &self->abi, required_symbols[i].offset) = sym;
    }

  if (g_module_symbol (module, "plugin_create_with_config", &create_with_config))
    self->abi.plugin_create_with_config = (RbPluginCreateWithConfigFunc) create_with_config;

  if (g_module_symbol (module, "plugin_call_raw", &raw_call) && raw_call != NULL &&
      g_module_symbol (module, "rb_response_free", &raw_free) && raw_free != NULL)
    {
      self->abi.plugin_call_raw = (RbPluginCallRawFunc) raw_call;
      self->abi.rb_response_free = (RbResponseFreeFunc) raw_free;
      self->has_raw = TRUE;
    }

  self->path = g_strdup (canonical);
  self->module = module;
  g_mutex_init (&self->sinks_lock);
  self->sinks = g_ptr_array_new ();
  g_mutex_init (&self->handles_lock);
  self->handles = g_hash_table_new (NULL, NULL);

  if (!rb_library_setup_closure (self, error))
    {
      g_module_close (module);
      g_ptr_array_unref (self->sinks);
      g_mutex_clear (&self->sinks_lock);
      g_hash_table_unref (self->handles);
      g_mutex_clear (&self->handles_lock);
      g_free (self->path);
      return NULL;
    }

  /* From here on the library is never unloaded. */
  g_module_make_resident (module);

  return g_steal_pointer (&self);
}

/*
 * rb_library_open:
 * @path: path of the plugin library
 *
 * Returns: (transfer none): the library, mapped for the life of the
 * process, or %NULL with @error set (%RB_PLUGIN_ERROR_LOAD_FAILED).
 */
RbLibrary *
rb_library_open (const char  *path,
                 GError     **error)
{
  g_autofree char *canonical = NULL;
  RbLibrary *self;

  g_return_val_if_fail (path != NULL, NULL);

  if (*path == '\0')
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                           "Could not load plugin: the path is empty");
      return NULL;
    }

  canonical = realpath (path, NULL);
  if (canonical == NULL)
    {
      int saved_errno = errno;
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not load plugin “%s”: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  if (!g_file_test (canonical, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not load plugin “%s”: not a regular file", path);
      return NULL;
    }

  g_mutex_lock (&libraries_lock);
  if (libraries == NULL)
    libraries = g_hash_table_new (g_str_hash, g_str_equal);
  self = g_hash_table_lookup (libraries, canonical);
  if (self == NULL)
    {
      self = rb_library_load (canonical, error);
      if (self != NULL)
        g_hash_table_insert (libraries, self->path, self);
    }
  g_mutex_unlock (&libraries_lock);

  return self;
}

const RbAbi *
rb_library_get_abi (RbLibrary *self)
{
  return &self->abi;
}

RbLogCallback
rb_library_get_log_callback (RbLibrary *self)
{
  return self->log_entry;
}

gboolean
rb_library_has_raw (RbLibrary *self)
{
  return self->has_raw;
}

gboolean
rb_library_claim_handle (RbLibrary *self,
                         void      *handle)
{
  gboolean claimed;

  g_mutex_lock (&self->handles_lock);
  claimed = g_hash_table_add (self->handles, handle);
  g_mutex_unlock (&self->handles_lock);
  return claimed;
}

void
rb_library_release_handle (RbLibrary *self,
                           void      *handle)
{
  g_mutex_lock (&self->handles_lock);
  g_hash_table_remove (self->handles, handle);
  g_mutex_unlock (&self->handles_lock);
}

void
rb_library_add_sink (RbLibrary *self,
                     RbLogSink *sink)
{
  sink->library = self;
  g_mutex_lock (&self->sinks_lock);
  g_ptr_array_add (self->sinks, sink);
  g_mutex_unlock (&self->sinks_lock);
}

/* After this returns, @sink's function is not running and never will. */
void
rb_library_remove_sink (RbLibrary *self,
                        RbLogSink *sink)
{
  g_mutex_lock (&self->sinks_lock);
  g_ptr_array_remove_fast (self->sinks, sink);
  g_mutex_unlock (&self->sinks_lock);
}

