#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""docs/directives.md says what the code does.

Read from the code:
  - the command table of mod_orthanc_proxy.c: every AP_INIT_* entry, its
    name, its argument form (TAKE1, TAKE12, FLAG, RAW_ARGS ...), its
    handler and its req_override (RSRC_CONF, ACCESS_CONF, OR_*);
  - each handler's ap_check_cmd_context() flags (GLOBAL_ONLY,
    NOT_IN_DIR_LOC_FILE, NOT_IN_DIRECTORY ...), in its own body or in a
    static helper of its file that it calls;
  - the defaults: the constants the code falls back on (OP_DEFAULT_LEVEL,
    OP_CACHE_DEFAULT_*, OP_AUDIT_DEFAULT_*, the syslog facility and queue of
    audit_setup.c, the audit program of Makefile.am), for a FLAG the way the
    code reads the unset value (-1): "== 1" or "!= 1" means Off, "!= 0"
    means On; the few defaults that are "nothing is set" are in NOTHING
    below, each with the code that makes it so.

Checked against each "## NAME Directive" section of docs/directives.md,
whose table holds Description, Syntax, Default, Context, Override, Status
and Module, as httpd's manual pages do:
  - every directive of the command table has its section, and every section
    a directive;
  - each Syntax form has as many arguments as the argument form takes (FLAG
    is On|Off);
  - Context is what req_override and the context checks allow: "server
    config", "virtual host", "directory", with "(`<Location>` only)" when
    <Directory> and <Files> are refused; Override is None unless OR_* flags
    allow .htaccess;
  - Default is what the code falls back on (a remark in parentheses may
    follow it);
  - Status is Extension, Module mod_orthanc_proxy.

    directive_docs.py SRCDIR      (tests/static/directive_docs.sh runs it)
"""
import glob
import os
import re
import sys

problems = []


def fail(message):
    problems.append(message)


def read(srcdir, path):
    with open(os.path.join(srcdir, path), encoding='utf-8') as f:
        return f.read()


def c_string(text):
    """The value of adjacent C string literals."""
    return ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', text)).replace('\\"', '"')


# ------------------------------------------------------------------ the code
def command_table(source):
    body = re.search(r'static const command_rec \w+\[\] = \{(.*?)\n\};', source, re.S)
    if not body:
        fail('mod_orthanc_proxy.c: no command_rec table')
        return []
    commands = []
    for m in re.finditer(r'AP_INIT_(\w+)\(\s*"(\w+)"\s*,\s*(\w+)\s*,\s*([^,]+?)\s*,'
                         r'\s*([A-Z_| ]+?)\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)',
                         body.group(1)):
        form, name, handler, _info, override, help_text = m.groups()
        commands.append({'form': form, 'name': name, 'handler': handler,
                         'override': {w.strip() for w in override.split('|')},
                         'help': c_string(help_text)})
    declared = len(re.findall(r'AP_INIT_\w+\(', body.group(1)))
    if declared != len(commands):
        fail('mod_orthanc_proxy.c: read %d of the %d AP_INIT_* entries; '
             'directive_docs.py needs to learn their form' % (len(commands), declared))
    return commands


def functions(source):
    """name -> body, for the functions defined in SOURCE."""
    found = {}
    for m in re.finditer(r'^(?:static\s+)?[\w\s\*]+?\b(\w+)\(([^;{]*?)\)\s*\{(.*?)^\}',
                         source, re.S | re.M):
        found[m.group(1)] = m.group(3)
    return found


def context_flags(sources, handler):
    """The ap_check_cmd_context() flags that HANDLER applies."""
    for path, source in sources.items():
        funcs = functions(source)
        if handler not in funcs:
            continue
        flags = set()
        bodies = [funcs[handler]]
        for name, body in funcs.items():
            if name != handler and re.search(r'\b%s\(' % name, funcs[handler]):
                bodies.append(body)         # a helper of the same file
        for body in bodies:
            for m in re.finditer(r'ap_check_cmd_context\(\s*cmd\s*,([^)]*)\)', body):
                flags |= {w.strip() for w in m.group(1).split('|')}
        return path, funcs[handler], flags
    fail('no definition of %s in apache/' % handler)
    return None, '', set()


def expected_context(command, flags):
    override = command['override']
    contexts = []
    if 'RSRC_CONF' in override or 'OR_ALL' in override:
        contexts += ['server config', 'virtual host']
    if 'ACCESS_CONF' in override or 'OR_ALL' in override:
        contexts.append('directory')
    overrides = sorted(o for o in override if o.startswith('OR_') and o != 'OR_NONE')
    if overrides:
        contexts.append('.htaccess')
    if 'GLOBAL_ONLY' in flags:
        contexts = [c for c in contexts if c == 'server config']
    if flags & {'NOT_IN_VIRTUALHOST'}:
        contexts = [c for c in contexts if c != 'virtual host']
    if flags & {'NOT_IN_DIR_LOC_FILE', 'NOT_IN_DIR_CONTEXT'}:
        contexts = [c for c in contexts if c not in ('directory', '.htaccess')]
    if 'NOT_IN_HTACCESS' in flags:
        contexts = [c for c in contexts if c != '.htaccess']
    text = ', '.join(contexts)
    if 'directory' in contexts and {'NOT_IN_DIRECTORY', 'NOT_IN_FILES'} <= flags \
            and 'NOT_IN_LOCATION' not in flags:
        text += ' (`<Location>` only)'
    names = {'OR_AUTHCFG': 'AuthConfig', 'OR_FILEINFO': 'FileInfo', 'OR_INDEXES': 'Indexes',
             'OR_LIMIT': 'Limit', 'OR_OPTIONS': 'Options', 'OR_ALL': 'All'}
    override_text = ', '.join(names.get(o, o) for o in overrides) if overrides else 'None'
    return text, override_text


def define(source, macro, path):
    m = re.search(r'^#define %s (.+)$' % macro, source, re.M)
    if not m:
        fail('%s: no #define %s' % (path, macro))
        return None
    return m.group(1).strip()


def flag_default(sources, handler_body, name):
    """On or Off: how the code reads the field a FLAG leaves unset (-1)."""
    m = re.search(r'->(\w+) = on;', handler_body)
    if not m:
        fail('%s: its handler sets no field from "on"' % name)
        return None
    field = m.group(1)
    readings = set()
    for path, source in sources.items():
        if path.endswith('config.c') and path.startswith('apache/config'):
            continue                       # the merge, not a reading
        for r in re.finditer(r'(?:->|\.)%s\s*(==|!=)\s*([01])\b' % field, source):
            readings.add(r.groups())
    if readings == {('==', '1')} or readings == {('!=', '1')} \
            or readings == {('==', '1'), ('!=', '1')}:
        return 'Off'
    if readings and readings <= {('!=', '0'), ('==', '0')}:
        return 'On'
    fail('%s: the code reads its field %s as %s; directive_docs.py cannot tell '
         'the default' % (name, field, sorted(readings) or 'nothing'))
    return None


# Defaults that are "nothing set": the value the documentation gives, and
# where the code leaves it unset (read here, so that the citation holds).
NOTHING = {
    # a mapping exists only when this line is written
    'OrthancProxy': ('none', None),
    # rules: apache/config.c creates an empty list
    'OrthancProxyAllow': ('none', ('apache/config.c', r'conf->rules = apr_array_make')),
    'OrthancProxyDeny': ('none', ('apache/config.c', r'conf->rules = apr_array_make')),
    # apr_pcalloc'd directory configuration: no credentials, no header, no CORS
    'OrthancProxyCredentials': ('`OrthancProxyCredentials off`',
                                ('apache/config.c', r'op_dir_conf \*conf = apr_pcalloc')),
    'OrthancProxyUserHeader': ('`OrthancProxyUserHeader off`',
                               ('apache/config.c', r'op_dir_conf \*conf = apr_pcalloc')),
    'OrthancProxyCORS': ('`OrthancProxyCORS off`',
                         ('apache/config.c', r'op_dir_conf \*conf = apr_pcalloc')),
    # read and ignored
    'OrthancProxyCacheStore': ('none', None),
    # no line: the location is not restricted (studies_request.c declines)
    'OrthancProxyStudies': ('none', ('apache/studies/studies_request.c',
                                     r'->studies == NULL\) \{\s*return DECLINED')),
    # the outputs: none until written
    'OrthancProxyAuditLog': ('none', ('apache/audit/audit_config.c', r'apr_pcalloc\(p, sizeof\(\*conf\)\)')),
    'OrthancProxyAuditSite': ('none', ('apache/audit/audit_config.c', r'apr_pcalloc\(p, sizeof\(\*conf\)\)')),
}


def expected_default(srcdir, sources, command, handler_body):
    name = command['name']
    if command['form'] == 'FLAG':
        value = flag_default(sources, handler_body, name)
        return value and '`%s %s`' % (name, value)
    if name == 'OrthancProxyAccess':
        d = define(read(srcdir, 'logic/access_rules.h'), 'OP_DEFAULT_LEVEL', 'logic/access_rules.h')
        return d and '`%s %s`' % (name, d.replace('OP_LEVEL_', '').lower())
    if name == 'OrthancProxyCacheMaxAge':
        h = read(srcdir, 'apache/cache/cache_config.h')
        return '`%s %s %s`' % (name, define(h, 'OP_CACHE_DEFAULT_MAX_AGE_CONTENT', 'cache_config.h'),
                               define(h, 'OP_CACHE_DEFAULT_MAX_AGE_AGGREGATE', 'cache_config.h'))
    if name == 'OrthancProxyCacheMaxDelay':
        d = define(read(srcdir, 'apache/cache/cache_config.h'), 'OP_CACHE_DEFAULT_MAX_DELAY', 'cache_config.h')
        m = d and re.fullmatch(r'apr_time_from_sec\((\d+)\)', d)
        if not m:
            fail('OP_CACHE_DEFAULT_MAX_DELAY is %s, not apr_time_from_sec(N)' % d)
            return None
        return '`%s %s`' % (name, m.group(1))
    if name == 'OrthancProxyAuditWindow':
        h = read(srcdir, 'apache/audit/audit_config.h')
        return '`%s %s %s`' % (name, define(h, 'OP_AUDIT_DEFAULT_QUIET', 'audit_config.h'),
                               define(h, 'OP_AUDIT_DEFAULT_LONGEST', 'audit_config.h'))
    if name == 'OrthancProxyAuditSyslog':
        setup = read(srcdir, 'apache/audit/audit_setup.c')
        facility = re.search(r'conf->facility >= 0 \? conf->facility : (\d+)', setup)
        queue = re.search(r'conf->queue > 0 \? conf->queue : (\d+)', setup)
        names = re.search(r'NAMES\[\] = \{(.*?)\}', read(srcdir, 'apache/audit/audit_config.c'), re.S)
        if not (facility and queue and names):
            fail('OrthancProxyAuditSyslog: no default facility and queue in audit_setup.c')
            return None
        facility_name = re.findall(r'"(\w+)"', names.group(1))[int(facility.group(1))]
        return 'none (`facility=%s`, `queue=%s`)' % (facility_name, queue.group(1))
    if name == 'OrthancProxyAuditNode':
        request = read(srcdir, 'apache/audit/audit_request.c')
        if 'conf->node ? conf->node : r->server->server_hostname' not in request:
            fail('apache/audit/audit_request.c no longer falls back on ServerName '
                 'for the node')
        return "the virtual host's `ServerName`"
    if name == 'OrthancProxyAuditProgram':
        am = re.search(r"-DOP_AUDIT_PROGRAM='\"\$\(pkglibexecdir\)/([\w.-]+)\"'",
                       read(srcdir, 'Makefile.am'))
        install = read(srcdir, 'apache/audit/audit_config.c')
        fallback = re.search(r'#define OP_AUDIT_PROGRAM "([^"]+)"', install)
        if not (am and fallback):
            fail('OrthancProxyAuditProgram: no OP_AUDIT_PROGRAM in Makefile.am '
                 'and audit_config.c')
            return None
        return ('the installed `%s` (`$(pkglibexecdir)/%s`; Debian: `%s`)'
                % (am.group(1), am.group(1), fallback.group(1)))
    if name in NOTHING:
        value, cite = NOTHING[name]
        if cite and not re.search(cite[1], read(srcdir, cite[0])):
            fail('%s: directive_docs.py cites "%s" in %s for its default, which '
                 'is no longer there' % (name, cite[1], cite[0]))
        return value
    fail('%s: directive_docs.py does not know where its default comes from; '
         'add it to expected_default()' % name)
    return None


# ----------------------------------------------------------------- the page
def sections(page):
    found = {}
    for m in re.finditer(r'^## (\S+) Directive\n\n((?:\|.*\n)+)', page, re.M):
        fields = {}
        for line in m.group(2).splitlines():
            cells = re.match(r'^\|\s*([A-Za-z]+):\s*\|\s*(.*?)\s*\|$', line)
            if cells:
                fields[cells.group(1)] = cells.group(2).replace('\\|', '|')
        if m.group(1) in found:
            fail('docs/directives.md: %s has two sections' % m.group(1))
        found[m.group(1)] = fields
    return found


def syntax_counts(form_text, name):
    """(required, optional, repeats) arguments of one Syntax form."""
    words = form_text.split()
    if not words or words[0] != name:
        fail('%s: the syntax "%s" does not start with its name' % (name, form_text))
        return None
    required = optional = 0
    repeats = False
    depth = 0
    for word in words[1:]:
        if word.startswith('['):
            depth += word.count('[')
            optional += 1
        elif depth == 0:
            required += 1
        depth -= word.count(']') - (0 if word.startswith('[') else 0)
        if '...' in word:
            repeats = True
    return required, optional, repeats


def check_syntax(command, syntax):
    name, form = command['name'], command['form']
    forms = re.findall(r'`([^`]+)`', syntax)
    if not forms:
        fail('%s: no `Syntax` form' % name)
        return
    counts = set()
    for text in forms:
        c = syntax_counts(text, name)
        if c is None:
            continue
        required, optional, repeats = c
        if form == 'FLAG':
            if text.split()[1:] != ['On|Off']:
                fail('%s takes On|Off (AP_INIT_FLAG), not "%s"' % (name, text))
            continue
        if form in ('RAW_ARGS', 'ITERATE', 'ITERATE2', 'TAKE_ARGV'):
            if form.startswith('ITERATE') and not repeats:
                fail('%s takes a list (AP_INIT_%s): say "..."' % (name, form))
            continue
        if repeats:
            fail('%s: "%s" repeats an argument; AP_INIT_%s takes a fixed number'
                 % (name, text, form))
        allowed = {'NO_ARGS': (0, 0), 'TAKE1': (1, 1), 'TAKE2': (2, 2), 'TAKE3': (3, 3),
                   'TAKE12': (1, 2), 'TAKE13': (1, 3), 'TAKE23': (2, 3),
                   'TAKE123': (1, 3)}.get(form)
        if allowed is None:
            fail('%s: directive_docs.py does not know AP_INIT_%s' % (name, form))
            continue
        low, high = required, required + optional
        if low < allowed[0] or high > allowed[1]:
            fail('%s: "%s" takes %d to %d arguments; AP_INIT_%s takes %d to %d'
                 % (name, text, low, high, form, allowed[0], allowed[1]))
        counts.add(low)
        counts.add(high)
    if form in ('TAKE12', 'TAKE13', 'TAKE23', 'TAKE123') and len(counts) < 2:
        fail('%s: AP_INIT_%s takes a varying number of arguments; no syntax '
             'form shows the optional ones' % (name, form))


def main():
    srcdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.')
    sources = {}
    for path in sorted(glob.glob(os.path.join(srcdir, 'apache', '**', '*.c'), recursive=True)):
        sources[os.path.relpath(path, srcdir)] = read(srcdir, os.path.relpath(path, srcdir))
    commands = command_table(read(srcdir, 'mod_orthanc_proxy.c'))
    page = read(srcdir, 'docs/directives.md')
    documented = sections(page)

    for name in sorted(set(documented) - {c['name'] for c in commands}):
        fail('docs/directives.md documents %s, which the command table of '
             'mod_orthanc_proxy.c does not have' % name)
    for command in commands:
        name = command['name']
        fields = documented.get(name)
        if fields is None:
            fail('%s (mod_orthanc_proxy.c) has no "## %s Directive" section in '
                 'docs/directives.md' % (name, name))
            continue
        for key in ('Description', 'Syntax', 'Default', 'Context', 'Override',
                    'Status', 'Module'):
            if not fields.get(key):
                fail('%s: no %s: line' % (name, key))
        if fields.get('Status') != 'Extension':
            fail('%s: Status is "%s", not Extension' % (name, fields.get('Status')))
        if fields.get('Module') != 'mod_orthanc_proxy':
            fail('%s: Module is "%s", not mod_orthanc_proxy' % (name, fields.get('Module')))
        check_syntax(command, fields.get('Syntax', ''))

        path, body, flags = context_flags(sources, command['handler'])
        context, override = expected_context(command, flags)
        if fields.get('Context') != context:
            fail('%s: Context is "%s"; the code (%s, %s) allows "%s"'
                 % (name, fields.get('Context'), ' | '.join(sorted(command['override'])),
                    ' | '.join(sorted(flags)) or 'no context check', context))
        if fields.get('Override') != override:
            fail('%s: Override is "%s"; the code says "%s"'
                 % (name, fields.get('Override'), override))

        default = expected_default(srcdir, sources, command, body)
        documented_default = fields.get('Default', '')
        if default is not None and documented_default != default \
                and not documented_default.startswith(default + ' ('):
            fail('%s: Default is "%s"; the code says "%s"'
                 % (name, fields.get('Default'), default))

    if problems:
        sys.stderr.write('directive_docs: %d problem(s) in docs/directives.md:\n'
                         % len(problems))
        for p in problems:
            sys.stderr.write('  %s\n' % p)
        return 1
    print('directive_docs: the %d directives of the command table are documented '
          'as the code has them' % len(commands))
    return 0


if __name__ == '__main__':
    sys.exit(main())
