/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-error.h"

/**
 * rb_plugin_error_quark:
 *
 * The error domain of [class@RustBridge.Plugin].
 *
 * Returns: the quark of %RB_PLUGIN_ERROR
 */
G_DEFINE_QUARK (rb-plugin-error-quark, rb_plugin_error)

/**
 * rb_bundle_error_quark:
 *
 * The error domain of [class@RustBridge.Bundle].
 *
 * Returns: the quark of %RB_BUNDLE_ERROR
 */
G_DEFINE_QUARK (rb-bundle-error-quark, rb_bundle_error)
