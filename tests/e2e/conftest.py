# SPDX-License-Identifier: Apache-2.0
"""Fixtures: a private Orthanc and Apaches generated per test module."""

import os
import re
import shutil
import tempfile

import pytest

from harness import ORTHANC_ROOT, SANITIZER_PRELOAD, SAMPLE_DIR, Apache, \
    Orthanc, orthanc_version, sanitizer_reports


def pytest_report_header(config):
    """Which Orthanc the suite runs against (the version matrix)."""
    where = ORTHANC_ROOT or "this machine"
    return f"Orthanc {'.'.join(map(str, orthanc_version()))} from {where}"


def pytest_configure(config):
    """The sanitized Apaches' reports go to a directory of this run."""
    if SANITIZER_PRELOAD and not os.environ.get("OP_SANITIZER_LOG_DIR"):
        config.op_sanitizer_log_dir = tempfile.mkdtemp(
            prefix="orthanc-proxy-sanitizers-")
        os.environ["OP_SANITIZER_LOG_DIR"] = config.op_sanitizer_log_dir


def pytest_unconfigure(config):
    path = getattr(config, "op_sanitizer_log_dir", None)
    if path and not os.environ.get("OP_KEEP_TMP"):
        shutil.rmtree(path, ignore_errors=True)


def format_sanitizer_reports(reports):
    return "\n".join(f"--- {path}\n{text}" for path, text in reports)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With the sanitized module, a report written while a test ran (or
    while its Apaches stopped: teardown comes after every finalizer of the
    test, module-scoped ones included) fails that test, with the report."""
    outcome = yield
    if not SANITIZER_PRELOAD or call.when != "teardown":
        return
    reports = sanitizer_reports()
    if reports:
        report = outcome.get_result()
        report.outcome = "failed"
        report.longrepr = (f"{len(reports)} sanitizer report(s) written during "
                           f"{item.nodeid}:\n"
                           + format_sanitizer_reports(reports))


def pytest_sessionfinish(session, exitstatus):
    """Anything written outside a test fails the run as well."""
    reports = sanitizer_reports()
    if reports:
        print("\nsanitizer reports written outside any test:\n"
              + format_sanitizer_reports(reports))
        session.exitstatus = 1


@pytest.fixture(scope="session")
def base_dir():
    # Not pytest's tmp_path: its root is 0700 and Apache's children, which
    # run as nobody under root, must be able to read their document root.
    path = tempfile.mkdtemp(prefix="orthanc-proxy-e2e-")
    os.chmod(path, 0o755)
    yield path
    if not os.environ.get("OP_KEEP_TMP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def workdir(base_dir, request):
    # Parametrised test names carry spaces and slashes; Apache's Mutex
    # directive cannot take a directory with spaces.
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:80]
    path = os.path.join(base_dir, name)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="module")
def module_dir(base_dir, request):
    path = os.path.join(base_dir, request.module.__name__)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    return path


class ServerFactory:
    """Makes servers in one directory and stops those it started when the
    fixture that owns it ends (factory_fixture)."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.started = []

    def stop_all(self):
        for server in self.started:
            server.stop()


def factory_fixture(factory):
    """The body of a make_* fixture: FACTORY for the tests, then every
    server it started stopped."""
    yield factory
    factory.stop_all()


class OrthancFactory(ServerFactory):
    """Starts Orthancs; they are stopped, and what they stored removed, when
    the fixture ends.  Takes harness.Orthanc's arguments (name, settings,
    dicomweb, record, lua) and SAMPLES, names of the sample DICOM files
    (SAMPLE_DIR) stored once the Orthanc is up."""

    def __call__(self, samples=(), **kwargs):
        if self.started:
            kwargs.setdefault("name", f"orthanc{len(self.started) + 1}")
        orthanc = Orthanc(self.workdir, **kwargs)
        self.started.append(orthanc)
        orthanc.start()
        for name in samples:
            with open(os.path.join(SAMPLE_DIR, name), "rb") as f:
                orthanc.upload(f.read())
        return orthanc

    def stop_all(self):
        super().stop_all()
        for orthanc in self.started:
            # Storage can be gigabytes (test_streaming.py); logs stay.
            shutil.rmtree(orthanc.storage_dir, ignore_errors=True)


@pytest.fixture
def make_orthanc(workdir):
    yield from factory_fixture(OrthancFactory(workdir))


@pytest.fixture(scope="module")
def make_module_orthanc(module_dir):
    yield from factory_fixture(OrthancFactory(module_dir))


@pytest.fixture(scope="module")
def orthanc(make_module_orthanc, request):
    """The Orthanc the tests of one module share.  A module chooses how it
    is made with ORTHANC_OPTIONS, a dict of OrthancFactory's arguments, e.g.
    ORTHANC_OPTIONS = {"record": True, "samples": ["CT_small.dcm"]}."""
    return make_module_orthanc(**getattr(request.module, "ORTHANC_OPTIONS", {}))


class ApacheFactory(ServerFactory):
    """Makes Apaches (harness.Apache's arguments), started unless
    start=False."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.count = 0

    def __call__(self, body="", start=True, **kwargs):
        self.count += 1
        kwargs.setdefault("name", f"apache{self.count}")
        apache = Apache(self.workdir, body, **kwargs)
        if start:
            apache.start()
            self.started.append(apache)
        return apache


@pytest.fixture
def make_apache(workdir):
    yield from factory_fixture(ApacheFactory(workdir))


@pytest.fixture(scope="module")
def make_module_apache(module_dir):
    yield from factory_fixture(ApacheFactory(module_dir))
