# SPDX-License-Identifier: Apache-2.0
"""SetHandler orthanc-proxy-status: every mapping with its backend and
counters, added to by every Apache child in shared memory.

One Apache runs several event-MPM children (the generated configuration
forces three); a known mix of requests goes through three mappings, from
several client threads at once, and the status page - served by whichever
child takes it - must show exactly that mix.  The access log records the
PID of the child that served each request, to show that several did.
"""

import concurrent.futures
import os
import re
import subprocess

import pytest
import requests

from harness import VERSION, free_port, wait_until

TIMEOUT = 60
ORTHANC_OPTIONS = {"samples": ["CT_small.dcm"]}

# Three children of two threads each, kept alive; a new connection per
# request, so that every child takes some.
CHILDREN = """
StartServers 3
ServerLimit 3
ThreadLimit 2
ThreadsPerChild 2
MaxRequestWorkers 6
MinSpareThreads 6
MaxSpareThreads 8
KeepAlive Off
LogFormat "%P %U %>s" with_pid
CustomLog "{workdir}/pids.log" with_pid
"""

SITE = CHILDREN + """
OrthancProxy /orthanc/ {url}/
OrthancProxy /down/ http://127.0.0.1:{dead_port}/
OrthancProxy /login/ {url}/
<Location /orthanc/>
    OrthancProxyAccess read
    OrthancProxyDeny GET /changes
    LimitRequestBody 100
</Location>
<Location /login/>
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    AuthzSendForbiddenOnFailure On
    <RequireAll>
        Require valid-user
        Require orthanc-access read
    </RequireAll>
</Location>
<Location /status>
    SetHandler orthanc-proxy-status
    Require ip 127.0.0.1
</Location>
<Location /status-elsewhere>
    SetHandler orthanc-proxy-status
    Require ip 192.0.2.1
</Location>
<Location /orthanc/status>
    SetHandler orthanc-proxy-status
</Location>
"""
MODULES = ("auth_basic", "authn_core", "authn_file", "authz_user",
           "authz_host", "slotmem_shm")

# (how many, method, path, user, body): the mix, and what each mapping's
# counters must say about it.
MIX = [
    (40, "GET", "/orthanc/system", None, None),             # proxied 2xx
    (2, "GET", "/orthanc/patients/no-such-id", None, None),  # proxied 4xx
    (5, "DELETE", "/orthanc/patients/x", None, None),       # refused: access
    (3, "GET", "/orthanc/changes", None, None),             # refused: deny
    (2, "GET", "/orthanc/tools%00", None, None),            # refused: request
    (1, "POST", "/orthanc/tools/find", None, b"x" * 200),   # refused: body
    (2, "GET", "/orthanc", None, None),                     # local redirect
    (4, "GET", "/down/system", None, None),                 # 503
    (3, "GET", "/login/system", None, None),                # refused: login
    (2, "DELETE", "/login/patients/x", "clara", None),      # refused: require
    (1, "GET", "/login/system", "clara", None),             # proxied 2xx
]
EXPECTED = {
    "/orthanc/": {"requests": 55, "proxied": 42, "local": 2,
                  "refused": {"access": 5, "deny": 3, "request": 2, "body": 1},
                  "responses": {"2xx": 40, "4xx": 2}, "backend_errors": {}},
    "/down/": {"requests": 4, "proxied": 4, "local": 0, "refused": {},
               "responses": {"5xx": 4}, "backend_errors": {"503": 4}},
    "/login/": {"requests": 6, "proxied": 1, "local": 0,
                "refused": {"login": 3, "require": 2},
                "responses": {"2xx": 1}, "backend_errors": {}},
}


@pytest.fixture(scope="module")
def htpasswd(module_dir):
    path = os.path.join(module_dir, "users.htpasswd")
    subprocess.run(["htpasswd", "-b", "-B", "-c", path, "clara", "clara"],
                   check=True, capture_output=True)
    os.chmod(path, 0o644)
    return path


@pytest.fixture(scope="module")
def server(orthanc, htpasswd, make_module_apache):
    return make_module_apache(
        SITE.replace("{url}", orthanc.url)
            .replace("{dead_port}", str(free_port()))
            .replace("{htpasswd}", htpasswd),
        extra_modules=MODULES)


def send(apache, method, path, user, body):
    auth = (user, user) if user else None
    return requests.request(method, apache.url + path, auth=auth, data=body,
                            allow_redirects=False, timeout=TIMEOUT).status_code


def status_json(apache, path="/status?json"):
    r = requests.get(apache.url + path, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def by_prefix(status):
    return {m["prefix"]: m for m in status["mappings"]}


@pytest.fixture(scope="module")
def traffic(server):
    jobs = [(method, path, user, body)
            for count, method, path, user, body in MIX for _ in range(count)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda job: send(server, *job), jobs))
    total = {prefix: e["requests"] for prefix, e in EXPECTED.items()}

    def counted():
        mappings = by_prefix(status_json(server))
        return all(mappings[p]["requests"] >= n for p, n in total.items())
    wait_until(counted, timeout=20, what="every request to be counted")
    return statuses


def test_the_mix_got_the_answers_it_is_counted_as(traffic):
    assert traffic.count(200) == 41
    assert traffic.count(403) == 5 + 3 + 2
    assert traffic.count(503) == 4


def test_several_children_served_the_mix(server, traffic):
    with open(os.path.join(server.workdir, "pids.log")) as f:
        pids = {line.split()[0] for line in f
                if re.match(r"\d+ /(orthanc|down|login)", line)}
    assert len(pids) >= 2, pids


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_the_counters_match_the_requests_made(server, traffic, prefix):
    status = status_json(server)
    assert status["counting"] is True
    entry = by_prefix(status)[prefix]
    expected = EXPECTED[prefix]
    assert entry["counted"] is True
    for key in ("requests", "proxied", "local"):
        assert entry[key] == expected[key], (key, entry)
    assert entry["refused"] == {k: expected["refused"].get(k, 0)
                                for k in entry["refused"]}, entry
    assert entry["responses"] == {k: expected["responses"].get(k, 0)
                                  for k in entry["responses"]}, entry
    assert entry["backend_errors"] == {
        k: expected["backend_errors"].get(k, 0)
        for k in ("502", "503", "504")}, entry
    latency = entry["latency"]
    assert latency["count"] == expected["proxied"]
    assert sum(latency["buckets"].values()) == expected["proxied"]
    if expected["proxied"]:
        assert 0 < latency["mean_ms"] <= latency["max_ms"] < TIMEOUT * 1000


def test_the_page_names_the_module_version(server):
    """The version configure.ac gives, in ?json and on the page, as in the
    line the module logs when Apache starts."""
    assert status_json(server)["version"] == VERSION
    page = requests.get(server.url + "/status", timeout=TIMEOUT).text
    assert f"<p>mod_orthanc_proxy {VERSION} &mdash; " in page


def test_the_start_up_line_names_the_module_version(server):
    """One notice line per start (a notice is logged whatever the
    LogLevel): httpd reads its configuration twice when it starts, the line
    comes once."""
    lines = [line for line in server.error_log().splitlines()
             if "mod_orthanc_proxy/" in line]
    assert len(lines) == 1, lines
    assert f"mod_orthanc_proxy/{VERSION} configured" in lines[0]
    assert "[orthanc_proxy:notice]" in lines[0]


def test_each_mapping_names_its_backend(server, orthanc):
    mappings = by_prefix(status_json(server))
    assert mappings["/orthanc/"]["backend"] == f"{orthanc.url}/"
    assert mappings["/down/"]["backend"].startswith("http://127.0.0.1:")
    line = server.config.splitlines().index(
        f"OrthancProxy /orthanc/ {orthanc.url}/") + 1
    assert mappings["/orthanc/"]["defined_at"] == \
        f"{server.config_path}:{line}"


def test_the_html_page_shows_the_same_figures(server, traffic):
    r = requests.get(server.url + "/status", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-store"
    page = r.text
    for prefix in EXPECTED:
        assert f"<h2>{prefix} &rarr; " in page
    assert "<th>requests</th><td>55</td>" in page
    assert "503&nbsp;4" in page


def test_the_page_is_protected_by_require(server):
    r = requests.get(server.url + "/status-elsewhere?json", timeout=TIMEOUT)
    assert r.status_code == 403
    assert "mappings" not in r.text


def test_the_page_is_never_served_below_a_mapped_prefix(server):
    r = requests.get(server.url + "/orthanc/status?json", timeout=TIMEOUT)
    assert r.status_code in (403, 404), r.text
    assert "mappings" not in r.text
    assert r.headers["Content-Type"].startswith("application/json")


def test_only_get(server):
    r = requests.post(server.url + "/status", timeout=TIMEOUT)
    assert r.status_code == 405


def test_without_mod_slotmem_shm_nothing_is_counted(orthanc, make_apache):
    apache = make_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/
<Location /status>
    SetHandler orthanc-proxy-status
</Location>
""")
    assert requests.get(apache.url + "/orthanc/system",
                        timeout=TIMEOUT).status_code == 200
    status = status_json(apache)
    assert status["counting"] is False
    assert "a2enmod slotmem_shm" in status["counting_off"]
    assert status["mappings"][0]["prefix"] == "/orthanc/"
    assert status["mappings"][0]["counted"] is False
    page = requests.get(apache.url + "/status", timeout=TIMEOUT).text
    assert "counting is off" in page


def test_virtual_hosts_mappings_are_listed_once(orthanc, make_apache):
    """A virtual host's own mapping under its name; the main server's,
    which virtual hosts inherit, once, under the main server."""
    apache = make_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/
<Location /status>
    SetHandler orthanc-proxy-status
</Location>
<VirtualHost 127.0.0.1:{{port}}>
    ServerName viewer.example
    OrthancProxy /viewer-api/ {orthanc.url}/
</VirtualHost>
""", extra_modules=["slotmem_shm"])
    r = requests.get(apache.url + "/viewer-api/system", timeout=TIMEOUT,
                     headers={"Host": "viewer.example"})
    assert r.status_code == 200
    wait_until(lambda: by_prefix(status_json(apache))["/viewer-api/"]
               ["requests"] == 1, timeout=20, what="the request to be counted")
    status = status_json(apache)
    listed = [(m["server"], m["prefix"]) for m in status["mappings"]]
    assert listed == [("127.0.0.1", "/orthanc/"),
                      ("viewer.example", "/viewer-api/")], listed
    assert by_prefix(status)["/orthanc/"]["requests"] == 0
