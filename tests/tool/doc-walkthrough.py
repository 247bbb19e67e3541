#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs the ```sh blocks of a Markdown page in order, in one new empty
directory, each with `sh -eu`, and reports each as a TAP test.

Usage: doc-walkthrough.py PAGE.md TOOL_DIR PLUGIN

TOOL_DIR goes first on PATH (the build tree's rustbridge-tool) and PLUGIN
is given to the blocks as $RBTEST_PLUGIN. Blocks share files through the
directory, not shell variables. Once a block fails the rest are skipped:
they build on it.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```([A-Za-z0-9_-]*)[ \t]*$")


def sh_blocks(text):
    """(line number, code) of each ```sh block, in order."""
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
        if m.group(1) == "sh":
            blocks.append((start, "\n".join(lines[start:j]) + "\n"))
        i = j + 1
    return blocks


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

    env = dict(os.environ)
    for name in ("RUSTBRIDGE_TOOL_PASSWORD", "SOURCE_DATE_EPOCH", "RUSTBRIDGE_TOOL_TEST_KDF_LIMITS"):
        env.pop(name, None)
    env["PATH"] = os.path.abspath(tool_dir) + os.pathsep + env.get("PATH", "")
    env["RBTEST_PLUGIN"] = os.path.abspath(plugin)
    work = tempfile.mkdtemp(prefix="rbt-doc-")
    env["HOME"] = work
    failed = False
    try:
        for n, (line, code) in enumerate(blocks, 1):
            name = "%s:%d" % (os.path.basename(page), line)
            if failed:
                print("ok %d %s # SKIP an earlier block failed" % (n, name))
                continue
            result = subprocess.run(["sh", "-eu", "-c", code], cwd=work, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            if result.returncode == 0:
                print("ok %d %s" % (n, name))
                continue
            failed = True
            print("not ok %d %s (exit status %d)" % (n, name, result.returncode))
            for text in (code, result.stdout.decode("utf-8", "replace")):
                for l in text.splitlines():
                    print("# " + l)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
