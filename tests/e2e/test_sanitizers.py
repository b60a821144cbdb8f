# SPDX-License-Identifier: Apache-2.0
"""The sanitized suite sees what goes wrong inside Apache (./configure
--enable-sanitizers only).

A test module with bugs on purpose (sanitizer_canary.c, built with the
module's flags) is loaded next to mod_orthanc_proxy into an Apache started
like every other one of the suite; each bug must reach a report with a
symbolised stack, written by a child that runs as nobody.  Without this, a
broken preload or an unwritable log directory would make a sanitized run
look green while it checks nothing.
"""

import os

import pytest
import requests

from harness import SANITIZER_PRELOAD, sanitizer_reports, wait_until

pytestmark = pytest.mark.skipif(
    not SANITIZER_PRELOAD, reason="needs ./configure --enable-sanitizers")

CANARY = os.environ.get("OP_SANITIZER_CANARY", "")
TIMEOUT = 60


@pytest.fixture
def canary_apache(orthanc, make_apache):
    assert os.path.exists(CANARY), f"{CANARY} was not built (make check)"
    apache = make_apache(f"""
LoadModule sanitizer_canary_module {CANARY}
OrthancProxy /orthanc/ {orthanc.url}/
<Location /canary>
    SetHandler sanitizer-canary
</Location>
""")
    r = requests.get(apache.url + "/canary?ok", timeout=TIMEOUT)
    assert r.status_code == 200 and r.text == "canary 0\n"
    assert requests.get(apache.url + "/orthanc/system",
                        timeout=TIMEOUT).status_code == 200
    return apache


def report_after(apache, query):
    """Asks the canary to misbehave; returns the one report it causes."""
    try:
        requests.get(apache.url + "/canary?" + query, timeout=TIMEOUT)
    except requests.ConnectionError:
        pass    # the child aborted while it answered
    reports = []
    wait_until(lambda: reports.extend(sanitizer_reports()) or reports,
               timeout=TIMEOUT, what="a sanitizer report")
    assert len(reports) == 1, reports
    return reports[0][1]


def test_heap_overflow_is_reported_with_its_stack(canary_apache):
    text = report_after(canary_apache, "heap=8")
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in text, text
    assert "canary_handler" in text and "sanitizer_canary.c" in text, text
    # The child aborted; Apache replaced it and goes on serving.
    assert requests.get(canary_apache.url + "/orthanc/system",
                        timeout=TIMEOUT).status_code == 200


def test_undefined_behaviour_is_reported_with_its_stack(canary_apache):
    text = report_after(canary_apache, "shift=40")
    assert "runtime error: shift exponent 40" in text, text
    assert "canary_handler" in text and "sanitizer_canary.c" in text, text
