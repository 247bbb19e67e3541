/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

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
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  g_set_error_literal (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                       "not valid JSON (one value, UTF-8, no NUL bytes, standard escapes)");
  return FALSE;
}
