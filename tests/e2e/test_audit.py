# SPDX-License-Identifier: Apache-2.0
"""The audit trail (OrthancProxyAudit*): who reached which patient's data.

A real Apache with the module, a real Orthanc, the audit program the build
makes (support/orthanc-proxy-audit) and a real rsyslog (Debian's rsyslogd;
rsyslog-gnutls for the TLS leg) that receives the IHE ATNA messages.  Every
message is checked against PS3.15 A.5 (atna.py); the JSON lines and the
ATNA messages must tell the same events.  Users log in with Basic
authentication: clara may read, ravi may modify.
"""

import base64
import json
import os
import signal
import time

import pytest
import requests

import atna
from harness import SAMPLE_DIR, basic_accounts, raw_request, read_log, \
    status_of, wait_until
from rsyslog import Rsyslog
import tls

CT_SMALL = os.path.join(SAMPLE_DIR, "CT_small.dcm")
MR_SMALL = os.path.join(SAMPLE_DIR, "MR_small.dcm")
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
CT_INSTANCE = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
CT_PATIENT = "1CT1"
MR_STUDY = "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"
MR_PATIENT = "4MR1"
BUILDDIR = os.environ.get("OP_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
PROGRAM = os.path.join(BUILDDIR, "support", "orthanc-proxy-audit")
AUTH_MODULES = ["auth_basic", "authn_core", "authn_file", "authz_user",
                "authz_groupfile", "slotmem_shm"]
USERS = {"clara": "readers", "ravi": "editors", "ada": "admins"}
TIMEOUT = 60


def site(orthanc_url, directory, outputs, window="2 30", extra=""):
    accounts = basic_accounts(directory, "users", USERS)
    return f"""
OrthancProxyAuditProgram "{PROGRAM}"
{outputs}
OrthancProxyAuditNode pacs.test
OrthancProxyAuditSite "Test Hospital"
# Requests Apache refuses before it matches a <Location> get this one.
OrthancProxyAuditWindow {window}
OrthancProxy /orthanc/ {orthanc_url}/
<Location /orthanc/>
    OrthancProxyAccess admin
    OrthancProxyAuditWindow {window}
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{accounts['htpasswd']}"
    AuthGroupFile "{accounts['groups']}"
    AuthzSendForbiddenOnFailure On
    <RequireAny>
        <RequireAll>
            Require group readers
            Require orthanc-access read
        </RequireAll>
        <RequireAll>
            Require group editors
            Require orthanc-access modify
        </RequireAll>
        <RequireAll>
            Require group admins
            Require orthanc-access admin
        </RequireAll>
    </RequireAny>
</Location>
<Location /status>
    SetHandler orthanc-proxy-status
</Location>
{extra}
"""


def as_user(user):
    return (user, user)


def json_events(path):
    out = []
    for line in read_log(path).splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def wait_for(predicate, timeout=30, what="audit events", show=None):
    """What PREDICATE returns once it is true; on a timeout, the error
    shows SHOW() (what was there)."""
    result = []

    def check():
        got = predicate()
        if got:
            result.append(got)
            return True
        return False
    try:
        wait_until(check, timeout, interval=0.2, what=what)
    except TimeoutError as e:
        raise AssertionError(f"{e}; got: {show() if show else predicate()}")
    return result[0]


def find(events, **match):
    return [e for e in events if all(e.get(k) == v for k, v in match.items())]


def checked_atna(syslog):
    """Every ATNA message rsyslog received, each checked against PS3.15."""
    out = []
    for m in syslog.audit_messages():
        problems = atna.check(m["msg"])
        assert problems == [], (problems, m["msg"])
        assert m["pri"] in ("84", "85"), m     # authpriv, warning or notice
        assert m["version"] == "1" and m["app"] == "mod_orthanc_proxy", m
        out.append(atna.summary(m["msg"]))
    return out


@pytest.fixture
def audited(make_orthanc, make_apache, workdir):
    """Orthanc with CT_small and MR_small; rsyslog on UDP; Apache auditing
    to a JSON file and to that rsyslog."""
    orthanc = make_orthanc(samples=["CT_small.dcm", "MR_small.dcm"])
    syslog = Rsyslog(workdir).start()
    json_path = os.path.join(workdir, "audit.json")
    apache = make_apache(site(orthanc.url, workdir, f"""
OrthancProxyAuditLog "{json_path}"
OrthancProxyAuditSyslog udp://127.0.0.1:{syslog.udp_port}
"""), extra_modules=AUTH_MODULES)
    yield orthanc, apache, syslog, json_path
    apache.stop()
    syslog.stop()


def study_id(orthanc, uid):
    return requests.post(orthanc.url + "/tools/lookup", data=uid,
                         timeout=TIMEOUT).json()[0]["ID"]


def test_viewing_is_one_event_per_user_and_study_with_counts(audited):
    orthanc, apache, syslog, json_path = audited
    base = apache.url + "/orthanc"
    instance = requests.post(orthanc.url + "/tools/lookup", data=CT_INSTANCE,
                             timeout=TIMEOUT).json()[0]["ID"]
    sent = 0
    # A viewer: DICOMweb metadata and frames, REST previews and tags.
    urls = [f"/dicom-web/studies/{CT_STUDY}/metadata",
            f"/dicom-web/studies/{CT_STUDY}/series"] \
        + [f"/instances/{instance}/preview", f"/instances/{instance}/tags"] * 5
    for url in urls:
        # Bytes as sent: no compression to undo.
        r = requests.get(base + url, auth=as_user("clara"), timeout=TIMEOUT,
                         headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        sent += len(r.content)
    r = requests.get(base + "/dicom-web/studies?PatientID=1CT1",
                     auth=as_user("clara"), timeout=TIMEOUT)
    assert r.status_code == 200
    events = wait_for(lambda: len(json_events(json_path)) >= 2
                      and json_events(json_path), timeout=30)
    accessed = find(events, event="instances-accessed", user="clara")
    assert len(accessed) == 1, events
    e = accessed[0]
    assert e["event_id"] == "110103" and e["action"] == "R" and e["outcome"] == 0
    assert e["requests"] == len(urls)
    assert e["instances"] == 1
    assert e["bytes"] == sent
    assert e["client"] == "127.0.0.1" and e["node"] == "pacs.test"
    [p] = e["participants"]
    assert p["study_uid"] == CT_STUDY and p["patient_id"] == CT_PATIENT
    assert p["patient_name"] == "CompressedSamples^CT1"
    queries = find(events, event="query", user="clara")
    assert len(queries) == 1 and "PatientID=1CT1" in queries[0]["query"]

    atna_events = wait_for(lambda: len(syslog.audit_messages()) >= 2
                           and checked_atna(syslog))
    viewing = [a for a in atna_events if a["event"] == "110103"]
    assert len(viewing) == 1
    assert viewing[0]["requestor"] == ["clara"]
    assert viewing[0]["studies"] == [CT_STUDY]
    assert viewing[0]["patients"] == [CT_PATIENT]
    assert viewing[0]["details"]["NumberOfInstances"] == "1"
    assert [a for a in atna_events if a["event"] == "110112"]


def test_export_import_modify_delete_and_refusals(audited):
    orthanc, apache, syslog, json_path = audited
    base = apache.url + "/orthanc"
    ct = study_id(orthanc, CT_STUDY)
    mr = study_id(orthanc, MR_STUDY)

    # An archive download by clara.
    r = requests.get(f"{base}/studies/{ct}/archive", auth=as_user("clara"),
                     timeout=TIMEOUT)
    assert r.status_code == 200 and r.content[:2] == b"PK"
    # A deletion refused to clara (read only), then a path trick.
    r = requests.delete(f"{base}/studies/{mr}", auth=as_user("clara"),
                        timeout=TIMEOUT)
    assert r.status_code == 403
    # (Sent as it is: requests would decode the %2e.)
    token = base64.b64encode(b"clara:clara").decode()
    raw = raw_request(apache.port, (
        "POST /orthanc/%2e%2e/%2e%2e/tools/execute-script HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Basic {token}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n").encode())
    assert status_of(raw) == 400, raw[:300]       # by Apache's core
    r = requests.post(base + "/tools/execute-script%00", auth=as_user("clara"),
                      timeout=TIMEOUT)
    assert r.status_code == 400                    # by the module
    # ravi anonymizes CT, deletes MR, uploads MR again.
    r = requests.post(f"{base}/studies/{ct}/anonymize", json={},
                      auth=as_user("ravi"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    new_study = r.json()["ID"]
    r = requests.delete(f"{base}/studies/{mr}", auth=as_user("ravi"),
                        timeout=TIMEOUT)
    assert r.status_code == 200
    with open(MR_SMALL, "rb") as f:
        r = requests.post(f"{base}/instances", data=f.read(),
                          auth=as_user("ravi"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text

    def enough():
        ev = json_events(json_path)
        kinds = {e["event"] for e in ev}
        return ev if {"export", "security-alert", "modification", "deletion",
                      "import"} <= kinds and len(
                          find(ev, event="security-alert")) >= 3 else None
    events = wait_for(enough, timeout=40, show=lambda: [
        (e["event"], e["user"], e["request"]) for e in json_events(json_path)])

    [export] = find(events, event="export", user="clara")
    assert export["participants"][0]["study_uid"] == CT_STUDY
    assert export["what"] == "archive" and export["bytes"] > 0

    alerts = find(events, event="security-alert", user="clara")
    refused_delete = [a for a in alerts if a["request"].startswith("DELETE")]
    assert len(refused_delete) == 1, alerts
    assert refused_delete[0]["outcome"] == 4
    assert "needs Require orthanc-access modify" in refused_delete[0]["outcome_text"]
    assert refused_delete[0]["participants"][0]["study_uid"] == MR_STUDY
    # Refused before anybody logged in: no user.
    tricks = [a for a in find(events, event="security-alert")
              if "execute-script" in a["request"]]
    assert len(tricks) == 2, alerts
    assert {t["request"] for t in tricks} == {
        "POST /orthanc/%2e%2e/%2e%2e/tools/execute-script",
        "POST /orthanc/tools/execute-script%00"}, tricks
    assert all(t["outcome"] == 4 and t["outcome_text"] and t["user"] is None
               for t in tricks)

    modifications = find(events, event="modification", user="ravi")
    assert {m["action"] for m in modifications} == {"R", "C"}, modifications
    source = [m for m in modifications if m["action"] == "R"][0]
    made = [m for m in modifications if m["action"] == "C"][0]
    assert source["participants"][0]["study_uid"] == CT_STUDY
    assert source["participants"][0]["role"] == "source"
    assert made["participants"][0]["orthanc_id"] == new_study
    assert made["participants"][0]["role"] == "result"
    assert made["participants"][0]["patient_id"] != CT_PATIENT
    assert made["what"] == "anonymize"

    [deletion] = find(events, event="deletion", user="ravi")
    assert deletion["event_id"] == "110105" and deletion["action"] == "D"
    [p] = deletion["participants"]
    assert p["study_uid"] == MR_STUDY and p["patient_id"] == MR_PATIENT
    assert p["instances"] == 1 and p["bytes"] > 0

    [upload] = find(events, event="import", user="ravi")
    assert upload["event_id"] == "110107" and upload["action"] == "C"
    assert upload["participants"][0]["study_uid"] == MR_STUDY
    assert upload["participants"][0]["instances"] == 1
    assert upload["bytes"] == os.path.getsize(MR_SMALL)

    def atna_done():
        got = checked_atna(syslog)
        codes = {a["event"] for a in got}
        return got if {"110106", "110103", "110105", "110107"} <= codes and len(
            [a for a in got if a["event"] == "110113"]) >= 3 else None
    got = wait_for(atna_done, timeout=30)
    [deleted] = [a for a in got if a["event"] == "110105"]
    assert deleted["studies"] == [MR_STUDY] and deleted["patients"] == [MR_PATIENT]
    assert deleted["requestor"] == ["ravi"]
    alerts_atna = [a for a in got if a["event"] == "110113"]
    assert len(alerts_atna) == 3
    assert all(a["outcome"] == "4" for a in alerts_atna)
    assert any("Require orthanc-access" in a["details"]["Alert Description"]
               for a in alerts_atna)


def test_transfer_to_a_peer_and_a_failed_login(make_orthanc, make_apache,
                                               workdir):
    peer = make_orthanc(name="peer")
    orthanc = make_orthanc(samples=["CT_small.dcm"], settings={
        "OrthancPeers": {"archive": [peer.url + "/"]}})
    syslog = Rsyslog(workdir).start()
    json_path = os.path.join(workdir, "audit.json")
    apache = make_apache(site(orthanc.url, workdir, f"""
OrthancProxyAuditLog "{json_path}"
OrthancProxyAuditSyslog udp://127.0.0.1:{syslog.udp_port}
"""), extra_modules=AUTH_MODULES)
    try:
        base = apache.url + "/orthanc"
        ct = study_id(orthanc, CT_STUDY)
        r = requests.post(f"{base}/peers/archive/store", data=ct,
                          auth=as_user("ada"), timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        assert requests.get(peer.url + "/studies", timeout=TIMEOUT).json() == [ct]
        r = requests.get(f"{base}/studies", auth=("ravi", "wrong"),
                         timeout=TIMEOUT)
        assert r.status_code == 401

        def both():
            ev = json_events(json_path)
            return ev if {"instances-transferred", "login-failed"} <= {
                e["event"] for e in ev} else None
        events = wait_for(both, show=lambda: json_events(json_path))
        [sent] = find(events, event="instances-transferred")
        assert sent["user"] == "ada" and sent["destination"] == "archive"
        assert sent["event_id"] == "110104"
        assert sent["participants"][0]["study_uid"] == CT_STUDY
        [login] = find(events, event="login-failed")
        assert login["user"] == "ravi" and login["outcome"] == 4
        got = wait_for(lambda: len(syslog.audit_messages()) >= 2
                       and checked_atna(syslog))
        assert {a["event"] for a in got} == {"110104", "110114"}
    finally:
        apache.stop()
        syslog.stop()


def test_status_page_shows_the_audit_trail(audited):
    orthanc, apache, syslog, json_path = audited
    r = requests.get(apache.url + "/orthanc/studies", auth=as_user("clara"),
                     timeout=TIMEOUT)
    assert r.status_code == 200

    def counted():
        page = requests.get(apache.url + "/status?json", timeout=TIMEOUT).json()
        audit = page["audit"]
        return page if audit and audit["program"].get("records", 0) >= 1 else None
    page = wait_for(counted, timeout=15)
    assert "udp://127.0.0.1" in page["audit"]["outputs"]
    assert page["audit"]["program"]["syslog_lost"] == 0
    [mapping] = page["mappings"]
    assert mapping["audit"]["records"] >= 1 and mapping["audit"]["lost"] == 0
    html = requests.get(apache.url + "/status", timeout=TIMEOUT).text
    assert "Audit trail" in html


def apache_pid_signal(apache, sig):
    os.kill(apache.proc.pid, sig)


def program_pids(apache):
    """The audit programs APACHE started (running, or ending after a
    restart); others may run on the machine."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if PROGRAM.encode() not in f.read():
                        continue
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if apache.proc is not None and ppid == apache.proc.pid:
                pids.append(int(entry))
    return pids


def test_graceful_restart_and_stop_in_a_window_lose_nothing(
        make_orthanc, make_apache, workdir):
    orthanc = make_orthanc(samples=["CT_small.dcm", "MR_small.dcm"])
    json_path = os.path.join(workdir, "audit.json")
    # A window of an hour: only the restart and the stop can close it.
    apache = make_apache(site(orthanc.url, workdir,
                              f'OrthancProxyAuditLog "{json_path}"',
                              window="3600 7200"),
                         extra_modules=AUTH_MODULES)
    base = apache.url + "/orthanc"
    r = requests.get(f"{base}/dicom-web/studies/{CT_STUDY}/metadata",
                     auth=as_user("clara"), timeout=TIMEOUT)
    assert r.status_code == 200
    time.sleep(1)
    assert json_events(json_path) == []
    before = set(program_pids(apache))
    assert before
    apache_pid_signal(apache, signal.SIGUSR1)          # graceful restart
    events = wait_for(lambda: json_events(json_path), timeout=30)
    assert len(find(events, event="instances-accessed", user="clara")) == 1
    wait_until(lambda: set(program_pids(apache)) - before and not
               (set(program_pids(apache)) & before), 30,
               what="the old program to end")

    # The new generation: a window open at a stop.
    wait_until(lambda: requests.get(f"{base}/dicom-web/studies/{MR_STUDY}/metadata",
                                    auth=as_user("ravi"),
                                    timeout=TIMEOUT).status_code == 200, 30)
    time.sleep(0.5)
    apache.stop()
    events = wait_for(lambda: len(json_events(json_path)) >= 2
                      and json_events(json_path), timeout=30)
    mr = find(events, event="instances-accessed", user="ravi")
    assert len(mr) == 1 and mr[0]["participants"][0]["study_uid"] == MR_STUDY
    # Both programs said so: the first at the restart, the second now.
    wait_until(lambda: apache.error_log().count("] stopped: ") == 2, 30,
               what="the program to end")


def test_syslog_down_costs_messages_not_latency(make_orthanc, make_apache,
                                                workdir):
    orthanc = make_orthanc(samples=["CT_small.dcm"])
    syslog = Rsyslog(workdir).start()
    json_path = os.path.join(workdir, "audit.json")
    apache = make_apache(site(orthanc.url, workdir, f"""
OrthancProxyAuditLog "{json_path}"
OrthancProxyAuditSyslog tcp://127.0.0.1:{syslog.tcp_port} queue=5
""", window="1 2"), extra_modules=AUTH_MODULES)
    base = apache.url + "/orthanc"
    session = requests.Session()
    session.auth = as_user("clara")

    def timed_refusals(n, tag):
        times = []
        for i in range(n):
            start = time.monotonic()
            # Each a refusal of its own: an event each.
            r = session.delete(f"{base}/instances/{tag}-{i}", timeout=TIMEOUT)
            times.append(time.monotonic() - start)
            assert r.status_code == 403
        return sorted(times)[len(times) // 2]

    up = timed_refusals(4, "up")       # fewer than the queue holds
    wait_for(lambda: len(syslog.audit_messages()) >= 4, timeout=30)
    syslog.stop()
    down = timed_refusals(60, "down")
    print(f"\nmedian latency of a refusal: {up * 1000:.2f} ms with rsyslog up, "
          f"{down * 1000:.2f} ms with it down")
    assert down < max(3 * up, 0.05)

    def lost():
        page = requests.get(apache.url + "/status?json", timeout=TIMEOUT).json()
        return page["audit"]["program"] if page["audit"]["program"].get(
            "syslog_lost", 0) >= 50 else None
    program = wait_for(lost, timeout=40, what="losses to be counted")
    assert program["syslog_lost"] <= 60
    wait_until(lambda: "could not be sent to syslog" in apache.error_log(), 30,
               what="the loss to be logged")
    # The JSON lines have every event all the same.
    wait_until(lambda: len(find(json_events(json_path),
                                event="security-alert")) >= 64, 30)


def test_tls_forwarding_to_an_audit_repository(make_orthanc, make_apache,
                                               workdir):
    """The README's example: the proxy sends to the local rsyslog over
    TCP, which forwards over TLS (RFC 5425) to the audit repository."""
    ca = tls.CertificateAuthority(os.path.join(workdir, "ca"))
    repository = Rsyslog(workdir, "repository",
                         tls_certificate=ca.issue("repository"),
                         tls_ca=ca.cert).start()
    local = Rsyslog(workdir, "local", forward_tls=(
        "localhost", repository.tls_port, ca.cert)).start()
    orthanc = make_orthanc(samples=["CT_small.dcm"])
    apache = make_apache(site(orthanc.url, workdir, f"""
OrthancProxyAuditSyslog tcp://127.0.0.1:{local.tcp_port} facility=local4
""", window="1 2"), extra_modules=AUTH_MODULES)
    try:
        r = requests.get(f"{apache.url}/orthanc/dicom-web/studies/{CT_STUDY}/series",
                         auth=as_user("clara"), timeout=TIMEOUT)
        assert r.status_code == 200
        messages = wait_for(lambda: repository.audit_messages(), timeout=40,
                            what="the repository to receive the message")
        [m] = messages
        assert atna.check(m["msg"]) == []
        assert m["pri"] == str(20 * 8 + 5)
        assert atna.summary(m["msg"])["studies"] == [CT_STUDY]
    finally:
        apache.stop()
        local.stop()
        repository.stop()


def test_unix_socket(make_orthanc, make_apache, workdir):
    syslog = Rsyslog(workdir).start()
    orthanc = make_orthanc(samples=["CT_small.dcm"])
    apache = make_apache(site(orthanc.url, workdir, f"""
OrthancProxyAuditSyslog unix:{syslog.socket_path}
""", window="1 2"), extra_modules=AUTH_MODULES)
    try:
        r = requests.get(f"{apache.url}/orthanc/patients", auth=as_user("clara"),
                         timeout=TIMEOUT)
        assert r.status_code == 200
        [summary] = wait_for(lambda: checked_atna(syslog), timeout=30)
        assert summary["event"] == "110112"
    finally:
        apache.stop()
        syslog.stop()


def test_a_stalled_program_costs_records_not_latency(audited):
    orthanc, apache, syslog, json_path = audited
    session = requests.Session()
    session.auth = as_user("clara")
    # A long query string makes long records (the query's share is cut at
    # 700 bytes): the pipe, 1 MiB, fills with about 1,200.
    url = apache.url + "/orthanc/patients?" + "x" * 3000
    wait_until(lambda: program_pids(apache), 10)
    [pid] = program_pids(apache)
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        for _ in range(1500):       # records of ~900 bytes: more than 1 MiB
            assert session.get(url, timeout=TIMEOUT).status_code == 200
        elapsed = time.monotonic() - start
    finally:
        os.kill(pid, signal.SIGCONT)
    print(f"\n1500 requests with the audit program stopped: {elapsed:.2f} s")
    page = requests.get(apache.url + "/status?json", timeout=TIMEOUT).json()
    [mapping] = page["mappings"]
    assert mapping["audit"]["lost"] > 0
    assert mapping["audit"]["records"] + mapping["audit"]["lost"] >= 1500
    assert "could not be given to the audit program" in apache.error_log()


@pytest.mark.parametrize("line, message", [
    ("OrthancProxyAuditSyslog ftp://x", "is not unix:/PATH, udp://HOST:PORT or tcp://HOST:PORT"),
    ("OrthancProxyAuditSyslog udp://127.0.0.1:514 facility=nope", "facility=NAME"),
    ("OrthancProxyAuditWindow 0", "whole seconds"),
    ('OrthancProxyAuditLog /tmp/x.json\nOrthancProxyAuditProgram /nonexistent/audit',
     "the audit program /nonexistent/audit is missing"),
])
def test_configtest_names_audit_mistakes(make_apache, line, message):
    apache = make_apache(f"OrthancProxy /orthanc/ http://127.0.0.1:9/\n{line}\n",
                         start=False)
    status, out = apache.configtest()
    assert status != 0 and message in out, out
