/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-tool call: load a plugin (a bundle or a library) and call it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rbt-common.h"

#define MAX_REQUEST_SIZE (64 * 1024 * 1024)

static const char *const level_names[] = { "trace", "debug", "info", "warn", "error", "off" };

static gboolean
on_log (RbPlugin   *plugin,
        RbLogLevel  level,
        const char *target,
        const char *message,
        gpointer    user_data)
{
  g_autofree char *shown_target = rb_names_escape (target != NULL ? target : "", -1, 200);
  g_autofree char *shown = rb_names_escape (message != NULL ? message : "", -1, 4096);

  fprintf (stderr, "[%s %s] %s\n", (guint) level < G_N_ELEMENTS (level_names) ? level_names[level] : "?",
           shown_target, shown);
  return TRUE;  /* printed: not for GLib's log too */
}

static void
flush_logs (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
is_zip (const char *path)
{
  FILE *f = fopen (path, "rb");
  char magic[4] = { 0 };
  gboolean zip;

  if (f == NULL)
    return g_str_has_suffix (path, ".rbp");
  zip = fread (magic, 1, 4, f) == 4 && memcmp (magic, "PK\003\004", 4) == 0;
  fclose (f);
  return zip;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
print_stats (GArray *times)
{
  gint64 *t = (gint64 *) (void *) times->data;
  guint n = times->len;
  double sum = 0;

  g_array_sort (times, compare_gint64);
  for (guint i = 0; i < n; i++)
    sum += (double) t[i];
#define PCT(p) (t[MIN (n - 1, (guint) ((p) / 100.0 * n))])
  fprintf (stderr,
           "calls: %u  latency (µs): min %" G_GINT64_FORMAT "  p50 %" G_GINT64_FORMAT "  p90 %" G_GINT64_FORMAT
           "  p99 %" G_GINT64_FORMAT "  max %" G_GINT64_FORMAT "  mean %.1f\n",
           n, t[0], PCT (50), PCT (90), PCT (99), t[n - 1], sum / n);
#undef PCT
}

static gboolean
parse_hex (const char  *hex,
           GBytes     **out)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();

  for (const char *p = hex; *p;)
    {
      int hi, lo;
      guint8 b;

      if (g_ascii_isspace (*p) || *p == ':')
        {
          p++;
          continue;
        }
      hi = g_ascii_xdigit_value (p[0]);
      lo = p[1] != '\0' ? g_ascii_xdigit_value (p[1]) : -1;
      if (hi < 0 || lo < 0)
        return FALSE;
      b = (guint8) (hi << 4 | lo);
      g_byte_array_append (bytes, &b, 1);
      p += 2;
    }
  *out = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
  return TRUE;
}

int
rbt_call_main (int    argc,
               char **argv)
{
  g_autofree char *key_path = NULL;
  g_autofree char *keys_dir = NULL;
  g_autofree char *variant = NULL;
  g_autofree char *log_level = NULL;
  g_autofree char *hex = NULL;
  gint64 raw_id = -1;
  int repeat = 1;
  gboolean stats = FALSE, pretty = FALSE;
  GOptionEntry entries[] = {
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path, "Trust this minisign public key (bundles)", "KEY.pub" },
    { "trusted-keys-dir", 0, 0, G_OPTION_ARG_FILENAME, &keys_dir, "Trust the matching key in DIR (bundles)",
      "DIR" },
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant, "Load this variant (bundles)", "VARIANT" },
    { "raw", 0, 0, G_OPTION_ARG_INT64, &raw_id, "Make a raw (binary) call of message ID", "ID" },
    { "hex", 0, 0, G_OPTION_ARG_STRING, &hex, "The raw request, in hex", "HEX" },
    { "log-level", 0, 0, G_OPTION_ARG_STRING, &log_level,
      "The plugin's log level: trace, debug, info, warn, error, off", "LEVEL" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Make the call N times", "N" },
    { "stats", 0, 0, G_OPTION_ARG_NONE, &stats, "Print latency percentiles to the standard error", NULL },
    { "pretty", 0, 0, G_OPTION_ARG_NONE, &pretty, "Indent the JSON reply", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GBytes) raw_request = NULL;
  g_autofree char *request = NULL;
  g_autofree char *reply = NULL;
  g_autoptr(GBytes) raw_reply = NULL;
  const char *target, *tag = NULL;
  int status;

  if (!rbt_parse_options ("call", "BUNDLE|LIBRARY TAG [JSON|-]",
                          "Loads a plugin from a bundle (verified: see --key) or a library file, calls TAG\n"
                          "with the JSON request (from the standard input with “-”, “{}” when absent) and\n"
                          "prints the reply's payload; plugin logs go to the standard error. With --raw,\n"
                          "makes a binary call of message ID with the --hex request and prints the reply in hex.\n"
                          "The exit status tells the error code (see rustbridge-tool(1)).",
                          entries, &argc, &argv, &status))
    return status;
  if (argc < 2)
    return rbt_usage_error ("call", "expected a BUNDLE or a LIBRARY");
  target = argv[1];
  if (raw_id >= 0)
    {
      if (raw_id > G_MAXUINT32)
        return rbt_usage_error ("call", "--raw ID must be below 2^32");
      if (argc > 2)
        return rbt_usage_error ("call", "a raw call takes no TAG or JSON");
      if (!parse_hex (hex != NULL ? hex : "", &raw_request))
        return rbt_usage_error ("call", "--hex is not pairs of hex digits");
    }
  else
    {
      if (hex != NULL)
        return rbt_usage_error ("call", "--hex goes with --raw ID");
      if (argc < 3 || argc > 4)
        return rbt_usage_error ("call", "expected BUNDLE|LIBRARY TAG [JSON|-]");
      tag = argv[2];
      if (argc == 4 && strcmp (argv[3], "-") == 0)
        {
          GString *in = g_string_new (NULL);
          char buf[65536];
          ssize_t n;
          while ((n = read (STDIN_FILENO, buf, sizeof buf)) > 0 && in->len <= MAX_REQUEST_SIZE)
            g_string_append_len (in, buf, n);
          if (in->len > MAX_REQUEST_SIZE)
            {
              g_string_free (in, TRUE);
              return rbt_usage_error ("call", "the request is larger than %d bytes", MAX_REQUEST_SIZE);
            }
          request = g_string_free (in, FALSE);
        }
      else
        request = g_strdup (argc == 4 ? argv[3] : "{}");
    }
  if (repeat < 1)
    return rbt_usage_error ("call", "--repeat N must be at least 1");
  if (log_level != NULL)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (level_names); i++)
        if (g_ascii_strcasecmp (log_level, level_names[i]) == 0)
          {
            rb_plugin_config_set_log_level (config, (RbLogLevel) i);
            found = TRUE;
          }
      if (!found)
        return rbt_usage_error ("call", "unknown --log-level “%s”", log_level);
    }

  if (is_zip (target))
    {
      g_auto(RbtBundle) b = RBT_BUNDLE_INIT;
      g_autofree char *key_text = NULL;
      g_autofree char *source = NULL;
      RbMinisignKey key;

      if (!rbt_bundle_open (&b, target, &error))
        return rbt_report_error ("call", error);
      if (key_path != NULL && keys_dir != NULL)
        return rbt_usage_error ("call", "give --key or --trusted-keys-dir, not both");
      if (key_path != NULL)
        {
          if (!rbt_resolve_key (&b, key_path, NULL, &key, &key_text, &source, &error))
            return rbt_report_error ("call", error);
          rb_bundle_set_public_key (b.bundle, key_text);
        }
      /* The library picks the key by id there, then in the user's and the
       * system's trusted-keys directories, as an application's would. */
      rb_bundle_set_trusted_keys_dir (b.bundle, keys_dir);
      rb_bundle_set_verify_mode (b.bundle, RB_VERIFY_MODE_STRICT);
      plugin = rb_bundle_load_plugin (b.bundle, variant, config, NULL, &error);
    }
  else
    {
      if (key_path != NULL || keys_dir != NULL || variant != NULL)
        return rbt_usage_error ("call", "--key, --trusted-keys-dir and --variant are for bundles");
      plugin = rb_plugin_new (target, config, NULL, &error);
    }
  if (plugin == NULL)
    return rbt_report_error ("call", error);
  g_signal_connect (plugin, "log", G_CALLBACK (on_log), NULL);
  flush_logs ();

  for (int i = 0; i < repeat; i++)
    {
      gint64 start = g_get_monotonic_time ();
      gint64 elapsed;

      g_clear_pointer (&reply, g_free);
      g_clear_pointer (&raw_reply, g_bytes_unref);
      if (raw_request != NULL)
        raw_reply = rb_plugin_call_raw (plugin, (guint32) raw_id, raw_request, NULL, &error);
      else
        reply = rb_plugin_call (plugin, tag, request, NULL, &error);
      elapsed = g_get_monotonic_time () - start;
      g_array_append_val (times, elapsed);
      flush_logs ();
      if (error != NULL)
        {
          status = rbt_report_error ("call", error);
          rb_plugin_shutdown (plugin, NULL, NULL);
          flush_logs ();
          return status;
        }
    }

  if (raw_reply != NULL)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (raw_reply, &size);
      for (gsize i = 0; i < size; i++)
        printf ("%02x", data[i]);
      printf ("\n");
    }
  else if (pretty)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      if (json_parser_load_from_data (parser, reply, -1, NULL) && json_parser_get_root (parser) != NULL)
        {
          g_autofree char *text = rbt_json_pretty (json_parser_get_root (parser));
          printf ("%s\n", text);
        }
      else
        printf ("%s\n", reply);
    }
  else
    printf ("%s\n", reply);
  fflush (stdout);
  if (stats)
    print_stats (times);

  if (!rb_plugin_shutdown (plugin, NULL, &error))
    {
      flush_logs ();
      return rbt_report_error ("call", error);
    }
  flush_logs ();
  return RBT_EXIT_OK;
}
