# SPDX-License-Identifier: Apache-2.0
"""Real Apache and real Orthanc processes on loopback, for the end-to-end tests.

Every process is started on free 127.0.0.1 ports with a configuration the
test generates in its own temporary directory, and stopped by its PID.
Paths to the binaries come from the environment that `make check` sets
(see Makefile.am, AM_TESTS_ENVIRONMENT).
"""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import requests

SRCDIR = os.environ.get("OP_SRCDIR", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
# Without make check (bench/), the module an in-tree `make` builds.
MODULE = os.environ.get("OP_MODULE") or os.path.join(
    SRCDIR, ".libs", "mod_orthanc_proxy.so")
HTTPD = os.environ.get("OP_HTTPD", "/usr/sbin/apache2")


def _version_in_configure_ac():
    with open(os.path.join(SRCDIR, "configure.ac")) as f:
        return re.search(r"^AC_INIT\(\[[^]]*\], \[([^]]*)\]", f.read(),
                         re.M).group(1)


# The version the module under test was built with: configure's (make check
# sets OP_VERSION), else configure.ac's.
VERSION = os.environ.get("OP_VERSION") or _version_in_configure_ac()
APACHE_MODULES = os.environ.get("OP_APACHE_MODULES", "/usr/lib/apache2/modules")
# OP_ORTHANC_ROOT names a Debian root whose Orthanc the tests run instead
# of the machine's (the version matrix: orthanc_roots.py, orthanc_command).
ORTHANC_ROOT = os.environ.get("OP_ORTHANC_ROOT", "")
ORTHANC = "/usr/sbin/Orthanc" if ORTHANC_ROOT else \
    os.environ.get("OP_ORTHANC", "/usr/sbin/Orthanc")
# Paths in the Orthanc's own file system (the root's, with OP_ORTHANC_ROOT).
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
SAMPLE_DIR = "/usr/lib/python3/dist-packages/pydicom/data/test_files"

# Modules every generated Apache loads; tests add their own.
BASE_MODULES = ["mpm_event", "authz_core", "mime", "dir", "proxy", "proxy_http"]

# ./configure --enable-sanitizers: the module is built with AddressSanitizer
# and UBSan, and the ASan runtime it links against (OP_SANITIZER_PRELOAD)
# must be loaded into Debian's uninstrumented apache2 before anything else.
# Every Apache started through httpd_env() gets it, with the options below;
# each process writes its reports to its own file in sanitizer_log_dir().
SANITIZER_PRELOAD = os.environ.get("OP_SANITIZER_PRELOAD", "")
SANITIZER_REPORT_PREFIX = "sanitizer."
ASAN_OPTIONS = [
    # The module allocates only from APR pools, which LeakSanitizer sees as
    # reachable; what it would report at exit belongs to Apache, APR and
    # the libraries, with the module's frames unsymbolised (Apache unloads
    # modules before it exits).  Growth over time is the soak's business
    # (bench/soak.py).
    "detect_leaks=0",
    # Stop at the first error, with SIGABRT: Apache logs the child's death.
    "halt_on_error=1",
    "abort_on_error=1",
    "disable_coredump=1",
]
UBSAN_OPTIONS = ["print_stacktrace=1", "halt_on_error=1", "abort_on_error=1"]


def sanitizer_log_dir():
    """Where sanitized Apaches write their reports (OP_SANITIZER_LOG_DIR);
    created on first use, writable by Apache's children (nobody)."""
    path = os.environ.get("OP_SANITIZER_LOG_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="orthanc-proxy-sanitizers-")
        os.environ["OP_SANITIZER_LOG_DIR"] = path
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o1777)
    return path


def httpd_env(env=None):
    """The environment for an Apache (ENV, default os.environ): unchanged,
    or with the sanitizer runtime preloaded when the module is sanitized."""
    env = dict(os.environ if env is None else env)
    if SANITIZER_PRELOAD:
        log_dir = sanitizer_log_dir()
        preload = env.get("LD_PRELOAD", "")
        env["LD_PRELOAD"] = SANITIZER_PRELOAD + (" " + preload if preload else "")
        # One runtime (clang's) for both: the last log_path it parses wins,
        # so both name the same files, DIR/sanitizer.PID.
        log_path = f"log_path={log_dir}/{SANITIZER_REPORT_PREFIX[:-1]}"
        # OP_ASAN_OPTIONS adds to (or overrides) the options above, e.g.
        # detect_stack_use_after_return=1.
        extra = [o for o in os.environ.get("OP_ASAN_OPTIONS", "").split(":") if o]
        env["ASAN_OPTIONS"] = ":".join(ASAN_OPTIONS + [log_path] + extra)
        env["UBSAN_OPTIONS"] = ":".join(UBSAN_OPTIONS + [log_path])
    return env


_SANITIZER_REPORTS_SEEN = set()


def sanitizer_reports():
    """The sanitizer reports written since the last call: a list of (path,
    text), oldest first."""
    if not SANITIZER_PRELOAD:
        return []
    log_dir = sanitizer_log_dir()
    seen = _SANITIZER_REPORTS_SEEN
    found = []
    for name in os.listdir(log_dir):
        path = os.path.join(log_dir, name)
        if name.startswith(SANITIZER_REPORT_PREFIX) and path not in seen:
            found.append(path)
    found.sort(key=os.path.getmtime)
    reports = []
    for path in found:
        seen.add(path)
        with open(path, errors="replace") as f:
            reports.append((path, f.read()))
    return reports


def basic_accounts(directory, name, users):
    """USERS ({user: group or None}) for mod_authn_file and
    mod_authz_groupfile: NAME.htpasswd (each password the user's name) and
    NAME.groups in DIRECTORY, readable by Apache's children; their paths
    as {"htpasswd": ..., "groups": ...}."""
    htpasswd = os.path.join(directory, name + ".htpasswd")
    groups = os.path.join(directory, name + ".groups")
    for i, user in enumerate(users):
        subprocess.run(["htpasswd", "-b", "-B"] + (["-c"] if i == 0 else [])
                       + [htpasswd, user, user], check=True,
                       capture_output=True)
    with open(groups, "w") as f:
        for user, group in users.items():
            if group:
                f.write(f"{group}: {user}\n")
    for path in (htpasswd, groups):
        os.chmod(path, 0o644)
    return {"htpasswd": htpasswd, "groups": groups}


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _die_with_parent():
    """Runs in the child before exec: if the test process dies without its
    teardown (killed by a timeout), the server gets SIGTERM as well."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_process(command, log_path, cwd, env=None):
    """Starts COMMAND with its output appended to LOG_PATH."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                cwd=cwd, env=env, preexec_fn=_die_with_parent)


def stop_process(proc, sig=signal.SIGTERM, timeout=30):
    """Signals PROC by its PID and reaps it; SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# Runs in a private mount namespace (unshare): the machine's temporary
# directory ($1, where every test keeps its configuration, storage and Lua
# scripts) and /proc are mounted into the root ($2) at the same paths, then
# the command runs there in directory $3.  unshare, both shells and chroot
# exec what they run: the PID the test holds is Orthanc's.
_IN_ROOT = """set -e
mount --rbind "$1" "$2$1"
mount -t proc proc "$2/proc"
root=$2 dir=$3
shift 3
exec chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$dir" "$@"
"""


def orthanc_command(args, cwd):
    """The command line that runs Orthanc with ARGS in directory CWD: the
    machine's Orthanc, or with OP_ORTHANC_ROOT that root's (chroot).  There,
    every file Orthanc reads or writes must be below the machine's temporary
    directory, which it sees at the same path."""
    if not ORTHANC_ROOT:
        return [ORTHANC] + list(args)
    shared = os.path.realpath(tempfile.gettempdir())
    for path in [cwd] + [a.split("=", 1)[-1] for a in args]:
        path = os.path.join(cwd, path)
        if os.path.isabs(path) and not (
                os.path.realpath(path) + "/").startswith(shared + "/"):
            raise ValueError(f"{path} is outside {shared}, which is all the "
                             f"Orthanc in {ORTHANC_ROOT} sees of this machine")
    os.makedirs(ORTHANC_ROOT + shared, exist_ok=True)
    return ["unshare", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", _IN_ROOT, "sh", shared, ORTHANC_ROOT,
            os.path.realpath(cwd), ORTHANC] + list(args)


_ORTHANC_VERSION = []


def orthanc_version():
    """The version of the Orthanc the tests run, as a tuple: (1, 13, 0)."""
    if not _ORTHANC_VERSION:
        out = subprocess.run(orthanc_command(["--version"],
                                             tempfile.gettempdir()),
                             capture_output=True, text=True, timeout=60,
                             check=True).stdout
        m = re.search(r"Orthanc (\d+)\.(\d+)\.(\d+)", out)
        assert m, f"no version in {out[:200]!r}"
        _ORTHANC_VERSION.append(tuple(int(g) for g in m.groups()))
    return _ORTHANC_VERSION[0]


def orthanc_decodes_query():
    """Whether the Orthanc under test percent-decodes the query string
    before it splits it: civetweb 1.15+ with decode_query_string, which
    Orthanc sets from 1.12.10 (Debian's 1.10.1 and 1.12.7 do not; sid's
    1.13.0 does; logic/query_reading.h)."""
    return orthanc_version() >= (1, 12, 10)


# A Lua filter that makes Orthanc log every request as it received it.
RECORDING_FILTER = """
function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  print('OP-SEEN ' .. DumpJson({method=method, uri=uri, ip=ip,
                                username=username, headers=httpHeaders}, true))
  return true
end
"""


class Orthanc:
    """A private Orthanc: its own storage, free ports, loopback clients only.

    RECORD=True installs a Lua filter through which Orthanc logs each
    request it receives (method, URI, headers): seen_requests() reads them.
    LUA=True also enables /tools/execute-script, so that tests can check
    that a script did (not) run.
    """

    def __init__(self, workdir, name="orthanc", settings=None, dicomweb=True,
                 record=False, lua=False):
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.config_path = os.path.join(self.workdir, "orthanc.json")
        self.log_path = os.path.join(self.workdir, "orthanc.log")
        self.storage_dir = os.path.join(self.workdir, "storage")
        self.proc = None
        config = {
            "Name": name,
            "StorageDirectory": self.storage_dir,
            "IndexDirectory": self.storage_dir,
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "HttpRequestTimeout": 30,
            "StableAge": 1,
        }
        if dicomweb:
            # No "Host": the plugin must build its URLs from Forwarded.
            config["Plugins"] = [DICOMWEB_PLUGIN]
            config["DicomWeb"] = {"Enable": True, "Root": "/dicom-web/",
                                  "EnableWado": True, "WadoRoot": "/wado"}
        if record:
            filter_path = os.path.join(self.workdir, "record.lua")
            with open(filter_path, "w") as f:
                f.write(RECORDING_FILTER)
            config["LuaScripts"] = [filter_path]
        if lua:
            config["ExecuteLuaEnabled"] = True
        config.update(settings or {})
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=60):
        self.proc = start_process(orthanc_command([self.config_path],
                                                  self.workdir),
                                  self.log_path, self.workdir)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.proc.returncode}; "
                                   f"see {self.log_path}")
            try:
                # 401 is an answer too, when authentication is enabled.
                status = requests.get(self.url + "/system", timeout=1).status_code
                return status in (200, 401)
            except requests.RequestException:
                return False
        wait_until(ready, timeout, what="Orthanc to answer /system")
        return self

    def stop(self):
        """Stops Orthanc and waits until it has exited and freed its port."""
        if self.proc is not None and self.proc.poll() is None:
            self.resume()       # a suspended process would not act on SIGTERM
        stop_process(self.proc)
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def suspend(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def upload(self, data):
        r = requests.post(self.url + "/instances", data=data, timeout=120)
        r.raise_for_status()
        return r.json()

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def seen_requests(self):
        """The requests Orthanc received, as its Lua filter logged them
        (needs record=True): dicts with method, uri, ip, username, headers
        (lower-case names)."""
        seen = []
        for line in self.log_text().splitlines():
            marker = line.find("OP-SEEN ")
            if marker >= 0:
                seen.append(json.loads(line[marker + len("OP-SEEN "):]))
        return seen


def module_lines(names):
    lines = []
    for name in names:
        path = os.path.join(APACHE_MODULES, f"mod_{name}.so")
        lines.append(f"LoadModule {name}_module {path}")
    return "\n".join(lines)


def read_log(path):
    """A server's log as text so far; empty before the server wrote one."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Apache:
    """An Apache with a configuration generated from BODY.

    BODY is appended after the base configuration (listen address, logs,
    document root, module list); '{port}', '{docroot}' and '{workdir}' in it
    are filled in.  MODULES replaces the base module list when given;
    EXTRA_MODULES are loaded as well.  The module under test is loaded where
    '{orthanc_proxy}' appears in MODULE_ORDER, first by default.
    """

    def __init__(self, workdir, body="", name="apache", modules=None,
                 extra_modules=(), load_module_under_test=True,
                 module_under_test_last=False, switch_user=True):
        self.workdir = os.path.join(workdir, name)
        self.docroot = os.path.join(self.workdir, "htdocs")
        os.makedirs(self.docroot, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        os.chmod(self.docroot, 0o755)
        self.port = free_port()
        self.config_path = os.path.join(self.workdir, "httpd.conf")
        self.error_log_path = os.path.join(self.workdir, "error.log")
        self.access_log_path = os.path.join(self.workdir, "access.log")
        self.proc = None
        names = list(modules if modules is not None else BASE_MODULES)
        names += [m for m in extra_modules if m not in names]
        own = f"LoadModule orthanc_proxy_module {MODULE}" \
            if load_module_under_test else ""
        loads = module_lines(names)
        loads = f"{loads}\n{own}" if module_under_test_last else f"{own}\n{loads}"
        self.loads_module_under_test = load_module_under_test
        self.switch_user = switch_user
        self.config = self._base_config(loads) + "\n" + body.format(
            port=self.port, docroot=self.docroot, workdir=self.workdir)
        with open(self.config_path, "w") as f:
            f.write(self.config)

    def _base_config(self, loads):
        user = ""
        if os.geteuid() == 0 and self.switch_user:
            # The children must not run as root; they only read htdocs.
            user = "User nobody\nGroup nogroup"
        log_level = "LogLevel warn orthanc_proxy:" \
            + os.environ.get("OP_MODULE_LOGLEVEL", "info") \
            if self.loads_module_under_test else "LogLevel warn"
        return f"""
ServerRoot "{self.workdir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile "{self.workdir}/httpd.pid"
DefaultRuntimeDir "{self.workdir}"
Mutex file:{self.workdir} default
ErrorLog "{self.error_log_path}"
{log_level}
LogFormat "%h \\"%r\\" %>s %b \\"%m %U%q\\"" orthanc_test
CustomLog "{self.access_log_path}" orthanc_test
{user}
{loads}
TypesConfig /etc/mime.types
DocumentRoot "{self.docroot}"
DirectoryIndex index.html
<Directory "{self.docroot}">
    Require all granted
</Directory>
"""

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def configtest(self):
        """Runs `httpd -t` on the configuration: (exit status, output)."""
        r = subprocess.run([HTTPD, "-t", "-f", self.config_path],
                           capture_output=True, text=True, timeout=60,
                           env=httpd_env())
        return r.returncode, r.stdout + r.stderr

    def start(self, timeout=30):
        self.proc = start_process([HTTPD, "-f", self.config_path, "-DFOREGROUND"],
                                  os.path.join(self.workdir, "stderr.log"),
                                  self.workdir, env=httpd_env())

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"httpd exited with {self.proc.returncode}: "
                                   + self.error_log() + self._stderr())
            return port_open(self.port)
        wait_until(ready, timeout, what="httpd to listen")
        return self

    def _stderr(self):
        with open(os.path.join(self.workdir, "stderr.log"), errors="replace") as f:
            return f.read()

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def child_pids(self):
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if self.proc and ppid == self.proc.pid:
                children.append(int(entry))
        return children

    def pids(self):
        return ([self.proc.pid] if self.proc else []) + self.child_pids()

    def memory_kib(self, field):
        """Sum over the Apache processes of a /proc/PID/status field (VmRSS,
        VmHWM) in KiB."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
            except OSError:
                continue
            if m:
                total += int(m.group(1))
        return total

    def error_log(self):
        return read_log(self.error_log_path)

    def access_log(self):
        return read_log(self.access_log_path)


CHROMIUM = os.environ.get("OP_CHROMIUM") or shutil.which("chromium")
CHROMIUM_TIMEOUT = 180


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def browser_dom(url, workdir, profile=None):
    """The DOM of URL after chromium ran its scripts (10 s virtual time).
    A fresh profile unless PROFILE names a directory to keep (and reuse:
    its HTTP cache then survives from one call to the next)."""
    assert CHROMIUM, "needs Debian's chromium: scripts/install-deps.sh installs it"
    keep = profile is not None
    if keep:
        os.makedirs(profile, exist_ok=True)
    else:
        profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        "--virtual-time-budget=10000", "--dump-dom", url,
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=profile,
                            env=dict(os.environ, HOME=profile),
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=CHROMIUM_TIMEOUT)
    except subprocess.TimeoutExpired:
        # Its helpers (zygote, renderer) share its process group, whose ID
        # cannot be reused before the browser itself is reaped below.
        kill_group(proc.pid)
        proc.communicate(timeout=30)
        raise AssertionError(f"chromium did not finish within "
                             f"{CHROMIUM_TIMEOUT}s loading {url}")
    finally:
        if not keep:
            shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def raw_request(port, data, timeout=10.0):
    """Sends DATA as it is on a fresh connection; returns all bytes read
    until the server closes or stays silent for TIMEOUT seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
    return b"".join(chunks)


def status_of(raw):
    """The status code of a raw HTTP response, or None when there is none."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


def dechunk(data):
    """(body, rest) of a chunked message body at the start of DATA."""
    body = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            return body, data.partition(b"\r\n")[2]
        body, data = body + data[:size], data[size + 2:]


def parse_responses(raw):
    """The HTTP/1.x responses in RAW, the bytes read from one connection
    (raw_request), following their framing from one to the next: a list of
    (status, {lower-case header name: value}, body), the body dechunked."""
    found = []
    while raw.startswith(b"HTTP/1."):
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status < 200 or status in (204, 304):
            body, raw = b"", rest
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body, raw = dechunk(rest)
        else:
            # Without a length, the body runs to the end (Connection: close).
            length = int(headers.get("content-length", len(rest)))
            body, raw = rest[:length], rest[length:]
        found.append((status, headers, body))
    return found


def parse_response(raw):
    """The first response in RAW: (status, headers, body), as
    parse_responses gives them."""
    responses = parse_responses(raw)
    assert responses, f"no HTTP response in {raw[:300]!r}"
    return responses[0]


def sample_files():
    return sorted(os.path.join(SAMPLE_DIR, f) for f in os.listdir(SAMPLE_DIR)
                  if f.endswith(".dcm"))


def running_as_root():
    return os.geteuid() == 0 and pwd.getpwuid(0).pw_name == "root"
