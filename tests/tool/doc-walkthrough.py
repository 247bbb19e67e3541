#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs the ```sh blocks of a Markdown page in order, in one new empty
directory, each with `sh -eu`, and reports each as a TAP test.

Usage: doc-walkthrough.py PAGE.md TOOL_DIR PLUGIN

TOOL_DIR goes first on PATH (the build tree's rustbridge-tool) and PLUGIN
is given to the blocks as $RBTEST_PLUGIN. Blocks share files through the
directory, not shell variables. Once a block fails the rest are skipped:
they build on it.

A ```text block marked `<!-- snippet: output -->` (the directive
tests/docs/check-snippets.py reads too; blank lines allowed between the
comment and the block) is what the ```sh block before it prints on its
standard output: the block fails when its output differs (trailing spaces
aside; "..." alone on a line matches any number of lines). Unmarked
```text blocks are listings, not compared (their output depends on a new
key or the machine).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```([A-Za-z0-9_-]*)[ \t]*$")
OUTPUT_MARK = re.compile(r"^<!--\s*snippet:\s*output\s*-->\s*$")


def marked_as_output(lines, fence):
    """Whether the line before the fence at index @fence (blank lines
    skipped) is <!-- snippet: output -->."""
    i = fence - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    return i >= 0 and OUTPUT_MARK.match(lines[i].strip()) is not None


def sh_blocks(text):
    """[line number, code, expected output or None] of each ```sh block,
    in order."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i + 1
        j = start
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise SystemExit("unclosed code block at line %d" % (start))
        body = "\n".join(lines[start:j]) + "\n"
        if m.group(1) == "sh":
            blocks.append([start, body, None])
        elif marked_as_output(lines, i):
            if m.group(1) != "text" or not blocks or blocks[-1][2] is not None:
                raise SystemExit("line %d: an output block must be a ```text block after a ```sh block"
                                 % start)
            blocks[-1][2] = body
        i = j + 1
    return blocks


def output_matches(expected, actual):
    """Line by line, trailing spaces aside; "..." alone matches any lines."""
    pattern = ""
    for line in expected.rstrip("\n").split("\n"):
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += re.escape(line.rstrip()) + r"[ \t]*\n"
    actual = "\n".join(l.rstrip() for l in actual.rstrip("\n").split("\n")) + "\n"
    return re.fullmatch(pattern, actual) is not None


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    page, tool_dir, plugin = sys.argv[1:]
    with open(page, encoding="utf-8") as f:
        blocks = sh_blocks(f.read())
    print("1..%d" % len(blocks))
    if not blocks:
        print("Bail out! no ```sh blocks in %s" % page)
        return 1
    if not any(expected is not None for _, _, expected in blocks):
        print("Bail out! no output block (<!-- snippet: output -->) in %s" % page)
        return 1

    env = dict(os.environ)
    for name in ("RUSTBRIDGE_TOOL_PASSWORD", "SOURCE_DATE_EPOCH", "RUSTBRIDGE_TOOL_TEST_KDF_LIMITS"):
        env.pop(name, None)
    env["PATH"] = os.path.abspath(tool_dir) + os.pathsep + env.get("PATH", "")
    env["RBTEST_PLUGIN"] = os.path.abspath(plugin)
    work = tempfile.mkdtemp(prefix="rbt-doc-")
    env["HOME"] = work
    failed = False
    try:
        for n, (line, code, expected) in enumerate(blocks, 1):
            name = "%s:%d" % (os.path.basename(page), line)
            if expected is not None:
                name += " (output compared)"
            if failed:
                print("ok %d %s # SKIP an earlier block failed" % (n, name))
                continue
            result = subprocess.run(["sh", "-eu", "-c", code], cwd=work, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            out = result.stdout.decode("utf-8", "replace")
            err = result.stderr.decode("utf-8", "replace")
            if result.returncode != 0:
                problem = "exit status %d" % result.returncode
            elif expected is not None and not output_matches(expected, out):
                problem = "its standard output is not the page's output block"
            else:
                print("ok %d %s" % (n, name))
                continue
            failed = True
            print("not ok %d %s (%s)" % (n, name, problem))
            sections = [("code", code), ("stdout", out), ("stderr", err)]
            if expected is not None:
                sections.insert(1, ("expected stdout", expected))
            for title, text in sections:
                print("# --- " + title)
                for l in text.splitlines():
                    print("# " + l)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
