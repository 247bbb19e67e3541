/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: minisign public key parsing, signature parsing and
 * verification (rb-minisign-private.c).
 *
 * Input: the public key text, FUZZ_SEPARATOR, the .minisig bytes,
 * FUZZ_SEPARATOR, the signed data. A missing part is empty; an empty
 * part is passed as (NULL, 0), as an empty GBytes gives it.
 *
 * Checks: no crash, leak or WARNING/CRITICAL; failures set an
 * RB_BUNDLE_ERROR; a prehashed signature verifies the same whether the
 * caller passes the BLAKE2b-512 prehash or lets the verifier compute it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <rustbridge-glib.h>

#include "rb-minisign-private.h"
#include "fuzz-util.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const uint8_t *parts[3] = { NULL, NULL, NULL };
  size_t lens[3] = { 0, 0, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *key_text = NULL;
  RbMinisignKey key;
  RbMinisignSignature signature;
  gboolean key_ok, sig_ok;
  const guint8 *sig_data, *signed_data;

  fuzz_setup ();
  if (!rb_minisign_init (NULL))
    abort ();
  fuzz_split (data, size, parts, lens, G_N_ELEMENTS (parts));
  sig_data = lens[1] > 0 ? parts[1] : NULL;
  signed_data = lens[2] > 0 ? parts[2] : NULL;

  /* The key comes from a manifest string or a property: NUL-terminated. */
  key_text = g_strndup ((const char *) parts[0], lens[0]);
  key_ok = rb_minisign_key_parse (key_text, "fuzzed key", &key, &error);
  if (!key_ok)
    fuzz_check_error (error, RB_BUNDLE_ERROR, "rb_minisign_key_parse");
  else
    {
      g_autofree char *id = rb_minisign_key_id_to_string (key.key_id);
      if (id == NULL || *id == '\0')
        abort ();
    }
  g_clear_error (&error);

  sig_ok = rb_minisign_signature_parse (sig_data, lens[1], "fuzzed.minisig", &signature, &error);
  if (!sig_ok)
    {
      fuzz_check_error (error, RB_BUNDLE_ERROR, "rb_minisign_signature_parse");
      return 0;
    }
  g_clear_error (&error);

  if (key_ok)
    {
      gboolean ok = rb_minisign_verify (&key, &signature, signed_data, lens[2], NULL,
                                        "fuzzed.minisig", &error);
      if (!ok)
        fuzz_check_error (error, RB_BUNDLE_ERROR, "rb_minisign_verify");
      g_clear_error (&error);

      if (signature.prehashed)
        {
          guint8 prehash[RB_MINISIGN_PREHASH_LEN];
          gboolean ok2;

          crypto_generichash (prehash, sizeof prehash, signed_data, lens[2], NULL, 0);
          ok2 = rb_minisign_verify (&key, &signature, NULL, lens[2], prehash,
                                    "fuzzed.minisig", &error);
          if (!ok2)
            fuzz_check_error (error, RB_BUNDLE_ERROR, "rb_minisign_verify (prehash)");
          if (ok != ok2)
            {
              fprintf (stderr, "rb_minisign_verify: %d with the data, %d with its prehash\n", ok, ok2);
              abort ();
            }
          g_clear_error (&error);
        }
    }
  rb_minisign_signature_clear (&signature);
  return 0;
}
