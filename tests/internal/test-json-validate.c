/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rb_json_value_is_valid() (rb-json-private.c) against the reference
 * validator in rb-json-reference.c: hand-written edge cases with their
 * expected results, families of cases around the places fast scanners
 * break (word boundaries inside strings, the depth limit, the end of the
 * input), and seeded random documents and mutations of them.
 *
 * Every input is passed three times: as an exactly-sized heap block
 * (valgrind sees any read past the end), as a slice of a larger buffer
 * whose next bytes would change the answer (a validator that reads past
 * @len gives a different result), and as the payload of a success
 * envelope in an exactly-sized block, which rb_envelope_read() validates
 * in place (its fast path reads up to the envelope's closing brace).
 *
 * Random cases: each case is generated from its own seed, drawn with
 * g_test_rand_int(), so `--seed` reproduces a whole run and
 * RB_JSON_CASE_SEED=<n> -p <test path> replays one reported case.
 */
#include <string.h>

#include "rb-envelope-private.h"
#include "rb-json-private.h"
#include "rb-json-reference.h"
#include "rb-test-util.h"

#define MAX_REPORTS 20

/* Bytes that follow the input in the slice: each completes some
 * truncated input into a valid one. */
static const char * const tempting_tails[] = { "1", "\"", "]", "}", "e", "0", " ", "\\", "u", "\"}" };

typedef struct {
  guint inputs;
  guint checks;      /* validator calls, three per input and tail */
  guint failures;
  guint32 case_seed;   /* of the random case being checked */
  gboolean random;
} Tally;

/* As a C string literal, e.g. "a\x00""1" for a, NUL, 1. */
static char *
escape_bytes (const char *data,
              gsize       len)
{
  GString *out = g_string_new ("\"");
  gsize shown = MIN (len, 4096);

  for (gsize i = 0; i < shown; i++)
    {
      guchar c = (guchar) data[i];

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c == '\t' || c == '\n' || c == '\r')
        g_string_append (out, c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r");
      else if (c >= 0x20 && c < 0x7f)
        g_string_append_c (out, (char) c);
      else
        {
          g_string_append_printf (out, "\\x%02x", c);
          if (i + 1 < shown && g_ascii_isxdigit (data[i + 1]))
            g_string_append (out, "\"\"");
        }
    }
  g_string_append_c (out, '"');
  if (shown < len)
    g_string_append_printf (out, "... (%" G_GSIZE_FORMAT " bytes in all)", len);
  return g_string_free (out, FALSE);
}

static gboolean
validate_exact_copy (const char *data,
                     gsize       len)
{
  g_autofree char *copy = NULL;

  if (len == 0)
    {
      /* One past the end of a block: any read at all is an over-read. */
      g_autofree char *block = g_malloc (1);

      return rb_json_value_is_valid (block + 1, 0);
    }
  copy = g_memdup2 (data, len);
  return rb_json_value_is_valid (copy, len);
}

static gboolean
validate_slice (const char *data,
                gsize       len,
                const char *tail,
                gsize       tail_len,
                guint       offset)
{
  g_autofree char *buffer = g_malloc (offset + len + tail_len + 1);

  memset (buffer, '"', offset);
  memcpy (buffer + offset, data, len);
  memcpy (buffer + offset + len, tail, tail_len);
  return rb_json_value_is_valid (buffer + offset, len);
}

static const char envelope_prefix[] = "{\"status\":\"success\",\"payload\":";

/* TRUE if rb_envelope_read() hands back exactly @data as the payload.
 * (An invalid payload may still make a valid envelope, e.g. `1,"x":2`,
 * which the lenient slow path reads; then the payload differs.) */
static gboolean
validate_in_envelope (const char *data,
                      gsize       len)
{
  gsize prefix_len = strlen (envelope_prefix);
  gsize total = prefix_len + len + 1;
  g_autofree guint8 *envelope = g_malloc (total);
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;

  memcpy (envelope, envelope_prefix, prefix_len);
  memcpy (envelope + prefix_len, data, len);
  envelope[total - 1] = '}';
  payload = rb_envelope_read (0, envelope, total, &error);
  if (payload == NULL)
    {
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
      return FALSE;
    }
  return strlen (payload) == len && memcmp (payload, data, len) == 0;
}

static void
report (Tally      *tally,
        const char *data,
        gsize       len,
        const char *what)
{
  tally->failures++;
  g_test_fail ();
  if (tally->failures <= MAX_REPORTS)
    {
      g_autofree char *shown = escape_bytes (data, len);

      if (tally->random)
        g_test_message ("%s (case seed %u: RB_JSON_CASE_SEED=%u replays it with -p %s)\n  input (%" G_GSIZE_FORMAT " bytes): %s",
                        what, tally->case_seed, tally->case_seed, g_test_get_path (), len, shown);
      else
        g_test_message ("%s\n  input (%" G_GSIZE_FORMAT " bytes): %s", what, len, shown);
    }
}

/* The validator, on both placements, must say @expected. */
static gboolean
check_validator (Tally      *tally,
                 const char *data,
                 gsize       len,
                 gboolean    expected,
                 const char *tail,
                 gsize       tail_len,
                 guint       offset)
{
  gboolean exact = validate_exact_copy (data, len);
  gboolean slice = validate_slice (data, len, tail, tail_len, offset);
  gboolean enveloped = validate_in_envelope (data, len);

  tally->checks += 3;
  if (exact != expected || slice != expected || enveloped != expected)
    {
      g_autofree char *shown_tail = escape_bytes (tail, tail_len);
      g_autofree char *what = g_strdup_printf ("DISAGREEMENT: expected %s; rb_json_value_is_valid gave %s on an exact copy, "
                                               "%s on a slice at offset %u followed by %s; rb_envelope_read %s",
                                               expected ? "valid" : "invalid", exact ? "valid" : "invalid",
                                               slice ? "valid" : "invalid", offset, shown_tail,
                                               enveloped ? "returned it" : "did not return it");

      report (tally, data, len, what);
      return FALSE;
    }
  return TRUE;
}

/* A hand-written expectation: the reference must agree with it (else the
 * table or the reference is wrong), then the validator, with every tail. */
static void
check_expected (Tally      *tally,
                const char *data,
                gsize       len,
                gboolean    expected)
{
  gsize n_tails = rb_test_scale (10) >= 10 ? G_N_ELEMENTS (tempting_tails) : 1;

  tally->inputs++;
  if (rb_json_reference_is_valid (data, len) != expected)
    report (tally, data, len, expected ? "REFERENCE rejects a case the table says is valid"
                                       : "REFERENCE accepts a case the table says is invalid");
  for (gsize i = 0; i < n_tails; i++)
    {
      /* under valgrind: one tail per case, rotating */
      const char *tail = tempting_tails[n_tails == 1 ? (tally->inputs % G_N_ELEMENTS (tempting_tails)) : i];

      /* one report per input */
      if (!check_validator (tally, data, len, expected, tail, strlen (tail), (guint) ((tally->inputs + i) % 8)))
        break;
    }
}

static void
finish (Tally      *tally,
        const char *area)
{
  g_test_message ("%s: %u inputs, %u validator calls, %u failures",
                  area, tally->inputs, tally->checks, tally->failures);
  g_assert_cmpuint (tally->inputs, >, 0);
}

/* ------------------------------------------------------------------ */
/* Hand-written cases                                                  */

typedef struct {
  const char *data;
  gsize len;
  gboolean valid;
} Case;

#define V(lit) { lit, sizeof (lit) - 1, TRUE }
#define X(lit) { lit, sizeof (lit) - 1, FALSE }

/* Careful with C escapes: "\xc3\xa9" "a" (a hex escape eats every hex
 * digit after it) and "\0" "1" (octal). */
static const Case table[] = {
  /* lone values of every type */
  V ("true"), V ("false"), V ("null"),
  V ("0"), V ("-0"), V ("1"), V ("-1"), V ("9"), V ("123"), V ("-123"),
  V ("\"\""), V ("\"a\""), V ("[]"), V ("{}"),

  /* numbers */
  V ("0.5"), V ("-0.5"), V ("1.5"), V ("10.25"), V ("0.0"), V ("-0.0"),
  V ("1e5"), V ("1E5"), V ("1e+5"), V ("1e-5"), V ("1E+5"), V ("1E-05"), V ("1e00"),
  V ("0e0"), V ("0E0"), V ("-0e-0"), V ("0.0e0"), V ("1.0E+2"), V ("-1.5e+300"),
  V ("123456789012345678901234567890"), V ("1e999"), V ("-1e-999"), V ("0.000001"),
  V ("1.7976931348623157e308"), V ("4.9e-324"), V ("1.00000000000000000000000001"),
  X ("01"), X ("00"), X ("-01"), X ("-00"), X ("012"), X ("0123.5"), X ("00.5"), X ("01e1"),
  X ("+1"), X ("+0"), X ("++1"), X ("--1"), X ("-+1"), X ("-"), X ("+"), X ("."), X ("-."),
  X (".5"), X ("-.5"), X (".e1"), X ("1."), X ("-1."), X ("1.e5"), X ("0.e1"), X ("1.5."),
  X ("1.5.5"), X ("1..5"), X ("e5"), X ("E5"), X ("-e5"), X ("1e"), X ("1E"), X ("1e+"),
  X ("1e-"), X ("1E+"), X ("1e+-5"), X ("1e-+5"), X ("1ee5"), X ("1e5e5"), X ("1e5.5"), X ("1e.5"), X ("1E-.5"), X ("1e+e5"),
  X ("1e0x"), X ("0x10"), X ("0X10"), X ("0b1"), X ("0o7"), X ("1_000"), X ("1,000"),
  X ("NaN"), X ("nan"), X ("-NaN"), X ("Infinity"), X ("-Infinity"), X ("+Infinity"),
  X ("inf"), X ("-inf"), X ("1f"), X ("1d"), X ("1L"), X ("0.5f"), X ("0-1"), X ("1-"),
  X ("1+"), X ("2e3e"), X ("-\xc3\xa9"), X ("\xd9\xa1"), X ("\xef\xbc\x91"),
  X ("[01]"), X ("[1.]"), X ("{\"a\":-}"), X ("[-]"), X ("[.5]"), X ("[+1]"), X ("[1e]"),
  X ("[-0x1]"), X ("{\"a\":01}"), X ("[1.e1]"), X ("[NaN]"), X ("[Infinity]"),

  /* literals */
  X ("t"), X ("tr"), X ("tru"), X ("truee"), X ("true1"), X ("True"), X ("TRUE"),
  X ("f"), X ("fa"), X ("fal"), X ("fals"), X ("falsee"), X ("False"),
  X ("n"), X ("nu"), X ("nul"), X ("nulll"), X ("Null"), X ("NULL"), X ("nil"), X ("none"),
  X ("undefined"), X ("[tru]"), X ("[true false]"), X ("truefalse"), X ("nulltrue"),
  X ("[nul]"), X ("{\"a\":nul}"), X ("{\"a\":nulll}"), X ("[t]"), X ("[nulx]"),
  V ("[true,false,null]"), V ("{\"t\":true,\"f\":false,\"n\":null}"),

  /* strings and escapes */
  V ("\"abc\""), V ("\"\\\"\""), V ("\"\\\\\""), V ("\"\\/\""), V ("\"\\b\""), V ("\"\\f\""),
  V ("\"\\n\""), V ("\"\\r\""), V ("\"\\t\""), V ("\"\\u0000\""), V ("\"\\u001f\""),
  V ("\"\\u0041\""), V ("\"\\u00e9\""), V ("\"\\u00E9\""), V ("\"\\uABCD\""), V ("\"\\uabcd\""),
  V ("\"\\uAbCd\""), V ("\"\\uFFFF\""), V ("\"\\u0022\""), V ("\"\\u005C\""),
  /* surrogates only as a high-low pair of escapes */
  X ("\"\\ud800\""), X ("\"\\uDBFF\""), X ("\"\\udc00\""), X ("\"\\uDFFF\""),
  V ("\"\\ud800\\udc00\""), V ("\"\\uDBFF\\uDFFF\""), V ("\"\\ud83d\\ude00x\""),
  X ("\"\\udc00\\ud800\""), X ("\"\\ud800x\""), X ("\"\\ud800\\n\""),
  X ("\"\\ud800\\ud800\""), X ("\"\\ud800\\u0041\""), X ("\"\\ud800\\uE000\""),
  X ("\"\\ud800\\udc0\""),
  V ("\"\\\\\\\\\""), V ("\"/\""), V ("\"'\""), V ("\"a'b\""), V ("\" \""), V ("\"\x7f\""),
  V ("\"\\\\n\""), V ("\"\\\"\\\"\""), V ("\"\\\\\\\"\""), V ("\"\\b\\f\\n\\r\\t\\/\\\\\\\"\""),
  V ("\"#$%&()*+,-.:;<=>?@[]^_`{|}~\""), V ("[\"]\"]"), V ("{\"}\":\"{\"}"), V ("[\",\"]"),
  X ("\""), X ("\"abc"), X ("\"abc\\\""), X ("\"\\\""), X ("\"\\"), X ("\"\\u\""), X ("\"\\u0\""),
  X ("\"\\u00\""), X ("\"\\u004\""), X ("\"\\u004G\""), X ("\"\\uG041\""), X ("\"\\u-041\""),
  X ("\"\\u 041\""), X ("\"\\u00e\""), X ("\"\\u{41}\""), X ("\"\\U0041\""), X ("\"\\x41\""),
  X ("\"\\'\""), X ("\"\\a\""), X ("\"\\v\""), X ("\"\\0\""), X ("\"\\1\""), X ("\"\\e\""),
  X ("\"\\N\""), X ("\"\\B\""), X ("\"\\F\""), X ("\"\\R\""), X ("\"\\T\""), X ("\"\\ \""),
  X ("\"\\\xc3\xa9\""), X ("\"\\uD800\\u\""), X ("\"\\u"), X ("\"\\u0041"), X ("\"\\ud800\\"),
  X ("'a'"), X ("'\"a\"'"), X ("\"a\"\""), X ("\"a\"b\""), X ("\"\t\""), X ("\"\n\""),
  X ("\"\r\""), X ("\"\x01\""), X ("\"\x1f\""), X ("\"a\x1f" "b\""), X ("\"\x0b\""),
  X ("\"\x0c\""), X ("\"\x08\""), X ("\"abc\" x"), X ("[\"a]"), X ("{\"a:1}"), X ("[\"a\\\"]"),
  X ("{\"a\\\":1}"), X ("\"\\\\\\\""),

  /* UTF-8, inside strings */
  V ("\"\xc2\x80\""), V ("\"\xdf\xbf\""), V ("\"\xe0\xa0\x80\""), V ("\"\xe2\x82\xac\""),
  V ("\"\xed\x9f\xbf\""), V ("\"\xee\x80\x80\""), V ("\"\xef\xbf\xbd\""), V ("\"\xef\xbf\xbf\""),
  V ("\"\xef\xbf\xbe\""), V ("\"\xf0\x90\x80\x80\""), V ("\"\xf0\x9f\x98\x80\""),
  V ("\"\xf4\x8f\xbf\xbf\""), V ("\"caf\xc3\xa9\""), V ("{\"\xc3\xa9\":\"\xe2\x82\xac\"}"),
  V ("\"\xef\xbb\xbf\""), V ("\"\xc2\xa0\""), V ("\"\xc2\xa2\""), V ("\"\xdc\x80\""),
  V ("\"\xe2\x80\x9c\""), V ("\"\xe2\x80\xa8\""), V ("[\"\xf0\x9f\x98\x80\",\"\xc3\xa9\"]"),
  X ("\"\x80\""), X ("\"\xbf\""), X ("\"\xc0\x80\""), X ("\"\xc1\xbf\""), X ("\"\xc2\""),
  X ("\"\xc2\x7f\""), X ("\"\xc3\""), X ("\"\xc3\xc3\""), X ("\"\xc3\xa9\x80\""),
  X ("\"\xe0\x80\x80\""), X ("\"\xe0\x9f\xbf\""), X ("\"\xe2\x82\""), X ("\"\xe2\""),
  X ("\"\xed\xa0\x80\""), X ("\"\xed\xbf\xbf\""), X ("\"\xed\xa0\xbd\xed\xb8\x80\""),
  X ("\"\xf0\x80\x80\x80\""), X ("\"\xf0\x8f\xbf\xbf\""), X ("\"\xf0\x9f\x98\""),
  X ("\"\xf4\x90\x80\x80\""), X ("\"\xf5\x80\x80\x80\""), X ("\"\xf7\xbf\xbf\xbf\""),
  X ("\"\xf8\x88\x80\x80\x80\""), X ("\"\xfc\x84\x80\x80\x80\x80\""), X ("\"\xfe\""),
  X ("\"\xff\""), X ("\"\xc3\"\xa9"), X ("\"\xe2\x82\"\xac"), X ("{\"\xff\":1}"),
  X ("[\"a\",\"\xed\xa0\x80\"]"),
  /* ...and outside them */
  X ("\xc3\xa9"), X ("[\xc3\xa9]"), X ("1\xc3\xa9"), X ("[1]\xc3\xa9"), X ("\x80"), X ("\xff"),
  X ("{\"a\":1}\xff"), X ("\"a\"\xc3\xa9"), X ("\xef\xbb\xbf" "1"), X ("\xef\xbb\xbf" "{}"),

  /* structure */
  V ("[[]]"), V ("{\"\":{}}"), V ("[{}]"), V ("[1]"), V ("[1,2]"), V ("[1,2,3]"),
  V ("[\"a\",\"b\"]"), V ("{\"a\":1}"), V ("{\"a\":1,\"b\":2}"), V ("{\"a\":1,\"a\":2}"),
  V ("[0,-0,0.0]"), V ("{\"a\":[1,{\"b\":null}]}"), V ("[[[[[]]]]]"), V ("[\"\",{},[],0,true]"),
  V ("{\"a\":{\"b\":{\"c\":[]}},\"d\":[{},{}]}"), V ("[[],[[]],[[],[]]]"), V ("{\"\":\"\"}"),
  V ("[1,[2,[3,[4]]],5]"), V ("{\"a\":[],\"b\":{},\"c\":\"\"}"),
  X ("["), X ("]"), X ("{"), X ("}"), X ("[[]"), X ("[]]"), X ("[}"), X ("{]"), X ("[1}"),
  X ("{\"a\":1]"), X ("[1,]"), X ("[,1]"), X ("[,]"), X ("[1,,2]"), X ("[1 2]"), X ("[1:2]"),
  X ("{\"a\":1,}"), X ("{,}"), X ("{,\"a\":1}"), X ("{\"a\"}"), X ("{\"a\":}"), X ("{\"a\"::1}"),
  X ("{:1}"), X ("{1:1}"), X ("{a:1}"), X ("{'a':1}"), X ("{\"a\" 1}"), X ("{\"a\":1 \"b\":2}"),
  X ("{\"a\":1;\"b\":2}"), X ("{\"a\"=1}"), X ("{\"a\"=>1}"), X ("{null:1}"), X ("{true:1}"),
  X ("{[]:1}"), X ("{{}:1}"), X ("{\"a\":1}}"), X ("{{}}"), X ("[1]]"), X ("1,2"), X ("1,"),
  X (",1"), X (":"), X (","), X ("[] []"), X ("[][]"), X ("{}{}"), X ("{}[]"), X ("1 1"),
  X ("true false"), X ("\"a\":1"), X ("[\"a\":1]"), X ("{\"a\",1}"), X ("[1,]]"),
  X ("{\"a\":1,\"b\"}"), X ("[\"a\",]"), X ("{\"a\":[}"), X ("{\"a\":{]}"), X ("/* c */ 1"),
  X ("1 // c"), X ("#1"), X ("[1]/"), X ("()"), X ("<>"), X ("@"), X ("\x1f"), X ("\x7f"),
  X ("[\x7f]"), X ("{\"a\":1}x"), X ("[1]x"), X ("nullx"), X ("0x"), X ("1 x"), X ("[\"a\" \"b\"]"),
  X ("{\"a\":1,,\"b\":2}"), X ("{\"a\":1}{"), X ("[1][\""), X ("{\"a\":[1,2}"), X ("[{\"a\":1]}"),
  X ("{\"a\":1,\"b\":}"), X ("{\"a\" : 1 , }"), X ("[ , ]"), X ("[1 , ]"), X ("{\"a\":\"b\":\"c\"}"),

  /* white space */
  V (" 1"), V ("1 "), V (" 1 "), V ("\t1\t"), V ("\n1\n"), V ("\r1\r"), V (" \t\n\r1 \t\n\r"),
  V ("[ ]"), V ("{ }"), V ("[ 1 ]"), V ("[1 ,2]"), V ("[1, 2]"), V ("{ \"a\" : 1 }"),
  V ("{\"a\" :1}"), V ("{\"a\": 1}"), V ("{\"a\":1 ,\"b\":2 }"), V ("\r\n[\r\n1\r\n]\r\n"),
  V (" \"a\" "), V (" true "), V (" null"), V ("false "), V ("[\t]"), V ("{\n}"),
  V ("  \t\t\n\n\r\r[  \t\t\n\n\r\r]  \t\t\n\n\r\r"),
  X (""), X (" "), X ("\t"), X ("\n"), X ("\r"), X ("\n\r \t"), X ("\f1"), X ("1\f"), X ("\v1"),
  X ("1\v"), X ("\xc2\xa0" "1"), X ("1\xc2\xa0"), X ("\xe2\x80\xa8" "1"), X ("\xe3\x80\x80" "1"),
  X ("[1\f]"), X ("t rue"), X ("tr ue"), X ("n ull"), X ("fals e"), X ("1 2"), X ("- 1"),
  X ("-\t1"), X ("1 .5"), X ("1. 5"), X ("1e 5"), X ("1 e5"), X ("1e+ 5"), X ("1e +5"),
  X ("0 0"), X ("\"a\" \"b\""), X ("[1] [2]"), X ("{} {}"), X ("[\f]"), X ("{\v}"),
  X ("[1,\f" "2]"), X ("\"\\ n\""), X ("\"\\u 0041\""), X ("\"\\u0 041\""), X ("[\x0b]"),
  X ("[\x1c]"), X ("[\x85]"),

  /* NUL bytes */
  X ("\0"), X ("\0" "1"), X ("1\0"), X (" \0"), X ("\0 "), X ("[\0]"), X ("[1\0]"),
  X ("[1,\0" "2]"), X ("\"\0\""), X ("\"a\0" "b\""), X ("\"ab\"\0"), X ("{\"a\0\":1}"),
  X ("{\"a\":1}\0"), X ("null\0"), X ("true\0"), X ("0\0"), X ("-\0" "1"), X ("1.\0" "5"),
  X ("1e\0" "5"), X ("\"\\\0\""), X ("\"\\u00\0" "0\""), X ("[]\0\0"), X ("\0\0"),
  X ("[1]\0"), X ("{}\0"), X ("\"\"\0"), X ("1 \0"), X ("\0[]"),
};

static void
test_table (void)
{
  Tally tally = { 0 };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    check_expected (&tally, table[i].data, table[i].len, table[i].valid);
  finish (&tally, "table");
}

/* ------------------------------------------------------------------ */
/* Strings around 8-, 16- and 32-byte boundaries                       */

static void
test_string_blocks (void)
{
  /* What replaces one byte of a run of 'x' inside a string. 'x' is
   * neither a hex digit nor an escape letter, so an escape that needs
   * more bytes never borrows them from the run. */
  static const Case specials[] = {
    X ("\""), X ("\\"), X ("\\x"), X ("\\u"), X ("\\u12"), X ("\\u12G4"),
    V ("\\\\"), V ("\\\""), V ("\\/"), V ("\\b"), V ("\\f"), V ("\\n"), V ("\\r"), V ("\\t"),
    V ("\\u00e9"), X ("\\uD800"), V ("\\uD800\\uDC00"), V ("\\uFFFF"), V ("\\u0000"),
    X ("\0"), X ("\x01"), X ("\t"), X ("\n"), X ("\r"), X ("\x1f"), X ("\x02"), X ("\x1c"),
    V (" "), V ("!"), V ("#"), V ("\x7f"), V ("]"), V ("["), V ("'"), V ("/"),
    X ("\x80"), X ("\xa2"), X ("\xdc"), X ("\xff"), X ("\xc3"), X ("\xc0\x80"), X ("\xed\xa0\x80"),
    X ("\xf4\x90\x80\x80"), X ("\xe2\x82"),
    V ("\xc3\xa9"), V ("\xc2\xa2"), V ("\xdc\x80"), V ("\xe2\x80\x9c"), V ("\xe2\x82\xac"),
    V ("\xf0\x9f\x98\x80"), V ("\xf4\x8f\xbf\xbf"),
  };
  /* Shift the string within the input (and so within any word). */
  static const struct {
    const char *before, *after;
  } frames[] = {
    { "", "" }, { "[", "]" }, { " {\"k\":", "}" }, { "[\"abc\",", ",1]" }, { "{", ":0}" },
  };
  static const guint lengths[] = {
    1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 39, 40, 41, 47, 48, 49, 63, 64, 65,
  };
  Tally tally = { 0 };

  for (gsize f = 0; f < G_N_ELEMENTS (frames); f++)
    {
      /* Plain runs: every length from 0 to 80. */
      for (guint n = 0; n <= 80; n++)
        {
          g_autoptr(GString) s = g_string_new (frames[f].before);

          g_string_append_c (s, '"');
          for (guint i = 0; i < n; i++)
            g_string_append_c (s, 'x');
          g_string_append_c (s, '"');
          g_string_append (s, frames[f].after);
          check_expected (&tally, s->str, s->len, TRUE);
        }

      for (gsize l = 0; l < G_N_ELEMENTS (lengths); l++)
        for (guint k = 0; k < lengths[l]; k++)
          for (gsize sp = 0; sp < G_N_ELEMENTS (specials); sp++)
            {
              g_autoptr(GString) s = g_string_new (frames[f].before);
              guint n = lengths[l];

              g_string_append_c (s, '"');
              for (guint i = 0; i < k; i++)
                g_string_append_c (s, 'x');
              g_string_append_len (s, specials[sp].data, (gssize) specials[sp].len);
              for (guint i = k + 1; i < n; i++)
                g_string_append_c (s, 'x');
              g_string_append_c (s, '"');
              g_string_append (s, frames[f].after);
              check_expected (&tally, s->str, s->len, specials[sp].valid);
            }
    }
  finish (&tally, "string-blocks");
}

/* ------------------------------------------------------------------ */
/* White space at every position                                       */

static void
test_whitespace (void)
{
  /* '|': JSON white space may go here; '~': inside a string, where a
   * space (or any non-control character) may go; no mark: nothing may
   * be inserted (inside numbers, literals, escapes, UTF-8 sequences). */
  static const char * const templates[] = {
    "|{|\"~a~b~\"|:|[|-1.5e+3|,|0|,|true|,|false|,|null|,|\"~\\n~\\u00e9~\"|,|{|}|,|[|]|]|,|\"~\"|:|{|\"~x~\"|:|\"~y~\"|}|}|",
    "|1|", "|-0.0e-0|", "|12|", "|\"~\"|", "|\"~\xc3\xa9~\xf0\x9f\x98\x80~\"|", "|true|", "|null|",
    "|[|]|", "|{|}|", "|[|[|1|]|,|[|]|]|", "|{|\"~\\\"~\"|:|\"~\\\\~\"|}|", "|\"~\\/~\\b~\\f~\\r~\\t~\"|",
  };
  /* What is inserted, and whether it is allowed at '|' and at '~'. */
  static const struct {
    const char *data;
    gsize len;
    gboolean between_tokens, in_string;
  } inserts[] = {
    { " ", 1, TRUE, TRUE }, { "\t", 1, TRUE, FALSE }, { "\n", 1, TRUE, FALSE },
    { "\r", 1, TRUE, FALSE }, { " \t\n\r \r\n", 7, TRUE, FALSE }, { "  ", 2, TRUE, TRUE },
    { "\f", 1, FALSE, FALSE }, { "\v", 1, FALSE, FALSE }, { "\0", 1, FALSE, FALSE },
    { "\x1c", 1, FALSE, FALSE }, { "\x85", 1, FALSE, FALSE },
    { "\xc2\xa0", 2, FALSE, TRUE }, { "\xe2\x80\xa8", 3, FALSE, TRUE },
    { "\xef\xbb\xbf", 3, FALSE, TRUE }, { "\xe3\x80\x80", 3, FALSE, TRUE },
  };
  Tally tally = { 0 };

  for (gsize t = 0; t < G_N_ELEMENTS (templates); t++)
    {
      g_autoptr(GString) doc = g_string_new (NULL);
      g_autofree char *marks = g_malloc0 (strlen (templates[t]) + 1);

      for (const char *p = templates[t]; *p != '\0'; p++)
        {
          if (*p == '|' || *p == '~')
            marks[doc->len] = *p;
          else
            g_string_append_c (doc, *p);
        }
      check_expected (&tally, doc->str, doc->len, TRUE);

      for (gsize pos = 0; pos <= doc->len; pos++)
        for (gsize i = 0; i < G_N_ELEMENTS (inserts); i++)
          {
            g_autoptr(GString) s = g_string_new_len (doc->str, (gssize) doc->len);
            gboolean expected = marks[pos] == '|' ? inserts[i].between_tokens :
                                marks[pos] == '~' ? inserts[i].in_string : FALSE;

            g_string_insert_len (s, (gssize) pos, inserts[i].data, (gssize) inserts[i].len);
            check_expected (&tally, s->str, s->len, expected);
          }
    }
  finish (&tally, "whitespace");
}

/* ------------------------------------------------------------------ */
/* NUL bytes and truncation                                            */

static const char * const valid_docs[] = {
  "{\"a\":[1,-2.5e+3,true,false,null,\"x\\\"\\u00e9\\n\"],\"b\":{}}",
  "[\"caf\xc3\xa9\",\"\xf0\x9f\x98\x80\",{\"k\":[[]]}]",
  "\"0123456789abcdef0123456789abcdef0123456789\"",
  "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]",
  "{\"aaaaaaaaaaaaaaaa\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"c\":\"\\\\\\\\\\\\\"}",
  "[{\"a\":{\"b\":[{\"c\":\"d\"}]}}]",
};

static void
test_nul (void)
{
  Tally tally = { 0 };

  for (gsize d = 0; d < G_N_ELEMENTS (valid_docs); d++)
    {
      const char *doc = valid_docs[d];
      gsize len = strlen (doc);

      check_expected (&tally, doc, len, TRUE);
      for (gsize pos = 0; pos <= len; pos++)
        {
          g_autoptr(GString) inserted = g_string_new_len (doc, (gssize) len);

          g_string_insert_c (inserted, (gssize) pos, '\0');
          check_expected (&tally, inserted->str, inserted->len, FALSE);
          if (pos < len)
            {
              g_autofree char *replaced = g_memdup2 (doc, len);

              replaced[pos] = '\0';
              check_expected (&tally, replaced, len, FALSE);
            }
        }
    }
  finish (&tally, "nul");
}

/* Every proper prefix of a container is invalid, including when the
 * rest of the document follows it in memory. */
static void
test_truncation (void)
{
  Tally tally = { 0 };

  for (gsize d = 0; d < G_N_ELEMENTS (valid_docs); d++)
    {
      const char *doc = valid_docs[d];
      gsize len = strlen (doc);

      for (gsize cut = 0; cut < len; cut++)
        {
          tally.inputs++;
          if (rb_json_reference_is_valid (doc, cut))
            report (&tally, doc, cut, "REFERENCE accepts a proper prefix of a container");
          for (guint offset = 0; offset < 8; offset++)
            if (!check_validator (&tally, doc, cut, FALSE, doc + cut, len - cut, offset))
              break;
        }
    }
  finish (&tally, "truncation");
}

/* ------------------------------------------------------------------ */
/* Nesting depth                                                       */

typedef enum {
  NEST_ARRAY,
  NEST_OBJECT,
  NEST_MIXED,
  NEST_SPACED,
} NestKind;

/* @depth containers around @inner, each closed unless @unclosed. */
static GString *
nest (NestKind    kind,
      guint       depth,
      const char *inner,
      gboolean    unclosed)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    {
      gboolean object = kind == NEST_OBJECT || (kind == NEST_MIXED && i % 2 == 1);

      g_string_append (s, object ? "{\"k\":" : kind == NEST_SPACED ? "[ \n" : "[");
    }
  g_string_append (s, inner);
  for (guint i = depth; i > 0 && !unclosed; i--)
    {
      gboolean object = kind == NEST_OBJECT || (kind == NEST_MIXED && (i - 1) % 2 == 1);

      g_string_append (s, object ? "}" : kind == NEST_SPACED ? "\t]" : "]");
    }
  return s;
}

static void
test_depth (void)
{
  static const guint depths[] = { 1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257, 500, 510, 511, 512, 513, 514, 600, 1024, 100000 };
  static const char * const inners[] = { "", "1", "\"s\"", "[]", "{}", "null", "[1,2]" };
  Tally tally = { 0 };

  for (int kind = NEST_ARRAY; kind <= NEST_SPACED; kind++)
    for (gsize d = 0; d < G_N_ELEMENTS (depths); d++)
      for (gsize i = 0; i < G_N_ELEMENTS (inners); i++)
        {
          /* An inner container adds a level; an object needs a value. */
          guint extra = inners[i][0] == '[' || inners[i][0] == '{' ? 1 : 0;
          gboolean needs_value = kind == NEST_OBJECT || (kind == NEST_MIXED && depths[d] % 2 == 0);
          g_autoptr(GString) closed = nest (kind, depths[d], inners[i], FALSE);
          g_autoptr(GString) open = nest (kind, depths[d], inners[i], TRUE);

          check_expected (&tally, closed->str, closed->len,
                          depths[d] + extra <= RB_JSON_REFERENCE_MAX_DEPTH && !(needs_value && inners[i][0] == '\0'));
          check_expected (&tally, open->str, open->len, FALSE);
        }

  /* Two siblings of depth 511 or 512 inside one array: the depth must go
   * back down after each. */
  for (guint depth = 510; depth <= 512; depth++)
    {
      g_autoptr(GString) one = nest (NEST_MIXED, depth, "0", FALSE);
      g_autoptr(GString) two = g_string_new ("[");

      g_string_append_printf (two, "%s,%s]", one->str, one->str);
      check_expected (&tally, two->str, two->len, depth + 1 <= RB_JSON_REFERENCE_MAX_DEPTH);
    }

  /* Many sibling containers (each closed at once) never add up. */
  {
    g_autoptr(GString) arrays = g_string_new ("[");
    g_autoptr(GString) objects = g_string_new ("{");

    for (guint i = 0; i < 2000; i++)
      {
        g_string_append (arrays, i ? ",[]" : "[]");
        g_string_append_printf (objects, "%s\"k%u\":{}", i ? "," : "", i);
      }
    g_string_append (arrays, "]");
    g_string_append (objects, "}");
    check_expected (&tally, arrays->str, arrays->len, TRUE);
    check_expected (&tally, objects->str, objects->len, TRUE);
  }

  /* Depth 512 reached, left, and reached again: "[" x 511, "[]" x 600, "]" x 511. */
  {
    g_autoptr(GString) s = g_string_new (NULL);

    for (guint i = 0; i < 511; i++)
      g_string_append_c (s, '[');
    for (guint i = 0; i < 600; i++)
      g_string_append (s, i ? ",[]" : "[]");
    for (guint i = 0; i < 511; i++)
      g_string_append_c (s, ']');
    check_expected (&tally, s->str, s->len, TRUE);
  }
  finish (&tally, "depth");
}

/* ------------------------------------------------------------------ */
/* Random documents and mutations                                      */

static const char interesting_bytes[] = "\"\\{}[],:0-+.eE \x00\x1f\x7f\x80\xc3\xa9\xed\xa0\x80\xf4\x90";
static const char * const interesting_runs[] = {
  "\xc3\xa9", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xc0\x80", "\xf0\x9f\x98\x80",
  "\xef\xbb\xbf", "\xc2\xa0", "\\u", "\\ud800", "\\u00", "\\\"", "\\\\", "true", "null", "fals",
  "\t", "\r\n", "\f", "\"\"", "[]", "{}", "[", "{\"a\":", "//", "01", "1.", ".5", "-", "1e", "1e+",
  "0.0", ",]", ",}", "\"x\":",
};

/* Case generation helpers: all draw from @rand, seeded per case. */

static gboolean
chance (GRand *rand,
        guint  one_in)
{
  return g_rand_int_range (rand, 0, (gint32) one_in) == 0;
}

static int
pick (GRand *rand,
      gsize  n)
{
  return g_rand_int_range (rand, 0, (gint32) n);
}

static void
gen_ws (GRand   *rand,
        GString *out)
{
  static const char ws[] = " \t\n\r";

  if (!chance (rand, 4))
    return;
  for (int n = g_rand_int_range (rand, 1, 4); n > 0; n--)
    g_string_append_c (out, ws[pick (rand, 4)]);
}

static gunichar
gen_code_point (GRand *rand)
{
  static const gunichar edges[] = {
    0x80, 0xa2, 0xe9, 0x7ff, 0x700, 0x800, 0x201c, 0x2028, 0x20ac, 0xd7ff, 0xe000, 0xfeff,
    0xfffd, 0xfffe, 0xffff, 0x10000, 0x1f600, 0x10ffff,
  };
  static const struct {
    gint32 lo, hi;
  } ranges[] = {
    { 0x80, 0x7ff }, { 0x800, 0xd7ff }, { 0xe000, 0xffff }, { 0x10000, 0x10ffff },
  };
  int r;

  if (g_rand_boolean (rand))
    return edges[pick (rand, G_N_ELEMENTS (edges))];
  r = pick (rand, G_N_ELEMENTS (ranges));
  return (gunichar) g_rand_int_range (rand, ranges[r].lo, ranges[r].hi + 1);
}

static void
gen_string (GRand   *rand,
            GString *out)
{
  static const char * const escapes[] = { "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t" };
  static const char * const surrogates[] = {
    "\\ud800\\udc00", "\\uDBFF\\uDFFF", "\\ud83d\\ude00", "\\u0000", "\\u001F", "\\u0022", "\\u005c",
  };
  static const char hex[] = "0123456789abcdefABCDEF";
  int n = chance (rand, 4) ? g_rand_int_range (rand, 0, 72) : g_rand_int_range (rand, 0, 10);

  g_string_append_c (out, '"');
  for (int i = 0; i < n; i++)
    {
      switch (pick (rand, 10))
        {
        case 0:
          g_string_append (out, escapes[pick (rand, G_N_ELEMENTS (escapes))]);
          break;
        case 1:
          if (chance (rand, 3))
            g_string_append (out, surrogates[pick (rand, G_N_ELEMENTS (surrogates))]);
          else
            {
              char digits[5] = { 0 };

              /* Any code unit but a surrogate (those come in pairs above). */
              do
                for (int h = 0; h < 4; h++)
                  digits[h] = hex[pick (rand, sizeof hex - 1)];
              while (g_ascii_tolower (digits[0]) == 'd' && g_ascii_xdigit_value (digits[1]) >= 8);
              g_string_append (out, "\\u");
              g_string_append (out, digits);
            }
          break;
        case 2: case 3:
          g_string_append_unichar (out, gen_code_point (rand));
          break;
        default:
          {
            char c;

            do
              c = (char) g_rand_int_range (rand, 0x20, 0x80);
            while (c == '"' || c == '\\');
            g_string_append_c (out, c);
          }
          break;
        }
    }
  g_string_append_c (out, '"');
}

static void
gen_digits (GRand   *rand,
            GString *out,
            int      n)
{
  for (int i = 0; i < n; i++)
    g_string_append_c (out, (char) ('0' + pick (rand, 10)));
}

static void
gen_number (GRand   *rand,
            GString *out)
{
  if (g_rand_boolean (rand))
    g_string_append_c (out, '-');
  if (chance (rand, 3))
    g_string_append_c (out, '0');
  else
    {
      g_string_append_c (out, (char) ('1' + pick (rand, 9)));
      gen_digits (rand, out, chance (rand, 8) ? g_rand_int_range (rand, 0, 25) : g_rand_int_range (rand, 0, 4));
    }
  if (chance (rand, 3))
    {
      g_string_append_c (out, '.');
      gen_digits (rand, out, g_rand_int_range (rand, 1, 8));
    }
  if (chance (rand, 4))
    {
      g_string_append_c (out, g_rand_boolean (rand) ? 'e' : 'E');
      switch (pick (rand, 3))
        {
        case 0: g_string_append_c (out, '+'); break;
        case 1: g_string_append_c (out, '-'); break;
        default: break;
        }
      gen_digits (rand, out, g_rand_int_range (rand, 1, 4));
    }
}

/* A valid value with optional white space around it; containers nest
 * down to @max_depth (scalars only there, or once @budget runs out). */
static void
gen_value (GRand   *rand,
           GString *out,
           guint    depth,
           guint    max_depth,
           int     *budget)
{
  int kind = depth >= max_depth || *budget <= 0 ? 2 + pick (rand, 7) : pick (rand, 9);

  gen_ws (rand, out);
  (*budget)--;
  switch (kind)
    {
    case 0: case 1:
      {
        gboolean object = kind == 1;
        int n = chance (rand, 6) ? g_rand_int_range (rand, 0, 12) : g_rand_int_range (rand, 0, 4);

        g_string_append_c (out, object ? '{' : '[');
        if (n == 0)
          gen_ws (rand, out);
        for (int i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            if (object)
              {
                gen_ws (rand, out);
                gen_string (rand, out);
                gen_ws (rand, out);
                g_string_append_c (out, ':');
              }
            gen_value (rand, out, depth + 1, max_depth, budget);
          }
        g_string_append_c (out, object ? '}' : ']');
      }
      break;
    case 2: case 3:
      gen_string (rand, out);
      break;
    case 4: case 5:
      gen_number (rand, out);
      break;
    case 6:
      g_string_append (out, "true");
      break;
    case 7:
      g_string_append (out, "false");
      break;
    default:
      g_string_append (out, "null");
      break;
    }
  gen_ws (rand, out);
}

/* A document; @valid_out: whether it is within the depth limit (deep
 * ones are chains of 500 to 520 containers around a small value). */
static GString *
gen_document (GRand    *rand,
              gboolean *valid_out)
{
  GString *out = g_string_new (NULL);
  int budget = chance (rand, 10) ? 200 : 30;

  if (chance (rand, 40))
    {
      guint depth = (guint) g_rand_int_range (rand, 500, 521);
      g_autoptr(GString) closing = g_string_new (NULL);

      for (guint i = 0; i < depth; i++)
        {
          gboolean object = g_rand_boolean (rand);

          gen_ws (rand, out);
          g_string_append (out, object ? "{\"k\":" : "[");
          if (!object && chance (rand, 8))
            g_string_append (out, "0,");
          g_string_prepend (closing, object ? "}" : "]");
        }
      /* a scalar at the innermost level */
      gen_value (rand, out, 0, 0, &budget);
      g_string_append (out, closing->str);
      *valid_out = depth <= RB_JSON_REFERENCE_MAX_DEPTH;
      return out;
    }
  gen_value (rand, out, 0, (guint) g_rand_int_range (rand, 1, 9), &budget);
  *valid_out = TRUE;
  return out;
}

/* One random edit of @s; a truncation moves the cut-off bytes to the
 * front of @rest (what follows the input in memory). */
static void
mutate (GRand   *rand,
        GString *s,
        GString *rest)
{
  gssize pos = s->len ? pick (rand, s->len) : 0;

  switch (pick (rand, 9))
    {
    case 0:
      if (s->len)
        g_string_erase (s, pos, 1);
      break;
    case 1:
      g_string_insert_c (s, pos, (char) pick (rand, 256));
      break;
    case 2:
      g_string_insert_c (s, pos, interesting_bytes[pick (rand, sizeof interesting_bytes - 1)]);
      break;
    case 3:
      g_string_insert (s, pos, interesting_runs[pick (rand, G_N_ELEMENTS (interesting_runs))]);
      break;
    case 4:
      if (s->len)
        s->str[pos] = interesting_bytes[pick (rand, sizeof interesting_bytes - 1)];
      break;
    case 5:
      if (s->len)
        s->str[pos] = (char) pick (rand, 256);
      break;
    case 6:
      if (s->len)
        g_string_insert_c (s, pos, s->str[pos]);
      break;
    case 7:
      g_string_prepend_len (rest, s->str + pos, (gssize) (s->len - (gsize) pos));
      g_string_truncate (s, (gsize) pos);
      break;
    default:
      if (s->len >= 2 && (gsize) pos + 1 < s->len)
        {
          char c = s->str[pos];

          s->str[pos] = s->str[pos + 1];
          s->str[pos + 1] = c;
        }
      break;
    }
}

/* The validator against the reference on a random case. */
static void
check_random (Tally      *tally,
              GRand      *rand,
              const char *data,
              gsize       len,
              GString    *rest)
{
  gboolean expected = rb_json_reference_is_valid (data, len);

  tally->inputs++;
  if (rest->len == 0)
    {
      /* Some bytes that could continue the input. */
      if (g_rand_boolean (rand))
        g_string_append (rest, tempting_tails[pick (rand, G_N_ELEMENTS (tempting_tails))]);
      else
        g_string_append_c (rest, interesting_bytes[pick (rand, sizeof interesting_bytes - 1)]);
    }
  check_validator (tally, data, len, expected, rest->str, rest->len, (guint) pick (rand, 8));
}

/* Random cases from per-case seeds; RB_JSON_CASE_SEED runs just one. */
typedef void (*CaseFunc) (Tally *tally, GRand *rand);

static void
run_random_cases (const char *area,
                  guint       n_cases,
                  CaseFunc    func)
{
  const char *replay = g_getenv ("RB_JSON_CASE_SEED");
  GRand *rand = g_rand_new ();
  Tally tally = { .random = TRUE };

  if (replay != NULL)
    n_cases = 1;
  for (guint i = 0; i < n_cases; i++)
    {
      tally.case_seed = replay != NULL ? (guint32) g_ascii_strtoull (replay, NULL, 10) : (guint32) g_test_rand_int ();
      g_rand_set_seed (rand, tally.case_seed);
      func (&tally, rand);
    }
  g_rand_free (rand);
  finish (&tally, area);
}

/* A generated document (which the reference must accept unless it is
 * too deep), then a few mutants of it. */
static void
document_case (Tally *tally,
               GRand *rand)
{
  gboolean valid;
  g_autoptr(GString) doc = gen_document (rand, &valid);
  g_autoptr(GString) none = g_string_new (NULL);

  if (rb_json_reference_is_valid (doc->str, doc->len) != valid)
    report (tally, doc->str, doc->len, valid ? "REFERENCE rejects a generated document"
                                             : "REFERENCE accepts a generated document deeper than the limit");
  check_random (tally, rand, doc->str, doc->len, none);

  for (int m = 0; m < 4; m++)
    {
      g_autoptr(GString) mutant = g_string_new_len (doc->str, (gssize) doc->len);
      g_autoptr(GString) rest = g_string_new (NULL);
      int edits = chance (rand, 2) ? 1 : g_rand_int_range (rand, 2, 6);

      for (int e = 0; e < edits; e++)
        mutate (rand, mutant, rest);
      check_random (tally, rand, mutant->str, mutant->len, rest);
    }
}

/* Short sequences of JSON tokens in random order: the structural states
 * (after '{', after a key, after ',', ...) meet every next token. */
static void
token_case (Tally *tally,
            GRand *rand)
{
  static const char * const tokens[] = {
    "[", "]", "{", "}", ",", ":", "\"a\"", "\"\"", "1", "-0.5e3", "0", "true", "false", "null",
    " ", "\n", "\"\\u00e9\"", "\"\xc3\xa9\"", "[]", "{}", "\"k\":", "1,", "\"",
  };
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GString) rest = g_string_new (NULL);
  int n = g_rand_int_range (rand, 1, 13);

  for (int i = 0; i < n; i++)
    g_string_append (s, tokens[pick (rand, G_N_ELEMENTS (tokens))]);
  if (chance (rand, 4))
    mutate (rand, s, rest);
  check_random (tally, rand, s->str, s->len, rest);
}

/* Short strings of bytes from a small alphabet. */
static void
byte_case (Tally *tally,
           GRand *rand)
{
  static const char alphabet[] = "\"\\{}[],:0123456789-+.eE \t\n\rtruefalsn/ubx\x00\x01\x1f\x7f\x80\xbf\xc3\xa9\xed\xa0\xf4\x90\xff";
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GString) rest = g_string_new (NULL);
  int n = g_rand_int_range (rand, 0, 12);

  if (g_rand_boolean (rand))
    g_string_append (s, g_rand_boolean (rand) ? "\"" : "[\"");
  for (int i = 0; i < n; i++)
    g_string_append_c (s, alphabet[pick (rand, sizeof alphabet - 1)]);
  check_random (tally, rand, s->str, s->len, rest);
}

static void
test_random_documents (void)
{
  run_random_cases ("random-documents", rb_test_scale (20000), document_case);
}

static void
test_random_tokens (void)
{
  run_random_cases ("random-tokens", rb_test_scale (50000), token_case);
}

static void
test_random_bytes (void)
{
  run_random_cases ("random-bytes", rb_test_scale (50000), byte_case);
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  g_test_add_func ("/json-validate/table", test_table);
  g_test_add_func ("/json-validate/string-blocks", test_string_blocks);
  g_test_add_func ("/json-validate/whitespace", test_whitespace);
  g_test_add_func ("/json-validate/nul", test_nul);
  g_test_add_func ("/json-validate/truncation", test_truncation);
  g_test_add_func ("/json-validate/depth", test_depth);
  g_test_add_func ("/json-validate/random-documents", test_random_documents);
  g_test_add_func ("/json-validate/random-tokens", test_random_tokens);
  g_test_add_func ("/json-validate/random-bytes", test_random_bytes);

  return g_test_run ();
}
