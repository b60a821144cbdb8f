# SPDX-License-Identifier: Apache-2.0
"""A JavaScript DICOMweb client from npm (dicomweb-client 0.11.3) in a page
served over TLS and HTTP/2 by the Apache that maps /orthanc/.

The page (tests/e2e/browser/dicomweb_client.html and _page.js) runs in
Debian's chromium: STOW-RS of a generated instance, QIDO-RS of studies,
series and instances, WADO-RS metadata (instance and series) and a frame.
Every URL the answers carry (RetrieveURL, BulkDataURI) must be under the
public prefix of the page's own origin, https://localhost:T/orthanc/, and
answer 200 when fetched.

Orthanc's DICOMweb plugin 1.7 answers frames asked for with
dicomweb-client's default Accept (multipart/related; type="*/*") with 400:
the page passes explicit media types (application/octet-stream); the last
test records that behaviour of Orthanc's, straight from Orthanc.
"""

import os
import re
import shutil

import pytest
import requests

import big_dicom
import browser_js
from harness import SRCDIR, free_port
from tls import FRONT_MODULES, CertificateAuthority, front_vhost

PAGE_FILES = ("dicomweb_client.html", "dicomweb_client_page.js")


@pytest.fixture(scope="module")
def stow_instance():
    return big_dicom.make_bytes(300_000, seed=9100, patient_id="DICOMWEB-JS")


@pytest.fixture(scope="module")
def site(orthanc, make_module_apache, module_dir, stow_instance):
    ca = CertificateAuthority(os.path.join(module_dir, "pki"))
    tls_port = free_port()
    apache = make_module_apache(
        front_vhost(tls_port, ca.issue("localhost")) +
        f"OrthancProxy /orthanc/ {orthanc.url}/\n",
        extra_modules=FRONT_MODULES, start=False)
    for name in PAGE_FILES:
        shutil.copy(os.path.join(SRCDIR, "tests", "e2e", "browser", name),
                    apache.docroot)
    library = os.path.join(browser_js.package_path("dicomweb-client"), "build",
                           "dicomweb-client.js")
    shutil.copy(library, apache.docroot)
    with open(os.path.join(apache.docroot, "stow.dcm"), "wb") as f:
        f.write(stow_instance[0])
    for name in os.listdir(apache.docroot):
        os.chmod(os.path.join(apache.docroot, name), 0o644)
    apache.start()
    make_module_apache.started.append(apache)
    apache.tls_port = tls_port
    return apache


def test_dicomweb_client_in_the_page(orthanc, site, stow_instance, workdir):
    data, info = stow_instance
    origin = f"https://localhost:{site.tls_port}"
    result = browser_js.run_node("dicomweb_client.js", [
        f"{origin}/dicomweb_client.html", info.study_uid, workdir], workdir)
    print(f"\n{result.get('steps')}")
    assert "error" not in result, result
    assert result["protocol"] == "h2"
    assert result["pageErrors"] == [] and result["failedRequests"] == []
    assert result["errorResponses"] == []

    steps = {s["name"]: s for s in result["steps"]}
    assert steps["STOW-RS"] == {"name": "STOW-RS", "stored": 1, "failed": 0}
    iid = big_dicom.orthanc_instance_id(info.patient_id, info.study_uid,
                                        info.series_uid, info.sop_uid)
    stored = requests.get(f"{orthanc.url}/instances/{iid}/file", timeout=60)
    assert stored.content == data
    assert steps["QIDO-RS studies"]["count"] == 1
    assert steps["QIDO-RS series"]["count"] == 1
    assert steps["QIDO-RS instances"]["count"] == 1
    assert steps["WADO-RS metadata"]["count"] == 1
    assert steps["WADO-RS metadata"]["rows"] > 0
    assert steps["WADO-RS frames"]["count"] == 1
    assert steps["WADO-RS frames"]["bytes"] > 0

    # Every URL the answers carried is under the public prefix, and answers.
    urls = result["urls"]
    kinds = {u["kind"] for u in urls}
    assert kinds == {"RetrieveURL", "BulkDataURI"}, urls
    for entry in urls:
        assert entry["url"].startswith(f"{origin}/orthanc/dicom-web/"), entry
    assert len(result["fetched"]) == len(urls)
    print(f"{len(urls)} URLs, all fetched: "
          f"{sorted({(f['kind'], f['status']) for f in result['fetched']})}")
    for fetched in result["fetched"]:
        assert fetched["status"] == 200, fetched
        assert fetched["bytes"] > 0, fetched

    # The browser's requests went through the module over HTTP/2.
    log = site.access_log()
    assert re.search(r'"POST /orthanc/dicom-web/studies HTTP/2.0" 200 ', log), log
    assert re.search(r'"GET /orthanc/dicom-web/studies/[0-9.]+/series/[0-9.]+/'
                     r'instances/[0-9.]+/frames/1 HTTP/2.0" 200 ', log), log


def test_orthanc_refuses_frames_with_the_default_accept(orthanc, stow_instance):
    """Why the page names its media types: Orthanc's own answer."""
    data, info = stow_instance
    requests.post(orthanc.url + "/instances", data=data, timeout=60)
    url = (f"{orthanc.url}/dicom-web/studies/{info.study_uid}/series/"
           f"{info.series_uid}/instances/{info.sop_uid}/frames/1")
    default = requests.get(url, timeout=60, headers={
        "Accept": 'multipart/related; type="*/*"'})
    assert default.status_code == 400
    explicit = requests.get(url, timeout=60, headers={
        "Accept": 'multipart/related; type="application/octet-stream"'})
    assert explicit.status_code == 200
