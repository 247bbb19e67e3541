/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RbIsolated: one plugin instance running in a helper process
 * (rustbridge-glib-host-1.0), the out-of-process back end that the plugin
 * face uses for RB_ISOLATION_PROCESS and, with sandbox_bwrap set,
 * RB_ISOLATION_SANDBOX (rb-sandbox-private.h). The wire is in
 * rb-isolated-wire-private.h.
 *
 * Contract:
 *
 * - rb_isolated_new() spawns the helper (clean environment, only its
 *   socket open, PR_SET_PDEATHSIG; the fork happens on a process-lifetime
 *   thread so that the death signal follows the process, not a worker
 *   thread), loads the plugin in it and runs plugin_init with the config.
 *   It blocks until the plugin is initialised or failed (LOAD_FAILED,
 *   INIT_FAILED, CRASHED).
 *
 * - Calls may come from any number of threads at once; they are
 *   pipelined (up to RB_SHM_SLOTS in flight, more wait for a slot, async
 *   ones in a queue). Results are what the in-process path returns for
 *   the same plugin response: JSON payload text or an RB_PLUGIN_ERROR from
 *   the envelope reader, raw replies as GBytes (big ones zero-copy over a
 *   sealed memfd mapping).
 *
 * - The helper's death, at any time, fails every pending and later call
 *   with RB_PLUGIN_ERROR_CRASHED; the message names the plugin file and
 *   the signal or the exit status ("killed after a timeout" when we killed
 *   it). A helper that sends anything malformed is killed and reported the
 *   same way. @died_func runs once, unless the helper exited because of
 *   rb_isolated_shutdown() or rb_isolated_free(): on an internal thread,
 *   or on the thread of a call that failed with CRASHED, before that call
 *   returns (sync) or its @func runs (async), whichever comes first.
 *   The helper is always reaped, and every fd we open is O_CLOEXEC and
 *   closed by rb_isolated_free().
 *
 * - A call past call_timeout_ms fails with G_IO_ERROR_TIMED_OUT and the
 *   helper is killed (a hung native call cannot be stopped otherwise).
 *
 * - @log_func runs on an internal thread, in the order the helper sent
 *   the messages; it must copy what it keeps. It is not ordered with
 *   call completions.
 *
 * - Async completions (RbIsolatedDoneFunc) run on an internal thread, or
 *   in the calling thread when the call fails before it is submitted; the
 *   function owns @payload, @bytes and @error.
 *
 * - rb_isolated_free() must not race with calls on the same object (the
 *   face waits for its calls first); it kills a helper that is still
 *   running, reaps it and joins the internal threads.
 */

typedef struct _RbIsolated RbIsolated;

typedef void (*RbIsolatedLogFunc)  (gpointer      user_data,
                                    guint8        level,
                                    const char   *target,
                                    const char   *message,
                                    gsize         message_len);

typedef void (*RbIsolatedDiedFunc) (gpointer      user_data,
                                    const GError *error);

/* For JSON calls @payload is set on success, for raw calls @bytes. */
typedef void (*RbIsolatedDoneFunc) (gpointer      user_data,
                                    char         *payload,
                                    GBytes       *bytes,
                                    GError       *error);

typedef struct {
  const char          *helper_path;      /* NULL: $RUSTBRIDGE_HOST_PATH, else libexecdir */
  /* RB_ISOLATION_SANDBOX: bubblewrap's path (from rb_sandbox_find_bwrap(),
   * already checked with rb_sandbox_check()), or NULL to run the helper
   * unsandboxed. The helper then runs under rb_sandbox_build_argv() with
   * the seccomp filter (rb-sandbox-private.h). */
  const char          *sandbox_bwrap;
  guint                call_timeout_ms;  /* 0: none */
  guint                memory_limit_mb;  /* 0: none (RLIMIT_AS of the helper) */
  gint                 spin_us;          /* < 0: $RB_ISOLATED_SPIN_US, else 20 */
  RbIsolatedLogFunc    log_func;
  RbIsolatedDiedFunc   died_func;
  gpointer             user_data;
} RbIsolatedOptions;

RbIsolated *rb_isolated_new             (const char               *plugin_path,
                                         const char               *config_json,
                                         gsize                     config_len,
                                         const RbIsolatedOptions  *options,
                                         GError                  **error);

/* The same for a library that is not a file: @library_fd, a sealed memfd
 * (a bundle's verified library, rb_library_lookup_fd()), is passed to the
 * helper over the socket and loaded there from /proc/self/fd; nothing is
 * written anywhere, nothing is verified again. @plugin_path only names
 * the plugin in messages. @library_fd is borrowed (the helper gets its own
 * copy); sandboxed, no plugin file is bound into the sandbox. */
RbIsolated *rb_isolated_new_for_fd      (const char               *plugin_path,
                                         int                       library_fd,
                                         const char               *config_json,
                                         gsize                     config_len,
                                         const RbIsolatedOptions  *options,
                                         GError                  **error);

char       *rb_isolated_call            (RbIsolated     *self,
                                         const char     *type_tag,
                                         const char     *request,
                                         gsize           request_len,
                                         GError        **error);

GBytes     *rb_isolated_call_raw        (RbIsolated     *self,
                                         guint32         message_id,
                                         const void     *data,
                                         gsize           size,
                                         GError        **error);

void        rb_isolated_call_async      (RbIsolated         *self,
                                         const char         *type_tag,
                                         const char         *request,
                                         gsize               request_len,
                                         RbIsolatedDoneFunc  func,
                                         gpointer            user_data);

void        rb_isolated_call_raw_async  (RbIsolated         *self,
                                         guint32             message_id,
                                         const void         *data,
                                         gsize               size,
                                         RbIsolatedDoneFunc  func,
                                         gpointer            user_data);

gboolean    rb_isolated_has_raw         (RbIsolated     *self);
gboolean    rb_isolated_is_alive        (RbIsolated     *self);
GPid        rb_isolated_get_pid         (RbIsolated     *self);

void        rb_isolated_set_log_level   (RbIsolated     *self,
                                         guint8          level);
/* What rb_isolated_get_state() answers when the helper cannot be asked
 * (it died, or refused): no lifecycle state has this value. */
#define RB_ISOLATED_STATE_GONE 255

/* The plugin's plugin_get_state(), or RB_ISOLATED_STATE_GONE when
 * the helper is gone. */
guint8      rb_isolated_get_state       (RbIsolated     *self);
guint64     rb_isolated_get_rejected_count (RbIsolated  *self);

/* Waits for the calls in flight (new ones fail with INVALID_STATE), then
 * runs plugin_shutdown in the helper, which then exits. Past @timeout_ms
 * (0: none) the helper is killed and SHUTDOWN_FAILED returned. */
gboolean    rb_isolated_shutdown        (RbIsolated     *self,
                                         guint           timeout_ms,
                                         GError        **error);

void        rb_isolated_free            (RbIsolated     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbIsolated, rb_isolated_free)

G_END_DECLS
