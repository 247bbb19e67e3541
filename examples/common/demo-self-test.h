/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the GTK examples (examples/gtk, examples/registry) share for their
 * --self-test under Xvfb: a screenshot of a window, and a deadline after
 * which the test fails. A program of your own needs none of it.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Writes @widget (shown and drawn) to @path as PNG; FALSE if it cannot. */
gboolean demo_save_screenshot (GtkWidget  *widget,
                               const char *path);

/* A self-test that has not finished after its seconds fails: the deadline
 * says so, sets *failed and quits the application. */
typedef struct {
  GApplication *app;
  gboolean     *failed;
  guint         source_id;
} DemoDeadline;

void     demo_deadline_start   (DemoDeadline *deadline,
                                GApplication *app,
                                guint         seconds,
                                gboolean     *failed);
/* Removes the deadline if it has not run yet. */
void     demo_deadline_stop    (DemoDeadline *deadline);

G_END_DECLS
