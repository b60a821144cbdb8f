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

import json
import os
import re
import shutil
import subprocess
import time

import pytest
import requests

import browser_js
import test_cache
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


# ------------------------------------------------------------ audit trail
AUDIT_MODULES = ["auth_basic", "authn_core", "authn_file", "authz_user"]


@pytest.fixture(scope="module")
def audited_site(loaded_orthanc, make_module_apache, module_dir):
    """The same site, Orthanc's prefix behind a login, every request
    recorded by the audit trail (JSON lines, windows of 5 s)."""
    htpasswd = os.path.join(module_dir, "htpasswd")
    subprocess.run(["htpasswd", "-bcB", htpasswd, "clara", "clara"],
                   check=True, capture_output=True)
    os.chmod(htpasswd, 0o644)
    json_path = os.path.join(module_dir, "audit.json")
    program = os.path.join(os.environ.get("OP_BUILDDIR") or SRCDIR, "support",
                           "orthanc-proxy-audit")
    apache = make_module_apache(f"""
OrthancProxyAuditProgram "{program}"
OrthancProxyAuditLog "{json_path}"
OrthancProxyAuditWindow 5 60
OrthancProxy /orthanc/ {loaded_orthanc.url}/
<Location /orthanc/>
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    Require valid-user
</Location>
<Directory "{{docroot}}/ohif">
    FallbackResource /ohif/index.html
</Directory>
""", start=False, extra_modules=AUDIT_MODULES)
    lay_out_site(apache.docroot)
    apache.start()
    make_module_apache.started.append(apache)
    return apache, json_path


def audit_events(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def test_ohif_opening_a_study_is_one_audit_event(loaded_orthanc, audited_site,
                                                 workdir):
    """A named user opens the CT study in OHIF: one "instances accessed"
    event for that user and study, with the patient, the study, the
    instances and the bytes the access log shows, and one query event
    for the study list."""
    apache, json_path = audited_site
    result = browser_js.run_node("ohif_study.js", [
        apache.url, "CompressedSamples, CT1", workdir], workdir,
        env={"OP_HTTP_USER": "clara", "OP_HTTP_PASSWORD": "clara"})
    assert "error" not in result, result.get("error")
    assert result["pixels"]["greyLevels"] > 32, result["pixels"]

    # What Apache served of the CT study to clara, from its access log.
    served, instances = 0, set()
    requests_seen = 0
    for line in apache.access_log().splitlines():
        m = re.match(r'\S+ "GET (/orthanc/dicom-web/studies/([0-9.]+)(\S*)) '
                     r'[^"]*" (\d{3}) (\d+|-) ', line)
        if m and m.group(2) == CT_STUDY and m.group(4) == "200":
            requests_seen += 1
            served += int(m.group(5)) if m.group(5) != "-" else 0
            instance = re.search(r"/instances/([0-9.]+)", m.group(3))
            if instance:
                instances.add(instance.group(1))
    assert requests_seen > 0

    def closed():
        events = audit_events(json_path)
        return events if [e for e in events
                          if e["event"] == "instances-accessed"] else None
    deadline = time.monotonic() + 60
    while not closed() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(6)          # every window of the session has closed
    events = audit_events(json_path)
    accessed = [e for e in events if e["event"] == "instances-accessed"]
    print("\naudit events:", [(e["event"], e["user"], e["requests"],
                               e["query"] or e["request"]) for e in events])
    assert len(accessed) == 1, accessed
    [e] = accessed
    assert e["user"] == "clara" and e["outcome"] == 0
    [p] = e["participants"]
    assert p["study_uid"] == CT_STUDY and p["patient_id"] == "1CT1"
    assert e["requests"] == requests_seen
    assert e["instances"] == len(instances) >= 1
    assert e["bytes"] == served
    # The study list: a QIDO query that names no patient and no study.
    # The others are searches for this patient's studies and for this
    # study (OHIF's study browser), each its own event with its keys.
    queries = [e for e in events if e["event"] == "query"]
    lists = [e for e in queries if e["query"].startswith("/dicom-web/studies?")
             and not re.search(r"(StudyInstanceUID|00100020|PatientID)=",
                               e["query"])]
    assert len(lists) == 1, [e["query"] for e in queries]
    assert lists[0]["user"] == "clara"
    for e in queries:
        if e is not lists[0]:
            assert "00100020=1CT1" in e["query"] \
                or f"StudyInstanceUID={CT_STUDY}" in e["query"], e["query"]
    assert all(e["user"] == "clara" for e in events)


# ------------------------------------------------------- per-study access
STUDIES_MODULES = ["ldap", "authnz_ldap", "auth_basic", "authn_core",
                   "authz_user"] + [m for m in test_cache.CACHE_MODULES]

# Three groups in a real LDAP directory (Debian's slapd); "rita", of the
# CT clinic, may see only the studies of patient 1CT1.
STUDIES_PEOPLE = {"rita": {}, "rolf": {}}
STUDIES_GROUPS = {"ct-clinic": ["rita"], "radiology": ["rolf"],
                  "research": ["rolf"]}


@pytest.fixture(scope="module")
def restricted_site(loaded_orthanc, make_module_apache, module_dir):
    """The same site behind an LDAP login, with OrthancProxyCache on;
    OrthancProxyStudies gives the CT clinic's group the studies of patient
    1CT1, radiology every study, research those labelled for it."""
    import ldap_server
    server = ldap_server.LdapServer(module_dir)
    server.start()
    try:
        server.add(ldap_server.directory(STUDIES_PEOPLE, STUDIES_GROUPS))
        groups = f"ou=groups,{ldap_server.SUFFIX}"
        apache = make_module_apache(f"""
CacheQuickHandler Off
CacheRoot "{test_cache.cache_dir(module_dir)}"
CacheEnable disk /orthanc/
CacheDirLevels 2
CacheDirLength 1
OrthancProxy /orthanc/ {loaded_orthanc.url}/
<Location /orthanc/>
    OrthancProxyCache on
    AuthType Basic
    AuthName "PACS"
    AuthBasicProvider ldap
    AuthLDAPURL "{server.url}/ou=people,{ldap_server.SUFFIX}?uid?sub?(objectClass=inetOrgPerson)"
    AuthLDAPGroupAttribute member
    AuthLDAPGroupAttributeIsDN on
    Require valid-user
    OrthancProxyStudies "ldap-group cn=radiology,{groups}" all
    OrthancProxyStudies "ldap-group cn=ct-clinic,{groups}" PatientID=1CT1
    OrthancProxyStudies "ldap-group cn=research,{groups}" label=research
</Location>
<Directory "{{docroot}}/ohif">
    FallbackResource /ohif/index.html
</Directory>
""", start=False, extra_modules=STUDIES_MODULES)
        lay_out_site(apache.docroot)
        apache.start()
        make_module_apache.started.append(apache)
        test_cache.wait_for_follower(apache)
        yield apache
    finally:
        server.stop()


def test_ohif_for_a_restricted_user_lists_and_opens_only_allowed_studies(
        loaded_orthanc, restricted_site, workdir):
    studies = requests.get(loaded_orthanc.url + "/studies?expand",
                           timeout=60).json()
    allowed = [s for s in studies
               if s["PatientMainDicomTags"].get("PatientID") == "1CT1"]
    assert 0 < len(allowed) < len(studies)
    result = browser_js.run_node("ohif_study.js", [
        restricted_site.url, "CompressedSamples, CT1", workdir], workdir,
        env={"OP_HTTP_USER": "rita", "OP_HTTP_PASSWORD": "rita"})
    for shot in ("list.png", "viewer.png"):
        if os.path.exists(os.path.join(workdir, shot)):
            browser_js.keep(os.path.join(workdir, shot),
                            f"ohif-restricted-{shot}")
    assert "error" not in result, result.get("error")
    assert result["pageErrors"] == []
    # The list counts and shows only the allowed studies.
    listed = result["listText"]
    count = len(allowed)
    assert f"1-{count} of {count}" in listed, listed[:500]
    for study in studies:
        name = ohif_name(study["PatientMainDicomTags"].get("PatientName", ""))
        if name.strip(", ") and study not in allowed:
            assert name not in listed, (name, listed[:2000])
    # The study opens and its image is drawn.
    assert f"StudyInstanceUIDs={CT_STUDY}" in result["viewerUrl"]
    assert result["pixels"]["greyLevels"] > 32, result["pixels"]
    assert result["failedRequests"] == []
    # The browser's first request meets the login (401), then none fails.
    assert [e for e in proxy_errors(restricted_site.access_log())
            if e[2] != 401] == []
