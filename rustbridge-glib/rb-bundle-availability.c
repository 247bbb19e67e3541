/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-bundle-availability-private.h"
#include "rb-bundle-private.h"
#include "rb-bundle-verify-private.h"
#include "rb-error.h"
#include "rb-manifest-private.h"
#include "rb-names-private.h"

/**
 * RbBundle:available:
 *
 * Whether the bundle can be loaded here, as far as its metadata and its
 * manifest signature tell, without loading anything: see
 * [method@RustBridge.Bundle.get_unavailable_reason]. A
 * [class@RustBridge.Registry] sets the verification settings of its items
 * before this is decided.
 */

typedef struct {
  GError *reason;   /* NULL: available */
} Availability;

static GMutex availability_lock;

static GQuark
availability_quark (void)
{
  return g_quark_from_static_string ("rb-bundle-availability");
}

static void
availability_free (Availability *availability)
{
  g_clear_error (&availability->reason);
  g_free (availability);
}

gboolean
rb_bundle_availability_check (RbBundle  *self,
                              GError   **error)
{
  g_autoptr(RbManifestVariant) resolved = NULL;
  g_autofree char *signature = NULL;
  RbBundleSource source;
  RbArchive *archive;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), FALSE);

  resolved = rb_manifest_resolve_variant (self->manifest, NULL, error);
  if (resolved == NULL || !rb_manifest_check_framework (self->manifest, resolved, error))
    return FALSE;
  if ((archive = rb_bundle_get_archive (self, error)) == NULL)
    return FALSE;
  if (!rb_archive_has_file (archive, resolved->library))
    {
      g_autofree char *shown = rb_names_shown (resolved->library);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                   "Bundle “%s” has no library “%s” for platform %s", self->path, shown,
                   rb_manifest_get_current_platform ());
      return FALSE;
    }
  if (self->verify_mode == RB_VERIFY_MODE_SKIP)
    return TRUE;

  source = rb_bundle_get_source (self);
  if (!rb_bundle_verify_manifest (&source, error))
    return FALSE;
  signature = g_strconcat (resolved->library, ".minisig", NULL);
  if (self->verify_mode == RB_VERIFY_MODE_STRICT && !rb_archive_has_file (archive, signature))
    {
      g_autofree char *shown = rb_names_shown (resolved->library);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING,
                   "Bundle “%s”: library “%s” is not signed", self->path, shown);
      return FALSE;
    }
  return TRUE;
}

void
rb_bundle_availability_set (RbBundle *self,
                            GError   *reason)
{
  Availability *availability;

  g_mutex_lock (&availability_lock);
  if (g_object_get_qdata (G_OBJECT (self), availability_quark ()) != NULL)
    {
      g_mutex_unlock (&availability_lock);
      g_clear_error (&reason);
      return;
    }
  availability = g_new0 (Availability, 1);
  availability->reason = reason;
  g_object_set_qdata_full (G_OBJECT (self), availability_quark (), availability,
                           (GDestroyNotify) availability_free);
  g_mutex_unlock (&availability_lock);
}

const GError *
rb_bundle_availability_peek (RbBundle *self,
                             gboolean *known)
{
  Availability *availability;

  g_mutex_lock (&availability_lock);
  availability = g_object_get_qdata (G_OBJECT (self), availability_quark ());
  g_mutex_unlock (&availability_lock);
  *known = availability != NULL;
  /* Never replaced once set, so the pointer stays valid with the bundle. */
  return availability != NULL ? availability->reason : NULL;
}

/**
 * rb_bundle_get_unavailable_reason:
 * @self: a #RbBundle
 *
 * Why the bundle cannot be loaded here, from its metadata and signatures,
 * without extracting, mapping or running anything: no library for this
 * platform (%RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM,
 * %RB_BUNDLE_ERROR_ENTRY_NOT_FOUND), a framework version whose plugin ABI
 * this library does not implement (%RB_BUNDLE_ERROR_UNSUPPORTED_VERSION),
 * for a bundle a [class@RustBridge.Registry] lists, a bundle format
 * version (`bundle_version`) this library does not read (also
 * %RB_BUNDLE_ERROR_UNSUPPORTED_VERSION: such a bundle has only its name
 * and versions; opened directly, it does not open at all),
 * or, unless [property@RustBridge.Bundle:verify-mode] is
 * %RB_VERIFY_MODE_SKIP, a manifest signature that is missing
 * (%RB_BUNDLE_ERROR_SIGNATURE_MISSING), does not verify
 * (%RB_BUNDLE_ERROR_SIGNATURE_INVALID) or has no trusted key
 * (%RB_BUNDLE_ERROR_NO_PUBLIC_KEY); in %RB_VERIFY_MODE_STRICT the library's
 * signature file must be there too. The library's own checksum and
 * signature cover its bytes: they are checked when it is loaded.
 *
 * The answer is decided once, with the verification settings the bundle
 * has then (a [class@RustBridge.Registry] decides it for its items when
 * it scans), and kept.
 *
 * Returns: (nullable) (transfer none): the reason, or %NULL if the bundle
 *   is available
 */
const GError *
rb_bundle_get_unavailable_reason (RbBundle *self)
{
  const GError *reason;
  GError *error = NULL;
  gboolean known;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  reason = rb_bundle_availability_peek (self, &known);
  if (known)
    return reason;
  rb_bundle_availability_check (self, &error);
  rb_bundle_availability_set (self, error);
  return rb_bundle_availability_peek (self, &known);
}

/**
 * rb_bundle_get_available:
 * @self: a #RbBundle
 *
 * Gets [property@RustBridge.Bundle:available]: whether
 * [method@RustBridge.Bundle.get_unavailable_reason] is %NULL.
 *
 * Returns: whether the bundle can be loaded here
 */
gboolean
rb_bundle_get_available (RbBundle *self)
{
  /* The property of a bundle that did not open reads FALSE, as its other
   * properties read empty. */
  if (RB_IS_BUNDLE (self) && !self->opened)
    return FALSE;
  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), FALSE);
  return rb_bundle_get_unavailable_reason (self) == NULL;
}
