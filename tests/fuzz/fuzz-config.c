/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: RbPluginConfig from JSON (rb_plugin_config_new_from_json,
 * set_data_json, set_init_param_json). The input is the JSON text (made
 * NUL-terminated; an embedded NUL ends it, as it would for a C caller).
 *
 * Checks: no crash, leak or WARNING/CRITICAL; failures set an
 * RB_PLUGIN_ERROR; a parsed configuration survives to_json() and back
 * unchanged, and its copy serialises the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rustbridge-glib.h>

#include "fuzz-util.h"

static void
round_trip (RbPluginConfig *config)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json = rb_plugin_config_to_json (config);
  g_autofree char *again = NULL;
  g_autofree char *copied = NULL;
  g_autoptr(RbPluginConfig) reparsed = NULL;
  g_autoptr(RbPluginConfig) copy = rb_plugin_config_copy (config);

  reparsed = rb_plugin_config_new_from_json (json, &error);
  if (reparsed == NULL)
    {
      fprintf (stderr, "rb_plugin_config_to_json gave JSON that does not load back (%s):\n%s\n",
               error != NULL ? error->message : "no error", json);
      abort ();
    }
  again = rb_plugin_config_to_json (reparsed);
  copied = rb_plugin_config_to_json (copy);
  if (strcmp (json, again) != 0 || strcmp (json, copied) != 0)
    {
      fprintf (stderr, "configuration changed on a round trip:\n%s\n%s\n%s\n", json, again, copied);
      abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *json = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPluginConfig) config = NULL;
  g_autoptr(RbPluginConfig) empty = NULL;

  fuzz_setup ();
  config = rb_plugin_config_new_from_json (json, &error);
  if (config == NULL)
    fuzz_check_error (error, RB_PLUGIN_ERROR, "rb_plugin_config_new_from_json");
  else
    {
      g_autoptr(JsonNode) data_node = rb_plugin_config_get_data (config, "key");
      g_autoptr(JsonNode) param_node = rb_plugin_config_get_init_param (config, "key");

      if (data_node != NULL)
        g_free (json_to_string (data_node, FALSE));
      if (param_node != NULL)
        g_free (json_to_string (param_node, FALSE));
      (void) rb_plugin_config_get_log_level (config);
      (void) rb_plugin_config_get_worker_threads (config);
      (void) rb_plugin_config_get_max_concurrent_ops (config);
      (void) rb_plugin_config_get_shutdown_timeout_ms (config);
      (void) rb_plugin_config_get_max_queued_calls (config);
      round_trip (config);
    }
  g_clear_error (&error);

  /* The same text as a data value and an init parameter. */
  empty = rb_plugin_config_new ();
  if (!rb_plugin_config_set_data_json (empty, "key", json, &error))
    fuzz_check_error (error, RB_PLUGIN_ERROR, "rb_plugin_config_set_data_json");
  g_clear_error (&error);
  if (!rb_plugin_config_set_init_param_json (empty, "key", json, &error))
    fuzz_check_error (error, RB_PLUGIN_ERROR, "rb_plugin_config_set_init_param_json");
  g_clear_error (&error);
  round_trip (empty);
  return 0;
}
