// SPDX-License-Identifier: LGPL-2.1-or-later
// Where gi-docgen's links to other namespaces' types go (read by the
// reference's main.js). Every namespace the GIR includes needs a line:
// tests/docs/check-links.py fails on a link to a namespace missing here.
baseURLs = [
  ['GLib', 'https://docs.gtk.org/glib/'],
  ['GModule', 'https://docs.gtk.org/gmodule/'],
  ['GObject', 'https://docs.gtk.org/gobject/'],
  ['Gio', 'https://docs.gtk.org/gio/'],
  ['Json', 'https://gnome.pages.gitlab.gnome.org/json-glib/'],
]
