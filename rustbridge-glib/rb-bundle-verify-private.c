/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sodium.h>

#include "rb-bundle-verify-private.h"
#include "rb-error.h"
#include "rb-minisign-private.h"
#include "rb-names-private.h"
#include "rb-trust-private.h"

#define MAX_SIGNATURE_SIZE          (64 * 1024)

/* ------------------------------------------------------------------ */
/* Files                                                               */

/* Creates @target for writing; never replaces an existing file or
 * follows a link (RB_BUNDLE_ERROR_EXISTS). Returns an fd or -1. */
static int
create_exclusive (const char  *target,
                  mode_t       mode,
                  GError     **error)
{
  int fd = open (target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

  if (fd < 0)
    {
      int saved = errno;
      g_autofree char *shown = rb_names_escape (target, -1, G_MAXSIZE);

      if (saved == EEXIST)
        g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_EXISTS,
                     "“%s” already exists: not overwriting it", shown);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     "Could not create “%s”: %s", shown, g_strerror (saved));
    }
  return fd;
}

static gboolean
write_all (int            fd,
           const guint8  *data,
           gsize          len,
           const char    *what,
           GError       **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;
          g_autofree char *shown = rb_names_escape (what, -1, G_MAXSIZE);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Could not write %s: %s", shown, g_strerror (saved));
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Signatures                                                          */

void
rb_bundle_notices_init (RbBundleNotices *notices)
{
  g_mutex_init (&notices->lock);
  notices->logged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

void
rb_bundle_notices_clear (RbBundleNotices *notices)
{
  g_clear_pointer (&notices->logged, g_hash_table_unref);
  g_mutex_clear (&notices->lock);
}

/* A MESSAGE, not a WARNING: what a bundle holds must not abort a program
 * that runs with fatal warnings (every GTest program does). Each message
 * is logged once per bundle: a program that verifies or loads the same
 * bundle again has been told. */
static void
warn_unverified (const RbBundleSource *source,
                 const char *what,
                 const char *why)
{
  g_autofree char *message = g_strdup_printf ("Bundle “%s”: %s is not verified (%s; verify-mode is WARN)",
                                              source->path, what, why);
  gboolean first = TRUE;

  if (source->notices != NULL)
    {
      g_mutex_lock (&source->notices->lock);
      first = g_hash_table_add (source->notices->logged, g_strdup (message));
      g_mutex_unlock (&source->notices->lock);
    }
  if (first)
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE", "%s", message);
}

/* The directories a trusted key is looked for in, for messages. */
static char *
trusted_dirs_shown (const RbBundleSource *source)
{
  g_auto(GStrv) defaults = rb_trust_default_dirs ();
  GString *out = g_string_new (NULL);

  if (source->trusted_keys_dir != NULL)
    {
      g_autofree char *shown = rb_names_escape (source->trusted_keys_dir, -1, G_MAXSIZE);
      g_string_append_printf (out, "RbBundle:trusted-keys-dir (“%s”), ", shown);
    }
  for (gsize i = 0; defaults[i] != NULL; i++)
    {
      g_autofree char *shown = rb_names_escape (defaults[i], -1, G_MAXSIZE);
      g_string_append_printf (out, "%s“%s”", i == 0 ? "" : defaults[i + 1] == NULL ? " or " : ", ", shown);
    }
  return g_string_free (out, FALSE);
}

/* Chooses the key to check @signature of @shown with, and says at debug
 * level which one and from where. Returns FALSE with @error set on
 * failure; TRUE with *have_key FALSE when WARN goes on without one. */
static gboolean
choose_key (const RbBundleSource      *source,
            const char                *shown,
            const RbMinisignSignature *signature,
            RbMinisignKey             *key,
            gboolean                  *have_key,
            GError                   **error)
{
  g_autofree char *key_id = rb_minisign_key_id_to_string (signature->key_id);
  g_autofree char *found = NULL;
  const char *embedded;

  *have_key = FALSE;
  if (source->public_key != NULL)
    {
      if (!rb_minisign_key_parse (source->public_key, "public-key property", key, error))
        return FALSE;
      g_debug ("Bundle “%s”: checking “%s” with the public-key property", source->path, shown);
      *have_key = TRUE;
      return TRUE;
    }
  if (rb_trust_find (source->trusted_keys_dir, signature->key_id, key, &found))
    {
      g_autofree char *shown_found = rb_names_escape (found, -1, G_MAXSIZE);
      g_debug ("Bundle “%s”: checking “%s” with the trusted key %s from “%s”", source->path, shown, key_id,
               shown_found);
      *have_key = TRUE;
      return TRUE;
    }

  embedded = rb_manifest_get_string (source->manifest, "public_key");
  if (embedded != NULL && (source->trust_embedded_key || source->mode == RB_VERIFY_MODE_WARN))
    {
      if (!rb_minisign_key_parse (embedded, "manifest public_key", key, error))
        return FALSE;
      g_debug ("Bundle “%s”: checking “%s” with the key the bundle carries (key id %s): "
               "integrity only, not who made it", source->path, shown, key_id);
      if (!source->trust_embedded_key)
        {
          g_autofree char *why = g_strdup_printf ("signed by key id %s, which no trusted key matches; "
                                                  "checked with the bundle's own key only", key_id);
          warn_unverified (source, shown, why);
        }
      *have_key = TRUE;
      return TRUE;
    }

  if (source->mode == RB_VERIFY_MODE_WARN)
    {
      g_autofree char *why = g_strdup_printf ("no key to check key id %s with", key_id);
      warn_unverified (source, shown, why);
      return TRUE;
    }
  {
    g_autofree char *dirs = trusted_dirs_shown (source);
    if (source->trust_embedded_key)
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NO_PUBLIC_KEY,
                   "Bundle “%s”: cannot verify “%s”: it is signed by key id %s, no trusted key matches and "
                   "the manifest has no public key. Set RbBundle:public-key to the publisher's key, or put "
                   "the publisher's .pub file in %s",
                   source->path, shown, key_id, dirs);
    else
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NO_PUBLIC_KEY,
                   "Bundle “%s”: cannot verify “%s”: no trusted key has its key id %s. Set "
                   "RbBundle:public-key to the publisher's key, or put the publisher's .pub file in %s; "
                   "or set RbBundle:trust-embedded-key to check it with the key the bundle carries, which "
                   "proves its integrity but not who made it",
                   source->path, shown, key_id, dirs);
  }
  return FALSE;
}

/* Finds the signature of @name and the key to check it with. Returns
 * FALSE with @error set on failure; TRUE with *check unset when
 * nothing is to be checked (SKIP, or WARN with a message logged). */
static gboolean
prepare_signature (const RbBundleSource *source,
                   const char           *name,
                   RbMinisignKey        *key,
                   RbMinisignSignature  *signature,
                   gboolean             *check,
                   GError              **error)
{
  g_autofree char *sig_name = g_strconcat (name, ".minisig", NULL);
  g_autofree char *shown = rb_names_shown (name);
  g_autofree char *shown_sig = rb_names_shown (sig_name);
  g_autoptr(GBytes) sig_bytes = NULL;
  gboolean have_key;
  gsize size;
  const guint8 *data;

  *check = FALSE;
  if (source->mode == RB_VERIFY_MODE_SKIP)
    return TRUE;

  if (!rb_archive_has_file (source->archive, sig_name))
    {
      if (source->mode == RB_VERIFY_MODE_WARN)
        {
          warn_unverified (source, shown, "it is not signed");
          return TRUE;
        }
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING,
                   "Bundle “%s”: “%s” is not signed (no “%s”)", source->path, shown, shown_sig);
      return FALSE;
    }

  sig_bytes = rb_archive_read (source->archive, sig_name, MAX_SIGNATURE_SIZE, error);
  if (sig_bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (sig_bytes, &size);
  if (!rb_minisign_signature_parse (data, size, shown_sig, signature, error))
    return FALSE;
  if (!choose_key (source, shown, signature, key, &have_key, error))
    {
      rb_minisign_signature_clear (signature);
      return FALSE;
    }
  if (!have_key)
    {
      /* WARN, with a message logged. */
      rb_minisign_signature_clear (signature);
      return TRUE;
    }
  *check = TRUE;
  return TRUE;
}

/* A bundle listed from a cache whose file changed has no archive. */
static gboolean
source_open (const RbBundleSource  *source,
             GError               **error)
{
  if (source->archive != NULL)
    return TRUE;
  g_propagate_error (error, g_error_copy (source->unopened));
  return FALSE;
}

gboolean
rb_bundle_verify_manifest (const RbBundleSource  *source,
                           GError               **error)
{
  RbMinisignKey key;
  RbMinisignSignature signature = { 0 };
  gboolean check, ok;
  const guint8 *data;
  gsize size;

  if (!source_open (source, error))
    return FALSE;

  if (!prepare_signature (source, "manifest.json", &key, &signature, &check, error))
    return FALSE;
  if (!check)
    return TRUE;
  data = g_bytes_get_data (rb_manifest_get_bytes (source->manifest), &size);
  ok = rb_minisign_verify (&key, &signature, data, size, NULL, "manifest.json.minisig", error);
  rb_minisign_signature_clear (&signature);
  return ok;
}

/* ------------------------------------------------------------------ */
/* Streaming the library out                                           */

typedef struct {
  int                                fd;        /* -1: verify only */
  crypto_hash_sha256_state           sha256;
  crypto_generichash_state           blake2b;
  GByteArray                        *copy;      /* legacy signature without a file */
} Sink;

static gboolean
sink_chunk (const guint8  *data,
            gsize          len,
            gpointer       user_data,
            GError       **error)
{
  Sink *sink = user_data;

  crypto_hash_sha256_update (&sink->sha256, data, len);
  crypto_generichash_update (&sink->blake2b, data, len);
  if (sink->copy != NULL)
    g_byte_array_append (sink->copy, data, (guint) len);
  if (sink->fd >= 0)
    return write_all (sink->fd, data, len, "the extracted library", error);
  return TRUE;
}

static gboolean
checksum_matches (const char   *expected,
                  const guint8  digest[crypto_hash_sha256_BYTES])
{
  char hex[crypto_hash_sha256_BYTES * 2 + 1];

  if (g_ascii_strncasecmp (expected, "sha256:", 7) == 0)
    expected += 7;
  sodium_bin2hex (hex, sizeof hex, digest, crypto_hash_sha256_BYTES);
  return g_ascii_strcasecmp (hex, expected) == 0;
}

/*
 * Streams the library of @variant through the hashes (and into @fd unless
 * it is -1), then checks its checksum and signature. For a legacy
 * signature with a file, the file is mapped and checked once written.
 */
gboolean
rb_bundle_verify_library (const RbBundleSource     *source,
                          const RbManifestVariant  *variant,
                          int                       fd,
                          const char               *written_path,
                          GCancellable             *cancellable,
                          GError                  **error)
{
  const char *library = variant->library;
  RbMinisignKey key;
  RbMinisignSignature signature = { 0 };
  g_autofree char *shown = NULL;
  g_autofree char *sig_name = NULL;
  guint8 digest[crypto_hash_sha256_BYTES];
  guint8 prehash[RB_MINISIGN_PREHASH_LEN];
  gboolean check = FALSE, ok = FALSE;
  Sink sink = { fd, { { 0 } }, { { 0 } }, NULL };

  if (!source_open (source, error))
    return FALSE;
  shown = rb_names_shown (library);
  if (!rb_archive_has_file (source->archive, library))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                   "Bundle “%s” has no “%s” (named by the manifest)", source->path, shown);
      return FALSE;
    }
  if (!prepare_signature (source, library, &key, &signature, &check, error))
    return FALSE;

  crypto_hash_sha256_init (&sink.sha256);
  crypto_generichash_init (&sink.blake2b, NULL, 0, sizeof prehash);
  if (check && !signature.prehashed && fd < 0 && written_path == NULL)
    {
      /* A legacy signature covers the bytes themselves: without a file to
       * map, they are held in memory, within the cap of every such read. */
      if (rb_archive_get_size (source->archive, library) > RB_ARCHIVE_MAX_READ_SIZE)
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                       "Bundle “%s”: “%s” has a legacy signature and is larger than the %" G_GUINT64_FORMAT
                       " bytes it can be verified in memory; extract it to verify it",
                       source->path, shown, RB_ARCHIVE_MAX_READ_SIZE);
          goto out;
        }
      sink.copy = g_byte_array_new ();
    }

  if (!rb_archive_stream (source->archive, library, source->max_library_size, cancellable,
                          sink_chunk, &sink, error))
    goto out;

  crypto_hash_sha256_final (&sink.sha256, digest);
  crypto_generichash_final (&sink.blake2b, prehash, sizeof prehash);
  if (!checksum_matches (variant->checksum, digest))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH,
                   "Bundle “%s”: “%s” does not match its checksum", source->path, shown);
      goto out;
    }

  if (check)
    {
      sig_name = g_strconcat (shown, ".minisig", NULL);     /* for messages */
      if (signature.prehashed)
        ok = rb_minisign_verify (&key, &signature, NULL, 0, prehash, sig_name, error);
      else if (sink.copy != NULL)
        ok = rb_minisign_verify (&key, &signature, sink.copy->data, sink.copy->len, NULL, sig_name, error);
      else
        {
          /* Legacy signatures cover the raw bytes: read back what we wrote. */
          g_autoptr(GMappedFile) mapped = g_mapped_file_new (written_path, FALSE, error);
          ok = mapped != NULL &&
               rb_minisign_verify (&key, &signature, (const guint8 *) g_mapped_file_get_contents (mapped),
                                   g_mapped_file_get_length (mapped), NULL, sig_name, error);
        }
    }
  else
    ok = TRUE;

  /* Even one its checksum and signature vouch for: no library is empty
   * (the archive checked that the size it declares is what it holds). */
  if (ok && rb_archive_get_size (source->archive, library) == 0)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                   "Bundle “%s”: “%s” is empty", source->path, shown);
      ok = FALSE;
    }

out:
  rb_minisign_signature_clear (&signature);
  if (sink.copy != NULL)
    g_byte_array_unref (sink.copy);
  return ok;
}

gboolean
rb_bundle_verify_checksum (const char   *expected,
                           const guint8 *data,
                           gsize         len)
{
  guint8 digest[crypto_hash_sha256_BYTES];

  crypto_hash_sha256 (digest, data, len);
  return checksum_matches (expected, digest);
}

char *
rb_bundle_verify_digest_hex (const char *checksum)
{
  if (g_ascii_strncasecmp (checksum, "sha256:", 7) == 0)
    checksum += 7;
  return g_ascii_strdown (checksum, -1);
}

/* ------------------------------------------------------------------ */
/* Sealed memfds                                                       */

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC       0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
/* Linux 6.3: asks for an executable memfd where vm.memfd_noexec makes
 * them non-executable by default; older kernels refuse the flag. */
#ifndef MFD_EXEC
#define MFD_EXEC          0x0010U
#endif
#define ALL_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

/* Forcing the fallback is for tests (doc/bundles.md). */
#define NO_MEMFD_ENV "RUSTBRIDGE_NO_MEMFD"

static int
create_memfd (const char  *file_name,
              GError     **error)
{
  g_autofree char *name = g_strdup_printf ("rustbridge:%s", file_name);
  int fd;

  if (g_getenv (NO_MEMFD_ENV) != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "memfd_create() not tried (" NO_MEMFD_ENV " is set)");
      return -1;
    }
  fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "memfd_create() failed: %s", g_strerror (saved));
    }
  return fd;
}

/* Seals @fd and checks that the loader may map it for execution (a
 * policy may forbid executable memfds: vm.memfd_noexec, an LSM). */
static gboolean
seal_memfd (int      fd,
            GError **error)
{
  long page = sysconf (_SC_PAGESIZE);
  void *probe;

  if (fcntl (fd, F_ADD_SEALS, ALL_SEALS) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "sealing the memfd failed: %s", g_strerror (saved));
      return FALSE;
    }
  probe = mmap (NULL, (size_t) (page > 0 ? page : 4096), PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (probe == MAP_FAILED)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "the memfd may not be mapped for execution: %s", g_strerror (saved));
      return FALSE;
    }
  munmap (probe, (size_t) (page > 0 ? page : 4096));
  return TRUE;
}

int
rb_bundle_verify_to_memfd (const RbBundleSource     *source,
                           const RbManifestVariant  *variant,
                           GCancellable             *cancellable,
                           gboolean                 *unavailable,
                           GError                  **error)
{
  g_autofree char *path = NULL;
  int fd;

  *unavailable = FALSE;
  if (!rb_bundle_verify_manifest (source, error))
    return -1;
  fd = create_memfd (variant->file_name, error);
  if (fd < 0)
    {
      *unavailable = TRUE;
      return -1;
    }
  /* For a legacy signature, read back through the memfd's own path. */
  path = g_strdup_printf ("/proc/self/fd/%d", fd);
  if (!rb_bundle_verify_library (source, variant, fd, path, cancellable, error))
    {
      close (fd);
      return -1;
    }
  if (!seal_memfd (fd, error))
    {
      *unavailable = TRUE;
      close (fd);
      return -1;
    }
  return fd;
}

/* ------------------------------------------------------------------ */
/* Writing out                                                         */

char *
rb_bundle_verify_extract (const RbBundleSource     *source,
                          const RbManifestVariant  *variant,
                          const char               *dir,
                          GCancellable             *cancellable,
                          GError                  **error)
{
  g_autofree char *target = NULL;
  int fd;
  gboolean ok;

  if (!source_open (source, error))
    return NULL;
  /* Only the last component of the manifest's path names the file. */
  if (!rb_archive_name_is_safe (variant->file_name) || strchr (variant->file_name, '/') != NULL)
    {
      g_autofree char *shown = rb_names_shown (variant->file_name);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSAFE_PATH,
                   "Bundle “%s”: unsafe library file name “%s”", source->path, shown);
      return NULL;
    }
  target = g_build_filename (dir, variant->file_name, NULL);
  fd = create_exclusive (target, 0600, error);
  if (fd < 0)
    return NULL;

  ok = rb_bundle_verify_manifest (source, error) &&
       rb_bundle_verify_library (source, variant, fd, target, cancellable, error);
  if (ok && (fchmod (fd, 0700) != 0 || fsync (fd) != 0))
    {
      int saved = errno;
      g_autofree char *shown = rb_names_escape (target, -1, G_MAXSIZE);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not finish “%s”: %s", shown, g_strerror (saved));
      ok = FALSE;
    }
  close (fd);
  if (!ok)
    {
      g_unlink (target);
      return NULL;
    }
  return g_steal_pointer (&target);
}

char *
rb_bundle_verify_write_new (const char  *dir,
                            const char  *file_name,
                            GBytes      *bytes,
                            int          mode,
                            GError     **error)
{
  g_autofree char *target = g_build_filename (dir, file_name, NULL);
  const guint8 *data;
  gsize size;
  int fd;

  fd = create_exclusive (target, (mode_t) mode, error);
  if (fd < 0)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  if (!write_all (fd, data, size, target, error))
    {
      close (fd);
      g_unlink (target);
      return NULL;
    }
  close (fd);
  return g_steal_pointer (&target);
}
