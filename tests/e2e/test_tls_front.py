# SPDX-License-Identifier: Apache-2.0
"""TLS and HTTP/2 in front of the module: mod_ssl and mod_http2.

One Apache listens on two ports: 127.0.0.1:P in clear text (HTTP/1.1 and
h2c, HTTP/2 with prior knowledge) and 127.0.0.1:T with TLS (a certificate
for "localhost" from a CA the test makes; ALPN offers h2 and http/1.1).
The main server's `OrthancProxy /orthanc/` serves both.  curl is the client
(curl_client.py); every transport is checked for the same real effects:
bytes that come back identical, instances that Orthanc stores, the
Forwarded header Orthanc receives, the DICOMweb URLs it builds.

What HTTP/2 changes for the module: a request body may come without a
length (mod_http2 hands it to the request as a body of unknown length,
not as chunked framing), HEAD is a stream like any other, and the JSON
error bodies must survive mod_http2's own response framing.
"""

import hashlib
import json
import os
import re
import subprocess

import pytest
import requests

import big_dicom
import curl_client
from harness import SAMPLE_DIR, free_port
from tls import FRONT_MODULES, CertificateAuthority, front_vhost

TIMEOUT = 120
SAMPLES = ("CT_small.dcm", "MR_small.dcm")
ORTHANC_OPTIONS = {"record": True, "samples": SAMPLES}
TLS_TRANSPORTS = ("h2", "http1.1-tls")
ALL_TRANSPORTS = ("h2", "h2c", "http1.1-tls", "http1.1")
SMALL_LIMIT = 100000


@pytest.fixture(scope="module")
def ca(module_dir):
    return CertificateAuthority(os.path.join(module_dir, "pki"))


def front_config(tls_port, certificate, backend_url):
    """Clear text on {port} (h2c too), TLS on TLS_PORT (h2 too)."""
    return "Protocols h2c http/1.1\n" + front_vhost(tls_port, certificate) + f"""
OrthancProxy /orthanc/ {backend_url}/ timeout=300
OrthancProxy /small/ {backend_url}/
<Location /small/>
    LimitRequestBody {SMALL_LIMIT}
    OrthancProxyAccess upload
</Location>
"""


class Front:
    def __init__(self, apache, tls_port, cacert):
        self.apache = apache
        self.tls_port = tls_port
        self.cacert = cacert

    def port_for(self, transport):
        scheme, _ = curl_client.TRANSPORTS[transport]
        return self.tls_port if scheme == "https" else self.apache.port

    def request(self, transport, path, workdir, **kwargs):
        return curl_client.request(transport, self.port_for(transport), path,
                                   workdir, cacert=self.cacert, **kwargs)


@pytest.fixture(scope="module")
def front(orthanc, make_module_apache, ca):
    certificate = ca.issue("localhost")
    tls_port = free_port()
    apache = make_module_apache(front_config(tls_port, certificate, orthanc.url),
                                extra_modules=FRONT_MODULES)
    return Front(apache, tls_port, ca.cert)


def read_sample(name):
    with open(os.path.join(SAMPLE_DIR, name), "rb") as f:
        return f.read()


def sample_instance_id(orthanc, name):
    dicom = read_sample(name)
    return requests.post(orthanc.url + "/instances", data=dicom,
                         timeout=TIMEOUT).json()["ID"]


EXPECTED_VERSION = {"h2": "2", "h2c": "2", "http1.1-tls": "1.1", "http1.1": "1.1"}


@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_download_is_byte_identical(orthanc, front, workdir, transport):
    iid = sample_instance_id(orthanc, "CT_small.dcm")
    reply = front.request(transport, f"/orthanc/instances/{iid}/file", workdir)
    assert reply.status == 200, reply
    assert reply.version == EXPECTED_VERSION[transport]
    assert reply.body == read_sample("CT_small.dcm")
    assert reply.headers["content-type"] == "application/dicom"


def stored_md5(orthanc, iid):
    r = requests.get(f"{orthanc.url}/instances/{iid}/attachments/dicom/md5",
                     timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.text.strip()


@pytest.mark.parametrize("framing", ["length", "no-length"])
@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_upload_is_byte_identical(orthanc, front, workdir, transport, framing):
    """A generated instance (unique to this case) goes up through the
    module and comes back from Orthanc itself with the same bytes."""
    seed = ALL_TRANSPORTS.index(transport) * 2 + (framing == "no-length")
    path = os.path.join(workdir, "upload.dcm")
    info = big_dicom.write(path, 3_000_000, seed=4200 + seed)
    iid = big_dicom.orthanc_instance_id(info.patient_id, info.study_uid,
                                        info.series_uid, info.sop_uid)
    requests.delete(f"{orthanc.url}/instances/{iid}", timeout=TIMEOUT)

    if framing == "length":
        reply = front.request(transport, "/orthanc/instances", workdir,
                              data_file=path,
                              headers=["Content-Type: application/dicom"])
    else:
        reply = front.request(transport, "/orthanc/instances", workdir,
                              method="POST", stream_stdin=path,
                              headers=["Content-Type: application/dicom"])
    assert reply.status == 200, (reply, front.apache.error_log()[-2000:])
    assert reply.version == EXPECTED_VERSION[transport]
    assert reply.json()["ID"] == iid
    assert stored_md5(orthanc, iid) == info.md5
    back = requests.get(f"{orthanc.url}/instances/{iid}/file", timeout=TIMEOUT)
    assert hashlib.sha256(back.content).hexdigest() == info.sha256

    # What Orthanc received: the framing the client chose is not passed on
    # as such, but the body is whole.
    seen = [s for s in orthanc.seen_requests()
            if s["method"] == "POST" and s["uri"] == "/instances"]
    assert seen, "Orthanc saw no POST /instances"


@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_forwarded_names_the_public_scheme(orthanc, front, workdir, transport):
    reply = front.request(transport, "/orthanc/system", workdir)
    assert reply.status == 200
    # Ours is the last /system whose Forwarded host names the port the
    # client used.
    port = front.port_for(transport)
    seen = [s for s in orthanc.seen_requests() if s["uri"] == "/system"
            and f"localhost:{port}/orthanc" in s["headers"].get("forwarded", "")]
    assert seen, orthanc.seen_requests()[-3:]
    headers = seen[-1]["headers"]
    scheme = "https" if transport in TLS_TRANSPORTS else "http"
    assert headers["forwarded"] == (
        f"for=127.0.0.1;host=localhost:{port}/orthanc;proto={scheme}")
    assert headers["x-forwarded-proto"] == scheme
    assert headers["x-forwarded-host"] == f"localhost:{port}/orthanc"


def retrieve_urls(answer):
    return [study["00081190"]["Value"][0] for study in answer]


def bulk_data_uris(answer):
    return re.findall(r'"BulkDataURI"\s*:\s*"([^"]+)"', json.dumps(answer))


@pytest.mark.parametrize("canonical", ["Off", "On"])
def test_dicomweb_urls_over_https_follow_use_canonical_name(
        orthanc, make_apache, ca, workdir, canonical):
    """Over HTTPS, QIDO's RetrieveURL and WADO-RS metadata's BulkDataURI
    are https:// URLs under the prefix (on every DICOMweb release: 1.7
    reads Forwarded, 1.14 and later X-Forwarded-Host); with
    UseCanonicalName On their host is ServerName's, whatever the client
    sent, and with Off the one the client asked for."""
    certificate = ca.issue("localhost")
    tls_port = free_port()
    vhost = front_vhost(tls_port, certificate).replace(
        "    ServerName localhost\n",
        f"    ServerName pacs.example:{tls_port}\n"
        f"    UseCanonicalName {canonical}\n")
    apache = make_apache(vhost + f"OrthancProxy /orthanc/ {orthanc.url}/\n",
                         extra_modules=FRONT_MODULES)
    host = (f"pacs.example:{tls_port}" if canonical == "On"
            else f"localhost:{tls_port}")
    base = f"https://{host}/orthanc/dicom-web/studies/"
    accept = ["Accept: application/dicom+json"]
    reply = curl_client.request("http1.1-tls", tls_port,
                                "/orthanc/dicom-web/studies", workdir,
                                cacert=ca.cert, headers=accept)
    assert reply.status == 200, reply
    urls = retrieve_urls(reply.json())
    assert len(urls) >= len(SAMPLES)
    assert all(url.startswith(base) for url in urls), urls
    path = urls[0][len(f"https://{host}"):]
    metadata = curl_client.request("http1.1-tls", tls_port, path + "/metadata",
                                   workdir, cacert=ca.cert, headers=accept)
    assert metadata.status == 200, metadata
    uris = bulk_data_uris(metadata.json())
    assert uris and all(uri.startswith(base) for uri in uris), uris


@pytest.mark.parametrize("transport", TLS_TRANSPORTS)
def test_dicomweb_urls_are_https_under_the_prefix(orthanc, front, workdir,
                                                  transport):
    reply = front.request(transport, "/orthanc/dicom-web/studies", workdir,
                          headers=["Accept: application/dicom+json"])
    assert reply.status == 200, reply
    urls = retrieve_urls(reply.json())
    assert len(urls) >= len(SAMPLES)
    base = f"https://localhost:{front.tls_port}/orthanc/dicom-web/studies/"
    for url in urls:
        assert url.startswith(base), url
    # Every one of them answers, over the same transport.
    for url in urls:
        path = url[len(f"https://localhost:{front.tls_port}"):]
        series = front.request(transport, path + "/series", workdir,
                               headers=["Accept: application/dicom+json"])
        assert series.status == 200, (url, series)
        for one in series.json():
            assert one["00081190"]["Value"][0].startswith(base)


@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_head_is_answered_with_the_get_headers(orthanc, front, workdir,
                                               transport):
    """Orthanc answers HEAD with 404; the module asks it for a GET."""
    iid = sample_instance_id(orthanc, "MR_small.dcm")
    reply = front.request(transport, f"/orthanc/instances/{iid}/file", workdir,
                          head=True)
    assert reply.status == 200, reply
    # curl -I writes the head where the body would go: nothing else came.
    assert reply.body == reply.head
    assert int(reply.headers["content-length"]) == len(read_sample("MR_small.dcm"))
    assert reply.headers["content-type"] == "application/dicom"


def assert_json_error(reply, status, words):
    assert reply.status == status, reply
    assert reply.headers["content-type"].startswith("application/json"), reply
    error = reply.json()
    assert error["status"] == status
    assert words in error["message"], error


@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_refusals_are_json(front, workdir, transport):
    # Refused before its body is read: over HTTP/2 the stream ends with
    # RST_STREAM (NO_ERROR) after the whole answer whenever the body is still
    # under way (RFC 9113 8.1): curl 7.88 then drops the answer it got and
    # exits with 92 (about one run in seven, in a loop), so HTTP/2 is asked
    # with nghttp, which shows the frames.
    if transport in ("h2", "h2c"):
        body = os.path.join(workdir, "script.lua")
        with open(body, "w") as f:
            f.write("print(1)")
        scheme, _ = curl_client.TRANSPORTS[transport]
        frames = curl_client.nghttp_request(
            f"{scheme}://localhost:{front.port_for(transport)}"
            "/orthanc/tools/execute-script", body)
        assert frames.status == 403, frames.log[-3000:]
        assert frames.headers["content-type"].startswith("application/json")
        assert "needs OrthancProxyAccess admin" in frames.json_body["message"]
        assert frames.reset in ("", "NO_ERROR"), frames.log[-3000:]
    else:
        reply = front.request(transport, "/orthanc/tools/execute-script",
                              workdir, method="POST",
                              extra=["--data-binary", "print(1)"])
        assert_json_error(reply, 403, "needs OrthancProxyAccess admin")
    reply = front.request(transport, "/orthanc/patients/%00", workdir)
    assert reply.status == 400, reply
    assert reply.headers["content-type"].startswith("application/json")


def too_big(workdir):
    """A DICOM file 4 times the /small/ limit, and its Orthanc ID."""
    path = os.path.join(workdir, "too-big.dcm")
    info = big_dicom.write(path, 4 * SMALL_LIMIT, seed=5100)
    return path, big_dicom.orthanc_instance_id(
        info.patient_id, info.study_uid, info.series_uid, info.sop_uid)


def assert_refused_413(orthanc, front, iid):
    assert requests.get(f"{orthanc.url}/instances/{iid}",
                        timeout=TIMEOUT).status_code == 404
    log = front.apache.error_log()
    assert re.search(r"refused with 413: POST /instances \(mapping /small/", log)


@pytest.mark.parametrize("framing", ["length", "no-length"])
@pytest.mark.parametrize("transport", ("http1.1-tls", "http1.1"))
def test_body_limit_http1(orthanc, front, workdir, transport, framing):
    """LimitRequestBody on the prefix: 413 with the JSON body, for bodies
    with a declared length and chunked ones."""
    path, iid = too_big(workdir)
    if framing == "length":
        reply = front.request(transport, "/small/instances", workdir,
                              data_file=path)
    else:
        reply = front.request(transport, "/small/instances", workdir,
                              method="POST", stream_stdin=path)
    assert_json_error(reply, 413, "LimitRequestBody")
    assert_refused_413(orthanc, front, iid)


@pytest.mark.parametrize("framing", ["length", "no-length"])
@pytest.mark.parametrize("transport", ("h2", "h2c"))
def test_body_limit_http2(orthanc, front, workdir, transport, framing):
    """The same over HTTP/2, with and without content-length: the JSON
    answer comes whole, then the stream is reset with NO_ERROR (the body
    was not read; RFC 9113 8.1).  The request has no content-length in the
    second case: the module counts the body as it streams."""
    path, iid = too_big(workdir)
    scheme, _ = curl_client.TRANSPORTS[transport]
    url = f"{scheme}://localhost:{front.port_for(transport)}/small/instances"
    frames = curl_client.nghttp_request(url, path,
                                        length=(framing == "length"))
    assert frames.status == 413, frames.log[-3000:]
    assert frames.headers["content-type"].startswith("application/json")
    assert frames.json_body["status"] == 413
    assert "LimitRequestBody" in frames.json_body["message"]
    assert frames.reset in ("", "NO_ERROR"), frames.log[-3000:]
    assert_refused_413(orthanc, front, iid)


def test_transfer_encoding_over_http2_is_refused_by_mod_http2(orthanc, front,
                                                              workdir):
    """HTTP/2 has no Transfer-Encoding: mod_http2 resets a stream that
    sends one, before the module or Orthanc see it."""
    path, iid = too_big(workdir)
    frames = curl_client.nghttp_request(
        f"http://localhost:{front.apache.port}/orthanc/instances", path,
        headers=["transfer-encoding: gzip"])
    assert frames.status == 0
    assert frames.reset == "PROTOCOL_ERROR", frames.log[-3000:]
    assert requests.get(f"{orthanc.url}/instances/{iid}",
                        timeout=TIMEOUT).status_code == 404


def test_parallel_fetch_over_one_http2_connection(orthanc, front, workdir):
    """Many instances over one TLS connection, many streams at once
    (h2load, Debian's nghttp2-client)."""
    ids = [big_dicom.orthanc_instance_id(*ids) for ids in upload_many(orthanc, 20)]
    urls = os.path.join(workdir, "urls.txt")
    base = f"https://localhost:{front.tls_port}"
    with open(urls, "w") as f:
        for iid in ids:
            f.write(f"{base}/orthanc/instances/{iid}/file\n")
    done = subprocess.run(["h2load", "-n", "200", "-c", "1", "-m", "16",
                           "-i", urls], capture_output=True, text=True,
                          timeout=300)
    print(done.stdout)
    assert done.returncode == 0, done.stderr
    assert "Application protocol: h2" in done.stdout
    assert re.search(r"requests: 200 total, 200 started, 200 done, "
                     r"200 succeeded, 0 failed, 0 errored", done.stdout)
    assert re.search(r"status codes: 200 2xx, 0 3xx, 0 4xx, 0 5xx", done.stdout)
    log = front.apache.access_log()
    fetched = re.findall(r'"GET /orthanc/instances/([0-9a-f-]+)/file HTTP/2.0" 200 ',
                         log)
    assert set(ids) <= set(fetched)


def upload_many(orthanc, count):
    """COUNT small distinct instances straight into Orthanc: their
    (patient, study, series, instance) identifiers."""
    stored = []
    for i in range(count):
        info_bytes, info = big_dicom.make_bytes(64 * 1024, seed=7000 + i)
        r = requests.post(orthanc.url + "/instances", data=info_bytes,
                          timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        stored.append((info.patient_id, info.study_uid, info.series_uid,
                       info.sop_uid))
    return stored


def test_error_log_is_quiet(front):
    """Nothing went wrong on the way.  Expected: mod_proxy's own two lines
    (AH02608 "No space left on device", AH01097 "pass request body
    failed") each time the module's body limit stops a body without a
    length that mod_proxy was already streaming to Orthanc."""
    errors = [line for line in front.apache.error_log().splitlines()
              if (":error]" in line or ":crit]" in line or ":emerg]" in line)
              and "AH02608" not in line and "AH01097" not in line]
    # Each of those came with the module's own line, after it.
    log = front.apache.error_log()
    assert log.count("AH02608") == log.count("sent without a length, exceeds")
    assert errors == []
