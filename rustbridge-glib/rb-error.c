/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-error.h"

/* Not G_DEFINE_QUARK: its unsynchronised static is a data race when two
 * threads ask for a domain first at the same time (a plugin's calls fail
 * on pool threads while the owner thread checks the error). */
#define RB_DEFINE_QUARK(name, func)                                     \
  GQuark                                                                \
  func##_quark (void)                                                   \
  {                                                                     \
    static gsize quark = 0;                                             \
                                                                        \
    if (g_once_init_enter (&quark))                                     \
      g_once_init_leave (&quark, g_quark_from_static_string (#name));   \
    return (GQuark) quark;                                              \
  }

/**
 * rb_plugin_error_quark:
 *
 * The error domain of [class@RustBridge.Plugin].
 *
 * Returns: the quark of %RB_PLUGIN_ERROR
 */
RB_DEFINE_QUARK (rb-plugin-error-quark, rb_plugin_error)

/**
 * rb_bundle_error_quark:
 *
 * The error domain of [class@RustBridge.Bundle].
 *
 * Returns: the quark of %RB_BUNDLE_ERROR
 */
RB_DEFINE_QUARK (rb-bundle-error-quark, rb_bundle_error)
