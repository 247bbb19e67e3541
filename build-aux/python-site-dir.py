#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prints the site-packages directory of the running interpreter that lies
# in PREFIX's lib directory (as /usr/local/lib/python3.X/dist-packages is
# for Debian's python3 and /usr/local), or nothing when its path has none
# there. Used by introspection/meson.build to install gi.overrides where
# that interpreter finds them.
import os
import site
import sys

prefix = os.path.normpath(sys.argv[1])
for path in site.getsitepackages():
    path = os.path.normpath(path)
    rel = os.path.relpath(path, prefix)
    if rel.split(os.sep)[0] in ('lib', 'lib64'):
        print(path, end='')
        break
