/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

int   LLVMFuzzerTestOneInput  (const uint8_t  *data,
                               size_t          size);

/* Once per process: WARNING and CRITICAL become fatal (untrusted input
 * must never trigger them), and a private temporary directory is made
 * (removed at exit). */
void  fuzz_setup              (void);

/* Aborts unless @error is set, in @domain, with a non-empty UTF-8
 * message; @what names the call in the report. RB_FUZZ_VERBOSE=1 in the
 * environment prints every error checked. */
void  fuzz_check_error        (const GError   *error,
                               GQuark          domain,
                               const char     *what);

/* Replaces the file @name in the private directory with @data and returns
 * its path (owned by the callee, valid until the next call). */
const char *fuzz_write_file   (const char     *name,
                               const uint8_t  *data,
                               size_t          size);

/* Splits @data at each occurrence of FUZZ_SEPARATOR (at most @max parts;
 * the last part keeps any further separators). Returns the part count;
 * the parts point into @data. */
#define FUZZ_SEPARATOR "\0\0RB\0"
#define FUZZ_SEPARATOR_LEN 5

gsize fuzz_split              (const uint8_t  *data,
                               size_t          size,
                               const uint8_t **parts,
                               size_t         *lens,
                               gsize           max);

G_END_DECLS
