/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Helpers of the stress suite: iteration budgets, the process's resident
 * memory and open files (from /proc/self), figures for the TAP log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress-util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RB_STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RB_STRESS_SANITIZED 1
#endif
#endif

gboolean
rb_stress_under_valgrind (void)
{
  return g_getenv ("RB_TEST_UNDER_VALGRIND") != NULL;
}

/* Whether resident memory measures the program: not under valgrind, nor
 * in an ASan/TSan build (shadow memory, quarantine of freed blocks). */
gboolean
rb_stress_rss_is_meaningful (void)
{
#ifdef RB_STRESS_SANITIZED
  return FALSE;
#else
  return !rb_stress_under_valgrind ();
#endif
}

/*
 * The iteration budget of a loop: @n normally, @under_valgrind under the
 * memcheck setup; both multiplied by $RB_STRESS_SCALE (a positive number,
 * default 1: e.g. RB_STRESS_SCALE=20 for a long run). Never below 1.
 */
guint
rb_stress_count (guint n,
                 guint under_valgrind)
{
  const char *scale_env = g_getenv ("RB_STRESS_SCALE");
  double scale = 1.0;
  double count;

  if (scale_env != NULL && *scale_env != '\0')
    {
      char *end = NULL;

      scale = g_ascii_strtod (scale_env, &end);
      if (end == scale_env || *end != '\0' || !(scale > 0.0))
        g_error ("RB_STRESS_SCALE must be a positive number, not “%s”", scale_env);
    }
  count = (rb_stress_under_valgrind () ? under_valgrind : n) * scale;
  return (guint) CLAMP (count, 1.0, (double) G_MAXINT32);
}

static gsize
status_kib (const char *field)
{
  g_autofree char *status = NULL;
  gsize field_len = strlen (field);
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  for (line = status; line != NULL && *line != '\0'; line = strchr (line, '\n'))
    {
      if (*line == '\n')
        line++;
      if (strncmp (line, field, field_len) == 0 && line[field_len] == ':')
        return (gsize) g_ascii_strtoull (line + field_len + 1, NULL, 10);
    }
  return 0;
}

/* VmRSS: resident memory now, in KiB (0 if /proc is not there). */
gsize
rb_stress_rss_kib (void)
{
  return status_kib ("VmRSS");
}

/* VmHWM: the peak resident memory since the last rb_stress_reset_peak(). */
gsize
rb_stress_peak_rss_kib (void)
{
  return status_kib ("VmHWM");
}

/* Resets VmHWM to the current RSS (Linux ≥ 4.0); FALSE when not possible. */
gboolean
rb_stress_reset_peak (void)
{
  FILE *file = fopen ("/proc/self/clear_refs", "w");
  gboolean ok;

  if (file == NULL)
    return FALSE;
  ok = fputs ("5", file) >= 0;
  return fclose (file) == 0 && ok;
}

/* Open file descriptors of the process. */
guint
rb_stress_fd_count (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;  /* the directory's own fd */
}

/* A pseudo-random number below @bound from GTest's seeded generator
 * (--seed reproduces a run). */
guint
rb_stress_random (guint bound)
{
  return (guint) g_test_rand_int_range (0, (gint32) bound);
}

/* Figures go to the TAP log as comments. */
void
rb_stress_report (const char *what,
                  gint64      start_us,
                  guint       count)
{
  double secs = (g_get_monotonic_time () - start_us) / (double) G_USEC_PER_SEC;

  g_test_message ("%s: %u in %.2f s (%.0f/s), RSS %zu KiB, %u fds",
                  what, count, secs, secs > 0 ? count / secs : 0.0,
                  rb_stress_rss_kib (), rb_stress_fd_count ());
}

/* Objects handed to rb_stress_track() that are not disposed yet. */
static gint tracked_alive;

static void
tracked_gone (gpointer  data,
              GObject  *where_the_object_was)
{
  g_atomic_int_add (&tracked_alive, -1);
}

/* Counts @object until its last reference goes (on any thread). */
gpointer
rb_stress_track (gpointer object)
{
  g_atomic_int_inc (&tracked_alive);
  g_object_weak_ref (object, tracked_gone, NULL);
  return object;
}

guint
rb_stress_alive (void)
{
  return (guint) g_atomic_int_get (&tracked_alive);
}

/* Waits, iterating the thread-default context, until every tracked
 * object is gone or @timeout_ms passed; returns how many are left. */
guint
rb_stress_await_none_alive (guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (rb_stress_alive () > 0 && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
  return rb_stress_alive ();
}
