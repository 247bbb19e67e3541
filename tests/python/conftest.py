# SPDX-License-Identifier: LGPL-2.1-or-later
import os

import gi
import pytest

gi.require_version('GLib', '2.0')
gi.require_version('RustBridge', '1.0')
from gi.repository import GLib, RustBridge  # noqa: E402


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
        yield p


@pytest.fixture
def fixture_path():
    return os.environ['RB_FIXTURE_PLUGIN']


def iterate_until(predicate, timeout=10.0):
    """Runs the default main context until predicate() is true."""
    context = GLib.MainContext.default()
    deadline = GLib.get_monotonic_time() + int(timeout * 1e6)
    while not predicate():
        if GLib.get_monotonic_time() > deadline:
            raise AssertionError('timed out waiting on the main context')
        context.iteration(True)


def iterate_for(ms):
    done = []
    GLib.timeout_add(ms, lambda: done.append(True) and False)
    iterate_until(lambda: done)
