# SPDX-License-Identifier: Apache-2.0
"""Require orthanc-access: the access levels in Apache's authorization
framework, composed with real Apache authentication.

mod_authn_file and mod_authz_groupfile stand in for an LDAP directory (they
plug into the same framework as mod_authnz_ldap): three users in three
groups share ONE prefix, each allowed exactly its level, and each check is
made on a real Orthanc, by effect (stored, deleted, log level changed), not
only by status.  Then the attack table of test_attacks.py runs as the read
user against the provider-protected prefixes.
"""

import json
import os
import uuid

import pytest
import requests

import test_attacks as attacks
from harness import SAMPLE_DIR, basic_accounts, parse_responses, \
    raw_request

CT_SMALL = os.path.join(SAMPLE_DIR, "CT_small.dcm")
MR_SMALL = os.path.join(SAMPLE_DIR, "MR_small.dcm")
TIMEOUT = 60

# The attack table's Orthanc: Lua and writes to the file system enabled,
# every request logged by a Lua filter.
ORTHANC_OPTIONS = attacks.ORTHANC_OPTIONS

AUTH_MODULES = ("auth_basic", "authn_core", "authn_file", "authz_user",
                "authz_groupfile", "authz_host")

# user -> group; the password is the user name.  olga logs in but belongs
# to no group.
USERS = {"clara": "clinicians", "ravi": "radiologists", "ada": "pacs-admins",
         "olga": None}

# The README's LDAP-style example, with group files instead of LDAP.
LOGIN = """
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    AuthGroupFile "{groups}"
"""
THREE_GROUPS = """
    AuthzSendForbiddenOnFailure On
    <RequireAny>
        <RequireAll>
            Require group clinicians
            Require orthanc-access read
        </RequireAll>
        <RequireAll>
            Require group radiologists
            Require orthanc-access modify
        </RequireAll>
        <RequireAll>
            Require group pacs-admins
            Require orthanc-access admin
        </RequireAll>
    </RequireAny>
"""

SITE = """
KeepAliveTimeout 1
AllowEncodedSlashes {encoded_slashes}
<Location /orthanc/>
    OrthancProxy {url}/
    OrthancProxyAccess admin
{login}{groups_block}
</Location>
<Location /upload/>
    OrthancProxy {url}/
    OrthancProxyAccess admin
{login}{groups_block}
</Location>
"""


@pytest.fixture(scope="module")
def accounts(module_dir):
    return basic_accounts(module_dir, "users", USERS)


def login(accounts):
    return LOGIN.format(**accounts)


def site(orthanc, accounts, encoded_slashes="Off", groups_block=THREE_GROUPS):
    return SITE.format(url=orthanc.url, encoded_slashes=encoded_slashes,
                       login=login(accounts), groups_block=groups_block)


@pytest.fixture(scope="module")
def pacs(orthanc, accounts, make_module_apache):
    return make_module_apache(site(orthanc, accounts),
                              extra_modules=AUTH_MODULES)


def direct(orthanc, method, path, **kwargs):
    return requests.request(method, orthanc.url + path, timeout=TIMEOUT,
                            **kwargs)


def store_direct(orthanc, path=CT_SMALL):
    with open(path, "rb") as f:
        r = direct(orthanc, "POST", "/instances", data=f.read())
    r.raise_for_status()
    return r.json()


def as_user(apache, user, method, path, **kwargs):
    auth = (user, user) if user else None
    return requests.request(method, apache.url + path, auth=auth,
                            timeout=TIMEOUT, **kwargs)


def refused(response, status=403):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status and body["message"]
    return body


def instance_ids(orthanc):
    return set(direct(orthanc, "GET", "/instances").json())


# ---------------------------------------------------------------------------
# Three groups, one prefix

def reads(orthanc, apache, user):
    r = as_user(apache, user, "GET", "/orthanc/patients")
    return r, r.status_code == 200 and isinstance(r.json(), list)


def stores(orthanc, apache, user):
    before = instance_ids(orthanc)
    with open(MR_SMALL, "rb") as f:
        r = as_user(apache, user, "POST", "/orthanc/instances", data=f.read())
    new = instance_ids(orthanc) - before
    for instance in new:
        direct(orthanc, "DELETE", f"/instances/{instance}")
    return r, bool(new)


def deletes(orthanc, apache, user):
    instance = store_direct(orthanc)["ID"]
    r = as_user(apache, user, "DELETE", f"/orthanc/instances/{instance}")
    gone = direct(orthanc, "GET", f"/instances/{instance}").status_code == 404
    if gone:
        store_direct(orthanc)
    return r, gone


def administers(orthanc, apache, user):
    direct(orthanc, "PUT", "/tools/log-level", data="default")
    r = as_user(apache, user, "PUT", "/orthanc/tools/log-level", data="verbose")
    changed = direct(orthanc, "GET", "/tools/log-level").text != "default"
    direct(orthanc, "PUT", "/tools/log-level", data="default")
    return r, changed


# (effect, level it needs); each user is allowed exactly the first ones.
ACTIONS = [(reads, "read"), (stores, "upload"), (deletes, "modify"),
           (administers, "admin")]
LEVEL = {"clara": "read", "ravi": "modify", "ada": "admin"}
ORDER = ["read", "upload", "modify", "admin"]


@pytest.mark.parametrize("user", ["clara", "ravi", "ada"])
def test_each_group_gets_exactly_its_level(orthanc, pacs, user):
    granted = LEVEL[user]
    for action, needed in ACTIONS:
        allowed = ORDER.index(needed) <= ORDER.index(granted)
        response, happened = action(orthanc, pacs, user)
        assert happened == allowed, (user, action.__name__, response.text)
        if allowed:
            assert response.status_code == 200, response.text
        else:
            body = refused(response)
            assert body["rule"] == f"Require orthanc-access {granted}"
            assert f"needs Require orthanc-access {needed};" in body["message"]
            assert f"grant {granted}" in body["message"]


def test_a_user_in_no_group_gets_nothing(orthanc, pacs):
    for action, _ in ACTIONS:
        response, happened = action(orthanc, pacs, "olga")
        assert not happened, action.__name__
        body = refused(response)
        # Her groups refused her, not a level: no level is blamed.
        assert "orthanc-access" not in json.dumps(body)


def test_anonymous_requests_are_asked_to_log_in(orthanc, pacs):
    before = len(orthanc.seen_requests())
    for method, path in (("GET", "/orthanc/patients"),
                         ("DELETE", "/orthanc/patients/x"),
                         ("PUT", "/orthanc/tools/log-level")):
        r = as_user(pacs, None, method, path)
        body = refused(r, 401)
        assert "WWW-Authenticate" in r.headers
        assert "orthanc-access" not in json.dumps(body), body
    assert len(orthanc.seen_requests()) == before


def test_a_wrong_password_is_authentications_401(pacs):
    r = requests.delete(pacs.url + "/orthanc/patients/x",
                        auth=("clara", "wrong"), timeout=TIMEOUT)
    body = refused(r, 401)
    assert "orthanc-access" not in json.dumps(body)


def test_a_refusal_is_logged_once_with_the_require_line(pacs):
    name = f"authz-log-{uuid.uuid4().hex}"
    refused(as_user(pacs, "clara", "DELETE", f"/orthanc//patients/./{name}"))
    lines = [l for l in pacs.error_log().splitlines()
             if name in l and "orthanc_proxy" in l]
    assert len(lines) == 1, lines
    assert f"refused with 403: DELETE /patients/{name} " in lines[0]
    assert "rule Require orthanc-access read" in lines[0]
    assert "[client 127.0.0.1:" in lines[0]


def test_without_forbidden_on_failure_apache_asks_again(orthanc, accounts,
                                                        make_apache):
    """Apache's default answers an authenticated user it refuses with 401,
    which makes browsers ask for the password again: the JSON still says
    why; AuthzSendForbiddenOnFailure On (README) makes it a 403."""
    groups_block = THREE_GROUPS.replace("AuthzSendForbiddenOnFailure On", "")
    apache = make_apache(site(orthanc, accounts, groups_block=groups_block),
                         extra_modules=AUTH_MODULES)
    patient = store_direct(orthanc)["ParentPatient"]
    r = as_user(apache, "clara", "DELETE", f"/orthanc/patients/{patient}")
    body = refused(r, 401)
    assert "WWW-Authenticate" in r.headers
    assert body["rule"] == "Require orthanc-access read"
    assert direct(orthanc, "GET", f"/patients/{patient}").status_code == 200


HOSTS_SITE = """
OrthancProxy /lan/ {url}/
OrthancProxy /elsewhere/ {url}/
<Location /lan/>
    <RequireAll>
        Require ip 127.0.0.1
        Require orthanc-access upload
    </RequireAll>
</Location>
<Location /elsewhere/>
    <RequireAll>
        Require ip 192.0.2.0/24
        Require orthanc-access admin
    </RequireAll>
</Location>
"""


def test_host_based_requirements_compose_without_a_login(orthanc,
                                                         make_apache):
    apache = make_apache(HOSTS_SITE.format(url=orthanc.url),
                         extra_modules=AUTH_MODULES)
    before = instance_ids(orthanc)
    with open(MR_SMALL, "rb") as f:
        assert requests.post(apache.url + "/lan/instances", data=f.read(),
                             timeout=TIMEOUT).status_code == 200
    for new in instance_ids(orthanc) - before:
        direct(orthanc, "DELETE", f"/instances/{new}")

    patient = store_direct(orthanc)["ParentPatient"]
    body = refused(requests.delete(f"{apache.url}/lan/patients/{patient}",
                                   timeout=TIMEOUT))
    assert body["rule"] == "Require orthanc-access upload"
    assert direct(orthanc, "GET", f"/patients/{patient}").status_code == 200

    # The level would allow it, the address does not: Require ip's refusal.
    body = refused(requests.get(apache.url + "/elsewhere/system",
                                timeout=TIMEOUT))
    assert "orthanc-access" not in json.dumps(body)


RULES_SITE = """
OrthancProxy /orthanc/ {url}/
<Location /orthanc/>
    OrthancProxyAccess admin
    OrthancProxyDeny DELETE /patients/**
    OrthancProxyAllow GET /no-such-plugin/**
{login}{groups_block}
</Location>
<Location /ceiling/>
    OrthancProxy {url}/
    OrthancProxyAccess modify
{login}{groups_block}
</Location>
<Location /static/>
    Require orthanc-access read
</Location>
"""


@pytest.fixture(scope="module")
def with_rules(orthanc, accounts, make_module_apache):
    return make_module_apache(RULES_SITE.format(
        url=orthanc.url, login=login(accounts), groups_block=THREE_GROUPS),
        extra_modules=AUTH_MODULES)


def test_deny_rules_refuse_inside_require(orthanc, with_rules):
    patient = store_direct(orthanc)["ParentPatient"]
    for user in ("ravi", "ada"):
        body = refused(as_user(with_rules, user, "DELETE",
                               f"/orthanc/patients/{patient}"))
        assert body["rule"] == "OrthancProxyDeny DELETE /patients/**"
    assert direct(orthanc, "GET", f"/patients/{patient}").status_code == 200


def test_allow_rules_admit_every_level(orthanc, with_rules):
    before = len(orthanc.seen_requests())
    r = as_user(with_rules, "clara", "GET", "/orthanc/no-such-plugin/x")
    assert r.status_code == 404                 # Orthanc's own answer
    assert [s["uri"] for s in attacks.via_proxy(
        orthanc.seen_requests()[before:])] == ["/no-such-plugin/x"]


def test_orthanc_proxy_access_stays_the_ceiling(orthanc, with_rules):
    direct(orthanc, "PUT", "/tools/log-level", data="default")
    body = refused(as_user(with_rules, "ada", "PUT", "/ceiling/tools/log-level",
                           data="verbose"))
    assert body["rule"] == "OrthancProxyAccess modify"
    assert direct(orthanc, "GET", "/tools/log-level").text == "default"
    # Below the ceiling, each group keeps its own level.
    refused(as_user(with_rules, "clara", "DELETE", "/ceiling/patients/x"))


def test_require_outside_a_mapping_fails_closed(with_rules):
    r = requests.get(with_rules.url + "/static/index.html", timeout=TIMEOUT)
    assert r.status_code == 403
    assert "applies only below an OrthancProxy prefix" in with_rules.error_log()


@pytest.mark.parametrize("line, message", [
    ("Require orthanc-access root", "'root' is not a level"),
    ("Require orthanc-access", "takes one level"),
    ("Require orthanc-access read modify", "takes one level"),
])
def test_bad_levels_fail_configtest(orthanc, make_apache, line, message):
    apache = make_apache(f"OrthancProxy /o/ {orthanc.url}/\n"
                         f"<Location /o/>\n    {line}\n</Location>\n",
                         start=False)
    status, output = apache.configtest()
    assert status != 0 and message in output, output


# ---------------------------------------------------------------------------
# CORS preflights

CORS_SITE = """
OrthancProxy /orthanc/ {url}/
OrthancProxy /groups/ {url}/
<Location /orthanc/>
    OrthancProxyAccess modify
    OrthancProxyCORS https://viewer.example
    <RequireAll>
        Require ip 127.0.0.1
        Require orthanc-access read
    </RequireAll>
</Location>
<Location /groups/>
    OrthancProxyAccess admin
    OrthancProxyCORS https://viewer.example
{login}
    <RequireAny>
        <RequireAll>
            Require group clinicians
            Require orthanc-access read
        </RequireAll>
        <RequireAll>
            Require group radiologists
            Require orthanc-access modify
        </RequireAll>
    </RequireAny>
</Location>
"""


def preflight(apache, method, path):
    return requests.options(apache.url + path, timeout=TIMEOUT, headers={
        "Origin": "https://viewer.example",
        "Access-Control-Request-Method": method})


def test_preflights_are_decided_on_the_method_they_ask_for(orthanc, accounts,
                                                           make_apache):
    """A preflight carries no credentials and asks whether METHOD may be
    sent.  Require orthanc-access decides on that method, as the preflight's
    own answer does; it needs no user, so it applies to preflights like
    Require ip, while the lines that need a user (Require group) wait for
    one a preflight never names (apache/cors.c lets those through)."""
    apache = make_apache(CORS_SITE.format(url=orthanc.url,
                                          login=login(accounts)),
                         extra_modules=AUTH_MODULES)
    ok = preflight(apache, "GET", "/orthanc/patients/x")
    assert ok.status_code == 204, ok.text
    assert ok.headers["Access-Control-Allow-Methods"] == "GET"
    assert ok.headers["Access-Control-Allow-Origin"] == "https://viewer.example"

    # No Require line could admit a DELETE: refused, and the reason says so.
    r = preflight(apache, "DELETE", "/orthanc/patients/x")
    body = refused(r)
    assert body["rule"] == "Require orthanc-access read"
    assert "needs Require orthanc-access modify" in body["message"]
    assert r.headers["Access-Control-Allow-Origin"] == "https://viewer.example"

    # Some group may DELETE (the radiologists): the preflight passes; the
    # real request will be decided with the user's own groups.
    ok = preflight(apache, "DELETE", "/groups/patients/x")
    assert ok.status_code == 204, ok.text
    assert ok.headers["Access-Control-Allow-Methods"] == "DELETE"

    # No group may change the log level: refused before any login.
    body = refused(preflight(apache, "PUT", "/groups/tools/log-level"))
    assert body["rule"] == "Require orthanc-access modify"
    assert "needs Require orthanc-access admin" in body["message"]


# ---------------------------------------------------------------------------
# The attack table, as the read user

# The read user's credentials on every request, the hidden one of the
# smuggling rows included: the level decides, not a missing login.
CLARA = "Authorization: Basic Y2xhcmE6Y2xhcmE="
HIDDEN_DELETE = attacks.HIDDEN_DELETE.replace("Host:", CLARA + "\r\nHost:")

MAPPINGS = {attacks.READ: "Off", attacks.UPLOAD: "Off",
            attacks.READ_NODECODE: "NoDecode",
            attacks.UPLOAD_NODECODE: "NoDecode",
            attacks.READ_ON: "On", attacks.UPLOAD_ON: "On"}
ROWS = [a for a in attacks.ATTACKS if a.mapping in MAPPINGS]

# Where the read user's answer differs from the row's, and why.
DIFFERENT = {
    415: (403, "Require is decided before the body's encoding is looked at"),
}


def with_credentials(data):
    """DATA with CLARA after its request line."""
    line_end = data.find(b"\n")
    if line_end < 0:
        return data
    eol = b"\r\n" if data[line_end - 1:line_end] == b"\r" else b"\n"
    return data[:line_end + 1] + CLARA.encode() + eol + data[line_end + 1:]


@pytest.fixture(scope="module")
def attack_env(orthanc, accounts, make_module_apache, module_dir):
    sites = {}
    apaches = {}
    for mode in sorted(set(MAPPINGS.values())):
        apaches[mode] = make_module_apache(site(orthanc, accounts, mode),
                                           extra_modules=AUTH_MODULES)
    for mapping, mode in MAPPINGS.items():
        prefix = "/orthanc" if mapping.startswith("read") else "/upload"
        sites[mapping] = attacks.Site(apaches[mode], prefix)
    tmp = os.path.join(module_dir, "effects")
    os.makedirs(tmp, exist_ok=True)
    with open(MR_SMALL, "rb") as f:
        mr = direct(orthanc, "POST", "/instances", data=f.read()).json()["ID"]
    direct(orthanc, "DELETE", f"/instances/{mr}")
    return attacks.Env(orthanc, sites, tmp, mr)


def expected_statuses(attack):
    return [DIFFERENT.get(s, (s,))[0] for s in attacks.expected_statuses(attack)]


@pytest.mark.parametrize("attack", ROWS, ids=[a.name for a in ROWS])
def test_attack_as_the_read_user(attack_env, attack):
    env = attack_env
    site_ = env.sites[attack.mapping]
    apache = site_.apache
    effect = attack.effect
    values = effect.prepare(env)
    try:
        seen_before = len(env.orthanc.seen_requests())
        log_before = len(apache.error_log().splitlines())
        request_values = attacks.request_values(values, site_.prefix,
                                                apache.port)
        if "patient" in request_values:
            request_values["hidden"] = attacks.render(HIDDEN_DELETE,
                                                      request_values)
        data = with_credentials(attacks.render(attack.request, request_values))
        raw = raw_request(apache.port, data, timeout=attacks.RAW_TIMEOUT)

        happened = effect.happened(env, values)
        seen = attacks.via_proxy(env.orthanc.seen_requests()[seen_before:])
        log_lines = apache.error_log().splitlines()[log_before:]
        proof = attacks.evidence(data, raw, seen, log_lines)

        assert not happened, f"MODULE BUG: {effect.what} through the " \
                             f"proxy as the read user\n{proof}"
        reached = [(s["method"], s["uri"]) for s in seen]
        wanted = [(m, attacks.render(u, values).decode())
                  for m, u in attack.reaches]
        assert reached == wanted, f"Orthanc received {reached}\n{proof}"

        got = parse_responses(raw)
        assert [g[0] for g in got] == expected_statuses(attack), proof
        for status, headers, body in got:
            if status >= 400 and attack.json:
                head = data.startswith(b"HEAD ")
                attacks.assert_proxy_error(status, headers, body, head=head)
                if status == 403 and not head:
                    # Every 403 here is the read user's level.
                    assert json.loads(body)["rule"] == \
                        "Require orthanc-access read", proof
    finally:
        effect.undo(env, values)
