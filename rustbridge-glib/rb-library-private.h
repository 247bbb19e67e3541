/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "rb-abi-private.h"

G_BEGIN_DECLS

/*
 * RbLibrary: one mapped plugin library (one per canonical file path).
 *
 * A library is opened once and stays mapped for the life of the process:
 * Rust plugins start threads and register thread-local destructors that
 * may outlive every handle, so unmapping them is not safe (spec/ABI.md,
 * "Loading and reloading"). Loading the same file again reuses it.
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

typedef struct {
  RbLibrary     *library;
  RbLogSinkFunc  func;
  gpointer       user_data;
} RbLogSink;

RbLibrary     *rb_library_open          (const char  *path,
                                         GError     **error);
const RbAbi   *rb_library_get_abi       (RbLibrary   *self);
const char    *rb_library_get_path      (RbLibrary   *self);
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

/* The sink of the plugin that the current thread is calling into. It is
 * read and written twice per call: initial-exec avoids __tls_get_addr()
 * (one pointer of static TLS, which glibc reserves room for even in
 * libraries loaded with dlopen(), as GI bindings do). */
extern _Thread_local RbLogSink *rb_library_current_sink __attribute__ ((tls_model ("initial-exec")));

/* Attribute log messages that arrive on the current thread to @sink while
 * it calls into the plugin (returns the previous value, to restore). */
static inline RbLogSink *
rb_library_enter_call (RbLogSink *sink)
{
  RbLogSink *previous = rb_library_current_sink;

  rb_library_current_sink = sink;
  return previous;
}

static inline void
rb_library_leave_call (RbLogSink *previous)
{
  rb_library_current_sink = previous;
}

G_END_DECLS
