/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: rb_json_value_is_valid() must agree with the
 * reference validator (tests/internal/rb-json-reference.c) on every input, read
 * nothing outside it (ASan: libFuzzer passes an exactly-sized copy), and
 * give the same answer when the input is followed in memory by bytes that
 * could complete it.
 *
 *   fuzz-json-validate -dict=tests/fuzz/json.dict -max_len=8192 CORPUS_DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb-json-private.h"
#include "rb-json-reference.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
print_bytes (const uint8_t *data,
             size_t         size)
{
  fputc ('"', stderr);
  for (size_t i = 0; i < size && i < 4096; i++)
    {
      if (data[i] == '"' || data[i] == '\\')
        fprintf (stderr, "\\%c", data[i]);
      else if (data[i] >= 0x20 && data[i] < 0x7f)
        fputc (data[i], stderr);
      else
        fprintf (stderr, "\\x%02x\"\"", data[i]);
    }
  fprintf (stderr, "\" (%zu bytes)\n", size);
}

static void
disagree (const uint8_t *data,
          size_t         size,
          gboolean       expected,
          const char    *where)
{
  fprintf (stderr, "rb_json_value_is_valid says %s, the reference says %s (%s):\n  ",
           expected ? "invalid" : "valid", expected ? "valid" : "invalid", where);
  print_bytes (data, size);
  abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const char * const tails[] = { "\"", "]}", "1", "e" };
  gboolean expected = rb_json_reference_is_valid ((const char *) data, size);

  if (rb_json_value_is_valid ((const char *) data, size) != expected)
    disagree (data, size, expected, "exact copy");

  for (size_t t = 0; t < G_N_ELEMENTS (tails); t++)
    {
      size_t tail_len = strlen (tails[t]);
      char *buffer = g_malloc (size + tail_len);
      gboolean got;

      memcpy (buffer, data, size);
      memcpy (buffer + size, tails[t], tail_len);
      got = rb_json_value_is_valid (buffer, size);
      g_free (buffer);
      if (got != expected)
        disagree (data, size, expected, tails[t]);
    }
  return 0;
}
