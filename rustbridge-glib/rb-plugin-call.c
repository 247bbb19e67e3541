/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "rb-envelope-private.h"
#include "rb-error.h"
#include "rb-json-private.h"
#include "rb-plugin-private.h"
#include "rb-thread-private.h"

/*
 * RbPlugin's calls: admission and the synchronous JSON, JsonNode and raw
 * paths. rb_plugin_invoke() and rb_plugin_invoke_raw() are inlined into
 * the sync entry points here; the async path (rb-plugin-async.c) reaches
 * them through out-of-line copies. Each starts with the one branch to the
 * other back ends (rb-plugin-backend.c): a load and a predicted jump on
 * the in-process path.
 */

void
rb_plugin_set_inactive_error (RbPlugin          *self,
                              RbLifecycleState   state,
                              GError           **error)
{
  if (state == RB_LIFECYCLE_STATE_FAILED && self->backend == RB_BACKEND_ISOLATED)
    {
      rb_plugin_backend_set_crash_error (self, error);
      return;
    }
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
               "Plugin “%s” is not active (state: %s)", self->path,
               rb_lifecycle_state_name (state));
}

/* After an internal error the plugin may have marked itself failed
 * (a panic does). The call is still admitted, but a shutdown that timed
 * out may have given up waiting for it and shut the handle down: ask the
 * plugin only while the handle is live, and keep the shutdown from
 * starting while we ask. */
static G_GNUC_NO_INLINE void
rb_plugin_check_failed (RbPlugin     *self,
                        const GError *error)
{
  guint8 state = RB_LIFECYCLE_STATE_ACTIVE;

  if (!g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL) &&
      !g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE))
    return;
  g_mutex_lock (&self->handle_lock);
  if (self->handle_live)
    state = self->abi->plugin_get_state (self->handle);
  g_mutex_unlock (&self->handle_lock);
  if (state == RB_LIFECYCLE_STATE_FAILED)
    rb_plugin_transition (self, RB_LIFECYCLE_STATE_ACTIVE, RB_LIFECYCLE_STATE_FAILED);
}

/* ------------------------------------------------------------------ */
/* Calls (the same code runs for sync calls and on pool workers)       */

static inline G_ALWAYS_INLINE char *
rb_plugin_invoke_direct (RbPlugin      *self,
                  const char    *type_tag,
                  const char    *request,
                  gsize          request_len,
                  GError       **error)
{
  RbInflightSlot *ticket;
  RbLogSink *previous;
  RbFfiBuffer buffer;
  GError *local_error = NULL;
  char *payload = NULL;

  if (!rb_plugin_admit (self, &ticket, error))
    return NULL;

  previous = rb_library_enter_call (&self->sink);
  buffer = self->abi->plugin_call (self->handle, type_tag,
                                   (const uint8_t *) request, request_len);
  rb_library_leave_call (previous);

  /* Nothing reads the buffer before len and capacity are checked. */
  if (G_LIKELY (rb_envelope_check_buffer (buffer.data, buffer.len, buffer.capacity,
                                          "response", &local_error)))
    payload = rb_envelope_read (buffer.error_code, buffer.data, buffer.len, &local_error);
  self->abi->plugin_free_buffer (&buffer);

  if (G_UNLIKELY (payload == NULL))
    {
      rb_plugin_check_failed (self, local_error);
      g_propagate_error (error, local_error);
    }
  rb_plugin_release (self, ticket);

  return payload;
}

typedef struct {
  void       (*response_free) (RbResponse *response);
  RbResponse   response;
} RbRawHolder;

/* One spare holder per thread (rb-thread-private.h). */
static inline RbRawHolder *
rb_raw_holder_new (const RbAbi *abi)
{
  RbRawHolder *holder = rb_thread.spare_raw_holder;

  if (holder != NULL)
    rb_thread.spare_raw_holder = NULL;
  else
    holder = g_new (RbRawHolder, 1);
  holder->response_free = abi->rb_response_free;
  return holder;
}

static void
rb_raw_holder_free (gpointer data)
{
  RbRawHolder *holder = data;

  /* The library is never unmapped, so the function outlives the plugin. */
  holder->response_free (&holder->response);
  if (rb_thread.spare_raw_holder == NULL)
    {
      rb_thread.spare_raw_holder = holder;
      rb_thread_arm_exit_hook ();
    }
  else
    g_free (holder);
}

static inline G_ALWAYS_INLINE GBytes *
rb_plugin_invoke_raw_direct (RbPlugin  *self,
                             guint32    message_id,
                             GBytes    *request,
                             GError   **error)
{
  RbInflightSlot *ticket;
  RbLogSink *previous;
  RbRawHolder *holder;
  GError *local_error = NULL;
  const void *data;
  gsize size;

  if (!rb_plugin_admit (self, &ticket, error))
    return NULL;

  data = g_bytes_get_data (request, &size);
  holder = rb_raw_holder_new (self->abi);

  previous = rb_library_enter_call (&self->sink);
  holder->response = self->abi->plugin_call_raw (self->handle, message_id, data, size);
  rb_library_leave_call (previous);

  if (G_UNLIKELY (!rb_envelope_check_buffer (holder->response.data, holder->response.len,
                                             holder->response.capacity,
                                             holder->response.error_code == 0 ? "raw response"
                                                                              : "raw error response",
                                             &local_error)))
    ;  /* refused: freed below, never read */
  else if (G_LIKELY (holder->response.error_code == 0))
    {
      rb_plugin_release (self, ticket);
      /* Zero-copy: the plugin's memory backs the GBytes and goes back to
       * the plugin when the last reference drops. The library is never
       * unmapped, so that may happen after the plugin shut down. */
      if (holder->response.data == NULL || holder->response.len == 0)
        {
          rb_raw_holder_free (holder);
          return g_bytes_new (NULL, 0);
        }
      return g_bytes_new_with_free_func (holder->response.data, holder->response.len,
                                         rb_raw_holder_free, holder);
    }

  else
    {
      const char *text = holder->response.data;
      gsize len = holder->response.len;

      /* The error text is NUL-terminated and len counts the NUL; trust
       * neither (len is within the allocation, checked above). */
      if (text != NULL && len > 0)
        len = strnlen (text, len);
      rb_envelope_set_error (holder->response.error_code, (const guint8 *) text,
                             text != NULL ? len : 0, &local_error);
    }
  rb_raw_holder_free (holder);
  rb_plugin_check_failed (self, local_error);
  g_propagate_error (error, local_error);
  rb_plugin_release (self, ticket);
  return NULL;
}

/* The entry of every JSON call: the in-process path, or another back end. */
static inline G_ALWAYS_INLINE char *
rb_plugin_invoke (RbPlugin      *self,
                  const char    *type_tag,
                  const char    *request,
                  gsize          request_len,
                  GError       **error)
{
  if (G_UNLIKELY (self->backend != RB_BACKEND_DIRECT))
    return rb_plugin_backend_call (self, type_tag, request, request_len, error);
  return rb_plugin_invoke_direct (self, type_tag, request, request_len, error);
}

static inline G_ALWAYS_INLINE GBytes *
rb_plugin_invoke_raw (RbPlugin  *self,
                      guint32    message_id,
                      GBytes    *request,
                      GError   **error)
{
  if (G_UNLIKELY (self->backend != RB_BACKEND_DIRECT))
    return rb_plugin_backend_call_raw (self, message_id, request, error);
  return rb_plugin_invoke_raw_direct (self, message_id, request, error);
}

char *
rb_plugin_invoke_direct_json (RbPlugin    *self,
                              const char  *type_tag,
                              const char  *request,
                              gsize        request_len,
                              GError     **error)
{
  return rb_plugin_invoke_direct (self, type_tag, request, request_len, error);
}

GBytes *
rb_plugin_invoke_direct_raw (RbPlugin  *self,
                             guint32    message_id,
                             GBytes    *request,
                             GError   **error)
{
  return rb_plugin_invoke_raw_direct (self, message_id, request, error);
}

gboolean
rb_plugin_check_raw (RbPlugin  *self,
                     GError   **error)
{
  /* A plugin that never started fails admission instead; an isolated
   * one's helper answers the same error. */
  if (G_LIKELY (self->abi == NULL || self->abi->plugin_call_raw != NULL))
    return TRUE;
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
               "Plugin “%s” does not support the binary transport "
               "(plugin_call_raw/rb_response_free are not exported)", self->path);
  return FALSE;
}

static G_GNUC_NO_INLINE gboolean
rb_plugin_check_type_tag_slow (RbPlugin    *self,
                               const char  *type_tag,
                               GError     **error)
{
  /* As upstream's FFI does: an empty tag goes to the plugin, whose
   * dispatcher answers it (normally 6, unknown message type); a tag that
   * is not UTF-8 is refused with 4 (the plugin would answer the same). */
  if (*type_tag == '\0')
    return TRUE;
  if (!g_utf8_validate (type_tag, -1, NULL))
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                 "Invalid type tag for plugin “%s”: it is not valid UTF-8", self->path);
  else
    return TRUE;
  return FALSE;
}

static inline G_ALWAYS_INLINE gboolean
rb_plugin_check_type_tag (RbPlugin    *self,
                          const char  *type_tag,
                          GError     **error)
{
  const guchar *p = (const guchar *) type_tag;
  guchar seen = 0;

  /* Full UTF-8 validation only when a high byte shows up. */
  for (; *p != '\0'; p++)
    seen |= *p;
  if (G_LIKELY (p != (const guchar *) type_tag && !(seen & 0x80)))
    return TRUE;
  return rb_plugin_check_type_tag_slow (self, type_tag, error);
}

/* Out-of-line copies for the async path (rb-plugin-async.c). */
gboolean
rb_plugin_check_type_tag_ext (RbPlugin    *self,
                              const char  *type_tag,
                              GError     **error)
{
  return rb_plugin_check_type_tag (self, type_tag, error);
}

char *
rb_plugin_invoke_json_text (RbPlugin    *self,
                            const char  *type_tag,
                            const char  *request,
                            gsize        request_len,
                            GError     **error)
{
  return rb_plugin_invoke (self, type_tag, request, request_len, error);
}

GBytes *
rb_plugin_invoke_raw_bytes (RbPlugin  *self,
                            guint32    message_id,
                            GBytes    *request,
                            GError   **error)
{
  return rb_plugin_invoke_raw (self, message_id, request, error);
}

/**
 * rb_plugin_call:
 * @self: a #RbPlugin
 * @type_tag: the message type, e.g. `"echo"`
 * @request_json: (nullable): the request as JSON text; %NULL sends an empty request
 * @cancellable: (nullable): a #GCancellable, checked before the call
 * @error: return location for a #GError
 *
 * Calls the plugin's handler for @type_tag and waits for its answer. The
 * handler runs on the calling thread.
 *
 * Errors are in the %RB_PLUGIN_ERROR domain: the plugin's error code and
 * its `error_message` when the handler failed, %RB_PLUGIN_ERROR_INVALID_STATE
 * when the plugin is not active, %RB_PLUGIN_ERROR_PROTOCOL when the
 * response is malformed, %RB_PLUGIN_ERROR_CONFIG for a @type_tag that is
 * not UTF-8 (an empty one goes to the plugin, which normally answers
 * %RB_PLUGIN_ERROR_UNKNOWN_MESSAGE); %G_IO_ERROR_CANCELLED if @cancellable was
 * cancelled before the call.
 *
 * Returns: (transfer full): the response payload as JSON text (the
 *   envelope removed), or %NULL with @error set
 */
char *
rb_plugin_call (RbPlugin      *self,
                const char    *type_tag,
                const char    *request_json,
                GCancellable  *cancellable,
                GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (type_tag != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!rb_plugin_check_type_tag (self, type_tag, error))
    return NULL;

  return rb_plugin_invoke (self, type_tag, request_json,
                           request_json != NULL ? strlen (request_json) : 0, error);
}

char *
rb_plugin_request_from_node (JsonNode *request)
{
  /* Not json_to_string(): json-glib writes the double 1e-08 as
   * "1e-08.0", which is not JSON. */
  return request != NULL ? rb_json_to_string (request) : NULL;
}

JsonNode *
rb_plugin_payload_to_node (RbPlugin  *self,
                           char      *payload,
                           GError   **error)
{
  g_autofree char *owned = payload;
  g_autoptr(GError) local_error = NULL;
  JsonNode *node;

  if (owned == NULL)
    return NULL;
  node = json_from_string (owned, &local_error);
  if (node == NULL)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                   "Plugin “%s” returned a payload that is not JSON: %s",
                   self->path, local_error ? local_error->message : "empty payload");
      return NULL;
    }
  return node;
}

/**
 * rb_plugin_call_json:
 * @self: a #RbPlugin
 * @type_tag: the message type
 * @request: (nullable): the request; %NULL sends an empty request
 * @cancellable: (nullable): a #GCancellable, checked before the call
 * @error: return location for a #GError
 *
 * Like [method@RustBridge.Plugin.call], with the request and the payload
 * as JSON trees.
 *
 * Returns: (transfer full): the response payload, or %NULL with @error set
 */
JsonNode *
rb_plugin_call_json (RbPlugin      *self,
                     const char    *type_tag,
                     JsonNode      *request,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autofree char *request_json = NULL;

  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (type_tag != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  request_json = rb_plugin_request_from_node (request);
  return rb_plugin_payload_to_node (self, rb_plugin_call (self, type_tag, request_json, cancellable, error), error);
}

/**
 * rb_plugin_call_raw:
 * @self: a #RbPlugin
 * @message_id: the binary message id
 * @request: the request struct, laid out as the plugin's C header says
 * @cancellable: (nullable): a #GCancellable, checked before the call
 * @error: return location for a #GError
 *
 * Calls a binary (C struct) handler. @request is handed to the plugin
 * without copying, and the returned bytes are the plugin's own memory,
 * released to the plugin when the last reference drops (they stay valid
 * after the plugin shuts down).
 *
 * Fails with %RB_PLUGIN_ERROR_NOT_SUPPORTED if the plugin has no binary
 * transport (see [property@RustBridge.Plugin:has-binary-transport]).
 *
 * Returns: (transfer full): the response struct, or %NULL with @error set
 */
GBytes *
rb_plugin_call_raw (RbPlugin      *self,
                    guint32        message_id,
                    GBytes        *request,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!rb_plugin_check_raw (self, error))
    return NULL;

  return rb_plugin_invoke_raw (self, message_id, request, error);
}

