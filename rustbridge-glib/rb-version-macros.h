/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(RUSTBRIDGE_GLIB_INSIDE) && !defined(RUSTBRIDGE_GLIB_COMPILATION)
#error "Only <rustbridge-glib.h> can be included directly."
#endif

#include <glib.h>

#include "rb-version.h"

#ifndef _RB_EXTERN
# define _RB_EXTERN __attribute__((visibility("default"))) extern
#endif

#define RB_VERSION_1_0 (RB_ENCODE_VERSION (1, 0))

/* Deprecation helpers (not introspectable). */
#ifndef __GI_SCANNER__
#ifdef RB_DISABLE_DEPRECATION_WARNINGS
# define RB_DEPRECATED _RB_EXTERN
# define RB_DEPRECATED_FOR(f) _RB_EXTERN
#else
# define RB_DEPRECATED G_DEPRECATED _RB_EXTERN
# define RB_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _RB_EXTERN
#endif
#endif

/* Every public symbol carries an availability macro; this is also what
 * exports it, since the library is built with hidden visibility. */
#define RB_AVAILABLE_IN_ALL _RB_EXTERN
#define RB_AVAILABLE_IN_1_0 _RB_EXTERN
