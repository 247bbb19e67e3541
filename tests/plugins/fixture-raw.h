/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * C layouts of the raw (binary transport) messages of the test plugins.
 * Message 1 = echo, message 2 = sleep.
 */
#pragma once

#include <stdint.h>

typedef struct {
  uint8_t  version;        /* must be 1 */
  uint8_t  _pad[3];
  uint32_t value;
  char     text[56];
} FixtureRawEchoRequest;   /* 64 bytes */

typedef struct {
  uint8_t  version;
  uint8_t  _pad[3];
  uint32_t value_times_two;
  uint32_t text_len;
  char     text[56];
} FixtureRawEchoResponse;  /* 68 bytes */

typedef struct {
  uint8_t  version;        /* must be 1 */
  uint8_t  _pad[3];
  uint32_t duration_ms;
} FixtureRawSleep;         /* request and response */

_Static_assert (sizeof (FixtureRawEchoRequest) == 64, "raw echo request layout");
_Static_assert (sizeof (FixtureRawEchoResponse) == 68, "raw echo response layout");
