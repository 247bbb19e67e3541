# SPDX-License-Identifier: LGPL-2.1-or-later
"""gi.overrides.RustBridge: context managers, call/call_obj/call_typed with
Python objects, asyncio futures, and what happens at interpreter exit; each
test in process isolation too (the overrides behave the same in all modes)."""
import asyncio
import dataclasses
import os
import subprocess
import sys

import gi.overrides.RustBridge as overrides
import pytest
from gi.repository import GLib, RustBridge

from conftest import ISOLATIONS, _isolation

State = RustBridge.LifecycleState

isolation = pytest.fixture(params=sorted(ISOLATIONS))(_isolation)


@dataclasses.dataclass
class EchoRequest:
    message: str


@dataclasses.dataclass
class EchoResponse:
    message: str
    length: int


def test_overrides_are_loaded_from_the_build_tree():
    assert RustBridge.Plugin is overrides.Plugin
    assert RustBridge.Bundle is overrides.Bundle
    assert 'introspection' in overrides.__file__


# ---- context managers -------------------------------------------------------

def test_with_shuts_down(plugin_path, config):
    with RustBridge.Plugin.new(plugin_path, config, None) as plugin:
        assert plugin.props.state == State.ACTIVE
    assert plugin.props.state == State.STOPPED


def test_with_shuts_down_on_exception(plugin_path, config):
    with pytest.raises(GLib.Error) as info:
        with RustBridge.Plugin.new(plugin_path, config, None) as plugin:
            plugin.call('nope', None)
    assert info.value.code == RustBridge.PluginError.UNKNOWN_MESSAGE
    assert plugin.props.state == State.STOPPED


def test_with_after_explicit_shutdown(plugin_path, config):
    with RustBridge.Plugin.new(plugin_path, config, None) as plugin:
        plugin.shutdown(None)
    assert plugin.props.state == State.STOPPED


# ---- call / call_obj / call_typed --------------------------------------------

def test_call_dict_and_list(plugin):
    assert plugin.call('math.add', {'a': 40, 'b': 2}) == '{"result":42}'
    assert plugin.call_obj('echo', {'message': 'héllo'}) == {'message': 'héllo', 'length': 6}
    assert plugin.call_obj('payload.array') == [1, 2, 3]
    assert plugin.call_obj('payload.null') is None


def test_call_rejects_what_json_cannot_serialise(plugin):
    with pytest.raises(TypeError):
        plugin.call('echo', {'message': object()})


def test_call_dataclass_request(plugin):
    assert plugin.call('echo', EchoRequest('dc')) == '{"message":"dc","length":2}'


def test_call_typed_dataclass(plugin):
    reply = plugin.call_typed('echo', EchoRequest(message='typed'), EchoResponse)
    assert reply == EchoResponse(message='typed', length=5)


def test_errors_from_overridden_calls(plugin):
    with pytest.raises(GLib.Error) as info:
        plugin.call_obj('handler.fail', {})
    assert (info.value.domain, info.value.code, info.value.message) == \
        ('rb-plugin-error-quark', 7, 'handler failed on purpose')
    with pytest.raises(GLib.Error) as info:
        plugin.call_typed('echo', {'wrong': 1}, EchoResponse)
    assert info.value.code == RustBridge.PluginError.SERIALIZATION


# ---- asyncio -------------------------------------------------------------------

def test_async_future_with_asyncio(plugin):
    async def main():
        return await plugin.call_future('math.add', {'a': 2, 'b': 3}, parse=True)

    # A plain asyncio loop, iterating GLib's default context in between.
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        task = loop.create_task(main())
        while not task.done():
            loop.run_until_complete(asyncio.sleep(0.001))
            GLib.MainContext.default().iteration(False)
        assert task.result() == {'result': 5}
    finally:
        loop.close()
        asyncio.set_event_loop(None)


# ---- interpreter exit ------------------------------------------------------------

def test_dropped_plugin_is_shut_down_at_exit(plugin_path, isolation):
    code = (
        'import gi\n'
        'gi.require_version("RustBridge", "1.0")\n'
        'from gi.repository import RustBridge\n'
        f'c = RustBridge.PluginConfig(isolation=RustBridge.Isolation({int(isolation)}))\n'
        f'p = RustBridge.Plugin.new({plugin_path!r}, c, None)\n'
        'p.call("echo", {"message": "bye"})\n'
        'q = RustBridge.Plugin.new(' + repr(plugin_path) + ', c, None)\n'
        'del q\n'
        'print("ok")\n'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60,
                         env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'
