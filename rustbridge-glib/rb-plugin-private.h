/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "rb-plugin.h"

G_BEGIN_DECLS

/* Records which bundle a plugin was loaded from (shown by the
 * bundle-name/bundle-version properties). Called by RbBundle right after
 * rb_plugin_new() succeeded. */
void rb_plugin_set_bundle_info (RbPlugin   *self,
                                const char *bundle_name,
                                const char *bundle_version);

G_END_DECLS
