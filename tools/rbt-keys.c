/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Minisign key pairs and signatures. The secret-key file is minisign's:
 * an untrusted comment line, then the base64 of
 *   "Ed" | KDF ("Sc" for scrypt, or two zero bytes without a password) |
 *   "B2" | salt (32) | opslimit (8, LE) | memlimit (8, LE) |
 *   key id (8) | Ed25519 secret key (64) | checksum (32)
 * where the checksum is BLAKE2b-256 over "Ed" | key id | secret key, and
 * with a password the last 104 bytes are XORed with a scrypt stream
 * derived from the password (crypto_pwhash_scryptsalsa208sha256).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sodium.h>

#include "rbt-common.h"

#define SECRET_KEY_LEN   158
#define KEYNUM_SK_OFFSET 54
#define KEYNUM_SK_LEN    104
#define PASSWORD_MAX     1024
#define PASSWORD_ENV     "RUSTBRIDGE_TOOL_PASSWORD"
/* For tests only: the scrypt limits keygen uses, as "OPSLIMIT:MEMLIMIT".
 * They are stored in the key file, so such keys still work with minisign. */
#define KDF_LIMITS_ENV   "RUSTBRIDGE_TOOL_TEST_KDF_LIMITS"
/* What a key file may make us spend on scrypt (minisign writes 1 GiB). */
#define MAX_KDF_MEMLIMIT (G_GUINT64_CONSTANT (2) << 30)
#define MAX_KDF_OPSLIMIT (G_GUINT64_CONSTANT (1) << 32)

static void
password_free (char *password)
{
  if (password != NULL)
    {
      sodium_memzero (password, strlen (password));
      g_free (password);
    }
}

static void
password_cleanup (char **password)
{
  password_free (*password);
}

/* A string wiped when it goes out of scope. */
#define rbt_autopassword __attribute__ ((cleanup (password_cleanup))) char *

static char *
read_tty_line (int          fd,
               const char  *prompt,
               GError     **error)
{
  struct termios old, quiet;
  char buf[PASSWORD_MAX + 2];
  gsize len = 0;
  gboolean restore = FALSE;
  char *result = NULL;

  if (write (fd, prompt, strlen (prompt)) < 0)
    { /* the prompt is a courtesy */ }
  if (tcgetattr (fd, &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      quiet.c_lflag |= ECHONL;
      restore = tcsetattr (fd, TCSAFLUSH, &quiet) == 0;
    }
  for (;;)
    {
      char c;
      ssize_t n = read (fd, &c, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || c == '\n')
        break;
      if (len < sizeof buf - 1)
        buf[len++] = c;
    }
  if (restore)
    tcsetattr (fd, TCSAFLUSH, &old);
  if (len > 0 && buf[len - 1] == '\r')
    len--;
  if (len > PASSWORD_MAX)
    g_set_error (error, RBT_ERROR, RBT_ERROR_PASSWORD, "The password is longer than %d bytes", PASSWORD_MAX);
  else
    result = g_strndup (buf, len);
  sodium_memzero (buf, sizeof buf);
  return result;
}

char *
rbt_get_password (const char  *prompt,
                  gboolean     confirm,
                  GError     **error)
{
  const char *env = g_getenv (PASSWORD_ENV);
  rbt_autopassword first = NULL;
  rbt_autopassword second = NULL;
  int fd;

  if (env != NULL)
    {
      if (strlen (env) > PASSWORD_MAX)
        {
          g_set_error (error, RBT_ERROR, RBT_ERROR_PASSWORD, "%s is longer than %d bytes", PASSWORD_ENV,
                       PASSWORD_MAX);
          return NULL;
        }
      return g_strdup (env);
    }
  fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_PASSWORD,
                   "A password is needed but there is no terminal to ask it on (set %s, "
                   "or use a key without a password)", PASSWORD_ENV);
      return NULL;
    }
  first = read_tty_line (fd, prompt, error);
  if (first != NULL && confirm)
    {
      second = read_tty_line (fd, "Password (again): ", error);
      if (second != NULL && strcmp (first, second) != 0)
        {
          g_set_error_literal (error, RBT_ERROR, RBT_ERROR_PASSWORD, "The passwords do not match");
          g_clear_pointer (&first, password_free);
        }
      else if (second == NULL)
        g_clear_pointer (&first, password_free);
    }
  close (fd);
  return g_steal_pointer (&first);
}

static void
keynum_checksum (const guint8 *sig_alg,
                 const guint8 *key_id,
                 const guint8 *secret_key,
                 guint8        out[32])
{
  crypto_generichash_state state;

  crypto_generichash_init (&state, NULL, 0, 32);
  crypto_generichash_update (&state, sig_alg, 2);
  crypto_generichash_update (&state, key_id, RB_MINISIGN_KEY_ID_LEN);
  crypto_generichash_update (&state, secret_key, 64);
  crypto_generichash_final (&state, out, 32);
}

static gboolean
scrypt_stream (guint8       *stream,
               const char   *password,
               const guint8 *salt,
               guint64       opslimit,
               guint64       memlimit,
               GError      **error)
{
  if (crypto_pwhash_scryptsalsa208sha256 (stream, KEYNUM_SK_LEN, password, strlen (password), salt,
                                          opslimit, (size_t) memlimit) != 0)
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_KEY,
                   "Could not derive a key from the password (scrypt with %" G_GUINT64_FORMAT
                   " bytes of memory failed)", memlimit);
      return FALSE;
    }
  return TRUE;
}

static void
store_le64 (guint8  *out,
            guint64  v)
{
  for (guint i = 0; i < 8; i++)
    out[i] = (guint8) (v >> (8 * i));
}

static guint64
load_le64 (const guint8 *in)
{
  guint64 v = 0;

  for (guint i = 8; i-- > 0;)
    v = (v << 8) | in[i];
  return v;
}

static char *
base64 (const guint8 *data,
        gsize         len)
{
  gsize size = sodium_base64_ENCODED_LEN (len, sodium_base64_VARIANT_ORIGINAL);
  char *out = g_malloc (size);

  sodium_bin2base64 (out, size, data, len, sodium_base64_VARIANT_ORIGINAL);
  return out;
}

static char *
public_line (const guint8 *key_id,
             const guint8 *public_key)
{
  guint8 raw[42];

  memcpy (raw, "Ed", 2);
  memcpy (raw + 2, key_id, RB_MINISIGN_KEY_ID_LEN);
  memcpy (raw + 10, public_key, 32);
  return base64 (raw, sizeof raw);
}

char *
rbt_secret_key_public_line (const RbtSecretKey *key)
{
  /* libsodium's Ed25519 secret key ends with the public key. */
  return public_line (key->key_id, key->secret_key + 32);
}

void
rbt_secret_key_clear (RbtSecretKey *key)
{
  sodium_memzero (key, sizeof *key);
}

/* The scrypt limits a new key is encrypted with: minisign's (libsodium's
 * "sensitive" ones), or those of $RUSTBRIDGE_TOOL_TEST_KDF_LIMITS, which
 * must lie between libsodium's minimums and what a key file may ask. */
static gboolean
keygen_kdf_limits (guint64  *opslimit,
                   guint64  *memlimit,
                   GError  **error)
{
  const char *env = g_getenv (KDF_LIMITS_ENV);
  g_auto(GStrv) parts = NULL;

  *opslimit = crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE;
  *memlimit = crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE;
  if (env == NULL)
    return TRUE;
  parts = g_strsplit (env, ":", 3);
  if (g_strv_length (parts) != 2 ||
      !g_ascii_string_to_unsigned (parts[0], 10, crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN,
                                   MAX_KDF_OPSLIMIT, opslimit, NULL) ||
      !g_ascii_string_to_unsigned (parts[1], 10, crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN,
                                   MAX_KDF_MEMLIMIT, memlimit, NULL))
    {
      g_autofree char *shown = rbt_shown (env);
      g_set_error (error, RBT_ERROR, RBT_ERROR_USAGE,
                   "%s “%s” is not OPSLIMIT:MEMLIMIT (from %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT
                   " to %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ")", KDF_LIMITS_ENV, shown,
                   (guint64) crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN,
                   (guint64) crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN, MAX_KDF_OPSLIMIT, MAX_KDF_MEMLIMIT);
      return FALSE;
    }
  g_printerr ("rustbridge-tool keygen: warning: %s is set: the secret key is encrypted with scrypt limits "
              "%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT " instead of minisign's (meant for tests)\n",
              KDF_LIMITS_ENV, *opslimit, *memlimit);
  return TRUE;
}

int
rbt_keygen_main (int    argc,
                 char **argv)
{
  gboolean no_password = FALSE, force = FALSE;
  g_autofree char *pub_path = NULL;
  g_autofree char *sec_path = NULL;
  GOptionEntry entries[] = {
    { "public-key", 'p', 0, G_OPTION_ARG_FILENAME, &pub_path, "Write the public key to FILE", "FILE" },
    { "secret-key", 's', 0, G_OPTION_ARG_FILENAME, &sec_path, "Write the secret key to FILE", "FILE" },
    { "without-password", 'W', 0, G_OPTION_ARG_NONE, &no_password,
      "Do not encrypt the secret key with a password", NULL },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Replace existing key files", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  rbt_autopassword password = NULL;
  g_autofree char *sec_b64 = NULL;
  g_autofree char *pub_b64 = NULL;
  g_autofree char *sec_text = NULL;
  g_autofree char *pub_text = NULL;
  g_autofree char *key_id = NULL;
  guint8 secret[SECRET_KEY_LEN];
  guint8 public_key[32];
  guint8 stream[KEYNUM_SK_LEN];
  guint64 opslimit = 0, memlimit = 0;
  int status;

  if (!rbt_parse_options ("keygen", "-p KEY.pub -s KEY.key",
                          "Generates a minisign key pair. The secret key is encrypted with a password\n"
                          "(asked on the terminal, or taken from $" PASSWORD_ENV ") unless -W is given.",
                          entries, &argc, &argv, &status))
    return status;
  if (argc > 1)
    return rbt_usage_error ("keygen", "unexpected argument “%s”", argv[1]);
  if (pub_path == NULL || sec_path == NULL)
    return rbt_usage_error ("keygen", "both -p KEY.pub and -s KEY.key are needed");
  if (strcmp (pub_path, sec_path) == 0)
    return rbt_usage_error ("keygen", "the public and secret key files must differ");

  if (!force)
    {
      const char *existing = g_file_test (pub_path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK) ? pub_path :
                             g_file_test (sec_path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK) ? sec_path : NULL;
      if (existing != NULL)
        {
          g_autofree char *shown = rbt_shown (existing);
          g_set_error (&error, RBT_ERROR, RBT_ERROR_EXISTS,
                       "“%s” already exists; not replacing it without --force", shown);
          return rbt_report_error ("keygen", error);
        }
    }

  if (!no_password)
    {
      if (!keygen_kdf_limits (&opslimit, &memlimit, &error))
        return rbt_report_error ("keygen", error);
      password = rbt_get_password ("Password for the new secret key: ", TRUE, &error);
      if (password == NULL)
        return rbt_report_error ("keygen", error);
      if (*password == '\0')
        {
          g_set_error_literal (&error, RBT_ERROR, RBT_ERROR_PASSWORD,
                               "The password is empty (use -W for a key without a password)");
          return rbt_report_error ("keygen", error);
        }
    }

  memset (secret, 0, sizeof secret);
  memcpy (secret, "Ed", 2);
  memcpy (secret + 4, "B2", 2);
  randombytes_buf (secret + KEYNUM_SK_OFFSET, RB_MINISIGN_KEY_ID_LEN);
  crypto_sign_keypair (public_key, secret + KEYNUM_SK_OFFSET + 8);
  keynum_checksum (secret, secret + KEYNUM_SK_OFFSET, secret + KEYNUM_SK_OFFSET + 8,
                   secret + KEYNUM_SK_OFFSET + 72);
  key_id = rb_minisign_key_id_to_string (secret + KEYNUM_SK_OFFSET);
  pub_b64 = public_line (secret + KEYNUM_SK_OFFSET, public_key);
  if (!no_password)
    {
      /* As minisign: scrypt, the limits stored in the key. */
      memcpy (secret + 2, "Sc", 2);
      randombytes_buf (secret + 6, 32);
      store_le64 (secret + 38, opslimit);
      store_le64 (secret + 46, memlimit);
      if (!scrypt_stream (stream, password, secret + 6, opslimit, memlimit, &error))
        {
          sodium_memzero (secret, sizeof secret);
          return rbt_report_error ("keygen", error);
        }
      for (guint i = 0; i < KEYNUM_SK_LEN; i++)
        secret[KEYNUM_SK_OFFSET + i] ^= stream[i];
      sodium_memzero (stream, sizeof stream);
    }

  sec_b64 = base64 (secret, sizeof secret);
  sodium_memzero (secret, sizeof secret);
  sec_text = g_strdup_printf ("untrusted comment: minisign encrypted secret key\n%s\n", sec_b64);
  sodium_memzero (sec_b64, strlen (sec_b64));
  pub_text = g_strdup_printf ("untrusted comment: minisign public key %s\n%s\n", key_id, pub_b64);

  if (!rbt_write_atomic (pub_path, (const guint8 *) pub_text, strlen (pub_text), -1, force, &error))
    {
      sodium_memzero (sec_text, strlen (sec_text));
      return rbt_report_error ("keygen", error);
    }
  if (!rbt_write_atomic (sec_path, (const guint8 *) sec_text, strlen (sec_text), 0600, force, &error))
    {
      sodium_memzero (sec_text, strlen (sec_text));
      g_unlink (pub_path);
      return rbt_report_error ("keygen", error);
    }
  sodium_memzero (sec_text, strlen (sec_text));
  g_print ("Key id: %s\nPublic key: %s\n", key_id, pub_b64);
  return RBT_EXIT_OK;
}

gboolean
rbt_secret_key_load (const char    *path,
                     RbtSecretKey  *key,
                     GError       **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *shown = rbt_shown (path);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  guint8 raw[SECRET_KEY_LEN];
  guint8 check[32];
  size_t raw_len = 0;
  const char *line = NULL;
  const char *data;
  gsize size;
  gboolean ok = FALSE;

  if (!rbt_read_file (path, "secret key", 64 * 1024, &bytes, error))
    return FALSE;
  data = g_bytes_get_data (bytes, &size);
  if (memchr (data, '\0', size) != NULL)
    goto bad;
  text = g_strndup (data, size);
  lines = g_strsplit (text, "\n", -1);
  sodium_memzero (text, strlen (text));
  if (g_strv_length (lines) < 2 || !g_str_has_prefix (lines[0], "untrusted comment:"))
    goto bad;
  line = g_strstrip (lines[1]);
  if (sodium_base642bin (raw, sizeof raw, line, strlen (line), NULL, &raw_len, NULL,
                         sodium_base64_VARIANT_ORIGINAL) != 0 || raw_len != sizeof raw)
    goto bad;
  if (memcmp (raw, "Ed", 2) != 0)
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_KEY, "Secret key “%s” uses an unsupported signature algorithm",
                   shown);
      goto out;
    }
  if (memcmp (raw + 4, "B2", 2) != 0)
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_KEY, "Secret key “%s” uses an unsupported checksum algorithm",
                   shown);
      goto out;
    }
  if (memcmp (raw + 2, "Sc", 2) == 0)
    {
      guint64 opslimit = load_le64 (raw + 38), memlimit = load_le64 (raw + 46);
      rbt_autopassword password = NULL;
      g_autofree char *prompt = g_strdup_printf ("Password for “%s”: ", shown);
      guint8 stream[KEYNUM_SK_LEN];

      if (memlimit > MAX_KDF_MEMLIMIT || opslimit > MAX_KDF_OPSLIMIT)
        {
          g_set_error (error, RBT_ERROR, RBT_ERROR_KEY,
                       "Secret key “%s” asks for more scrypt work than allowed (%" G_GUINT64_FORMAT
                       " bytes, %" G_GUINT64_FORMAT " operations)", shown, memlimit, opslimit);
          goto out;
        }
      password = rbt_get_password (prompt, FALSE, error);
      if (password == NULL)
        goto out;
      if (!scrypt_stream (stream, password, raw + 6, opslimit, memlimit, error))
        goto out;
      for (guint i = 0; i < KEYNUM_SK_LEN; i++)
        raw[KEYNUM_SK_OFFSET + i] ^= stream[i];
      sodium_memzero (stream, sizeof stream);
      keynum_checksum (raw, raw + KEYNUM_SK_OFFSET, raw + KEYNUM_SK_OFFSET + 8, check);
      if (sodium_memcmp (check, raw + KEYNUM_SK_OFFSET + 72, 32) != 0)
        {
          g_set_error (error, RBT_ERROR, RBT_ERROR_PASSWORD, "Wrong password for the secret key “%s”", shown);
          goto out;
        }
    }
  else if (raw[2] == 0 && raw[3] == 0)
    {
      keynum_checksum (raw, raw + KEYNUM_SK_OFFSET, raw + KEYNUM_SK_OFFSET + 8, check);
      if (sodium_memcmp (check, raw + KEYNUM_SK_OFFSET + 72, 32) != 0)
        {
          g_set_error (error, RBT_ERROR, RBT_ERROR_KEY, "Secret key “%s” is corrupt (checksum mismatch)", shown);
          goto out;
        }
    }
  else
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_KEY,
                   "Secret key “%s” uses an unsupported key derivation function", shown);
      goto out;
    }

  memcpy (key->key_id, raw + KEYNUM_SK_OFFSET, RB_MINISIGN_KEY_ID_LEN);
  memcpy (key->secret_key, raw + KEYNUM_SK_OFFSET + 8, 64);
  ok = TRUE;
  goto out;

bad:
  g_set_error (error, RBT_ERROR, RBT_ERROR_KEY,
               "“%s” is not a minisign secret key (expected an “untrusted comment:” line and the base64 "
               "of %d bytes)", shown, SECRET_KEY_LEN);
out:
  sodium_memzero (raw, sizeof raw);
  if (lines != NULL)
    for (guint i = 0; lines[i] != NULL; i++)
      sodium_memzero (lines[i], strlen (lines[i]));
  return ok;
}

char *
rbt_default_trusted_comment (gint64      timestamp,
                             const char *entry_name)
{
  g_autofree char *base = g_path_get_basename (entry_name);

  /* The shape minisign gives its own prehashed signatures. */
  return g_strdup_printf ("timestamp:%" G_GINT64_FORMAT "\tfile:%s\thashed", timestamp, base);
}

char *
rbt_sign (const RbtSecretKey *key,
          const guint8       *data,
          gsize               len,
          const char         *trusted_comment)
{
  guint8 prehash[RB_MINISIGN_PREHASH_LEN];
  guint8 sig[74];
  guint8 global[64];
  gsize comment_len = strlen (trusted_comment);
  g_autofree guint8 *signed_comment = g_malloc (64 + comment_len);
  g_autofree char *sig_b64 = NULL;
  g_autofree char *global_b64 = NULL;

  crypto_generichash (prehash, sizeof prehash, data, len, NULL, 0);
  memcpy (sig, "ED", 2);
  memcpy (sig + 2, key->key_id, RB_MINISIGN_KEY_ID_LEN);
  crypto_sign_detached (sig + 10, NULL, prehash, sizeof prehash, key->secret_key);
  memcpy (signed_comment, sig + 10, 64);
  memcpy (signed_comment + 64, trusted_comment, comment_len);
  crypto_sign_detached (global, NULL, signed_comment, 64 + comment_len, key->secret_key);
  sig_b64 = base64 (sig, sizeof sig);
  global_b64 = base64 (global, sizeof global);
  return g_strdup_printf ("untrusted comment: signature from rustbridge-tool secret key\n%s\n"
                          "trusted comment: %s\n%s\n", sig_b64, trusted_comment, global_b64);
}

gboolean
rbt_public_key_load (const char     *path,
                     RbMinisignKey  *key,
                     char          **text,
                     GError        **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *shown = rbt_shown (path);
  g_autofree char *contents = NULL;
  g_autoptr(GError) local = NULL;
  const char *data;
  gsize size;

  if (!rbt_read_file (path, "public key", 64 * 1024, &bytes, error))
    return FALSE;
  data = g_bytes_get_data (bytes, &size);
  if (memchr (data, '\0', size) != NULL || !g_utf8_validate_len (data, size, NULL))
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_KEY, "“%s” is not a minisign public key (not text)", shown);
      return FALSE;
    }
  contents = g_strndup (data, size);
  if (!rb_minisign_key_parse (contents, shown, key, &local))
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_KEY, "%s", local->message);
      return FALSE;
    }
  if (text != NULL)
    *text = g_steal_pointer (&contents);
  return TRUE;
}
