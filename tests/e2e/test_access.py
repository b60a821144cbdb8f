# SPDX-License-Identifier: Apache-2.0
"""Access levels, rules, credentials, identity and request hygiene.

One Orthanc that requires authentication and logs every request it gets
(a Lua filter); Apaches map it under several prefixes with different
levels.  Every refusal is checked for its effect on Orthanc, not only for
its status.
"""

import gzip
import os
import pwd
import subprocess

import pytest
import requests

from harness import SAMPLE_DIR, raw_request, status_of

USER, PASSWORD = "proxy", "s3cret-for-orthanc"
CREDENTIALS = f"OrthancProxyCredentials {USER} {PASSWORD}"
CT_SMALL = os.path.join(SAMPLE_DIR, "CT_small.dcm")
MR_SMALL = os.path.join(SAMPLE_DIR, "MR_small.dcm")


ORTHANC_OPTIONS = {"record": True, "lua": True, "settings": {
    "AuthenticationEnabled": True,
    "RegisteredUsers": {USER: PASSWORD},
}}


def direct(orthanc, method, path, **kwargs):
    return requests.request(method, orthanc.url + path,
                            auth=(USER, PASSWORD), timeout=60, **kwargs)


def upload_direct(orthanc, path=CT_SMALL):
    with open(path, "rb") as f:
        r = direct(orthanc, "POST", "/instances", data=f.read())
    r.raise_for_status()
    return r.json()


def instance_exists(orthanc, instance_id):
    return direct(orthanc, "GET", f"/instances/{instance_id}").status_code == 200


LEVELS_SITE = """
OrthancProxy /read/ {url}/
OrthancProxy /upload/ {url}/
OrthancProxy /modify/ {url}/
OrthancProxy /admin/ {url}/
{credentials}
<Location /read/>
    OrthancProxyAccess read
</Location>
<Location /upload/>
    OrthancProxyAccess upload
</Location>
<Location /admin/>
    OrthancProxyAccess admin
</Location>
"""


@pytest.fixture(scope="module")
def levels(orthanc, make_module_apache):
    return make_module_apache(LEVELS_SITE.format(url=orthanc.url,
                                                 credentials=CREDENTIALS))


def refused(response, status=403):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    assert body["message"]
    return body


def test_every_level_reads(levels):
    for prefix in ("read", "upload", "modify", "admin"):
        r = requests.get(f"{levels.url}/{prefix}/system")
        assert r.status_code == 200, prefix


def test_read_refuses_storing_and_nothing_is_stored(orthanc, levels):
    before = len(direct(orthanc, "GET", "/instances").json())
    with open(MR_SMALL, "rb") as f:
        body = refused(requests.post(f"{levels.url}/read/instances",
                                     data=f.read()))
    assert body["rule"] == "OrthancProxyAccess read"
    assert "upload" in body["message"]
    assert len(direct(orthanc, "GET", "/instances").json()) == before


def test_upload_stores_but_cannot_delete(orthanc, levels):
    with open(MR_SMALL, "rb") as f:
        stored = requests.post(f"{levels.url}/upload/instances", data=f.read())
    assert stored.status_code == 200
    instance = stored.json()["ID"]
    refused(requests.delete(f"{levels.url}/upload/instances/{instance}"))
    assert instance_exists(orthanc, instance)


def test_modify_deletes(orthanc, levels):
    instance = upload_direct(orthanc, MR_SMALL)["ID"]
    r = requests.delete(f"{levels.url}/modify/instances/{instance}")
    assert r.status_code == 200
    assert not instance_exists(orthanc, instance)


def test_administration_needs_admin(orthanc, levels):
    before = direct(orthanc, "GET", "/tools/log-level").text
    for prefix in ("read", "upload", "modify"):
        refused(requests.put(f"{levels.url}/{prefix}/tools/log-level",
                             data="verbose"))
        assert direct(orthanc, "GET", "/tools/log-level").text == before
    assert requests.put(f"{levels.url}/admin/tools/log-level",
                        data="verbose").status_code == 200
    assert direct(orthanc, "GET", "/tools/log-level").text == "verbose"
    direct(orthanc, "PUT", "/tools/log-level", data=before)


def test_a_refusal_is_logged_with_client_path_method_and_rule(levels):
    requests.post(f"{levels.url}/modify//tools/./execute-script",
                  data="print(1)")
    line = [l for l in levels.error_log().splitlines()
            if "refused with 403" in l and "execute-script" in l][-1]
    assert "[client 127.0.0.1" in line
    assert "POST /tools/execute-script" in line
    assert "OrthancProxyAccess modify" in line


def test_unknown_routes_are_refused_below_admin(levels):
    body = refused(requests.get(f"{levels.url}/modify/no-such-route/x"))
    assert "does not know" in body["message"]
    r = requests.get(f"{levels.url}/admin/no-such-route/x")
    assert r.status_code == 404          # Orthanc's own answer


def test_method_overrides_are_decided_as_the_method_they_stand_for(orthanc, levels):
    patient = upload_direct(orthanc)["ParentPatient"]
    refused(requests.get(f"{levels.url}/read/patients/{patient}?_method=delete"))
    refused(requests.post(f"{levels.url}/upload/patients/{patient}",
                          headers={"X-HTTP-Method-Override": "DELETE"}))
    assert direct(orthanc, "GET", f"/patients/{patient}").status_code == 200

    # Where DELETE is allowed, the override is forwarded as a real DELETE.
    r = requests.get(f"{levels.url}/modify/patients/{patient}?_method=delete")
    assert r.status_code == 200
    assert direct(orthanc, "GET", f"/patients/{patient}").status_code == 404
    seen = [s for s in orthanc.seen_requests()
            if s["uri"] == f"/patients/{patient}" and s["method"] == "DELETE"]
    assert seen and "x-http-method-override" not in seen[-1]["headers"]


def test_overrides_orthanc_does_not_know_are_refused(levels):
    for header in ("X-HTTP-Method", "X-Method-Override"):
        refused(requests.get(f"{levels.url}/modify/system",
                             headers={header: "DELETE"}), 400)
    refused(requests.get(f"{levels.url}/modify/system?_method=PATCH"), 400)


RULES_SITE = """
{credentials}
OrthancProxyDeny DELETE /patients/**
OrthancProxy /orthanc/ {url}/
<Location /orthanc/>
    OrthancProxyAccess read
    OrthancProxyAllow PUT /tools/log-level
</Location>
<Location /orthanc/tools/>
    OrthancProxyAccess admin
</Location>
"""


def test_rules_merge_across_sections(orthanc, make_apache):
    apache = make_apache(RULES_SITE.format(url=orthanc.url,
                                           credentials=CREDENTIALS))
    patient = upload_direct(orthanc)["ParentPatient"]
    before = direct(orthanc, "GET", "/tools/log-level").text
    # The Allow reaches beyond read; the inner Location lifts the level.
    assert requests.put(apache.url + "/orthanc/tools/log-level",
                        data=before).status_code == 200
    # The server-wide Deny holds in every section below it.
    body = refused(requests.delete(f"{apache.url}/orthanc/patients/{patient}"))
    assert body["rule"] == "OrthancProxyDeny DELETE /patients/**"
    assert direct(orthanc, "GET", f"/patients/{patient}").status_code == 200


def test_bad_rules_fail_configtest(orthanc, make_apache):
    for directive, message in (
            ("OrthancProxyAccess root", "not a level"),
            ("OrthancProxyAllow get /x", "list of methods"),
            ("OrthancProxyDeny GET tools", "must start with '/'"),
            ("OrthancProxyDeny GET /a/**/b", "last segment")):
        apache = make_apache(f"OrthancProxy /o/ {orthanc.url}/\n{directive}",
                             start=False)
        status, output = apache.configtest()
        assert status != 0 and message in output, output


def test_the_browsers_credentials_never_reach_orthanc(orthanc, levels):
    r = requests.get(levels.url + "/read/system", auth=("mallory", "guess"))
    assert r.status_code == 200
    seen = [s for s in orthanc.seen_requests() if s["uri"] == "/system"][-1]
    assert seen["username"] == USER
    assert "mallory" not in str(seen)
    for text in (r.text, str(r.headers), levels.error_log(),
                 levels.access_log()):
        assert PASSWORD not in text


def test_the_browsers_authorization_never_reaches_orthanc_without_credentials(
        make_orthanc, make_apache):
    """Without OrthancProxyCredentials the proxy sends no Authorization at
    all: the browser's own is removed, not passed on."""
    open_orthanc = make_orthanc(name="open", record=True)
    apache = make_apache(f"OrthancProxy /orthanc/ {open_orthanc.url}/\n")
    r = requests.get(apache.url + "/orthanc/system", auth=("mallory", "guess"))
    assert r.status_code == 200
    seen = [s for s in open_orthanc.seen_requests()
            if s["uri"] == "/system"][-1]
    assert "authorization" not in seen["headers"]
    assert seen["username"] == ""
    assert "mallory" not in str(seen)


def test_mod_info_does_not_show_the_password(orthanc, make_apache):
    """mod_info's page lists every directive with its arguments: the
    password of OrthancProxyCredentials is not among them."""
    apache = make_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/
{CREDENTIALS}
<Location /server-info>
    SetHandler server-info
</Location>
""", extra_modules=["info"])
    assert requests.get(apache.url + "/orthanc/system").status_code == 200
    for query in ("config", "", "list", "mod_orthanc_proxy.c"):
        page = requests.get(apache.url + "/server-info?" + query).text
        assert PASSWORD not in page, query
    page = requests.get(apache.url + "/server-info?config").text
    assert "OrthancProxyCredentials" in page
    assert "(password hidden)" in page


def test_credentials_from_a_root_only_file(orthanc, make_apache, workdir):
    secret = os.path.join(workdir, "orthanc.secret")
    with open(secret, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    apache = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n"
                         f"OrthancProxyCredentials {USER} file:{secret}")
    assert requests.get(apache.url + "/orthanc/system").status_code == 200

    for mode in (0o644, 0o640, 0o620, 0o604, 0o610):
        os.chmod(secret, mode)
        apache = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n"
                             f"OrthancProxyCredentials {USER} file:{secret}",
                             start=False)
        status, output = apache.configtest()
        assert status != 0 and f"chmod 600 {secret}" in output, oct(mode)
        assert f"mode {mode:04o}" in output
        assert PASSWORD not in output


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_a_password_file_owned_by_another_user_is_refused(orthanc, make_apache,
                                                           workdir):
    """As ssh refuses a private key another user could have written, the
    module refuses a password file root does not own (Apache reads it as
    root, before it switches user)."""
    secret = os.path.join(workdir, "orthanc.secret")
    with open(secret, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    os.chown(secret, pwd.getpwnam("nobody").pw_uid, -1)
    apache = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n"
                         f"OrthancProxyCredentials {USER} file:{secret}",
                         start=False)
    status, output = apache.configtest()
    assert status != 0 and f"chown root {secret}" in output
    assert PASSWORD not in output


def test_wrong_credentials_do_not_make_the_browser_ask(orthanc, make_apache):
    apache = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n"
                         f"OrthancProxyCredentials {USER} wrong")
    r = requests.get(apache.url + "/orthanc/system")
    assert r.status_code == 401
    assert "WWW-Authenticate" not in r.headers
    assert "check OrthancProxyCredentials" in apache.error_log()


IDENTITY_SITE = """
{credentials}
OrthancProxy /orthanc/ {url}/
OrthancProxyUserHeader X-Remote-User
<Location /orthanc/>
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    Require valid-user
</Location>
"""


@pytest.fixture
def identity(orthanc, make_apache, workdir):
    htpasswd = os.path.join(workdir, "users")
    subprocess.run(["htpasswd", "-bc", htpasswd, "alice", "alice-pw"],
                   check=True, capture_output=True)
    os.chmod(htpasswd, 0o644)
    return make_apache(IDENTITY_SITE.format(
        url=orthanc.url, credentials=CREDENTIALS, htpasswd=htpasswd),
        extra_modules=["auth_basic", "authn_core", "authn_file", "authz_user"])


def test_the_authenticated_user_is_passed_on(orthanc, identity):
    assert requests.get(identity.url + "/orthanc/system").status_code == 401
    r = requests.get(identity.url + "/orthanc/statistics",
                     auth=("alice", "alice-pw"),
                     headers={"X-Remote-User": "mallory",
                              "X_Remote_User": "mallory",
                              "Connection": "X-Remote-User, Forwarded, "
                                            "X-Forwarded-For"})
    assert r.status_code == 200
    seen = [s for s in orthanc.seen_requests()
            if s["uri"] == "/statistics"][-1]
    headers = seen["headers"]
    assert headers["x-remote-user"] == "alice"
    assert "x_remote_user" not in headers
    assert headers["forwarded"].startswith("for=127.0.0.1;host=127.0.0.1:")
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert seen["username"] == USER


def test_forwarding_headers_replace_what_the_client_sent(orthanc, levels):
    requests.get(levels.url + "/read/plugins", headers={
        "Forwarded": "for=6.6.6.6;host=evil.example;proto=https",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-For": "6.6.6.6",
        "X-Forwarded-Proto": "https"})
    headers = [s for s in orthanc.seen_requests()
               if s["uri"] == "/plugins"][-1]["headers"]
    assert headers["forwarded"] == \
        f"for=127.0.0.1;host=127.0.0.1:{levels.port}/read;proto=http"
    assert headers["x-forwarded-host"] == f"127.0.0.1:{levels.port}/read"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert "evil" not in str(headers)


def test_encoded_bodies_are_refused_unless_allowed(orthanc, levels, make_apache):
    with open(MR_SMALL, "rb") as f:
        body = gzip.compress(f.read())
    before = len(orthanc.seen_requests())
    refused(requests.post(levels.url + "/modify/instances", data=body,
                          headers={"Content-Encoding": "gzip"}), 415)
    assert len(orthanc.seen_requests()) == before

    allowing = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n"
                           f"{CREDENTIALS}\nOrthancProxyAllowEncodedBody On")
    allowing_request = requests.post(allowing.url + "/orthanc/instances",
                                     data=body,
                                     headers={"Content-Encoding": "gzip"})
    assert allowing_request.status_code != 415
    assert orthanc.seen_requests()[-1]["headers"]["content-encoding"] == "gzip"


@pytest.mark.parametrize("headers", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 5\r\nContent-Length: 5\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n",
    b"Connection: close\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n",
])
def test_ambiguous_framing_is_refused_before_orthanc(orthanc, levels, headers):
    before = len(orthanc.seen_requests())
    raw = raw_request(levels.port,
                      b"POST /modify/tools/find HTTP/1.1\r\n"
                      b"Host: 127.0.0.1\r\n" + headers +
                      b"\r\n5\r\nhello\r\n0\r\n\r\n", timeout=5)
    assert status_of(raw) == 400, raw[:300]
    assert b"application/json" in raw
    assert len(orthanc.seen_requests()) == before


@pytest.mark.parametrize("connection", [b"", b"Connection: close\r\n",
                                        b"Connection: keep-alive\r\n"])
def test_a_chunked_body_alone_is_forwarded(orthanc, levels, connection):
    """Chunked without Content-Length is fine, whatever Connection says."""
    raw = raw_request(levels.port,
                      b"POST /modify/tools/find HTTP/1.1\r\n"
                      b"Host: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                      + connection + b"\r\n"
                      b"1e\r\n{\"Level\":\"Patient\",\"Query\":{}}\r\n"
                      b"0\r\n\r\n", timeout=2)
    assert status_of(raw) == 200, raw[:300]
