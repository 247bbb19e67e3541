/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "rb-envelope-private.h"
#include "rb-json-private.h"

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

  if (nesting_depth (data, size, RB_JSON_MAX_UNTRUSTED_DEPTH, &brackets) > RB_JSON_MAX_UNTRUSTED_DEPTH)
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "nested deeper than %u levels", RB_JSON_MAX_UNTRUSTED_DEPTH);
      return FALSE;
    }
  /* Refused, but json-glib may say where the text goes wrong: only if it
   * cannot nest deeply whatever json-glib takes for strings or comments,
   * and has no NUL (json-glib would stop there). */
  if (brackets <= RB_JSON_MAX_UNTRUSTED_DEPTH && memchr (data, '\0', size) == NULL)
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

static void
write_string (GString    *out,
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
            write_string (out, name);
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
          write_string (out, json_node_get_string (node));
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
