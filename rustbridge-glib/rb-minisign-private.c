/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "rb-error.h"
#include "rb-minisign-private.h"

/* As minisign prints it: the 8 bytes as a little-endian number, in hex
 * without leading zeros. */
char *
rb_minisign_key_id_to_string (const guint8 key_id[RB_MINISIGN_KEY_ID_LEN])
{
  guint64 id = 0;

  for (guint i = RB_MINISIGN_KEY_ID_LEN; i-- > 0;)
    id = (id << 8) | key_id[i];
  return g_strdup_printf ("%" G_GINT64_MODIFIER "X", id);
}

gboolean
rb_minisign_init (GError **error)
{
  /* sodium_init() is idempotent and thread-safe; 1 means "already". */
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID,
                           "Could not initialise libsodium");
      return FALSE;
    }
  return TRUE;
}

static gboolean
decode_base64 (const char *line,
               gsize       line_len,
               guint8     *out,
               gsize       expected_len)
{
  size_t bin_len = 0;
  const char *end = NULL;

  if (sodium_base642bin (out, expected_len, line, line_len, " \t\r", &bin_len, &end,
                         sodium_base64_VARIANT_ORIGINAL) != 0)
    return FALSE;
  /* Nothing but white space after the value. */
  while (end != NULL && end < line + line_len && g_ascii_isspace (*end))
    end++;
  return bin_len == expected_len && end == line + line_len;
}

gboolean
rb_minisign_key_parse (const char     *text,
                       const char     *what,
                       RbMinisignKey  *key,
                       GError        **error)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strstrip (lines[i]);
      guint8 raw[42];

      if (*line == '\0' || g_str_has_prefix (line, "untrusted comment:"))
        continue;
      if (!decode_base64 (line, strlen (line), raw, sizeof raw) || raw[0] != 'E' || raw[1] != 'd')
        break;
      memcpy (key->key_id, raw + 2, RB_MINISIGN_KEY_ID_LEN);
      memcpy (key->public_key, raw + 10, 32);
      return TRUE;
    }

  g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID,
               "Invalid minisign public key (%s): expected the base64 of 42 bytes starting with “Ed”",
               what);
  return FALSE;
}

void
rb_minisign_signature_clear (RbMinisignSignature *signature)
{
  g_clear_pointer (&signature->trusted_comment, g_free);
}

gboolean
rb_minisign_signature_parse (const guint8         *data,
                             gsize                 len,
                             const char           *what,
                             RbMinisignSignature  *signature,
                             GError              **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  const char *problem = NULL;
  guint8 raw[74];

  memset (signature, 0, sizeof *signature);

  /* An empty GBytes may hold a NULL pointer. */
  if (len == 0)
    {
      problem = "the file is empty";
      goto fail;
    }
  if (len > 64 * 1024 || memchr (data, '\0', len) != NULL || !g_utf8_validate_len ((const char *) data, len, NULL))
    {
      problem = "not a text file";
      goto fail;
    }
  text = g_strndup ((const char *) data, len);
  lines = g_strsplit (text, "\n", -1);
  /* Only line ends are trimmed, as minisign does: the trusted comment is
   * signed as written, trailing spaces included. */
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gsize n = strlen (lines[i]);
      while (n > 0 && lines[i][n - 1] == '\r')
        lines[i][--n] = '\0';
    }

  if (g_strv_length (lines) < 4 || !g_str_has_prefix (lines[0], "untrusted comment:"))
    {
      problem = "expected an “untrusted comment:” line and three more lines";
      goto fail;
    }
  if (!decode_base64 (lines[1], strlen (lines[1]), raw, sizeof raw))
    {
      problem = "the signature line is not the base64 of 74 bytes";
      goto fail;
    }
  if (raw[0] == 'E' && raw[1] == 'D')
    signature->prehashed = TRUE;
  else if (raw[0] == 'E' && raw[1] == 'd')
    signature->prehashed = FALSE;
  else
    {
      problem = "unknown signature algorithm";
      goto fail;
    }
  memcpy (signature->key_id, raw + 2, RB_MINISIGN_KEY_ID_LEN);
  memcpy (signature->signature, raw + 10, 64);

  if (!g_str_has_prefix (lines[2], "trusted comment: "))
    {
      problem = "expected a “trusted comment:” line";
      goto fail;
    }
  if (!decode_base64 (lines[3], strlen (lines[3]), signature->global_signature, 64))
    {
      problem = "the global signature line is not the base64 of 64 bytes";
      goto fail;
    }
  /* Four lines and at most a final line end, as minisign writes them. */
  if (lines[4] != NULL && (lines[4][0] != '\0' || lines[5] != NULL))
    {
      problem = "there is more after the global signature";
      goto fail;
    }
  signature->trusted_comment = g_strdup (lines[2] + strlen ("trusted comment: "));
  return TRUE;

fail:
  g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID,
               "Invalid minisign signature “%s”: %s", what, problem);
  return FALSE;
}

gboolean
rb_minisign_verify (const RbMinisignKey        *key,
                    const RbMinisignSignature  *signature,
                    const guint8               *data,
                    gsize                       len,
                    const guint8               *prehash,
                    const char                 *what,
                    GError                    **error)
{
  guint8 hash[RB_MINISIGN_PREHASH_LEN];
  g_autofree guint8 *global = NULL;
  gsize comment_len;
  int rc;

  if (sodium_memcmp (key->key_id, signature->key_id, RB_MINISIGN_KEY_ID_LEN) != 0)
    {
      g_autofree char *signed_by = rb_minisign_key_id_to_string (signature->key_id);
      g_autofree char *expected = rb_minisign_key_id_to_string (key->key_id);

      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID,
                   "Signature “%s” was made with another key (key id mismatch: signed by %s, "
                   "the trusted key is %s)", what, signed_by, expected);
      return FALSE;
    }

  if (signature->prehashed)
    {
      if (prehash == NULL)
        {
          crypto_generichash (hash, sizeof hash, data, len, NULL, 0);
          prehash = hash;
        }
      rc = crypto_sign_verify_detached (signature->signature, prehash, RB_MINISIGN_PREHASH_LEN,
                                        key->public_key);
    }
  else
    {
      if (data == NULL && len > 0)
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID,
                       "Signature “%s” uses the legacy format, which needs the whole file", what);
          return FALSE;
        }
      rc = crypto_sign_verify_detached (signature->signature, data, len, key->public_key);
    }
  if (rc != 0)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID,
                   "Signature “%s” does not match the signed file", what);
      return FALSE;
    }

  /* The global signature covers the signature and the trusted comment, so
   * an edited comment fails (the peer loaders skip this check). */
  comment_len = strlen (signature->trusted_comment);
  global = g_malloc (64 + comment_len);
  memcpy (global, signature->signature, 64);
  memcpy (global + 64, signature->trusted_comment, comment_len);
  if (crypto_sign_verify_detached (signature->global_signature, global, 64 + comment_len,
                                   key->public_key) != 0)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID,
                   "Signature “%s” has an invalid trusted comment (global signature mismatch)", what);
      return FALSE;
    }
  return TRUE;
}
