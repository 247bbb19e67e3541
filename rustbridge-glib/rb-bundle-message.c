/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-bundle-message-private.h"
#include "rb-error.h"
#include "rb-json-private.h"

/**
 * RbBundleMessage:
 *
 * One message a bundled plugin declares in its manifest (`api.messages`):
 * the type tag to call it with, the numeric id of its binary transport,
 * and the schemas of its request and response.
 *
 * Get them from [method@RustBridge.Bundle.list_api_messages] or
 * [method@RustBridge.Bundle.lookup_api_message]:
 *
 * ```c
 * g_autoptr(RbBundleMessage) add = rb_bundle_lookup_api_message (bundle, "math.add");
 * if (add != NULL && rb_bundle_message_get_message_id (add) >= 0)
 *   reply = rb_plugin_call_raw (plugin, rb_bundle_message_get_message_id (add), request, NULL, &error);
 * ```
 *
 * A message is immutable; every string it returns lives as long as it.
 */

struct _RbBundleMessage {
  char   *type_tag;
  gint64  message_id;        /* -1: none */
  char   *description;
  char   *transport;
  char   *request_schema;
  char   *response_schema;
  char   *cstruct_request;
  char   *cstruct_response;
};

G_DEFINE_BOXED_TYPE (RbBundleMessage, rb_bundle_message, rb_bundle_message_ref, rb_bundle_message_unref)

static void
rb_bundle_message_clear (RbBundleMessage *message)
{
  g_free (message->type_tag);
  g_free (message->description);
  g_free (message->transport);
  g_free (message->request_schema);
  g_free (message->response_schema);
  g_free (message->cstruct_request);
  g_free (message->cstruct_response);
}

/**
 * rb_bundle_message_ref:
 * @message: a #RbBundleMessage
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @message
 */
RbBundleMessage *
rb_bundle_message_ref (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  return g_atomic_rc_box_acquire (message);
}

/**
 * rb_bundle_message_unref:
 * @message: (transfer full): a #RbBundleMessage
 *
 * Drops a reference; the last one frees the message.
 */
void
rb_bundle_message_unref (RbBundleMessage *message)
{
  g_return_if_fail (message != NULL);
  g_atomic_rc_box_release_full (message, (GDestroyNotify) rb_bundle_message_clear);
}

static gboolean
invalid_member (GError     **error,
                const char  *where,
                const char  *name,
                const char  *expected)
{
  return rb_json_manifest_error (error, "“%s.%s” must be %s", where, name, expected);
}

/* An optional string member: absent or null leaves *out NULL. */
static gboolean
optional_string (JsonObject  *object,
                 const char  *where,
                 const char  *name,
                 char       **out,
                 GError     **error)
{
  JsonNode *node = rb_json_object_get_present (object, name);

  if (node == NULL)
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return invalid_member (error, where, name, "a string");
  *out = json_node_dup_string (node);
  return TRUE;
}

RbBundleMessage *
rb_bundle_message_new_from_json (JsonNode    *node,
                                 const char  *where,
                                 GError     **error)
{
  g_autoptr(RbBundleMessage) message = NULL;
  JsonObject *object;
  JsonNode *id;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      rb_json_manifest_error (error, "“%s” must be an object", where);
      return NULL;
    }
  object = json_node_get_object (node);
  message = g_atomic_rc_box_new0 (RbBundleMessage);
  message->message_id = -1;

  if (!optional_string (object, where, "type_tag", &message->type_tag, error) ||
      !optional_string (object, where, "description", &message->description, error) ||
      !optional_string (object, where, "transport", &message->transport, error) ||
      !optional_string (object, where, "request_schema", &message->request_schema, error) ||
      !optional_string (object, where, "response_schema", &message->response_schema, error) ||
      !optional_string (object, where, "cstruct_request", &message->cstruct_request, error) ||
      !optional_string (object, where, "cstruct_response", &message->cstruct_response, error))
    return NULL;
  if (message->type_tag == NULL || *message->type_tag == '\0')
    {
      invalid_member (error, where, "type_tag", "a non-empty string");
      return NULL;
    }

  /* The id of the binary transport: a 32-bit unsigned integer. */
  id = rb_json_object_get_present (object, "message_id");
  if (id != NULL)
    {
      if (json_node_get_value_type (id) != G_TYPE_INT64 ||
          json_node_get_int (id) < 0 || json_node_get_int (id) > G_MAXUINT32)
        {
          invalid_member (error, where, "message_id", "an integer from 0 to 4294967295");
          return NULL;
        }
      message->message_id = json_node_get_int (id);
    }
  return g_steal_pointer (&message);
}

/**
 * rb_bundle_message_get_type_tag:
 * @message: a #RbBundleMessage
 *
 * Gets the type tag that [method@RustBridge.Plugin.call] takes.
 *
 * Returns: the type tag (`type_tag`)
 */
const char *
rb_bundle_message_get_type_tag (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  return message->type_tag;
}

/**
 * rb_bundle_message_get_message_id:
 * @message: a #RbBundleMessage
 *
 * Gets the id that [method@RustBridge.Plugin.call_raw] takes for this
 * message's binary transport.
 *
 * Returns: the id (`message_id`, 0 to %G_MAXUINT32), or -1 if the
 *   manifest gives none
 */
gint64
rb_bundle_message_get_message_id (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, -1);
  return message->message_id;
}

/**
 * rb_bundle_message_get_description:
 * @message: a #RbBundleMessage
 *
 * Gets the message's description.
 *
 * Returns: (nullable): the description (`description`)
 */
const char *
rb_bundle_message_get_description (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  return message->description;
}

/**
 * rb_bundle_message_get_transport:
 * @message: a #RbBundleMessage
 *
 * Gets the transport the message is meant for (`json` or `cstruct`).
 *
 * Returns: (nullable): the transport (`transport`)
 */
const char *
rb_bundle_message_get_transport (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  return message->transport;
}

/**
 * rb_bundle_message_get_request_schema:
 * @message: a #RbBundleMessage
 *
 * Gets the JSON Schema of the request, as the manifest names it.
 *
 * Returns: (nullable): the request schema (`request_schema`)
 */
const char *
rb_bundle_message_get_request_schema (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  return message->request_schema;
}

/**
 * rb_bundle_message_get_response_schema:
 * @message: a #RbBundleMessage
 *
 * Gets the JSON Schema of the response, as the manifest names it.
 *
 * Returns: (nullable): the response schema (`response_schema`)
 */
const char *
rb_bundle_message_get_response_schema (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  return message->response_schema;
}

/**
 * rb_bundle_message_get_cstruct_request:
 * @message: a #RbBundleMessage
 *
 * Gets the C struct of the binary request, as the manifest names it.
 *
 * Returns: (nullable): the request struct (`cstruct_request`)
 */
const char *
rb_bundle_message_get_cstruct_request (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  return message->cstruct_request;
}

/**
 * rb_bundle_message_get_cstruct_response:
 * @message: a #RbBundleMessage
 *
 * Gets the C struct of the binary response, as the manifest names it.
 *
 * Returns: (nullable): the response struct (`cstruct_response`)
 */
const char *
rb_bundle_message_get_cstruct_response (RbBundleMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  return message->cstruct_response;
}
