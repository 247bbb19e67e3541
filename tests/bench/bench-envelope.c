/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What reading a JSON reply costs right after a real plugin_call(): the
 * plugin's buffer is as fresh as it will ever be for rb_plugin_call(), so
 * this measures the envelope reader where it runs (doc/performance.md).
 * Prints medians of interleaved batches, one run.
 *
 *   bench-envelope PLUGIN.so
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmodule.h>

#include "rb-abi-private.h"
#include "rb-envelope-private.h"

#define ROUNDS 31
#define BATCH 5000

typedef enum {
  BARE,           /* plugin_call + plugin_free_buffer */
  ENVELOPE,       /* + rb_envelope_read and free of the payload */
  COPY_ONLY,      /* + malloc and copy of the payload, and its free */
  N_MODES
} Mode;

static const char *mode_names[N_MODES] = {
  "bare plugin_call + plugin_free_buffer",
  "+ rb_envelope_read (validate + copy) + free",
  "+ copy of the payload only + free",
};

static RbAbi abi;
static void *handle;
static const char request[] = "{\"message\":\"Hello\"}";

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static double
run (Mode mode)
{
  gint64 start = now_ns ();
  volatile gsize sink = 0;

  for (guint i = 0; i < BATCH; i++)
    {
      RbFfiBuffer buffer = abi.plugin_call (handle, "echo", (const uint8_t *) request, sizeof request - 1);
      char *payload = NULL;

      if (buffer.error_code != 0 || buffer.len < 32)
        g_error ("echo failed");
      if (mode == ENVELOPE)
        payload = rb_envelope_read (0, buffer.data, buffer.len, NULL);
      else if (mode == COPY_ONLY)
        {
          /* What the reader copies: the envelope minus its 30-byte
           * prefix and the closing brace. */
          gsize len = buffer.len - 31;

          payload = malloc (len + 1);
          memcpy (payload, buffer.data + 30, len);
          payload[len] = '\0';
        }
      if (payload != NULL)
        sink += (guchar) payload[0];
      free (payload);
      abi.plugin_free_buffer (&buffer);
    }
  return (double) (now_ns () - start) / BATCH;
}

static int
cmp_double (gconstpointer a,
            gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int   argc,
      char *argv[])
{
  static const char config[] = "{\"log_level\":\"off\"}";
  double times[N_MODES][ROUNDS];
  GModule *module;

  if (argc < 2)
    {
      g_printerr ("usage: %s PLUGIN.so\n", argv[0]);
      return 2;
    }
  module = g_module_open (argv[1], G_MODULE_BIND_LOCAL);
  if (module == NULL)
    g_error ("cannot open %s: %s", argv[1], g_module_error ());
#define SYM(name) if (!g_module_symbol (module, #name, (gpointer *) &abi.name)) g_error ("no " #name)
  SYM (plugin_create);
  SYM (plugin_init);
  SYM (plugin_call);
  SYM (plugin_free_buffer);
  SYM (plugin_shutdown);
#undef SYM
  handle = abi.plugin_init (abi.plugin_create (), (const uint8_t *) config, sizeof config - 1, NULL);
  if (handle == NULL)
    g_error ("plugin_init failed");

  for (int m = 0; m < N_MODES; m++)
    run (m);   /* warm up */
  for (int r = 0; r < ROUNDS; r++)
    for (int m = 0; m < N_MODES; m++)
      times[m][r] = run (m);

  g_print ("plugin: %s, echo %s\n", argv[1], request);
  for (int m = 0; m < N_MODES; m++)
    {
      qsort (times[m], ROUNDS, sizeof (double), cmp_double);
      if (m == BARE)
        g_print ("%-48s %7.1f ns\n", mode_names[m], times[m][ROUNDS / 2]);
      else
        g_print ("%-48s %7.1f ns (+%.1f)\n", mode_names[m], times[m][ROUNDS / 2],
                 times[m][ROUNDS / 2] - times[BARE][ROUNDS / 2]);
    }
  g_print ("validation in place, by difference: %.1f ns\n",
           times[ENVELOPE][ROUNDS / 2] - times[COPY_ONLY][ROUNDS / 2]);

  abi.plugin_shutdown (handle);
  return 0;
}
