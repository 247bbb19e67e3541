/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "rb-envelope-private.h"
#include "rb-json-private.h"
#include "rb-error.h"

/* The string loop: SSE2, else 8 bytes at a time (little-endian), else a
 * byte at a time. RB_SCAN_NO_SSE2 and RB_SCAN_NO_SWAR select the portable
 * loops, so that the tests run them on x86 too. */
#if defined(__SSE2__) && !defined(RB_SCAN_NO_SSE2) && !defined(RB_SCAN_NO_SWAR)
#define RB_SCAN_SSE2 1
#include <emmintrin.h>
#elif G_BYTE_ORDER == G_LITTLE_ENDIAN && !defined(RB_SCAN_NO_SWAR)
#define RB_SCAN_SWAR 1
#endif

/* Nesting deeper than RB_JSON_MAX_DEPTH is refused; the scanner uses no
 * recursion. */

/* serde writes the success envelope compactly with the fields in this
 * order; anything else takes the slower json-glib path. */
static const char success_prefix[] = "{\"status\":\"success\",\"payload\":";
#define SUCCESS_PREFIX_LEN (sizeof success_prefix - 1)

/*
 * The scanner reads [start, end) in place. Its preconditions, which make
 * the hot loops cheap:
 *
 * - the 16 bytes before @start and the byte at @end are readable too, so
 *   the string loop can load a whole block anywhere (near the end it loads
 *   the block that ends at @end and shifts the mask);
 * - the byte at @end is a NUL or a closing brace: it ends every run of
 *   white space, digits, hex digits or literal letters, so most loops need
 *   no bounds check, and the grammar checks only that it never goes past
 *   @end (a closing brace there could close an object).
 *
 * The success envelope's payload meets them as it comes from the plugin:
 * it follows the 30-byte envelope prefix and precedes the envelope's
 * closing brace. Scanning in place spares a copy that the scan would then
 * wait for (block loads cannot take their bytes from the several pending
 * stores of a fresh copy).
 *
 * serde writes compact JSON: white space is looked for only where a byte
 * is <= ' ', which one well-predicted comparison rules out.
 */

#define RB_SCAN_LEAD 16

/* Set in the scanner's @high flags when it stopped at the depth limit
 * (the string loops only ever set the low 16 bits). */
#define RB_SCAN_TOO_DEEP 0x80000000u

static const guint8 json_ws[256] = {
  [' '] = 1, ['\n'] = 1, ['\t'] = 1, ['\r'] = 1,
};

static inline const guchar *
skip_ws (const guchar *p)
{
  while (json_ws[*p])
    p++;
  return p;
}

#define SKIP_WS(p) G_STMT_START { if (G_UNLIKELY (*(p) <= ' ')) (p) = skip_ws (p); } G_STMT_END

static inline gboolean
is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

/* The characters that may follow a backslash ('u' is checked apart). */
static const guint8 json_escape[256] = {
  ['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1, ['r'] = 1, ['t'] = 1,
};

#if defined(RB_SCAN_SWAR)
/* Bit 7 of each byte of @x that is a quote, a backslash or a control
 * character. The lowest flagged byte is exact; bytes above it may be
 * flagged by borrows. */
static inline guint64
special_bytes (guint64 x)
{
  guint64 quote = x ^ G_GUINT64_CONSTANT (0x2222222222222222);
  guint64 backslash = x ^ G_GUINT64_CONSTANT (0x5c5c5c5c5c5c5c5c);

  quote = (quote - G_GUINT64_CONSTANT (0x0101010101010101)) & ~quote;
  backslash = (backslash - G_GUINT64_CONSTANT (0x0101010101010101)) & ~backslash;
  return (quote | backslash | ((x - G_GUINT64_CONSTANT (0x2020202020202020)) & ~x)) &
         G_GUINT64_CONSTANT (0x8080808080808080);
}

/* The index (in memory order) of the first special byte of @x, 8 if none;
 * ORs into @high whether a byte before it has its top bit set. */
static inline G_ALWAYS_INLINE guint
swar_first_special (guint64  x,
                    guint   *high)
{
  guint64 mask = special_bytes (x);
  guint n = mask != 0 ? (guint) __builtin_ctzll (mask) >> 3 : 8;

  if (n != 0)
    *high |= ((x << (64 - 8 * n)) & G_GUINT64_CONSTANT (0x8080808080808080)) != 0;
  return n;
}
#endif

/* Skips ordinary string bytes from @p: returns the first quote, backslash
 * or control character, or @end, and ORs into @high a non-zero value if a
 * byte before it has its top bit set (UTF-8 to check). */
static inline G_ALWAYS_INLINE const guchar *
skip_string_run (const guchar *p,
                 const guchar *end,
                 guint        *high)
{
#if defined(RB_SCAN_SSE2)
  const __m128i quote = _mm_set1_epi8 ('"');
  const __m128i backslash = _mm_set1_epi8 ('\\');
  const __m128i control = _mm_set1_epi8 (0x1f);
  __m128i v;
  guint mask, top;

#define SPECIAL_MASK(v) \
  ((guint) _mm_movemask_epi8 (_mm_or_si128 (_mm_or_si128 (_mm_cmpeq_epi8 ((v), quote),              \
                                                          _mm_cmpeq_epi8 ((v), backslash)),         \
                                            _mm_cmpeq_epi8 (_mm_min_epu8 ((v), control), (v)))))

  while (end - p >= 16)
    {
      v = _mm_loadu_si128 ((const __m128i *) p);
      mask = SPECIAL_MASK (v);
      /* (mask - 1) & ~mask: the bytes before the first special one (all
       * of them when there is none). */
      *high |= (guint) _mm_movemask_epi8 (v) & (mask - 1) & ~mask;
      if (mask != 0)
        return p + __builtin_ctz (mask);
      p += 16;
    }

  /* Fewer than 16 bytes left: the block that ends at @end, shifted so that
   * bit 0 is @p, with a stop at @end. */
  {
    guint n = (guint) (end - p);

    v = _mm_loadu_si128 ((const __m128i *) (end - 16));
    mask = (SPECIAL_MASK (v) >> (16 - n)) | (1u << n);
    top = (guint) _mm_movemask_epi8 (v) >> (16 - n);
    *high |= top & (mask - 1) & ~mask;
    return p + __builtin_ctz (mask);
  }
#undef SPECIAL_MASK
#elif defined(RB_SCAN_SWAR)
  guint64 x;
  guint n;

  while (end - p >= 8)
    {
      memcpy (&x, p, 8);
      n = swar_first_special (x, high);
      if (n < 8)
        return p + n;
      p += 8;
    }
  n = (guint) (end - p);
  if (n == 0)
    return p;
  /* The 8 bytes that end at @end, shifted down: the zero bytes shifted in
   * are control characters, so they stop the run at @end. */
  memcpy (&x, end - 8, 8);
  return p + swar_first_special (x >> (8 * (8 - n)), high);
#else
  while (p < end && !(*p == '"' || *p == '\\' || *p < 0x20))
    *high |= *p++ & 0x80;
  return p;
#endif
}

static inline G_ALWAYS_INLINE gboolean
is_hex4 (const guchar *p)
{
  /* Stops at the first byte that is not a hex digit: never past @end. */
  return g_ascii_isxdigit (p[0]) && g_ascii_isxdigit (p[1]) &&
         g_ascii_isxdigit (p[2]) && g_ascii_isxdigit (p[3]);
}

static guint
hex4_value (const guchar *p)
{
  guint v = 0;

  for (int i = 0; i < 4; i++)
    v = (v << 4) | (guint) g_ascii_xdigit_value (p[i]);
  return v;
}

/* @p points at the 'u' of a \u escape whose four hex digits were checked.
 * A surrogate must come as a high-low pair (two escapes): json-glib turns a
 * lone one into bytes that are not UTF-8 (ED A0 80), which would then reach
 * callers as strings. Returns the byte after the escape(s), or NULL. */
static G_GNUC_NO_INLINE const guchar *
scan_unicode_escape (const guchar *p)
{
  guint v = hex4_value (p + 1);

  if (v < 0xD800 || v > 0xDFFF)
    return p + 5;
  if (v >= 0xDC00)
    return NULL;  /* a low surrogate first */
  /* p[5] is inside the text or the terminator: the checks stop there. */
  if (p[5] != '\\' || p[6] != 'u' || !is_hex4 (p + 7))
    return NULL;
  v = hex4_value (p + 7);
  if (v < 0xDC00 || v > 0xDFFF)
    return NULL;
  return p + 11;
}

/* @p points at the opening quote; returns the byte after the closing one. */
static inline G_ALWAYS_INLINE const guchar *
scan_string (const guchar *p,
             const guchar *end,
             guint        *high)
{
  p++;
  for (;;)
    {
      p = skip_string_run (p, end, high);
      /* At @end, *p is a NUL or a brace: neither case below. */
      if (G_LIKELY (*p == '"'))
        return p + 1;
      if (*p != '\\')
        return NULL;  /* control character, or the end */
      p++;
      if (json_escape[*p])
        p++;
      else if (*p == 'u' && is_hex4 (p + 1))
        p = scan_unicode_escape (p);
      else
        return NULL;
      if (p == NULL)
        return NULL;
    }
}

static inline const guchar *
scan_number (const guchar *p)
{
  if (*p == '-')
    p++;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (is_digit (*++p))
      ;
  else
    return NULL;

  if (*p == '.')
    {
      if (!is_digit (*++p))
        return NULL;
      while (is_digit (*++p))
        ;
    }
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      if (!is_digit (*p))
        return NULL;
      while (is_digit (*++p))
        ;
    }
  return p;
}

/* @word (4 bytes) is at @p, within [p, end). */
static inline G_ALWAYS_INLINE gboolean
has_word (const guchar *p,
          const guchar *end,
          const char   *word)
{
  guint32 a, b;

  if (end - p < 4)
    return FALSE;
  memcpy (&a, p, 4);
  memcpy (&b, word, 4);
  return a == b;
}

/* Scans one JSON value starting at @p; returns the end of the value (at
 * most @end) or NULL if it is malformed. No recursion: one bit per open
 * container says what encloses it; the innermost one's kind stays in a
 * register. */
static inline G_ALWAYS_INLINE const guchar *
scan_value (const guchar *p,
            const guchar *end,
            guint        *high)
{
  guint64 outer_is_object[RB_JSON_MAX_DEPTH / 64];
  guint depth = 0;
  gboolean in_object = FALSE;

value:
  SKIP_WS (p);
  switch (*p)
    {
    case '"':
      p = scan_string (p, end, high);
      break;
    case '{':
    case '[':
      if (G_UNLIKELY (depth == RB_JSON_MAX_DEPTH))
        {
          *high |= RB_SCAN_TOO_DEEP;
          return NULL;
        }
      if (in_object)
        outer_is_object[depth / 64] |= G_GUINT64_CONSTANT (1) << (depth % 64);
      else
        outer_is_object[depth / 64] &= ~(G_GUINT64_CONSTANT (1) << (depth % 64));
      depth++;
      in_object = *p == '{';
      p++;
      SKIP_WS (p);
      if (*p == (in_object ? '}' : ']'))
        {
          p++;
          goto close;
        }
      if (in_object)
        goto member;
      goto value;
    case 't':
      p = has_word (p, end, "true") ? p + 4 : NULL;
      break;
    case 'f':
      p = has_word (p + 1, end, "alse") ? p + 5 : NULL;
      break;
    case 'n':
      p = has_word (p, end, "null") ? p + 4 : NULL;
      break;
    default:
      p = scan_number (p);
      break;
    }
  if (p == NULL)
    return NULL;

after_value:
  /* Only a brace at @end can have brought p past it. */
  if (G_UNLIKELY (p > end))
    return NULL;
  if (depth == 0)
    return p;
  SKIP_WS (p);
  if (*p == ',')
    {
      p++;
      SKIP_WS (p);
      if (in_object)
        goto member;
      goto value;
    }
  if (*p != (in_object ? '}' : ']'))
    return NULL;
  p++;

close:
  depth--;
  in_object = (outer_is_object[depth / 64] >> (depth % 64)) & 1;
  goto after_value;

member:
  /* p is after '{' or ',' and white space: "key" ws ':' value */
  if (*p != '"')
    return NULL;
  p = scan_string (p, end, high);
  if (p == NULL)
    return NULL;
  SKIP_WS (p);
  if (*p != ':')
    return NULL;
  p++;
  goto value;
}

/* [start, end) must meet the preconditions above. */
static inline G_ALWAYS_INLINE RbJsonCheck
json_text_check (const guchar *start,
                 const guchar *end)
{
  const guchar *p;
  guint high = 0;

  p = scan_value (start, end, &high);
  if (G_UNLIKELY (p == NULL))
    return (high & RB_SCAN_TOO_DEEP) ? RB_JSON_TOO_DEEP : RB_JSON_MALFORMED;
  SKIP_WS (p);
  if (G_UNLIKELY (p != end))
    return RB_JSON_MALFORMED;
  /* Strings are the only place where bytes >= 0x80 may appear. */
  if (G_LIKELY (high == 0) || g_utf8_validate_len ((const char *) start, end - start, NULL))
    return RB_JSON_VALID;
  return RB_JSON_MALFORMED;
}

static inline G_ALWAYS_INLINE gboolean
json_text_is_valid (const guchar *start,
                    const guchar *end)
{
  return json_text_check (start, end) == RB_JSON_VALID;
}

RbJsonCheck
rb_json_value_check (const char *data,
                     gsize       len)
{
  g_autofree guchar *buffer = NULL;

  if (len >= G_MAXSIZE - RB_SCAN_LEAD - 1)
    return RB_JSON_MALFORMED;
  /* 16 readable bytes, the text, a NUL. */
  buffer = g_malloc (RB_SCAN_LEAD + len + 1);
  memset (buffer, 0, RB_SCAN_LEAD);
  memcpy (buffer + RB_SCAN_LEAD, data, len);
  buffer[RB_SCAN_LEAD + len] = '\0';
  return json_text_check (buffer + RB_SCAN_LEAD, buffer + RB_SCAN_LEAD + len);
}

gboolean
rb_json_value_is_valid (const char *data,
                        gsize       len)
{
  return rb_json_value_check (data, len) == RB_JSON_VALID;
}

gboolean
rb_envelope_check_buffer_slow (const void  *data,
                               gsize        len,
                               gsize        capacity,
                               const char  *what,
                               GError     **error)
{
  if (data == NULL)
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                 "Plugin returned a malformed %s: NULL data with a length of "
                 "%" G_GSIZE_FORMAT " bytes", what, len);
  else
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                 "Plugin returned a malformed %s: its length (%" G_GSIZE_FORMAT " bytes) "
                 "exceeds its capacity (%" G_GSIZE_FORMAT " bytes)", what, len, capacity);
  return FALSE;
}

static void
set_too_deep_error (GError     **error,
                    const char  *what)
{
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
               "Plugin returned a malformed %s: JSON nested deeper than %d levels",
               what, RB_JSON_MAX_DEPTH);
}

void
rb_envelope_set_wire_error (GError     **error,
                            guint32      wire_code,
                            const char  *message)
{
  if (wire_code >= RB_PLUGIN_ERROR_INVALID_STATE &&
      wire_code <= RB_PLUGIN_ERROR_TOO_MANY_REQUESTS)
    g_set_error_literal (error, RB_PLUGIN_ERROR, (int) wire_code, message);
  else
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                 "Plugin returned unknown error code %u: %s", wire_code, message);
}

static JsonObject *
parse_object (JsonParser   *parser,
              const guint8 *data,
              gsize         len)
{
  JsonNode *root;

  if (len == 0 || len > G_MAXSSIZE || memchr (data, '\0', len) != NULL)
    return NULL;
  if (!json_parser_load_from_data (parser, (const char *) data, (gssize) len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_node_get_object (root);
}

static const char *
object_get_string (JsonObject *object,
                   const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

void
rb_envelope_set_error (guint32        error_code,
                       const guint8  *data,
                       gsize          len,
                       GError       **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object;

  if (data != NULL && len > 0 && data[0] == '{')
    {
      /* Nothing untrusted reaches json-glib unchecked: it recurses per
       * level and has no depth limit. Malformed text is plain text. */
      RbJsonCheck check = rb_json_value_check ((const char *) data, len);

      if (check == RB_JSON_TOO_DEEP)
        {
          g_autofree char *what = g_strdup_printf ("error response (error code %u)", error_code);
          set_too_deep_error (error, what);
          return;
        }
      parser = json_parser_new_immutable ();
      object = check == RB_JSON_VALID ? parse_object (parser, data, len) : NULL;
      if (object != NULL && g_strcmp0 (object_get_string (object, "status"), "error") == 0)
        {
          JsonNode *code_node = json_object_get_member (object, "error_code");
          const char *message = object_get_string (object, "error_message");
          g_autofree char *fallback = NULL;
          guint32 code = error_code;

          if (code_node != NULL && json_node_get_value_type (code_node) == G_TYPE_INT64)
            {
              gint64 v = json_node_get_int (code_node);
              if (v > 0 && v <= G_MAXUINT32)
                code = (guint32) v;
            }
          if (message == NULL)
            message = fallback = g_strdup_printf ("Plugin call failed with error code %u", code);
          rb_envelope_set_wire_error (error, code, message);
          return;
        }
    }

  /* An early error: plain text, which the plugin promises is UTF-8 but
   * which we do not trust. */
  if (data == NULL || len == 0)
    {
      g_autofree char *message = g_strdup_printf ("Plugin call failed with error code %u", error_code);
      rb_envelope_set_wire_error (error, error_code, message);
    }
  else
    {
      g_autofree char *message = g_utf8_make_valid ((const char *) data, (gssize) MIN (len, G_MAXSSIZE));
      rb_envelope_set_wire_error (error, error_code, message);
    }
}

static char *
read_success_slow (const guint8  *data,
                   gsize          len,
                   GError       **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  RbJsonCheck check = rb_json_value_check ((const char *) data, len);
  JsonObject *object;
  JsonNode *payload;

  /* json-glib accepts some invalid JSON (e.g. unknown escapes) and has no
   * depth limit: the strict scanner decides what is JSON, json-glib only
   * finds the members. */
  if (check == RB_JSON_TOO_DEEP)
    {
      set_too_deep_error (error, "response");
      return NULL;
    }
  object = check == RB_JSON_VALID ? parse_object (parser, data, len) : NULL;
  if (object == NULL)
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                           "Plugin returned a malformed response: not a JSON envelope");
      return NULL;
    }
  if (g_strcmp0 (object_get_string (object, "status"), "success") != 0)
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                           "Plugin returned a malformed response: status is not “success”");
      return NULL;
    }
  payload = json_object_get_member (object, "payload");
  if (payload == NULL)
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                           "Plugin returned a malformed response: the payload is missing");
      return NULL;
    }
  return rb_json_to_string (payload);
}

char *
rb_envelope_read (guint32        error_code,
                  const guint8  *data,
                  gsize          len,
                  GError       **error)
{
  if (G_UNLIKELY (error_code != 0))
    {
      rb_envelope_set_error (error_code, data, len, error);
      return NULL;
    }

  if (G_UNLIKELY (data == NULL || len == 0))
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                           "Plugin returned an empty response");
      return NULL;
    }

  /* Fast path: slice the payload out of serde's compact envelope after
   * checking that it is exactly one well-formed JSON value. */
  if (len > SUCCESS_PREFIX_LEN + 1 &&
      memcmp (data, success_prefix, SUCCESS_PREFIX_LEN) == 0 &&
      data[len - 1] == '}')
    {
      const guchar *payload = data + SUCCESS_PREFIX_LEN;
      const guchar *payload_end = data + len - 1;   /* the closing brace */

      G_STATIC_ASSERT (SUCCESS_PREFIX_LEN >= RB_SCAN_LEAD);
      if (G_LIKELY (json_text_is_valid (payload, payload_end)))
        {
          gsize payload_len = payload_end - payload;
          /* g_malloc() is malloc() since GLib 2.46, and the result goes
           * to g_free(): call it directly on this hot path. */
          char *copy = malloc (payload_len + 1);

          if (G_UNLIKELY (copy == NULL))
            g_error ("%s: failed to allocate %" G_GSIZE_FORMAT " bytes", G_STRLOC, payload_len + 1);
          memcpy (copy, payload, payload_len);
          copy[payload_len] = '\0';
          return copy;
        }
    }

  return read_success_slow (data, len, error);
}
