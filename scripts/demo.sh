#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The quick-start demo: a web application and Orthanc on one origin.
#
#   sudo ./scripts/demo.sh           run until Ctrl-C (or SIGTERM)
#   sudo ./scripts/demo.sh --check   start, fetch the page and the proxied
#                                    API once with curl, stop (for CI)
#
# Installs the missing Debian packages (scripts/install-deps.sh) and the
# OHIF Viewer (scripts/install-js.sh, npm, cached), builds the module if
# needed, starts a private Orthanc on a free loopback port with the sample
# DICOM files of python3-pydicom, and an Apache on 127.0.0.1:8080 that
# serves demo/www at / and the OHIF Viewer at /ohif/, and proxies /orthanc/
# to that Orthanc with the module just built.  Everything lives in a
# temporary directory, removed on exit; both servers are stopped by their
# PIDs.
set -euo pipefail

readonly DEMO_PORT=8080
readonly HTTPD=/usr/sbin/apache2
readonly APACHE_MODULES=/usr/lib/apache2/modules
readonly ORTHANC=/usr/sbin/Orthanc
readonly DICOMWEB_PLUGIN=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
readonly SAMPLE_DIR=/usr/lib/python3/dist-packages/pydicom/data/test_files
readonly PYTHON=/usr/bin/python3

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly MODULE="$ROOT/.libs/mod_orthanc_proxy.so"
readonly DEMO_URL="http://127.0.0.1:$DEMO_PORT/"

CHECK=0
WORKDIR=""
ORTHANC_URL=""
APACHE_CONFIG=""
ORTHANC_PID=""
APACHE_PID=""
STOPPING=0

say() {
    printf 'demo: %s\n' "$*"
}

die() {
    printf 'demo: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# await_http PID URL TENTHS: waits, up to TENTHS tenths of a second, until
# URL answers while PID runs.  Returns 0 once it answers, 1 when PID has
# exited, 2 when the time is up.
await_http() {
    local pid=$1 url=$2 tenths=$3 i
    for ((i = 0; i < tenths; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    return 2
}

# ---------------------------------------------------------------------------
# Stopping

# stop_pid PID NAME: SIGTERM, up to 30 s of grace, then SIGKILL; reaps it.
stop_pid() {
    local pid=$1 name=$2 i
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        say "stopping $name (PID $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name did not stop in 30 s; killing PID $pid"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_pid "$APACHE_PID" Apache
    stop_pid "$ORTHANC_PID" Orthanc
    if [ -n "$WORKDIR" ] && [ -d "$WORKDIR" ]; then
        rm -rf -- "$WORKDIR"
    fi
    if [ "$STOPPING" -eq 1 ]; then
        say "stopped"
        status=0
    fi
    exit "$status"
}

on_signal() {
    STOPPING=1
    echo
    exit 0
}

# ---------------------------------------------------------------------------
# Steps

# The last lines of a log, indented, for error messages.
log_tail() {
    [ -f "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/    /' >&2
    return 0
}

port_in_use() {
    # A connection to 127.0.0.1 succeeds when anything listens there,
    # including on 0.0.0.0 or [::].
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fail_port_taken() {
    local who=""
    if command -v ss >/dev/null 2>&1; then
        who=$(ss -Hltnp "sport = :$DEMO_PORT" 2>/dev/null | head -n 3 || true)
    fi
    printf 'demo: error: port %s on 127.0.0.1 is already in use; the demo needs it.\n' \
        "$DEMO_PORT" >&2
    if [ -n "$who" ]; then
        printf 'demo: listening there now:\n%s\n' "$who" >&2
    fi
    printf 'demo: stop that service (or free the port) and run the demo again.\n' >&2
    exit 1
}

free_port() {
    "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

install_deps() {
    say "checking the Debian packages (scripts/install-deps.sh)"
    "$ROOT/scripts/install-deps.sh"
    say "checking the OHIF Viewer (scripts/install-js.sh)"
    "$ROOT/scripts/install-js.sh" >/dev/null
}

build_module() {
    cd "$ROOT"
    if [ ! -x configure ]; then
        say "autoreconf -fi"
        autoreconf -fi
    fi
    if [ ! -f Makefile ]; then
        say "./configure"
        ./configure
    fi
    if [ ! -f "$MODULE" ] || ! make -q mod_orthanc_proxy.la >/dev/null 2>&1; then
        say "make"
        make
    fi
    [ -f "$MODULE" ] || die "the build did not produce $MODULE"
    say "module: $MODULE"
}

make_workdir() {
    WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/orthanc-proxy-demo.XXXXXX")
    # Apache's children (nobody) must reach the document root.
    chmod 755 "$WORKDIR"
    mkdir -p "$WORKDIR/logs" "$WORKDIR/orthanc/storage" "$WORKDIR/apache"
    chmod 755 "$WORKDIR/logs" "$WORKDIR/orthanc" "$WORKDIR/apache"
    cp -R "$ROOT/demo/www" "$WORKDIR/www"
    # The OHIF Viewer beside it: its files at the root, its pages at /ohif/.
    "$ROOT/scripts/ohif-docroot.sh" "$WORKDIR/www"
    chmod -R a+rX "$WORKDIR/www"
}

start_orthanc() {
    local http_port config
    http_port=$(free_port)
    config="$WORKDIR/orthanc/orthanc.json"
    ORTHANC_URL="http://127.0.0.1:$http_port"
    # Orthanc 1.10.1 listens on every interface: RemoteAccessAllowed false
    # makes it answer loopback clients only.  No DICOM server is needed.
    cat >"$config" <<EOF
{
  "Name": "mod_orthanc_proxy demo",
  "StorageDirectory": "$WORKDIR/orthanc/storage",
  "IndexDirectory": "$WORKDIR/orthanc/storage",
  "HttpPort": $http_port,
  "DicomServerEnabled": false,
  "DicomPort": $(free_port),
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "SaveJobs": false,
  "Plugins": ["$DICOMWEB_PLUGIN"],
  "DicomWeb": {
    "Enable": true,
    "Root": "/dicom-web/",
    "EnableWado": true,
    "WadoRoot": "/wado"
  }
}
EOF
    chmod 644 "$config"

    local -a run_as=()
    if [ "$(id -u)" -eq 0 ]; then
        # A DICOM parser has no business running as root.
        chown -R nobody:nogroup "$WORKDIR/orthanc/storage"
        run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    fi
    say "starting Orthanc on 127.0.0.1:$http_port"
    (cd "$WORKDIR/orthanc" && exec "${run_as[@]}" "$ORTHANC" "$config") \
        >"$WORKDIR/logs/orthanc.log" 2>&1 &
    ORTHANC_PID=$!

    local status=0
    await_http "$ORTHANC_PID" "$ORTHANC_URL/system" 600 || status=$?
    if [ "$status" -eq 0 ]; then
        say "Orthanc is up (PID $ORTHANC_PID)"
        return 0
    fi
    log_tail "$WORKDIR/logs/orthanc.log"
    if [ "$status" -eq 1 ]; then
        ORTHANC_PID=""
        die "Orthanc exited during start-up (log above)"
    fi
    die "Orthanc did not answer on $ORTHANC_URL within 60 s"
}

load_samples() {
    local file code stored=0 refused=0 total=0 stats skipped
    local -a files
    # Only the files that have a Modality: OHIF 3.13's study list fails on a
    # study without one (demo/ohif/sample_files.py).
    mapfile -t files < <("$PYTHON" "$ROOT/demo/ohif/sample_files.py" "$SAMPLE_DIR")
    [ "${#files[@]}" -gt 0 ] || die "no sample files in $SAMPLE_DIR (package python3-pydicom)"
    skipped=$("$PYTHON" "$ROOT/demo/ohif/sample_files.py" --skipped "$SAMPLE_DIR" \
        | xargs -r -n1 basename | tr '\n' ' ')
    say "leaving out the sample files without a Modality, on which OHIF 3.13's study list fails: $skipped"
    say "uploading ${#files[@]} sample files from $SAMPLE_DIR"
    for file in "${files[@]}"; do
        total=$((total + 1))
        code=$(curl -sS --max-time 60 -o /dev/null -w '%{http_code}' \
            -H 'Content-Type: application/dicom' --data-binary "@$file" \
            "$ORTHANC_URL/instances" 2>/dev/null || true)
        if [ "$code" = 200 ]; then
            stored=$((stored + 1))
        else
            refused=$((refused + 1))
        fi
    done
    kill -0 "$ORTHANC_PID" 2>/dev/null || {
        ORTHANC_PID=""
        log_tail "$WORKDIR/logs/orthanc.log"
        die "Orthanc exited while the samples were uploaded"
    }
    stats=$(curl -fsS --max-time 10 "$ORTHANC_URL/statistics" | "$PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
print("%s patients, %s studies, %s series, %s instances" % (
    s["CountPatients"], s["CountStudies"], s["CountSeries"], s["CountInstances"]))')
    say "Orthanc stored $stored of $total sample files ($refused not accepted): $stats"
}

write_apache_config() {
    local config="$WORKDIR/apache/httpd.conf" user=""
    if [ "$(id -u)" -eq 0 ]; then
        user=$'User nobody\nGroup nogroup'
    fi
    cat >"$config" <<EOF
# Generated by scripts/demo.sh; removed when the demo stops.
ServerRoot "$WORKDIR/apache"
ServerName 127.0.0.1
Listen 127.0.0.1:$DEMO_PORT
PidFile "$WORKDIR/apache/httpd.pid"
DefaultRuntimeDir "$WORKDIR/apache"
Mutex file:$WORKDIR/apache default
ErrorLog "$WORKDIR/logs/apache-error.log"
LogLevel warn orthanc_proxy:info
LogFormat "%h %t \"%r\" %>s %b %D" demo
CustomLog "$WORKDIR/logs/apache-access.log" demo
$user

LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule dir_module $APACHE_MODULES/mod_dir.so
LoadModule proxy_module $APACHE_MODULES/mod_proxy.so
LoadModule proxy_http_module $APACHE_MODULES/mod_proxy_http.so
LoadModule orthanc_proxy_module $MODULE

TypesConfig /etc/mime.types
AddCharset utf-8 .html .css .js

<Directory />
    Require all denied
    AllowOverride None
</Directory>

# The web application, from disk.
DocumentRoot "$WORKDIR/www"
DirectoryIndex index.html
<Directory "$WORKDIR/www">
    Require all granted
</Directory>
# The OHIF Viewer's own routes (/ohif/viewer?StudyInstanceUIDs=...) are
# pages of its single-page application.
<Directory "$WORKDIR/www/ohif">
    FallbackResource /ohif/index.html
</Directory>

# Orthanc's REST API on the same origin.
OrthancProxy /orthanc/ $ORTHANC_URL/
EOF
    APACHE_CONFIG=$config
}

start_apache() {
    local output
    write_apache_config
    if ! output=$("$HTTPD" -t -f "$APACHE_CONFIG" 2>&1); then
        printf '%s\n' "$output" | sed 's/^/    /' >&2
        die "Apache rejects the generated configuration $APACHE_CONFIG (above)"
    fi
    port_in_use "$DEMO_PORT" && fail_port_taken
    say "starting Apache on 127.0.0.1:$DEMO_PORT"
    "$HTTPD" -f "$APACHE_CONFIG" -DFOREGROUND >"$WORKDIR/logs/apache-stderr.log" 2>&1 &
    APACHE_PID=$!

    local status=0
    await_http "$APACHE_PID" "$DEMO_URL" 300 || status=$?
    if [ "$status" -eq 0 ]; then
        say "Apache is up (PID $APACHE_PID)"
        return 0
    fi
    if [ "$status" -eq 1 ]; then
        wait "$APACHE_PID" 2>/dev/null || true
        APACHE_PID=""
        if grep -qs 'Address already in use' \
                "$WORKDIR/logs/apache-error.log" "$WORKDIR/logs/apache-stderr.log"; then
            fail_port_taken
        fi
        log_tail "$WORKDIR/logs/apache-error.log"
        log_tail "$WORKDIR/logs/apache-stderr.log"
        die "Apache exited during start-up (logs above)"
    fi
    log_tail "$WORKDIR/logs/apache-error.log"
    die "Apache did not answer on $DEMO_URL within 30 s"
}

check() {
    local page patients studies
    page=$(curl -fsS --max-time 10 "$DEMO_URL") \
        || die "GET $DEMO_URL failed"
    case $page in
        *'<script src="app.js"'*) ;;
        *) die "GET $DEMO_URL did not return the demo page" ;;
    esac
    curl -fsS --max-time 10 -o /dev/null "${DEMO_URL}app.js" \
        || die "GET ${DEMO_URL}app.js failed"
    patients=$(curl -fsS --max-time 30 "${DEMO_URL}orthanc/patients" | "$PYTHON" -c '
import json, sys
print(len(json.load(sys.stdin)))') \
        || die "GET ${DEMO_URL}orthanc/patients through the proxy failed (see $WORKDIR/logs)"
    [ "$patients" -gt 0 ] || die "the proxied API lists no patients"
    page=$(curl -fsS --max-time 10 "${DEMO_URL}ohif/viewer?StudyInstanceUIDs=1") \
        || die "GET ${DEMO_URL}ohif/viewer failed"
    case $page in
        *'OHIF Viewer'*) ;;
        *) die "GET ${DEMO_URL}ohif/viewer did not return the OHIF Viewer" ;;
    esac
    curl -fsS --max-time 10 -o /dev/null "${DEMO_URL}app-config.js" \
        || die "GET ${DEMO_URL}app-config.js failed"
    studies=$(curl -fsS --max-time 30 -H 'Accept: application/dicom+json' \
        "${DEMO_URL}orthanc/dicom-web/studies" | "$PYTHON" -c '
import json, sys
print(len(json.load(sys.stdin)))') \
        || die "QIDO ${DEMO_URL}orthanc/dicom-web/studies through the proxy failed"
    say "check OK: $DEMO_URL serves the app and ${DEMO_URL}orthanc/patients lists $patients patients through mod_orthanc_proxy; ${DEMO_URL}ohif/ serves the OHIF Viewer and DICOMweb lists $studies studies"
}

serve() {
    cat <<EOF

  Open  $DEMO_URL  in a browser on this machine.
    The OHIF Viewer on the same origin:  ${DEMO_URL}ohif/
    Orthanc REST API through the proxy:  ${DEMO_URL}orthanc/patients
    Orthanc Explorer through the proxy:  ${DEMO_URL}orthanc/app/explorer.html
    Logs: $WORKDIR/logs
  Press Ctrl-C to stop.

EOF
    local exited
    # Returns when either server exits (or a signal arrives: the trap runs).
    wait -n -p exited "$APACHE_PID" "$ORTHANC_PID" || true
    if [ "${exited:-}" = "$APACHE_PID" ]; then
        APACHE_PID=""
        log_tail "$WORKDIR/logs/apache-error.log"
        die "Apache exited unexpectedly (log above)"
    fi
    ORTHANC_PID=""
    log_tail "$WORKDIR/logs/orthanc.log"
    die "Orthanc exited unexpectedly (log above)"
}

main() {
    while [ $# -gt 0 ]; do
        case $1 in
            --check) CHECK=1 ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; exit 2 ;;
        esac
        shift
    done

    # Fail early, before installing or building anything.
    port_in_use "$DEMO_PORT" && fail_port_taken

    install_deps
    build_module

    trap cleanup EXIT
    trap on_signal INT TERM
    make_workdir
    start_orthanc
    load_samples
    start_apache

    if [ "$CHECK" -eq 1 ]; then
        check
        return 0
    fi
    serve
}

main "$@"
