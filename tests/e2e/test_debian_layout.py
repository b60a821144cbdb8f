# SPDX-License-Identifier: Apache-2.0
"""The module installed the Debian way: a2enmod, mods-enabled, a site.

The machine's /etc/apache2 is copied to a temporary directory and only the
copy is changed; a2enmod and apache2 are pointed at it through
APACHE_CONFDIR and -d/-f.  Debian includes mods-enabled/*.load in
alphabetical order, so orthanc_proxy.load comes before proxy.load: the
module must not need mod_proxy's symbols at load time.
"""

import os
import shutil
import subprocess

import pytest
import requests

from harness import HTTPD, MODULE, SRCDIR, free_port, httpd_env, \
    port_open, stop_process, wait_until

TIMEOUT = 60


def load_file_text():
    """conf/orthanc_proxy.load.in made to load the module under test."""
    with open(os.path.join(SRCDIR, "conf", "orthanc_proxy.load.in")) as f:
        text = f.read()
    assert "# Depends: proxy proxy_http" in text
    if os.path.basename(MODULE) == "mod_orthanc_proxy.so":
        return text.replace("@APACHE_MODULEDIR@", os.path.dirname(MODULE))
    return "".join(
        f"LoadModule orthanc_proxy_module {MODULE}\n"
        if line.startswith("LoadModule") else line
        for line in text.splitlines(keepends=True))


class DebianApache:
    """A copy of /etc/apache2 with its own run, log, lock and state dirs."""

    def __init__(self, root):
        self.root = root
        self.confdir = os.path.join(root, "apache2")
        shutil.copytree("/etc/apache2", self.confdir, symlinks=True)
        self.logdir = os.path.join(root, "log")
        self.rundir = os.path.join(root, "run")
        for path in (self.logdir, self.rundir, os.path.join(root, "lock"),
                     os.path.join(root, "state")):
            os.makedirs(path)
        self.env = dict(os.environ,
                        APACHE_CONFDIR=self.confdir,
                        APACHE_ENVVARS=os.path.join(self.confdir, "envvars"),
                        APACHE_STATE_DIRECTORY=os.path.join(root, "state"),
                        APACHE_RUN_USER="nobody",
                        APACHE_RUN_GROUP="nogroup",
                        APACHE_PID_FILE=os.path.join(self.rundir, "apache2.pid"),
                        APACHE_RUN_DIR=self.rundir,
                        APACHE_LOCK_DIR=os.path.join(root, "lock"),
                        APACHE_LOG_DIR=self.logdir,
                        LANG="C")
        # What runs apache2 (the sanitizer runtime, when there is one).
        self.httpd_env = httpd_env(self.env)
        self.proc = None
        # apache2ctl reads its paths from the copy's envvars: point them here.
        with open(self.path("envvars"), "a") as f:
            for name in ("APACHE_RUN_USER", "APACHE_RUN_GROUP",
                         "APACHE_PID_FILE", "APACHE_RUN_DIR",
                         "APACHE_LOCK_DIR", "APACHE_LOG_DIR"):
                f.write(f"export {name}={self.env[name]}\n")

    def path(self, *parts):
        return os.path.join(self.confdir, *parts)

    def write(self, relative, text):
        with open(self.path(relative), "w") as f:
            f.write(text)

    def tool(self, *args):
        """Runs a2enmod, a2dissite ... on the copy; returns its output."""
        r = subprocess.run(list(args), env=self.env, capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout + r.stderr

    def command(self, *extra):
        return [HTTPD, "-d", self.confdir,
                "-f", self.path("apache2.conf"), *extra]

    def configtest(self):
        """Debian's own `apache2ctl configtest`, on the copy."""
        r = subprocess.run(["apache2ctl", "configtest"], env=self.httpd_env,
                           capture_output=True, text=True, timeout=TIMEOUT)
        return r.returncode, r.stdout + r.stderr

    def loaded_modules(self):
        r = subprocess.run(self.command("-M"), env=self.httpd_env,
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
        return [line.split()[0] for line in r.stdout.splitlines()
                if line.startswith(" ")]

    def start(self, port):
        self.stderr_path = os.path.join(self.root, "stderr.log")
        with open(self.stderr_path, "wb") as log:
            self.proc = subprocess.Popen(self.command("-DFOREGROUND"),
                                         env=self.httpd_env, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         cwd=self.root)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"apache2 exited with {self.proc.returncode}:"
                                   f" {self.start_log()}")
            return port_open(port)
        wait_until(ready, TIMEOUT, what="apache2 to listen")

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def start_log(self):
        text = ""
        for path in (self.stderr_path, os.path.join(self.logdir, "error.log")):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()
        return text


@pytest.fixture
def debian(workdir):
    server = DebianApache(workdir)
    yield server
    server.stop()


def test_a2enmod_layout_loads_before_mod_proxy_and_proxies(debian, orthanc,
                                                          workdir):
    """a2enmod orthanc_proxy enables proxy and proxy_http through its Depends
    line; the enabled module sorts and loads before mod_proxy, the
    configuration checks, and a site with OrthancProxy answers /orthanc/."""
    debian.write("mods-available/orthanc_proxy.load", load_file_text())
    shutil.copy(os.path.join(SRCDIR, "conf", "orthanc_proxy.conf"),
                debian.path("mods-available", "orthanc_proxy.conf"))
    output = debian.tool("a2enmod", "orthanc_proxy")
    assert "proxy_http" in output

    enabled = sorted(os.listdir(debian.path("mods-enabled")))
    for name in ("orthanc_proxy.load", "orthanc_proxy.conf", "proxy.load",
                 "proxy_http.load"):
        assert name in enabled
    assert enabled.index("orthanc_proxy.load") < enabled.index("proxy.load")

    port = free_port()
    docroot = os.path.join(workdir, "www")
    os.makedirs(docroot)
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write("<h1>pacs app</h1>")
    debian.write("ports.conf", f"Listen 127.0.0.1:{port}\n")
    debian.tool("a2dissite", "000-default")
    debian.write("sites-available/pacs.conf",
                 f"<VirtualHost 127.0.0.1:{port}>\n"
                 f"    ServerName 127.0.0.1\n"
                 f"    DocumentRoot {docroot}\n"
                 f"    <Directory {docroot}>\n"
                 f"        Require all granted\n"
                 f"    </Directory>\n"
                 f"    OrthancProxy /orthanc/ {orthanc.url}/\n"
                 f"</VirtualHost>\n")
    debian.tool("a2ensite", "pacs")

    status, output = debian.configtest()
    assert status == 0, output
    assert "Syntax OK" in output
    modules = debian.loaded_modules()
    assert modules.index("orthanc_proxy_module") < modules.index("proxy_module")

    debian.start(port)
    base = f"http://127.0.0.1:{port}"
    r = requests.get(base + "/orthanc/system", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["HttpPort"] == orthanc.http_port
    assert requests.get(base + "/", timeout=TIMEOUT).text == "<h1>pacs app</h1>"
    log = debian.start_log()
    for problem in ("undefined symbol", "Cannot load", "AH00526", "AH00534"):
        assert problem not in log, log
