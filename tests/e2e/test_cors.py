# SPDX-License-Identifier: Apache-2.0
"""OrthancProxyCORS: pages from another origin, off unless set.

Preflights are answered by the proxy without authentication (but after the
Require lines that need no user: address, host, environment) and only for
what the access level allows; answers to an allowed origin carry the CORS
headers, errors included; '*' never goes with credentials.  The last test
is a real cross-origin fetch() in Chromium from a page on another port.
"""

import os
import subprocess

import pytest
import requests

from harness import browser_dom

VIEWER = "https://viewer.example"


ORTHANC_OPTIONS = {"record": True, "samples": ["CT_small.dcm"]}


def make_htpasswd(module_dir):
    htpasswd = os.path.join(module_dir, "users")
    subprocess.run(["htpasswd", "-bc", htpasswd, "alice", "alice-pw"],
                   check=True, capture_output=True)
    os.chmod(htpasswd, 0o644)
    return htpasswd


@pytest.fixture(scope="module")
def cors_apache(orthanc, make_module_apache, module_dir):
    htpasswd = make_htpasswd(module_dir)
    return make_module_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/
OrthancProxy /public/ {orthanc.url}/
<Location /orthanc/>
    OrthancProxyCORS {VIEWER} http://other.example:8080
    OrthancProxyAccess read
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    Require valid-user
</Location>
<Location /public/>
    OrthancProxyCORS *
    OrthancProxyAccess read
</Location>
""", extra_modules=["auth_basic", "authn_core", "authn_file", "authz_user"])


def preflight(url, origin, method="GET", headers=None):
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return requests.options(url, headers=sent)


def test_a_preflight_is_answered_without_credentials(orthanc, cors_apache):
    before = len(orthanc.seen_requests())
    r = preflight(cors_apache.url + "/orthanc/patients", VIEWER,
                  headers="content-type, accept")
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == VIEWER
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Methods"] == "GET"
    assert r.headers["Access-Control-Allow-Headers"] == "content-type, accept"
    assert "Origin" in r.headers["Vary"]
    assert len(orthanc.seen_requests()) == before


HOST_RULES_SITE = """
SetEnvIf X-Ward "^7$" in_ward_7
{mappings}
<Location /ip/>
    Require ip 10.9.9.9
</Location>
<Location /denied/>
    Require all denied
</Location>
<Location /env/>
    Require env in_ward_7
</Location>
<Location /ip-and-user/>
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    <RequireAll>
        Require ip 127.0.0.1
        Require valid-user
    </RequireAll>
</Location>
<Location /other-ip-and-user/>
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    <RequireAll>
        Require ip 10.9.9.9
        Require valid-user
    </RequireAll>
</Location>
"""
HOST_RULE_PREFIXES = ("ip", "denied", "env", "ip-and-user",
                      "other-ip-and-user")


@pytest.fixture(scope="module")
def host_rules_apache(orthanc, make_module_apache, module_dir):
    htpasswd = make_htpasswd(module_dir)
    mappings = "\n".join(
        f"OrthancProxy /{p}/ {orthanc.url}/\n"
        f"<Location /{p}/>\n    OrthancProxyCORS {VIEWER}\n</Location>"
        for p in HOST_RULE_PREFIXES)
    return make_module_apache(
        HOST_RULES_SITE.format(mappings=mappings, htpasswd=htpasswd),
        extra_modules=["auth_basic", "authn_core", "authn_file",
                       "authz_user", "authz_host", "setenvif"])


@pytest.mark.parametrize("prefix, headers, status", [
    ("ip", {}, 403),
    ("denied", {}, 403),
    ("env", {}, 403),
    ("env", {"X-Ward": "7"}, 204),
    ("ip-and-user", {}, 204),
    ("other-ip-and-user", {}, 403),
])
def test_host_based_require_applies_to_preflights(
        orthanc, host_rules_apache, prefix, headers, status):
    """A preflight carries no credentials, so the Require lines about the
    user cannot apply to it; those about the client's address, host or
    environment still do: a client they refuse gets no CORS answer."""
    before = len(orthanc.seen_requests())
    sent = {"Origin": VIEWER, "Access-Control-Request-Method": "GET"}
    sent.update(headers)
    r = requests.options(f"{host_rules_apache.url}/{prefix}/patients",
                         headers=sent)
    assert r.status_code == status, r.text
    if status == 204:
        assert r.headers["Access-Control-Allow-Origin"] == VIEWER
    else:
        assert "Access-Control-Allow-Methods" not in r.headers
        assert r.json()["status"] == 403
    assert len(orthanc.seen_requests()) == before


def test_a_preflight_for_a_method_the_level_refuses_is_refused(cors_apache):
    r = preflight(cors_apache.url + "/orthanc/patients/x", VIEWER, "DELETE")
    assert r.status_code == 403
    assert r.json()["rule"] == "OrthancProxyAccess read"
    assert "Access-Control-Allow-Methods" not in r.headers


def test_a_preflight_may_not_ask_for_proxy_owned_headers(cors_apache):
    r = preflight(cors_apache.url + "/orthanc/patients", VIEWER,
                  headers="x-http-method-override")
    assert r.status_code == 403
    assert "x-http-method-override" in r.json()["message"]


def test_other_origins_get_no_cors_and_meet_authentication(cors_apache):
    r = preflight(cors_apache.url + "/orthanc/patients", "https://evil.example")
    assert r.status_code == 401
    assert "Access-Control-Allow-Origin" not in r.headers
    r = requests.get(cors_apache.url + "/orthanc/patients",
                     auth=("alice", "alice-pw"),
                     headers={"Origin": "https://evil.example"})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


def test_answers_and_errors_carry_the_cors_headers(cors_apache):
    r = requests.get(cors_apache.url + "/orthanc/patients",
                     auth=("alice", "alice-pw"), headers={"Origin": VIEWER})
    assert r.status_code == 200 and r.json()
    assert r.headers["Access-Control-Allow-Origin"] == VIEWER
    assert r.headers["Access-Control-Allow-Credentials"] == "true"

    r = requests.post(cors_apache.url + "/orthanc/instances", data=b"x",
                      auth=("alice", "alice-pw"), headers={"Origin": VIEWER})
    assert r.status_code == 403 and r.json()["status"] == 403
    assert r.headers["Access-Control-Allow-Origin"] == VIEWER


def test_the_wildcard_never_allows_credentials(cors_apache):
    r = requests.get(cors_apache.url + "/public/system",
                     headers={"Origin": "https://anyone.example"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers
    r = preflight(cors_apache.url + "/public/system", "null")
    assert "Access-Control-Allow-Origin" not in r.headers


def test_without_the_directive_there_is_no_cors(orthanc, make_apache):
    apache = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/")
    r = preflight(apache.url + "/orthanc/patients", VIEWER)
    assert r.status_code == 403          # OPTIONS is no Orthanc route
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("directive, message", [
    ("OrthancProxyCORS * https://a.example", "stands alone"),
    ("OrthancProxyCORS viewer.example", "not an origin"),
    ("OrthancProxyCORS https://a.example/app", "nothing after it"),
    ("OrthancProxyCORS", "needs origins"),
])
def test_bad_origins_fail_configtest(orthanc, make_apache, directive, message):
    apache = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n{directive}",
                         start=False)
    status, output = apache.configtest()
    assert status != 0 and message in output, output


CALLER = """<!doctype html>
<title>caller</title>
<pre id="out">pending</pre>
<script>
fetch("{target}/orthanc/patients")
  .then(r => r.json())
  .then(p => document.getElementById("out").textContent = "patients:" + p.length)
  .catch(e => document.getElementById("out").textContent = "blocked:" + e.name);
</script>
"""


def test_a_browser_page_on_another_origin_reads_through_the_proxy(
        orthanc, make_apache, workdir):
    caller = make_apache("")
    target = make_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/
OrthancProxyCORS http://127.0.0.1:{caller.port}
""")
    stranger = make_apache("")
    for page in (caller, stranger):
        with open(os.path.join(page.docroot, "index.html"), "w") as f:
            f.write(CALLER.replace("{target}", target.url))
    assert "patients:1" in browser_dom(caller.url + "/", workdir)
    assert "blocked:TypeError" in browser_dom(stranger.url + "/", workdir)
