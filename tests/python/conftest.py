# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the PyGObject suite: every plugin test runs against the C
fixture plugin and, when it was built, the Rust test plugin."""
import ctypes
import os
import shutil

import gi
import pytest

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Json', '1.0')
gi.require_version('RustBridge', '1.0')
from gi.repository import GLib, RustBridge  # noqa: E402


# The structs of raw message 1, echo (tests/plugins/fixture-raw.h).
class RawEchoRequest(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint8), ('_pad', ctypes.c_uint8 * 3),
                ('value', ctypes.c_uint32), ('text', ctypes.c_char * 56)]


class RawEchoResponse(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint8), ('_pad', ctypes.c_uint8 * 3),
                ('value_times_two', ctypes.c_uint32), ('text_len', ctypes.c_uint32),
                ('text', ctypes.c_char * 56)]


def collect_results(out):
    """A call_async callback that appends the payload, or the GLib.Error,
    to *out*."""
    def done(plugin, result):
        try:
            out.append(plugin.call_finish(result))
        except GLib.Error as e:
            out.append(e)
    return done


def plugin_paths():
    paths = [('fixture', os.environ['RB_FIXTURE_PLUGIN'])]
    if os.environ.get('RB_RUST_PLUGIN'):
        paths.append(('rust', os.environ['RB_RUST_PLUGIN']))
    return paths


@pytest.fixture(params=plugin_paths(), ids=lambda p: p[0])
def plugin_path(request):
    return request.param[1]


@pytest.fixture
def plugin(plugin_path):
    with RustBridge.Plugin.new(plugin_path, None, None) as p:
        iterate_for(10)     # its start-up events (held for the creator) first
        yield p


@pytest.fixture
def fixture_path():
    return os.environ['RB_FIXTURE_PLUGIN']


@pytest.fixture(scope='module')
def publisher(tmp_path_factory):
    """A minisign key pair and a keys directory that trusts it, for the
    bundles of one test module: (directory, key, pub, keys)."""
    from test_bundle import make_key  # test_bundle imports this module

    d = tmp_path_factory.mktemp('store')
    key, pub = make_key(d, 'publisher')
    keys = d / 'keys'
    keys.mkdir()
    shutil.copy(pub, keys / 'publisher.pub')
    return d, key, pub, keys


@pytest.fixture(autouse=True)
def drain_main_context():
    """Delivers what a test left queued for the default main context (log
    messages, notifications) so it cannot leak into the next test."""
    yield
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass


def iterate_until(predicate, timeout=10.0):
    """Runs the default main context until predicate() is true."""
    context = GLib.MainContext.default()
    deadline = GLib.get_monotonic_time() + int(timeout * 1e6)
    while not predicate():
        if GLib.get_monotonic_time() > deadline:
            raise AssertionError('timed out waiting on the main context')
        # Wake up at least every 50 ms to look at the deadline.
        source = GLib.timeout_source_new(50)
        source.set_callback(lambda *a: False)
        source.attach(context)
        context.iteration(True)
        source.destroy()


def iterate_for(ms):
    done = []
    GLib.timeout_add(ms, lambda: done.append(True) and False)
    iterate_until(lambda: done)
