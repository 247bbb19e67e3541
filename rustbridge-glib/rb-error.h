/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(RUSTBRIDGE_GLIB_INSIDE) && !defined(RUSTBRIDGE_GLIB_COMPILATION)
#error "Only <rustbridge-glib.h> can be included directly."
#endif

#include <glib.h>

#include "rb-version-macros.h"

G_BEGIN_DECLS

/**
 * RB_PLUGIN_ERROR:
 *
 * Error domain of [class@RustBridge.Plugin]. Errors in this domain are from
 * the [error@RustBridge.PluginError] enumeration.
 */
#define RB_PLUGIN_ERROR (rb_plugin_error_quark ())

/**
 * RbPluginError:
 * @RB_PLUGIN_ERROR_INVALID_STATE: the plugin is not active (not started, stopping or stopped)
 * @RB_PLUGIN_ERROR_INIT_FAILED: the plugin's initialisation failed
 * @RB_PLUGIN_ERROR_SHUTDOWN_FAILED: the plugin's shutdown failed
 * @RB_PLUGIN_ERROR_CONFIG: configuration error, or a type tag that is not valid UTF-8
 * @RB_PLUGIN_ERROR_SERIALIZATION: the request or the response was not valid for the handler
 * @RB_PLUGIN_ERROR_UNKNOWN_MESSAGE: the plugin has no handler for the type tag (an empty one included) or message id
 * @RB_PLUGIN_ERROR_HANDLER: the handler failed
 * @RB_PLUGIN_ERROR_RUNTIME: the plugin's runtime failed
 * @RB_PLUGIN_ERROR_CANCELLED: the plugin cancelled the call
 * @RB_PLUGIN_ERROR_TIMEOUT: the plugin timed out
 * @RB_PLUGIN_ERROR_INTERNAL: internal plugin error, including a caught panic
 * @RB_PLUGIN_ERROR_FFI: error at the foreign-function boundary
 * @RB_PLUGIN_ERROR_TOO_MANY_REQUESTS: too many concurrent requests; the call was rejected
 * @RB_PLUGIN_ERROR_LOAD_FAILED: the file is missing, is not a shared library, or lacks a required symbol
 * @RB_PLUGIN_ERROR_PROTOCOL: the plugin returned a malformed response
 * @RB_PLUGIN_ERROR_NOT_SUPPORTED: the plugin does not support the operation (e.g. no binary transport)
 * @RB_PLUGIN_ERROR_CRASHED: the helper process of an isolated plugin died (crashed, exited, or was killed after a timeout); the message names the signal or exit status and the plugin file
 *
 * Error codes of the %RB_PLUGIN_ERROR domain. Codes 1 to 13 equal the plugin
 * ABI's wire error codes; codes from 100 are raised by the host.
 */
typedef enum {
  RB_PLUGIN_ERROR_INVALID_STATE = 1,
  RB_PLUGIN_ERROR_INIT_FAILED = 2,
  RB_PLUGIN_ERROR_SHUTDOWN_FAILED = 3,
  RB_PLUGIN_ERROR_CONFIG = 4,
  RB_PLUGIN_ERROR_SERIALIZATION = 5,
  RB_PLUGIN_ERROR_UNKNOWN_MESSAGE = 6,
  RB_PLUGIN_ERROR_HANDLER = 7,
  RB_PLUGIN_ERROR_RUNTIME = 8,
  RB_PLUGIN_ERROR_CANCELLED = 9,
  RB_PLUGIN_ERROR_TIMEOUT = 10,
  RB_PLUGIN_ERROR_INTERNAL = 11,
  RB_PLUGIN_ERROR_FFI = 12,
  RB_PLUGIN_ERROR_TOO_MANY_REQUESTS = 13,
  RB_PLUGIN_ERROR_LOAD_FAILED = 100,
  RB_PLUGIN_ERROR_PROTOCOL = 101,
  RB_PLUGIN_ERROR_NOT_SUPPORTED = 102,
  RB_PLUGIN_ERROR_CRASHED = 103,
} RbPluginError;

/**
 * RB_BUNDLE_ERROR:
 *
 * Error domain of [class@RustBridge.Bundle]. Errors in this domain are from
 * the [error@RustBridge.BundleError] enumeration.
 */
#define RB_BUNDLE_ERROR (rb_bundle_error_quark ())

/**
 * RbBundleError:
 * @RB_BUNDLE_ERROR_NOT_FOUND: the bundle file does not exist
 * @RB_BUNDLE_ERROR_INVALID_ARCHIVE: the file is not a readable ZIP archive
 * @RB_BUNDLE_ERROR_INVALID_MANIFEST: `manifest.json` is missing or invalid
 * @RB_BUNDLE_ERROR_UNSUPPORTED_VERSION: the bundle format version is not supported
 * @RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM: the bundle has no library for the platform
 * @RB_BUNDLE_ERROR_VARIANT_NOT_FOUND: the bundle has no such variant
 * @RB_BUNDLE_ERROR_ENTRY_NOT_FOUND: a file named by the manifest is not in the archive
 * @RB_BUNDLE_ERROR_CHECKSUM_MISMATCH: a file does not match its SHA-256 checksum
 * @RB_BUNDLE_ERROR_SIGNATURE_MISSING: a required signature is missing
 * @RB_BUNDLE_ERROR_SIGNATURE_INVALID: a signature is malformed or does not verify
 * @RB_BUNDLE_ERROR_NO_PUBLIC_KEY: signatures must be verified but there is no public key
 * @RB_BUNDLE_ERROR_UNSAFE_PATH: an archive entry has an unsafe name or type
 * @RB_BUNDLE_ERROR_TOO_LARGE: the archive, an entry or the manifest exceeds a size limit
 * @RB_BUNDLE_ERROR_EXISTS: the destination file already exists
 *
 * Error codes of the %RB_BUNDLE_ERROR domain.
 */
typedef enum {
  RB_BUNDLE_ERROR_NOT_FOUND = 1,
  RB_BUNDLE_ERROR_INVALID_ARCHIVE,
  RB_BUNDLE_ERROR_INVALID_MANIFEST,
  RB_BUNDLE_ERROR_UNSUPPORTED_VERSION,
  RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM,
  RB_BUNDLE_ERROR_VARIANT_NOT_FOUND,
  RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
  RB_BUNDLE_ERROR_CHECKSUM_MISMATCH,
  RB_BUNDLE_ERROR_SIGNATURE_MISSING,
  RB_BUNDLE_ERROR_SIGNATURE_INVALID,
  RB_BUNDLE_ERROR_NO_PUBLIC_KEY,
  RB_BUNDLE_ERROR_UNSAFE_PATH,
  RB_BUNDLE_ERROR_TOO_LARGE,
  RB_BUNDLE_ERROR_EXISTS,
} RbBundleError;

RB_AVAILABLE_IN_1_0
GQuark rb_plugin_error_quark (void);

RB_AVAILABLE_IN_1_0
GQuark rb_bundle_error_quark (void);

G_END_DECLS
