/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rb-test-util.h"

#define N_THREADS 8

typedef struct {
  GQuark plugin;
  GQuark bundle;
} Domains;

static gpointer
ask_domains (gpointer data)
{
  Domains *domains = data;

  domains->plugin = RB_PLUGIN_ERROR;
  domains->bundle = RB_BUNDLE_ERROR;
  return NULL;
}

/* Several threads ask for the domains first, at once, as pool threads do
 * when a plugin's calls fail: every one gets the same quark, and under
 * TSan (build-aux/run-tsan.sh) the first use is not a data race. This
 * must be the first test of the program (nothing before it may ask). */
static void
test_domains_first_from_threads (void)
{
  Domains domains[N_THREADS] = { 0 };
  GThread *threads[N_THREADS];

  for (guint i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("domains", ask_domains, &domains[i]);
  for (guint i = 0; i < N_THREADS; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpstr (g_quark_to_string (domains[i].plugin), ==, "rb-plugin-error-quark");
      g_assert_cmpstr (g_quark_to_string (domains[i].bundle), ==, "rb-bundle-error-quark");
    }
  g_assert_cmpuint (RB_PLUGIN_ERROR, ==, domains[0].plugin);
  g_assert_cmpuint (RB_BUNDLE_ERROR, ==, domains[0].bundle);
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  g_test_add_func ("/error/domains-first-from-threads", test_domains_first_from_threads);

  return g_test_run ();
}
