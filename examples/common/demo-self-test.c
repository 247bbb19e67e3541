/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The --self-test helpers of the GTK examples: see demo-self-test.h.
 */
#include "demo-self-test.h"

gboolean
demo_save_screenshot (GtkWidget  *widget,
                      const char *path)
{
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    return FALSE;
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  return gdk_texture_save_to_png (texture, path);
}

static gboolean
deadline_cb (gpointer data)
{
  DemoDeadline *deadline = data;

  g_printerr ("self-test: timed out\n");
  *deadline->failed = TRUE;
  deadline->source_id = 0;
  g_application_quit (deadline->app);
  return G_SOURCE_REMOVE;
}

void
demo_deadline_start (DemoDeadline *deadline,
                     GApplication *app,
                     guint         seconds,
                     gboolean     *failed)
{
  deadline->app = app;
  deadline->failed = failed;
  deadline->source_id = g_timeout_add_seconds (seconds, deadline_cb, deadline);
}

void
demo_deadline_stop (DemoDeadline *deadline)
{
  g_clear_handle_id (&deadline->source_id, g_source_remove);
}
