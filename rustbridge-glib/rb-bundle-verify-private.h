/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * rb-bundle-verify-private: what a bundle's bytes must prove before they
 * are used, and writing them out.
 *
 * - Signatures: per RbVerifyMode, the minisign signature "<entry>.minisig"
 *   of the manifest and of a library, checked with a key the application
 *   trusts: the public-key property, else the one with the signature's key
 *   id in trusted-keys-dir or the default directories (rb-trust-private.h),
 *   else the manifest's own key only if trust-embedded-key is set (that
 *   proves integrity, not origin). STRICT without such a key fails with
 *   RB_BUNDLE_ERROR_NO_PUBLIC_KEY. WARN and SKIP never fail for a missing
 *   signature or key; WARN falls back to the manifest's key and logs a
 *   MESSAGE (never a WARNING: bundles are untrusted), once per bundle, file
 *   and reason.
 * - The library is streamed out of the archive through SHA-256 (the
 *   manifest's checksum) and BLAKE2b (prehashed signatures), into a file,
 *   a memfd that is sealed once written, or nowhere; never held whole
 *   except for a legacy signature checked without a file (then at most
 *   RB_ARCHIVE_MAX_READ_SIZE).
 * - Files are created exclusively (never replacing a file, never through
 *   a link), and on any failure nothing is left behind.
 *
 * It reads the archive and the manifest it is given and changes neither.
 */

#include <gio/gio.h>

#include "rb-archive-private.h"
#include "rb-manifest-private.h"
#include "rb-types.h"

G_BEGIN_DECLS

/* The WARN-mode messages a bundle has logged, so that each is logged
 * once; shared by the threads that verify the same bundle. */
typedef struct {
  GMutex      lock;
  GHashTable *logged;              /* the messages */
} RbBundleNotices;

void      rb_bundle_notices_init     (RbBundleNotices          *notices);
void      rb_bundle_notices_clear    (RbBundleNotices          *notices);

/* What the checks read; borrowed from the bundle for one call. */
typedef struct {
  RbArchive       *archive;
  RbManifest      *manifest;
  const char      *path;               /* the bundle's, for messages: escaped */
  RbVerifyMode     mode;
  const char      *public_key;         /* the caller's, or NULL */
  const char      *trusted_keys_dir;   /* or NULL: the default directories only */
  gboolean         trust_embedded_key;
  guint64          max_library_size;
  RbBundleNotices *notices;
  const GError    *unopened;           /* archive is NULL: why (a bundle
                                        * listed from a cache whose file
                                        * changed); every check fails so */
} RbBundleSource;

/* Checks manifest.json against its signature. */
gboolean  rb_bundle_verify_manifest  (const RbBundleSource     *source,
                                      GError                  **error);

/* Streams @variant's library through the hashes (and into @fd unless it
 * is -1), and checks its checksum and signature. @written_path, if not
 * NULL, is a file with the same bytes once the checksum matched (@fd's,
 * or an image of them): a legacy signature is checked against it rather
 * than a copy in memory. The manifest's signature is not checked here. */
gboolean  rb_bundle_verify_library   (const RbBundleSource     *source,
                                      const RbManifestVariant  *variant,
                                      int                       fd,
                                      const char               *written_path,
                                      GCancellable             *cancellable,
                                      GError                  **error);

/* Checks the manifest's signature and writes the verified library of
 * @variant to @dir/<its file name> (mode 0700). Returns the new file's
 * path, or NULL with @error set and nothing left behind. */
char     *rb_bundle_verify_extract   (const RbBundleSource     *source,
                                      const RbManifestVariant  *variant,
                                      const char               *dir,
                                      GCancellable             *cancellable,
                                      GError                  **error);

/* Checks the manifest's signature and streams the verified library of
 * @variant into a new memfd (close-on-exec), sealed against any change
 * (write, grow, shrink, further seals) and checked to be mappable for
 * execution. Returns the memfd, or -1 with @error set and nothing left
 * behind; *unavailable is then TRUE if memfds could not be made, sealed
 * or executed here (@error says which), FALSE if the bundle failed. */
int       rb_bundle_verify_to_memfd  (const RbBundleSource     *source,
                                      const RbManifestVariant  *variant,
                                      GCancellable             *cancellable,
                                      gboolean                 *unavailable,
                                      GError                  **error);

/* The lowercase hex of a checksum as the manifest writes it
 * ("sha256:<hex>" or "<hex>"). */
char     *rb_bundle_verify_digest_hex (const char              *checksum);

/* TRUE if SHA-256 of @data matches @expected ("sha256:<hex>" or "<hex>"). */
gboolean  rb_bundle_verify_checksum  (const char               *expected,
                                      const guint8             *data,
                                      gsize                     len);

/* Writes @bytes to a new file @dir/@file_name with @mode; never replaces a
 * file (RB_BUNDLE_ERROR_EXISTS). Returns its path, or NULL with @error set
 * and nothing left behind. */
char     *rb_bundle_verify_write_new (const char               *dir,
                                      const char               *file_name,
                                      GBytes                   *bytes,
                                      int                       mode,
                                      GError                  **error);

G_END_DECLS
