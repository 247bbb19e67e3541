/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "rb-names-private.h"

/* rb_names_escape(), and with @ascii every character beyond ASCII as
 * \uNNNN or \UNNNNNNNN too (and "..." as the ellipsis): for names that
 * may differ in characters that look alike. */
static char *
escape (const char *text,
        gssize      len,
        gsize       max_bytes,
        gboolean    ascii)
{
  GString *out = g_string_new (NULL);
  const char *p = text;
  const char *end = text + (len < 0 ? strlen (text) : (gsize) len);

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      char unit[16];
      const char *add = unit;
      gsize n = 1;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        g_snprintf (unit, sizeof unit, "\\x%02x", (guchar) *p);   /* not UTF-8, or a NUL */
      else
        {
          GUnicodeType type = g_unichar_type (c);

          n = (gsize) (g_utf8_next_char (p) - p);
          if (c < 0x20 || c == 0x7f)
            g_snprintf (unit, sizeof unit, "\\x%02x", c);
          else if ((c >= 0x80 && c <= 0x9f) || type == G_UNICODE_FORMAT ||
                   type == G_UNICODE_LINE_SEPARATOR || type == G_UNICODE_PARAGRAPH_SEPARATOR)
            g_snprintf (unit, sizeof unit, "\\u%04x", c);
          else if (c == '\\')
            add = "\\\\";
          else if (ascii && c >= 0x80)
            g_snprintf (unit, sizeof unit, c > 0xffff ? "\\U%08x" : "\\u%04x", c);
          else
            {
              memcpy (unit, p, n);
              unit[n] = '\0';
            }
        }
      if (strlen (add) > max_bytes - out->len)
        {
          g_string_append (out, ascii ? "..." : "…");
          break;
        }
      g_string_append (out, add);
      p += n;
    }
  return g_string_free (out, FALSE);
}

char *
rb_names_escape (const char *text,
                 gssize      len,
                 gsize       max_bytes)
{
  return escape (text, len, max_bytes, FALSE);
}

char *
rb_names_escape_ascii (const char *text,
                       gssize      len,
                       gsize       max_bytes)
{
  return escape (text, len, max_bytes, TRUE);
}

char *
rb_names_shown (const char *name)
{
  return escape (name, -1, RB_NAMES_SHOWN_MAX, FALSE);
}
