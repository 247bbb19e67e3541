#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fails on dead links in the generated API reference.

Usage: check-links.py DOC_DIR

For every .html page under DOC_DIR, every href and src that is not an
absolute URL must name a file that exists (and, with a #fragment into a
page, an id or name in it). gi-docgen writes links to other namespaces'
types as href="javascript:void(0)" with data-namespace/data-link, which
its main.js turns into real links through urlmap.js: such a link is dead
unless the page loads urlmap.js and urlmap.js maps that namespace. Empty
hrefs (except the textless one gi-docgen's index writes for an unset
website_url or browse_url) and any other javascript: link are dead too. Prints TAP, one test
point per page.
"""
import html.parser
import os
import re
import sys
import urllib.parse

EXTERNAL = ('http://', 'https://', 'mailto:')


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []       # (line, tag, attr, value, attrs)
        self.ids = set()
        self.scripts = []
        self._open_a = None

    def handle_data(self, data):
        if self._open_a is not None:
            self._open_a['#text'] += data

    def handle_endtag(self, tag):
        if tag == 'a':
            self._open_a = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        a['#text'] = ''
        if tag == 'a':
            self._open_a = a
        for key in ('id', 'name'):
            if a.get(key):
                self.ids.add(a[key])
        if tag == 'script' and a.get('src'):
            self.scripts.append(a['src'])
        for attr in ('href', 'src'):
            if attr in a and tag in ('a', 'link', 'script', 'img', 'iframe'):
                self.links.append((self.getpos()[0], tag, attr, a[attr] or '', a))


def parse(path, cache):
    if path not in cache:
        page = Page()
        with open(path, encoding='utf-8') as f:
            page.feed(f.read())
        cache[path] = page
    return cache[path]


def urlmap_namespaces(doc_dir):
    path = os.path.join(doc_dir, 'urlmap.js')
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8') as f:
        text = f.read()
    return {m.group(1): m.group(2)
            for m in re.finditer(r"\[\s*['\"](\w+)['\"]\s*,\s*['\"]([^'\"]+)['\"]\s*\]", text)}


def check_page(doc_dir, rel, cache, urlmap):
    path = os.path.join(doc_dir, rel)
    page = parse(path, cache)
    loads_urlmap = any(os.path.basename(s) == 'urlmap.js' for s in page.scripts)
    problems = []
    notes = []
    for line, tag, attr, value, attrs in page.links:
        where = f'{rel}:{line}: <{tag} {attr}="{value}">'
        if value == '':
            # gi-docgen's index writes an unset website_url or browse_url
            # as an empty, textless link: an empty row, not a dead link.
            if tag == 'a' and not attrs['#text'].strip():
                notes.append(f'{where} empty row (unset in the toml)')
            else:
                problems.append(f'{where} empty link')
            continue
        if value.startswith('javascript:'):
            ns = attrs.get('data-namespace')
            if value.replace(' ', '') != 'javascript:void(0)' or not ns or not attrs.get('data-link'):
                problems.append(f'{where} javascript link that nothing resolves')
            elif urlmap is None:
                problems.append(f'{where} link into {ns}, but there is no urlmap.js')
            elif not loads_urlmap:
                problems.append(f'{where} link into {ns}, but the page does not load urlmap.js')
            elif ns not in urlmap:
                problems.append(f'{where} link into {ns}, which urlmap.js does not map')
            continue
        if value.startswith(EXTERNAL) or value.startswith('//'):
            continue
        url = urllib.parse.urlsplit(value)
        if url.scheme:
            problems.append(f'{where} unexpected URL scheme')
            continue
        target = os.path.normpath(os.path.join(os.path.dirname(path), urllib.parse.unquote(url.path))) \
            if url.path else path
        if not os.path.abspath(target).startswith(os.path.abspath(doc_dir) + os.sep):
            problems.append(f'{where} points outside the reference')
            continue
        if not os.path.isfile(target):
            problems.append(f'{where} no such file')
            continue
        if url.fragment and target.endswith('.html'):
            if urllib.parse.unquote(url.fragment) not in parse(target, cache).ids:
                problems.append(f'{where} no id "{url.fragment}" in {os.path.relpath(target, doc_dir)}')
    return problems, notes


def main(doc_dir):
    pages = sorted(os.path.relpath(os.path.join(d, f), doc_dir)
                   for d, _, files in os.walk(doc_dir) for f in files if f.endswith('.html'))
    if not pages:
        print('1..0 # SKIP no pages: is the reference built?')
        return 1
    urlmap = urlmap_namespaces(doc_dir)
    cache = {}
    print(f'1..{len(pages)}')
    failed = 0
    for n, rel in enumerate(pages, 1):
        problems, notes = check_page(doc_dir, rel, cache, urlmap)
        for note in notes:
            print(f'# note: {note}')
        if problems:
            failed += 1
            print(f'not ok {n} - {rel}: {len(problems)} dead links')
            for p in problems:
                print(f'# {p}')
        else:
            print(f'ok {n} - {rel}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
