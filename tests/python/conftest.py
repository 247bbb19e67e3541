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


ISOLATIONS = {'none': RustBridge.Isolation.NONE, 'process': RustBridge.Isolation.PROCESS}


def _isolation(request):
    """The isolation mode a test runs in: NONE unless the test (or its
    module) asks for both: ``isolation = pytest.fixture(params=sorted(ISOLATIONS))(_isolation)``
    in the module."""
    name = getattr(request, 'param', 'none')
    if name == 'process' and not os.environ.get('RUSTBRIDGE_HOST_PATH'):
        pytest.skip('RUSTBRIDGE_HOST_PATH unset: no helper to run the plugin in')
    return ISOLATIONS[name]


isolation = pytest.fixture(_isolation)


def config_for(isolation, **props):
    """A PluginConfig with @props in the @isolation mode, or None (the
    default configuration) when there is nothing to set."""
    if isolation == RustBridge.Isolation.NONE and not props:
        return None
    config = RustBridge.PluginConfig(**props)
    config.props.isolation = isolation
    return config


@pytest.fixture
def config(isolation):
    return config_for(isolation)


def helper_processes():
    """The pids of this process's children running the isolation helper."""
    helper = os.path.basename(os.environ.get('RUSTBRIDGE_HOST_PATH', 'rustbridge-glib-host'))
    pids = set()
    for task in os.listdir('/proc/self/task'):
        try:
            with open(f'/proc/self/task/{task}/children') as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:         # the thread has exited meanwhile
            pass
    found = set()
    for pid in pids:
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                argv0 = f.read().split(b'\0')[0].decode()
        except OSError:
            continue
        if os.path.basename(argv0) == helper:
            found.add(pid)
    return found


@pytest.fixture
def plugin(plugin_path, config, isolation):
    before = helper_processes()
    with RustBridge.Plugin.new(plugin_path, config, None) as p:
        assert p.get_config().props.isolation == isolation
        # PROCESS really runs it in a helper: a new child process.
        assert (len(helper_processes() - before) == 1) == (isolation == RustBridge.Isolation.PROCESS)
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
