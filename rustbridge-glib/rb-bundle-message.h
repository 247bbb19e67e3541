/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(RUSTBRIDGE_GLIB_INSIDE) && !defined(RUSTBRIDGE_GLIB_COMPILATION)
#error "Only <rustbridge-glib.h> can be included directly."
#endif

#include <glib-object.h>

#include "rb-version-macros.h"

G_BEGIN_DECLS

#define RB_TYPE_BUNDLE_MESSAGE (rb_bundle_message_get_type ())

typedef struct _RbBundleMessage RbBundleMessage;

RB_AVAILABLE_IN_1_0
GType            rb_bundle_message_get_type             (void) G_GNUC_CONST;
RB_AVAILABLE_IN_1_0
RbBundleMessage *rb_bundle_message_ref                  (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
void             rb_bundle_message_unref                (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
const char      *rb_bundle_message_get_type_tag         (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
gint64           rb_bundle_message_get_message_id       (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
const char      *rb_bundle_message_get_description      (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
const char      *rb_bundle_message_get_transport        (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
const char      *rb_bundle_message_get_request_schema   (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
const char      *rb_bundle_message_get_response_schema  (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
const char      *rb_bundle_message_get_cstruct_request  (RbBundleMessage *message);
RB_AVAILABLE_IN_1_0
const char      *rb_bundle_message_get_cstruct_response (RbBundleMessage *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbBundleMessage, rb_bundle_message_unref)

G_END_DECLS
