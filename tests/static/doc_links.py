#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every relative link of the manual leads somewhere.

The pages are README.md, docs/*.md, bench/README.md and NEWS.md.  A link
[text](path), [text](path#anchor), [text](#anchor) or a reference
definition "[name]: path" must name a file or folder of the source tree,
and an anchor in a Markdown file must be one of its headings as GitHub
spells them: the heading's text in lower case, without its Markdown
(backticks, emphasis, link targets) and punctuation other than '-' and
'_', spaces turned into '-', and "-1", "-2" ... added to the second and
later headings that give the same anchor.  An <a id="..."> or
<a name="..."> counts too.  Links inside code (fenced blocks, `spans`)
are not links, and addresses with a scheme (https:, mailto:) are not
checked: the test runs offline.

    doc_links.py SRCDIR      (tests/static/doc_links.sh runs it)
"""
import glob
import os
import re
import sys

FENCE = re.compile(r'^\s*(```|~~~)')
HEADING = re.compile(r'^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
INLINE_LINK = re.compile(r'\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
REF_DEF = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)')
HTML_ANCHOR = re.compile(r'<a\s+(?:id|name)="([^"]+)"', re.I)


def outside_fences(text):
    """The lines outside fenced code blocks, as they are."""
    fence = None
    for line in text.split('\n'):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is None:
            yield line


def prose_lines(text):
    """The lines outside fenced code, with their code spans blanked."""
    for line in outside_fences(text):
        yield re.sub(r'(`+)(?:(?!\1).)+?\1', lambda s: ' ' * len(s.group(0)), line)


def slug(heading):
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)   # [text](url)
    text = re.sub(r'<[^>]+>', '', text)                          # HTML tags
    text = text.lower()
    text = re.sub(r'[^\w\- ]', '', text)    # \w keeps letters, digits, '_'
    return text.replace(' ', '-')


def anchors(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    found, seen = set(), {}
    for line in outside_fences(text):
        found.update(HTML_ANCHOR.findall(line))
        m = HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else '%s-%d' % (base, n))
    return found


def main():
    srcdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.')
    pages = ['README.md', 'NEWS.md', 'bench/README.md']
    pages += sorted(os.path.relpath(p, srcdir)
                    for p in glob.glob(os.path.join(srcdir, 'docs', '*.md')))
    cache = {}
    problems = []
    links = 0
    for page in pages:
        path = os.path.join(srcdir, page)
        if not os.path.exists(path):
            problems.append('%s: missing' % page)
            continue
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for number, line in enumerate(prose_lines(text), 1):
            targets = INLINE_LINK.findall(line)
            m = REF_DEF.match(line)
            if m:
                targets.append(m.group(1))
            for target in targets:
                if re.match(r'^[A-Za-z][A-Za-z0-9+.-]*:', target):
                    continue            # https:, mailto: ...
                links += 1
                file_part, _, anchor = target.partition('#')
                if file_part:
                    if file_part.startswith('/'):
                        problems.append('%s:%d: %s: an absolute path; write it relative to %s'
                                        % (page, number, target, os.path.dirname(page) or 'the top'))
                        continue
                    dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
                    if not dest.startswith(srcdir + os.sep) or not os.path.exists(dest):
                        problems.append('%s:%d: %s: no such file' % (page, number, target))
                        continue
                else:
                    dest = path
                if anchor and dest.endswith('.md'):
                    if dest not in cache:
                        cache[dest] = anchors(dest)
                    if anchor not in cache[dest]:
                        problems.append('%s:%d: %s: no heading gives #%s in %s'
                                        % (page, number, target, anchor,
                                           os.path.relpath(dest, srcdir)))
    if problems:
        sys.stderr.write('doc_links: %d broken link(s):\n' % len(problems))
        for p in problems:
            sys.stderr.write('  %s\n' % p)
        return 1
    print('doc_links: %d relative links in %d pages lead somewhere' % (links, len(pages)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
