# SPDX-License-Identifier: Apache-2.0
"""OrthancProxyStudies: per-study access composed with Apache's groups.

Real Apache (mod_authn_file and mod_authz_groupfile, which plug into the
framework mod_authnz_ldap uses), real Orthanc with the DICOMweb plugin,
real DICOM files (ct_series.py) with the attributes the rules read.

Four studies: A and C are the partner clinic's (InstitutionName "Partner
Clinic ..."), B and D the hospital's; A and B belong to one patient (P1), C
to P2, D to P3.  C was referred by "smith".  The partner user "paula" must
see A and C, and of the patients only P2 (P1 also has B); "smith" only C;
"rad" everything; "olga", in no group, nothing.  Every refusal is checked
by its effect: the forbidden study is still in Orthanc, and no answer
carried its UID.
"""

import io
import time

import pydicom
import pytest
import requests

import test_cache
from test_cache import MAX_DELAY
from ct_series import instance_bytes, new_series
from harness import basic_accounts, orthanc_version

TIMEOUT = 60

AUTH_MODULES = ("auth_basic", "authn_core", "authn_file", "authz_user",
                "authz_groupfile")

USERS = {"paula": "partner", "smith": "referrers", "rad": "radiology",
         "olga": None, "reese": "research"}

RULES = """
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    AuthGroupFile "{groups}"
    Require valid-user
    OrthancProxyStudies "group radiology" all
    OrthancProxyStudies "group partner" "InstitutionName=Partner Clinic*"
    OrthancProxyStudies "group referrers" ReferringPhysicianName=%{{{{REMOTE_USER}}}}
    OrthancProxyStudies "group research" label=research
"""

SITE = """
KeepAliveTimeout 1
<Location /orthanc/>
    OrthancProxy {url}/
    OrthancProxyAccess modify
""" + RULES + """
</Location>
"""

# name -> (patient, InstitutionName, ReferringPhysicianName)
STUDIES = {
    "A": ("P1", "Partner Clinic North", "jones"),
    "B": ("P1", "General Hospital", "jones"),
    "C": ("P2", "Partner Clinic South", "smith"),
    "D": ("P3", "General Hospital", "brown"),
}

SEES = {"paula": {"A", "C"}, "smith": {"C"}, "rad": {"A", "B", "C", "D"},
        "olga": set()}
PATIENTS_SEEN = {"paula": {"P2"}, "smith": {"P2"},
                 "rad": {"P1", "P2", "P3"}, "olga": set()}


def dicom_file(series, index, patient, institution, referrer):
    ds = pydicom.dcmread(io.BytesIO(instance_bytes(series, index)))
    ds.PatientID = f"STUDIES-{patient}"
    ds.PatientName = f"Studies^{patient}"
    ds.InstitutionName = institution
    ds.ReferringPhysicianName = referrer
    out = io.BytesIO()
    ds.save_as(out, write_like_original=False)
    return out.getvalue()


@pytest.fixture(scope="module")
def archive(orthanc):
    """Stores the four studies (two instances each) straight into Orthanc;
    for each: its Orthanc IDs and UIDs."""
    stored = {}
    for name, (patient, institution, referrer) in STUDIES.items():
        series = new_series(2, rows=64, columns=64, label=f"STUDIES{name}")
        ids = []
        for index in range(2):
            r = requests.post(orthanc.url + "/instances", timeout=TIMEOUT,
                              data=dicom_file(series, index, patient,
                                              institution, referrer))
            r.raise_for_status()
            ids.append(r.json()["ID"])
        instance = requests.get(f"{orthanc.url}/instances/{ids[0]}",
                                timeout=TIMEOUT).json()
        series_id = instance["ParentSeries"]
        study_id = requests.get(f"{orthanc.url}/series/{series_id}",
                                timeout=TIMEOUT).json()["ParentStudy"]
        patient_id = requests.get(f"{orthanc.url}/studies/{study_id}",
                                  timeout=TIMEOUT).json()["ParentPatient"]
        stored[name] = {"study": study_id, "series": series_id,
                        "instances": ids, "patient": patient_id,
                        "patient_name": patient,
                        "study_uid": series.study_uid,
                        "series_uid": series.series_uid,
                        "sop_uid": series.sop_uids[0],
                        "sops": series.sop_uids[:2]}
    return stored


@pytest.fixture(scope="module")
def accounts(module_dir):
    return basic_accounts(module_dir, "studies", USERS)


@pytest.fixture(scope="module")
def pacs(orthanc, accounts, archive, make_module_apache):
    # mod_slotmem_shm holds the owners of the jobs restricted users start.
    return make_module_apache(SITE.format(url=orthanc.url, **accounts),
                              extra_modules=AUTH_MODULES + ("slotmem_shm",))


def as_user(pacs, user, method, path, **kwargs):
    return requests.request(method, pacs.url + "/orthanc" + path,
                            auth=(user, user), timeout=TIMEOUT, **kwargs)


def names_of_studies(archive, ids):
    by_id = {v["study"]: k for k, v in archive.items()}
    return {by_id.get(i, i) for i in ids}


def refused_by_studies(response):
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == 403 and body["message"], body
    assert body.get("rule") == "OrthancProxyStudies", body
    return body


# ------------------------------------------------------------------ lists

@pytest.mark.parametrize("user", sorted(SEES))
def test_study_list_shows_exactly_the_allowed_studies(pacs, archive, user):
    r = as_user(pacs, user, "GET", "/studies")
    assert r.status_code == 200, r.text
    ours = names_of_studies(archive, r.json()) & set(STUDIES)
    assert ours == SEES[user]
    if user != "rad":
        # Nothing else either: no study outside the four is allowed.
        assert len(r.json()) == len(SEES[user])
    r = as_user(pacs, user, "GET", "/studies?expand")
    assert r.status_code == 200, r.text
    assert names_of_studies(archive, [s["ID"] for s in r.json()]) \
        & set(STUDIES) == SEES[user]


@pytest.mark.parametrize("user", sorted(SEES))
def test_patient_list_shows_patients_whose_every_study_is_allowed(
        pacs, archive, user):
    by_id = {v["patient"]: v["patient_name"] for v in archive.values()}
    r = as_user(pacs, user, "GET", "/patients")
    assert r.status_code == 200, r.text
    assert {by_id.get(i, i) for i in r.json()} & set(by_id.values()) \
        == PATIENTS_SEEN[user]
    r = as_user(pacs, user, "GET", "/patients?expand")
    assert {by_id.get(p["ID"], p["ID"]) for p in r.json()} \
        & set(by_id.values()) == PATIENTS_SEEN[user]


@pytest.mark.parametrize("user", sorted(SEES))
def test_series_and_instance_lists_show_those_of_allowed_studies(
        pacs, archive, user):
    series = {v["series"]: k for k, v in archive.items()}
    instances = {i: k for k, v in archive.items() for i in v["instances"]}
    for path, ours in (("/series", series), ("/instances", instances)):
        r = as_user(pacs, user, "GET", path)
        assert r.status_code == 200, (path, r.text)
        if user != "rad":
            assert "no-store" in r.headers.get("Cache-Control", "")
        shown = {ours[i] for i in r.json() if i in ours}
        assert shown == SEES[user], path
        if user != "rad":
            assert len(r.json()) == sum(1 for k in ours.values()
                                        if k in SEES[user]), path
        r = as_user(pacs, user, "GET", path + "?expand&since=0&limit=1")
        assert r.status_code == 200, (path, r.text)
        assert len(r.json()) == (1 if SEES[user] else 0), path
        assert all(item["ID"] in ours and ours[item["ID"]] in SEES[user]
                   for item in r.json() if user != "rad"), path


def test_lookup_finds_only_resources_of_allowed_studies(pacs, archive):
    a, b = archive["A"], archive["B"]
    for text, found in ((a["study_uid"], [("Study", a["study"])]),
                        (a["series_uid"], [("Series", a["series"])]),
                        (a["sop_uid"], [("Instance", a["instances"][0])]),
                        (b["study_uid"], []), (b["sop_uid"], []),
                        # P1 also has B: the patient is not shown.
                        ("STUDIES-P1", []), ("STUDIES-P2", [
                            ("Patient", archive["C"]["patient"])])):
        r = as_user(pacs, "paula", "POST", "/tools/lookup", data=text)
        assert r.status_code == 200, (text, r.text)
        assert "no-store" in r.headers.get("Cache-Control", "")
        assert [(i["Type"], i["ID"]) for i in r.json()] == found, text
    r = as_user(pacs, "rad", "POST", "/tools/lookup", data=b["study_uid"])
    assert [i["ID"] for i in r.json()] == [b["study"]]


@pytest.mark.parametrize("level,query,expected", [
    ("Study", {}, 2), ("Series", {}, 2), ("Instance", {}, 4),
    ("Patient", {}, 1), ("Study", {"InstitutionName": "General*"}, 0),
    ("Instance", {"StudyInstanceUID": "{B}"}, 0),
])
def test_count_resources_counts_only_allowed_studies(pacs, archive, level,
                                                     query, expected):
    query = {k: v.replace("{B}", archive["B"]["study_uid"])
             for k, v in query.items()}
    body = {"Level": level, "Query": query}
    r = as_user(pacs, "paula", "POST", "/tools/count-resources", json=body)
    unrestricted = as_user(pacs, "rad", "POST", "/tools/count-resources",
                           json=body)
    if orthanc_version() < (1, 12, 5):
        # No such route before 1.12.5: the same answer as Orthanc's.
        assert r.status_code == unrestricted.status_code == 404, r.text
        return
    assert r.status_code == 200, r.text
    assert set(r.json()) == set(unrestricted.json()), unrestricted.text
    assert r.json()["Count"] == expected


@pytest.mark.parametrize("collection", ["patients", "studies", "series"])
@pytest.mark.parametrize("shape", ["full", "short", "simplify",
                                   "requestedTags=InstitutionName"])
def test_lists_keep_the_shape_the_client_asks_for(pacs, archive, collection,
                                                  shape):
    path = f"/{collection}?expand&{shape}"
    restricted = as_user(pacs, "paula", "GET", path)
    unrestricted = as_user(pacs, "rad", "GET", path)
    assert restricted.status_code == 200, restricted.text
    assert unrestricted.status_code == 200, unrestricted.text
    everyone = {item["ID"]: item for item in unrestricted.json()}
    shown = restricted.json()
    assert shown and all(item["ID"] in everyone for item in shown)
    def lasting(item):
        # Stability and the time of the last update change on their own.
        return {k: v for k, v in item.items()
                if k not in ("IsStable", "LastUpdate")}
    for item in shown:
        # What Orthanc shows an unrestricted user for it.
        assert lasting(item) == lasting(everyone[item["ID"]]), (path, item)
    allowed = {"patients": {archive["C"]["patient"]},
               "studies": {archive[n]["study"] for n in SEES["paula"]},
               "series": {archive[n]["series"] for n in SEES["paula"]}}
    assert {item["ID"] for item in shown} == allowed[collection]


def test_list_paging_counts_only_allowed_studies(pacs, archive):
    seen = []
    for since in range(3):
        r = as_user(pacs, "paula", "GET", f"/studies?since={since}&limit=1")
        assert r.status_code == 200, r.text
        seen += r.json()
    assert names_of_studies(archive, seen) == {"A", "C"}
    assert len(seen) == 2


@pytest.mark.parametrize("user", sorted(SEES))
def test_qido_studies_shows_exactly_the_allowed_studies(pacs, archive, user):
    uids = {v["study_uid"]: k for k, v in archive.items()}
    r = as_user(pacs, user, "GET", "/dicom-web/studies",
                headers={"Accept": "application/dicom+json"})
    assert r.status_code == 200, r.text
    found = {uids.get(item["0020000D"]["Value"][0], "other")
             for item in r.json()}
    assert found - {"other"} == SEES[user]
    for item in r.json():
        url = item.get("00081190", {}).get("Value", [""])[0]
        # RetrieveURL names the public prefix, not Orthanc's address.
        assert url.startswith(pacs.url + "/orthanc/dicom-web/studies/"), url


@pytest.mark.parametrize("level,tag,key", [
    ("series", "0020000E", "series_uid"), ("instances", "00080018", None)])
def test_qido_below_studies_shows_only_those_of_allowed_studies(
        pacs, archive, level, tag, key):
    def uids_of(name):
        if key:
            return {archive[name][key]}
        return set(archive[name]["sops"])
    r = as_user(pacs, "paula", "GET", f"/dicom-web/{level}",
                headers={"Accept": "application/dicom+json"})
    assert r.status_code == 200, r.text
    found = {item[tag]["Value"][0] for item in r.json()}
    assert found == uids_of("A") | uids_of("C"), level
    for item in r.json():
        url = item.get("00081190", {}).get("Value", [""])[0]
        assert url.startswith(pacs.url + "/orthanc/dicom-web/studies/"), url
    for query in (f"StudyInstanceUID={archive['B']['study_uid']}",
                  "InstitutionName=General*", "limit=1&offset=1"):
        r = as_user(pacs, "paula", "GET", f"/dicom-web/{level}?{query}",
                    headers={"Accept": "application/dicom+json"})
        assert r.status_code == 200, (query, r.text)
        assert {i[tag]["Value"][0] for i in r.json()} <= \
            uids_of("A") | uids_of("C"), query
        for name in ("B", "D"):
            assert archive[name]["study_uid"] not in r.text, query
        if query.startswith("limit"):
            assert len(r.json()) == 1, query
        else:
            assert r.json() == [], query


@pytest.mark.parametrize("query", [
    "StudyInstanceUID={B}", "InstitutionName=General*",
    "InstitutionName=General%20Hospital", "PatientID=STUDIES-P1",
    "00080080=General*", "limit=10&offset=0"])
def test_qido_never_answers_with_a_forbidden_study(pacs, archive, query):
    r = as_user(pacs, "paula", "GET", "/dicom-web/studies?"
                + query.format(B=archive["B"]["study_uid"]),
                headers={"Accept": "application/dicom+json"})
    assert r.status_code in (200, 204), r.text
    for name in ("B", "D"):
        assert archive[name]["study_uid"] not in r.text


@pytest.mark.parametrize("search,expected", [
    ({"Level": "Study", "Query": {}}, {"A", "C"}),
    ({"Level": "Study", "Query": {}, "Expand": True}, {"A", "C"}),
    ({"Level": "Study", "Query": {"InstitutionName": "General*"}}, set()),
    ({"Level": "Study", "Query": {"PatientID": "STUDIES-P1"}}, {"A"}),
    ({"Level": "Study", "Query": {"0008,0080": "*"}}, {"A", "C"}),
    ({"Level": "Study", "Query": {}, "Limit": 1}, 1),
])
def test_tools_find_answers_only_allowed_studies(pacs, archive, search,
                                                 expected):
    r = as_user(pacs, "paula", "POST", "/tools/find", json=search)
    assert r.status_code == 200, r.text
    ids = [i["ID"] if isinstance(i, dict) else i for i in r.json()]
    if isinstance(expected, int):
        assert len(ids) == expected
        assert names_of_studies(archive, ids) <= {"A", "C"}
    else:
        assert names_of_studies(archive, ids) == expected
    for name in ("B", "D"):
        assert archive[name]["study"] not in r.text
        assert archive[name]["study_uid"] not in r.text


@pytest.mark.parametrize("level,query,extra", [
    ("Series", {}, {}), ("Series", {}, {"Expand": True}),
    ("Series", {"Modality": "CT"}, {"Limit": 1}),
    ("Instance", {}, {}), ("Instance", {}, {"Expand": True}),
    ("Patient", {}, {}),
])
def test_tools_find_at_every_level_answers_only_allowed_studies(
        pacs, archive, level, query, extra):
    r = as_user(pacs, "paula", "POST", "/tools/find",
                json={"Level": level, "Query": query, **extra})
    assert r.status_code == 200, r.text
    ids = [i["ID"] if isinstance(i, dict) else i for i in r.json()]
    of_level = {"Series": lambda v: [v["series"]],
                "Instance": lambda v: v["instances"],
                "Patient": lambda v: [v["patient"]]}[level]
    allowed = {i for name in SEES["paula"] for i in of_level(archive[name])}
    if level == "Patient":
        allowed = {archive["C"]["patient"]}   # P1 also has B
    if "Limit" in extra:
        assert len(ids) == 1 and set(ids) <= allowed
    else:
        assert set(ids) == allowed and len(ids) == len(allowed)
    for name in ("B", "D"):
        assert archive[name]["series"] not in r.text
        assert archive[name]["instances"][0] not in r.text
        assert archive[name]["study_uid"] not in r.text
    r = as_user(pacs, "paula", "POST", "/tools/find", json={
        "Level": "Instance", "Query": {"SOPInstanceUID":
                                       archive["B"]["sop_uid"]}})
    assert r.status_code == 200 and r.json() == [], r.text


# ------------------------------------------------------- one study's routes

def allowed_routes(a):
    return [
        ("GET", f"/studies/{a['study']}"),
        ("GET", f"/series/{a['series']}"),
        ("GET", f"/instances/{a['instances'][0]}/file"),
        ("GET", f"/instances/{a['instances'][0]}/tags?simplify"),
        ("GET", f"/dicom-web/studies/{a['study_uid']}/metadata"),
        ("GET", f"/dicom-web/studies/{a['study_uid']}/series/{a['series_uid']}"
                f"/instances/{a['sop_uid']}"),
        ("GET", f"/wado?requestType=WADO&studyUID={a['study_uid']}"
                f"&seriesUID={a['series_uid']}&objectUID={a['sop_uid']}"
                f"&contentType=application/dicom"),
    ]


def test_allowed_study_is_served_on_every_route(pacs, archive):
    for method, path in allowed_routes(archive["C"]) + [
            ("GET", f"/patients/{archive['C']['patient']}"),
            ("GET", f"/studies/{archive['C']['study']}/patient")]:
        r = as_user(pacs, "paula", method, path)
        assert r.status_code == 200, (path, r.text)


def forbidden_routes(b, a):
    """Every way to B's data (and to A's patient, who also has B)."""
    inst = b["instances"][0]
    return [
        ("GET", f"/studies/{b['study']}"),
        ("GET", f"/studies/{b['study']}/archive"),
        ("GET", f"/studies/{b['study']}/instances"),
        ("GET", f"/studies/{b['study']}/shared-tags"),
        ("GET", f"/series/{b['series']}"),
        ("GET", f"/series/{b['series']}/media"),
        ("GET", f"/instances/{inst}"),
        ("GET", f"/instances/{inst}/file"),
        ("GET", f"/instances/{inst}/tags"),
        ("GET", f"/instances/{inst}/preview"),
        ("GET", f"/instances/{inst}/frames/0/raw"),
        ("GET", f"/instances/{inst}/metadata"),
        ("GET", f"/patients/{b['patient']}"),
        ("GET", f"/patients/{b['patient']}/archive"),
        ("GET", f"/studies/{a['study']}/patient"),
        ("GET", f"//studies/./{b['study']}"),
        ("GET", f"/studies/{b['study'].upper()}"),
        ("GET", f"/dicom-web/studies/{b['study_uid']}"),
        ("GET", f"/dicom-web/studies/{b['study_uid']}/metadata"),
        ("GET", f"/dicom-web/studies/{b['study_uid']}/series"),
        ("GET", f"/dicom-web/studies/{b['study_uid']}/series/"
                f"{b['series_uid']}/metadata"),
        ("GET", f"/dicom-web/studies/{b['study_uid']}/series/"
                f"{b['series_uid']}/instances/{b['sop_uid']}"),
        # The allowed study's UID in front of the forbidden series.
        ("GET", f"/dicom-web/studies/{a['study_uid']}/series/"
                f"{b['series_uid']}/instances/{b['sop_uid']}/frames/1"),
        ("GET", f"/dicom-web/studies/{b['study_uid']}*"),
        ("GET", f"/wado?requestType=WADO&studyUID={b['study_uid']}"
                f"&seriesUID={b['series_uid']}&objectUID={b['sop_uid']}"),
        ("GET", f"/wado?requestType=WADO&studyUID={a['study_uid']}"
                f"&seriesUID={a['series_uid']}&objectUID={b['sop_uid']}"),
        ("GET", f"/wado?requestType=WADO&objectUID={a['sop_uid']}"
                f"&objectUID={b['sop_uid']}"),
        ("GET", f"/wado?requestType=WADO&%6fbjectUID={b['sop_uid']}"),
        # An encoded '&' makes a second objectUID on the Orthancs whose
        # web server decodes the query first (logic/query_reading.h).
        ("GET", f"/wado?requestType=WADO&x=%26objectUID%3D{b['sop_uid']}"
                f"&objectUID={a['sop_uid']}"),
        ("GET", f"/wado?requestType=WADO&objectUID={a['sop_uid']}"
                f"%26objectUID%3D{b['sop_uid']}"),
        ("GET", f"/wado?requestType=WADO&objectuid={b['sop_uid']}"
                f"&objectUID={a['sop_uid']}"),
        ("GET", "/changes"),
        ("GET", "/statistics"),
        ("GET", "/exports"),
        ("GET", "/jobs"),
        ("POST", "/tools/create-archive"),
        ("POST", "/tools/bulk-content"),
        ("POST", f"/studies/{b['study']}/modify"),
        ("POST", f"/studies/{a['study']}/modify"),
        ("POST", f"/studies/{b['study']}/anonymize"),
        ("DELETE", f"/studies/{b['study']}"),
        ("DELETE", f"/instances/{inst}"),
        ("GET", f"/studies/{b['study']}?_method=DELETE"),
        ("PUT", f"/studies/{a['study']}/metadata/1024"),
        ("GET", "/studies/00000000-00000000-00000000-00000000-00000000"),
        ("GET", "/studies/not-an-id"),
    ]


def test_every_route_to_a_forbidden_study_is_refused(pacs, orthanc, archive):
    b, a = archive["B"], archive["A"]
    bodies = {"POST": '{"Level": "Study", "Query": {}, "Expand": true}'}
    before = len(pacs.error_log().splitlines())
    for method, path in forbidden_routes(b, a):
        r = as_user(pacs, "paula", method, path, data=bodies.get(method))
        if path.startswith(f"/dicom-web/studies/{a['study_uid']}/"):
            # The allowed study passes; the plugin finds no such series
            # in it (it looks the series up below the study).
            assert r.status_code == 404, (path, r.text)
        else:
            # Refused by the module itself (by the study rules, or for
            # some routes already by the access level): never forwarded.
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["rule"] in ("OrthancProxyStudies",
                                        "OrthancProxyAccess modify"), \
                (method, path, r.text)
        # Not a byte of B's identity in any answer.
        for value in (b["study_uid"], b["series_uid"], b["sop_uid"],
                      b["study"]):
            assert value not in r.text or value in path, (method, path)
    lines = pacs.error_log().splitlines()[before:]
    assert any("refused with 403" in l and "OrthancProxyStudies" in l
               and "is not a study paula may see" in l for l in lines), lines
    # The effect: every study and instance is still in Orthanc, unmodified.
    studies = set(requests.get(orthanc.url + "/studies",
                               timeout=TIMEOUT).json())
    for name, stored in archive.items():
        assert stored["study"] in studies, name
        tags = requests.get(f"{orthanc.url}/instances/"
                            f"{stored['instances'][0]}/simplified-tags",
                            timeout=TIMEOUT).json()
        assert tags["InstitutionName"] == STUDIES[name][1]
    assert len(studies) == len(archive)


def test_archives_and_bulk_calls_check_every_resource_of_their_body(
        pacs, archive):
    a, b, c = archive["A"], archive["B"], archive["C"]
    r = as_user(pacs, "paula", "POST", "/tools/create-archive",
                json=[a["study"], c["series"]])
    assert r.status_code == 200, r.text
    assert r.content[:2] == b"PK"
    r = as_user(pacs, "paula", "POST", "/tools/create-archive",
                json={"Resources": [c["instances"][1]],
                      "Synchronous": True})
    assert r.status_code == 200, r.text
    for body in ([a["study"], b["study"]], [a["instances"][0], b["series"]],
                 {"Resources": [a["study"], b["instances"][1]]},
                 {"Resources": [b["study"]], "Asynchronous": True},
                 [a["patient"]],     # P1 also has B
                 [a["study"], "not-an-id"], [b["study"].upper()]):
        for path in ("/tools/create-archive", "/tools/create-media",
                     "/tools/bulk-content"):
            r = as_user(pacs, "paula", "POST", path, json=body)
            assert r.status_code in (403, 400), (path, body, r.text)
            assert b"PK" != r.content[:2]
            assert b["study_uid"] not in r.text
    refused_by_studies(as_user(pacs, "paula", "GET",
                               "/tools/create-archive?resources="
                               + b["study"]))


def test_archives_named_in_the_query_string_check_every_resource(
        pacs, archive):
    a, b, c = archive["A"], archive["B"], archive["C"]
    for path in ("/tools/create-archive", "/tools/create-media"):
        for query in (f"resources={b['study']}",
                      f"resources={a['study']},{b['series']}",
                      f"resources={a['patient']}",      # P1 also has B
                      f"resources={a['study']}&resources={c['study']}",
                      f"resources={a['study']}&x=%26resources%3D{b['study']}",
                      f"resources={a['study']},not-an-id",
                      "resources=", "filename=x.zip"):
            r = as_user(pacs, "paula", "GET", f"{path}?{query}")
            refused_by_studies(r)
            assert b["study_uid"] not in r.text
        r = as_user(pacs, "paula", "GET",
                    f"{path}?resources={a['study']},{c['series']}")
        if orthanc_version() >= (1, 12, 2):
            assert r.status_code == 200, r.text
            assert r.content[:2] == b"PK"
        else:
            # Orthanc before 1.12.2 has no GET form; the module let the
            # request through to it.
            assert r.status_code != 403, r.text


def wait_for_job(pacs, user, job):
    for _ in range(300):
        r = as_user(pacs, user, "GET", f"/jobs/{job}")
        assert r.status_code == 200, r.text
        if r.json()["State"] in ("Success", "Failure"):
            return r.json()
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not end")


def test_jobs_are_only_their_creators_scope(pacs, orthanc, archive):
    a, b, c = archive["A"], archive["B"], archive["C"]
    started = []
    for path, body in (("/tools/create-archive",
                        {"Resources": [a["study"], c["series"]],
                         "Asynchronous": True}),
                       (f"/studies/{a['study']}/archive",
                        {"Asynchronous": True})):
        r = as_user(pacs, "paula", "POST", path, json=body)
        assert r.status_code == 200, (path, r.text)
        job = r.json()["ID"]
        assert wait_for_job(pacs, "paula", job)["State"] == "Success"
        r = as_user(pacs, "paula", "GET", f"/jobs/{job}/archive")
        assert r.status_code == 200 and r.content[:2] == b"PK", r.text
        started.append(job)
    for job in started:
        # Another scope (smith sees C only), and unknown to every scope.
        for path in (f"/jobs/{job}", f"/jobs/{job}/archive"):
            refused_by_studies(as_user(pacs, "smith", "GET", path))
    # A job the module did not see start (Orthanc's own, or an
    # unrestricted user's) is nobody's.
    r = requests.post(f"{orthanc.url}/studies/{b['study']}/archive",
                      json={"Asynchronous": True}, timeout=TIMEOUT)
    theirs = r.json()["ID"]
    for path in (f"/jobs/{theirs}", f"/jobs/{theirs}/archive"):
        r = as_user(pacs, "paula", "GET", path)
        refused_by_studies(r)
        assert b["study_uid"] not in r.text
    # Asked for a job over a forbidden study: refused before any job.
    jobs_before = requests.get(orthanc.url + "/jobs", timeout=TIMEOUT).json()
    for path, body in (("/tools/create-archive",
                        {"Resources": [a["study"], b["series"]],
                         "Asynchronous": True}),
                       (f"/studies/{b['study']}/archive",
                        {"Asynchronous": True})):
        refused_by_studies(as_user(pacs, "paula", "POST", path, json=body))
    assert requests.get(orthanc.url + "/jobs",
                        timeout=TIMEOUT).json() == jobs_before


def test_refusals_name_the_rule_and_say_nothing_of_existence(pacs, archive):
    forbidden = refused_by_studies(as_user(
        pacs, "paula", "GET", f"/studies/{archive['B']['study']}"))
    unknown = refused_by_studies(as_user(
        pacs, "paula", "GET",
        "/studies/00000000-00000000-00000000-00000000-00000000"))
    assert forbidden["message"] == unknown["message"]


def test_a_user_in_no_group_sees_no_study(pacs, archive):
    for method, path in allowed_routes(archive["C"]):
        refused_by_studies(as_user(pacs, "olga", method, path))


def test_the_unrestricted_group_is_not_filtered(pacs, archive):
    for method, path in allowed_routes(archive["B"]):
        r = as_user(pacs, "rad", method, path)
        assert r.status_code == 200, (path, r.text)
    r = as_user(pacs, "rad", "POST", "/tools/find",
                json={"Level": "Study", "Query": {}})
    assert r.status_code == 200, r.text


def test_referrer_rule_expands_the_user_name(pacs, archive):
    r = as_user(pacs, "smith", "GET", "/studies")
    assert names_of_studies(archive, r.json()) == {"C"}
    refused_by_studies(as_user(pacs, "smith", "GET",
                               f"/studies/{archive['A']['study']}"))


@pytest.mark.skipif(orthanc_version() < (1, 12, 0),
                    reason="labels came with Orthanc 1.12")
def test_labels_choose_studies_and_changing_them_needs_admin(pacs, orthanc,
                                                             archive):
    d = archive["D"]
    assert requests.put(f"{orthanc.url}/studies/{d['study']}/labels/research",
                        timeout=TIMEOUT).status_code == 200
    try:
        r = as_user(pacs, "reese", "GET", "/studies")
        assert names_of_studies(archive, r.json()) == {"D"}
        r = as_user(pacs, "reese", "GET", f"/instances/{d['instances'][0]}/file")
        assert r.status_code == 200
        refused_by_studies(as_user(pacs, "reese", "GET",
                                   f"/studies/{archive['C']['study']}"))
        # Labelling another study for oneself: refused, and no effect.
        c = archive["C"]
        body = refused_by_studies(as_user(
            pacs, "reese", "PUT", f"/studies/{c['study']}/labels/research"))
        assert "admin" in body["message"]
        labels = requests.get(f"{orthanc.url}/studies/{c['study']}/labels",
                              timeout=TIMEOUT).json()
        assert "research" not in labels
        # Nor removing one's own label from a visible study.
        refused_by_studies(as_user(
            pacs, "reese", "DELETE", f"/studies/{d['study']}/labels/research"))
        assert "research" in requests.get(
            f"{orthanc.url}/studies/{d['study']}/labels",
            timeout=TIMEOUT).json()
    finally:
        requests.delete(f"{orthanc.url}/studies/{d['study']}/labels/research",
                        timeout=TIMEOUT)


# ------------------------------------------------------------------ cache

def test_cache_never_shares_a_list_and_never_skips_the_check(
        orthanc, accounts, archive, make_apache, workdir):
    """With OrthancProxyCache on: a list filled for one user is never
    another's, and a study's answer cached for a user who may see it is
    still refused to one who may not."""
    apache = test_cache.cached_apache(
        make_apache, orthanc, workdir, extra_modules=list(AUTH_MODULES),
        location=RULES.format(**accounts))
    b_file = f"/instances/{archive['B']['instances'][0]}/file"
    a_file = f"/instances/{archive['A']['instances'][0]}/file"
    for _ in range(3):
        r = as_user(apache, "rad", "GET", "/studies")
        assert names_of_studies(archive, r.json()) == set(STUDIES)
        r = as_user(apache, "rad", "GET", b_file)
        assert r.status_code == 200
        r = as_user(apache, "paula", "GET", "/studies")
        assert r.status_code == 200, r.text
        assert names_of_studies(archive, r.json()) == {"A", "C"}
        assert test_cache.x_cache(r) != "HIT"
        assert "no-store" in r.headers.get("Cache-Control", "")
        refused_by_studies(as_user(apache, "paula", "GET", b_file))
        r = as_user(apache, "paula", "GET", a_file)
        assert r.status_code == 200
    # rad's answers were cached: the test did exercise the cache.
    assert test_cache.x_cache(as_user(apache, "rad", "GET", b_file)) == "HIT"
    assert test_cache.x_cache(as_user(apache, "paula", "GET", a_file)) \
        == "HIT"


def questions_asked(apache, since):
    """The questions OrthancProxyStudies asked Orthanc (LogLevel
    orthanc_proxy:trace1) after SINCE, a length of the error log."""
    return [line.split("asked Orthanc ")[1]
            for line in apache.error_log()[since:].splitlines()
            if "OrthancProxyStudies: asked Orthanc" in line]


def test_decisions_are_remembered_while_the_follower_vouches_for_them(
        orthanc, accounts, make_apache, workdir):
    """With OrthancProxyCache on, what a decision read of Orthanc is kept
    between requests: asked again, the same requests ask Orthanc nothing.
    The study deleted and stored again with another institution (the same
    Orthanc IDs): every request sent more than OrthancProxyCacheMaxDelay
    later is decided on the new facts.  Labels, which change without an
    entry in Orthanc's log, are never taken from the memory."""
    apache = test_cache.cached_apache(
        make_apache, orthanc, workdir, extra_modules=list(AUTH_MODULES),
        location=RULES.format(**accounts)
        + "    LogLevel orthanc_proxy:trace1\n")
    series = new_series(2, rows=64, columns=64, label="STUDIESE")

    def store(institution):
        ids = []
        for index in range(2):
            r = requests.post(orthanc.url + "/instances", timeout=TIMEOUT,
                              data=dicom_file(series, index, "P9",
                                              institution, "jones"))
            r.raise_for_status()
            ids.append(r.json()["ID"])
        return ids

    ids = store("Partner Clinic East")
    study = requests.get(f"{orthanc.url}/instances/{ids[0]}/study",
                         timeout=TIMEOUT).json()["ID"]
    series_id = requests.get(f"{orthanc.url}/instances/{ids[1]}",
                             timeout=TIMEOUT).json()["ParentSeries"]
    paths = [f"/instances/{ids[0]}/preview", f"/series/{series_id}",
             f"/studies/{study}", f"/dicom-web/studies/{series.study_uid}"
             f"/series/{series.series_uid}/metadata"]
    try:
        # Once the follower has read the changes of the store, a fact
        # learnt now stays true.
        time.sleep(2 * MAX_DELAY)
        # Each process of Apache has its memory: once each has learnt, a
        # round of the same requests asks Orthanc nothing.
        rounds = []
        while not rounds or rounds[-1] and len(rounds) < 30:
            since = len(apache.error_log())
            for path in paths:
                r = as_user(apache, "paula", "GET", path)
                assert r.status_code == 200, (path, r.text)
            rounds.append(len(questions_asked(apache, since)))
        print(f"questions to Orthanc per round of {len(paths)} requests: "
              f"{rounds}")
        assert rounds[0] > 0 and rounds[-1] == 0, rounds

        requests.delete(f"{orthanc.url}/studies/{study}",
                        timeout=TIMEOUT).raise_for_status()
        assert store("General Hospital") == ids
        changed = time.monotonic()
        late = 0
        while time.monotonic() - changed < MAX_DELAY + 2:
            for path in paths:
                sent = time.monotonic()
                r = as_user(apache, "paula", "GET", path)
                if sent - changed > MAX_DELAY:
                    late += 1
                    refused_by_studies(r)
        assert late > 0
        r = as_user(apache, "rad", "GET", f"/studies/{study}")
        assert r.status_code == 200

        if test_cache.has_labels(orthanc):
            label = f"{orthanc.url}/studies/{study}/labels/research"
            requests.put(label, timeout=TIMEOUT).raise_for_status()
            for _ in range(2):
                r = as_user(apache, "reese", "GET", f"/studies/{study}")
                assert r.status_code == 200, r.text
            requests.delete(label, timeout=TIMEOUT).raise_for_status()
            refused_by_studies(as_user(apache, "reese", "GET",
                                       f"/studies/{study}"))
    finally:
        requests.delete(f"{orthanc.url}/studies/{study}", timeout=TIMEOUT)


# ------------------------------------------------------------------- LDAP

LDAP_MODULES = ("ldap", "authnz_ldap", "auth_basic", "authn_core",
                "authz_user")

# Three groups; lena's department names her institution.
LDAP_PEOPLE = {"lena": {"sn": "Partner",
                        "departmentNumber": "Partner Clinic North"},
               "rolf": {"sn": "Radiologist"},
               "nils": {"sn": "Nobody", "departmentNumber": "General Hospital"}}
LDAP_GROUPS = {"radiology": ["rolf"], "partners": ["lena"],
               "research": ["rolf"]}

LDAP_SITE = """
KeepAliveTimeout 1
<Location /orthanc/>
    OrthancProxy {url}/
    OrthancProxyAccess read
    AuthType Basic
    AuthName "PACS"
    AuthBasicProvider ldap
    AuthLDAPURL "{ldap}/ou=people,{suffix}?uid,departmentNumber?sub?(objectClass=inetOrgPerson)"
    AuthLDAPGroupAttribute member
    AuthLDAPGroupAttributeIsDN on
    Require valid-user
    OrthancProxyStudies "ldap-group cn=radiology,ou=groups,{suffix}" all
    OrthancProxyStudies "ldap-group cn=partners,ou=groups,{suffix}" InstitutionName=%{{{{AUTHENTICATE_DEPARTMENTNUMBER}}}}
</Location>
"""


@pytest.fixture(scope="module")
def ldap_pacs(orthanc, archive, module_dir, make_module_apache):
    import ldap_server
    server = ldap_server.LdapServer(module_dir)
    server.start()
    try:
        server.add(ldap_server.directory(LDAP_PEOPLE, LDAP_GROUPS))
        yield make_module_apache(
            LDAP_SITE.format(url=orthanc.url, ldap=server.url,
                             suffix=ldap_server.SUFFIX),
            extra_modules=LDAP_MODULES)
    finally:
        server.stop()


@pytest.mark.parametrize("user,expected", [
    ("rolf", set(STUDIES)),      # the radiology group: every study
    ("lena", {"A"}),             # her department names her institution
    ("nils", set()),             # in no group the rules name
])
def test_ldap_groups_and_attributes_choose_the_studies(ldap_pacs, archive,
                                                       user, expected):
    r = as_user(ldap_pacs, user, "GET", "/studies")
    assert r.status_code == 200, r.text
    assert names_of_studies(archive, r.json()) == expected
    r = as_user(ldap_pacs, user, "GET", "/dicom-web/studies",
                headers={"Accept": "application/dicom+json"})
    uids = {v["study_uid"]: k for k, v in archive.items()}
    assert {uids.get(i["0020000D"]["Value"][0]) for i in r.json()} \
        == expected
    for name, stored in archive.items():
        r = as_user(ldap_pacs, user, "GET",
                    f"/instances/{stored['instances'][0]}/file")
        if name in expected:
            assert r.status_code == 200, (name, r.text)
        else:
            refused_by_studies(r)
