#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The registry demo in Python: the plugins installed for an application,
listed by a Gtk.ListView whose model is the RustBridge.Registry itself,
each row with the plugin's name, version, description, availability (the
reason when it cannot be used) and a switch that enables it. The same
program as registry-demo.c; see there for how the switch works.

    registry-demo.py [--search-path DIR]... [--trusted-keys DIR]
                     [--self-test SCREENSHOT.png]
"""
import argparse
import sys

import gi
gi.require_version('Gtk', '4.0')
gi.require_version('Graphene', '1.0')
gi.require_version('RustBridge', '1.0')
from gi.repository import Gio, GLib, Graphene, Gtk, RustBridge  # noqa: E402

APP_ID = 'org.rustbridge.RegistryDemo'


class PluginRow(Gtk.Box):
    """One row: the labels and the switch, and the bundle it shows."""

    def __init__(self, registry):
        super().__init__(orientation=Gtk.Orientation.HORIZONTAL, spacing=12,
                         margin_start=12, margin_end=12, margin_top=8, margin_bottom=8)
        self.registry = registry
        self.bundle = None
        text = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2, hexpand=True)
        self.title = Gtk.Label(xalign=0, css_classes=['heading'])
        self.description = Gtk.Label(xalign=0, css_classes=['dim-label'])
        self.status = Gtk.Label(xalign=0, wrap=True, css_classes=['dim-label'])
        self.toggle = Gtk.Switch(valign=Gtk.Align.CENTER)
        self.state_set_id = self.toggle.connect('state-set', self.on_state_set)
        for label in (self.title, self.description, self.status):
            text.append(label)
        self.append(text)
        self.append(self.toggle)

    def bind(self, bundle):
        self.bundle = bundle
        self.title.set_text(f'{bundle.props.name} {bundle.props.version}')
        self.description.set_text(bundle.props.description or '')
        self.description.set_visible(bool(bundle.props.description))
        self.update()

    def update(self):
        """Shows what the registry says: available or why not, enabled, loaded."""
        name = self.bundle.props.name
        reason = self.bundle.get_unavailable_reason()
        enabled = name in self.registry.props.enabled_plugins
        loaded = name in self.registry.props.loaded_plugins
        # Another bundle of this name (a newer version) may be the one used.
        chosen = self.registry.lookup_bundle(name) == self.bundle
        if reason is not None:
            self.status.set_text(reason.message)
        elif not chosen:
            self.status.set_text('Another version of this plugin is used')
        else:
            self.status.set_text('Loaded' if loaded else 'Loading…' if enabled else 'Available')
        self.toggle.set_sensitive(reason is None and chosen)
        # Both without a state-set round trip: these follow the registry.
        # "active" only when it differs: setting it ends the switch's toggle
        # animation, which would drop a click still being animated.
        active = enabled and reason is None and chosen
        with self.toggle.handler_block(self.state_set_id):
            if self.toggle.get_active() != active:
                self.toggle.set_active(active)
            self.toggle.set_state(loaded and chosen)

    def on_state_set(self, toggle, on):
        # The user flipped the switch: edit enabled-plugins; the switch's
        # state follows loaded-plugins once the registry is done.
        name = self.bundle.props.name
        names = [n for n in self.registry.props.enabled_plugins if n != name]
        self.registry.props.enabled_plugins = names + [name] if on else names
        return True


class Demo:
    def __init__(self, args):
        self.registry = RustBridge.Registry.new(APP_ID)
        if args.trusted_keys:
            self.registry.props.trusted_keys_dir = args.trusted_keys
        for path in args.search_path:
            self.registry.add_search_path(path)
        # Bundles installed or removed while the window is open show at once.
        self.registry.props.watch = True
        self.rows = set()
        self.window = None
        self.summary = None
        self.pending_unloads = 0
        self.screenshot = args.self_test
        self.test = None
        self.failed = False
        self.timeout_id = 0
        for prop in ('enabled-plugins', 'loaded-plugins', 'n-items'):
            self.registry.connect(f'notify::{prop}', self.on_plugins_changed)
        self.registry.connect('load-failed', self.on_load_failed)
        self.app = Gtk.Application(application_id=APP_ID, flags=Gio.ApplicationFlags.NON_UNIQUE)
        self.app.connect('activate', self.on_activate)

    # ---- the list ----

    def on_activate(self, app):
        if self.window is not None:
            self.window.present()
            return
        factory = Gtk.SignalListItemFactory()
        factory.connect('setup', lambda f, item: item.set_child(PluginRow(self.registry)))
        factory.connect('bind', self.on_bind)
        factory.connect('unbind', self.on_unbind)
        # The registry is the list's model, as it is.
        view = Gtk.ListView(model=Gtk.NoSelection(model=self.registry), factory=factory,
                            show_separators=True, css_classes=['rich-list'])
        scrolled = Gtk.ScrolledWindow(child=view, vexpand=True,
                                      hscrollbar_policy=Gtk.PolicyType.NEVER)
        self.summary = Gtk.Label(label='Looking for plugins…', xalign=0, margin_start=12,
                                 margin_end=12, margin_top=8, margin_bottom=8)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        box.append(scrolled)
        box.append(Gtk.Separator())
        box.append(self.summary)
        self.window = Gtk.ApplicationWindow(application=app, title='Plugins (Python)',
                                            default_width=560, default_height=320, child=box)
        self.window.connect('close-request', self.on_close_request)
        self.window.present()
        # Metadata only, in a thread: the list fills when the scan is done.
        self.registry.rescan_async(None, self.on_scanned)

    def on_bind(self, factory, item):
        row = item.get_child()
        row.bind(item.get_item())
        self.rows.add(row)

    def on_unbind(self, factory, item):
        row = item.get_child()
        self.rows.discard(row)
        row.bundle = None

    def update_summary(self):
        loaded = ', '.join(self.registry.props.loaded_plugins) or 'none'
        n = self.registry.get_n_items()
        if self.summary is not None:
            self.summary.set_text(f'{n} bundle{"" if n == 1 else "s"} installed · loaded: {loaded}')

    def on_scanned(self, registry, result):
        try:
            registry.rescan_finish(result)
        except GLib.Error as error:
            if self.summary is not None:
                self.summary.set_text(error.message)
            self.failed = True
            return
        self.update_summary()
        if self.screenshot:
            self.test = SelfTest(self)
            self.test.step()

    def on_plugins_changed(self, registry, pspec):
        for row in self.rows:
            row.update()
        self.update_summary()
        if self.test is not None:
            self.test.step()

    def on_load_failed(self, registry, name, error):
        row = self.find_row(name)
        if row is not None:
            row.status.set_text(f'Could not load: {error.message}')
        if self.screenshot:
            print(f'self-test: {name}: {error.message}', file=sys.stderr)
            self.failed = True

    def find_row(self, name):
        bundle = self.registry.lookup_bundle(name)
        return next((row for row in self.rows if bundle is not None and row.bundle == bundle), None)

    # ---- closing: the loaded plugins stop in the background ----

    def on_close_request(self, window):
        self.window = self.summary = None
        # enabled-plugins stays: it is the user's choice for the next start.
        for name in self.registry.props.loaded_plugins:
            self.app.hold()
            self.pending_unloads += 1
            self.registry.unload_plugin_async(name, None, self.on_unloaded)
        return False

    def on_unloaded(self, registry, result):
        try:
            registry.unload_plugin_finish(result)
        except GLib.Error as error:
            print(f'Unloading a plugin: {error.message}', file=sys.stderr)
            self.failed = True
        self.pending_unloads -= 1
        self.app.release()

    def run(self):
        if self.screenshot:
            self.timeout_id = GLib.timeout_add_seconds(60, self.on_timeout)
            # An exception in a callback fails the test at once.
            sys.excepthook = self.on_exception
        status = self.app.run([sys.argv[0]])
        if self.screenshot:
            if self.timeout_id:
                GLib.source_remove(self.timeout_id)
            plugin = self.test.plugin if self.test else None
            if (self.pending_unloads or self.registry.props.loaded_plugins or
                    (plugin is not None and plugin.props.state != RustBridge.LifecycleState.STOPPED)):
                print('self-test: run() returned before the plugins were unloaded', file=sys.stderr)
                self.failed = True
            if self.test is None or not self.test.done:
                print('self-test: did not finish', file=sys.stderr)
                self.failed = True
            if not self.failed:
                shot = f'screenshot in {self.screenshot}' if self.test.shot else 'no screenshot'
                print(f'self-test passed: {self.test.name} turned on and off; {shot}')
        return status or (1 if self.failed else 0)

    def on_exception(self, kind, value, traceback):
        sys.__excepthook__(kind, value, traceback)
        self.failed = True
        self.app.quit()

    def on_timeout(self):
        print('self-test: timed out', file=sys.stderr)
        self.failed = True
        self.timeout_id = 0
        self.app.quit()
        return GLib.SOURCE_REMOVE


class SelfTest:
    """Turns the first available plugin on, calls it, takes the screenshot,
    turns it off and on again, closes the window. step() runs after the scan,
    on every change of enabled-plugins and loaded-plugins, on the call's reply
    and on timeouts, and goes as far as the application's state allows."""

    def __init__(self, demo):
        self.demo = demo
        self.stage = 'scanned'
        self.name = None
        self.plugin = None
        self.reply = None
        self.shot = False
        self.done = False

    def fail(self, message):
        print(f'self-test: {message}', file=sys.stderr)
        self.demo.failed = True
        if self.demo.window is not None:
            self.demo.window.close()

    def poll(self, ms):
        def again():
            self.step()
            return GLib.SOURCE_REMOVE
        GLib.timeout_add(ms, again)

    def row_shows(self, on, loaded):
        row = self.demo.find_row(self.name)
        expected = 'Loaded' if loaded else 'Loading…' if on else 'Available'
        return (row is not None and row.toggle.get_active() == on and
                row.toggle.get_state() == loaded and
                (self.name in self.demo.registry.props.loaded_plugins) == loaded and
                row.status.get_text() == expected)

    def flip(self):
        # What a user does: a click on the switch (its "activate" flips it).
        self.demo.find_row(self.name).toggle.activate()

    def check_rows(self):
        registry = self.demo.registry
        unavailable = 0
        for i in range(registry.get_n_items()):
            bundle = registry.get_item(i)
            row = next((r for r in self.demo.rows if r.bundle == bundle), None)
            reason = bundle.get_unavailable_reason()
            if row is None:
                return self.fail(f'no row shows {bundle.props.name}')
            if reason is not None:
                unavailable += 1
                if row.toggle.get_sensitive() or row.status.get_text() != reason.message:
                    return self.fail(f'the row of unavailable {bundle.props.name} '
                                     'does not say why or can be switched on')
            elif self.name is None:
                self.name = bundle.props.name
        if unavailable == 0 or self.name is None:
            return self.fail('the test needs an available and an unavailable bundle')
        if not self.row_shows(False, False):
            return self.fail(f'{self.name} is shown enabled before the test')
        return True

    def on_reply(self, plugin, result):
        try:
            self.reply = plugin.call_finish(result)
        except GLib.Error as error:
            return self.fail(f'echo failed: {error.message}')
        if '"from the list"' not in self.reply:
            return self.fail(f'unexpected reply {self.reply}')
        self.step()

    def step(self):
        demo = self.demo
        if demo.failed:
            return
        if self.stage == 'scanned':
            # Let the list view bind its rows first.
            if len(demo.rows) < demo.registry.get_n_items():
                return self.poll(50)
            if not self.check_rows():
                return
            self.stage = 'turned-on'
            self.flip()
        elif self.stage == 'turned-on':
            if not self.row_shows(True, True):
                return  # the load is under way: loaded-plugins will change
            self.plugin = demo.registry.get_plugin(self.name)
            if self.plugin is None or self.plugin.props.state != RustBridge.LifecycleState.ACTIVE:
                return self.fail(f'{self.name} is listed as loaded but is not active')
            self.stage = 'called'
            self.plugin.call_async('echo', '{"message":"from the list"}', None, self.on_reply)
        elif self.stage == 'called':
            if self.reply is None:
                return
            self.stage = 'shot'
            self.poll(300)  # let a frame or two be drawn first
        elif self.stage == 'shot':
            try:
                if not save_screenshot(demo.window, demo.screenshot):
                    return self.fail(f'could not write {demo.screenshot}')
                self.shot = True
            except TypeError as error:
                # PyGObject 3.42 (Debian 12) cannot pass a Gsk.RenderNode
                # ("No means to translate ... GskContainerNode").
                print(f'self-test: no screenshot with PyGObject {gi.__version__}: {error}')
            self.stage = 'turned-off'
            self.flip()
        elif self.stage == 'turned-off':
            if not self.row_shows(False, False):
                return
            # Taken out of loaded-plugins, it stops in a thread.
            if self.plugin.props.state != RustBridge.LifecycleState.STOPPED:
                return self.poll(50)
            self.plugin = None
            self.stage = 'turned-on-again'
            self.flip()
        elif self.stage == 'turned-on-again':
            if not self.row_shows(True, True):
                return
            # Closed with the plugin loaded: it is unloaded in the background
            # and run() returns once it has stopped.
            self.plugin = demo.registry.get_plugin(self.name)
            self.stage = 'closed'
            self.done = True
            demo.window.close()


def save_screenshot(widget, path):
    width, height = widget.get_width(), widget.get_height()
    snapshot = Gtk.Snapshot()
    Gtk.WidgetPaintable(widget=widget).snapshot(snapshot, width, height)
    node = snapshot.to_node()
    if node is None:
        return False
    rect = Graphene.Rect().init(0, 0, width, height)
    texture = widget.get_native().get_renderer().render_texture(node, rect)
    return texture.save_to_png(path)


def main():
    parser = argparse.ArgumentParser(description=f'The plugins of {APP_ID}')
    parser.add_argument('--search-path', action='append', default=[], metavar='DIR',
                        help='also look for plugin bundles in DIR')
    parser.add_argument('--trusted-keys', metavar='DIR', help='trust the publisher keys in DIR')
    parser.add_argument('--self-test', metavar='SCREENSHOT.png',
                        help='turn the first available plugin on and off, save a screenshot, quit')
    return Demo(parser.parse_args()).run()


if __name__ == '__main__':
    sys.exit(main())
