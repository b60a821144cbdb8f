# SPDX-License-Identifier: Apache-2.0
"""OrthancProxyCache: Orthanc's answers kept by a real mod_cache, fresh again
at most OrthancProxyCacheMaxDelay (1 s) after Orthanc's data changed, and
never given to a client the access policy refuses.

Each staleness test warms the cache first (the second request is a hit,
which X-Cache shows: CacheHeader on), then changes Orthanc's data - straight
on Orthanc, behind the proxy's back, unless the test says otherwise - and
checks every answer again until it is fresh.  The delay measured is printed
(pytest -s); the test fails if an answer is still stale 1 s after the change.
"""

import os
import re
import subprocess
import tempfile
import time

import pytest
import requests

import ct_series
import test_memcheck
from harness import browser_dom

# mod_slotmem_shm holds the generation counters.
CACHE_MODULES = ["cache", "cache_disk", "cache_socache", "socache_shmcb",
                 "slotmem_shm"]
MAX_DELAY = 1.0
SLICES = 4

# The module's Orthanc logs every request it receives (RECORDING_FILTER) and
# knows a user metadata.
ORTHANC_OPTIONS = {"record": True,
                   "settings": {"UserMetadata": {"Sample": 1024},
                                "UserContentType": {"sample": 1025}}}


def cache_dir(workdir):
    """A directory Apache's children (nobody) can write mod_cache_disk's
    files into."""
    path = tempfile.mkdtemp(prefix="cache-", dir=workdir)
    os.chmod(path, 0o777)
    return path


def cache_site(orthanc_url, root, location="", server="", enable="disk"):
    return f"""
CacheQuickHandler Off
CacheRoot "{root}"
CacheEnable {enable} /orthanc/
CacheHeader on
CacheMaxFileSize 100000000
CacheDirLevels 2
CacheDirLength 1
{server}
OrthancProxy /orthanc/ {orthanc_url}/
<Location /orthanc/>
    OrthancProxyCache on
    {location}
</Location>
"""


def wait_for_follower(apache, timeout=15):
    """Until the change follower completed its first pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "OrthancProxyCache: following the changes" in apache.error_log():
            return
        time.sleep(0.05)
    raise AssertionError("the change follower did not start:\n"
                         + apache.error_log())


def cached_apache(make_apache, orthanc, workdir, **kwargs):
    modules = kwargs.pop("extra_modules", [])
    apache = make_apache(cache_site(orthanc.url, cache_dir(workdir), **kwargs),
                         extra_modules=CACHE_MODULES + modules)
    wait_for_follower(apache)
    return apache


def x_cache(response):
    return response.headers.get("X-Cache", "").split(" ")[0]


def has_labels(orthanc):
    """Orthanc 1.12 and later: answers that show labels (resources, lists of
    resources, the label routes) are never taken from the cache there, as
    Orthanc logs no change of a label."""
    return requests.get(orthanc.url + "/system", timeout=30).json().get(
        "HasLabels", False)


def warm(session, urls, uncached=(), **kwargs):
    """Requests each URL until it comes from the cache; its first answer.
    The URLs in UNCACHED must come from Orthanc instead, every time."""
    first = {}
    for url in urls:
        if url in uncached:
            r = session.get(url, **kwargs)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
            assert x_cache(r) != "HIT", f"{url} came from the cache"
            first[url] = r
            continue
        # A loaded machine can hold the follower back: requests then bypass
        # the cache until it is in step again.
        deadline = time.monotonic() + 20
        while True:
            r = session.get(url, **kwargs)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
            first.setdefault(url, r)
            if x_cache(r) == "HIT":
                break
            assert time.monotonic() < deadline, f"{url} never came from the cache"
            time.sleep(0.05)
    return first


def fresh_within(session, checks, changed_at, limit=MAX_DELAY):
    """Polls CHECKS ({url: predicate(response)}) until every answer is
    fresh; the delay after CHANGED_AT.  Every answer must be fresh once
    LIMIT seconds have passed."""
    stale = dict(checks)
    delay = None
    while time.monotonic() - changed_at < limit + 0.2:
        elapsed = time.monotonic() - changed_at
        for url, fresh in list(stale.items()):
            r = session.get(url)
            if fresh(r):
                del stale[url]
            elif elapsed >= limit:
                raise AssertionError(f"{url} still stale {elapsed:.2f} s after "
                                     f"the change: {r.status_code} {x_cache(r)}")
        if not stale:
            delay = time.monotonic() - changed_at
            break
        time.sleep(0.02)
    assert not stale, f"stale after {limit} s: {sorted(stale)}"
    print(f"fresh {delay:.3f} s after the change")
    return delay


@pytest.fixture(scope="module")
def series(orthanc):
    """A CT series of SLICES 64 x 64 slices, the last one held back."""
    description = ct_series.new_series(SLICES, rows=64, columns=64,
                                       label="CACHEE2E")
    ids = []
    for index in range(SLICES - 1):
        ids.append(orthanc.upload(ct_series.instance_bytes(description, index)))
    return description, ids


@pytest.fixture
def apache(make_apache, orthanc, workdir):
    return cached_apache(make_apache, orthanc, workdir)


def own_instance(orthanc, label, slices=2, seed=0):
    """A separate small series stored straight into Orthanc: its
    description and Orthanc's answers."""
    description = ct_series.new_series(slices, rows=64, columns=64,
                                       label=label)
    answers = [orthanc.upload(ct_series.instance_bytes(description, i, seed))
               for i in range(slices)]
    return description, answers


# ------------------------------------------------------------- configtest

def assert_configtest(apache, expected):
    """configtest passes when EXPECTED is None, else fails saying it."""
    status, output = apache.configtest()
    if expected is None:
        assert status == 0, output
    else:
        assert status != 0
        assert re.search(expected, output), output


@pytest.mark.parametrize("server, expected", [
    ("", "OrthancProxyCache on (.*) needs CacheQuickHandler Off in the main "
         "server: mod_cache's quick handler answers from the cache before "
         "authentication, Require and OrthancProxyAccess"),
    ("CacheQuickHandler On", "needs CacheQuickHandler Off in the main server"),
    ("CacheQuickHandler Off", None),
    ("CacheQuickHandler On\nCacheQuickHandler off", None),
])
def test_configtest_refuses_mod_cache_quick_handler(orthanc, make_apache,
                                                    workdir, server, expected):
    site = cache_site(orthanc.url, cache_dir(workdir)).replace(
        "CacheQuickHandler Off\n", server + "\n")
    apache = make_apache(site, start=False, extra_modules=CACHE_MODULES)
    assert_configtest(apache, expected)


def test_configtest_names_the_virtual_host_that_runs_the_quick_handler(
        orthanc, make_apache, workdir):
    site = cache_site(orthanc.url, cache_dir(workdir)) + """
<VirtualHost 127.0.0.1:{port}>
    ServerName other.example
    CacheQuickHandler On
</VirtualHost>
"""
    apache = make_apache(site, start=False, extra_modules=CACHE_MODULES)
    status, output = apache.configtest()
    assert status != 0
    assert re.search(r"needs CacheQuickHandler Off in the <VirtualHost> at "
                     r"\S+httpd.conf:\d+", output), output


@pytest.mark.parametrize("change, expected", [
    (lambda site: site.replace("CacheEnable disk /orthanc/\n", ""),
     None),
    # An https:// backend: the follower trusts what mod_ssl trusts ...
    (lambda site: site.replace("OrthancProxy /orthanc/ http://",
                               "OrthancProxy /orthanc/ https://"),
     None),
    # ... which it must be able to do.
    (lambda site: site.replace("OrthancProxy /orthanc/ http://",
                               "OrthancProxy /orthanc/ https://")
     + "SSLProxyMachineCertificatePath /etc/ssl/private\n",
     r"OrthancProxyCache on \(.*\) covers OrthancProxy /orthanc/ https://.*: "
     r"SSLProxyMachineCertificatePath \(.*\) has no equivalent in the change "
     r"follower's HTTP client \(libcurl\)"),
    # Obsolete, ignored (a warning when Apache starts).
    (lambda site: site + "OrthancProxyCacheStore dbm:/tmp/x\n", None),
    (lambda site: site + "OrthancProxyCacheMaxDelay 100ms\n",
     "not a time between 400ms and 3600"),
    (lambda site: site.replace("OrthancProxyCache on",
                               "OrthancProxyCacheMaxAge 10 x"),
     "'x' is not a number of seconds"),
])
def test_configtest_checks_the_cache_settings(orthanc, make_apache, workdir,
                                              change, expected):
    site = change(cache_site(orthanc.url, cache_dir(workdir)))
    apache = make_apache(site, start=False,
                         extra_modules=CACHE_MODULES + ["ssl"])
    assert_configtest(apache, expected)


def test_configtest_needs_mod_slotmem_shm(orthanc, make_apache, workdir):
    apache = make_apache(cache_site(orthanc.url, cache_dir(workdir)),
                         start=False, extra_modules=[
                             m for m in CACHE_MODULES if m != "slotmem_shm"])
    assert_configtest(apache, r"OrthancProxyCache on needs mod_slotmem_shm, "
                      r"where it keeps its generation counters \(Debian: "
                      r"a2enmod slotmem_shm\)")


def test_configtest_needs_mod_cache(orthanc, make_apache, workdir):
    site = f"OrthancProxy /orthanc/ {orthanc.url}/\nOrthancProxyCache on\n"
    apache = make_apache(site, start=False)
    status, output = apache.configtest()
    assert status != 0
    assert "OrthancProxyCache on needs mod_cache and a storage provider " \
           "(Debian: a2enmod cache cache_disk)" in output, output


# ------------------------------------------------------------- hits

def test_answers_come_from_the_cache_and_browsers_revalidate(orthanc, series,
                                                              apache):
    _, answers = series
    instance = answers[0]["ID"]
    url = f"{apache.url}/orthanc/instances/{instance}/preview"
    with requests.Session() as session:
        seen_before = len(orthanc.seen_requests())
        first = session.get(url)
        second = session.get(url)
        assert (x_cache(first), x_cache(second)) == ("MISS", "HIT")
        assert first.content == second.content
        assert first.headers["Content-Type"] == "image/png"
        etag = second.headers["ETag"]
        assert re.fullmatch(r'"op-[0-9a-f]{16}"', etag)
        assert second.headers["Cache-Control"] == "no-cache"
        again = session.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == "no-cache"
        assert again.content == b""
    # Orthanc computed the preview once.
    previews = [s for s in orthanc.seen_requests()[seen_before:]
                if s["uri"].endswith("/preview")]
    assert len(previews) == 1, previews


def test_uncacheable_routes_always_reach_orthanc(orthanc, apache):
    with requests.Session() as session:
        for _ in range(2):
            r = session.get(apache.url + "/orthanc/changes?limit=1")
            assert r.status_code == 200
            assert x_cache(r) == "MISS"
            assert "ETag" not in r.headers


def test_other_urls_keep_mod_caches_own_keys(orthanc, make_apache, workdir):
    """The module supplies mod_cache's key generator: URLs it does not map
    get keys of mod_cache's own form, one per path and query."""
    root = cache_dir(workdir)
    site = cache_site(orthanc.url, root) + """
CacheEnable disk /static/
<Location /static/>
    ExpiresActive On
    ExpiresDefault "access plus 10 minutes"
</Location>
LogLevel cache:debug
"""
    apache = make_apache(site, extra_modules=CACHE_MODULES + ["expires"])
    os.makedirs(os.path.join(apache.docroot, "static"))
    for name in ("a", "b"):
        path = os.path.join(apache.docroot, "static", name)
        with open(path, "w") as f:
            f.write(f"file {name}\n")
        os.chmod(path, 0o644)
    with requests.Session() as session:
        for name in ("a", "b", "a?x=1", "a?x=2"):
            url = f"{apache.url}/static/{name}"
            assert [x_cache(session.get(url)) for _ in range(2)] \
                == ["MISS", "HIT"], name
            assert session.get(url).text == f"file {name[0]}\n"
    assert f"Caching url http://127.0.0.1:{apache.port}/static/a?x=1 " \
           in apache.error_log()


# ------------------------------------------------------------- staleness

def test_a_deleted_instance_is_gone_within_a_second(orthanc, apache):
    description, answers = own_instance(orthanc, "DELETED")
    instance = answers[0]["ID"]
    study, serie, sop = (description.study_uid, description.series_uid,
                         description.sop_uids[0])
    base = f"{apache.url}/orthanc"
    urls = [f"{base}/instances/{instance}/{part}" for part in
            ("file", "preview", "rendered", "frames/0/rendered",
             "frames/0/raw", "tags?simplify")]
    urls += [f"{base}/dicom-web/studies/{study}/series/{serie}/instances/"
             f"{sop}/{part}" for part in ("frames/1", "metadata", "rendered")]
    with requests.Session() as session:
        warm(session, urls)
        r = requests.delete(f"{orthanc.url}/instances/{instance}")
        assert r.status_code == 200
        changed = time.monotonic()
        fresh_within(session, {url: lambda r: r.status_code == 404
                               for url in urls}, changed)


def test_an_instance_sent_again_with_other_pixels(orthanc, apache):
    description, answers = own_instance(orthanc, "RESENT")
    instance = answers[0]["ID"]
    base = f"{apache.url}/orthanc"
    frame = (f"{base}/dicom-web/studies/{description.study_uid}/series/"
             f"{description.series_uid}/instances/{description.sop_uids[0]}"
             f"/frames/1")
    urls = [f"{base}/instances/{instance}/file",
            f"{base}/instances/{instance}/preview", frame]
    with requests.Session() as session:
        old = {url: r.content for url, r in warm(session, urls).items()}
        new_file = ct_series.instance_bytes(description, 0, seed=1)
        assert requests.delete(f"{orthanc.url}/instances/{instance}").ok
        again = orthanc.upload(new_file)
        assert again["ID"] == instance
        changed = time.monotonic()
        fresh_within(session, {
            urls[0]: lambda r: r.status_code == 200 and r.content == new_file,
            urls[1]: lambda r: r.status_code == 200 and r.content != old[urls[1]],
            urls[2]: lambda r: r.status_code == 200 and r.content != old[urls[2]],
        }, changed)
    # The new preview is Orthanc's.
    assert requests.get(urls[1]).content == requests.get(
        f"{orthanc.url}/instances/{instance}/preview").content


def test_a_new_instance_appears_in_its_series_and_queries(orthanc, series,
                                                          apache):
    description, answers = series
    series_id = answers[0]["ParentSeries"]
    study, serie = description.study_uid, description.series_uid
    base = f"{apache.url}/orthanc"
    dicomweb = f"{base}/dicom-web"
    count = {
        f"{base}/series/{series_id}": lambda j: len(j["Instances"]),
        f"{base}/series/{series_id}/instances": len,
        f"{base}/studies/{answers[0]['ParentStudy']}/instances": len,
        f"{dicomweb}/studies/{study}/series/{serie}/metadata": len,
        f"{dicomweb}/studies/{study}/series/{serie}/instances": len,
        f"{dicomweb}/instances?SeriesInstanceUID={serie}": len,
        # QIDO's count of the study's instances (0020,1208).
        f"{dicomweb}/studies?StudyInstanceUID={study}"
        f"&includefield=00201208":
            lambda j: int(j[0]["00201208"]["Value"][0]),
    }
    labelled = [f"{base}/series/{series_id}",
                f"{base}/series/{series_id}/instances",
                f"{base}/studies/{answers[0]['ParentStudy']}/instances"]
    with requests.Session() as session:
        warm(session, count, labelled if has_labels(orthanc) else ())
        for url, number in count.items():
            assert number(session.get(url).json()) == SLICES - 1, url
        orthanc.upload(ct_series.instance_bytes(description, SLICES - 1))
        changed = time.monotonic()
        fresh_within(session, {
            url: (lambda number: lambda r: r.status_code == 200
                  and number(r.json()) == SLICES)(number)
            for url, number in count.items()}, changed)


def test_a_metadata_change_is_visible(orthanc, series, apache):
    _, answers = series
    instance = answers[1]["ID"]
    direct = f"{orthanc.url}/instances/{instance}/metadata/Sample"
    url = f"{apache.url}/orthanc/instances/{instance}/metadata/Sample"
    assert requests.put(direct, data="first").ok
    with requests.Session() as session:
        warm(session, [url])
        assert session.get(url).text == "first"
        # Straight to Orthanc: the change log says so within a second.
        assert requests.put(direct, data="second").ok
        fresh_within(session, {url: lambda r: r.text == "second"},
                     time.monotonic())
        # Through the proxy: fresh at once.
        warm(session, [url])
        assert session.put(url, data="third").ok
        assert session.get(url).text == "third"


def test_an_attachment_change_is_visible(orthanc, series, apache):
    _, answers = series
    instance = answers[1]["ID"]
    direct = f"{orthanc.url}/instances/{instance}/attachments/sample"
    url = f"{apache.url}/orthanc/instances/{instance}/attachments/sample/data"
    listing = f"{apache.url}/orthanc/instances/{instance}/attachments"
    assert requests.put(direct, data="first").ok
    with requests.Session() as session:
        warm(session, [url, listing])
        assert session.get(url).text == "first"
        assert requests.put(direct, data="second").ok
        fresh_within(session, {url: lambda r: r.text == "second"},
                     time.monotonic())
        assert requests.delete(direct).ok
        fresh_within(session, {
            url: lambda r: r.status_code == 404,
            listing: lambda r: "sample" not in r.json()}, time.monotonic())


def test_orthancs_own_validators_keep_working(orthanc, make_apache, workdir):
    """Orthanc (>= 1.9.2) sends its own ETag (revision and MD5) on metadata
    and attachments and parses If-None-Match and If-Match there, answering
    400 to a tag that is not its own: the cached answer keeps Orthanc's tag,
    so a browser's revalidation, mod_cache's own once s-maxage passed, and
    a conditional write through the proxy all work; a tag of the module's
    never reaches Orthanc."""
    apache = cached_apache(make_apache, orthanc, workdir,
                           location="OrthancProxyCacheMaxAge 1")
    _, answers = own_instance(orthanc, "VALIDATORS", slices=1)
    instance = answers[0]["ID"]
    for part, data in (("metadata/Sample", "v1"),
                       ("attachments/sample", "a1")):
        assert requests.put(f"{orthanc.url}/instances/{instance}/{part}",
                            data=data).ok
    metadata = f"{apache.url}/orthanc/instances/{instance}/metadata/Sample"
    attachment = f"{apache.url}/orthanc/instances/{instance}/attachments/" \
                 f"sample/data"
    with requests.Session() as session:
        for url in (metadata, attachment):
            warm(session, [url])
            theirs = requests.get(url.replace(f"{apache.url}/orthanc",
                                              orthanc.url)).headers["ETag"]
            # From the cache, or revalidated (s-maxage is 1 s here).
            cached = session.get(url)
            assert x_cache(cached) in ("HIT", "REVALIDATE"), cached.headers
            assert cached.headers["ETag"] == theirs, (url, cached.headers)
            # A browser revalidates: 304 (from the cache, or from Orthanc
            # through mod_cache's revalidation).
            r = session.get(url, headers={"If-None-Match": theirs})
            assert r.status_code == 304, (url, r.status_code, r.text)
            # A tag of the module's (an older release gave them out).
            r = session.get(url, headers={"If-None-Match":
                                          '"op-0123456789abcdef"'})
            assert r.status_code == 200, (url, r.status_code, r.text)
        theirs = session.get(metadata).headers["ETag"]
        # A conditional write through the proxy.
        r = session.put(metadata, data="v2", headers={"If-Match": theirs})
        assert r.status_code == 200, r.text
        # Revalidating with the old tag gets the new value.
        r = session.get(metadata, headers={"If-None-Match": theirs})
        assert (r.status_code, r.text) == (200, "v2"), r.text
        # mod_cache revalidates with Orthanc once s-maxage (1 s) passed.
        warm(session, [metadata])
        time.sleep(2)
        r = session.get(metadata)
        assert (r.status_code, r.text) == (200, "v2"), (r.status_code, r.text)
        assert r.headers["ETag"] != theirs


def test_a_label_change_is_visible(orthanc, series, apache):
    _, answers = series
    instance = answers[2]["ID"]
    labels = f"{orthanc.url}/instances/{instance}/labels"
    if requests.get(labels).status_code == 404:
        pytest.skip("this Orthanc has no labels (they came with 1.12)")
    url = f"{apache.url}/orthanc/instances/{instance}/labels"
    shown = f"{apache.url}/orthanc/instances/{instance}"
    with requests.Session() as session:
        # Never from the cache: Orthanc logs no change of a label.
        warm(session, [url, shown], uncached=[url, shown])
        assert requests.put(f"{labels}/cached").ok
        r = session.get(url)
        assert "cached" in r.json() and x_cache(r) != "HIT", r.text
        r = session.get(shown)
        assert "cached" in r.json()["Labels"] and x_cache(r) != "HIT", r.text


def test_a_deletion_through_the_proxy_is_fresh_at_once(orthanc, apache):
    _, answers = own_instance(orthanc, "PROXYDELETE")
    instance = answers[0]["ID"]
    url = f"{apache.url}/orthanc/instances/{instance}/preview"
    with requests.Session() as session:
        warm(session, [url])
        assert session.delete(f"{apache.url}/orthanc/instances/{instance}").ok
        assert session.get(url).status_code == 404


def test_the_cache_is_off_while_orthanc_cannot_be_followed(make_orthanc,
                                                           make_apache,
                                                           workdir):
    """A follower that cannot read the change log cannot vouch for the
    cache: answers then come from Orthanc, never from the cache."""
    own = make_orthanc(name="paused")
    answer = own.upload(ct_series.instance_bytes(
        ct_series.new_series(1, 64, 64, label="PAUSED"), 0))
    apache = cached_apache(make_apache, own, workdir)
    url = f"{apache.url}/orthanc/instances/{answer['ID']}/preview"
    with requests.Session() as session:
        warm(session, [url])
        own.stop()
        time.sleep(MAX_DELAY + 0.3)
        r = session.get(url)
        # Orthanc's answer, an error: not the preview the cache holds.
        assert r.status_code == 503, r.status_code
        assert r.headers["Content-Type"].startswith("application/json")
    assert "cannot follow the changes of" in apache.error_log()


# ------------------------------------------------------------- policy

POLICY = """
    Require expr "%{{HTTP:X-Role}} == 'viewer'"
    <If "%{{HTTP:X-Rule}} == 'deny'">
        OrthancProxyDeny GET /instances/**
    </If>
    OrthancProxyAccess read
"""


def test_a_refused_client_never_gets_the_cached_answer(orthanc, series,
                                                       make_apache, workdir):
    apache = cached_apache(make_apache, orthanc, workdir, location=POLICY)
    _, answers = series
    instance = answers[0]["ID"]
    url = f"{apache.url}/orthanc/instances/{instance}/preview"
    viewer = {"X-Role": "viewer"}
    with requests.Session() as session:
        cached = warm(session, [url], headers=viewer)[url].content
        # Require: the client is not a viewer.
        r = session.get(url)
        assert r.status_code == 403 and r.content != cached
        # A rule.
        r = session.get(url, headers={**viewer, "X-Rule": "deny"})
        assert r.status_code == 403 and r.content != cached
        assert r.json()["rule"] == "OrthancProxyDeny GET /instances/**"
        # The level: the same URL asked as a DELETE (method override).
        r = session.get(url + "?_method=DELETE", headers=viewer)
        assert r.status_code == 403 and r.content != cached
        assert "needs OrthancProxyAccess admin" in r.json()["message"]
        # The viewer still gets it from the cache.
        r = session.get(url, headers=viewer)
        assert r.status_code == 200 and x_cache(r) == "HIT"
    assert requests.get(f"{orthanc.url}/instances/{instance}").ok


# Orthanc's authorization, played by a Lua filter: bob may not see previews.
AUTHORIZATION = """
function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  if httpHeaders['x-remote-user'] == 'bob' and string.find(uri, '/preview') then
    return false
  end
  return true
end
"""

USERS = """
    AuthType Basic
    AuthName "PACS"
    AuthUserFile "{htpasswd}"
    Require valid-user
    OrthancProxyUserHeader X-Remote-User
"""


def test_users_never_get_each_others_answers(make_orthanc, make_apache,
                                             workdir):
    lua = os.path.join(workdir, "authorization.lua")
    with open(lua, "w") as f:
        f.write(AUTHORIZATION)
    own = make_orthanc(name="authz", settings={"LuaScripts": [lua]})
    answer = own.upload(ct_series.instance_bytes(
        ct_series.new_series(1, 64, 64, label="USERS"), 0))
    htpasswd = os.path.join(workdir, "users")
    for user in ("alice", "bob"):
        subprocess.run(["htpasswd", "-b" + ("c" if user == "alice" else ""),
                        htpasswd, user, user + "-pw"], check=True,
                       capture_output=True)
    os.chmod(htpasswd, 0o644)
    apache = cached_apache(
        make_apache, own, workdir, location=USERS.format(htpasswd=htpasswd),
        extra_modules=["auth_basic", "authn_core", "authn_file", "authz_user"])
    base = f"{apache.url}/orthanc/instances/{answer['ID']}"
    alice, bob = ("alice", "alice-pw"), ("bob", "bob-pw")
    with requests.Session() as session:
        preview = warm(session, [base + "/preview"], auth=alice)
        assert session.get(base + "/preview", auth=alice).headers[
            "Cache-Control"] == "private, no-cache"
        # Orthanc refuses bob: he never gets alice's cached preview.
        for _ in range(2):
            r = session.get(base + "/preview", auth=bob)
            assert r.status_code == 403
            assert r.content != preview[base + "/preview"].content
        # Answers Orthanc gives both are kept for each of them apart.
        warm(session, [base + "/file"], auth=alice)
        assert x_cache(session.get(base + "/file", auth=bob)) == "MISS"
        assert x_cache(session.get(base + "/file", auth=bob)) == "HIT"


# ------------------------------------------------------------- browser

def settled(orthanc, series_id):
    """Until Orthanc marked the series, its study and patient stable
    (StableAge, 1 s here) and the follower renewed their tokens: those
    changes must not fall between two loads of a page."""
    study = requests.get(f"{orthanc.url}/series/{series_id}").json()["ParentStudy"]
    patient = requests.get(f"{orthanc.url}/studies/{study}").json()["ParentPatient"]
    deadline = time.monotonic() + 30
    for path in (f"/series/{series_id}", f"/studies/{study}",
                 f"/patients/{patient}"):
        while not requests.get(orthanc.url + path).json()["IsStable"]:
            assert time.monotonic() < deadline, f"{path} never became stable"
            time.sleep(0.1)
    time.sleep(MAX_DELAY)


PAGE = """<!DOCTYPE html>
<html><body><p id="state">loading</p><div id="images"></div>
<script>
(async () => {
  const series = await (await fetch('/orthanc/series/SERIES')).json();
  const loads = series.Instances.map(id => new Promise(done => {
    const img = new Image();
    img.onload = () => done(true);
    img.onerror = () => done(false);
    img.src = '/orthanc/instances/' + id + '/preview';
    document.getElementById('images').appendChild(img);
  }));
  const ok = (await Promise.all(loads)).filter(x => x).length;
  document.getElementById('state').textContent = 'loaded ' + ok;
})();
</script></body></html>
"""


def test_a_browser_loads_a_series_twice_and_orthanc_renders_once(
        orthanc, series, apache, workdir):
    _, answers = series
    series_id = answers[0]["ParentSeries"]
    page = os.path.join(apache.docroot, "series.html")
    with open(page, "w") as f:
        f.write(PAGE.replace("SERIES", series_id))
    os.chmod(page, 0o644)
    expected = len(requests.get(f"{orthanc.url}/series/{series_id}")
                   .json()["Instances"])
    profile = os.path.join(workdir, "profile")
    settled(orthanc, series_id)

    def previews_seen():
        return [s for s in orthanc.seen_requests()
                if s["uri"].endswith("/preview")]

    before = len(previews_seen())
    dom = browser_dom(apache.url + "/series.html", workdir, profile=profile)
    assert f"loaded {expected}" in dom, dom
    first = len(previews_seen()) - before
    assert first == expected
    log_lines = len(apache.access_log().splitlines())
    dom = browser_dom(apache.url + "/series.html", workdir, profile=profile)
    assert f"loaded {expected}" in dom, dom
    # Orthanc rendered no preview for the second load ...
    assert len(previews_seen()) - before == first
    # ... which asked Apache at most conditionally: 304 from mod_cache.
    second = [line for line in apache.access_log().splitlines()[log_lines:]
              if "/preview" in line]
    assert all(re.search(r'" 304 ', line) for line in second), second
    print(f"second load: {len(second)} conditional requests for "
          f"{expected} previews, all 304")


def test_the_demo_app_twice_and_orthanc_sees_nothing_the_second_time(
        orthanc, series, apache, workdir):
    """The demo application (demo/www): patients, studies, series and one
    preview per series.  Loaded again in the same browser, every answer is
    revalidated with mod_cache: no request of the page reaches Orthanc."""
    import shutil
    from harness import SRCDIR
    shutil.copytree(os.path.join(SRCDIR, "demo", "www"), apache.docroot,
                    dirs_exist_ok=True)
    for directory, _, files in os.walk(apache.docroot):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
    _, answers = series
    page = f"{apache.url}/#study={answers[0]['ParentStudy']}"
    profile = os.path.join(workdir, "demo-profile")
    settled(orthanc, answers[0]["ParentSeries"])

    def proxied():
        # The follower's own requests to Orthanc carry no Forwarded header.
        return [s for s in orthanc.seen_requests()
                if "forwarded" in s["headers"]]

    before = len(proxied())
    dom = browser_dom(page, workdir, profile=profile)
    assert "/preview" in dom and "No preview" not in dom, dom
    first = proxied()[before:]
    assert any(s["uri"].endswith("/preview") for s in first), first
    between = len(proxied())
    dom = browser_dom(page, workdir, profile=profile)
    assert "/preview" in dom
    second = proxied()[between:]
    if has_labels(orthanc):
        # The lists and resources the page reads show labels there: they
        # come from Orthanc every time; nothing else does.
        assert all(re.fullmatch(r"/(patients|studies|series|instances)"
                                r"(/[^/]+(/(series|instances))?)?", s["uri"])
                   for s in second), second
        assert not any(s["uri"].endswith("/preview") for s in second), second
    else:
        assert second == []
    print(f"first load: {len(first)} requests reached Orthanc; second: "
          f"{len(second)}")


# ------------------------------------------------------------- bounds

def directory_size(path):
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(directory, name))
            except OSError:
                pass
    return total


def test_the_disk_cache_stays_within_its_limit(orthanc, make_apache, workdir):
    """More distinct answers than the limit holds; htcacheclean (run here
    once a second; in production as a daemon, -d) keeps the cache under
    it, and every answer stays Orthanc's."""
    _, answers = own_instance(orthanc, "BOUNDED", slices=12)
    apache = cached_apache(make_apache, orthanc, workdir)
    limit = 64 * 1024
    urls = [f"/instances/{a['ID']}/{part}" for a in answers
            for part in ("file", "preview", "frames/0/raw")]
    root = re.search(r'CacheRoot "([^"]+)"', apache.config).group(1)
    sizes = []
    with requests.Session() as session:
        for round_ in range(2):
            for path in urls:
                r = session.get(f"{apache.url}/orthanc{path}")
                assert r.status_code == 200
                assert r.content == requests.get(orthanc.url + path).content
            written = directory_size(root)
            subprocess.run(["htcacheclean", "-t", "-p", root, "-l",
                            f"{limit // 1024}K"], check=True)
            sizes.append((written, directory_size(root)))
    print("cache bytes before and after htcacheclean:", sizes)
    assert all(written > 2 * limit for written, _ in sizes)
    assert all(after <= limit for _, after in sizes)


def test_a_small_socache_stays_correct(orthanc, make_apache, workdir):
    """Answers in a 256 KiB shmcb (mod_cache_socache): far more answers
    than it holds.  Evictions cost hits, never correctness, and a deletion
    is still seen."""
    _, answers = own_instance(orthanc, "SMALLSTORE", slices=12)
    store = os.path.join(workdir, "stores")
    os.makedirs(store)
    os.chmod(store, 0o777)
    apache = cached_apache(
        make_apache, orthanc, workdir, enable="socache",
        server=f'CacheSocache "shmcb:{store}/answers(262144)"\n'
               f'CacheSocacheMaxSize 200000\n')
    urls = [f"/instances/{a['ID']}/{part}" for a in answers
            for part in ("file", "preview", "tags", "frames/0/raw")]
    with requests.Session() as session:
        for _ in range(3):
            for path in urls:
                r = session.get(f"{apache.url}/orthanc{path}")
                assert r.status_code == 200
                assert r.content == requests.get(orthanc.url + path).content
        victim = answers[-1]["ID"]
        preview = f"{apache.url}/orthanc/instances/{victim}/preview"
        warm(session, [preview])
        assert requests.delete(f"{orthanc.url}/instances/{victim}").ok
        fresh_within(session, {preview: lambda r: r.status_code == 404},
                     time.monotonic())


# ------------------------------------------------------------- memory

@test_memcheck.not_when_sanitized
def test_no_invalid_memory_access_in_the_cache(orthanc, make_apache, workdir):
    """Apache as one process under valgrind's memcheck: misses, hits, a
    revalidation, changes through the proxy and straight on Orthanc, which
    the follower (a watchdog thread of that process) reads and looks up."""
    # Under valgrind the follower is slow: a longer delay lets requests
    # find it in step, and take the paths of hits.
    apache = make_apache(cache_site(orthanc.url, cache_dir(workdir),
                                    server="OrthancProxyCacheMaxDelay 10"),
                         start=False, extra_modules=CACHE_MODULES)
    log_path = os.path.join(workdir, "valgrind.log")
    proc = test_memcheck.start_under_valgrind(apache, log_path)
    try:
        deadline = time.monotonic() + 120
        while "following the changes" not in apache.error_log():
            assert time.monotonic() < deadline, apache.error_log()
            time.sleep(0.2)
        description, answers = own_instance(orthanc, "MEMCHECK", slices=2)
        base = f"{apache.url}/orthanc/instances/{answers[0]['ID']}"
        with requests.Session() as session:
            for _ in range(2):
                r = session.get(base + "/preview", timeout=120)
                assert r.status_code == 200
            assert session.get(base + "/preview", timeout=120, headers={
                "If-None-Match": r.headers.get("ETag", '"x"')}).status_code \
                in (200, 304)
            assert session.get(apache.url + "/orthanc/changes",
                               timeout=120).status_code == 200
            assert session.put(base + "/metadata/Sample", data="x",
                               timeout=120).status_code == 200
            orthanc.upload(ct_series.instance_bytes(description, 1, seed=3))
            requests.put(f"{orthanc.url}/instances/{answers[1]['ID']}"
                         f"/metadata/Sample", data="y")
            time.sleep(6)
            assert session.delete(base, timeout=120).status_code == 200
            assert session.get(base + "/preview", timeout=120).status_code == 404
            time.sleep(6)
    finally:
        test_memcheck.stop_under_valgrind(proc)
    test_memcheck.assert_no_memcheck_errors(log_path)
