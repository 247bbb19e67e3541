/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * RbManifest: a bundle's manifest.json, parsed and validated once, then
 * read only (any thread may read it). It knows nothing of the archive or
 * of RbBundle: it is made from the manifest's bytes, so that validation
 * can be tested from strings.
 *
 * - rb_manifest_new() refuses, with RB_BUNDLE_ERROR_INVALID_MANIFEST (or
 *   UNSUPPORTED_VERSION for a bundle_version that is not 1.x), text that
 *   is not one JSON object, and any manifest whose members have the wrong
 *   types, whose platforms have no usable variant, whose paths are not
 *   safe entry names or whose checksums are not sha256:<64 hex>. A
 *   pre-0.7 manifest whose api.min_rustbridge_version is newer than the
 *   newest framework we know only logs a MESSAGE (nothing depends on api).
 * - The framework version (build_info.rustbridge_version, the variant's
 *   own first) is checked by rb_manifest_check_framework() before a
 *   library is verified, extracted or loaded, not at open: a bundle from
 *   another ABI can still be inspected.
 * - It owns the current platform key, and resolves a variant of it once
 *   into an RbManifestVariant (library entry, checksum, file name).
 * - Every name it puts in a message is escaped (rb-names-private.h);
 *   @shown_path, the bundle's path for messages, is taken as escaped.
 */

#include <json-glib/json-glib.h>

#include "rb-bundle-message.h"

G_BEGIN_DECLS

/* The rustbridge framework versions whose ABI we implement
 * (doc/plugin-abi.md): 0.5 (the first public release) up to any 1.x; the
 * newest we were tested with is 1.0.x (newer 1.x loads, logged at INFO). */
#define RB_MANIFEST_RUSTBRIDGE_OLDEST_MAJOR   0
#define RB_MANIFEST_RUSTBRIDGE_OLDEST_MINOR   5
#define RB_MANIFEST_RUSTBRIDGE_LAST_MAJOR     1
#define RB_MANIFEST_RUSTBRIDGE_TESTED_MAJOR   1
#define RB_MANIFEST_RUSTBRIDGE_TESTED_MINOR   0

typedef struct _RbManifest RbManifest;

/* One variant of the current platform, resolved. The strings are owned. */
typedef struct {
  char *name;        /* "release", "debug", ... */
  char *library;     /* entry name of the library in the archive */
  char *checksum;    /* "sha256:<64 hex>" (or without the prefix) */
  char *file_name;   /* the last component of @library: not checked yet */
  char *rustbridge_version;  /* the effective build_info's, or NULL */
} RbManifestVariant;

RbManifest  *rb_manifest_new                  (GBytes      *bytes,
                                               const char  *shown_path,
                                               GError     **error);
/* For listing a bundle of a format version this library does not read
 * (rb-registry-scan): @bytes must be a JSON object whose bundle_version
 * is a string that rb_manifest_new() refuses with UNSUPPORTED_VERSION.
 * The manifest kept has only bundle_version, plugin.name (@fallback_name
 * if it is not a non-empty string) and plugin.version ("" if it is not a
 * string); its bytes are that reduced object, which this function takes
 * again. Every platform, variant or library lookup fails with
 * UNSUPPORTED_VERSION and the message rb_manifest_new() gives. */
RbManifest  *rb_manifest_new_unsupported      (GBytes      *bytes,
                                               const char  *shown_path,
                                               const char  *fallback_name,
                                               GError     **error);
void         rb_manifest_free                 (RbManifest  *self);

/* The text exactly as stored. */
GBytes      *rb_manifest_get_bytes            (RbManifest  *self);

/* The key of this machine's platform ("linux-x86_64", ...). */
const char  *rb_manifest_get_current_platform (void);

/* Top-level strings: bundle_version, public_key, notices, license_file. */
const char  *rb_manifest_get_string           (RbManifest  *self,
                                               const char  *name);
/* plugin.<name>: name, version, description, license, repository. */
const char  *rb_manifest_get_plugin_string    (RbManifest  *self,
                                               const char  *name);
const char * const *rb_manifest_get_authors   (RbManifest  *self);
const char  *rb_manifest_get_min_rustbridge_version (RbManifest *self);
const char * const *rb_manifest_get_transports (RbManifest *self);
/* sbom.<format> */
const char  *rb_manifest_get_sbom_path        (RbManifest  *self,
                                               const char  *format);
/* build_info, or NULL. */
JsonObject  *rb_manifest_get_build_info       (RbManifest  *self);

/* api.messages, in manifest order (RbBundleMessage). */
GPtrArray   *rb_manifest_get_messages         (RbManifest  *self);

/* Platforms and variants. @platform NULL: the current one. */
GStrv        rb_manifest_list_platforms       (RbManifest  *self);
GStrv        rb_manifest_list_variants        (RbManifest  *self,
                                               const char  *platform,
                                               GError     **error);
char        *rb_manifest_dup_default_variant  (RbManifest  *self,
                                               const char  *platform,
                                               GError     **error);
/* The current platform's @variant (NULL: the default one), or NULL with
 * RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM or _VARIANT_NOT_FOUND. */
RbManifestVariant *rb_manifest_resolve_variant (RbManifest *self,
                                                const char *variant,
                                                GError    **error);
void         rb_manifest_variant_free         (RbManifestVariant *variant);

/* Refuses, with RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, a variant built with
 * a framework outside the supported range (or whose version cannot be
 * read); logs once per manifest, at INFO, one newer than the newest
 * tested. A variant that does not say is accepted. Any thread. */
gboolean     rb_manifest_check_framework      (RbManifest               *self,
                                               const RbManifestVariant  *variant,
                                               GError                  **error);

/* The entry of @variant (NULL: the default) of @platform (NULL: the
 * current one): the variant object, or the platform object in the legacy
 * single-variant form; NULL with RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM or
 * _VARIANT_NOT_FOUND. */
JsonObject  *rb_manifest_lookup_variant       (RbManifest  *self,
                                               const char  *platform,
                                               const char  *variant,
                                               GError     **error);
/* The variant's own build_info (format 1.1) if it has one, else the
 * top-level one, else NULL. */
JsonObject  *rb_manifest_variant_build_info   (RbManifest  *self,
                                               JsonObject  *entry);

/* Schemas: the names, sorted; and the path and (nullable) checksum of
 * one, or FALSE with RB_BUNDLE_ERROR_ENTRY_NOT_FOUND. */
GStrv        rb_manifest_list_schemas         (RbManifest  *self);
gboolean     rb_manifest_lookup_schema        (RbManifest  *self,
                                               const char  *name,
                                               const char **path,
                                               const char **checksum,
                                               GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbManifest, rb_manifest_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbManifestVariant, rb_manifest_variant_free)

G_END_DECLS
