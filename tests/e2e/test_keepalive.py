"""The stale keep-alive race between Apache's connection pool and Orthanc.

Orthanc closes a connection that has been idle for 1 s.  A pooled backend
connection reused at about that moment can meet a closing socket, and the
client gets an error.  The module gives its workers a pool ttl below 1 s.

The same loops run through a plain `ProxyPass /plain/` on the same Apache.
It points at a second, identically configured Orthanc: had it pointed at the
first one, mod_proxy would have shared the module's worker (same URL) and
with it the module's protection.  The plain loop may or may not hit the
race (the window is narrow); its failures are only printed, for comparison.
"""

import threading
import time

import pytest
import requests

TIMEOUT = 60
# Pauses around Orthanc's 1 s keep-alive timeout, in 10 ms steps.
PAUSES = [0.85 + 0.01 * i for i in range(31)]


@pytest.fixture(scope="module")
def apache(orthanc, make_module_orthanc, make_module_apache):
    plain = make_module_orthanc(name="plain")
    return make_module_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n"
                              f"ProxyPass /plain/ {plain.url}/\n")


def paced_requests(url, session):
    """GET URL after each pause; returns the failures as (pause, what)."""
    failures = []
    client = requests.Session() if session else None
    for pause in PAUSES:
        time.sleep(pause)     # the pause under test, not a synchronisation
        try:
            if client:
                r = client.get(url, timeout=TIMEOUT)
            else:
                r = requests.get(url, headers={"Connection": "close"},
                                 timeout=TIMEOUT)
            if r.status_code != 200 or r.json().get("Name") is None:
                failures.append((round(pause, 2), r.status_code))
        except (requests.RequestException, ValueError) as e:
            failures.append((round(pause, 2), repr(e)))
    if client:
        client.close()
    return failures


def run_side_by_side(apache, session):
    """The module's loop and the plain ProxyPass loop, concurrently (they
    use different workers and different Orthancs)."""
    results = {}

    def loop(name, path):
        results[name] = paced_requests(apache.url + path, session)

    threads = [threading.Thread(target=loop, args=(name, path))
               for name, path in (("module", "/orthanc/system"),
                                  ("plain", "/plain/system"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"\n{len(PAUSES)} paced requests "
          f"({'one keep-alive connection' if session else 'fresh connections'}):"
          f" module failures {results['module']},"
          f" plain ProxyPass failures {results['plain']}")
    return results


def test_paced_requests_on_one_client_connection_never_fail(apache):
    """31 requests on one client keep-alive connection, spaced 0.85 to
    1.15 s apart: none fails through the module."""
    results = run_side_by_side(apache, session=True)
    assert results["module"] == []


def test_paced_requests_on_fresh_client_connections_never_fail(apache):
    """The same with a new client connection for every request: the pooled
    backend connections are what is at stake, and none fails."""
    results = run_side_by_side(apache, session=False)
    assert results["module"] == []
