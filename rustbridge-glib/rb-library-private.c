/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ffi.h>
#include <gio/gio.h>
#include <gmodule.h>

#include "rb-error.h"
#include "rb-library-private.h"

struct _RbLibrary {
  char        *path;       /* canonical, or a memfd image's /proc/self/fd/N */
  int          fd;         /* the memfd image's (borrowed from it), or -1 */
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

/* A verified image (rb-library-private.h). */
typedef struct {
  char        *path;       /* what to load: /proc/self/fd/N or a canonical path */
  int          fd;         /* the sealed memfd, never closed; -1 for a file */
  struct stat  st;         /* the memfd as registered */
} Image;

/* All guarded by libraries_lock, never freed. */
static GMutex libraries_lock;
static GHashTable *libraries;        /* path -> RbLibrary* */
static GHashTable *images;           /* SHA-256 hex -> Image* */
static GHashTable *images_by_path;   /* Image path -> Image* */

static void
ensure_tables (void)
{
  if (libraries != NULL)
    return;
  libraries = g_hash_table_new (g_str_hash, g_str_equal);
  images = g_hash_table_new (g_str_hash, g_str_equal);
  images_by_path = g_hash_table_new (g_str_hash, g_str_equal);
}

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
  self->fd = -1;
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

/* The memfd image registered for @path, checked to be still the memfd
 * (an fd the application closed and reused is not loaded by its number).
 * Called with libraries_lock held. */
static Image *
lookup_memfd_image (const char  *path,
                    GError     **error)
{
  Image *image = g_hash_table_lookup (images_by_path, path);
  struct stat now;

  if (image == NULL || image->fd < 0)
    return NULL;
  if (fstat (image->fd, &now) != 0 || now.st_dev != image->st.st_dev || now.st_ino != image->st.st_ino)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not load plugin “%s”: its sealed memfd was closed behind the library's back",
                   path);
      return NULL;
    }
  return image;
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
  GError *local = NULL;
  RbLibrary *self;
  Image *image;

  g_return_val_if_fail (path != NULL, NULL);

  if (*path == '\0')
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                           "Could not load plugin: the path is empty");
      return NULL;
    }

  /* A memfd image is loaded by its /proc/self/fd path, which realpath()
   * would turn into the memfd's name. */
  g_mutex_lock (&libraries_lock);
  ensure_tables ();
  self = g_hash_table_lookup (libraries, path);
  if (self == NULL && (image = lookup_memfd_image (path, &local)) != NULL)
    {
      self = rb_library_load (image->path, error);
      if (self != NULL)
        {
          self->fd = image->fd;
          g_hash_table_insert (libraries, self->path, self);
        }
      g_mutex_unlock (&libraries_lock);
      return self;
    }
  g_mutex_unlock (&libraries_lock);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (self != NULL)
    return self;

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

char *
rb_library_dup_image_path (const char *digest)
{
  Image *image;
  char *path = NULL;

  g_mutex_lock (&libraries_lock);
  ensure_tables ();
  image = g_hash_table_lookup (images, digest);
  if (image != NULL)
    path = g_strdup (image->path);
  g_mutex_unlock (&libraries_lock);
  return path;
}

static void
add_image (Image      *image,
           const char *digest)
{
  g_hash_table_insert (images, g_strdup (digest), image);
  g_hash_table_insert (images_by_path, image->path, image);
}

char *
rb_library_register_memfd (int         fd,
                           const char *digest)
{
  Image *image;
  char *path;

  g_mutex_lock (&libraries_lock);
  ensure_tables ();
  image = g_hash_table_lookup (images, digest);
  if (image != NULL)
    {
      /* Never loaded: closing it is safe. */
      close (fd);
    }
  else
    {
      image = g_new0 (Image, 1);
      image->fd = fd;
      image->path = g_strdup_printf ("/proc/self/fd/%d", fd);
      /* A memfd we just sealed: fstat() does not fail on it; a zeroed
       * record would only make a later load refuse it. */
      if (fstat (fd, &image->st) != 0)
        memset (&image->st, 0, sizeof image->st);
      add_image (image, digest);
    }
  path = g_strdup (image->path);
  g_mutex_unlock (&libraries_lock);
  return path;
}

void
rb_library_register_file (RbLibrary  *self,
                          const char *digest)
{
  g_mutex_lock (&libraries_lock);
  ensure_tables ();
  if (!g_hash_table_contains (images, digest) && !g_hash_table_contains (images_by_path, self->path))
    {
      Image *image = g_new0 (Image, 1);

      image->fd = -1;
      image->path = g_strdup (self->path);
      add_image (image, digest);
    }
  g_mutex_unlock (&libraries_lock);
}

gboolean
rb_library_path_is_taken (const char *path)
{
  gboolean taken;

  g_mutex_lock (&libraries_lock);
  ensure_tables ();
  taken = g_hash_table_contains (libraries, path) || g_hash_table_contains (images_by_path, path);
  g_mutex_unlock (&libraries_lock);
  return taken;
}

int
rb_library_get_fd (RbLibrary *self)
{
  return self->fd;
}

int
rb_library_lookup_fd (const char *path)
{
  Image *image;
  int fd;

  g_mutex_lock (&libraries_lock);
  ensure_tables ();
  image = g_hash_table_lookup (images_by_path, path);
  fd = image != NULL ? image->fd : -1;
  g_mutex_unlock (&libraries_lock);
  return fd;
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

