/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "rb-envelope-private.h"
#include "rb-error.h"
#include "rb-json-private.h"

/* serde writes the success envelope compactly with the fields in this
 * order; anything else takes the slower json-glib path. */
static const char success_prefix[] = "{\"status\":\"success\",\"payload\":";
#define SUCCESS_PREFIX_LEN (sizeof success_prefix - 1)

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
      if (object != NULL && g_strcmp0 (rb_json_object_get_string (object, "status"), "error") == 0)
        {
          JsonNode *code_node = json_object_get_member (object, "error_code");
          const char *message = rb_json_object_get_string (object, "error_message");
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
  if (g_strcmp0 (rb_json_object_get_string (object, "status"), "success") != 0)
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

      G_STATIC_ASSERT (SUCCESS_PREFIX_LEN >= RB_JSON_SCAN_LEAD);
      if (G_LIKELY (rb_json_scan_in_place (payload, payload_end) == RB_JSON_VALID))
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
