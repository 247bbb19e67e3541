/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <gmodule.h>

#include "rb-test-util.h"

const char *
rb_test_env_path (const char *variable)
{
  const char *path = g_getenv (variable);

  if (path == NULL || *path == '\0')
    return NULL;
  return path;
}

const char *
rb_test_plugin_path (RbTestPluginKind kind)
{
  return rb_test_env_path (kind == RB_TEST_RUST ? "RB_RUST_PLUGIN" : "RB_FIXTURE_PLUGIN");
}

gboolean
rb_test_skip_if_missing (RbTestPluginKind kind)
{
  if (rb_test_plugin_path (kind) != NULL)
    return FALSE;
  g_test_skip (kind == RB_TEST_RUST ? "Rust test plugin not built (no cargo)"
                                    : "RB_FIXTURE_PLUGIN not set");
  return TRUE;
}

/* The suites that run in every isolation mode (tests/isolation/meson.build)
 * take theirs from RB_TEST_ISOLATION: "none" (or unset), "process" or
 * "sandbox". */
RbIsolation
rb_test_isolation (void)
{
  const char *mode = g_getenv ("RB_TEST_ISOLATION");

  if (g_strcmp0 (mode, "process") == 0)
    return RB_ISOLATION_PROCESS;
  if (g_strcmp0 (mode, "sandbox") == 0)
    return RB_ISOLATION_SANDBOX;
  return RB_ISOLATION_NONE;
}

/* Skips a test that is about the in-process path itself (a library
 * mapped in this process, its counters, its handles). */
gboolean
rb_test_skip_if_isolated (void)
{
  if (rb_test_isolation () == RB_ISOLATION_NONE)
    return FALSE;
  g_test_skip ("about the in-process path (RB_TEST_ISOLATION is set)");
  return TRUE;
}

/* @config (or the defaults) with the isolation of this run: a new reference. */
RbPluginConfig *
rb_test_config (RbPluginConfig *config)
{
  RbPluginConfig *copy = config != NULL ? rb_plugin_config_copy (config) : rb_plugin_config_new ();

  rb_plugin_config_set_isolation (copy, rb_test_isolation ());
  return copy;
}

RbPlugin *
rb_test_load (RbTestPluginKind  kind,
              RbPluginConfig   *config)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPluginConfig) run_config = rb_test_config (config);
  RbPlugin *plugin;

  plugin = rb_plugin_new (rb_test_plugin_path (kind), run_config, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  return plugin;
}

/* No fatal-log exception: nothing a plugin does may log a warning or a
 * critical in the host, so every one of them fails the test. */
void
rb_test_init (int    *argc,
              char ***argv)
{
  g_test_init (argc, argv, NULL);
}

void
rb_test_add_both (const char    *name,
                  GTestDataFunc  func)
{
  g_autofree char *fixture = g_strdup_printf ("%s/fixture", name);
  g_autofree char *rust = g_strdup_printf ("%s/rust", name);

  g_test_add_data_func (fixture, GINT_TO_POINTER (RB_TEST_FIXTURE), func);
  g_test_add_data_func (rust, GINT_TO_POINTER (RB_TEST_RUST), func);
}

static gboolean
timeout_cb (gpointer data)
{
  gboolean *timed_out = data;
  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default context until *flag is set. */
void
rb_test_wait_until (gboolean *flag,
                    guint     timeout_ms)
{
  GMainContext *context = g_main_context_get_thread_default ();
  gboolean timed_out = FALSE;
  GSource *source = g_timeout_source_new (timeout_ms);

  g_source_set_callback (source, timeout_cb, &timed_out, NULL);
  g_source_attach (source, context);
  while (!*flag && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (source);
  g_source_unref (source);
  g_assert_false (timed_out);
}

void
rb_test_iterate_for (guint ms)
{
  gboolean done = FALSE;
  GMainContext *context = g_main_context_get_thread_default ();
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, timeout_cb, &done, NULL);
  g_source_attach (source, context);
  while (!done)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (source);
  g_source_unref (source);
}

/* Drops the caller's reference and checks that the object goes away:
 * at once, or after helper threads (e.g. the GTask thread of an async
 * shutdown) have dropped their last references, within two seconds. */
void
rb_test_assert_finalized (gpointer object)
{
  GObject *weak = object;
  gint64 deadline = g_get_monotonic_time () + 2 * G_TIME_SPAN_SECOND;

  g_object_add_weak_pointer (object, (gpointer *) &weak);
  g_object_unref (object);
  while (weak != NULL && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_null (weak);
}

/* Iteration counts shrink tenfold under valgrind (never below 1). */
guint
rb_test_scale (guint n)
{
  if (g_getenv ("RB_TEST_UNDER_VALGRIND") != NULL)
    return MAX (n / 10, 1);
  return n;
}

/* Reads one of a test plugin's counters (an exported `guint64 name (void)`). */
guint64
rb_test_plugin_counter (const char *path,
                        const char *symbol)
{
  GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
  guint64 (*func) (void) = NULL;

  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, symbol, (gpointer *) &func));
  g_module_make_resident (module);
  g_module_close (module);
  return func ();
}

static guint64
fixture_counter (const char *symbol)
{
  return rb_test_plugin_counter (rb_test_plugin_path (RB_TEST_FIXTURE), symbol);
}

/* The misbehaving plugin (tests/plugins/misbehave-plugin.c). */
const char *
rb_test_misbehave_path (void)
{
  const char *path = rb_test_env_path ("RB_MISBEHAVE_PLUGIN");

  g_assert_nonnull (path);
  return path;
}

guint64
rb_test_misbehave_counter (const char *symbol)
{
  return rb_test_plugin_counter (rb_test_misbehave_path (), symbol);
}

/* File descriptors open in this process. */
guint
rb_test_count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Buffers and raw responses the fixture plugin handed out and the host
 * has not freed yet: proves each is freed exactly once. */
guint64
rb_test_fixture_outstanding (void)
{
  return fixture_counter ("fixture_outstanding_buffers");
}

/* Calls the fixture plugin received with a handle it does not know (any
 * function): proves the host never touches a handle after shutdown. */
guint64
rb_test_fixture_stale_handle_uses (void)
{
  return fixture_counter ("fixture_stale_handle_uses");
}
