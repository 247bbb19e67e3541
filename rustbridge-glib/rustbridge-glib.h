/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define RUSTBRIDGE_GLIB_INSIDE

#include "rb-version.h"
#include "rb-version-macros.h"
#include "rb-types.h"
#include "rb-enum-types.h"
#include "rb-error.h"
#include "rb-plugin-config.h"
#include "rb-plugin.h"
#include "rb-bundle-message.h"
#include "rb-bundle.h"
#include "rb-registry.h"

#undef RUSTBRIDGE_GLIB_INSIDE
