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

RbLibrary     *rb_library_open          (const char  *path,
                                         GError     **error);
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
