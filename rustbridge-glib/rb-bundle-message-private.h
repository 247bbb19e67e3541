/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "rb-bundle-message.h"

G_BEGIN_DECLS

/* One member of a manifest's `api.messages`. @where names it in error
 * messages ("api.messages[2]"). Errors: RB_BUNDLE_ERROR_INVALID_MANIFEST. */
RbBundleMessage *rb_bundle_message_new_from_json (JsonNode    *node,
                                                  const char  *where,
                                                  GError     **error);

G_END_DECLS
