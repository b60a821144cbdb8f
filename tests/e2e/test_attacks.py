# SPDX-License-Identifier: Apache-2.0
"""The attack table: path, method and framing tricks against a `read` and an
`upload` mapping, each checked for its EFFECT on Orthanc.

One real Orthanc (Lua enabled, writes to its file system allowed, a Lua
filter logging every request it receives; each Orthanc of the version
matrix in turn, tests/e2e/orthanc_roots.py) sits behind three Apaches
that differ only in AllowEncodedSlashes (Off, NoDecode, On).  Each Apache
maps it twice, in <Location> sections:

    /orthanc/   OrthancProxyAccess read
    /upload/    OrthancProxyAccess upload

Every row of ATTACKS is run twice, as two named tests:

- test_attack_through_the_proxy[row]: the request goes to Apache byte for
  byte (a raw socket: nothing on the client side normalises it).  The
  proxy's answer must be the row's status (its own JSON error document when
  it refuses on the prefix), the effect must not have happened on Orthanc,
  and Orthanc must not have received anything through the proxy but the
  row's `reaches` (the canonical requests an allowed, harmless request
  becomes).
- test_trick_straight_to_orthanc[row]: the same trick, without the prefix,
  sent to Orthanc's own port.  For most rows it has its effect there, which
  shows the row tests something real; where `direct` is False, Orthanc
  itself ignores the trick (the row's `why` says how): the proxy refuses it
  all the same, or forwards only its harmless canonical form.  Where
  releases differ (query strings), `direct` says on which it has its
  effect, and the proxy refuses it on all of them.

Effects, each prepared before and undone after every test:
- a patient, study or instance is deleted (CT_small is re-uploaded after),
- a Lua script writes a marker file (/tools/execute-script),
- the log level changes (PUT /tools/log-level verbose),
- an export writes a file (POST /instances/{id}/export),
- Orthanc stores a new instance (the instance set changes).

Request templates: '{P}' is the mapping's prefix without its trailing slash
('' straight to Orthanc), '{authority}' the host:port of the server the
request goes to, '{patient}', '{study}', '{instance}' the identifiers the
effect prepared, '{body}' the effect's body ('verbose', a Lua script, an
export path, DICOM bytes), '{len:a+b}' the length of those values.
The smuggling rows hide '{hidden}', a DELETE of the patient, behind the
body of an allowed POST /tools/find ('{find}', '{find_chunked}').

A row that fails because its effect happened through the proxy is a module
bug: its message shows the raw request, what Orthanc received through the
proxy and the new error.log lines.
"""

import gzip
import json
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass

import pytest
import requests

from harness import SAMPLE_DIR, basic_accounts, orthanc_decodes_query, \
    orthanc_version, parse_responses, raw_request, wait_until

TIMEOUT = 60            # for requests the test itself makes to Orthanc
RAW_TIMEOUT = 8         # silence after which a raw connection is given up
CT_SMALL = os.path.join(SAMPLE_DIR, "CT_small.dcm")
MR_SMALL = os.path.join(SAMPLE_DIR, "MR_small.dcm")
OVERRIDE = "X-HTTP-Method-Override"
STOW_TYPE = ('Content-Type: multipart/related; type="application/dicom"; '
             'boundary=attack-boundary')


DECODES_QUERY = orthanc_decodes_query


# ---------------------------------------------------------------------------
# Request templates

AUTO = object()


def http(method, target, *headers, body=AUTO, length=True, close=True,
         host=True, eol="\r\n"):
    """A request template.  BODY names the value sent as the body (the
    effect's 'body' for POST and PUT unless told otherwise; None: no body),
    framed by a Content-Length unless LENGTH is False."""
    if body is AUTO:
        body = "body" if method in ("POST", "PUT") else None
    lines = [f"{method} {target} HTTP/1.1"]
    if host:
        lines.append("Host: {authority}")
    lines += headers
    if body and length:
        lines.append(f"Content-Length: {{len:{body}}}")
    if close:
        lines.append("Connection: close")
    return eol.join(lines) + eol + eol + (f"{{{body}}}" if body else "")


# A POST the read and upload levels both allow, and the request a
# smuggling attempt hides behind it, in Orthanc's own form (no prefix
# straight to Orthanc, the prefix through the proxy).
FIND = b'{"Level":"Patient","Query":{}}'
HIDDEN_DELETE = ("DELETE {P}/patients/{patient} HTTP/1.1\r\n"
                 "Host: {authority}\r\nConnection: close\r\n\r\n")


def smuggle(framing, body):
    """POST /tools/find with the framing header lines FRAMING and the body
    template BODY; the connection is left open for the hidden request."""
    return ("POST {P}/tools/find HTTP/1.1\r\nHost: {authority}\r\n"
            + "".join(line + "\r\n" for line in framing) + "\r\n" + body)


def chunked(data):
    if not data:
        return b"0\r\n\r\n"
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


PLACEHOLDER = re.compile(rb"\{(len:)?([A-Za-z_+]+)\}")


def render(template, values):
    """TEMPLATE (text, latin-1) with its placeholders filled from VALUES."""
    def fill(match):
        names = match.group(2).decode().split("+")
        if match.group(1):
            return str(sum(len(values[n]) for n in names)).encode()
        return values[names[0]]
    return PLACEHOLDER.sub(fill, template.encode("latin-1"))


# ---------------------------------------------------------------------------
# Orthanc, as the tests themselves see it (straight, never through Apache)

def orthanc_request(env, method, path, **kwargs):
    return requests.request(method, env.orthanc.url + path, timeout=TIMEOUT,
                            **kwargs)


def store_ct(env):
    with open(CT_SMALL, "rb") as f:
        r = orthanc_request(env, "POST", "/instances", data=f.read())
    r.raise_for_status()
    return r.json()


def instance_ids(env):
    return set(orthanc_request(env, "GET", "/instances").json())


def log_level(env):
    return orthanc_request(env, "GET", "/tools/log-level").text


# ---------------------------------------------------------------------------
# Effects: prepare() gives the values a request needs, happened() tells
# whether the trick worked on Orthanc, undo() puts Orthanc back.

class Deleted:
    """A resource of CT_small is deleted."""

    def __init__(self, level):
        self.level = level                      # patients, studies, instances
        self.key = {"patients": "patient", "studies": "study",
                    "instances": "instance"}[level]
        self.what = f"the {self.key} is deleted"

    def prepare(self, env):
        stored = store_ct(env)
        return {"patient": stored["ParentPatient"].encode(),
                "study": stored["ParentStudy"].encode(),
                "series": stored["ParentSeries"].encode(),
                "instance": stored["ID"].encode(),
                "body": b""}

    def happened(self, env, values):
        path = f"/{self.level}/{values[self.key].decode()}"
        return orthanc_request(env, "GET", path).status_code == 404

    def undo(self, env, values):
        store_ct(env)                           # re-upload what was deleted


class RunsScript:
    """POST /tools/execute-script runs a Lua script that writes a marker."""

    what = "the Lua script ran"

    def prepare(self, env):
        marker = os.path.join(env.tmp, f"ran-{uuid.uuid4().hex}")
        script = f'local f = io.open("{marker}", "w") f:write("x") f:close()'
        return {"body": script.encode(), "_marker": marker}

    def happened(self, env, values):
        return os.path.exists(values["_marker"])

    def undo(self, env, values):
        if os.path.exists(values["_marker"]):
            os.remove(values["_marker"])


class SetsLogLevel:
    """PUT /tools/log-level 'verbose'."""

    what = "the log level changed"

    def prepare(self, env):
        orthanc_request(env, "PUT", "/tools/log-level", data="default")
        assert log_level(env) == "default"
        return {"body": b"verbose"}

    def happened(self, env, values):
        return log_level(env) != "default"

    def undo(self, env, values):
        orthanc_request(env, "PUT", "/tools/log-level", data="default")


class Exports:
    """POST /instances/{id}/export writes the instance to a server path."""

    what = "an export file was written"

    def prepare(self, env):
        target = os.path.join(env.tmp, f"export-{uuid.uuid4().hex}.dcm")
        return {"instance": store_ct(env)["ID"].encode(),
                "body": target.encode(), "_target": target}

    def happened(self, env, values):
        return os.path.exists(values["_target"])

    def undo(self, env, values):
        if os.path.exists(values["_target"]):
            os.remove(values["_target"])


class Stores:
    """Orthanc stores a new instance: MR_small (as it is, gzipped, or in a
    STOW-RS body) or one /tools/create-dicom makes."""

    what = "a new instance was stored"

    def __init__(self, form="dicom"):
        self.form = form

    def body(self, env):
        with open(MR_SMALL, "rb") as f:
            dicom = f.read()
        if self.form == "gzip":
            return gzip.compress(dicom)
        if self.form == "stow":
            return (b"--attack-boundary\r\nContent-Type: application/dicom\r\n"
                    b"\r\n" + dicom + b"\r\n--attack-boundary--\r\n")
        if self.form == "create-dicom":
            return json.dumps({"Tags": {
                "PatientName": "ATTACK^CREATED",
                "PatientID": f"attack-{uuid.uuid4().hex[:12]}"}}).encode()
        return dicom

    def prepare(self, env):
        orthanc_request(env, "DELETE", f"/instances/{env.mr_instance}")
        body = self.body(env)
        return {"body": body, "body_chunked": chunked(body),
                "_before": instance_ids(env)}

    def happened(self, env, values):
        before, after = values["_before"], instance_ids(env)
        return len(after) != len(before) or after != before

    def undo(self, env, values):
        for new in instance_ids(env) - values["_before"]:
            orthanc_request(env, "DELETE", f"/instances/{new}")


PATIENT = Deleted("patients")
STUDY = Deleted("studies")
INSTANCE = Deleted("instances")
SCRIPT = RunsScript()
LOG_LEVEL = SetsLogLevel()
EXPORT = Exports()
STORE = Stores()


# ---------------------------------------------------------------------------
# The mappings

READ, UPLOAD = "read", "upload"
READ_NODECODE, UPLOAD_NODECODE = "read/NoDecode", "upload/NoDecode"
READ_ON, UPLOAD_ON = "read/On", "upload/On"
# The shapes where a path the module reads differently from Orthanc would
# walk past an explicit refusal, not past an unknown route: an admin
# mapping with Deny rules, a wildcard Allow next to narrower Denies, and
# nested <Location> sections with Require (every request of the table goes
# as alice, a valid user who is not root).
ADMIN_DENY, WILD, NESTED = "admin+deny", "read+allow+deny", "nested-require"

SITE = """
KeepAliveTimeout 1
AllowEncodedSlashes {encoded_slashes}
<Location /orthanc/>
    OrthancProxy {url}/
    OrthancProxyAccess read
</Location>
<Location /upload/>
    OrthancProxy {url}/
    OrthancProxyAccess upload
</Location>
"""


RULES_SITE = """
KeepAliveTimeout 1
<Location /admin/>
    OrthancProxy {url}/
    OrthancProxyAccess admin
    OrthancProxyDeny * /tools/log-level
    OrthancProxyDeny POST /tools/execute-script
    OrthancProxyDeny DELETE /patients/**
</Location>
<Location /wild/>
    OrthancProxy {url}/
    OrthancProxyAccess read
    OrthancProxyAllow * /tools/**
    OrthancProxyDeny POST /tools/execute-script
    OrthancProxyDeny PUT /tools/log-level
</Location>
<Location /nested/>
    OrthancProxy {url}/
    OrthancProxyAccess admin
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    Require valid-user
</Location>
<Location /nested/tools/>
    Require user root
</Location>
"""
RULES_MODULES = ("auth_basic", "authn_core", "authn_file", "authz_user")
# alice:alice, sent with every request to the nested mapping.
ALICE = "Authorization: Basic YWxpY2U6YWxpY2U="


# ---------------------------------------------------------------------------
# The table

DROPPED = "Orthanc drops absolute-form requests unanswered"


@dataclass(frozen=True)
class Attack:
    name: str
    mapping: str            # READ, UPLOAD, READ_ON ...
    effect: object          # what the trick does on Orthanc
    request: str            # template, see the module's docstring
    status: object          # the proxy's answer: an int, None (no answer at
                            # all) or a tuple (pipelined answers, in order)
    direct: object = True   # the effect happens straight to Orthanc (a
                            # bool, or a function of the Orthanc under test)
    json: bool = True       # refusals carry the proxy's JSON document
    reaches: tuple = ()     # (method, uri) Orthanc may receive via the proxy
    direct_request: str = None   # Orthanc's form, when not REQUEST itself
    why: str = ""


ATTACKS = [
    # ------------------------------- trailing dots (civetweb strips them)
    Attack("trailing dot past a Deny", ADMIN_DENY, LOG_LEVEL,
           http("PUT", "{P}/tools/log-level."), 403),
    Attack("trailing dots past a Deny", ADMIN_DENY, SCRIPT,
           http("POST", "{P}/tools/execute-script..."), 403),
    Attack("encoded trailing dot past a Deny", ADMIN_DENY, LOG_LEVEL,
           http("PUT", "{P}/tools/log-level%2e"), 403),
    Attack("mixed trailing dots past a Deny", ADMIN_DENY, SCRIPT,
           http("POST", "{P}/tools/execute-script%2E."), 403),
    Attack("trailing dot on a parent past a Deny **", ADMIN_DENY, PATIENT,
           http("DELETE", "{P}/patients./{patient}"), 403),
    Attack("dots-only segment past a Deny", ADMIN_DENY, LOG_LEVEL,
           http("PUT", "{P}/tools/.../log-level"), 403),
    Attack("dotted override past a Deny", ADMIN_DENY, PATIENT,
           http("GET", "{P}/patients%2e/{patient}.?_method=delete"), 403),
    Attack("trailing dot past a Deny beside a wildcard Allow", WILD, SCRIPT,
           http("POST", "{P}/tools/execute-script."), 403),
    Attack("trailing dots past a Deny beside a wildcard Allow", WILD,
           LOG_LEVEL, http("PUT", "{P}/tools./log-level.."), 403),
    Attack("dots-only segment beside a wildcard Allow", WILD, SCRIPT,
           http("POST", "{P}/tools/..../execute-script"), 403),
    Attack("trailing dot outside the wildcard Allow", WILD, PATIENT,
           http("DELETE", "{P}/patients/{patient}."), 403),
    Attack("trailing dot past a nested Require", NESTED, SCRIPT,
           http("POST", "{P}/tools./execute-script", ALICE), 401),
    Attack("encoded trailing dot past a nested Require", NESTED, LOG_LEVEL,
           http("PUT", "{P}/tools%2e/log-level", ALICE), 401),
    Attack("dots-only segment past a nested Require", NESTED, SCRIPT,
           http("POST", "{P}/.../tools../execute-script", ALICE), 401),
    Attack("climbing back with a trailing dot past a nested Require", NESTED,
           LOG_LEVEL, http("PUT", "{P}/patients/../tools./log-level", ALICE),
           401),

    # ------------------------------------------------------ path variants
    Attack("execute-script", READ, SCRIPT,
           http("POST", "{P}/tools/execute-script"), 403),
    Attack("double slashes", READ, SCRIPT,
           http("POST", "{P}//tools//execute-script"), 403),
    Attack("dot segments /./", UPLOAD, SCRIPT,
           http("POST", "{P}/./tools/./execute-script"), 403),
    Attack("dot-dot segment /x/../", READ, SCRIPT,
           http("POST", "{P}/instances/../tools/execute-script"), 403),
    Attack("encoded dots %2e%2e", UPLOAD, SCRIPT,
           http("POST", "{P}/x/%2e%2e/tools/execute-script"), 403),
    Attack("half-encoded dots %2E.", READ, SCRIPT,
           http("POST", "{P}/x/%2E./tools/execute-script"), 403),
    Attack("mixed-case escapes %2e%2E", UPLOAD, PATIENT,
           http("GET", "{P}/patients/x/%2e%2E/{patient}?_method=delete"), 403),
    Attack("encoded slash %2f (AllowEncodedSlashes Off)", READ, SCRIPT,
           http("POST", "{P}/tools%2fexecute-script"), 403,
           why="Apache alone would answer 404; the module reads %2f as "
               "Orthanc does and refuses the route"),
    Attack("encoded slash %2F (AllowEncodedSlashes Off)", UPLOAD, EXPORT,
           http("POST", "{P}/instances/{instance}%2Fexport"), 403),
    Attack("encoded slash %2f (AllowEncodedSlashes NoDecode)", READ_NODECODE,
           SCRIPT, http("POST", "{P}/tools%2fexecute-script"), 403),
    Attack("encoded slashes and dots (AllowEncodedSlashes NoDecode)",
           UPLOAD_NODECODE, PATIENT,
           http("GET", "{P}/patients/x%2f..%2f{patient}?_method=delete"), 403),
    Attack("encoded slash %2F (AllowEncodedSlashes On)", READ_ON, SCRIPT,
           http("POST", "{P}/tools%2Fexecute-script"), 403),
    Attack("encoded slash before export (AllowEncodedSlashes On)", UPLOAD_ON,
           EXPORT, http("POST", "{P}/instances/{instance}%2fexport"), 403),
    Attack("encoded slash dot-dot (AllowEncodedSlashes On)", READ_ON,
           LOG_LEVEL, http("PUT", "{P}/tools/x%2F..%2Flog-level"), 403),
    Attack("percent-encoded letter %74ools", READ, SCRIPT,
           http("POST", "{P}/%74ools/execute-script"), 403),
    Attack("percent-encoded letter %65xport", UPLOAD, EXPORT,
           http("POST", "{P}/instances//{instance}/%65xport"), 403),
    Attack("percent-encoded hyphen log%2Dlevel", READ, LOG_LEVEL,
           http("PUT", "{P}//tools/log%2Dlevel"), 403),
    Attack("trailing NUL %00", READ, SCRIPT,
           http("POST", "{P}/tools/execute-script%00"), 400,
           why="Orthanc truncates the path at %00"),
    Attack("NUL %00 before a suffix", UPLOAD, SCRIPT,
           http("POST", "{P}/tools/execute-script%00.json"), 400),
    Attack("NUL %00 before the query", READ, PATIENT,
           http("GET", "{P}/patients/{patient}%00?_method=delete"), 400),
    Attack("control character %01", READ, SCRIPT,
           http("POST", "{P}/tools/execute-script%01"), 400, direct=False,
           why="Orthanc keeps %01 in the segment: no route, 404"),
    Attack("control character %0a", UPLOAD, SCRIPT,
           http("POST", "{P}/tools%0a/execute-script"), 400, direct=False,
           why="Orthanc keeps %0a in the segment: no route, 404"),
    Attack("control character %7f", READ, SCRIPT,
           http("POST", "{P}/tools/execute-script%7f"), 400, direct=False,
           why="Orthanc keeps %7f in the segment: no route, 404"),
    Attack("raw backslash", READ, SCRIPT,
           http("POST", "{P}/tools\\execute-script"), 403),
    Attack("encoded backslash %5c", UPLOAD, SCRIPT,
           http("POST", "{P}/tools%5cexecute-script"), 403),
    Attack("encoded backslashes and dots %5C..%5C", READ, PATIENT,
           http("GET", "{P}/patients/x%5C..%5C{patient}?_method=delete"), 403),
    Attack("';' parameter on a segment", READ, SCRIPT,
           http("POST", "{P}/tools;x/execute-script"), 403, direct=False,
           why="Orthanc reads 'tools;x' as a segment: no route, 404"),
    Attack("';' parameter at the end", UPLOAD, SCRIPT,
           http("POST", "{P}/tools/execute-script;x"), 403, direct=False,
           why="Orthanc reads 'execute-script;x' as a segment: 404"),
    Attack("trailing slash", READ, SCRIPT,
           http("POST", "{P}/tools/execute-script/"), 403),
    Attack("climbing from a series to an export", READ, EXPORT,
           http("POST", "{P}/series/x/../../instances/{instance}/export"),
           403),

    # --------------------------------------------------- prefix confusion
    # The target names the prefix itself, so straight to Orthanc it is sent
    # as written: Orthanc resolves it like any other path.
    Attack("prefix with a suffix /orthancX/../", READ, SCRIPT,
           http("POST", "/orthancX/../tools/execute-script"), 404, json=False,
           why="not the prefix: Apache's own 404, Orthanc is not asked"),
    Attack("prefix with dots /orthanc../../", READ, SCRIPT,
           http("POST", "/orthanc../../tools/execute-script"), 404,
           json=False),
    Attack("prefix with a suffix /uploadX/../", UPLOAD, SCRIPT,
           http("POST", "/uploadX/../tools/execute-script"), 404, json=False),
    Attack("encoded slash after the prefix /orthanc%2f..", READ, SCRIPT,
           http("POST", "/orthanc%2f..%2ftools/execute-script"), 404,
           json=False),
    Attack("encoded slash after the prefix (AllowEncodedSlashes On)", READ_ON,
           SCRIPT, http("POST", "/orthanc%2f..%2ftools/execute-script"), 404,
           json=False),
    Attack("encoded backslash after the prefix /upload%5c..", UPLOAD, SCRIPT,
           http("POST", "/upload%5c..%5ctools%5cexecute-script"), 404,
           json=False),
    Attack("upper-case prefix /ORTHANC/", READ, SCRIPT,
           http("POST", "/ORTHANC/tools/execute-script"), 404, json=False,
           direct=False, why="Orthanc's routes are case-sensitive too"),
    Attack("'..' above the prefix", READ, SCRIPT,
           http("POST", "/orthanc/../../tools/execute-script"), 400),
    Attack("encoded '..' above the prefix", UPLOAD, SCRIPT,
           http("POST", "/upload/..%2f..%2ftools/execute-script"), 400),
    Attack("%2e%2e above the prefix", READ, SCRIPT,
           http("POST", "/orthanc/%2e%2e/%2e%2e/tools/execute-script"), 400),
    Attack("backslash '..' above the prefix", UPLOAD, SCRIPT,
           http("POST", "/upload/..%5ctools/execute-script"), 400),
    Attack("from the read prefix into the upload prefix", READ, STORE,
           http("POST", "/orthanc/..%2fupload/instances"), 400,
           direct_request=http("POST", "/orthanc/..%2finstances"),
           why="Orthanc would read /upload/instances, under the upload "
               "mapping, while Apache's <Location /orthanc/> applied"),

    # --------------------------------------------------- method overrides
    Attack("_method=delete", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?_method=delete"), 403),
    Attack("_method=DeLeTe", UPLOAD, PATIENT,
           http("GET", "{P}/patients/{patient}?_method=DeLeTe"), 403),
    Attack("_method after another argument", READ, STUDY,
           http("GET", "{P}/studies/{study}?expand&_method=delete"), 403),
    Attack("%5Fmethod=delete", UPLOAD, PATIENT,
           http("GET", "{P}/patients/{patient}?%5Fmethod=delete"), 400,
           direct=DECODES_QUERY,
           why="Orthanc >= 1.12.10 (civetweb decoding the query) deletes; "
               "1.10.1 and 1.12.7 read the name as sent: releases disagree"),
    Attack("Orthanc decoder %4Vmethod=delete", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?%4Vmethod=delete"), 400,
           direct=False,
           why="%4V is '_' for the hex decoder of Orthanc <= 1.9.7 only; "
               "no release of the matrix reads an override there"),

    # --------------------- query strings that releases read differently
    # civetweb 1.14 and Orthanc >= 1.12.10 decode the whole query before
    # Orthanc splits it on '&' and '=' (logic/query_reading.h).
    Attack("encoded '&' and '=' hide _method", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?x=%26_method%3DDELETE"), 400,
           direct=DECODES_QUERY,
           why="the read-only user's deletion of the issue: 1.13.0 reads "
               "x= and _method=DELETE"),
    Attack("encoded '=' makes the override", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?_method%3Ddelete"), 400,
           direct=DECODES_QUERY),
    Attack("encoded '&' after an allowed argument", UPLOAD, STUDY,
           http("GET", "{P}/studies/{study}?expand&x=1%26_method=delete"),
           400, direct=DECODES_QUERY),
    Attack("encoded '&' hides a PUT of the log level", UPLOAD, LOG_LEVEL,
           http("GET", "{P}/tools/log-level?x=%26_method%3Dput",
                body="body"), 400, direct=DECODES_QUERY),
    Attack("encoded letters in the override's value", READ, INSTANCE,
           http("GET", "{P}/instances/{instance}?_method=del%65te"), 400,
           direct=DECODES_QUERY,
           why="1.10.1 and 1.12.7 read 'del%65te', which is no method"),
    Attack("decoded NUL cuts the query before _method", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?x=%00&_method=delete"), 400,
           direct=lambda: not DECODES_QUERY(),
           why="1.13.0's query ends at the NUL; 1.10.1 and 1.12.7 delete"),
    Attack("'+' in the override's value", UPLOAD, PATIENT,
           http("GET", "{P}/patients/{patient}?_method=delete+"), 400,
           direct=False, why="'delete+' or 'delete ': no method anywhere"),
    Attack("encoded twice %255Fmethod", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?%255Fmethod=put"), 400,
           direct=False,
           why="only civetweb 1.14 under Orthanc <= 1.9.7 decoded twice"),
    Attack("hidden override on HEAD, forwarded as GET", READ, PATIENT,
           http("HEAD", "{P}/patients/{patient}?x=%26_method%3DDELETE"), 400,
           direct=False,
           why="Orthanc reads _method on GET only, but the module forwards "
               "HEAD as a GET, which 1.13.0 would read it on"),
    Attack("hidden override on POST", UPLOAD, PATIENT,
           http("POST", "{P}/tools/find?x=%26_method%3DDELETE", body="find"),
           400, direct=False,
           why="Orthanc ignores _method on POST; the module forwards no "
               "query that any release would read an override in"),
    Attack("harmless escapes in an allowed query", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?expand=%74rue&x=a+b%2Bc"),
           200, reaches=(("GET", "/patients/{patient}"),), direct=False,
           why="no release reads an override: forwarded as sent"),
    Attack("_method=put on the log level", UPLOAD, LOG_LEVEL,
           http("GET", "{P}/tools/log-level?_method=put", body="body"), 403),
    Attack("override header on GET", READ, PATIENT,
           http("GET", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE"), 403),
    Attack("override header on POST", UPLOAD, PATIENT,
           http("POST", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE"), 403),
    Attack("override header on OPTIONS", READ, PATIENT,
           http("OPTIONS", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE"),
           403),
    Attack("override header on HEAD", UPLOAD, PATIENT,
           http("HEAD", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE"), 403),
    Attack("override header on PROPFIND", READ, PATIENT,
           http("PROPFIND", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE"),
           403),
    Attack("override PUT on POST to the log level", READ, LOG_LEVEL,
           http("POST", "{P}/tools/log-level", f"{OVERRIDE}: PUT"), 403),
    Attack("lower-case override header and value", UPLOAD, INSTANCE,
           http("GET", "{P}/instances/{instance}",
                "x-http-method-override: delete"), 403),
    Attack("override header with a space before the colon", READ, PATIENT,
           http("GET", "{P}/patients/{patient}", f"{OVERRIDE} : DELETE"), 400),
    Attack("two override headers", UPLOAD, PATIENT,
           http("GET", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE",
                f"{OVERRIDE}: GET"), 400,
           why="Orthanc takes the first one"),
    Attack("folded override header", READ, PATIENT,
           http("GET", "{P}/patients/{patient}", f"{OVERRIDE}:\r\n DELETE"),
           403,
           direct_request=http("GET", "{P}/patients/{patient}",
                               f"{OVERRIDE}: DELETE"),
           why="Orthanc alone ignores the folded line; Apache unfolds it, "
               "and the unfolded header deletes"),
    Attack("X-HTTP-Method header", READ, PATIENT,
           http("GET", "{P}/patients/{patient}", "X-HTTP-Method: DELETE"), 400,
           direct=False, why="Orthanc does not read X-HTTP-Method"),
    Attack("X-Method-Override header", UPLOAD, PATIENT,
           http("GET", "{P}/patients/{patient}", "X-Method-Override: DELETE"),
           400, direct=False, why="Orthanc does not read X-Method-Override"),

    # -------------------------------------------------------- odd methods
    Attack("MKCOL with an override", READ, PATIENT,
           http("MKCOL", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE"),
           403),
    Attack("LOCK with an override", UPLOAD, PATIENT,
           http("LOCK", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE"), 403),
    Attack("PROPFIND on a patient", UPLOAD, PATIENT,
           http("PROPFIND", "{P}/patients/{patient}"), 403, direct=False,
           why="Orthanc answers WebDAV methods only for WebDAV buckets: 404"),
    Attack("TRACE with an override", READ, PATIENT,
           http("TRACE", "{P}/patients/{patient}", f"{OVERRIDE}: DELETE"), 403,
           direct=False, why="Orthanc answers TRACE with 400"),
    Attack("lower-case method 'delete'", READ, PATIENT,
           http("delete", "{P}/patients/{patient}"), 403, direct=False,
           why="Orthanc answers an unknown method with 400"),
    Attack("DELETE with a body", READ, PATIENT,
           http("DELETE", "{P}/patients/{patient}", body="junk"), 403),
    Attack("DELETE a study", UPLOAD, STUDY,
           http("DELETE", "{P}/studies/{study}"), 403),
    Attack("DELETE an instance through /./", UPLOAD, INSTANCE,
           http("DELETE", "{P}/instances/./{instance}"), 403),
    Attack("PUT the log level", READ, LOG_LEVEL,
           http("PUT", "{P}/tools/log-level"), 403),

    # --------------------------------------------- absolute-form targets
    Attack("absolute-form target", READ, PATIENT,
           http("GET", "http://{authority}{P}/patients/{patient}"
                       "?_method=delete"), 403,
           direct=False, why=DROPPED),
    Attack("absolute-form target with another host", UPLOAD, PATIENT,
           http("GET", "http://evil.example{P}/patients/{patient}",
                f"{OVERRIDE}: DELETE"), 403,
           direct=False, why=DROPPED),
    Attack("absolute-form GET is forwarded in origin form", UPLOAD, PATIENT,
           http("GET", "http://evil.example:1{P}/patients/{patient}"), 200,
           reaches=(("GET", "/patients/{patient}"),), direct=False,
           why="an allowed GET: it reaches the configured Orthanc, in "
               "origin form (Orthanc drops absolute-form requests)"),
    Attack("absolute-form execute-script", READ, SCRIPT,
           http("POST", "http://{authority}{P}/tools/execute-script"), 403,
           direct=False, why=DROPPED),

    # ---------------------------------------------------- smuggling shapes
    # A DELETE hidden after the body of an allowed POST /tools/find: Orthanc
    # runs it when it frames the body differently from the front end.
    Attack("Content-Length with Transfer-Encoding", UPLOAD, PATIENT,
           smuggle(["Content-Length: {len:find_chunked+hidden}",
                    "Transfer-Encoding: chunked"], "{find_chunked}{hidden}"),
           400, why="Orthanc reads the chunks and then the hidden DELETE"),
    Attack("Transfer-Encoding before Content-Length", READ, PATIENT,
           smuggle(["Transfer-Encoding: chunked",
                    "Content-Length: {len:find_chunked+hidden}"],
                   "{find_chunked}{hidden}"), 400),
    Attack("two Content-Length headers", READ, PATIENT,
           smuggle(["Content-Length: {len:find}",
                    "Content-Length: {len:find+hidden}"], "{find}{hidden}"),
           400, why="Orthanc takes the first length"),
    Attack("Transfer-Encoding with a space before the colon", UPLOAD, PATIENT,
           smuggle(["Content-Length: {len:find_chunked+hidden}",
                    "Transfer-Encoding : chunked"], "{find_chunked}{hidden}"),
           400, why="Orthanc counts 'Transfer-Encoding :' as chunked"),
    Attack("chunked body hiding a DELETE after the last chunk", UPLOAD,
           PATIENT,
           smuggle(["Transfer-Encoding: chunked"], "{find_chunked}{hidden}"),
           (200, 403), reaches=(("POST", "/tools/find"),),
           why="the hidden request is a request of its own: the module "
               "decides it (403) and it never reaches Orthanc"),
    Attack("bare LF line endings", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?_method=delete", eol="\n"),
           400, json=False,
           why="Apache rejects the request line as it reads it, before any "
               "module hook; Orthanc accepts bare LF"),
    Attack("bare LF in the header lines", UPLOAD, PATIENT,
           "GET {P}/patients/{patient} HTTP/1.1\r\nHost: {authority}\n"
           f"{OVERRIDE}: DELETE\nConnection: close\n\n", 400),
    Attack("missing Host header", READ, PATIENT,
           http("GET", "{P}/patients/{patient}?_method=delete", host=False),
           400, why="Orthanc accepts a request without Host"),
    Attack("two spaces in the request line", READ, SCRIPT,
           "POST  {P}/tools/execute-script HTTP/1.1\r\nHost: {authority}\r\n"
           "Content-Length: {len:body}\r\nConnection: close\r\n\r\n{body}",
           400, why="Orthanc accepts runs of spaces between the words of the "
                    "request line"),
    Attack("encoded space before the version", UPLOAD, SCRIPT,
           http("POST", "{P}/tools/execute-script%20"), 403,
           direct_request=http("POST", "/tools/execute-script "),
           why="decoded into the request line it makes two spaces, which "
               "Orthanc accepts; re-encoded it is no route"),
    Attack("CR LF injected in the path", READ, PATIENT,
           http("GET", "{P}/patients/{patient}%20HTTP/1.1%0d%0a"
                       f"{OVERRIDE}:%20DELETE%0d%0aX-Ignore:%20x"), 400,
           direct_request=http("GET", "/patients/{patient} HTTP/1.1\r\n"
                                      f"{OVERRIDE}: DELETE\r\nX-Ignore: x"),
           why="directly: the request a proxy that decodes into the request "
               "line would send (CVE-2023-25690)"),
    Attack("CR LF injected in the query", UPLOAD, PATIENT,
           http("GET", "{P}/patients/{patient}?a=%20HTTP/1.1%0d%0a"
                       f"{OVERRIDE}:%20DELETE%0d%0aX-Ignore:%20x"), 200,
           reaches=(("GET", "/patients/{patient}"),),
           direct_request=http("GET", "/patients/{patient}?a= HTTP/1.1\r\n"
                                      f"{OVERRIDE}: DELETE\r\nX-Ignore: x"),
           why="the query reaches Orthanc still encoded: a harmless GET"),
    Attack("request line longer than LimitRequestLine", READ, SCRIPT,
           http("POST", "{P}" + "/x/.." * 1700 + "/tools/execute-script"),
           414, json=False,
           why="Apache rejects the request line as it reads it; Orthanc "
               "accepts and resolves it"),

    # ------------------------------------------- uploads to the read mapping
    Attack("POST /instances", READ, STORE,
           http("POST", "{P}/instances"), 403),
    Attack("POST //instances/", READ, STORE,
           http("POST", "{P}//instances/"), 403),
    Attack("POST /%69nstances", READ, STORE,
           http("POST", "{P}/%69nstances"), 403),
    Attack("chunked upload", READ, STORE,
           http("POST", "{P}/instances", "Transfer-Encoding: chunked",
                body="body_chunked", length=False), 403),
    Attack("create-dicom", READ, Stores("create-dicom"),
           http("POST", "{P}/tools/create-dicom"), 403),
    Attack("STOW-RS", READ, Stores("stow"),
           http("POST", "{P}/dicom-web/studies", STOW_TYPE), 403),
    Attack("gzip-encoded upload", READ, Stores("gzip"),
           http("POST", "{P}/instances", "Content-Encoding: gzip"), 415),

    # ------------------------------------------------------------- exports
    Attack("export", READ, EXPORT,
           http("POST", "{P}/instances/{instance}/export"), 403),
    Attack("export with a trailing slash", UPLOAD, EXPORT,
           http("POST", "{P}/instances/{instance}/export/"), 403),
]


# ---------------------------------------------------------------------------
# Fixtures

ORTHANC_OPTIONS = {"record": True, "lua": True, "settings": {
    # Debian's 1.10.1 refuses /export unless this is on (CVE-2023-33466).
    "RestApiWriteToFileSystemEnabled": True,
}}


@dataclass
class Site:
    apache: object
    prefix: str             # without its trailing slash


@dataclass
class Env:
    orthanc: object
    sites: dict
    tmp: str
    mr_instance: str


@pytest.fixture(scope="module")
def env(orthanc, make_module_apache, module_dir):
    sites = {}
    for mode, suffix in (("Off", ""), ("NoDecode", "/NoDecode"),
                         ("On", "/On")):
        apache = make_module_apache(SITE.format(url=orthanc.url,
                                                encoded_slashes=mode))
        sites[READ + suffix] = Site(apache, "/orthanc")
        sites[UPLOAD + suffix] = Site(apache, "/upload")
    htpasswd = basic_accounts(module_dir, "users",
                              {"root": None, "alice": None})["htpasswd"]
    rules = make_module_apache(RULES_SITE.format(url=orthanc.url,
                                                 htpasswd=htpasswd),
                               extra_modules=RULES_MODULES)
    sites[ADMIN_DENY] = Site(rules, "/admin")
    sites[WILD] = Site(rules, "/wild")
    sites[NESTED] = Site(rules, "/nested")
    tmp = os.path.join(module_dir, "effects")
    os.makedirs(tmp, exist_ok=True)
    with open(MR_SMALL, "rb") as f:
        mr = requests.post(orthanc.url + "/instances", data=f.read(),
                           timeout=TIMEOUT).json()["ID"]
    requests.delete(f"{orthanc.url}/instances/{mr}", timeout=TIMEOUT)
    return Env(orthanc, sites, tmp, mr)


# ---------------------------------------------------------------------------
# Helpers

def request_values(effect_values, prefix, port):
    values = dict(effect_values)
    values.update({"P": prefix.encode(),
                   "authority": f"127.0.0.1:{port}".encode(),
                   "find": FIND, "find_chunked": chunked(FIND),
                   "junk": b"attack"})
    if "patient" in values:
        values["hidden"] = render(HIDDEN_DELETE, values)
    return values


def assert_proxy_error(status, headers, body, head=False):
    """STATUS came with the proxy's JSON error document."""
    assert headers.get("content-type", "").startswith("application/json"), \
        headers
    if not head:
        document = json.loads(body)
        assert document["status"] == status
        assert document["message"]


def via_proxy(seen):
    """Requests Orthanc received from Apache (they carry Forwarded)."""
    return [s for s in seen if "forwarded" in s["headers"]]


def evidence(data, raw, seen, log_lines):
    lines = ["request sent:", repr(data[:700]), "answer:",
             repr(raw[:700]) if raw else "none: the connection was closed "
             "without a response", "Orthanc received through the proxy "
             "(Lua filter):"]
    lines += [f"  {s['method']} {s['uri']} {s['headers']}" for s in seen]
    lines += ["error.log:"] + [f"  {l}" for l in log_lines]
    return "\n".join(lines)


def expected_statuses(attack):
    if isinstance(attack.status, tuple):
        return list(attack.status)
    return [] if attack.status is None else [attack.status]


# ---------------------------------------------------------------------------
# The two tests of every row

@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_through_the_proxy(env, attack):
    site = env.sites[attack.mapping]
    apache = site.apache
    effect = attack.effect
    values = effect.prepare(env)
    try:
        seen_before = len(env.orthanc.seen_requests())
        log_before = len(apache.error_log().splitlines())
        data = render(attack.request,
                      request_values(values, site.prefix, apache.port))
        raw = raw_request(apache.port, data, timeout=RAW_TIMEOUT)

        happened = effect.happened(env, values)
        seen = via_proxy(env.orthanc.seen_requests()[seen_before:])
        if not raw and attack.status is not None:
            time.sleep(1.5)     # for the evidence: a dead child is logged
                                # once the parent has reaped it
        log_lines = apache.error_log().splitlines()[log_before:]
        proof = evidence(data, raw, seen, log_lines)

        assert not happened, f"MODULE BUG: {effect.what} through the " \
                             f"proxy\n{proof}"
        reached = [(s["method"], s["uri"]) for s in seen]
        wanted = [(m, render(u, values).decode()) for m, u in attack.reaches]
        assert reached == wanted, f"Orthanc received {reached}\n{proof}"
        for s in seen:
            assert not any(h in s["headers"] for h in (
                "x-http-method-override", "x-http-method",
                "x-method-override")), proof

        got = parse_responses(raw)
        assert [g[0] for g in got] == expected_statuses(attack), proof
        if attack.json:
            for status, headers, body in got:
                if status >= 400:
                    assert_proxy_error(status, headers, body,
                                       head=data.startswith(b"HEAD "))
    finally:
        effect.undo(env, values)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_trick_straight_to_orthanc(env, attack):
    effect = attack.effect
    values = effect.prepare(env)
    try:
        data = render(attack.direct_request or attack.request,
                      request_values(values, "", env.orthanc.http_port))
        raw = raw_request(env.orthanc.http_port, data, timeout=RAW_TIMEOUT)
        direct = attack.direct() if callable(attack.direct) else attack.direct
        assert effect.happened(env, values) == direct, (
            f"straight to Orthanc {orthanc_version()}, expected "
            f"'{effect.what}' to be {direct} ({attack.why})\n"
            f"{data[:500]!r}\n{raw[:500]!r}")
    finally:
        effect.undo(env, values)


# ---------------------------------------------------------------------------
# After the table

def test_a_refusal_is_logged_once_with_client_path_method_and_rule(env):
    """One error.log line for a 403: the client's address and port, the
    path as Orthanc reads it, the method Orthanc would run, the rule."""
    site = env.sites[READ]
    name = f"attack-log-{uuid.uuid4().hex}"
    with socket.create_connection(("127.0.0.1", site.apache.port),
                                  timeout=RAW_TIMEOUT) as s:
        client_port = s.getsockname()[1]
        s.sendall(f"GET /orthanc//patients/./{name}?_method=delete "
                  f"HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  f"\r\n".encode())
        response = b""
        while chunk := s.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 403 "), response[:200]

    def logged():
        return [l for l in site.apache.error_log().splitlines() if name in l]
    wait_until(logged, timeout=10, what="the refusal in error.log")
    lines = logged()
    assert len(lines) == 1, lines
    line = lines[0]
    assert f"[client 127.0.0.1:{client_port}]" in line
    assert f"refused with 403: DELETE /patients/{name} " in line
    assert "rule OrthancProxyAccess read" in line
    assert "//patients" not in line and "/./" not in line


def test_no_apache_child_crashed_during_the_attacks(env):
    """Every row got an answer from a living Apache child: a crash shows in
    error.log once the parent has reaped the child."""
    time.sleep(2)
    crashes = []
    for site in {id(s.apache): s for s in env.sites.values()}.values():
        crashes += [l for l in site.apache.error_log().splitlines()
                    if "exit signal" in l]
    assert not crashes, "MODULE BUG: Apache children died:\n" + "\n".join(
        crashes)
