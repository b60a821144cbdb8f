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
"""

import hashlib
import os
import re
import subprocess

import pytest
import requests

import big_dicom
from harness import wait_until
from tls import CertificateAuthority, Nginx

TIMEOUT = 120
ORTHANC_OPTIONS = {"samples": ["CT_small.dcm"]}


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
        return f"""
<Proxy "{server.url}/">
    SSLProxyCACertificateFile {trusted.cert}
    SSLProxyVerify require
    SSLProxyCheckPeerName on
    SSLProxyCheckPeerExpire on
    {extra}
</Proxy>"""

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
