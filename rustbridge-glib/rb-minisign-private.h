/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Minisign keys and signatures (doc/bundle-format.md), verified with libsodium. */

#define RB_MINISIGN_KEY_ID_LEN 8
#define RB_MINISIGN_PREHASH_LEN 64

typedef struct {
  guint8 key_id[RB_MINISIGN_KEY_ID_LEN];
  guint8 public_key[32];
} RbMinisignKey;

typedef struct {
  gboolean prehashed;                     /* "ED" (BLAKE2b-512) or legacy "Ed" */
  guint8   key_id[RB_MINISIGN_KEY_ID_LEN];
  guint8   signature[64];
  char    *trusted_comment;               /* the text after "trusted comment: " */
  guint8   global_signature[64];
} RbMinisignSignature;

gboolean rb_minisign_init              (GError                    **error);

/* The key id as minisign shows it (upper-case hex, no leading zeros). */
char    *rb_minisign_key_id_to_string  (const guint8                key_id[RB_MINISIGN_KEY_ID_LEN]);

/* @text: a base64 key line, or a whole .pub file. @what names the key in
 * error messages. Errors: RB_BUNDLE_ERROR_SIGNATURE_INVALID. */
gboolean rb_minisign_key_parse         (const char                 *text,
                                        const char                 *what,
                                        RbMinisignKey              *key,
                                        GError                    **error);

/* @data: a .minisig as minisign writes it: the untrusted comment, the
 * signature, the trusted comment and the global signature lines, and at
 * most a final line end (CR LF too); an empty file or anything after the
 * fourth line is refused. @what names the signature file in error
 * messages, as given: escape it (rb_names_shown()) if it comes
 * from a bundle. */
gboolean rb_minisign_signature_parse   (const guint8               *data,
                                        gsize                       len,
                                        const char                 *what,
                                        RbMinisignSignature        *signature,
                                        GError                    **error);
void     rb_minisign_signature_clear   (RbMinisignSignature        *signature);

/* Verifies @signature over the signed file. For prehashed signatures
 * @prehash (the BLAKE2b-512 of the data) is used when given, else it is
 * computed from @data; legacy signatures need @data. */
gboolean rb_minisign_verify            (const RbMinisignKey        *key,
                                        const RbMinisignSignature  *signature,
                                        const guint8               *data,
                                        gsize                       len,
                                        const guint8               *prehash,
                                        const char                 *what,
                                        GError                    **error);

G_END_DECLS
