# SPDX-License-Identifier: Apache-2.0
"""LimitRequestBody on the prefix, enforced by the module.

Apache's HTTP input filter skips LimitRequestBody for every request mod_proxy
handles: a server-wide "LimitRequestBody 200000" does not stop a 700 KB POST
through a plain ProxyPass (Apache 2.4.71).  The module applies the limit in
force for the request itself: a declared Content-Length above it is refused
with 413 before any byte of the body is read and before Orthanc is
contacted; a chunked body is counted as it streams and cut at the limit, so
that Orthanc never gets a complete body and stores nothing.

All bodies here are valid DICOM files, so that anything that got through
would be stored: counting Orthanc's instances shows what got through.
"""

import json

import pytest
import requests

import big_dicom
from harness import parse_response, raw_request

KB = 1000
MB = 1000 * 1000


@pytest.fixture(scope="module")
def location_limit(orthanc, make_module_apache):
    """The limit of a <Location> on the prefix."""
    return make_module_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/
<Location /orthanc/>
    LimitRequestBody 1000000
</Location>
""", name="location-limit")


@pytest.fixture(scope="module")
def server_limit(orthanc, make_module_apache):
    """The FACTS case: a server-wide limit, the module and a plain ProxyPass
    to the same Orthanc on the same Apache."""
    return make_module_apache(f"""
LimitRequestBody 200000
OrthancProxy /orthanc/ {orthanc.url}/
ProxyPass /plain/ {orthanc.url}/
""", name="server-limit")


@pytest.fixture(scope="module")
def default_limit(orthanc, make_module_apache):
    """No LimitRequestBody anywhere: Apache's default (1 GiB since 2.4.54)."""
    return make_module_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n",
                              name="default-limit")


def count_instances(orthanc):
    return len(requests.get(f"{orthanc.url}/instances", timeout=30).json())


def dicom(size, seed):
    data, info = big_dicom.make_bytes(size, seed=seed)
    return data, big_dicom.orthanc_instance_id(info.patient_id, info.study_uid,
                                               info.series_uid, info.sop_uid)


def instance_exists(orthanc, iid):
    return requests.get(f"{orthanc.url}/instances/{iid}", timeout=30).ok


def assert_json_413(upload_or_raw_body, headers):
    """HEADERS: a dict, with names in any case."""
    content_type = {k.lower(): v for k, v in headers.items()}.get(
        "content-type", "")
    assert content_type.startswith("application/json"), headers
    body = json.loads(upload_or_raw_body)
    assert body["status"] == 413
    assert body["message"]
    return body


def assert_refused_in_log(apache, status=413):
    assert f"refused with {status}: POST /instances" in apache.error_log()


def send_head_only(orthanc, apache, length):
    """Sends only the head of an upload declaring LENGTH bytes, with Orthanc
    suspended, so that any answer comes from Apache; returns the raw reply."""
    head = (f"POST /orthanc/instances HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/dicom\r\nContent-Length: {length}\r\n"
            f"\r\n").encode()
    orthanc.suspend()
    try:
        return raw_request(apache.port, head, timeout=10)
    finally:
        orthanc.resume()


def test_declared_length_over_location_limit_refused_before_reading(
        orthanc, location_limit):
    """Only the request head is sent, and Orthanc is suspended: the 413
    comes at once, decided on the declared length alone, without Orthanc."""
    raw = send_head_only(orthanc, location_limit, 3 * MB)
    print(f"\nhead only, Content-Length {3 * MB}: {raw[:200]!r}")
    status, headers, body = parse_response(raw)
    assert status == 413, raw
    print(assert_json_413(body, headers))
    assert_refused_in_log(location_limit)


def test_content_length_over_location_limit(orthanc, location_limit):
    data, iid = dicom(3 * MB, seed=1)
    before = count_instances(orthanc)
    up = big_dicom.post_stream(location_limit.port, "/orthanc/instances", data)
    print(f"\n{len(data)} bytes, Content-Length: {up.status} {up.body!r}")
    assert up.status == 413
    assert_json_413(up.body, up.headers)
    assert count_instances(orthanc) == before
    assert not instance_exists(orthanc, iid)


def test_content_length_over_location_limit_with_expect(orthanc, location_limit):
    """With "Expect: 100-continue" the client gets the 413 instead of the
    100 and never sends the body."""
    data, iid = dicom(3 * MB, seed=2)
    before = count_instances(orthanc)
    up = big_dicom.post_stream(location_limit.port, "/orthanc/instances", data,
                               expect=True, continue_timeout=10)
    print(f"\n{len(data)} bytes, Content-Length + Expect: {up.status}, "
          f"interim {up.interim}, {up.sent} body bytes sent")
    assert up.status == 413
    assert up.interim == "final"
    assert up.sent == 0
    assert_json_413(up.body, up.headers)
    assert count_instances(orthanc) == before
    assert not instance_exists(orthanc, iid)


@pytest.mark.parametrize("expect", [False, True], ids=["no-expect", "expect-100"])
def test_chunked_over_location_limit(orthanc, location_limit, expect):
    """A chunked body has no declared length: the module counts it as it
    streams and stops it at the limit; Orthanc stores nothing."""
    data, iid = dicom(3 * MB, seed=3 if expect else 4)
    before = count_instances(orthanc)
    up = big_dicom.post_stream(location_limit.port, "/orthanc/instances", data,
                               chunked=True, expect=expect, blocksize=64 * 1024)
    print(f"\n{len(data)} bytes chunked{' + Expect' if expect else ''}: "
          f"{up.status} {up.body!r}, {up.sent} body bytes sent"
          f"{', ' + up.send_error if up.send_error else ''}")
    assert up.status == 413, (up, location_limit.error_log()[-2000:])
    assert_json_413(up.body, up.headers)
    assert count_instances(orthanc) == before
    assert not instance_exists(orthanc, iid)
    assert_refused_in_log(location_limit)
    # Orthanc is none the worse for the cut body.
    assert requests.get(f"{location_limit.url}/orthanc/system", timeout=30).ok


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("expect", [False, True], ids=["no-expect", "expect-100"])
def test_under_location_limit_passes(orthanc, location_limit, chunked, expect):
    data, iid = dicom(500 * KB, seed=10 + 2 * chunked + expect)
    before = count_instances(orthanc)
    up = big_dicom.post_stream(location_limit.port, "/orthanc/instances", data,
                               chunked=chunked, expect=expect)
    assert up.status == 200, (up, location_limit.error_log()[-2000:])
    assert up.json()["Status"] == "Success"
    assert up.json()["ID"] == iid
    assert count_instances(orthanc) == before + 1
    size = requests.get(f"{orthanc.url}/instances/{iid}/attachments/dicom/size",
                        timeout=30).text
    assert int(size) == len(data)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_server_limit_module_refuses_plain_proxypass_does_not(
        orthanc, server_limit, chunked):
    """The FACTS case.  Through the module the 700 KB POST gets 413 and
    nothing is stored.  Through a plain ProxyPass on the same Apache, under
    the same server-wide "LimitRequestBody 200000", Apache 2.4.71 lets the
    same POST through to Orthanc, which stores it: Apache skips the limit on
    proxied requests, which is why the module enforces it itself.  Only the
    module's behaviour is asserted; the plain ProxyPass outcome is printed."""
    data, iid = dicom(700 * KB, seed=20 + chunked)
    before = count_instances(orthanc)
    module = big_dicom.post_stream(server_limit.port, "/orthanc/instances",
                                   data, chunked=chunked, blocksize=64 * 1024)
    print(f"\n{len(data)} bytes {'chunked' if chunked else 'Content-Length'} "
          f"under a server-wide LimitRequestBody 200000: module {module.status}",
          end="")
    assert module.status == 413, (module, server_limit.error_log()[-2000:])
    assert_json_413(module.body, module.headers)
    assert count_instances(orthanc) == before
    assert not instance_exists(orthanc, iid)

    plain = big_dicom.post_stream(server_limit.port, "/plain/instances", data,
                                  chunked=chunked)
    stored = instance_exists(orthanc, iid)
    print(f", plain ProxyPass {plain.status} (instance stored: {stored})")
    if stored:
        requests.delete(f"{orthanc.url}/instances/{iid}", timeout=30)


def test_default_limit_applies(orthanc, default_limit):
    """Without any LimitRequestBody, Apache's default of 1 GiB is in force
    and the module enforces it: a 2 GB upload needs "LimitRequestBody 0"
    (or a larger value) on the prefix.  Only the request head is sent."""
    raw = send_head_only(orthanc, default_limit, 2_000_000_000)
    status, headers, body = parse_response(raw)
    assert status == 413, raw
    message = assert_json_413(body, headers)["message"]
    print(f"\nContent-Length 2000000000 without LimitRequestBody: 413 {message}")
    # The limit named is Apache's default.
    assert "1073741824" in message
