/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A reference JSON validator for the tests: recursive descent over the
 * RFC 8259 grammar, with a bounds check on every read. Deliberately
 * simple and slow; it shares nothing with rb-json-private.c.
 *
 * The contract (rb_json_value_is_valid):
 *  - exactly one JSON value, optionally surrounded by white space
 *    (space, \t, \n, \r only);
 *  - the whole input is valid UTF-8 as g_utf8_validate_len() sees it (no
 *    overlongs, no UTF-8-encoded surrogates, nothing above U+10FFFF) and
 *    holds no NUL byte;
 *  - at most RB_JSON_REFERENCE_MAX_DEPTH nested arrays/objects;
 *  - strict numbers, literals, escapes; raw U+0000..U+001F invalid in
 *    strings; a \uXXXX escape of a surrogate only as a high-low pair of
 *    escapes (a lone one would decode to bytes that are not UTF-8).
 */
#include <string.h>

#include "rb-json-reference.h"

typedef struct {
  const guchar *data;
  gsize len;
  gsize pos;
} Reader;

/* The next byte, or -1 at the end of the input. */
static int
peek (const Reader *r)
{
  return r->pos < r->len ? r->data[r->pos] : -1;
}

static gboolean
accept (Reader *r,
        int     c)
{
  if (peek (r) != c)
    return FALSE;
  r->pos++;
  return TRUE;
}

static gboolean
is_digit (int c)
{
  return c >= '0' && c <= '9';
}

static gboolean
is_hex_digit (int c)
{
  return is_digit (c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Four hex digits into *@unit. */
static gboolean
read_hex4 (Reader *r,
           guint  *unit)
{
  *unit = 0;
  for (int i = 0; i < 4; i++)
    {
      int c = peek (r);

      if (!is_hex_digit (c))
        return FALSE;
      *unit = (*unit << 4) | (guint) g_ascii_xdigit_value ((char) c);
      r->pos++;
    }
  return TRUE;
}

/* ws = *( %x20 / %x09 / %x0A / %x0D ) */
static void
skip_ws (Reader *r)
{
  for (;;)
    {
      int c = peek (r);

      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        return;
      r->pos++;
    }
}

static gboolean
read_literal (Reader     *r,
              const char *word)
{
  for (; *word != '\0'; word++)
    if (!accept (r, (guchar) *word))
      return FALSE;
  return TRUE;
}

static void
skip_digits (Reader *r)
{
  while (is_digit (peek (r)))
    r->pos++;
}

/* number = [ "-" ] int [ frac ] [ exp ]
 * int = "0" / ( digit1-9 *DIGIT ); frac = "." 1*DIGIT;
 * exp = ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT */
static gboolean
read_number (Reader *r)
{
  accept (r, '-');
  if (accept (r, '0'))
    ;
  else if (peek (r) >= '1' && peek (r) <= '9')
    skip_digits (r);
  else
    return FALSE;

  if (accept (r, '.'))
    {
      if (!is_digit (peek (r)))
        return FALSE;
      skip_digits (r);
    }

  if (accept (r, 'e') || accept (r, 'E'))
    {
      if (!accept (r, '+'))
        accept (r, '-');
      if (!is_digit (peek (r)))
        return FALSE;
      skip_digits (r);
    }
  return TRUE;
}

/* string = '"' *char '"'. Bytes >= 0x80 are left to the UTF-8 check of
 * the whole input (outside strings they fail the grammar anyway). */
static gboolean
read_string (Reader *r)
{
  if (!accept (r, '"'))
    return FALSE;
  for (;;)
    {
      int c = peek (r);

      if (c == -1 || c < 0x20)
        return FALSE;  /* unterminated, or a raw control character */
      r->pos++;
      if (c == '"')
        return TRUE;
      if (c != '\\')
        continue;

      c = peek (r);
      r->pos++;
      switch (c)
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          break;
        case 'u':
          {
            guint unit;

            if (!read_hex4 (r, &unit))
              return FALSE;
            if (unit >= 0xDC00 && unit <= 0xDFFF)
              return FALSE;  /* a low surrogate without a high one */
            if (unit >= 0xD800 && unit <= 0xDBFF)
              {
                if (peek (r) != '\\')
                  return FALSE;
                r->pos++;
                if (peek (r) != 'u')
                  return FALSE;
                r->pos++;
                if (!read_hex4 (r, &unit) || unit < 0xDC00 || unit > 0xDFFF)
                  return FALSE;
              }
          }
          break;
        default:
          return FALSE;  /* also the end of the input (-1) */
        }
    }
}

static gboolean read_value (Reader *r, guint depth);

/* array = "[" ws [ value *( ws "," ws value ) ] ws "]" */
static gboolean
read_array (Reader *r,
            guint   depth)
{
  if (!accept (r, '['))
    return FALSE;
  skip_ws (r);
  if (accept (r, ']'))
    return TRUE;
  for (;;)
    {
      skip_ws (r);
      if (!read_value (r, depth))
        return FALSE;
      skip_ws (r);
      if (accept (r, ']'))
        return TRUE;
      if (!accept (r, ','))
        return FALSE;
    }
}

/* object = "{" ws [ member *( ws "," ws member ) ] ws "}"
 * member = string ws ":" ws value */
static gboolean
read_object (Reader *r,
             guint   depth)
{
  if (!accept (r, '{'))
    return FALSE;
  skip_ws (r);
  if (accept (r, '}'))
    return TRUE;
  for (;;)
    {
      skip_ws (r);
      if (!read_string (r))
        return FALSE;
      skip_ws (r);
      if (!accept (r, ':'))
        return FALSE;
      skip_ws (r);
      if (!read_value (r, depth))
        return FALSE;
      skip_ws (r);
      if (accept (r, '}'))
        return TRUE;
      if (!accept (r, ','))
        return FALSE;
    }
}

/* @depth: how many arrays/objects enclose this value. */
static gboolean
read_value (Reader *r,
            guint   depth)
{
  switch (peek (r))
    {
    case '[':
      return depth < RB_JSON_REFERENCE_MAX_DEPTH && read_array (r, depth + 1);
    case '{':
      return depth < RB_JSON_REFERENCE_MAX_DEPTH && read_object (r, depth + 1);
    case '"':
      return read_string (r);
    case 't':
      return read_literal (r, "true");
    case 'f':
      return read_literal (r, "false");
    case 'n':
      return read_literal (r, "null");
    default:
      return read_number (r);
    }
}

gboolean
rb_json_reference_is_valid (const char *data,
                            gsize       len)
{
  Reader r = { (const guchar *) data, len, 0 };

  if (len > 0 && memchr (data, '\0', len) != NULL)
    return FALSE;
  if (!g_utf8_validate_len (data, len, NULL))
    return FALSE;

  skip_ws (&r);
  if (!read_value (&r, 0))
    return FALSE;
  skip_ws (&r);
  return r.pos == r.len;
}
