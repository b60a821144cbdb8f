# SPDX-License-Identifier: Apache-2.0
"""Several Apache front ends with OrthancProxyCache in front of one Orthanc
(README, "Scale out"): each keeps its own mod_cache and its own generation
counters, kept fresh by its own change follower; nothing is shared between
them.  A change made through one front end is fresh there at once and on
the other within OrthancProxyCacheMaxDelay; a change made straight on
Orthanc is fresh on both within it.

pytest -s prints the delays measured.
"""

import time

import pytest
import requests

import ct_series
from test_cache import CACHE_MODULES, MAX_DELAY, cache_dir, cache_site, \
    fresh_within, wait_for_follower, warm

ORTHANC_OPTIONS = {"settings": {"UserMetadata": {"Sample": 1024}}}


@pytest.fixture(scope="module")
def fronts(orthanc, make_module_apache, module_dir):
    made = []
    for name in ("front-a", "front-b"):
        apache = make_module_apache(cache_site(orthanc.url,
                                               cache_dir(module_dir)),
                                    name=name, extra_modules=CACHE_MODULES)
        made.append(apache)
    for apache in made:
        wait_for_follower(apache)
    return made


def series_of(orthanc, label, slices=3, stored=2):
    description = ct_series.new_series(slices, 64, 64, label=label)
    answers = [orthanc.upload(ct_series.instance_bytes(description, i))
               for i in range(stored)]
    return description, answers


def urls_of(front, description, answers):
    base = f"{front.url}/orthanc"
    dicomweb = (f"{base}/dicom-web/studies/{description.study_uid}/series/"
                f"{description.series_uid}")
    return {
        "preview": f"{base}/instances/{answers[0]['ID']}/preview",
        "metadata": f"{base}/instances/{answers[1]['ID']}/metadata/Sample",
        "series": f"{dicomweb}/metadata",
        "instances": f"{dicomweb}/instances",
    }


def sops(response):
    return {item["00080018"]["Value"][0] for item in response.json()}


@pytest.mark.parametrize("where", ["through front end A", "straight on Orthanc"])
def test_a_change_is_fresh_on_every_front_end(orthanc, fronts, where):
    a, b = fronts
    description, answers = series_of(orthanc, "FRONTS" + where.split()[-1])
    direct = f"{orthanc.url}/instances/{answers[1]['ID']}/metadata/Sample"
    assert requests.put(direct, data="old").ok
    sessions = [requests.Session() for _ in fronts]
    urls = [urls_of(front, description, answers) for front in fronts]
    for session, front_urls in zip(sessions, urls):
        warm(session, list(front_urls.values()))
    # Three changes: a deletion, a new instance, a metadata change.
    if where == "through front end A":
        base = f"{a.url}/orthanc"
        assert requests.delete(f"{base}/instances/{answers[0]['ID']}").ok
        assert requests.post(f"{base}/instances", data=ct_series.instance_bytes(
            description, 2)).ok
        assert requests.put(f"{base}/instances/{answers[1]['ID']}/metadata/"
                            f"Sample", data="new").ok
    else:
        assert requests.delete(f"{orthanc.url}/instances/"
                               f"{answers[0]['ID']}").ok
        orthanc.upload(ct_series.instance_bytes(description, 2))
        assert requests.put(direct, data="new").ok
    changed = time.monotonic()
    expected = set(description.sop_uids[1:])
    delays = []
    for session, front_urls in zip(sessions, urls):
        delays.append(fresh_within(session, {
            front_urls["preview"]: lambda r: r.status_code == 404,
            front_urls["metadata"]: lambda r: r.text == "new",
            front_urls["series"]: lambda r: r.status_code == 200
            and sops(r) == expected,
            front_urls["instances"]: lambda r: r.status_code == 200
            and sops(r) == expected,
        }, changed))
    print(f"{where}: fresh on A {delays[0]:.3f} s, on B {delays[1]:.3f} s "
          f"after the changes (limit {MAX_DELAY} s)")
    for session in sessions:
        session.close()


def test_front_ends_share_nothing(fronts):
    """Each front end has its own counters: their keys differ (another
    epoch), so a mod_cache store shared by mistake could not mix them."""
    a, b = fronts
    etags = set()
    for front in fronts:
        with requests.Session() as session:
            r = warm(session, [f"{front.url}/orthanc/dicom-web/studies"])
            etags.add(list(r.values())[0].headers["ETag"])
    assert len(etags) == 2
