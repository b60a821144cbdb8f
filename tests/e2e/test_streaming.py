# SPDX-License-Identifier: Apache-2.0
"""Streaming both ways in constant memory, with a 2 GB DICOM instance.

A valid DICOM file of about 2 GB (below 2^31 - 1 bytes: Orthanc 1.10 reads a
request body into one buffer) is generated as a stream and
- uploaded through the module with Content-Length and chunked, with and
  without "Expect: 100-continue" (each time into an Orthanc that does not
  have it yet, so that each upload is stored and its MD5 checked);
- downloaded through the module from /instances/{id}/file (Content-Length)
  and /studies/{id}/archive (ZIP that Orthanc ends by closing the
  connection), the archive being compared with the one Orthanc serves
  directly.
During every transfer the memory of the Apache processes is sampled and
must stay far below the size of what goes through.  Memory alone does not
prove streaming (mod_proxy may spool a request body to a temporary file):
when the client has sent half of an upload, Orthanc's end of the backend
connection must already have received a good part of it (tcp_info, `ss`).

Costs: about 4 minutes on 2 cores (half of it Orthanc deflating the two
archives), up to 8 GB of disk in the session's temporary directory (file,
Orthanc's storage, two archives; all removed) and about 5.7 GB of RAM in
Orthanc, which holds an upload about three times while storing it.
OP_STREAMING_BYTES=300000000 runs the same checks in under a minute.

The prefix has "LimitRequestBody 4000000000": without it the default limit
of Apache (1 GiB since 2.4.54), which the module enforces, refuses the
upload (see test_body_limit.py).  With a limit in force the module counts
chunked bodies in an input filter, so the chunked uploads here also show
that this filter does not make mod_proxy spool the body.
"""

import hashlib
import os
import threading
import zipfile

import pytest
import requests

import big_dicom

# About 2 GB; OP_STREAMING_BYTES chooses another size for a quicker run.
SIZE = int(os.environ.get("OP_STREAMING_BYTES", 2_000_000_000))
# Apache's memory may grow by this much at most during a 2 GB transfer.
MEMORY_BOUND_KIB = 64 * 1024
# At the moment the client has sent half of the body, Orthanc must already
# have received at least this fraction of it: the body is streamed, not spooled.
STREAMED_FRACTION = 0.25


@pytest.fixture(scope="module")
def big(module_dir):
    path = os.path.join(module_dir, "big.dcm")
    info = big_dicom.write(path, SIZE, seed=20240101)
    print(f"\ngenerated {path}: {info.size} bytes, sha256 {info.sha256}")
    yield info
    os.unlink(path)


# This module's own Orthanc (the instance is big; nobody else shares its
# storage), removed with its storage at the end (conftest.OrthancFactory).
ORTHANC_OPTIONS = {"name": "orthanc-big", "dicomweb": False}


@pytest.fixture(scope="module")
def apache(orthanc, make_module_apache):
    return make_module_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/ timeout=600
<Location /orthanc/>
    LimitRequestBody 4000000000
</Location>
""")


def instance_id(info):
    return big_dicom.orthanc_instance_id(info.patient_id, info.study_uid,
                                         info.series_uid, info.sop_uid)


def study_id(info):
    return big_dicom.orthanc_study_id(info.patient_id, info.study_uid)


def remove_instance(orthanc, iid):
    r = requests.delete(f"{orthanc.url}/instances/{iid}", timeout=300)
    assert r.status_code in (200, 404), r.text


def assert_stored(orthanc, info):
    iid = instance_id(info)
    r = requests.get(f"{orthanc.url}/instances/{iid}", timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["MainDicomTags"]["SOPInstanceUID"] == info.sop_uid
    attachment = f"{orthanc.url}/instances/{iid}/attachments/dicom"
    assert int(requests.get(attachment + "/size", timeout=60).text) == info.size
    assert requests.get(attachment + "/md5", timeout=60).text.strip() == info.md5
    stats = requests.get(f"{orthanc.url}/statistics", timeout=60).json()
    assert stats["CountInstances"] == 1
    assert int(stats["TotalDiskSize"]) == info.size


@pytest.fixture
def stored(orthanc, big):
    """The big instance is in Orthanc (uploaded straight to Orthanc if the
    upload tests did not leave it there)."""
    iid = instance_id(big)
    if requests.get(f"{orthanc.url}/instances/{iid}", timeout=60).status_code != 200:
        up = big_dicom.post_stream(orthanc.http_port, "/instances", big.path)
        assert up.status == 200, up.body
    return iid


def check_memory(sampler):
    sampler.check_bounded(MEMORY_BOUND_KIB)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("expect", [False, True], ids=["no-expect", "expect-100"])
def test_upload_2gb(orthanc, apache, big, chunked, expect):
    iid = instance_id(big)
    remove_instance(orthanc, iid)
    assert requests.get(f"{orthanc.url}/instances", timeout=60).json() == []

    halfway = {}
    received_before = big_dicom.tcp_bytes_received(orthanc.http_port)

    def progress(sent):
        if not halfway and sent >= big.size // 2:
            halfway["sent"] = sent
            halfway["orthanc_got"] = big_dicom.tcp_bytes_received_since(
                orthanc.http_port, received_before)

    label = (f"POST /orthanc/instances {big.size} bytes "
             f"{'chunked' if chunked else 'Content-Length'}"
             f"{' + Expect: 100-continue' if expect else ''}")
    with big_dicom.MemorySampler(apache.pids, label=label) as memory:
        up = big_dicom.post_stream(apache.port, "/orthanc/instances", big.path,
                                   chunked=chunked, expect=expect,
                                   on_progress=progress)
    orthanc_hwm = big_dicom.proc_status_kib(orthanc.pid, "VmHWM")
    print(f"\n{label}: {up.status} in {up.seconds:.1f} s, interim "
          f"{up.interim or '-'}; when the client had sent {halfway['sent']} "
          f"bytes Orthanc had received {halfway['orthanc_got']}; Orthanc VmHWM "
          f"{orthanc_hwm / 1024:.0f} MiB")

    assert up.send_error == "", up
    assert up.status == 200, (up.status, up.body, apache.error_log()[-3000:])
    answer = up.json()
    assert answer["Status"] == "Success"
    assert answer["ID"] == iid
    assert up.sent == big.size
    if expect:
        # Apache answers the expectation itself as soon as mod_proxy reads
        # the body: the client does not wait for nothing.
        assert up.interim == "100"
    assert halfway["orthanc_got"] >= STREAMED_FRACTION * halfway["sent"]
    assert_stored(orthanc, big)
    check_memory(memory)


def test_download_instance_file_2gb(orthanc, apache, big, stored):
    label = f"GET /orthanc/instances/{stored}/file"
    with big_dicom.MemorySampler(apache.pids, label=label) as memory:
        down = big_dicom.get_stream(apache.port,
                                    f"/orthanc/instances/{stored}/file")
    print(f"\n{label}: {down.status}, {down.size} bytes in "
          f"{down.seconds:.1f} s, headers {down.headers}")
    assert down.status == 200
    assert int(down.headers["Content-Length"]) == big.size
    assert down.size == big.size
    assert down.sha256 == big.sha256
    check_memory(memory)


def zip_members(path):
    """name -> (size, CRC, SHA-256 of the decompressed content)."""
    members = {}
    with zipfile.ZipFile(path) as archive:
        for item in archive.infolist():
            sha = hashlib.sha256()
            with archive.open(item) as member:
                while True:
                    block = member.read(big_dicom.CHUNK)
                    if not block:
                        break
                    sha.update(block)
            members[item.filename] = (item.file_size, item.CRC, sha.hexdigest())
    return members


def test_download_study_archive_2gb(orthanc, apache, big, stored, module_dir):
    sid = study_id(big)
    proxied_path = os.path.join(module_dir, "proxied.zip")
    direct_path = os.path.join(module_dir, "direct.zip")
    results = {}

    # Orthanc deflates the archive on the fly (about 20-30 MB/s here): the
    # direct fetch runs alongside the proxied one.
    def fetch_direct():
        with open(direct_path, "wb") as sink:
            results["direct"] = big_dicom.get_stream(
                orthanc.http_port, f"/studies/{sid}/archive", sink)

    direct = threading.Thread(target=fetch_direct)
    label = f"GET /orthanc/studies/{sid}/archive"
    try:
        direct.start()
        with big_dicom.MemorySampler(apache.pids, label=label) as memory:
            with open(proxied_path, "wb") as sink:
                proxied = big_dicom.get_stream(
                    apache.port, f"/orthanc/studies/{sid}/archive", sink)
        direct.join()
        direct_result = results["direct"]
        print(f"\n{label}: {proxied.status}, {proxied.size} bytes in "
              f"{proxied.seconds:.1f} s, chunked to the client: "
              f"{proxied.chunked}, headers {proxied.headers}")
        print(f"GET /studies/{sid}/archive straight from Orthanc: "
              f"{direct_result.status}, {direct_result.size} bytes in "
              f"{direct_result.seconds:.1f} s, headers {direct_result.headers}")

        # Orthanc ends the archive by closing the connection ...
        assert direct_result.status == 200
        assert "Content-Length" not in direct_result.headers
        assert not direct_result.chunked
        # ... and the proxy relays all of it.
        assert proxied.status == 200
        assert proxied.size > big.size
        assert proxied.headers["Content-Type"] == "application/zip"
        # Apache re-frames the close-delimited body for its HTTP/1.1 client.
        assert proxied.chunked

        proxied_members = zip_members(proxied_path)
        direct_members = zip_members(direct_path)
        assert proxied_members == direct_members
        (size, _, sha), = proxied_members.values()
        assert (size, sha) == (big.size, big.sha256)
        check_memory(memory)
    finally:
        direct.join()
        for path in (proxied_path, direct_path):
            if os.path.exists(path):
                os.unlink(path)


def test_error_log_is_quiet(apache):
    """Nothing went wrong on the way."""
    errors = [line for line in apache.error_log().splitlines()
              if ":error]" in line or ":crit]" in line or ":emerg]" in line]
    assert errors == []
