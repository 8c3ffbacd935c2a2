#!/usr/bin/env bash
# Every line the plugin can write to the openvpn log is documented in
# docs/operations.md: the constant text of each format string passed to
# gate_logf() or h->log() in plugin/*.c (and each literal appended by line_str()),
# cut at its conversions (%s, %u,
# %.*s, ...), must appear there verbatim, fragment by fragment (fragments
# shorter than 4 characters or made of punctuation only are not checked;
# runs of white space compare equal, so a documented line may wrap).
#
# Reads only from LICGATE_SRCDIR (default: two directories above this
# script), so it runs from a read-only source tree (make distcheck).
# Exit 0 when every fragment is found, 1 with one line per missing fragment
# (file:line: fragment), 77 (skip) without python3.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

srcdir=${LICGATE_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}

if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: python3 is needed to read the format strings" >&2
    exit 77
fi
[ -f "$srcdir/docs/operations.md" ] || {
    echo "FAIL: $srcdir/docs/operations.md not found (set LICGATE_SRCDIR)" >&2
    exit 1
}

python3 - "$srcdir" <<'PY'
import glob
import os
import re
import sys

srcdir = sys.argv[1]
# line_str(&l, "..."): the constant parts of the lines made without printf on the admission
# path (plugin/line.h); only its string literals are checked.
CALL = re.compile(r'(?<![A-Za-z0-9_])(gate_logf|h->log|line_str)\s*\(')
# printf conversions; %% is a literal percent and handled apart
CONVERSION = re.compile(
    r'%[-+ #0]*(?:\*|[0-9]+)?(?:\.(?:\*|[0-9]+))?(?:hh|h|ll|l|j|z|t|L)?[diouxXeEfgGcsp]')
ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '\\': '\\', '"': '"', "'": "'", '?': '?',
           'a': '\a', 'b': '\b', 'f': '\f', 'v': '\v'}


def skip_space_and_comments(text, i):
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith('/*', i):
            end = text.find('*/', i + 2)
            i = len(text) if end < 0 else end + 2
        elif text.startswith('//', i):
            end = text.find('\n', i)
            i = len(text) if end < 0 else end + 1
        else:
            break
    return i


def read_literal(text, i):
    """text[i] is '"': returns (decoded string, index after the closing quote)."""
    out = []
    i += 1
    while i < len(text) and text[i] != '"':
        ch = text[i]
        if ch == '\\':
            nxt = text[i + 1]
            if nxt in ESCAPES:
                out.append(ESCAPES[nxt])
                i += 2
            elif nxt == 'x':
                m = re.match(r'[0-9A-Fa-f]+', text[i + 2:])
                out.append(chr(int(m.group(0), 16)))
                i += 2 + len(m.group(0))
            elif nxt in '01234567':
                m = re.match(r'[0-7]{1,3}', text[i + 1:])
                out.append(chr(int(m.group(0), 8)))
                i += 1 + len(m.group(0))
            else:
                out.append(nxt)
                i += 2
        else:
            out.append(ch)
            i += 1
    return ''.join(out), i + 1


def split_arguments(text, i):
    """text[i] is just after '(': returns the top-level arguments as source text."""
    args, depth, start = [], 0, i
    while i < len(text):
        ch = text[i]
        if ch in '"\'':
            quote = ch
            i += 1
            while i < len(text) and text[i] != quote:
                i += 2 if text[i] == '\\' else 1
        elif text.startswith('/*', i) or text.startswith('//', i):
            i = skip_space_and_comments(text, i) - 1
        elif ch in '([{':
            depth += 1
        elif ch in ')]}':
            if depth == 0:
                args.append(text[start:i])
                return args
            depth -= 1
        elif ch == ',' and depth == 0:
            args.append(text[start:i])
            start = i + 1
        i += 1
    raise ValueError('unbalanced parentheses')


def literal_only(arg):
    """The concatenated value of an argument made only of string literals, else None."""
    parts, i = [], skip_space_and_comments(arg, 0)
    while i < len(arg):
        if arg[i] != '"':
            return None
        value, i = read_literal(arg, i)
        parts.append(value)
        i = skip_space_and_comments(arg, i)
    return ''.join(parts) if parts else None


def fragments(fmt):
    for piece in fmt.split('%%'):
        for frag in CONVERSION.split(piece):
            yield frag


def normalize(text):
    return re.sub(r'\s+', ' ', text)


with open(os.path.join(srcdir, 'docs', 'operations.md'), encoding='utf-8') as f:
    doc = normalize(f.read())

formats, checked, problems = 0, 0, []
for path in sorted(glob.glob(os.path.join(srcdir, 'plugin', '*.c'))):
    name = os.path.relpath(path, srcdir)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for m in CALL.finditer(text):
        line = text.count('\n', 0, m.start()) + 1
        line_start = text.rfind('\n', 0, m.start()) + 1
        if re.match(r'\s*(?:static\s+)?void\s+$', text[line_start:m.start()]):
            continue  # the definition of gate_logf, not a call
        try:
            args = split_arguments(text, m.end())
        except (ValueError, IndexError):
            problems.append('%s:%d: cannot read the arguments of %s(' % (name, line, m.group(1)))
            continue
        if m.group(1) == 'line_str':
            fmt = literal_only(args[1]) if len(args) >= 2 else None
            if fmt is None:
                continue  # a value, not text of the line
        else:
            fmt = literal_only(args[2]) if len(args) >= 3 else None
        if fmt is None:
            problems.append('%s:%d: the format of %s( is not a string literal; '
                            'this test cannot check it' % (name, line, m.group(1)))
            continue
        formats += 1
        for frag in fragments(fmt):
            frag = normalize(frag).strip()
            if len(frag) < 4 or not re.search(r'[A-Za-z0-9]', frag):
                continue
            checked += 1
            if frag not in doc:
                problems.append('%s:%d: %s' % (name, line, frag))

if formats == 0:
    problems.append('no gate_logf( or h->log( calls found under %s/plugin' % srcdir)
if problems:
    print('log lines missing from docs/operations.md (file:line: text):')
    for p in problems:
        print(p)
    sys.exit(1)
print('checked %d log formats (%d text fragments): every one is in docs/operations.md'
      % (formats, checked))
PY
