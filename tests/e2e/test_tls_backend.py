# SPDX-License-Identifier: Apache-2.0
"""TLS to Orthanc: `OrthancProxy /orthanc/ https://...` with mod_ssl.

Debian's Orthanc 1.10.1 crashes on its first HTTPS request (SslEnabled),
so a TLS terminator stands in front of it, as it would for an Orthanc on
another host: a private nginx on 127.0.0.1 (tls.Nginx).  The certificates
come from CAs the test makes; the backends are named "localhost" because
mod_ssl's SSLProxyCheckPeerName matches DNS names, not IP addresses.

One Apache maps one prefix per case, each to its own nginx, with the
SSLProxy* settings of that case in a <Proxy URL> section (mod_proxy merges
it into the requests that go to that worker):
- /orthanc/   a certificate of the trusted CA, for localhost: everything works;
- /untrusted/ a certificate of another CA: 502, JSON, one log line;
- /wrongname/ a certificate of the trusted CA for another name: 502;
- /clientcert/ an nginx that requires a client certificate (ssl_verify_client
  on); the proxy presents one (SSLProxyMachineCertificateFile).

A second Apache turns OrthancProxyCache on for those mappings: its change
follower (libcurl) reads Orthanc's change log over TLS with the same
SSLProxy* settings, and answers become fresh again within
OrthancProxyCacheMaxDelay; where the certificate does not verify, the
follower says why and the cache steps aside.
"""

import hashlib
import os
import re
import subprocess
import time

import pytest
import requests

import big_dicom
import ct_series
from harness import wait_until
from test_cache import CACHE_MODULES, cache_dir, fresh_within, \
    wait_for_follower, warm, x_cache
from tls import CertificateAuthority, Nginx

TIMEOUT = 120
ORTHANC_OPTIONS = {"samples": ["CT_small.dcm"],
                   "settings": {"UserMetadata": {"Sample": 1024}}}


class Setup:
    pass


@pytest.fixture(scope="module")
def setup(orthanc, make_module_apache, module_dir):
    s = Setup()
    trusted = CertificateAuthority(os.path.join(module_dir, "pki-trusted"),
                                   "trusted CA")
    other = CertificateAuthority(os.path.join(module_dir, "pki-other"),
                                 "other CA")
    clients = CertificateAuthority(os.path.join(module_dir, "pki-clients"),
                                   "client CA")
    s.proxy_identity = clients.issue("apache-proxy", client=True)
    s.terminators = []

    def nginx(name, certificate, client_ca=None):
        server = Nginx(module_dir, orthanc.url + "/", certificate,
                       client_ca=client_ca, name=name).start()
        s.terminators.append(server)
        return server

    s.good = nginx("good", trusted.issue("localhost"))
    s.untrusted = nginx("untrusted", other.issue("localhost-other"))
    s.wrongname = nginx("wrongname", trusted.issue("pacs", dns=("pacs.invalid",)))
    s.clientcert = nginx("clientcert", trusted.issue("localhost-cc"),
                         client_ca=clients.cert)
    s.trusted_ca = trusted.cert

    def verified(server, extra=""):
        return verified_section(server, trusted.cert, extra)
    s.verified = verified

    s.apache = make_module_apache(f"""
SSLProxyEngine on
OrthancProxy /orthanc/ {s.good.url}/
OrthancProxy /untrusted/ {s.untrusted.url}/
OrthancProxy /wrongname/ {s.wrongname.url}/
OrthancProxy /clientcert/ {s.clientcert.url}/
{verified(s.good)}
{verified(s.untrusted)}
{verified(s.wrongname)}
{verified(s.clientcert,
          f"SSLProxyMachineCertificateFile {s.proxy_identity.bundle}")}
""", extra_modules=["ssl", "socache_shmcb"])
    yield s
    for server in s.terminators:
        server.stop()


def verified_section(server, ca, extra=""):
    """The SSLProxy* settings of the mapping to SERVER, in its <Proxy>."""
    return f"""
<Proxy "{server.url}/">
    SSLProxyCACertificateFile {ca}
    SSLProxyVerify require
    SSLProxyCheckPeerName on
    SSLProxyCheckPeerExpire on
    {extra}
</Proxy>"""


def logged(terminator, pattern):
    """nginx writes its access log line once it has finished the request,
    which can be just after the client got the whole answer."""
    try:
        wait_until(lambda: re.search(pattern, terminator.access_log()),
                   timeout=10, what=pattern)
    except TimeoutError:
        raise AssertionError(f"{pattern} not in:\n{terminator.access_log()}")


def test_verified_backend_serves_everything(orthanc, setup):
    url = setup.apache.url
    system = requests.get(url + "/orthanc/system", timeout=TIMEOUT)
    assert system.status_code == 200
    assert system.json()["Version"]

    # Upload and download through TLS to the backend, byte for byte.
    data, info = big_dicom.make_bytes(2_000_000, seed=880)
    up = requests.post(url + "/orthanc/instances", data=data, timeout=TIMEOUT)
    assert up.status_code == 200, up.text
    iid = up.json()["ID"]
    back = requests.get(f"{orthanc.url}/instances/{iid}/file", timeout=TIMEOUT)
    assert back.content == data
    down = requests.get(f"{url}/orthanc/instances/{iid}/file", timeout=TIMEOUT)
    assert hashlib.sha256(down.content).hexdigest() == info.sha256

    # The terminator saw the requests: they did go over TLS to it.
    logged(setup.good, r'"POST /instances HTTP/1.1" 200 ')

    # DICOMweb URLs name the public origin, not the terminator.
    studies = requests.get(url + "/orthanc/dicom-web/studies", timeout=TIMEOUT,
                           headers={"Accept": "application/dicom+json"}).json()
    for study in studies:
        assert study["00081190"]["Value"][0].startswith(
            f"http://127.0.0.1:{setup.apache.port}/orthanc/dicom-web/studies/")


@pytest.mark.parametrize("prefix, mod_ssl_says", [
    ("/untrusted/", "AH02039: Certificate Verification: Error (20)"),
    ("/wrongname/", None),
])
def test_backend_certificate_that_does_not_verify_gives_502(setup, prefix,
                                                           mod_ssl_says):
    r = requests.get(f"{setup.apache.url}{prefix}system", timeout=TIMEOUT)
    assert r.status_code == 502
    assert r.headers["Content-Type"].startswith("application/json")
    error = r.json()
    assert error["status"] == 502
    assert "certificate of Orthanc's TLS server was refused" in error["message"]

    log = setup.apache.error_log()
    lines = [line for line in log.splitlines() if "[orthanc_proxy:" in line
             and f"mapping {prefix} -> https://localhost:" in line]
    assert len(lines) == 1, lines
    assert "502 the TLS handshake with Orthanc failed: the certificate of " \
           "Orthanc's TLS server was refused" in lines[0]
    assert "GET /system" in lines[0]
    if mod_ssl_says:
        # mod_ssl's own line says why, at the default log level.
        assert mod_ssl_says in log
    # Orthanc never saw the request.
    terminator = setup.untrusted if prefix == "/untrusted/" else setup.wrongname
    assert "GET /system" not in terminator.access_log()


def test_backend_that_requires_a_client_certificate(setup):
    # Straight to the terminator without a certificate: refused.
    direct = subprocess.run(
        ["curl", "-sS", "--cacert", setup.trusted_ca, "-o", "/dev/null",
         "-w", "%{http_code}", f"{setup.clientcert.url}/system"],
        capture_output=True, text=True, timeout=60)
    assert direct.stdout == "400", direct

    # Through the module, which presents SSLProxyMachineCertificateFile.
    r = requests.get(f"{setup.apache.url}/clientcert/system", timeout=TIMEOUT)
    assert r.status_code == 200, (r.text, setup.apache.error_log()[-2000:])
    assert r.json()["Version"]
    logged(setup.clientcert, r'"GET /system HTTP/1.1" 200 "CN=apache-proxy"')


# ------------------------------------------------ OrthancProxyCache over TLS

@pytest.fixture(scope="module")
def cached(setup, make_module_apache, module_dir):
    """An Apache with the cache on for every mapping of the first one."""
    root = cache_dir(module_dir)
    prefixes = {"/orthanc/": setup.good, "/untrusted/": setup.untrusted,
                "/wrongname/": setup.wrongname,
                "/clientcert/": setup.clientcert}
    body = f"""
SSLProxyEngine on
CacheQuickHandler Off
CacheRoot "{root}"
CacheHeader on
CacheMaxFileSize 100000000
"""
    for prefix, server in prefixes.items():
        body += f"""
CacheEnable disk {prefix}
OrthancProxy {prefix} {server.url}/
<Location {prefix}>
    OrthancProxyCache on
</Location>
"""
    body += "".join(setup.verified(server) for server in prefixes.values()
                    if server is not setup.clientcert)
    body += setup.verified(setup.clientcert, "SSLProxyMachineCertificateFile "
                           + setup.proxy_identity.bundle)
    apache = make_module_apache(body, name="cached",
                                extra_modules=["ssl", "socache_shmcb"]
                                + CACHE_MODULES)
    wait_for_follower(apache)
    return apache


def follower_lines(apache, url):
    return [line for line in apache.error_log().splitlines()
            if "OrthancProxyCache" in line and f" {url}/ " in line]


def test_the_cache_follows_orthanc_over_tls(orthanc, setup, cached):
    """Deletions, new instances and metadata changes made straight on
    Orthanc are fresh through the https:// mapping within a second: the
    follower reads the change log through the TLS terminator."""
    wait_until(lambda: any("following the changes" in line for line in
                           follower_lines(cached, setup.good.url)), 30,
               what="the follower over TLS")
    description = ct_series.new_series(3, 64, 64, label="TLSCACHE")
    answers = [orthanc.upload(ct_series.instance_bytes(description, i))
               for i in range(2)]
    base = f"{cached.url}/orthanc"
    series = (f"{base}/dicom-web/studies/{description.study_uid}/series/"
              f"{description.series_uid}")
    preview = f"{base}/instances/{answers[0]['ID']}/preview"
    metadata = f"{base}/instances/{answers[1]['ID']}/metadata/Sample"
    assert requests.put(f"{orthanc.url}/instances/{answers[1]['ID']}"
                        f"/metadata/Sample", data="first").ok

    def sops(r):
        return {item["00080018"]["Value"][0] for item in r.json()}
    with requests.Session() as session:
        warm(session, [preview, f"{series}/metadata", metadata])
        assert requests.delete(f"{orthanc.url}/instances/"
                               f"{answers[0]['ID']}").ok
        orthanc.upload(ct_series.instance_bytes(description, 2))
        assert requests.put(f"{orthanc.url}/instances/{answers[1]['ID']}"
                            f"/metadata/Sample", data="second").ok
        fresh_within(session, {
            preview: lambda r: r.status_code == 404,
            f"{series}/metadata": lambda r: r.status_code == 200
            and sops(r) == set(description.sop_uids[1:]),
            metadata: lambda r: r.text == "second"}, time.monotonic())
    # The terminator saw the follower's requests.
    logged(setup.good, r'"GET /changes\?since=\d+&limit=\d+ HTTP/1.1" 200 ')


@pytest.mark.parametrize("prefix, says", [
    ("/untrusted/", "SSL certificate problem: unable to get local issuer "
                    "certificate"),
    ("/wrongname/", "SSL: no alternative certificate subject name matches "
                    "target host name 'localhost'"),
])
def test_a_certificate_the_follower_refuses_turns_the_cache_aside(
        setup, cached, prefix, says):
    server = setup.untrusted if prefix == "/untrusted/" else setup.wrongname
    wait_until(lambda: follower_lines(cached, server.url), 30,
               what="the follower's report")
    [line] = [line for line in follower_lines(cached, server.url)
              if "cannot follow" in line]
    print(line)
    assert says in line, line
    assert "answers are not taken from the cache until it can" in line
    # mod_proxy refuses the certificate as well: every request is a 502,
    # none comes from the cache.
    for _ in range(3):
        r = requests.get(f"{cached.url}{prefix}instances", timeout=TIMEOUT)
        assert r.status_code == 502 and x_cache(r) != "HIT"


def test_the_follower_presents_the_proxy_client_certificate(setup, cached):
    wait_until(lambda: any("following the changes" in line for line in
                           follower_lines(cached, setup.clientcert.url)), 30,
               what="the follower of /clientcert/")
    url = f"{cached.url}/clientcert/instances"
    with requests.Session() as session:
        warm(session, [f"{cached.url}/clientcert/dicom-web/instances"])
        assert session.get(url).status_code == 200
    logged(setup.clientcert, r'"GET /changes\?since=\d+&limit=\d+ HTTP/1.1" 200 '
                             r'"CN=apache-proxy"')
