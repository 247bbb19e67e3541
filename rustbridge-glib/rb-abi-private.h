/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rustbridge plugin C ABI (host side), as described in doc/plugin-abi.md.
 * Never installed: the public API does not expose native plugin types.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* Returned by plugin_call. */
typedef struct {
  uint8_t  *data;       /* response bytes, not NUL-terminated */
  size_t    len;
  size_t    capacity;
  uint32_t  error_code; /* 0 = success */
} RbFfiBuffer;

/* Returned by plugin_call_raw. */
typedef struct {
  uint32_t  error_code; /* 0 = success */
  uint32_t  len;        /* response struct size, or error text incl. NUL */
  uint32_t  capacity;
  void     *data;
} RbResponse;

G_STATIC_ASSERT (sizeof (RbFfiBuffer) == 32);
G_STATIC_ASSERT (sizeof (RbResponse) == 24);

typedef void (*RbLogCallback) (uint8_t        level,
                               const char    *target,
                               const uint8_t *message,
                               size_t         message_len);

typedef void       *(*RbPluginCreateFunc)       (void);
typedef void       *(*RbPluginCreateWithConfigFunc) (const uint8_t *config_json,
                                                     size_t         config_len);
typedef void       *(*RbPluginInitFunc)         (void          *plugin,
                                                 const uint8_t *config_json,
                                                 size_t         config_len,
                                                 RbLogCallback  log_cb);
typedef RbFfiBuffer (*RbPluginCallFunc)         (void          *handle,
                                                 const char    *type_tag,
                                                 const uint8_t *request,
                                                 size_t         request_len);
typedef void        (*RbPluginFreeBufferFunc)   (RbFfiBuffer   *buf);
typedef bool        (*RbPluginShutdownFunc)     (void          *handle);
typedef uint8_t     (*RbPluginGetStateFunc)     (void          *handle);
typedef void        (*RbPluginSetLogLevelFunc)  (void          *handle,
                                                 uint8_t        level);
typedef uint64_t    (*RbPluginGetRejectedFunc)  (void          *handle);
typedef RbResponse  (*RbPluginCallRawFunc)      (void          *handle,
                                                 uint32_t       message_id,
                                                 const void    *request,
                                                 size_t         request_size);
typedef void        (*RbResponseFreeFunc)       (RbResponse    *resp);

typedef struct {
  RbPluginCreateFunc       plugin_create;
  RbPluginInitFunc         plugin_init;
  RbPluginCallFunc         plugin_call;
  RbPluginFreeBufferFunc   plugin_free_buffer;
  RbPluginShutdownFunc     plugin_shutdown;
  RbPluginGetStateFunc     plugin_get_state;
  RbPluginSetLogLevelFunc  plugin_set_log_level;
  RbPluginGetRejectedFunc  plugin_get_rejected_count;
  /* Optional: exported by plugins whose entry point names a factory
   * (the only way the factory sees the config's `data`). */
  RbPluginCreateWithConfigFunc plugin_create_with_config;
  /* Optional: both or neither (binary transport). */
  RbPluginCallRawFunc      plugin_call_raw;
  RbResponseFreeFunc       rb_response_free;
} RbAbi;

G_END_DECLS
