/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "rb-abi-private.h"
#include "rb-thread-private.h"

G_BEGIN_DECLS

/*
 * RbLibrary: one mapped plugin library (one per canonical file path).
 *
 * A library is opened once and stays mapped for the life of the process:
 * Rust plugins start threads and register thread-local destructors that
 * may outlive every handle, so unmapping them is not safe (doc/plugin-abi.md,
 * "Loading the same library again"). Loading the same file again reuses it.
 *
 * Verified images (what RbBundle loads): one per verified content, keyed
 * by its SHA-256 (lowercase hex). An image is either a sealed memfd,
 * loaded through "/proc/self/fd/N", or a file extracted to a private
 * directory (the fallback), loaded through its canonical path and removed
 * once mapped. Every memfd stays open for the life of the process: the
 * dynamic loader matches an object already loaded by its path name first,
 * so a closed fd number reused for another memfd would hand out the first
 * library's handle for the second library's path. Registering an image
 * never fails and it is never unregistered: the number of images is the
 * number of distinct verified libraries the process has loaded (or tried
 * to load), each held as long as its mapping would be anyway.
 */
typedef struct _RbLibrary RbLibrary;

/*
 * A receiver of the library's log messages (one per live plugin). @func
 * runs on whatever thread the plugin logs from and must copy what it keeps.
 */
typedef void (*RbLogSinkFunc) (gpointer       user_data,
                               guint8         level,
                               const char    *target,
                               const char    *message,
                               gsize          message_len);

typedef struct _RbLogSink {
  RbLibrary     *library;
  RbLogSinkFunc  func;
  gpointer       user_data;
} RbLogSink;

/* @path: a file, or the path of a registered memfd image. */
RbLibrary     *rb_library_open          (const char  *path,
                                         GError     **error);

/* The path to load the image of @digest from, or NULL if there is none. */
char          *rb_library_dup_image_path (const char *digest);
/* Registers @fd, a sealed memfd holding the content of @digest, as its
 * image, and takes @fd. If the digest has an image already (another
 * thread got there first), @fd is closed and that image's path returned.
 * Returns "/proc/self/fd/N", for rb_library_open(). */
char          *rb_library_register_memfd (int         fd,
                                          const char *digest);
/* Records @self, loaded from an extracted file with the content of
 * @digest, as that content's image (unless it has one). */
void           rb_library_register_file  (RbLibrary  *self,
                                          const char *digest);
/* Whether a library was loaded from the canonical path @path: an
 * extraction must never put another library there (it could be handed the
 * loaded one). */
gboolean       rb_library_path_is_taken  (const char *path);

/* For the isolated helper, which maps the same verified bytes:
 * the sealed memfd of @self, or -1 if it was loaded from a file; and the
 * memfd of a registered image's path ("/proc/self/fd/N", as
 * RbPlugin:path holds it), or -1. The fd is borrowed: it stays open for
 * the life of the process (dup() it to pass it on; sending it over a
 * socket does not close it). */
int            rb_library_get_fd        (RbLibrary   *self);
int            rb_library_lookup_fd     (const char  *path);
const RbAbi   *rb_library_get_abi       (RbLibrary   *self);
RbLogCallback  rb_library_get_log_callback (RbLibrary *self);
gboolean       rb_library_has_raw       (RbLibrary   *self);

/* Live handles of the library's instances: a plugin that hands out a
 * handle which is still in use refuses to be trusted with it. Claiming
 * fails if @handle is already live. */
gboolean       rb_library_claim_handle  (RbLibrary   *self,
                                         void        *handle);
void           rb_library_release_handle (RbLibrary  *self,
                                         void        *handle);

void           rb_library_add_sink      (RbLibrary   *self,
                                         RbLogSink   *sink);
void           rb_library_remove_sink   (RbLibrary   *self,
                                         RbLogSink   *sink);

/* Attribute log messages that arrive on the current thread to @sink while
 * it calls into the plugin (returns the previous value, to restore). */
static inline RbLogSink *
rb_library_enter_call (RbLogSink *sink)
{
  /* The sink of the plugin the current thread is calling into lives in
   * the thread's record (rb-thread-private.h). */
  RbLogSink *previous = rb_thread.current_sink;

  rb_thread.current_sink = sink;
  return previous;
}

static inline void
rb_library_leave_call (RbLogSink *previous)
{
  rb_thread.current_sink = previous;
}

G_END_DECLS
