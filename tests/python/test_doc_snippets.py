# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python snippets of README.md and doc/python.md: each one that imports
from gi.repository first says which RustBridge version it wants, and the
ones of doc/python.md run against the test plugins."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = ['README.md', 'doc/python.md']


def python_snippets(page):
    text = (SOURCE_ROOT / page).read_text()
    return re.findall(r'```python\n(.*?)```', text, re.S)


@pytest.mark.parametrize('page', PAGES)
def test_snippets_require_the_version(page):
    snippets = python_snippets(page)
    assert snippets
    for snippet in snippets:
        if 'gi.repository' not in snippet:
            continue
        require = snippet.find("gi.require_version('RustBridge', '1.0')")
        assert 0 <= require < snippet.index('from gi.repository'), snippet


def plugin_dir(plugin_path, tmp_path):
    """A directory holding the test plugin as libhello_plugin.so, the name
    the snippets open in the current directory."""
    os.symlink(plugin_path, tmp_path / 'libhello_plugin.so')
    return tmp_path


def run_snippet(snippet, plugin_path, tmp_path):
    # A PyGObject warning (e.g. no require_version) fails the snippet.
    code = ('import warnings, gi\nwarnings.simplefilter("error", gi.PyGIWarning)\n' + snippet)
    out = subprocess.run([sys.executable, '-c', code], cwd=plugin_dir(plugin_path, tmp_path),
                         capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_python_md_sync_snippet(plugin_path, tmp_path):
    out = run_snippet(python_snippets('doc/python.md')[0], plugin_path, tmp_path)
    assert out.splitlines() == ['{"message":"Hello","length":5}',
                                "{'message': 'Hello', 'length': 5}",
                                "EchoResponse(message='hi', length=2)"]


def test_python_md_asyncio_snippet(plugin_path, tmp_path):
    out = run_snippet(python_snippets('doc/python.md')[1], plugin_path, tmp_path)
    lines = out.splitlines()
    # The start-up message, which a handler connected after the load gets.
    assert lines.pop(0) in ('fixture_plugin fixture plugin started',
                            'rbtest_plugin rust plugin started')
    assert lines == ["{'message': 'Hello', 'length': 5}",
                                '{"message":"text","length":4}',
                                'cancelled']


def js_snippets():
    return re.findall(r'```js\n(.*?)```', (SOURCE_ROOT / 'doc/gjs.md').read_text(), re.S)


@pytest.mark.skipif(not os.environ.get('RB_GJS_MODULE') or shutil.which('gjs') is None,
                    reason='gjs or the GJS module not available')
@pytest.mark.parametrize('index', [0, 1])
def test_gjs_md_module_snippets(plugin_path, index, tmp_path):
    module = os.environ['RB_GJS_MODULE']
    code = js_snippets()[index].replace('/usr/share/rustbridge-glib-1.0/js/rustbridge.js', module)
    code += "print('finished');\n"
    script = tmp_path / 'app.js'
    script.write_text(code)
    env = os.environ.copy()
    env['RUSTBRIDGE_JS_DIR'] = os.path.dirname(module)
    out = subprocess.run(['gjs', '-m', str(script)], cwd=plugin_dir(plugin_path, tmp_path),
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert 'finished' in out.stdout
    assert 'Error' not in out.stderr, out.stderr
    if index == 1:
        assert '{"message":"hi","length":2}' in out.stdout
