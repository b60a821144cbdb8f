# SPDX-License-Identifier: Apache-2.0
"""The module reads every request target as Orthanc does: proven against a
running Orthanc, not against a second copy of the module's assumptions.

Generated targets (tests/e2e/path_targets.py) go twice to one Orthanc: once
straight, once through the module under an `admin` mapping (so that only
the reading of the target can refuse them).  Orthanc's Lua filter
IncomingHttpRequestFilter receives the URI Orthanc routes, after civetweb
has decoded and cleaned it, and the method after overrides; it records them
and refuses the request, so nothing is executed.  Apache's access log
records what the module decided (`%m %U`: the effective method and the
canonical path it checked).

For every target the module forwards, the method and the route must be the
same three times: decided by the module, executed by Orthanc for the
forwarded request, and executed by Orthanc for the same target sent
straight.  Refusing is always allowed (the module fails closed); forwarding
a target Orthanc would route elsewhere, or not at all, is a failure.  One
difference from the target sent straight is by design: Orthancs on
civetweb 1.16 (1.12.7 and later) read a raw '+' in the path as a space,
while the module reads it as RFC 3986 does and forwards %2B, which every
release reads as a plus (plus_read_as_space).

The suite runs against every Orthanc of the version matrix (OP_ORTHANC_ROOT,
tests/e2e/orthanc_roots.py): query strings that releases read differently
must be refused on each, whichever way that one reads them.

OP_DIFF_TARGETS sets the number of targets (default 400, the long run uses
10,000 or more); OP_DIFF_SEED another seed.
"""

import collections
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import parse_responses, raw_request
import path_targets

COUNT = int(os.environ.get("OP_DIFF_TARGETS", "400"))
SEED = int(os.environ.get("OP_DIFF_SEED", "20261201"))

# Records the route Orthanc picked for a tagged request (hexadecimal, so
# that any byte survives the log), then refuses it: nothing runs.
ORACLE_FILTER = r"""
local function hex(text)
  return (string.gsub(text, '.', function(c)
    return string.format('%02x', string.byte(c))
  end))
end

function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  local id = httpHeaders['x-diff-id']
  if id == nil then
    return true
  end
  print('OP-DIFF ' .. id .. ' ' .. method .. ' ' .. hex(uri))
  return false
end
"""

PREFIX = "/orthanc"


@pytest.fixture(scope="module")
def oracle(module_dir, make_module_orthanc):
    script = os.path.join(module_dir, "oracle.lua")
    with open(script, "w") as f:
        f.write(ORACLE_FILTER)
    return make_module_orthanc(name="oracle",
                               settings={"LuaScripts": [script]})


@pytest.fixture(scope="module")
def proxy(oracle, make_module_apache):
    return make_module_apache(f"""
LogFormat "%{{{{X-Diff-Id}}}}i %>s %m %U" decision
CustomLog "{{workdir}}/decisions.log" decision
OrthancProxy {PREFIX}/ {oracle.url}/
<Location {PREFIX}/>
    OrthancProxyAccess admin
</Location>
""")


def request_bytes(method, target, headers, tag):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1",
             f"X-Diff-Id: {tag}", "Connection: close"]
    if method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    lines += headers
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send(port, data):
    """(status, body) of the answer; (None, b"") when there is none."""
    responses = parse_responses(raw_request(port, data, timeout=10))
    return (responses[0][0], responses[0][2]) if responses else (None, b"")


def oracle_records(server, tags):
    """{tag: (method, uri bytes)} from the Lua filter's log lines."""
    records = {}
    for line in server.log_text().splitlines():
        m = re.search(r"OP-DIFF (\S+) (\S+) ([0-9a-f]*)$", line)
        if m and m.group(1) in tags:
            records[m.group(1)] = (m.group(2), bytes.fromhex(m.group(3)))
    return records


_LOG_ESCAPES = {"\\\\": b"\\", '\\"': b'"', "\\n": b"\n", "\\r": b"\r",
                "\\t": b"\t", "\\b": b"\b", "\\v": b"\v"}


def unescape_logitem(text):
    """Undoes Apache's ap_escape_logitem()."""
    out, i = b"", 0
    while i < len(text):
        if text.startswith("\\x", i):
            out += bytes([int(text[i + 2:i + 4], 16)])
            i += 4
        elif text[i:i + 2] in _LOG_ESCAPES:
            out += _LOG_ESCAPES[text[i:i + 2]]
            i += 2
        else:
            out += text[i].encode("latin-1")
            i += 1
    return out


def decisions(apache):
    """{tag: (status, method, canonical path bytes)} from the access log."""
    found = {}
    with open(os.path.join(apache.workdir, "decisions.log"),
              encoding="latin-1") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) == 4:
                found[parts[0]] = (int(parts[1]), parts[2],
                                   unescape_logitem(parts[3]))
    return found


def route(path):
    """Orthanc's route: the path's segments (a trailing '/' routes alike)."""
    return [s for s in path.split(b"/") if s]


def plus_read_as_space(target, straight, forwarded):
    """Whether STRAIGHT and FORWARDED ((method, uri) as Orthanc ran them)
    differ only in that this Orthanc's civetweb (1.16: Orthanc 1.12.7 and
    later) read a raw '+' of TARGET's path as a space.  The module reads
    '+' as RFC 3986 does, a plus, and forwards %2B, which every release
    reads as a plus: what it decided is what runs, on every release."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    return ("+" in path and straight[0] == forwarded[0]
            and route(straight[1]) == route(forwarded[1].replace(b"+", b" ")))


def refused_by_proxy(body):
    """Whether a response body is the proxy's own JSON error."""
    try:
        return "message" in json.loads(body)
    except ValueError:
        return False


def wait_for_records(server, tags, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        records = oracle_records(server, tags)
        if len(records) == len(tags) or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def run_campaign(oracle, proxy, targets):
    def straight(t):
        return send(oracle.http_port, request_bytes(
            t.method, t.target, t.headers, f"d{t.number}"))

    def proxied(t):
        return send(proxy.port, request_bytes(
            t.method, PREFIX + t.target, t.headers, f"p{t.number}"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        straight_answers = list(pool.map(straight, targets))
        proxied_answers = list(pool.map(proxied, targets))
    # A last tagged request on each path tells when the logs are complete.
    sentinel = path_targets.Target(-1, "GET", "/system", [], {"plain"})
    straight(sentinel)
    proxied(sentinel)
    tags = {f"{side}{t.number}" for t in targets + [sentinel]
            for side in "dp"}
    wait_for_records(oracle, {"d-1", "p-1"})
    return (straight_answers, proxied_answers, oracle_records(oracle, tags),
            decisions(proxy))


def reason_of(body):
    try:
        return json.loads(body)["message"]
    except (ValueError, KeyError):
        return body[:80]


def compare(targets, proxied_answers, records, decided):
    """(outcome counts by class, failures, examples of refusals of targets
    Orthanc routes, by class of the targets that have one class only)."""
    outcomes = collections.defaultdict(collections.Counter)
    failures = []
    examples = collections.defaultdict(list)
    for t, (status, body) in zip(targets, proxied_answers):
        straight = records.get(f"d{t.number}")
        forwarded = records.get(f"p{t.number}")
        decision = decided.get(f"p{t.number}")
        if forwarded is None:
            if status is not None and status >= 500:
                outcome = f"FAILED {status}"
                failures.append(f"{t}: the proxy answered {status}")
            elif status == 400 and not refused_by_proxy(body):
                outcome = "FORWARDED, Orthanc could not read it"
                failures.append(f"{t}: Orthanc answered 400 to what the "
                                f"module forwarded")
            else:
                outcome = f"refused {status}"
                if straight is not None:
                    outcome += " (Orthanc would route it)"
                    alone = t.classes - {"plain"}
                    if len(alone) == 1:
                        examples[min(alone)].append(
                            f"{t.method} {t.target!r}: {reason_of(body)}")
        else:
            outcome = "same route"
            problems = []
            if decision is None:
                problems.append("no decision in the access log")
            else:
                d_status, d_method, d_path = decision
                if not d_path.startswith(PREFIX.encode() + b"/"):
                    problems.append(f"decided outside the prefix: {d_path!r}")
                elif route(d_path)[1:] != route(forwarded[1]):
                    problems.append(f"decided {d_path!r}, Orthanc routed "
                                    f"{forwarded[1]!r}")
                if d_method != forwarded[0]:
                    problems.append(f"decided {d_method}, Orthanc ran "
                                    f"{forwarded[0]}")
            if straight is None:
                problems.append(f"forwarded as {forwarded}, but Orthanc "
                                f"straight does not route it")
            elif (route(straight[1]), straight[0]) != \
                    (route(forwarded[1]), forwarded[0]):
                if plus_read_as_space(t.target, straight, forwarded):
                    outcome = "same route, '+' forwarded as %2B"
                else:
                    problems.append(f"straight: {straight[0]} "
                                    f"{straight[1]!r}, through the module: "
                                    f"{forwarded[0]} {forwarded[1]!r}")
            if problems:
                outcome = "MISMATCH"
                failures.append(f"{t}: " + "; ".join(problems))
        for kind in t.classes:
            outcomes[kind][outcome] += 1
        outcomes["all"][outcome] += 1
    return outcomes, failures, examples


def report(outcomes, examples):
    lines = [f"differential reading test: {COUNT} targets, seed {SEED}"]
    for kind in ("all",) + path_targets.CLASSES:
        if kind in outcomes:
            counts = ", ".join(f"{n} {what}" for what, n in
                               sorted(outcomes[kind].items()))
            lines.append(f"  {kind:18} {counts}")
    lines.append("refused although Orthanc routes them (one class only):")
    for kind, found in sorted(examples.items()):
        lines += [f"  {kind}: {example}" for example in found[:3]]
    return "\n".join(lines)


def test_module_routes_every_target_as_orthanc_does(oracle, proxy):
    targets = path_targets.generate(COUNT, SEED)
    _, proxied_answers, records, decided = run_campaign(oracle, proxy,
                                                        targets)
    outcomes, failures, examples = compare(targets, proxied_answers, records,
                                           decided)
    summary = report(outcomes, examples)
    print(summary)
    assert not failures, f"{len(failures)} mismatches:\n" + \
        "\n".join(failures[:50])
    # The campaign must exercise forwarding, not only refusals.
    assert outcomes["all"]["same route"] > COUNT // 3, summary
    for kind in ("trailing-dots", "dot-segments", "encoded-separator",
                 "backslash", "encoded-letters", "query", "plus"):
        assert outcomes[kind]["same route"] \
            + outcomes[kind]["same route, '+' forwarded as %2B"] > 0, summary
