#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that rustbridge-tool's manual page and bash completion say what
the tool's own --help says, so that neither can drift. Prints TAP.

Usage: check-tool-docs.py TOOL MANPAGE COMPLETION

The commands are the ones `rustbridge-tool --help` lists; each command's
options are the ones `rustbridge-tool COMMAND --help` lists (GOption's
help, "-h, --help" included). Checked:

- the manual page has a section (.SS) for every command, and every long
  option of a command appears in that command's section, and every command
  in the SYNOPSIS;
- `bash -n` accepts the completion file;
- sourced in bash (with bash-completion's own helpers when they are
  installed, else with minimal stand-ins for _init_completion and
  _filedir), completing `rustbridge-tool ` offers exactly the commands plus
  --help and --version, and completing `rustbridge-tool COMMAND -` offers
  exactly that command's options, short and long.
"""
import os
import re
import shutil
import subprocess
import sys

BASH_COMPLETION = '/usr/share/bash-completion/bash_completion'

# Stand-ins for bash-completion's helpers when it is not installed: the
# same variables as _init_completion sets (no word splitting on "=" or
# ":"), and no file names.
STANDINS = r'''
_init_completion() {
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
}
_filedir() { :; }
'''


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, name, details=()):
        self.n += 1
        print('%s %d %s' % ('ok' if ok else 'not ok', self.n, name))
        if not ok:
            self.failed += 1
            for line in details:
                print('# ' + line)


def run(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit('Bail out! %s failed (%d): %s' % (' '.join(argv), result.returncode, result.stderr))
    return result.stdout


def commands(tool):
    """The commands `rustbridge-tool --help` lists, in order."""
    text = run([tool, '--help'])
    section = text.split('Commands:\n', 1)[1].split('\n\n', 1)[0]
    return [line.split()[0] for line in section.splitlines() if line.strip()]


OPTION = re.compile(r'^\s+(?:(-\w), )?(--[a-z][a-z-]*)')


def options(tool, command):
    """(short options, long options) of `rustbridge-tool COMMAND --help`."""
    short, long = set(), set()
    in_options = False
    for line in run([tool, command, '--help']).splitlines():
        if line.endswith('Options:'):
            in_options = True
            continue
        if not line.strip():
            in_options = False
            continue
        m = OPTION.match(line) if in_options else None
        if m:
            if m.group(1):
                short.add(m.group(1))
            long.add(m.group(2))
    return short, long


def man_sections(path):
    """The text of the manual page (escapes for "-" undone) by .SH and
    .SS heading: {'SYNOPSIS': ..., 'keygen': ..., ...}."""
    with open(path, encoding='utf-8') as f:
        text = f.read().replace('\\-', '-')
    sections = {}
    name = None
    for line in text.splitlines():
        m = re.match(r'^\.S[HS]\s+"?([^"]*)"?\s*$', line)
        if m:
            name = m.group(1)
            sections[name] = ''
        elif name is not None:
            sections[name] += line + '\n'
    return sections


def mentions(text, word):
    return re.search(r'(?<![\w-])' + re.escape(word) + r'(?![\w-])', text) is not None


def complete(completion, words):
    """What the completion offers for the command line @words (the last
    one being completed), sorted."""
    prelude = ('source %s\n' % BASH_COMPLETION) if os.path.exists(BASH_COMPLETION) else STANDINS
    script = prelude + '''
source "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_rustbridge_tool rustbridge-tool "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "${COMPREPLY[@]}"
'''
    out = run(['bash', '--norc', '--noprofile', '-c', script, 'bash', completion] + words)
    return sorted(w for w in out.split() if w)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    tool, manpage, completion = sys.argv[1:]
    cmds = commands(tool)
    opts = {c: options(tool, c) for c in cmds}
    tap = Tap()
    have_bash = shutil.which('bash') is not None
    print('1..%d' % (2 + 2 * len(cmds) + 1 + len(cmds) + 1))
    if len(cmds) < 9:
        print('Bail out! only %d commands in rustbridge-tool --help' % len(cmds))
        return 1

    # The manual page.
    man = man_sections(manpage)
    missing = [c for c in cmds if c not in man]
    tap.check(not missing, 'man page: a section for every command',
              ['no ".SS %s"' % c for c in missing])
    synopsis = man.get('SYNOPSIS', '')
    missing = [c for c in cmds if not mentions(synopsis, 'rustbridge-tool ' + c)]
    tap.check(not missing, 'man page: every command in the synopsis',
              ['"rustbridge-tool %s" is not in the SYNOPSIS' % c for c in missing])
    for c in cmds:
        short, long = opts[c]
        section = man.get(c, '')
        missing = sorted(o for o in long if o != '--help' and not mentions(section, o))
        tap.check(not missing, 'man page: every long option of %s' % c,
                  ['%s is not in the ".SS %s" section' % (o, c) for o in missing])
        missing = sorted(o for o in short if o != '-h' and not mentions(section, o))
        tap.check(not missing, 'man page: every short option of %s' % c,
                  ['%s is not in the ".SS %s" section' % (o, c) for o in missing])

    # The bash completion.
    if not have_bash:
        for _ in range(1 + len(cmds) + 1):
            tap.check(True, 'completion # SKIP bash is not installed')
        return 0
    result = subprocess.run(['bash', '-n', completion], stderr=subprocess.PIPE, text=True)
    tap.check(result.returncode == 0, 'completion: bash -n', result.stderr.splitlines())
    offered = complete(completion, ['rustbridge-tool', ''])
    expected = sorted(cmds + ['--help', '--version'])
    tap.check(offered == expected, 'completion: the commands',
              ['offered:  ' + ' '.join(offered), 'expected: ' + ' '.join(expected)])
    for c in cmds:
        short, long = opts[c]
        offered = complete(completion, ['rustbridge-tool', c, '-'])
        expected = sorted((short - {'-h'}) | long)
        tap.check(offered == expected, 'completion: the options of %s' % c,
                  ['offered:  ' + ' '.join(offered), 'expected: ' + ' '.join(expected)])
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
