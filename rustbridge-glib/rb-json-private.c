/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "rb-error.h"
#include "rb-json-private.h"

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
 * recursion. Its preconditions are in rb-json-private.h.
 *
 * serde writes compact JSON: white space is looked for only where a byte
 * is <= ' ', which one well-predicted comparison rules out. */


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
RbJsonCheck
rb_json_scan_in_place (const guchar *start,
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

RbJsonCheck
rb_json_value_check (const char *data,
                     gsize       len)
{
  g_autofree guchar *buffer = NULL;

  if (len >= G_MAXSIZE - RB_JSON_SCAN_LEAD - 1)
    return RB_JSON_MALFORMED;
  /* 16 readable bytes, the text, a NUL. */
  buffer = g_malloc (RB_JSON_SCAN_LEAD + len + 1);
  memset (buffer, 0, RB_JSON_SCAN_LEAD);
  memcpy (buffer + RB_JSON_SCAN_LEAD, data, len);
  buffer[RB_JSON_SCAN_LEAD + len] = '\0';
  return rb_json_scan_in_place (buffer + RB_JSON_SCAN_LEAD, buffer + RB_JSON_SCAN_LEAD + len);
}

gboolean
rb_json_value_is_valid (const char *data,
                        gsize       len)
{
  return rb_json_value_check (data, len) == RB_JSON_VALID;
}

/* The deepest nesting of @data, read with JSON's string rules, counted
 * only up to @limit + 1; and the number of opening brackets anywhere. */
static guint
nesting_depth (const char *data,
               gsize       len,
               guint       limit,
               gsize      *brackets)
{
  guint depth = 0, deepest = 0;
  gboolean in_string = FALSE;

  *brackets = 0;
  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (c == '[' || c == '{')
        (*brackets)++;
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > deepest)
            deepest = depth;
          if (deepest > limit)
            break;
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return deepest;
}

gboolean
rb_json_load_untrusted (JsonParser  *parser,
                        const char  *data,
                        gssize       len,
                        GError     **error)
{
  gsize size = len < 0 ? strlen (data) : (gsize) len;
  gsize brackets;

  if (size > G_MAXSSIZE)
    {
      g_set_error_literal (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA, "too large");
      return FALSE;
    }
  if (rb_json_value_is_valid (data, size))
    return json_parser_load_from_data (parser, data, (gssize) size, error);

  if (nesting_depth (data, size, RB_JSON_MAX_DEPTH, &brackets) > RB_JSON_MAX_DEPTH)
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "nested deeper than %u levels", RB_JSON_MAX_DEPTH);
      return FALSE;
    }
  /* Refused, but json-glib may say where the text goes wrong: only if it
   * cannot nest deeply whatever json-glib takes for strings or comments,
   * and has no NUL (json-glib would stop there). */
  if (brackets <= RB_JSON_MAX_DEPTH && memchr (data, '\0', size) == NULL)
    {
      g_autoptr(JsonParser) probe = json_parser_new_immutable ();
      g_autoptr(GError) local_error = NULL;

      if (!json_parser_load_from_data (probe, data, (gssize) size, &local_error))
        {
          /* json-glib quotes the text it stopped at, which need not be
           * UTF-8 (it decodes a lone surrogate escape to ED A0 80). */
          g_autofree char *message = g_utf8_make_valid (local_error->message, -1);

          g_set_error_literal (error, local_error->domain, local_error->code, message);
          return FALSE;
        }
    }
  g_set_error_literal (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                       "not valid JSON (one value, UTF-8, no NUL bytes, standard escapes)");
  return FALSE;
}

JsonNode *
rb_json_node_deep_copy (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(JsonObject) copy = json_object_new ();
        g_autoptr(GList) members = json_object_get_members (object);

        for (GList *l = members; l != NULL; l = l->next)
          json_object_set_member (copy, l->data, rb_json_node_deep_copy (json_object_get_member (object, l->data)));
        return json_node_init_object (json_node_alloc (), copy);
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint length = json_array_get_length (array);
        g_autoptr(JsonArray) copy = json_array_sized_new (length);

        for (guint i = 0; i < length; i++)
          json_array_add_element (copy, rb_json_node_deep_copy (json_array_get_element (array, i)));
        return json_node_init_array (json_node_alloc (), copy);
      }
    case JSON_NODE_VALUE:
      {
        /* Not json_node_copy(): it keeps a sealed node sealed. */
        g_auto(GValue) value = G_VALUE_INIT;
        JsonNode *copy = json_node_new (JSON_NODE_VALUE);

        json_node_get_value (node, &value);
        json_node_set_value (copy, &value);
        return copy;
      }
    case JSON_NODE_NULL:
    default:
      return json_node_new (JSON_NODE_NULL);
    }
}

gboolean
rb_json_node_is_finite (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(GList) members = json_object_get_members (object);

        for (GList *l = members; l != NULL; l = l->next)
          if (!rb_json_node_is_finite (json_object_get_member (object, l->data)))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (!rb_json_node_is_finite (json_array_get_element (array, i)))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_VALUE:
      return json_node_get_value_type (node) != G_TYPE_DOUBLE || isfinite (json_node_get_double (node));
    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

void
rb_json_write_string (GString    *out,
                      const char *s)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) s; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}

static void
write_double (GString *out,
              double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  /* The shortest form that reads back as the same double. */
  static const char * const formats[] = { "%.15g", "%.16g", "%.17g" };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[i], value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }
  g_string_append (out, buf);
  /* Keep it a double on the way back, as json-glib does, but only where
   * that is still JSON ("5" → "5.0"; "1e-08" stays). */
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
write_node (GString  *out,
            JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            rb_json_write_string (out, name);
            g_string_append_c (out, ':');
            write_node (out, member);
          }
        g_string_append_c (out, '}');
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint length = json_array_get_length (array);

        g_string_append_c (out, '[');
        for (guint i = 0; i < length; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            write_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
        break;
      }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          write_double (out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_STRING:
          rb_json_write_string (out, json_node_get_string (node));
          break;
        default:
          g_string_append (out, "null");
        }
      break;
    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
    }
}

char *
rb_json_to_string (JsonNode *node)
{
  GString *out = g_string_sized_new (64);

  write_node (out, node);
  return g_string_free (out, FALSE);
}

JsonNode *
rb_json_object_get_present (JsonObject *object,
                            const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

JsonObject *
rb_json_object_get_object (JsonObject *object,
                           const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

const char *
rb_json_object_get_string (JsonObject *object,
                           const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node) : NULL;
}

gboolean
rb_json_object_get_boolean (JsonObject *object,
                            const char *name,
                            gboolean    fallback)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && json_node_get_value_type (node) == G_TYPE_BOOLEAN ? json_node_get_boolean (node) : fallback;
}

GStrv
rb_json_object_list_members (JsonObject *object)
{
  g_autoptr(GList) names = object != NULL ? json_object_get_members (object) : NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  names = g_list_sort (names, (GCompareFunc) g_strcmp0);
  for (GList *l = names; l != NULL; l = l->next)
    g_strv_builder_add (builder, l->data);
  return g_strv_builder_end (builder);
}

gboolean
rb_json_manifest_error (GError     **error,
                        const char  *format,
                        ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
               "Invalid manifest.json: %s", message);
  return FALSE;
}
