# SPDX-License-Identifier: Apache-2.0
"""The OHIF Viewer (npm @ohif/app 3.13.2) on Orthanc, through the module.

Apache serves what scripts/demo.sh serves: the demo's application
(demo/www) and the OHIF Viewer (scripts/ohif-docroot.sh,
demo/ohif/app-config.js) from its document root, and Orthanc's DICOMweb
at /orthanc/dicom-web on the same origin.  Orthanc holds the pydicom
sample files that have a Modality (demo/ohif/sample_files.py says why the
others are left out).

Debian's chromium, driven by playwright-core (tests/e2e/browser/ohif_study.js),
opens the study list, clicks a study and "Basic Viewer", and waits for the
image.  The test asserts that the list shows every sample study, that the
viewport shows a drawn image (screenshots kept: their paths are printed),
and that no request through the proxy failed, in the browser and in
Apache's access log.
"""

import os
import re
import shutil
import subprocess

import pytest
import requests

import browser_js
from harness import SAMPLE_DIR, SRCDIR

SAMPLE_FILES = os.path.join(SRCDIR, "demo", "ohif", "sample_files.py")
OHIF_DOCROOT = os.path.join(SRCDIR, "scripts", "ohif-docroot.sh")
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
# Requests through the proxy that may fail without anything being wrong:
# none were seen with this OHIF and Orthanc.
EXPECTED_PROXY_ERRORS = []


def samples_with_modality():
    out = subprocess.run(["/usr/bin/python3", SAMPLE_FILES, SAMPLE_DIR],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


@pytest.fixture(scope="module")
def loaded_orthanc(make_module_orthanc):
    orthanc = make_module_orthanc(name="orthanc-ohif")
    for path in samples_with_modality():
        with open(path, "rb") as f:
            # Orthanc refuses a few of the samples; the others are stored.
            requests.post(orthanc.url + "/instances", data=f.read(), timeout=60)
    return orthanc


def lay_out_site(docroot):
    """demo/www and the OHIF Viewer in DOCROOT, as scripts/demo.sh does."""
    shutil.copytree(os.path.join(SRCDIR, "demo", "www"), docroot,
                    dirs_exist_ok=True)
    subprocess.run([OHIF_DOCROOT, docroot], check=True)
    for directory, _, files in os.walk(docroot):
        os.chmod(directory, 0o755)
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)


@pytest.fixture(scope="module")
def site(loaded_orthanc, make_module_apache):
    apache = make_module_apache(f"""
OrthancProxy /orthanc/ {loaded_orthanc.url}/
<Directory "{{docroot}}/ohif">
    FallbackResource /ohif/index.html
</Directory>
""", start=False)
    lay_out_site(apache.docroot)
    apache.start()
    make_module_apache.started.append(apache)
    return apache


def ohif_name(dicom_name):
    """How OHIF's study list writes a DICOM person name: 'Last, First'."""
    parts = [p for p in dicom_name.split("^")]
    name = parts[0]
    if len(parts) > 1:
        name += ", " + " ".join(p for p in parts[1:] if p)
    return name.strip()


def proxy_errors(access_log):
    """Access-log lines of requests to /orthanc/ answered 400 or more."""
    found = []
    for line in access_log.splitlines():
        m = re.match(r'\S+ "(\S+) (/orthanc/\S*) [^"]*" (\d{3}) ', line)
        if m and int(m.group(3)) >= 400:
            found.append((m.group(1), m.group(2), int(m.group(3))))
    return found


def test_ohif_lists_the_samples_and_shows_a_study(loaded_orthanc, site, workdir):
    studies = requests.get(loaded_orthanc.url + "/studies?expand",
                           timeout=60).json()
    assert len(studies) >= 10

    result = browser_js.run_node("ohif_study.js", [
        site.url, "CompressedSamples, CT1", workdir], workdir)
    for shot in ("list.png", "viewer.png"):
        if os.path.exists(os.path.join(workdir, shot)):
            browser_js.keep(os.path.join(workdir, shot), f"ohif-{shot}")
    assert "error" not in result, result.get("error")
    assert result["pageErrors"] == []

    # The study list shows every study Orthanc has.
    listed = result["listText"]
    count = len(studies)
    assert f"1-{count} of {count}" in listed, listed[:500]
    for study in studies:
        name = ohif_name(study["PatientMainDicomTags"].get("PatientName", ""))
        if name.strip(", "):
            assert name in listed, (name, listed[:2000])

    # Clicking the CT study opened it, and its image was drawn.
    assert f"StudyInstanceUIDs={CT_STUDY}" in result["viewerUrl"]
    pixels = result["pixels"]
    print(f"\nviewport {pixels}")
    assert pixels["litFraction"] > 0.2, pixels
    assert pixels["greyLevels"] > 32, pixels
    # OHIF's overlay shows the window the image is drawn with.
    assert re.search(r"W:\s*\d+", result["viewerText"]), result["viewerText"][:1000]

    # Nothing through the proxy failed: not in the browser, not in Apache.
    assert result["failedRequests"] == []
    assert [r for r in result["errorResponses"] if "/orthanc/" in r] == []
    log = site.access_log()
    assert re.search(rf'"GET /orthanc/dicom-web/studies/{re.escape(CT_STUDY)}'
                     r'/series/[0-9.]+/instances/[0-9.]+/frames/1 HTTP/1.1" 200 ',
                     log), log[-3000:]
    assert proxy_errors(log) == EXPECTED_PROXY_ERRORS
