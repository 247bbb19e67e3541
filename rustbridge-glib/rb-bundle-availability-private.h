/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * rb-bundle-availability: whether an opened RbBundle can be loaded here,
 * decided from its metadata and its manifest signature only (nothing is
 * extracted, mapped or run):
 *
 * 1. a library for this platform (its default variant), present in the
 *    archive: RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM, _VARIANT_NOT_FOUND,
 *    _ENTRY_NOT_FOUND;
 * 2. a framework version whose ABI we implement: _UNSUPPORTED_VERSION;
 * 3. unless the verify mode is SKIP, the manifest signature checked with
 *    a trusted key (as a load checks it): _SIGNATURE_MISSING,
 *    _SIGNATURE_INVALID, _NO_PUBLIC_KEY; in STRICT mode the library's
 *    signature file must be present (_SIGNATURE_MISSING). The library's
 *    checksum and signature cover its bytes, so they are checked when it
 *    is loaded, as always.
 *
 * The result is kept on the bundle (object data), computed once: by the
 * registry when it scans (or taken from its cache), else on the first
 * rb_bundle_get_unavailable_reason().
 */

#include "rb-bundle.h"

G_BEGIN_DECLS

/* Runs the checks above with the bundle's own verify settings. */
gboolean  rb_bundle_availability_check (RbBundle  *self,
                                        GError   **error);

/* Records the result (NULL: available) unless one is recorded already.
 * Takes @reason. */
void      rb_bundle_availability_set   (RbBundle  *self,
                                        GError    *reason);

/* The recorded reason (NULL: available); *known FALSE when nothing is
 * recorded yet. */
const GError *rb_bundle_availability_peek (RbBundle *self,
                                           gboolean *known);

G_END_DECLS
