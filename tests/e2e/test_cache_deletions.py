# SPDX-License-Identifier: Apache-2.0
"""Deletions that leave no trace in Orthanc's change log (issue 15, "Found"),
polled through OrthancProxyCache: 0 stale answers.

No Orthanc of the matrix logs a deletion, and deleting a resource removes
its earlier entries from the log: an instance stored and deleted between two
passes of the follower leaves only a hole in the sequence numbers, at the
end of the log where nothing follows it.  Each scenario deletes instances
that way - Orthanc used as a router (a Lua OnStoredInstance forwards each
instance to a peer and deletes it, the Book's autorouting), a Lua script
that deletes the previous instance when a new one arrives, a plugin that
deletes what arrives (orthanc-python, where installed; the DelayedDeletion
plugin, where Debian ships it, takes the files away afterwards), and a
client storing and deleting over REST - while clients poll, through the
cache, instance content and every kind of aggregate: lists, series, QIDO,
metadata.

An answer is stale when it still shows an instance (its content answered
200, or its Orthanc ID or SOP Instance UID in a list) although it was asked
for more than OrthancProxyCacheMaxDelay after Orthanc itself stopped showing
that instance (a watcher asks Orthanc directly, continuously).

pytest -s prints each scenario's counts.
"""

import os
import threading
import time

import pytest
import requests

import ct_series
import harness
from test_cache import CACHE_MODULES, MAX_DELAY, cache_dir, cache_site, \
    wait_for_follower, x_cache

SECONDS = float(os.environ.get("OP_DELETION_SECONDS", "8"))
PYTHON_PLUGIN = "/usr/share/orthanc/plugins/libOrthancPython.so"
DELAYED_DELETION = "/usr/share/orthanc/plugins/libDelayedDeletion.so"


def in_orthancs_root(path):
    """Whether the Orthanc under test (its root with OP_ORTHANC_ROOT) has
    the file at PATH."""
    return os.path.exists(harness.ORTHANC_ROOT + path)


class Audit:
    """Uploads are registered here; a watcher asks Orthanc directly when
    each is gone; pollers ask the front end and judge every answer."""

    def __init__(self, orthanc_url, apache_url, series):
        self.orthanc_url = orthanc_url
        self.base = apache_url + "/orthanc"
        self.series = series
        self.lock = threading.Lock()
        self.uploaded = {}        # Orthanc ID -> SOP Instance UID
        self.gone = {}            # Orthanc ID -> when Orthanc stopped showing it
        self.stop_event = threading.Event()
        self.answers = self.hits = 0
        self.stale = []
        self.threads = []
        study, serie = series.study_uid, series.series_uid
        dicomweb = f"{self.base}/dicom-web"
        self.aggregates = [
            f"{self.base}/instances",
            f"{self.base}/patients",
            f"{dicomweb}/instances",
            f"{dicomweb}/studies",
            f"{dicomweb}/studies/{study}/series",
            f"{dicomweb}/studies/{study}/series/{serie}/instances",
            f"{dicomweb}/studies/{study}/series/{serie}/metadata",
            f"{dicomweb}/instances?SeriesInstanceUID={serie}",
        ]

    def register(self, instance, sop):
        with self.lock:
            self.uploaded[instance] = sop

    def content_urls(self, instance, sop):
        study, serie = self.series.study_uid, self.series.series_uid
        return [f"{self.base}/instances/{instance}/preview",
                f"{self.base}/instances/{instance}/tags?simplify",
                f"{self.base}/instances/{instance}/metadata?expand",
                f"{self.base}/dicom-web/studies/{study}/series/{serie}/"
                f"instances/{sop}/metadata"]

    def _watch(self):
        with requests.Session() as session:
            while not self.stop_event.is_set():
                with self.lock:
                    pending = [i for i in self.uploaded if i not in self.gone]
                for instance in pending:
                    asked = time.monotonic()
                    r = session.get(f"{self.orthanc_url}/instances/{instance}")
                    if r.status_code == 404:
                        with self.lock:
                            # Gone at the latest when it was asked.
                            self.gone[instance] = asked
                time.sleep(0.005)

    def _judge(self, url, sent, r, instance=None):
        with self.lock:
            self.answers += 1
            self.hits += x_cache(r) == "HIT"
            for gone_id, gone_at in self.gone.items():
                if sent <= gone_at + MAX_DELAY:
                    continue
                sop = self.uploaded[gone_id]
                if instance is not None:
                    shows = instance == gone_id and r.status_code == 200
                else:
                    shows = r.status_code == 200 and (
                        gone_id in r.text or sop in r.text)
                if shows:
                    self.stale.append((round(sent - gone_at, 3), url,
                                       x_cache(r)))

    def _poll(self, offset):
        with requests.Session() as session:
            i = offset
            while not self.stop_event.is_set():
                with self.lock:
                    recent = list(self.uploaded.items())[-3:]
                urls = [(u, None) for u in self.aggregates]
                for instance, sop in recent:
                    urls += [(u, instance)
                             for u in self.content_urls(instance, sop)]
                url, instance = urls[i % len(urls)]
                i += 1
                sent = time.monotonic()
                try:
                    r = session.get(url, timeout=30)
                except requests.RequestException:
                    continue
                self._judge(url, sent, r, instance)
                time.sleep(0.01)

    def __enter__(self):
        self.threads = [threading.Thread(target=self._watch)]
        self.threads += [threading.Thread(target=self._poll, args=(k * 5,))
                         for k in range(3)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        # The last deletion is followed by no change at all: nothing but
        # the end of the log shows it.  Judged for a while.
        time.sleep(MAX_DELAY + 3)
        self.stop_event.set()
        for t in self.threads:
            t.join(60)
        return False

    def report(self, scenario):
        print(f"\n[{scenario}] {len(self.uploaded)} instances stored, "
              f"{len(self.gone)} deleted; {self.answers} answers through "
              f"the cache ({self.hits} hits): {len(self.stale)} stale "
              f"{self.stale[:5]}")
        assert self.gone, "nothing was deleted"
        assert not self.stale


def upload_through(base, series, index):
    body = ct_series.instance_bytes(series, index)
    r = requests.post(base + "/instances", data=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["ID"]


def run_uploads(audit, base, series, pause=0.05):
    """Stores new instances of SERIES through BASE for SECONDS."""
    index = 0
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline and index < len(series.sop_uids):
        instance = upload_through(base, series, index)
        audit.register(instance, series.sop_uids[index])
        index += 1
        time.sleep(pause)


def cached_front(make_apache, orthanc, workdir):
    apache = make_apache(cache_site(orthanc.url, cache_dir(workdir)),
                         extra_modules=CACHE_MODULES)
    wait_for_follower(apache)
    return apache


def lua_orthanc(make_orthanc, workdir, name, script, settings=None):
    path = os.path.join(workdir, f"{name}.lua")
    with open(path, "w") as f:
        f.write(script)
    return make_orthanc(name=name, settings={"LuaScripts": [path],
                                             **(settings or {})})


ROUTER = """
function OnStoredInstance(instanceId, tags, metadata, origin)
  -- The Orthanc Book's autorouting: forward, then delete.
  SendToPeer(instanceId, 'sink')
  Delete(instanceId)
end
"""


def test_orthanc_as_a_router(make_orthanc, make_apache, workdir):
    """The issue's scenario: uploads through the module to an Orthanc whose
    Lua script forwards each instance to a peer and deletes it; clients
    poll lists, QIDO, series metadata and the instances' content."""
    sink = make_orthanc(name="sink", dicomweb=False)
    router = lua_orthanc(make_orthanc, workdir, "router", ROUTER,
                         {"OrthancPeers": {"sink": [sink.url + "/"]}})
    apache = cached_front(make_apache, router, workdir)
    series = ct_series.new_series(400, 32, 32, label="ROUTED")
    with Audit(router.url, apache.url, series) as audit:
        run_uploads(audit, apache.url + "/orthanc", series)
    forwarded = len(requests.get(sink.url + "/instances").json())
    audit.report(f"Orthanc as a router: {forwarded} forwarded to the peer")
    assert forwarded == len(audit.uploaded)


KEEP_THE_LAST = """
previous = nil
function OnStoredInstance(instanceId, tags, metadata, origin)
  -- A clean-up script: only the last instance stays.
  if previous ~= nil then
    Delete(previous)
  end
  previous = instanceId
end
"""


def test_a_lua_script_deletes_the_previous_instance(make_orthanc, make_apache,
                                                    workdir):
    """Each instance that arrives makes the Lua script delete the one
    before it: instances deleted a pass or more after they were logged,
    while a new one is stored."""
    orthanc = lua_orthanc(make_orthanc, workdir, "cleaning", KEEP_THE_LAST)
    apache = cached_front(make_apache, orthanc, workdir)
    series = ct_series.new_series(400, 32, 32, label="CLEANED")
    with Audit(orthanc.url, apache.url, series) as audit:
        run_uploads(audit, apache.url + "/orthanc", series, pause=0.3)
    audit.report("a Lua script deletes the previous instance")


def test_rest_store_and_delete_within_one_pass(make_orthanc, make_apache,
                                               workdir):
    """A client stores an instance straight on Orthanc and deletes it 20 ms
    later, again and again (a follower pass every 250 ms)."""
    orthanc = make_orthanc(name="rest")
    apache = cached_front(make_apache, orthanc, workdir)
    series = ct_series.new_series(400, 32, 32, label="RESTDELETED")
    with Audit(orthanc.url, apache.url, series) as audit:
        index = 0
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline and index < len(series.sop_uids):
            instance = orthanc.upload(ct_series.instance_bytes(series,
                                                               index))["ID"]
            audit.register(instance, series.sop_uids[index])
            time.sleep(0.02)
            assert requests.delete(f"{orthanc.url}/instances/{instance}").ok
            index += 1
            time.sleep(0.1)
    audit.report("REST: store and delete within one pass")


PYTHON_DELETER = """
import orthanc

def on_change(change_type, level, resource_id):
    # A plugin that cleans up: every new instance is deleted.
    if change_type == orthanc.ChangeType.NEW_INSTANCE:
        orthanc.RestApiDelete('/instances/' + resource_id)

orthanc.RegisterOnChangeCallback(on_change)
"""


@pytest.mark.skipif(not in_orthancs_root(PYTHON_PLUGIN),
                    reason="this Orthanc has no Python plugin "
                    "(Debian: orthanc-python)")
def test_a_plugin_deletes_what_arrives(make_orthanc, make_apache, workdir):
    """orthanc-python's OnChange callback deletes each new instance."""
    script = os.path.join(workdir, "deleter.py")
    with open(script, "w") as f:
        f.write(PYTHON_DELETER)
    orthanc = make_orthanc(name="python", settings={
        "Plugins": [harness.DICOMWEB_PLUGIN, PYTHON_PLUGIN],
        "PythonScript": script})
    apache = cached_front(make_apache, orthanc, workdir)
    series = ct_series.new_series(400, 32, 32, label="PYDELETED")
    with Audit(orthanc.url, apache.url, series) as audit:
        run_uploads(audit, apache.url + "/orthanc", series)
    audit.report("a Python plugin deletes each new instance")


@pytest.mark.skipif(not in_orthancs_root(DELAYED_DELETION),
                    reason="Debian ships the DelayedDeletion plugin from "
                    "Orthanc 1.12 on")
def test_deletions_with_the_delayed_deletion_plugin(make_orthanc, make_apache,
                                                    workdir):
    """With the DelayedDeletion plugin, Orthanc removes the files of a
    deleted instance later, in the background: the index forgets it at
    once, and so must the cache (a Lua router deletes each instance)."""
    sink = make_orthanc(name="sink", dicomweb=False)
    # Its queue of files to delete goes beside the storage (the default).
    router = lua_orthanc(make_orthanc, workdir, "delayed", ROUTER, {
        "OrthancPeers": {"sink": [sink.url + "/"]},
        "Plugins": [harness.DICOMWEB_PLUGIN, DELAYED_DELETION],
        "DelayedDeletion": {"Enable": True}})
    apache = cached_front(make_apache, router, workdir)
    series = ct_series.new_series(400, 32, 32, label="DELAYED")
    with Audit(router.url, apache.url, series) as audit:
        run_uploads(audit, apache.url + "/orthanc", series)
    audit.report("DelayedDeletion plugin and a Lua router")
