# SPDX-License-Identifier: Apache-2.0
"""The Debian package, installed the way an administrator installs it.

The .deb that scripts/build-deb.sh built is installed with apt-get into a
throwaway Debian 12 (see throwaway_root.py for why and how: a copy of a
cached mmdebstrap root, every command run in it through chroot, nothing
mounted, no service started but the Apache the test starts and stops by its
PID).  In it the test:

- installs the package and finds it installed but not enabled, and nothing
  changed on the system but the package's own files and dpkg's record;
- enables it with `a2enmod orthanc_proxy` (which enables proxy, proxy_http
  and slotmem_shm, for the status page, through the .load file's Depends
  line), sets up the example site
  the package ships, passes `apache2ctl configtest`, starts the root's
  Apache on a free 127.0.0.1 port and proxies to a real Orthanc started on
  the machine: a request is answered by that Orthanc, an upload is stored in
  it, an administrative route is refused;
- disables and purges it and compares the whole root with its state before
  the installation: nothing of the package is left, dpkg's status file is
  byte for byte what it was, and the only differences are the a2enmod
  records of proxy, proxy_http and slotmem_shm, which the administrator's own a2enmod
  enabled and which belong to apache2;
- removes it while still enabled: the package's prerm disables it so that
  Apache still starts, and a new installation leaves it disabled.

The machine's own /etc/apache2 and dpkg record of the package are compared
before and after the session (conftest.py, machine_unchanged).
"""

import os
import subprocess

import pytest
import requests

from harness import SAMPLE_DIR, free_port, port_open, stop_process, \
    wait_until, _die_with_parent
from throwaway_root import diff

PACKAGE = "libapache2-mod-orthanc-proxy"
DOC = f"/usr/share/doc/{PACKAGE}"
EXAMPLE = f"{DOC}/examples/orthanc-site.conf.example"
TIMEOUT = 60

# What `a2enmod orthanc_proxy` leaves behind that is not the package's: the
# modules it enabled for the Depends line, and a2enmod's records of them and
# of the administrator's own choices (Debian's apache2 keeps these).
ADMIN_TRACES = {
    "/etc/apache2/mods-enabled/proxy.load",
    "/etc/apache2/mods-enabled/proxy.conf",
    "/etc/apache2/mods-enabled/proxy_http.load",
    "/etc/apache2/mods-enabled/slotmem_shm.load",
    "/var/lib/apache2/module/enabled_by_admin",
    "/var/lib/apache2/module/enabled_by_admin/proxy",
    "/var/lib/apache2/module/enabled_by_admin/proxy_http",
    "/var/lib/apache2/module/enabled_by_admin/slotmem_shm",
    "/var/lib/apache2/module/disabled_by_admin",
}


def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", deb, field], check=True,
                          capture_output=True, text=True).stdout.strip()


def deb_control_file(deb, name):
    """A control file of the .deb (postinst, conffiles ...), or None."""
    r = subprocess.run(f"dpkg-deb --ctrl-tarfile '{deb}' | tar -xOf - ./{name}",
                       shell=True, capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def install(root, deb):
    """`apt-get install ./package.deb`, as an administrator would."""
    inside = "/tmp/" + os.path.basename(deb)
    with open(deb, "rb") as src, open(root.host_path(inside), "wb") as dst:
        dst.write(src.read())
    _, output = root.run("apt-get", "install", "-y", "-o", "Dpkg::Use-Pty=0",
                         inside)
    os.unlink(root.host_path(inside))
    return output


def package_status(root):
    status, output = root.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}",
                              PACKAGE, check=False)
    return output.strip() if status == 0 else "unknown to dpkg"


def enabled_modules(root):
    return sorted(os.listdir(root.host_path("/etc/apache2/mods-enabled")))


def loaded_modules(root):
    _, output = root.run("apache2ctl", "-M")
    return [line.split()[0] for line in output.splitlines()
            if line.startswith(" ")]


def configtest(root):
    status, output = root.run("apache2ctl", "configtest", check=False)
    assert status == 0 and "Syntax OK" in output, output
    return output


def prepare_site_host(root, port):
    """The administrator's own preparation, independent of the package: Apache
    on a free loopback port instead of *:80, no default site, the web
    application's directory and the password file the example site names."""
    root.write("/etc/apache2/ports.conf", f"Listen 127.0.0.1:{port}\n")
    root.run("a2dissite", "000-default")
    os.makedirs(root.host_path("/var/www/pacs-app"))
    root.write("/var/www/pacs-app/index.html", "<h1>pacs app</h1>\n")
    root.run("htpasswd", "-cb", "/etc/apache2/pacs.htpasswd", "radiology",
             "secret")


def install_example_site(root, port, orthanc):
    """The example site the package ships, as its header says to use it,
    with this test's port and Orthanc."""
    text = root.read(EXAMPLE)
    assert "<VirtualHost *:80>" in text
    assert "http://127.0.0.1:8042/" in text
    text = text.replace("<VirtualHost *:80>", f"<VirtualHost 127.0.0.1:{port}>")
    text = text.replace("http://127.0.0.1:8042/", orthanc.url + "/")
    root.write("/etc/apache2/sites-available/pacs.conf", text)
    root.run("a2ensite", "pacs")


class RootApache:
    """The root's own Apache, in the foreground, stopped by its PID."""

    def __init__(self, root, port, log_path):
        self.root = root
        self.port = port
        self.log_path = log_path
        # What `apache2ctl start` does, without going to the background.
        self.proc = root.popen(
            '. /etc/apache2/envvars && '
            'mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR" '
            '&& exec /usr/sbin/apache2 -DFOREGROUND', log_path,
            preexec_fn=_die_with_parent)

        def ready():
            if self.proc.poll() is not None:
                with open(log_path, errors="replace") as f:
                    raise RuntimeError(f"apache2 exited: {f.read()}")
            return port_open(port)
        wait_until(ready, TIMEOUT, what="the root's apache2 to listen")

    def stop(self):
        stop_process(self.proc)
        wait_until(lambda: not self.root.processes(), TIMEOUT,
                   what="apache2's children to exit")


@pytest.fixture
def site_port():
    return free_port()


def test_package_ships_the_module_its_a2enmod_files_and_docs(deb):
    """What the .deb holds and declares, before installing it."""
    depends = deb_field(deb, "Depends")
    assert "apache2-api-20120211" in depends          # from dh_apache2
    assert "apache2-bin" in depends
    files = subprocess.run(["dpkg-deb", "-c", deb], check=True,
                           capture_output=True, text=True).stdout
    paths = {line.split()[-1].lstrip(".") for line in files.splitlines()}
    for path in ("/usr/lib/apache2/modules/mod_orthanc_proxy.so",
                 "/etc/apache2/mods-available/orthanc_proxy.load",
                 "/etc/apache2/mods-available/orthanc_proxy.conf",
                 f"{DOC}/README.md.gz", f"{DOC}/NEWS.md.gz",
                 f"{DOC}/docs/directives.md.gz",
                 f"{DOC}/copyright", f"{DOC}/changelog.Debian.gz", EXAMPLE):
        assert path in paths, files
    assert not [p for p in paths if p.startswith("/etc/apache2/mods-enabled")]
    conffiles = deb_control_file(deb, "conffiles").split()
    assert conffiles == ["/etc/apache2/mods-available/orthanc_proxy.conf",
                         "/etc/apache2/mods-available/orthanc_proxy.load"]
    # dh_apache2 --noenable: no postinst that would enable the module; the
    # prerm and postrm disable it and forget its a2enmod state.
    postinst = deb_control_file(deb, "postinst")
    assert postinst is None or "enmod" not in postinst
    assert "apache2_invoke dismod" in deb_control_file(deb, "prerm")
    assert "apache2_invoke dismod" in deb_control_file(deb, "postrm")


def test_install_enable_proxy_disable_purge(root, deb, orthanc, site_port,
                                            base_dir):
    prepare_site_host(root, site_port)
    before = root.snapshot()

    # Installed, and nothing enabled.
    output = install(root, deb)
    assert package_status(root) == "ii", output
    assert not [m for m in enabled_modules(root) if "orthanc" in m]
    status, output = root.run("a2query", "-m", "orthanc_proxy", check=False)
    assert status != 0, output
    assert "orthanc_proxy_module" not in loaded_modules(root)
    _, listed = root.run("dpkg-query", "-L", PACKAGE)
    owned = set(listed.split())
    added, removed, changed = diff(before, root.snapshot())
    assert not removed
    assert [p for p in added if p not in owned
            and not p.startswith(f"/var/lib/dpkg/info/{PACKAGE}.")] == []
    assert changed == ["/var/lib/dpkg/status"], changed

    # a2enmod enables it with its dependencies; the example site proxies.
    _, output = root.run("a2enmod", "orthanc_proxy")
    for module in ("proxy", "proxy_http", "slotmem_shm", "orthanc_proxy"):
        assert f"Enabling module {module}." in output, output
    for name in ("orthanc_proxy.load", "orthanc_proxy.conf", "proxy.load",
                 "proxy_http.load", "slotmem_shm.load"):
        assert name in enabled_modules(root)
    install_example_site(root, site_port, orthanc)
    configtest(root)
    assert "orthanc_proxy_module" in loaded_modules(root)

    apache = RootApache(root, site_port, os.path.join(base_dir, "apache.log"))
    try:
        base = f"http://127.0.0.1:{site_port}"
        auth = ("radiology", "secret")
        r = requests.get(base + "/orthanc/system", auth=auth, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        assert r.json()["HttpPort"] == orthanc.http_port
        assert requests.get(base + "/orthanc/system",
                            timeout=TIMEOUT).status_code == 401
        with open(os.path.join(SAMPLE_DIR, "CT_small.dcm"), "rb") as f:
            r = requests.post(base + "/orthanc/instances", data=f.read(),
                              auth=auth, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        stored = requests.get(f"{orthanc.url}/instances/{r.json()['ID']}",
                              timeout=TIMEOUT)
        assert stored.status_code == 200
        r = requests.post(base + "/orthanc/tools/execute-script",
                          data="print(1)", auth=auth, timeout=TIMEOUT)
        assert r.status_code == 403
        assert r.headers["Content-Type"].startswith("application/json")
        assert requests.get(base + "/", auth=auth,
                            timeout=TIMEOUT).text == "<h1>pacs app</h1>\n"
    finally:
        apache.stop()
    assert not root.processes()
    log = root.read("/var/log/apache2/error.log")
    for problem in ("undefined symbol", "Cannot load", "AH00526"):
        assert problem not in log, log

    # Disabled, then purged: nothing of it left.  The test's site goes first,
    # with a2dissite's record of it (-p), as it was not there before either.
    root.run("a2dissite", "-p", "pacs")
    os.unlink(root.host_path("/etc/apache2/sites-available/pacs.conf"))
    root.run("a2dismod", "orthanc_proxy")
    configtest(root)
    _, output = root.run("apt-get", "purge", "-y", "-o", "Dpkg::Use-Pty=0",
                         PACKAGE)
    assert package_status(root) == "unknown to dpkg", output
    after = root.snapshot()
    added, removed, changed = diff(before, after)
    assert (added, removed, changed) == (sorted(ADMIN_TRACES), [], []), \
        (added, removed, changed)
    leftovers = [p for p in after if "orthanc" in p.lower()]
    assert leftovers == [], leftovers
    configtest(root)


def test_removal_disables_an_enabled_module(root, deb, site_port):
    """Removing the package while the module is enabled must not leave Apache
    unable to start: the prerm disables it.  Installing it again does not
    enable it: that stays the administrator's choice."""
    root.write("/etc/apache2/ports.conf", f"Listen 127.0.0.1:{site_port}\n")
    install(root, deb)
    root.run("a2enmod", "orthanc_proxy")
    configtest(root)

    _, output = root.run("apt-get", "remove", "-y", "-o", "Dpkg::Use-Pty=0",
                         PACKAGE)
    assert package_status(root) == "rc", output
    assert not [m for m in enabled_modules(root) if "orthanc" in m], output
    assert not os.path.exists(
        root.host_path("/usr/lib/apache2/modules/mod_orthanc_proxy.so"))
    # The configuration files stay until purge, as for any package.
    assert os.path.exists(
        root.host_path("/etc/apache2/mods-available/orthanc_proxy.load"))
    configtest(root)

    install(root, deb)
    assert package_status(root) == "ii"
    assert not [m for m in enabled_modules(root) if "orthanc" in m]

    root.run("apt-get", "purge", "-y", "-o", "Dpkg::Use-Pty=0", PACKAGE)
    assert package_status(root) == "unknown to dpkg"
    leftovers = [p for p in root.snapshot() if "orthanc" in p.lower()]
    assert leftovers == [], leftovers
