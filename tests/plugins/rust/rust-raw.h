/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Binary (raw) message layouts of the Rust test plugin (rbtest-plugin),
 * for plugin_call_raw. They mirror the #[repr(C)] structs in src/lib.rs and
 * are identical in field order and sizes to the C fixture's
 * FixtureRawEchoRequest / FixtureRawEchoResponse.
 */
#pragma once

#include <stdint.h>

/* plugin_call_raw message id of the echo struct. */
#define RBTEST_RAW_MSG_ECHO 1

/* Request of message 1: 64 bytes. `version` must be 1 and the request size
 * exactly sizeof (RbTestRawEchoRequest), else error 5 (serialization). */
typedef struct {
  uint8_t  version;
  uint8_t  _pad[3];
  uint32_t value;
  char     text[56];   /* UTF-8, NUL-terminated unless all 56 bytes are used */
} RbTestRawEchoRequest;

/* Response of message 1: 68 bytes. */
typedef struct {
  uint8_t  version;          /* 1 */
  uint8_t  _pad[3];
  uint32_t value_times_two;  /* value * 2 (wrapping) */
  uint32_t text_len;         /* bytes of text before its first NUL (max 56) */
  char     text[56];         /* request text, zero-filled after text_len */
} RbTestRawEchoResponse;

_Static_assert (sizeof (RbTestRawEchoRequest) == 64, "RbTestRawEchoRequest is 64 bytes");
_Static_assert (sizeof (RbTestRawEchoResponse) == 68, "RbTestRawEchoResponse is 68 bytes");
