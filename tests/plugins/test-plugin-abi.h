/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin side of the C ABI (doc/plugin-abi.md) as the test plugins
 * written in C see it: they are built like third-party plugins, against the
 * ABI alone, never against the library's headers.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__ ((visibility ("default")))

typedef struct {
  uint8_t  *data;
  size_t    len;
  size_t    capacity;
  uint32_t  error_code;
} RbFfiBuffer;

typedef struct {
  uint32_t  error_code;
  uint32_t  len;
  uint32_t  capacity;
  void     *data;
} RbResponse;

typedef void (*RbLogCallback) (uint8_t level, const char *target, const uint8_t *msg, size_t len);
