#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sums the results of every suite from meson's test logs.

TAP output (GTest, GJS, Vala) counts one per "ok"/"not ok" line; pytest
counts from its JUnit XML report; anything else counts as one test.
Prints "N passed, N failed, N skipped" and exits 1 if anything failed.
"""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

TAP_LINE = re.compile(r'^(not ok|ok)\b(.*)$')


def count_tap(stdout):
    passed = failed = skipped = 0
    for line in stdout.splitlines():
        m = TAP_LINE.match(line.strip())
        if not m:
            continue
        directive = m.group(2)
        if m.group(1) == 'ok':
            if re.search(r'#\s*SKIP', directive, re.I):
                skipped += 1
            else:
                passed += 1
        elif re.search(r'#\s*TODO', directive, re.I):
            skipped += 1
        else:
            failed += 1
    return passed, failed, skipped


def count_junit(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
    total = failed = skipped = 0
    for s in suites:
        total += int(s.get('tests', 0))
        failed += int(s.get('failures', 0)) + int(s.get('errors', 0))
        skipped += int(s.get('skipped', 0))
    return total - failed - skipped, failed, skipped


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, encoding='utf-8') as f:
            for line in f:
                entry = json.loads(line)
                result = entry.get('result')
                junit = (entry.get('env') or {}).get('RB_JUNIT_XML')
                # A report older than this run (pytest died before writing
                # one) must not count.
                if junit and os.path.exists(junit) and \
                        os.path.getmtime(junit) >= float(entry.get('starttime') or 0) - 1:
                    p, fl, s = count_junit(junit)
                else:
                    # meson's log does not record the protocol: TAP output
                    # is recognised by its lines.
                    p, fl, s = count_tap(entry.get('stdout') or '')
                    if p + fl + s == 0:
                        p, fl, s = {'OK': (1, 0, 0), 'SKIP': (0, 0, 1)}.get(result, (0, 1, 0))
                # A crash or timeout after some passing subtests is a failure.
                if result not in ('OK', 'SKIP', 'EXPECTEDFAIL') and fl == 0:
                    fl = 1
                passed += p
                failed += fl
                skipped += s
    print(f'{passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
