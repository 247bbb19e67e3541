#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compiles and runs every fenced code block of README.md and doc/*.md.

The pages are found when the test runs (README.md, doc/*.md), so a new
page is checked without touching the build files. Each block is one TAP
test point. Blocks run against the build tree, in the environment that
`meson devenv -C BUILD --dump` prints (uninstalled library, typelib,
Python overrides, pkg-config files), from a fresh directory that holds:

  libhello_plugin.so   the test plugin (answers echo, math.add, ...;
                       also named by $RBTEST_PLUGIN)
  _build               the build directory (the demo bundle is
                       _build/examples/rbtest-plugin.rbp)
  README.md, doc, examples, tests, tools, ...  the source tree (links)

What each block is:

  ```c       a C program (it has a main) or the body of one; compiled with
             `pkg-config --cflags --libs rustbridge-glib-1.0` and -Werror,
             then run
  ```vala    a Vala program, or the body of an async function that is run
             in a main loop; `using` lines may open the fragment (all
             fragments are compiled into one program, with valac's line
             numbers mapped back to the pages)
  ```python  run by /usr/bin/python3 -W error (so PyGObject's warnings
             fail too, e.g. a missing gi.require_version)
  ```js      run by `gjs -m` (an ES module: top-level await works)
  ```sh      run by /bin/sh -eu
  ```json    a listing; must parse as JSON
  ```text    a listing

An HTML comment right before a block (blank lines allowed in between)
changes that. Its first line holds directives separated by ";", any
further lines are hidden set-up code put before the block:

  <!-- snippet: compile-only -->   C/Vala: compile, do not run
  <!-- snippet: toplevel -->       C: file-scope declarations (after
                                   stddef.h, stdint.h, rustbridge-glib.h),
                                   compile only
  <!-- snippet: output -->         this block is what the previous block
                                   prints on stdout ("..." alone on a line
                                   matches any lines)
  <!-- snippet: listing -->        not code (any language tag, or none)
  <!-- snippet: not-run REASON --> sh only: a command that must not run
                                   inside the tests (say why; the reason
                                   is the rest of the line)
  <!-- snippet: file NAME -->      also save the block as NAME in the
                                   directory the blocks run in (a later sh
                                   block can build or run it)
  <!-- snippet
  var bundle = new Bundle.for_path ("_build/examples/rbtest-plugin.rbp");
  -->                              hidden set-up code only

Anything else fails: a C, Vala, Python or JS block is never skipped; an
unknown language tag, an untagged block, an indented code block or an
unknown directive is an error that names the page and line.

Blocks known to fail because someone else is fixing them are listed in
known-failures.txt by a hash of their text: they are reported as TAP TODO
(counted as skipped), and an unexpected pass fails the test, so the entry
cannot outlive the fix.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

RUN_LANGS = {'c', 'vala', 'python', 'js', 'sh'}
LANG_ALIASES = {'python3': 'python', 'py': 'python', 'javascript': 'js', 'shell': 'sh',
                'bash': 'sh', 'C': 'c'}
LISTING_LANGS = {'text', 'json'}
DIRECTIVES = {'compile-only', 'toplevel', 'output', 'listing', 'not-run', 'file'}
TIMEOUT = 60

FENCE = re.compile(r'^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$')
COMMENT_START = re.compile(r'^\s*<!--\s*snippet\b:?(?P<rest>.*)$')
LIST_ITEM = re.compile(r'^\s*([-*+]|\d+[.)])\s')


class Block:
    def __init__(self, page, line, lang, text):
        self.page = page
        self.line = line          # line of the first line of code (1-based)
        self.lang = lang
        self.text = text
        self.directives = {}
        self.prelude = ''
        self.problem = None
        self.output_of = None     # for an output block: the block it describes
        self.expected_output = None

    @property
    def where(self):
        return f'{self.page}:{self.line - 1}'

    def digest(self):
        return hashlib.sha256(f'{self.lang}\n{self.text}'.encode()).hexdigest()[:16]


def parse_comment(lines, end):
    """The snippet comment ending right before line index END (blank lines
    skipped), as (directives, prelude) or None."""
    i = end - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i < 0 or not lines[i].rstrip().endswith('-->'):
        return None
    j = i
    while j >= 0 and '<!--' not in lines[j]:
        j -= 1
    if j < 0:
        return None
    m = COMMENT_START.match(lines[j])
    if not m:
        return None
    body = [m.group('rest')] + lines[j + 1:i + 1]
    body[-1] = body[-1].rstrip()[:-3]
    first = body[0].strip()
    directives = {}
    problems = []
    while first:
        item, _, first = first.partition(';')
        name, _, arg = item.strip().partition(' ')
        if name == 'not-run':       # the reason is the rest of the line
            arg, first = (arg + (';' + first if first else '')), ''
        if not name:
            continue
        if name not in DIRECTIVES:
            problems.append(f'unknown snippet directive "{name}" (known: {", ".join(sorted(DIRECTIVES))})')
        directives[name] = arg.strip()
    prelude = '\n'.join(body[1:]).strip('\n')
    return directives, prelude + '\n' if prelude else '', problems


def extract(path, rel):
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    blocks = []
    i = 0
    prev_blank = True
    prev_text = ''
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if m:
            fence = m.group('fence')
            indent = len(m.group('indent'))
            info = m.group('info')
            start = i + 1
            j = start
            while j < len(lines) and not (lines[j].strip().startswith(fence[0] * len(fence))
                                          and not lines[j].strip().strip(fence[0])):
                j += 1
            code = [ln[indent:] if ln[:indent].strip() == '' else ln.lstrip() for ln in lines[start:j]]
            lang = LANG_ALIASES.get(info, info.lower())
            block = Block(rel, start + 1, lang, '\n'.join(code) + '\n')
            if j >= len(lines):
                block.problem = 'unterminated code fence'
            comment = parse_comment(lines, i)
            if comment:
                block.directives, block.prelude, problems = comment
                if problems:
                    block.problem = '; '.join(problems)
            blocks.append(block)
            i = j + 1
            prev_blank = False
            prev_text = ''
            continue
        # An indented code block: four spaces after a blank line, not the
        # continuation of a list item.
        if line.startswith('    ') and line.strip() and prev_blank \
                and not LIST_ITEM.match(prev_text) and not prev_text.startswith((' ', '\t')) \
                and not line.lstrip().startswith(('-', '*', '<')):
            block = Block(rel, i + 1, 'indented', line + '\n')
            block.problem = ('indented code block: use a fenced block with a language tag '
                             '(```sh, ```text, ...) so that it is checked')
            blocks.append(block)
        if line.strip():
            if prev_blank or not line.startswith(' '):
                prev_text = line
            prev_blank = False
        else:
            prev_blank = True
        i += 1
    return blocks


def classify(blocks):
    """Checks the directives against the language; links output blocks."""
    previous = None
    for b in blocks:
        d = b.directives
        if b.problem:
            pass
        elif 'output' in d:
            if previous is None or previous.lang not in RUN_LANGS:
                b.problem = '"output" block without a code block before it'
            else:
                previous.expected_output = b
                b.output_of = previous
        elif 'listing' in d:
            pass
        elif not b.lang:
            b.problem = ('code block without a language: tag it (```c, ```python, ```text, ...) '
                         'or put <!-- snippet: listing --> before it')
        elif b.lang not in RUN_LANGS and b.lang not in LISTING_LANGS:
            b.problem = (f'unknown language "{b.lang}": use one of '
                         f'{", ".join(sorted(RUN_LANGS | LISTING_LANGS))}, '
                         'or put <!-- snippet: listing --> before it')
        elif 'not-run' in d and b.lang != 'sh':
            b.problem = f'a {b.lang} block cannot be "not-run": every code block is compiled or run'
        elif 'not-run' in d and not d['not-run']:
            b.problem = '"not-run" needs a reason'
        elif 'toplevel' in d and b.lang != 'c':
            b.problem = '"toplevel" is for C blocks'
        elif 'file' in d and not re.fullmatch(r'[\w.-]+', d['file']):
            b.problem = '"file" needs a plain file name'
        elif 'compile-only' in d and b.lang not in ('c', 'vala'):
            b.problem = '"compile-only" is for C and Vala blocks'
        if 'output' not in d:
            previous = b


# --- compiling -------------------------------------------------------------

def c_line(b):
    return f'#line {b.line} "{b.page}"\n'


def c_source(b):
    if 'toplevel' in b.directives:
        return ('#include <stddef.h>\n#include <stdint.h>\n#include <rustbridge-glib.h>\n'
                + b.prelude + c_line(b) + b.text
                + '\nint main (void) { return 0; }\n')
    if re.search(r'\bmain\s*\(', b.text):
        return b.prelude + c_line(b) + b.text
    return ('#include <rustbridge-glib.h>\n'
            'int main (int argc, char **argv) {\n' + b.prelude + c_line(b) + b.text
            + '\n  return 0;\n}\n')


VALA_MAIN = re.compile(r'\b(static\s+)?(void|int)\s+main\s*\(')

VALA_RUNNER = '''
int main (string[] args) {
    var loop = new GLib.MainLoop ();
    GLib.Error? failure = null;
    GLib.AsyncReadyCallback done = (obj, res) => {
        try {
            snippets_finish (res);
        } catch (GLib.Error e) {
            failure = e;
        }
        loop.quit ();
    };
    snippets_run.begin (int.parse (args[1]), done);
    loop.run ();
    if (failure != null) {
        printerr ("uncaught error: %s\\n", failure.message);
        return 1;
    }
    return 0;
}

void snippets_finish (GLib.AsyncResult res) throws GLib.Error {
    snippets_run.end (res);
}
'''


def vala_program(blocks):
    """One Vala program for all fragments: each is an async function,
    `PROGRAM N` runs block N. Returns (source, [(first, last, block,
    first page line)]) for mapping valac's line numbers back."""
    usings = []
    functions = []
    for b in blocks:
        pre = b.prelude.splitlines()
        usings += [ln for ln in pre if ln.startswith('using ')]
        body = b.text.splitlines()
        skipped = 0
        while body and (body[0].startswith('using ') or not body[0].strip()):
            usings.append(body.pop(0))
            skipped += 1
        functions.append((b, [ln for ln in pre if not ln.startswith('using ')], body, skipped))
    lines = sorted(set(u.strip() for u in usings if u.strip()))
    spans = []
    dispatch = ['async void snippets_run (int n) throws GLib.Error {', '    switch (n) {']
    for b, pre, body, skipped in functions:
        lines.append(f'async void snippet_{b.index} () throws GLib.Error {{')
        lines += pre
        first = len(lines) + 1
        lines += body
        spans.append((first, len(lines), b, b.line + skipped))
        lines.append('}')
        dispatch.append(f'    case {b.index}: yield snippet_{b.index} (); break;')
    dispatch += ['    default: assert_not_reached ();', '    }', '}']
    return '\n'.join(lines + dispatch) + '\n' + VALA_RUNNER, spans


def vala_line(spans, n):
    for first, last, b, page_line in spans:
        if first <= n <= last:
            return b, page_line + n - first
    return None, n


def map_vala_errors(text, src_name, spans):
    """valac's messages, with page lines; and the blocks they concern."""
    blamed = set()

    def repl(m):
        b, line = vala_line(spans, int(m.group(1)))
        _, end = vala_line(spans, int(m.group(3)))
        if b is None:
            return m.group(0)
        blamed.add(b.index)
        return f'{b.page}:{line}.{m.group(2)}-{end}.'
    return re.sub(re.escape(src_name) + r':(\d+)\.(\d+)-(\d+)\.', repl, text), blamed


def compile_vala_fragments(blocks, tmp, env, vapidir):
    """Compiles all Vala fragments at once; {index: (exe, error)}."""
    src, spans = vala_program(blocks)
    name = 'vala-snippets'
    with open(os.path.join(tmp, name + '.vala'), 'w', encoding='utf-8') as f:
        f.write(src)
    r = run_valac(name, tmp, env, vapidir)
    if r.returncode == 0:
        return {b.index: ([os.path.join(tmp, name), str(b.index)], None) for b in blocks}
    text, blamed = map_vala_errors(r.stdout + r.stderr, name + '.vala', spans)
    result = {}
    for b in blocks:
        if b.index in blamed or not blamed:
            result[b.index] = (None, text)
        else:
            result[b.index] = (None, 'not built: the Vala blocks are compiled together, and '
                               'another one failed to compile')
    return result


def run_valac(name, tmp, env, vapidir):
    cmd = ['valac', '--quiet', '-X', '-w', '-o', name, '--vapidir', vapidir]
    for p in ('rustbridge-glib-1.0', 'gio-2.0', 'json-glib-1.0'):
        cmd += ['--pkg', p]
    cmd.append(name + '.vala')
    return subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def compile_block(b, tmp, env, pkgs):
    """Returns (executable or None, error text or None)."""
    name = f'snippet-{b.index}'
    exe = os.path.join(tmp, name)
    if b.lang == 'c':
        src = os.path.join(tmp, name + '.c')
        with open(src, 'w', encoding='utf-8') as f:
            f.write(c_source(b))
        flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'rustbridge-glib-1.0'],
                               env=env, capture_output=True, text=True)
        if flags.returncode != 0:
            return None, 'pkg-config rustbridge-glib-1.0 failed: ' + flags.stderr
        out = '-c' if 'toplevel' in b.directives else None
        cmd = [os.environ.get('CC', 'cc'), '-std=gnu11', '-Wall', '-Wextra', '-Werror',
               '-Wno-unused-parameter', src, '-o', exe + ('.o' if out else '')]
        if out:
            cmd.insert(1, out)
        cmd += flags.stdout.split()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        if r.returncode != 0:
            return None, r.stdout + r.stderr
        return (None if out or 'compile-only' in b.directives else [exe]), None
    if b.lang == 'vala':            # a whole program
        with open(os.path.join(tmp, name + '.vala'), 'w', encoding='utf-8') as f:
            f.write(b.prelude + b.text)
        r = run_valac(name, tmp, env, pkgs['vapidir'])
        if r.returncode != 0:
            spans = [(1 + len(b.prelude.splitlines()), 10 ** 9, b, b.line)]
            return None, map_vala_errors(r.stdout + r.stderr, name + '.vala', spans)[0]
        return (None if 'compile-only' in b.directives else [exe]), None
    raise AssertionError(b.lang)


# --- running ---------------------------------------------------------------

def output_matches(expected, actual):
    pattern = ''
    for line in expected.rstrip('\n').split('\n'):
        if line.strip() == '...':
            pattern += r'(?:[^\n]*\n)*?'
        else:
            pattern += re.escape(line.rstrip()) + r'[ \t]*\n'
    actual = '\n'.join(ln.rstrip() for ln in actual.rstrip('\n').split('\n')) + '\n'
    return re.fullmatch(pattern, actual) is not None


def run_block(b, exe, tmp, workdir, env):
    """Returns None when it worked, else the reason."""
    if b.lang in ('c', 'vala'):
        cmd = exe
    elif b.lang == 'python':
        path = os.path.join(tmp, f'snippet-{b.index}.py')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(b.prelude + b.text)
        # -W error: PyGObject's warnings (a missing require_version) fail;
        # its own ImportWarning on Python 3.11 is no fault of the page.
        cmd = ['/usr/bin/python3', '-W', 'error', '-W', 'ignore::ImportWarning', path]
    elif b.lang == 'js':
        path = os.path.join(tmp, f'snippet-{b.index}.js')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(b.prelude + b.text)
        cmd = ['gjs', '-m', path]
    elif b.lang == 'sh':
        cmd = ['/bin/sh', '-euc', b.prelude + b.text]
    else:
        raise AssertionError(b.lang)
    try:
        r = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f'timed out after {TIMEOUT} s'
    except OSError as e:
        return f'cannot run {cmd[0]}: {e}'
    if r.returncode != 0:
        return f'exit status {r.returncode}\n--- stdout\n{r.stdout}--- stderr\n{r.stderr}'
    if b.expected_output is not None and not output_matches(b.expected_output.text, r.stdout):
        return (f'stdout differs from the output block at {b.expected_output.where}\n'
                f'--- expected\n{b.expected_output.text}--- got\n{r.stdout}')
    return None


def devenv(build_root):
    """The environment `meson devenv` gives, applied to ours."""
    r = subprocess.run(['meson', 'devenv', '-C', build_root, '--dump'],
                       capture_output=True, text=True, check=True)
    env = dict(os.environ)
    for m in re.finditer(r'^(\w+)="(.*)"$', r.stdout, re.M):
        name, value = m.group(1), m.group(2)
        value = value.replace('$' + name, env.get(name, ''))
        env[name] = value.strip(':')
    return env


def make_workdir(args, blocks):
    work = tempfile.mkdtemp(prefix='snippets-', dir=args.tmp)
    for entry in os.listdir(args.source_root):
        if entry.startswith('.') or entry == '_build':
            continue
        os.symlink(os.path.join(args.source_root, entry), os.path.join(work, entry))
    os.symlink(args.build_root, os.path.join(work, '_build'))
    os.symlink(args.plugin, os.path.join(work, 'libhello_plugin.so'))
    for b in blocks:
        if b.directives.get('file') and not b.problem:
            with open(os.path.join(work, b.directives['file']), 'w', encoding='utf-8') as f:
                f.write(b.text)
    return work


def load_known_failures(path):
    known = {}
    if path and os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith('#'):
                    digest, _, reason = line.partition(' ')
                    known[digest] = reason.strip()
    return known


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--source-root', required=True)
    ap.add_argument('--build-root', required=True)
    ap.add_argument('--plugin', required=True)
    ap.add_argument('--vapidir', required=True)
    ap.add_argument('--known-failures')
    ap.add_argument('--tmp', help='where the scratch directories go')
    ap.add_argument('--list', action='store_true', help='print the blocks and their hashes')
    ap.add_argument('pages', nargs='*', help='default: README.md and doc/*.md')
    args = ap.parse_args()
    args.source_root = os.path.abspath(args.source_root)
    args.build_root = os.path.abspath(args.build_root)
    if args.tmp:
        os.makedirs(args.tmp, exist_ok=True)

    pages = args.pages or ['README.md'] + sorted(
        os.path.join('doc', p) for p in os.listdir(os.path.join(args.source_root, 'doc'))
        if p.endswith('.md'))
    blocks = []
    for rel in pages:
        page_blocks = extract(os.path.join(args.source_root, rel), rel)
        classify(page_blocks)
        blocks += page_blocks
    for n, b in enumerate(blocks):
        b.index = n

    if args.list:
        for b in blocks:
            print(b.digest(), b.where, b.lang or '-', ' '.join(sorted(b.directives)))
        return 0

    known = load_known_failures(args.known_failures)
    env = devenv(args.build_root)
    env.setdefault('G_DEBUG', 'fatal-criticals')
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    # doc/rustbridge-tool.md's blocks find the plugin here (its first block
    # sets it for a reader; each block runs in a shell of its own).
    env['RBTEST_PLUGIN'] = os.path.abspath(args.plugin)
    tmp = tempfile.mkdtemp(prefix='snippet-build-', dir=args.tmp)
    workdir = make_workdir(args, blocks)
    # Whatever the blocks write under XDG directories (the registry's
    # metadata cache, an app's data) stays in the scratch directory, never
    # in the user's ~/.cache or ~/.local/share.
    for name in ('XDG_CACHE_HOME', 'XDG_DATA_HOME'):
        env[name] = os.path.join(tmp, name.lower())
        os.makedirs(env[name], exist_ok=True)

    tests = []
    for b in blocks:
        if b.problem:
            tests.append((b, 'problem'))
        elif b.output_of is not None:
            continue
        elif 'listing' in b.directives or b.lang == 'text':
            print(f'# {b.where}: listing ({b.lang or "untagged"}), not code')
        elif b.lang == 'json':
            tests.append((b, 'json'))
        elif 'not-run' in b.directives:
            print(f'# {b.where}: sh block not run: {b.directives["not-run"]}')
        else:
            tests.append((b, 'run'))

    # Compile everything first, two at a time (valac is the slow part).
    compiled = {}
    to_compile = [b for b, kind in tests if kind == 'run' and b.lang in ('c', 'vala')]
    fragments = [b for b in to_compile if b.lang == 'vala' and not VALA_MAIN.search(b.text)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        vala = pool.submit(compile_vala_fragments, fragments, tmp, env, args.vapidir) \
            if fragments else None
        futures = {b.index: pool.submit(compile_block, b, tmp, env, {'vapidir': args.vapidir})
                   for b in to_compile if b not in fragments}

        def result(fut):
            try:
                return fut.result()
            except (OSError, subprocess.SubprocessError) as e:
                return None, f'cannot compile: {e}'
        for index, fut in futures.items():
            compiled[index] = result(fut)
        if vala is not None:
            try:
                compiled.update(vala.result())
            except (OSError, subprocess.SubprocessError) as e:
                compiled.update({b.index: (None, f'cannot compile: {e}') for b in fragments})
        for b in fragments:
            if 'compile-only' in b.directives and compiled[b.index][1] is None:
                compiled[b.index] = (None, None)

    print(f'1..{len(tests)}')
    failed = 0
    for n, (b, kind) in enumerate(tests, 1):
        what = f'{b.where} {b.lang or "untagged"}'
        error = None
        if kind == 'problem':
            error = b.problem
        elif kind == 'json':
            try:
                json.loads(b.text)
            except ValueError as e:
                error = f'not valid JSON ({e}); mark a sketch with <!-- snippet: listing -->'
        else:
            exe = None
            if b.index in compiled:
                exe, error = compiled[b.index]
                if error is None and exe is None:
                    what += ' (compiled)'
            if error is None and (exe is not None or b.lang not in ('c', 'vala')):
                error = run_block(b, exe, tmp, workdir, env)
                what += ' (run)'
        todo = known.get(b.digest())
        directive = f' # TODO known failure: {todo}' if todo is not None else ''
        if error is None:
            print(f'ok {n} - {what}{directive}')
        else:
            print(f'not ok {n} - {what}{directive}')
            print(f'# hash {b.digest()}')
            for line in error.rstrip('\n').split('\n'):
                print('# ' + line)
            if todo is None:
                failed += 1
        sys.stdout.flush()

    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
