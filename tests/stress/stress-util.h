/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "rb-test-util.h"

G_BEGIN_DECLS

guint    rb_stress_count       (guint        n,
                                guint        under_valgrind);
gboolean rb_stress_under_valgrind (void);
gboolean rb_stress_rss_is_meaningful (void);
gsize    rb_stress_rss_kib     (void);
gsize    rb_stress_peak_rss_kib (void);
gboolean rb_stress_reset_peak  (void);
guint    rb_stress_fd_count    (void);
guint    rb_stress_random      (guint        bound);
void     rb_stress_report      (const char  *what,
                                gint64       start_us,
                                guint        count);
gpointer rb_stress_track       (gpointer     object);
guint    rb_stress_alive       (void);
guint    rb_stress_await_none_alive (guint   timeout_ms);

G_END_DECLS
