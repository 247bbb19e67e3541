/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(RUSTBRIDGE_GLIB_INSIDE) && !defined(RUSTBRIDGE_GLIB_COMPILATION)
#error "Only <rustbridge-glib.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * RbLifecycleState:
 * @RB_LIFECYCLE_STATE_INSTALLED: created, not started
 * @RB_LIFECYCLE_STATE_STARTING: the plugin's start-up code is running
 * @RB_LIFECYCLE_STATE_ACTIVE: serving calls
 * @RB_LIFECYCLE_STATE_STOPPING: shutting down; new calls are refused
 * @RB_LIFECYCLE_STATE_STOPPED: shut down; the native handle is gone
 * @RB_LIFECYCLE_STATE_FAILED: start-up or shutdown failed, or the plugin
 *   reported an internal failure (such as a panic)
 *
 * The lifecycle of a plugin. The values equal the plugin ABI's wire values.
 */
typedef enum {
  RB_LIFECYCLE_STATE_INSTALLED = 0,
  RB_LIFECYCLE_STATE_STARTING = 1,
  RB_LIFECYCLE_STATE_ACTIVE = 2,
  RB_LIFECYCLE_STATE_STOPPING = 3,
  RB_LIFECYCLE_STATE_STOPPED = 4,
  RB_LIFECYCLE_STATE_FAILED = 5,
} RbLifecycleState;

/**
 * RbLogLevel:
 * @RB_LOG_LEVEL_TRACE: everything
 * @RB_LOG_LEVEL_DEBUG: debugging messages
 * @RB_LOG_LEVEL_INFO: informational messages
 * @RB_LOG_LEVEL_WARN: warnings
 * @RB_LOG_LEVEL_ERROR: errors
 * @RB_LOG_LEVEL_OFF: nothing
 *
 * A plugin's log filter and the level of its log messages. The values equal
 * the plugin ABI's wire values.
 */
typedef enum {
  RB_LOG_LEVEL_TRACE = 0,
  RB_LOG_LEVEL_DEBUG = 1,
  RB_LOG_LEVEL_INFO = 2,
  RB_LOG_LEVEL_WARN = 3,
  RB_LOG_LEVEL_ERROR = 4,
  RB_LOG_LEVEL_OFF = 5,
} RbLogLevel;

/**
 * RbVerifyMode:
 * @RB_VERIFY_MODE_STRICT: signatures are required and must be valid
 * @RB_VERIFY_MODE_WARN: signatures that exist are checked; a missing
 *   signature or key only logs a message (%G_LOG_LEVEL_MESSAGE, never a
 *   warning, which would abort a program run with fatal warnings)
 * @RB_VERIFY_MODE_SKIP: signatures are ignored; checksums are still checked
 *
 * How a bundle's minisign signatures are verified.
 */
typedef enum {
  RB_VERIFY_MODE_STRICT = 0,
  RB_VERIFY_MODE_WARN = 1,
  RB_VERIFY_MODE_SKIP = 2,
} RbVerifyMode;

/**
 * RbIsolation:
 * @RB_ISOLATION_NONE: the plugin runs in the application's process (the
 *   default, the fastest)
 * @RB_ISOLATION_PROCESS: the plugin runs in a helper process: a crash or a
 *   hang fails its calls with %RB_PLUGIN_ERROR_CRASHED or
 *   %G_IO_ERROR_TIMED_OUT instead of taking the application down
 * @RB_ISOLATION_SANDBOX: like %RB_ISOLATION_PROCESS, with the helper
 *   confined by bubblewrap (and a seccomp filter where available); loading
 *   fails with %G_IO_ERROR_NOT_SUPPORTED where bubblewrap is missing
 *
 * Where a plugin's code runs ([isolation](isolation.html)).
 */
typedef enum {
  RB_ISOLATION_NONE = 0,
  RB_ISOLATION_PROCESS = 1,
  RB_ISOLATION_SANDBOX = 2,
} RbIsolation;

G_END_DECLS
