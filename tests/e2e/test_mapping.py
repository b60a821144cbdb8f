# SPDX-License-Identifier: Apache-2.0
"""How OrthancProxy maps public paths onto Orthanc, next to Apache's own files.

Every test talks to a real Apache and a real Orthanc on loopback.  Raw
request targets are sent with http.client or a bare socket so that nothing
on the client side re-encodes or normalises them.
"""

import http.client
import json
import os

import pytest
import requests

from harness import SAMPLE_DIR, orthanc_decodes_query, parse_response, \
    raw_request, wait_until

TIMEOUT = 60


# ---------------------------------------------------------------------------
# Helpers

def send(port, target, method="GET", headers=None, body=None):
    """Sends TARGET exactly as written; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def raw(port, method, target):
    """A request written byte for byte on a fresh connection:
    (status, {lower-case header: value}, body)."""
    return parse_response(raw_request(
        port, method + b" " + target + b" HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout=TIMEOUT))


def assert_json_error(status, headers, body, expected_status, message_part):
    assert status == expected_status
    assert headers["content-type"].startswith("application/json")
    document = json.loads(body)
    assert document["status"] == expected_status
    assert message_part in document["message"]


def study_uids(body):
    return sorted(s["0020000D"]["Value"][0] for s in json.loads(body))


def seen_through(apache, orthanc, action):
    """The requests Orthanc received while ACTION ran, read from the log of
    its recording Lua filter.  A marker request (GET /changes) that does
    reach Orthanc follows ACTION: once it is in the log, so is the rest."""
    before = len(orthanc.seen_requests())
    action()
    r = requests.get(apache.url + "/orthanc/changes?last", timeout=TIMEOUT)
    assert r.status_code == 200
    wait_until(lambda: any(s["uri"] == "/changes"
                           for s in orthanc.seen_requests()[before:]),
               timeout=10, what="the marker request in Orthanc's log")
    seen = orthanc.seen_requests()[before:]
    return seen[:next(i for i, s in enumerate(seen) if s["uri"] == "/changes")]


def without_volatile(resources):
    """Orthanc resources without the fields that change with time."""
    return [{k: v for k, v in r.items() if k not in ("IsStable", "LastUpdate")}
            for r in resources]


# ---------------------------------------------------------------------------
# Fixtures: one Orthanc holding two studies, one Apache mapping /orthanc/

# The module's Orthanc logs every request it receives.
ORTHANC_OPTIONS = {"record": True}


@pytest.fixture(scope="module")
def stored(orthanc):
    """CT_small and MR_small stored in the module's Orthanc."""
    ids = {}
    for name in ("CT_small.dcm", "MR_small.dcm"):
        with open(os.path.join(SAMPLE_DIR, name), "rb") as f:
            ids[name] = orthanc.upload(f.read())["ID"]
    return ids


@pytest.fixture(scope="module")
def apache(orthanc, make_module_apache):
    server = make_module_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n")
    docroot = server.docroot
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write("<h1>the hospital app</h1>")
    os.makedirs(os.path.join(docroot, "orthancX"))
    with open(os.path.join(docroot, "orthancX", "system"), "w") as f:
        f.write("a file beside the prefix")
    with open(os.path.join(docroot, "app.js"), "w") as f:
        f.write("console.log('app');")
    return server


# ---------------------------------------------------------------------------
# Static files beside the proxy

def test_document_root_index_is_served_at_slash(apache):
    """'/' is Apache's own: DirectoryIndex serves index.html from disk."""
    r = requests.get(apache.url + "/", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.text == "<h1>the hospital app</h1>"
    assert r.headers["Content-Type"].startswith("text/html")


def test_path_sharing_the_prefix_letters_is_not_proxied(apache, orthanc):
    """/orthancX/system starts with the letters of /orthanc but is another
    segment: Apache serves the file from disk and Orthanc sees nothing."""
    answers = []
    seen = seen_through(apache, orthanc, lambda: answers.append(
        requests.get(apache.url + "/orthancX/system", timeout=TIMEOUT)))
    assert answers[0].status_code == 200
    assert answers[0].text == "a file beside the prefix"
    assert seen == []


def test_other_uris_are_left_to_apache(apache):
    """Outside the prefix Apache answers as usual: files are served and a
    missing one gets Apache's own HTML 404, not the module's JSON."""
    r = requests.get(apache.url + "/app.js", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.text == "console.log('app');"
    r = requests.get(apache.url + "/system", timeout=TIMEOUT)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Not Found" in r.text


# ---------------------------------------------------------------------------
# Where OrthancProxy may be written

def test_server_level_mapping_reaches_orthanc(apache, orthanc):
    """OrthancProxy PREFIX URL at server level: /orthanc/system is Orthanc's."""
    r = requests.get(apache.url + "/orthanc/system", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["HttpPort"] == orthanc.http_port
    assert r.json()["Name"] == "orthanc"


def test_location_form_takes_prefix_from_location(orthanc, make_apache):
    """Inside <Location /pacs/> only the URL is given; /pacs/ then maps to
    Orthanc and /pacs redirects to /pacs/."""
    apache = make_apache(f"<Location /pacs/>\n"
                         f"    OrthancProxy {orthanc.url}/\n"
                         f"</Location>\n")
    r = requests.get(apache.url + "/pacs/system", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["HttpPort"] == orthanc.http_port
    r = requests.get(apache.url + "/pacs", allow_redirects=False,
                     timeout=TIMEOUT)
    assert r.status_code == 301
    assert r.headers["Location"] == apache.url + "/pacs/"


def test_mapping_inside_virtual_host_applies_to_that_host_only(
        orthanc, make_apache):
    """An OrthancProxy inside a name-based <VirtualHost> serves that host;
    the other host on the same address does not proxy the prefix."""
    apache = make_apache(
        "<VirtualHost 127.0.0.1:{port}>\n"
        "    ServerName app.example\n"
        "</VirtualHost>\n"
        "<VirtualHost 127.0.0.1:{port}>\n"
        "    ServerName pacs.example\n"
        f"    OrthancProxy /orthanc/ {orthanc.url}/\n"
        "</VirtualHost>\n")
    pacs = {"Host": f"pacs.example:{apache.port}"}
    app = {"Host": f"app.example:{apache.port}"}
    r = requests.get(apache.url + "/orthanc/system", headers=pacs,
                     timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["HttpPort"] == orthanc.http_port
    r = requests.get(apache.url + "/orthanc/system", headers=app,
                     timeout=TIMEOUT)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")


def test_server_level_mapping_is_inherited_by_virtual_hosts(
        orthanc, make_apache):
    """A virtual host without OrthancProxy of its own uses the mappings of
    the main server."""
    apache = make_apache(
        f"OrthancProxy /orthanc/ {orthanc.url}/\n"
        "<VirtualHost 127.0.0.1:{port}>\n"
        "    ServerName app.example\n"
        "</VirtualHost>\n")
    r = requests.get(apache.url + "/orthanc/system",
                     headers={"Host": f"app.example:{apache.port}"},
                     timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["HttpPort"] == orthanc.http_port


@pytest.mark.parametrize("longer_first", [False, True],
                         ids=["shorter-prefix-first", "longer-prefix-first"])
def test_nested_prefixes_longest_wins(orthanc, make_orthanc, make_apache,
                                      longer_first):
    """/orthanc/ and /orthanc/sys/ go to two different Orthancs: the longest
    prefix wins whatever the order of the directives, and prefixes match
    whole segments (/orthanc/system is the first Orthanc's /system)."""
    second_orthanc = make_orthanc(name="second")
    lines = [f"OrthancProxy /orthanc/ {orthanc.url}/",
             f"OrthancProxy /orthanc/sys/ {second_orthanc.url}/"]
    if longer_first:
        lines.reverse()
    apache = make_apache("\n".join(lines) + "\n")

    def name(path):
        r = requests.get(apache.url + path, timeout=TIMEOUT)
        assert r.status_code == 200, path
        return r.json()["Name"]

    assert name("/orthanc/system") == "orthanc"
    assert name("/orthanc/sys/system") == "second"
    r = requests.get(apache.url + "/orthanc/sys", allow_redirects=False,
                     timeout=TIMEOUT)
    assert r.status_code == 301
    assert r.headers["Location"] == apache.url + "/orthanc/sys/"


# ---------------------------------------------------------------------------
# The /orthanc -> /orthanc/ redirect

def test_bare_prefix_redirects_get_with_301_keeping_query(apache):
    """GET /orthanc answers 301 to the absolute /orthanc/ URL, query kept,
    so that Orthanc Explorer's relative links work."""
    r = requests.get(apache.url + "/orthanc", allow_redirects=False,
                     timeout=TIMEOUT)
    assert r.status_code == 301
    assert r.headers["Location"] == f"http://127.0.0.1:{apache.port}/orthanc/"
    status, headers, _ = send(apache.port, "/orthanc?expand&since=0")
    assert status == 301
    assert headers["Location"] == \
        f"http://127.0.0.1:{apache.port}/orthanc/?expand&since=0"


def test_bare_prefix_redirects_post_with_308(apache):
    """POST /orthanc gets 308, which keeps the method and the body."""
    r = requests.post(apache.url + "/orthanc", data=b"{}",
                      allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 308
    assert r.headers["Location"] == f"http://127.0.0.1:{apache.port}/orthanc/"


# ---------------------------------------------------------------------------
# HEAD, which Orthanc itself does not implement

@pytest.mark.parametrize("path", ["/patients", "/instances/{ct}/file"],
                         ids=["patients", "instance-file"])
def test_head_answers_like_get_without_body(apache, orthanc, stored, path):
    """HEAD through the proxy gives GET's status, Content-Type and
    Content-Length and no body, although Orthanc answers HEAD with 404:
    Orthanc is asked with a GET."""
    target = path.format(ct=stored["CT_small.dcm"]).encode()
    get_status, get_headers, get_body = raw(apache.port, b"GET",
                                            b"/orthanc" + target)
    head = []
    seen = seen_through(apache, orthanc, lambda: head.append(
        raw(apache.port, b"HEAD", b"/orthanc" + target)))
    [(head_status, head_headers, head_body)] = head
    assert [(s["method"], s["uri"]) for s in seen] == \
        [("GET", target.decode())]
    assert get_status == 200
    assert len(get_body) > 0
    assert head_status == get_status
    assert head_headers["content-type"] == get_headers["content-type"]
    assert head_headers["content-length"] == get_headers["content-length"]
    assert int(head_headers["content-length"]) == len(get_body)
    assert head_body == b""

    direct_status, _, _ = raw(orthanc.http_port, b"HEAD", target)
    assert direct_status == 404


def test_head_of_instance_file_matches_stored_size(apache, stored):
    """The Content-Length HEAD reports is the size of the stored DICOM file."""
    with open(os.path.join(SAMPLE_DIR, "CT_small.dcm"), "rb") as f:
        size = len(f.read())
    r = requests.head(
        f"{apache.url}/orthanc/instances/{stored['CT_small.dcm']}/file",
        headers={"Accept-Encoding": "identity"}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/dicom"
    assert int(r.headers["Content-Length"]) == size


# ---------------------------------------------------------------------------
# Query strings

def test_rest_query_string_reaches_orthanc_intact(apache, orthanc, stored):
    """expand/since/limit change Orthanc's answer; proxied and direct
    answers are the same resources."""
    for query in ("?expand&since=0&limit=1", "?expand&since=1&limit=1",
                  "?since=0&limit=5"):
        status, _, proxied = send(apache.port, "/orthanc/patients" + query)
        direct_status, _, direct = send(orthanc.http_port, "/patients" + query)
        assert (status, direct_status) == (200, 200), query
        proxied, direct = json.loads(proxied), json.loads(direct)
        if "expand" in query:
            assert len(proxied) == 1
            proxied, direct = without_volatile(proxied), without_volatile(direct)
        assert proxied == direct, query
    status, _, body = send(apache.port, "/orthanc/patients?since=0&limit=5")
    assert len(json.loads(body)) == 2


@pytest.mark.parametrize("query, expected", [
    ("PatientName=CompressedSamples^CT1", ["CT"]),
    ("PatientName=*^MR1", ["MR"]),
    ("PatientName=Compressed*", ["CT", "MR"]),
    # Orthanc 1.10.1 and 1.12.7 do not decode an escaped '^' in QIDO
    # arguments, 1.13.0 does: the proxy must pass the escape as it is, not
    # decode or re-encode it, and each Orthanc reads it its own way.
    ("PatientName=CompressedSamples%5ECT1", "CT if decoded"),
    ("PatientName=Nobody*", []),
])
def test_qido_query_with_caret_and_star_reaches_orthanc_intact(
        apache, orthanc, stored, query, expected):
    """QIDO filters with '^' and '*' select the same studies through the
    proxy as straight at Orthanc."""
    uids = {"CT": "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
            "MR": "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"}
    if expected == "CT if decoded":
        expected = ["CT"] if orthanc_decodes_query() else []
    status, _, proxied = send(apache.port,
                              "/orthanc/dicom-web/studies?" + query)
    direct_status, _, direct = send(orthanc.http_port,
                                    "/dicom-web/studies?" + query)
    assert (status, direct_status) == (200, 200)
    assert study_uids(proxied) == study_uids(direct)
    assert study_uids(proxied) == sorted(uids[m] for m in expected)


# ---------------------------------------------------------------------------
# Malformed and ambiguous paths

@pytest.mark.parametrize("target, message", [
    (b"/orthanc/sys%00tem", "NUL"),
    (b"/orthanc/system%00", "NUL"),
    (b"/orthanc/sys%01tem", "control character"),
    (b"/orthanc/sys%0atem", "control character"),
])
def test_nul_and_control_characters_are_refused_with_json(
        apache, orthanc, target, message):
    """Orthanc would route /system%00 as /system; the proxy refuses what it
    cannot read unambiguously with a JSON 400, logs why, and Orthanc never
    sees the request."""
    answers = []
    seen = seen_through(apache, orthanc, lambda: answers.append(
        raw(apache.port, b"GET", target)))
    assert_json_error(*answers[0], 400, message)
    assert seen == []
    assert f"refused with 400: GET {target.decode()}" in apache.error_log()


def test_bad_escape_is_refused_with_json_by_apache(apache):
    """Apache rejects '%zz' before any module runs; the client still gets
    the module's JSON body naming the problem."""
    assert_json_error(*raw(apache.port, b"GET", b"/orthanc/sys%zztem"), 400,
                      "not followed by two hexadecimal digits")
    assert "invalid URI path (/orthanc/sys%zztem)" in apache.error_log()


@pytest.mark.parametrize("target, message", [
    (b"/orthanc/system\xe9", "non-ASCII byte"),
    (b"/orthanc/sys tem/x", None),
])
def test_raw_bytes_civetweb_refuses_are_refused_with_json(apache, orthanc,
                                                          target, message):
    """civetweb answers 400 to a target holding a raw space or a byte above
    0x7E; the proxy refuses them too (a space already splits Apache's
    request line) rather than forward what Orthanc would not read."""
    answers = []
    seen = seen_through(apache, orthanc, lambda: answers.append(
        raw(apache.port, b"GET", target)))
    assert answers[0][0] == 400
    if message:
        assert_json_error(*answers[0], 400, message)
    assert seen == []


def test_error_body_stays_utf8_json_for_any_client_bytes(apache, orthanc):
    """The reason quotes the path as Orthanc reads it, which can hold any
    byte: the body must still be UTF-8 JSON (U+FFFD for the bad bytes)."""
    status, headers, body = raw(apache.port, b"GET",
                                b"/orthanc/tools/%FF%C3%28/%C3%A9")
    assert status == 403
    document = json.loads(body.decode("utf-8"))
    assert "/tools/\ufffd\ufffd(/\u00e9" in document["message"]


def test_fragment_is_refused_with_json_by_apache(apache, orthanc):
    """civetweb keeps '#' in the path, Apache reads a fragment and refuses
    the request; the client is told to write %23."""
    answers = []
    seen = seen_through(apache, orthanc, lambda: answers.append(
        raw(apache.port, b"GET", b"/orthanc/system#/../tools/now")))
    assert_json_error(*answers[0], 400, "%23")
    assert seen == []


@pytest.mark.parametrize("target", [
    b"/orthanc\\system",           # Apache: outside; Orthanc: /orthanc/system
    b"/orthanc%5csystem",
    b"/x/..%5corthanc/system",
    b"/orthanc/..\\system",        # Apache: inside; Orthanc: /system
    b"/orthanc/..%5c..%5cfoo",
    b"/orthanc%2fsystem",
])
def test_backslash_or_encoded_separator_around_prefix_is_refused(
        apache, orthanc, target):
    """When Apache (and its <Location> rules) and Orthanc would disagree on
    whether the path is under the prefix, the request is refused with JSON
    and does not reach Orthanc."""
    answers = []
    seen = seen_through(apache, orthanc, lambda: answers.append(
        raw(apache.port, b"GET", target)))
    assert_json_error(*answers[0], 400,
                      "Apache and Orthanc would read this path differently")
    assert seen == []


@pytest.mark.parametrize("target", [
    "/orthanc//patients/../system",
    "/orthanc/./system",
    "/orthanc/%73ystem",
    "/orthanc/patients%2f..%2fsystem",
    "/orthanc/patients/..%5csystem",
])
def test_dot_segments_and_double_slashes_reach_canonical_route(
        apache, orthanc, target):
    """Inside the prefix, '//', '.', '..', escaped letters and escaped
    separators are read the way Orthanc reads them: all reach /system."""
    answers = []
    seen = seen_through(apache, orthanc, lambda: answers.append(
        send(apache.port, target)))
    status, _, body = answers[0]
    assert status == 200, target
    assert json.loads(body)["HttpPort"] == orthanc.http_port
    assert [(s["method"], s["uri"]) for s in seen] == [("GET", "/system")]


# ---------------------------------------------------------------------------
# Orthanc's own answers pass through

def test_relative_location_from_orthanc_passes_through(apache):
    """GET /orthanc/ gets Orthanc's 301 to the relative 'app/explorer.html',
    which resolves under the prefix and serves Orthanc Explorer."""
    r = requests.get(apache.url + "/orthanc/", allow_redirects=False,
                     timeout=TIMEOUT)
    # 301, or 307 from newer releases (1.13.0).
    assert r.status_code in (301, 307)
    assert r.headers["Location"] == "app/explorer.html"
    r = requests.get(apache.url + "/orthanc/", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.url == apache.url + "/orthanc/app/explorer.html"
    assert r.headers["Content-Type"].startswith("text/html")


def test_absolute_location_into_the_backend_is_mapped_back(orthanc,
                                                           make_apache):
    """An absolute Location that points into the backend comes back under
    the public prefix.  Orthanc's own redirects are relative, so the backend
    here is what often sits in front of a remote Orthanc: a second Apache
    (a TLS terminator, say) that redirects with absolute URLs to itself."""
    backend = make_apache(f"""
ProxyPass /old-system !
ProxyPass / {orthanc.url}/
Redirect 302 /old-system http://127.0.0.1:{{port}}/system
""", load_module_under_test=False, extra_modules=["alias"])
    front = make_apache(f"OrthancProxy /orthanc/ {backend.url}/\n"
                        f"OrthancProxyAllow GET /old-system\n")
    r = requests.get(front.url + "/orthanc/old-system", allow_redirects=False,
                     timeout=TIMEOUT)
    assert r.status_code == 302
    assert r.headers["Location"] == front.url + "/orthanc/system"
    r = requests.get(front.url + "/orthanc/old-system", timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["Name"]
    assert r.url == front.url + "/orthanc/system"


def test_orthanc_404_passes_through_untouched(apache, orthanc):
    """A 404 Orthanc produces keeps Orthanc's status and (empty) body; the
    module does not put its JSON error body on it."""
    status, _, body = send(apache.port, "/orthanc/patients/does-not-exist")
    direct_status, _, direct_body = send(orthanc.http_port,
                                         "/patients/does-not-exist")
    assert direct_status == 404
    assert (status, body) == (direct_status, direct_body)


def test_orthanc_400_document_passes_through_untouched(apache, orthanc):
    """Orthanc's own JSON error document (here for a non-DICOM upload) is
    relayed as it is, not replaced by the proxy's."""
    status, _, body = send(apache.port, "/orthanc/instances", method="POST",
                           body=b"not a DICOM file")
    direct_status, _, direct_body = send(orthanc.http_port, "/instances",
                                         method="POST",
                                         body=b"not a DICOM file")
    assert direct_status == 400
    assert (status, body) == (direct_status, direct_body)
    assert json.loads(body)["OrthancError"] == "Bad file format"
