/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Checks build-aux/tsan-glib-locks.c (build-aux/run-tsan.sh runs it first,
 * built with -fsanitize=thread, the shim preloaded): each hand-off the shim
 * models is clean when the program orders its accesses through it, and
 * still reported when it does not.
 * Usage: tsan-shim-check CASE, where CASE is one of the names below; the
 * "-race" cases must exit with TSan's status.
 */
#include <gio/gio.h>

int shared;  /* not static: the compiler must keep every access */

static void
task_func (GTask        *task,
           gpointer      source,
           gpointer      data,
           GCancellable *cancellable)
{
  shared = 1;
  g_task_return_boolean (task, TRUE);
}

static void
task_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  *(gboolean *) data = TRUE;
}

static void
pool_func (gpointer data,
           gpointer user_data)
{
  shared++;
}

static gpointer
queue_thread (gpointer data)
{
  shared++;
  g_async_queue_push (data, GINT_TO_POINTER (1));
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  const char *what = argc > 1 ? argv[1] : "";

  if (g_str_has_prefix (what, "task"))
    {
      gboolean done = FALSE;
      GTask *task = g_task_new (NULL, NULL, task_done, &done);

      g_task_run_in_thread (task, task_func);
      g_object_unref (task);
      if (g_str_equal (what, "task-race"))
        shared = 2;
      while (!done)
        g_main_context_iteration (NULL, TRUE);
      shared = 3;  /* after the callback: ordered */
    }
  else if (g_str_has_prefix (what, "pool"))
    {
      GThreadPool *pool;

      shared = 1;  /* before the push: ordered */
      pool = g_thread_pool_new (pool_func, NULL, 1, FALSE, NULL);
      g_thread_pool_push (pool, GINT_TO_POINTER (1), NULL);
      if (g_str_equal (what, "pool-race"))
        shared = 2;
      g_thread_pool_free (pool, FALSE, TRUE);
    }
  else if (g_str_has_prefix (what, "queue"))
    {
      GAsyncQueue *queue = g_async_queue_new ();
      GThread *thread = g_thread_new ("queue", queue_thread, queue);

      if (g_str_equal (what, "queue-race"))
        shared = 2;
      g_async_queue_pop (queue);
      shared = 3;  /* after the pop: ordered */
      g_thread_join (thread);
      g_async_queue_unref (queue);
    }
  else
    {
      g_printerr ("unknown case “%s”\n", what);
      return 2;
    }
  return 0;
}
