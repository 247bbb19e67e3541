/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-error.h"

G_DEFINE_QUARK (rb-plugin-error-quark, rb_plugin_error)
G_DEFINE_QUARK (rb-bundle-error-quark, rb_bundle_error)
