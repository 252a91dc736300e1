#!/usr/bin/env python3
# tests/spectest/wast-modules.py - splits .wast scripts into one .wat file per text
# module, for comparing kumo's text front end with wabt's wat2wasm.
#
# usage: wast-modules.py OUTDIR FILE.wast...
# Writes OUTDIR/<file>-<n>.wat (modules that must assemble and validate) and
# OUTDIR/<file>-<n>.invalid.wat (assert_invalid modules: they assemble, then fail
# validation). `module binary` and `module quote` forms are left out.
import os
import sys


def forms(src):
    """Yields (start, end) of each top-level parenthesised form, skipping comments."""
    i, n, depth, start = 0, len(src), 0, None
    while i < n:
        c = src[i]
        if src.startswith(';;', i):
            j = src.find('\n', i)
            i = n if j < 0 else j + 1
            continue
        if src.startswith('(;', i):
            d = 0
            while i < n:
                if src.startswith('(;', i):
                    d += 1
                    i += 2
                elif src.startswith(';)', i):
                    d -= 1
                    i += 2
                    if d == 0:
                        break
                else:
                    i += 1
            continue
        if c == '"':
            i += 1
            while i < n and src[i] != '"':
                i += 2 if src[i] == '\\' else 1
            i += 1
            continue
        if c == '(':
            if depth == 0:
                start = i
            depth += 1
        elif c == ')':
            depth -= 1
            if depth == 0:
                yield start, i + 1
        i += 1


def head(text):
    """The first keyword of a form and what follows it."""
    body = text[1:].lstrip()
    word = body.split(None, 1)[0] if body else ''
    word = word.rstrip(')')
    return word, body[len(word):]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for path in sys.argv[2:]:
        base = os.path.splitext(os.path.basename(path))[0]
        src = open(path, encoding='utf-8', errors='surrogateescape').read()
        k = 0
        for s, e in forms(src):
            text = src[s:e]
            word, rest = head(text)
            suffix = '.wat'
            if word in ('assert_invalid', 'assert_unlinkable', 'assert_uninstantiable',
                        'assert_trap'):
                inner = list(forms(rest))
                if not inner:
                    continue
                s2, e2 = inner[0]
                text = rest[s2:e2]
                word, rest = head(text)
                if word != 'module':
                    continue
                if text.startswith('(module') and 'assert_invalid' in src[s:s + 20]:
                    suffix = '.invalid.wat'
            elif word != 'module':
                continue
            r = rest.lstrip()
            if r.startswith('$'):
                r = r.split(None, 1)[1] if len(r.split(None, 1)) > 1 else ''
            if r.startswith('binary') or r.startswith('quote') or r.startswith('definition') \
                    or r.startswith('instance'):
                continue
            k += 1
            with open(os.path.join(out, f'{base}-{k}{suffix}'), 'w', encoding='utf-8',
                      errors='surrogateescape') as f:
                f.write(text + '\n')


main()
