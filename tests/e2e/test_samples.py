# SPDX-License-Identifier: Apache-2.0
"""Every sample DICOM file of pydicom, uploaded through the proxy.

What Orthanc answers through the proxy is compared with what a second,
fresh Orthanc answers to the same upload sent straight to it (some samples
are not valid DICOM for Orthanc), and what is stored is read back through
the proxy byte for byte.  Uploads go with Content-Length, chunked, and with
'Expect: 100-continue', which Orthanc itself never answers.
"""

import json
import os
import socket

import pydicom
import pytest
import requests
from pydicom.uid import generate_uid

from harness import SAMPLE_DIR, parse_response, sample_files

TIMEOUT = 120
CHUNK = 64 * 1024


def read(path):
    with open(path, "rb") as f:
        return f.read()


def stored_file(apache, instance_id):
    r = requests.get(f"{apache.url}/orthanc/instances/{instance_id}/file",
                     timeout=TIMEOUT)
    assert r.status_code == 200
    return r.content


def listed_instances(apache):
    r = requests.get(apache.url + "/orthanc/instances", timeout=TIMEOUT)
    assert r.status_code == 200
    return set(r.json())


def test_every_sample_uploads_as_it_does_straight_to_orthanc(
        orthanc, make_orthanc, make_module_apache):
    """POST /orthanc/instances with Content-Length for every sample: same
    status and Orthanc status as the direct upload; every stored instance
    is listed and reads back byte-identical (a duplicate SOP instance keeps
    the bytes of its first upload, as Orthanc does by default)."""
    # A second Orthanc gets every upload straight, for comparison.
    reference_orthanc = make_orthanc(name="reference")
    apache = make_module_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n")
    first_bytes = {}
    outcomes = []
    for path in sample_files():
        data = read(path)
        proxied = requests.post(apache.url + "/orthanc/instances", data=data,
                                timeout=TIMEOUT)
        direct = requests.post(reference_orthanc.url + "/instances",
                               data=data, timeout=TIMEOUT)
        name = os.path.basename(path)
        assert proxied.status_code == direct.status_code, name
        outcomes.append(proxied.status_code)
        if proxied.status_code != 200:
            assert proxied.json()["OrthancError"] == \
                direct.json()["OrthancError"], name
            continue
        answer = proxied.json()
        assert answer["Status"] == direct.json()["Status"], name
        assert answer["ID"] == direct.json()["ID"], name
        if answer["Status"] == "Success":
            first_bytes[answer["ID"]] = data
        else:
            assert answer["Status"] == "AlreadyStored", name
            assert answer["ID"] in first_bytes, name

    assert outcomes.count(200) > len(outcomes) // 2
    assert listed_instances(apache) == set(first_bytes)
    for instance_id, data in first_bytes.items():
        assert stored_file(apache, instance_id) == data, instance_id


def big_sample(directory):
    """A 3 MB multi-frame instance made from CT_small: above the 1 MB from
    which curl sends 'Expect: 100-continue' by itself."""
    ds = pydicom.dcmread(os.path.join(SAMPLE_DIR, "CT_small.dcm"))
    frames = 96
    ds.NumberOfFrames = frames
    ds.PixelData = ds.PixelData * frames
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = os.path.join(directory, "big.dcm")
    ds.save_as(path)
    return path


@pytest.fixture
def upload_target(workdir, make_orthanc, make_apache):
    """A fresh Orthanc behind its own Apache, and the files to upload."""
    server = make_orthanc(name="fresh")
    apache = make_apache(f"OrthancProxy /orthanc/ {server.url}/\n")
    names = ("CT_small.dcm", "MR_small.dcm", "J2K_pixelrep_mismatch.dcm",
             "SC_rgb_jpeg_dcmd.dcm", "waveform_ecg.dcm")
    paths = [os.path.join(SAMPLE_DIR, n) for n in names] + [big_sample(workdir)]
    return apache, paths


def assert_stored_intact(apache, answer, data):
    assert answer["Status"] == "Success"
    assert answer["ID"] in listed_instances(apache)
    assert stored_file(apache, answer["ID"]) == data


def test_chunked_uploads_are_stored_intact(upload_target):
    """A generator body makes requests send Transfer-Encoding: chunked; the
    instance is stored and reads back byte-identical."""
    apache, paths = upload_target
    for path in paths:
        data = read(path)
        chunks = (data[i:i + CHUNK] for i in range(0, len(data), CHUNK))
        r = requests.post(apache.url + "/orthanc/instances", data=chunks,
                          timeout=TIMEOUT)
        assert r.request.headers.get("Transfer-Encoding") == "chunked"
        assert r.status_code == 200, path
        assert_stored_intact(apache, r.json(), data)


def read_head(sock):
    """Reads one response head (status line and headers)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def post_expecting_continue(port, path, data, chunked):
    """Sends the headers with 'Expect: 100-continue', waits for the interim
    100 before sending the body, as curl does; returns (interim head,
    final status, final body)."""
    framing = ("Transfer-Encoding: chunked" if chunked
               else f"Content-Length: {len(data)}")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Content-Type: application/dicom\r\n"
                  f"Expect: 100-continue\r\n{framing}\r\n"
                  f"Connection: close\r\n\r\n".encode())
        # Orthanc never sends 100 itself: a proxy forwarding the expectation
        # would leave us here until Orthanc's 30 s request timeout.
        s.settimeout(25)
        interim = read_head(s)
        s.settimeout(TIMEOUT)
        if chunked:
            for i in range(0, len(data), CHUNK):
                piece = data[i:i + CHUNK]
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            s.sendall(b"0\r\n\r\n")
        else:
            s.sendall(data)
        response = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            response += chunk
    status, _, body = parse_response(response)
    return interim, status, body


@pytest.mark.parametrize("chunked", [False, True],
                         ids=["content-length", "chunked"])
def test_expect_100_continue_uploads_are_answered_and_stored(
        upload_target, chunked):
    """With 'Expect: 100-continue' the client gets the interim 100 Continue,
    sends the body, and the instance is stored intact."""
    apache, paths = upload_target
    for path in paths:
        data = read(path)
        interim, status, body = post_expecting_continue(
            apache.port, "/orthanc/instances", data, chunked)
        assert interim.startswith(b"HTTP/1.1 100"), (path, interim)
        assert status == 200, (path, body)
        assert_stored_intact(apache, json.loads(body), data)
