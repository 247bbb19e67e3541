/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "rb-envelope-private.h"
#include "rb-error.h"

/* Nesting deeper than this is refused (json-glib stops at a similar
 * depth); the scanner uses no recursion. */
#define RB_JSON_MAX_DEPTH 512

/* serde writes the success envelope compactly with the fields in this
 * order; anything else takes the slower json-glib path. */
static const char success_prefix[] = "{\"status\":\"success\",\"payload\":";
#define SUCCESS_PREFIX_LEN (sizeof success_prefix - 1)

/*
 * The scanner reads NUL-terminated text: the terminating NUL is a
 * sentinel that ends every loop (it is invalid everywhere in JSON), so
 * the hot loops need no bounds checks. A NUL inside the data stops the
 * scan early, which the caller sees as "not the whole input".
 */

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

static inline gboolean
is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

/* 1 for the bytes that end the fast run inside a string: the quote, the
 * backslash and control characters (NUL included). */
static const guint8 string_special[256] = {
  [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
  [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
  [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
  [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
  ['"'] = 1, ['\\'] = 1,
};

/* The first byte of @x (little-endian order) that is a quote, a backslash
 * or a control character, as a bit mask of its top bit (0 if none). The
 * lowest flagged byte is exact; bytes above it may be flagged by borrows. */
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

static inline G_ALWAYS_INLINE const guchar *
scan_string (const guchar *p,
             const guchar *end,
             guint64      *high_out)
{
  guint64 high = 0;

  /* p points at the opening quote */
  p++;
  for (;;)
    {
      guchar c;

      /* Eight bytes at a time (SWAR), jumping straight to the first
       * special byte: one predictable branch per word instead of one per
       * byte. High bits are collected for the UTF-8 check (conservatively:
       * a whole word). */
      while (end - p >= 8)
        {
          guint64 x, mask;

          memcpy (&x, p, 8);
          mask = special_bytes (x);
          high |= x;
          if (mask != 0)
            {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
              p += __builtin_ctzll (mask) >> 3;
#else
              while (!string_special[*p])
                p++;
#endif
              goto special;
            }
          p += 8;
        }
      /* The last few bytes: one at a time; the NUL sentinel stops us. */
      while (!string_special[*p])
        high |= *p++;

    special:
      c = *p;
      if (c == '"')
        {
          *high_out |= high;
          return p + 1;
        }
      if (c != '\\')
        return NULL;  /* control character, or the end */
      switch (*++p)
        {
        case '"': case '\\': case '/': case 'b': case 'f':
        case 'n': case 'r': case 't':
          break;
        case 'u':
          /* g_ascii_isxdigit() is false for the NUL sentinel. */
          if (!g_ascii_isxdigit (p[1]) || !g_ascii_isxdigit (p[2]) ||
              !g_ascii_isxdigit (p[3]) || !g_ascii_isxdigit (p[4]))
            return NULL;
          p += 4;
          break;
        default:
          return NULL;
        }
      p++;
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

/* Compares byte by byte, so it never reads past the sentinel. */
static inline const guchar *
scan_literal (const guchar *p,
              const char   *word)
{
  for (; *word != '\0'; word++, p++)
    if (*p != (guchar) *word)
      return NULL;
  return p;
}

/* Scans one JSON value starting at @p; returns the end of the value or
 * NULL if it is malformed. No recursion: a bit per level of nesting. */
static const guchar *
scan_value (const guchar *p,
            const guchar *end,
            guint64      *high)
{
  guint64 is_object[RB_JSON_MAX_DEPTH / 64] = { 0 };
  int depth = 0;

#define PUSH(obj) G_STMT_START {                                               \
    if (depth == RB_JSON_MAX_DEPTH)                                            \
      return NULL;                                                             \
    if (obj)                                                                   \
      is_object[depth / 64] |= G_GUINT64_CONSTANT (1) << (depth % 64);         \
    else                                                                       \
      is_object[depth / 64] &= ~(G_GUINT64_CONSTANT (1) << (depth % 64));      \
    depth++;                                                                   \
  } G_STMT_END
#define TOP_IS_OBJECT() ((is_object[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1)

value:
  p = skip_ws (p);
  switch (*p)
    {
    case '{':
      PUSH (TRUE);
      p = skip_ws (p + 1);
      if (*p == '}')
        {
          depth--;
          p++;
          goto after_value;
        }
      goto member;
    case '[':
      PUSH (FALSE);
      p = skip_ws (p + 1);
      if (*p == ']')
        {
          depth--;
          p++;
          goto after_value;
        }
      goto value;
    case '"':
      p = scan_string (p, end, high);
      break;
    case 't':
      p = scan_literal (p, "true");
      break;
    case 'f':
      p = scan_literal (p, "false");
      break;
    case 'n':
      p = scan_literal (p, "null");
      break;
    default:
      p = scan_number (p);
      break;
    }
  if (p == NULL)
    return NULL;

after_value:
  if (depth == 0)
    return p;
  p = skip_ws (p);
  if (*p == ',')
    {
      p = skip_ws (p + 1);
      if (!TOP_IS_OBJECT ())
        goto value;
      goto member;
    }
  if (*p == (TOP_IS_OBJECT () ? '}' : ']'))
    {
      depth--;
      p++;
      goto after_value;
    }
  return NULL;

member:
  /* p is after '{' or ',' and white space: "key" ws ':' value */
  if (*p != '"')
    return NULL;
  p = scan_string (p, end, high);
  if (p == NULL)
    return NULL;
  p = skip_ws (p);
  if (*p != ':')
    return NULL;
  p++;
  goto value;

#undef PUSH
#undef TOP_IS_OBJECT
}

/* @data must be NUL-terminated at @len (the sentinel). */
static gboolean
json_text_is_valid (const char *data,
                    gsize       len)
{
  const guchar *start = (const guchar *) data;
  const guchar *p;
  guint64 high = 0;

  p = scan_value (start, start + len, &high);
  if (p == NULL || skip_ws (p) != start + len)
    return FALSE;
  /* Strings are the only place where bytes >= 0x80 may appear. */
  return !(high & G_GUINT64_CONSTANT (0x8080808080808080)) || g_utf8_validate_len (data, len, NULL);
}

gboolean
rb_json_value_is_valid (const char *data,
                        gsize       len)
{
  g_autofree char *copy = NULL;

  if (len >= G_MAXSIZE)
    return FALSE;
  copy = g_malloc (len + 1);
  memcpy (copy, data, len);
  copy[len] = '\0';
  return json_text_is_valid (copy, len);
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
      parser = json_parser_new_immutable ();
      object = parse_object (parser, data, len);
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
  JsonObject *object;
  JsonNode *payload;

  /* json-glib accepts some invalid JSON (e.g. unknown escapes): the strict
   * scanner decides what is JSON, json-glib only finds the members. */
  object = rb_json_value_is_valid ((const char *) data, len) ? parse_object (parser, data, len) : NULL;
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
  return json_to_string (payload, FALSE);
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
      const char *payload = (const char *) data + SUCCESS_PREFIX_LEN;
      gsize payload_len = len - SUCCESS_PREFIX_LEN - 1;

      /* Copy first: the copy's NUL terminator is the scanner's sentinel,
       * and the copy is what the caller gets. */
      char *copy = g_malloc (payload_len + 1);

      memcpy (copy, payload, payload_len);
      copy[payload_len] = '\0';
      if (G_LIKELY (json_text_is_valid (copy, payload_len)))
        return copy;
      g_free (copy);
    }

  return read_success_slow (data, len, error);
}
