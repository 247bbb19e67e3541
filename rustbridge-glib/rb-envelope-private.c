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

static inline const guchar *
skip_ws (const guchar *p,
         const guchar *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

static inline gboolean
is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

/* 1 for the bytes that end the fast run inside a string: the quote, the
 * backslash and control characters. */
static const guint8 string_special[256] = {
  [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
  [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
  [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
  [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
  ['"'] = 1, ['\\'] = 1,
};

static inline const guchar *
scan_string (const guchar *p,
             const guchar *end,
             gboolean     *high_bytes)
{
  guint64 high = 0;

  /* p points at the opening quote */
  p++;
  for (;;)
    {
      const guchar *stop = end - p > 16 ? p + 16 : end;
      guchar c;

      /* Most strings are short: byte by byte first. */
      while (p < stop && !string_special[*p])
        high |= *p++;
      if (p == stop)
        {
          if (p >= end)
            return NULL;
          /* A long run: eight bytes at a time (SWAR) until a word holds a
           * quote, a backslash or a control character. */
          while (end - p >= 8)
            {
              guint64 x, quote, backslash, control;

              memcpy (&x, p, 8);
              quote = x ^ G_GUINT64_CONSTANT (0x2222222222222222);
              backslash = x ^ G_GUINT64_CONSTANT (0x5c5c5c5c5c5c5c5c);
              quote = (quote - G_GUINT64_CONSTANT (0x0101010101010101)) & ~quote;
              backslash = (backslash - G_GUINT64_CONSTANT (0x0101010101010101)) & ~backslash;
              control = (x - G_GUINT64_CONSTANT (0x2020202020202020)) & ~x;
              if ((quote | backslash | control) & G_GUINT64_CONSTANT (0x8080808080808080))
                break;
              high |= x;
              p += 8;
            }
          continue;
        }

      c = *p;
      if (c == '"')
        {
          if (high & G_GUINT64_CONSTANT (0x8080808080808080))
            *high_bytes = TRUE;
          return p + 1;
        }
      if (c != '\\')
        return NULL;  /* control character */
      if (++p >= end)
        return NULL;
      switch (*p)
        {
        case '"': case '\\': case '/': case 'b': case 'f':
        case 'n': case 'r': case 't':
          break;
        case 'u':
          if (end - p < 5)
            return NULL;
          for (int i = 1; i <= 4; i++)
            if (!g_ascii_isxdigit (p[i]))
              return NULL;
          p += 4;
          break;
        default:
          return NULL;
        }
      p++;
    }
}

static const guchar *
scan_number (const guchar *p,
             const guchar *end)
{
  if (p < end && *p == '-')
    p++;
  if (p >= end)
    return NULL;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (p < end && is_digit (*p))
      p++;
  else
    return NULL;

  if (p < end && *p == '.')
    {
      p++;
      if (p >= end || !is_digit (*p))
        return NULL;
      while (p < end && is_digit (*p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p >= end || !is_digit (*p))
        return NULL;
      while (p < end && is_digit (*p))
        p++;
    }
  return p;
}

static const guchar *
scan_literal (const guchar *p,
              const guchar *end,
              const char   *word,
              gsize         len)
{
  if ((gsize) (end - p) < len || memcmp (p, word, len) != 0)
    return NULL;
  return p + len;
}

/* Scans one JSON value starting at @p (after white space); returns the
 * end of the value or NULL if it is malformed. */
static const guchar *
scan_value (const guchar *p,
            const guchar *end,
            gboolean     *high_bytes)
{
  char stack[RB_JSON_MAX_DEPTH];
  int depth = 0;

value:
  p = skip_ws (p, end);
  if (p >= end)
    return NULL;
  switch (*p)
    {
    case '{':
      if (depth == RB_JSON_MAX_DEPTH)
        return NULL;
      stack[depth++] = '{';
      p = skip_ws (p + 1, end);
      if (p < end && *p == '}')
        {
          depth--;
          p++;
          goto after_value;
        }
      goto member;
    case '[':
      if (depth == RB_JSON_MAX_DEPTH)
        return NULL;
      stack[depth++] = '[';
      p = skip_ws (p + 1, end);
      if (p < end && *p == ']')
        {
          depth--;
          p++;
          goto after_value;
        }
      goto value;
    case '"':
      p = scan_string (p, end, high_bytes);
      break;
    case 't':
      p = scan_literal (p, end, "true", 4);
      break;
    case 'f':
      p = scan_literal (p, end, "false", 5);
      break;
    case 'n':
      p = scan_literal (p, end, "null", 4);
      break;
    default:
      p = scan_number (p, end);
      break;
    }
  if (p == NULL)
    return NULL;

after_value:
  if (depth == 0)
    return p;
  p = skip_ws (p, end);
  if (p >= end)
    return NULL;
  if (*p == ',')
    {
      p = skip_ws (p + 1, end);
      if (stack[depth - 1] == '[')
        goto value;
      goto member;
    }
  if (*p == (stack[depth - 1] == '{' ? '}' : ']'))
    {
      depth--;
      p++;
      goto after_value;
    }
  return NULL;

member:
  /* p is after '{' or ',' and white space: "key" ws ':' value */
  if (p >= end || *p != '"')
    return NULL;
  p = scan_string (p, end, high_bytes);
  if (p == NULL)
    return NULL;
  p = skip_ws (p, end);
  if (p >= end || *p != ':')
    return NULL;
  p++;
  goto value;
}

gboolean
rb_json_value_is_valid (const char *data,
                        gsize       len)
{
  const guchar *p = (const guchar *) data;
  const guchar *end = p + len;
  gboolean high_bytes = FALSE;

  p = scan_value (p, end, &high_bytes);
  if (p == NULL || skip_ws (p, end) != end)
    return FALSE;
  /* Strings are the only place where bytes >= 0x80 may appear. */
  return !high_bytes || g_utf8_validate_len (data, len, NULL);
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

      if (rb_json_value_is_valid (payload, payload_len))
        {
          /* Not g_strndup(): the validated payload holds no NUL to look for. */
          char *copy = g_malloc (payload_len + 1);
          memcpy (copy, payload, payload_len);
          copy[payload_len] = '\0';
          return copy;
        }
    }

  return read_success_slow (data, len, error);
}
