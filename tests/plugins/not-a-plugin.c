/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A shared library that exports only part of the plugin ABI: loading it
 * must fail naming the first missing symbol (plugin_call).
 */
#include <stddef.h>
#include <stdint.h>

__attribute__ ((visibility ("default"))) void *
plugin_create (void)
{
  return NULL;
}

__attribute__ ((visibility ("default"))) void *
plugin_init (void *plugin, const uint8_t *json, size_t len, void *log_cb)
{
  (void) plugin; (void) json; (void) len; (void) log_cb;
  return NULL;
}
