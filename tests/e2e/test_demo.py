# SPDX-License-Identifier: Apache-2.0
"""The demo web application (demo/www) in a real browser.

Apache serves demo/www and maps /orthanc/ to a real Orthanc with the module;
Debian's chromium loads the page headless and dumps the DOM the application
built from Orthanc's REST API on the same origin.  Chromium runs in its own
process group, which is killed by its ID when it outlives its timeout.
"""

import html
import os
import re
import shutil

import requests

from harness import SAMPLE_DIR, SRCDIR, browser_dom

DEMO_WWW = os.path.join(SRCDIR, "demo", "www")

# (file, patient name as the application shows it, patient ID)
SAMPLES = [
    ("CT_small.dcm", "CompressedSamples, CT1", "1CT1"),
    ("MR_small.dcm", "CompressedSamples, MR1", "4MR1"),
]


def demo_apache(make_apache, orthanc_url):
    """An Apache serving a copy of demo/www, /orthanc/ mapped to ORTHANC_URL."""
    apache = make_apache(f"OrthancProxy /orthanc/ {orthanc_url}/")
    # Apache's children (nobody, under root) read the copy.
    shutil.copytree(DEMO_WWW, apache.docroot, dirs_exist_ok=True)
    for directory, _, files in os.walk(apache.docroot):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
    return apache


def upload_samples(orthanc):
    """Uploads SAMPLES; {file: Orthanc's answer (ID, ParentStudy ...)}."""
    stored = {}
    for name, _, _ in SAMPLES:
        with open(os.path.join(SAMPLE_DIR, name), "rb") as f:
            stored[name] = orthanc.upload(f.read())
    return stored


def preview_ids(dom):
    return set(re.findall(
        r'<img [^>]*src="/orthanc/instances/([0-9a-f-]+)/preview"', dom))


def test_app_lists_patients_and_shows_previews(orthanc, make_apache, workdir):
    stored = upload_samples(orthanc)
    apache = demo_apache(make_apache, orthanc.url)

    dom = browser_dom(apache.url + "/", workdir)

    for _, name, patient_id in SAMPLES:
        assert name in dom
        assert patient_id in dom
    # Study date and modality badges come from two more API calls.
    assert "2004-01-19" in dom and "2004-08-26" in dom
    assert re.search(r"Modalities: </span>CT<", dom)
    assert re.search(r"Modalities: </span>MR<", dom)
    assert re.search(r'<div id="error"[^>]* hidden', dom), "an error is shown"
    # The first study of the first patient (CT1) is open, with its preview.
    ct = stored["CT_small.dcm"]
    assert preview_ids(dom) == {ct["ID"]}
    assert re.search(r'<img [^>]*alt="Preview of Series \d+ · CT', dom)
    assert "No preview" not in dom

    # A study named in the address opens instead.
    mr = stored["MR_small.dcm"]
    dom = browser_dom(f"{apache.url}/#study={mr['ParentStudy']}", workdir)
    assert preview_ids(dom) == {mr["ID"]}

    # The browser fetched both previews through the proxy, as PNG images.
    log = apache.access_log()
    for instance in (ct["ID"], mr["ID"]):
        assert re.search(rf'"GET /orthanc/instances/{instance}/preview '
                         rf'HTTP/1\.1" 200 ', log), log
    preview = requests.get(f"{apache.url}/orthanc/instances/{ct['ID']}/preview")
    assert preview.headers["Content-Type"] == "image/png"


def test_app_shows_the_proxy_error_when_orthanc_is_down(make_orthanc,
                                                        make_apache, workdir):
    own = make_orthanc(name="orthanc-down")
    upload_samples(own)
    apache = demo_apache(make_apache, own.url)
    assert requests.get(apache.url + "/orthanc/patients").json()
    own.stop()

    # What the module answers now, as the application will receive it.
    answer = requests.get(apache.url + "/orthanc/patients?expand")
    assert answer.status_code == 503
    assert answer.headers["Content-Type"].startswith("application/json")
    error = answer.json()
    assert error["status"] == 503 and error["message"]

    dom = browser_dom(apache.url + "/", workdir)

    box = re.search(r'<div id="error" class="error" role="alert">(.*?)</div>',
                    dom, re.S)
    assert box, "the error box is not shown:\n" + dom
    shown = box.group(1)
    assert "The image archive is not available" in shown
    message = html.escape(error["message"], quote=False)
    assert f'<p id="error-message" class="error-message">{message}</p>' in shown
    assert "HTTP 503 on GET /orthanc/" in shown
    assert not preview_ids(dom)
    assert "CompressedSamples" not in dom
