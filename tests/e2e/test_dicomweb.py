# SPDX-License-Identifier: Apache-2.0
"""DICOMweb through the proxy: the absolute URLs the plugin builds point
under the public prefix, and only the proxy decides what they are.

The DICOMweb plugin 1.7 builds RetrieveURL (0008,1190) and BulkDataURI
from the first element of the Forwarded header the module sends.
"""

import email.parser
import email.policy
import json
import os
import re
import uuid

import pytest
import requests

from harness import SAMPLE_DIR, wait_until

TIMEOUT = 60
SAMPLES = ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "waveform_ecg.dcm")
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"


def read_sample(name):
    with open(os.path.join(SAMPLE_DIR, name), "rb") as f:
        return f.read()


def retrieve_urls(answer):
    """Every RetrieveURL (0008,1190) in a DICOM JSON answer, at any depth."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for tag, value in node.items():
                if tag == "00081190":
                    found.extend(value.get("Value", []))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(answer)
    return found


def bulk_data_uris(answer):
    return re.findall(r'"BulkDataURI"\s*:\s*"([^"]+)"', json.dumps(answer))


def multipart_parts(response):
    """The bodies of a multipart/related answer."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + response.headers["Content-Type"].encode()
        + b"\r\n\r\n" + response.content)
    return [part.get_payload(decode=True) for part in message.iter_parts()]


# The module's Orthanc logs the headers of every request.
ORTHANC_OPTIONS = {"record": True}


@pytest.fixture(scope="module")
def apache(orthanc, make_module_apache):
    server = make_module_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n")
    for name in SAMPLES:
        r = requests.post(server.url + "/orthanc/instances",
                          data=read_sample(name), timeout=TIMEOUT)
        assert r.status_code == 200, name
    return server


@pytest.fixture(scope="module")
def dicomweb(apache):
    return apache.url + "/orthanc/dicom-web"


@pytest.mark.parametrize("query", [
    "/studies",
    "/studies?PatientName=Compressed*",
    "/series?Modality=MR",
    f"/studies/{CT_STUDY}/series",
    "/instances?PatientName=CompressedSamples*",
    f"/studies/{CT_STUDY}/instances",
], ids=["studies", "studies-by-name", "series-by-modality", "series-of-study",
        "instances-by-name", "instances-of-study"])
def test_qido_retrieve_urls_are_under_the_prefix(dicomweb, query):
    """QIDO-RS answers carry RetrieveURLs on the public origin and below
    /orthanc/dicom-web/."""
    r = requests.get(dicomweb + query, timeout=TIMEOUT)
    assert r.status_code == 200
    answer = r.json()
    assert answer
    urls = retrieve_urls(answer)
    assert len(urls) == len(answer)
    for url in urls:
        assert url.startswith(dicomweb + "/studies/"), url


def test_retrieve_url_of_an_instance_returns_the_stored_file(dicomweb):
    """Following a RetrieveURL through the proxy gives back the uploaded
    DICOM file, byte for byte."""
    r = requests.get(dicomweb + f"/studies/{CT_STUDY}/instances",
                     timeout=TIMEOUT)
    [url] = retrieve_urls(r.json())
    r = requests.get(url, headers={
        "Accept": 'multipart/related; type="application/dicom"'},
        timeout=TIMEOUT)
    assert r.status_code == 200
    assert multipart_parts(r) == [read_sample("CT_small.dcm")]


def test_metadata_bulk_data_uris_are_under_the_prefix(dicomweb):
    """WADO-RS metadata points at bulk data below the prefix, and those
    URLs answer through the proxy."""
    r = requests.get(dicomweb + "/studies", timeout=TIMEOUT)
    uris = []
    for study in r.json():
        uid = study["0020000D"]["Value"][0]
        metadata = requests.get(dicomweb + f"/studies/{uid}/metadata",
                                timeout=TIMEOUT)
        assert metadata.status_code == 200
        uris += bulk_data_uris(metadata.json())
    assert uris
    for uri in uris:
        assert uri.startswith(dicomweb + "/studies/"), uri
    r = requests.get(uris[0], headers={"Accept": "multipart/related"},
                     timeout=TIMEOUT)
    assert r.status_code == 200


def stow(dicomweb, data, headers=None):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
            + data + f"\r\n--{boundary}--\r\n".encode())
    return requests.post(dicomweb + "/studies", data=body, headers={
        "Content-Type": f'multipart/related; type="application/dicom"; '
                        f'boundary={boundary}',
        "Accept": "application/dicom+json", **(headers or {})},
        timeout=TIMEOUT)


def test_stow_stores_the_instance_and_answers_with_urls_under_prefix(
        apache, dicomweb):
    """STOW-RS through the proxy stores the file (it then shows in
    /instances, byte-identical) and the reply's RetrieveURLs are under the
    prefix."""
    data = read_sample("JPEG2000.dcm")
    sop_uid = "1.3.6.1.4.1.5962.1.1.8.1.3.20040826185059.5457"
    r = stow(dicomweb, data)
    assert r.status_code == 200
    urls = retrieve_urls(r.json())
    assert urls
    for url in urls:
        assert url.startswith(dicomweb + "/studies/"), url
    assert any(url.endswith("/instances/" + sop_uid) for url in urls)

    found = requests.post(apache.url + "/orthanc/tools/find", json={
        "Level": "Instance", "Query": {"SOPInstanceUID": sop_uid}},
        timeout=TIMEOUT).json()
    assert len(found) == 1
    instances = requests.get(apache.url + "/orthanc/instances",
                             timeout=TIMEOUT).json()
    assert found[0] in instances
    stored = requests.get(f"{apache.url}/orthanc/instances/{found[0]}/file",
                          timeout=TIMEOUT)
    assert stored.content == data


SPOOFED = {
    "Forwarded": "for=10.0.0.1;host=evil.example;proto=https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Prefix": "/elsewhere",
}


def test_client_forwarding_headers_cannot_change_the_urls(
        orthanc, apache, dicomweb):
    """Forwarded / X-Forwarded-* sent by the client are replaced by the
    module: the URLs stay on the public origin, and Orthanc receives only
    the proxy's values.  Sent straight to Orthanc, the same Forwarded header
    does redirect the URLs."""
    before = len(orthanc.seen_requests())
    r = requests.get(dicomweb + "/studies", headers=SPOOFED, timeout=TIMEOUT)
    assert r.status_code == 200
    for url in retrieve_urls(r.json()):
        assert url.startswith(dicomweb + "/studies/"), url
    wait_until(lambda: len(orthanc.seen_requests()) > before, timeout=10,
               what="the request in Orthanc's log")
    [seen] = orthanc.seen_requests()[before:]
    headers = seen["headers"]
    assert headers["forwarded"] == \
        f"for=127.0.0.1;host=127.0.0.1:{apache.port}/orthanc;proto=http"
    assert headers["x-forwarded-host"] == f"127.0.0.1:{apache.port}/orthanc"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-prefix"] == "/orthanc"
    assert "evil" not in json.dumps(headers)

    direct = requests.get(orthanc.url + "/dicom-web/studies",
                          headers=SPOOFED, timeout=TIMEOUT)
    for url in retrieve_urls(direct.json()):
        assert url.startswith("https://evil.example/dicom-web/"), url


def test_stow_reply_ignores_client_forwarding_headers(dicomweb):
    """The STOW reply's URLs do not follow a client's Forwarded header."""
    r = stow(dicomweb, read_sample("MR_small.dcm"), headers=SPOOFED)
    assert r.status_code == 200
    urls = retrieve_urls(r.json())
    assert urls
    for url in urls:
        assert url.startswith(dicomweb + "/studies/"), url


def test_urls_follow_the_host_the_client_asked_for(apache):
    """The public host is the one in the client's Host header (what a
    browser in front of a name-based site sends), not Orthanc's address."""
    r = requests.get(apache.url + "/orthanc/dicom-web/studies",
                     headers={"Host": "pacs.example:8443"}, timeout=TIMEOUT)
    assert r.status_code == 200
    urls = retrieve_urls(r.json())
    assert urls
    for url in urls:
        assert url.startswith("http://pacs.example:8443/orthanc/dicom-web/"), url


def assert_public_origin(orthanc, server, host_header, origin):
    """A QIDO request to SERVER sent with HOST_HEADER: Orthanc is told
    ORIGIN (host[:port]) and every URL it builds starts with it."""
    before = len(orthanc.seen_requests())
    r = requests.get(server.url + "/orthanc/dicom-web/studies",
                     headers={"Host": host_header}, timeout=TIMEOUT)
    assert r.status_code == 200
    wait_until(lambda: len(orthanc.seen_requests()) > before, timeout=10,
               what="the request in Orthanc's log")
    assert orthanc.seen_requests()[-1]["headers"]["forwarded"] == \
        f"for=127.0.0.1;host={origin}/orthanc;proto=http"
    urls = retrieve_urls(r.json())
    assert urls
    for url in urls:
        assert url.startswith(f"http://{origin}/orthanc/dicom-web/"), url


def test_host_without_port_gets_the_servers_port(orthanc, apache,
                                                 make_apache):
    """Python's dicomweb-client sends Host without the port.  The public
    origin is built as Apache builds its own URLs: the port comes from
    ServerName, so the URLs Orthanc writes still work."""
    server = make_apache(f"ServerName 127.0.0.1:{{port}}\n"
                         f"OrthancProxy /orthanc/ {orthanc.url}/\n")
    assert_public_origin(orthanc, server, "127.0.0.1",
                         f"127.0.0.1:{server.port}")


def test_use_canonical_name_keeps_the_client_from_choosing_the_host(
        orthanc, apache, make_apache):
    """With UseCanonicalName On the public origin is ServerName's, whatever
    Host the client sends: no client can make Orthanc write another host
    into answers (which a cache may later give to others)."""
    server = make_apache("UseCanonicalName On\n"
                         "ServerName pacs.example:8443\n"
                         f"OrthancProxy /orthanc/ {orthanc.url}/\n")
    assert_public_origin(orthanc, server, "evil.example", "pacs.example:8443")
