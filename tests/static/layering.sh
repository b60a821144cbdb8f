#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Who may call whom (docs/development.md, "Architecture"):
#
#   mod_orthanc_proxy.c      the module record, the command table, the hooks
#        |
#   apache/*                 the Apache-facing parts (hooks, filters, handlers,
#        |                   directives, the bridge to mod_proxy)
#   apache/request_context   the records and helpers those parts share
#        |
#   logic/*                  the pure logic, linked without httpd by the unit
#                            tests, tests/tools/route_tool and the fuzzer
#
# apache/audit/, apache/cache/, apache/cluster/ and apache/status/ hold the
# Apache-facing parts of one capability each (the audit trail, the cache,
# a balancer of Orthancs, the status page): they are in the layer of
# apache/* and use it, but apache/* uses none of them, and they do not use
# each other, except the edges wiring() lists, each with its reason.
# support/* is the audit program, a process of its own: it uses logic/
# only, and nothing of the module uses it.
#
# A layer uses only the layers below it; parts of one folder may use each
# other, without a cycle.  Checked twice:
#   1. on the sources: every #include, read as an edge between two parts
#      (foo.c and foo.h are one part); logic/ includes no httpd header;
#      mod_orthanc_proxy.c defines no function another file could call;
#      every Apache-facing file that logs declares the module's log index;
#   2. on the objects of the built module, when OP_MODULE names one: every
#      function one object takes from another, read with nm, so that a
#      prototype written by hand cannot hide a call.
# The module record (orthanc_proxy_module) is not an edge: it is the data
# under which httpd keeps the module's configuration, which every part names.
set -eu
: "${OP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${OP_BUILDDIR:=$OP_SRCDIR}"
: "${OP_APACHE_INCLUDES:=/usr/include/apache2}"
: "${OP_MODULE:=}"
cd "$OP_SRCDIR"

work=$(mktemp -d "${TMPDIR:-/tmp}/layering.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
    echo "layering: $*" >&2
    failures=$((failures + 1))
}

# The part a file belongs to: logic/x, apache/x, apache/FOLDER/x or module.
part_of() {
    case $1 in
        mod_orthanc_proxy.*) echo module ;;
        support/*) echo program ;;
        logic/* | apache/*) echo "${1%.*}" ;;
        *) echo "?$1" ;;
    esac
}

# 0 logic, 1 the shared request layer, 2 the other Apache-facing parts,
# 3 the module file.
rank_of() {
    case $1 in
        logic/*) echo 0 ;;
        apache/request_context) echo 1 ;;
        apache/*) echo 2 ;;
        module) echo 3 ;;
        program) echo 4 ;;
        *) echo 9 ;;
    esac
}

# Whether NAME (as written in an #include) is one of httpd's headers.
is_httpd_header() {
    case $1 in
        apr.h | apu.h | apr_* | apu_* | apr-*/* | apu-*/*) return 1 ;;
        httpd.h | http_*.h | util_*.h | mod_*.h | ap_*.h | scoreboard.h \
        | mpm_common.h | os.h | unixd.h | heartbeat.h | cache_common.h) return 0 ;;
    esac
    [ -f "$OP_APACHE_INCLUDES/$1" ]
}

# The capability folder of a part (audit, cache ...), or nothing for
# apache/* itself and the other layers.
capability_of() {
    case $1 in
        apache/*/*) echo "$1" | cut -d/ -f2 ;;
    esac
}

# The edges into a capability folder from outside it that the picture
# allows, and why.
wiring() {
    case "$1 $2" in
        # The server configuration holds each capability's own record,
        # created and merged with it.
        "apache/config apache/audit/audit_config") ;;
        "apache/config apache/cache/cache_config") ;;
        # Per-study decisions are remembered while the cache's follower
        # vouches for the facts they rest on (its generation counters).
        "apache/studies/studies_memory apache/cache/cache_generations") ;;
        # The status page shows the audit trail's state.
        "apache/status/status_page apache/audit/audit_config") ;;
        *) return 1 ;;
    esac
}

# Checks one rule of the picture for an edge FROM -> TO (parts); WHERE says
# where the edge was found.  Edges that pass are kept for the cycle check.
check_edge() {
    from=$1 to=$2 where=$3
    [ "$from" = "$to" ] && return 0
    from_rank=$(rank_of "$from")
    to_rank=$(rank_of "$to")
    if [ "$to" = program ] && [ "$from" != program ]; then
        fail "$where: $from uses the audit program, a process of its own"
    elif [ "$from" = program ] && [ "$to_rank" -ne 0 ]; then
        fail "$where: the audit program uses $to; it may only use logic/"
    elif [ "$to" = module ]; then
        fail "$where: $from uses the module file; only httpd calls it"
    elif [ "$to_rank" -gt "$from_rank" ]; then
        fail "$where: $from (layer $from_rank) uses $to (layer $to_rank), a layer above it"
    elif [ "$to_rank" -eq "$from_rank" ] && [ "$from_rank" -ne 0 ] \
         && [ "$from_rank" -ne 2 ]; then
        fail "$where: $from uses $to, of its own layer"
    elif [ -n "$(capability_of "$to")" ] \
         && [ "$(capability_of "$to")" != "$(capability_of "$from")" ] \
         && [ "$from" != module ] && ! wiring "$from" "$to"; then
        fail "$where: $from uses $to, a part of apache/$(capability_of "$to")/;" \
             "only the module file wires a capability in (or add the edge," \
             "with its reason, to wiring() in tests/static/layering.sh)"
    fi
    echo "$from $to" >>"$work/edges"
}

# Fails if the edges in FILE (pairs "from to") form a cycle.
check_cycles() {
    what=$1 edges=$2
    [ -s "$edges" ] || return 0
    if ! sort -u "$edges" | tsort >/dev/null 2>"$work/tsort.err"; then
        fail "$what: the parts use each other in a cycle:"
        sed 's/^/    /' "$work/tsort.err" >&2
    fi
}

# ------------------------------------------------------------ 1. sources
: >"$work/edges"
sources=$(ls mod_orthanc_proxy.c logic/*.[ch] apache/*.[ch] apache/*/*.[ch] \
    support/*.c)
for file in $sources; do
    from=$(part_of "$file")
    dir=$(dirname "$file")
    # <name> or "name", one line per #include.
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' \
        "$file" >"$work/includes"
    while IFS= read -r spec; do
        name=$(echo "$spec" | sed 's/^[<"]\(.*\)[>"]$/\1/')
        where="$file: #include $spec"
        if is_httpd_header "$name"; then
            case $from in
                logic/*) fail "$where: logic/ must build without httpd" ;;
                program) fail "$where: the audit program runs without httpd" ;;
            esac
            continue
        fi
        case $spec in
            '<'*) continue ;;     # the C library, APR
        esac
        case $name in
            logic/* | apache/*) target=$name ;;
            */*) fail "$where: name a part by its folder (logic/ or apache/)"
                 continue ;;
            *) target=$dir/$name ;;
        esac
        if [ ! -f "$target" ]; then
            fail "$where: no such file in the tree ($target)"
            continue
        fi
        check_edge "$from" "$(part_of "$target")" "$where"
    done <"$work/includes"
done
check_cycles "includes" "$work/edges"

# The module file: everything static but the module record.
awk '
    /^[A-Za-z_].*\(/ && $0 !~ /^(static|AP_DECLARE_MODULE|typedef|extern)/ {
        printf "layering: mod_orthanc_proxy.c:%d: a function other files could call: %s\n", NR, $0
        bad = 1
    }
    END { exit bad }' mod_orthanc_proxy.c >&2 || failures=$((failures + 1))
if grep -l 'AP_DECLARE_MODULE' logic/* apache/* >/dev/null 2>&1; then
    fail "only mod_orthanc_proxy.c declares the module record"
fi

# Log lines carry the module's name and obey "LogLevel orthanc_proxy:..."
# only from files that declare its log index.
for file in apache/*.c apache/*/*.c; do
    if grep -q 'ap_log_[a-z]*error' "$file" \
       && ! grep -q '^APLOG_USE_MODULE(orthanc_proxy);' "$file"; then
        fail "$file logs without APLOG_USE_MODULE(orthanc_proxy)"
    fi
done

# ------------------------------------------------------------ 2. objects
if [ -n "$OP_MODULE" ] && [ -f "$OP_MODULE" ]; then
    : >"$work/edges"
    : >"$work/defined"
    # "object source" per line.  Automake names the objects of a target
    # with CFLAGS of its own mod_orthanc_proxy_la-NAME.o; a tree built
    # before that may hold both names: the newer is the module's.
    : >"$work/objects"
    for source in mod_orthanc_proxy.c logic/*.c apache/*.c apache/*/*.c; do
        dir=$(dirname "$source")/.libs
        dir=${dir#./}
        name=$(basename "$source" .c)
        plain=$dir/$name.o
        prefixed=$dir/mod_orthanc_proxy_la-$name.o
        if [ -f "$OP_BUILDDIR/$prefixed" ] \
                && ! [ "$OP_BUILDDIR/$plain" -nt "$OP_BUILDDIR/$prefixed" ]; then
            echo "$prefixed $source" >>"$work/objects"
        elif [ -f "$OP_BUILDDIR/$plain" ]; then
            echo "$plain $source" >>"$work/objects"
        fi
    done
    count=$(wc -l <"$work/objects")
    sources_count=$(set -- mod_orthanc_proxy.c logic/*.c apache/*.c \
                    apache/*/*.c; echo $#)
    if [ "$count" -ne "$sources_count" ]; then
        fail "found $count objects of the module in $OP_BUILDDIR for" \
             "$sources_count C files: build it first (make)"
    fi
    while read -r object source; do
        part=$(part_of "$source")
        nm -P --defined-only "$OP_BUILDDIR/$object" \
            | awk -v part="$part" '$2 ~ /^[TDBRGSV]$/ { print $1, part }' \
            >>"$work/defined"
    done <"$work/objects"
    while read -r object source; do
        from=$(part_of "$source")
        nm -P -u "$OP_BUILDDIR/$object" | awk '{ print $1 }' \
            | grep -vx 'orthanc_proxy_module' >"$work/undefined" || true
        awk 'NR == FNR { part[$1] = $2; next }
             ($1 in part) { print $1, part[$1] }' \
            "$work/defined" "$work/undefined" >"$work/uses"
        while read -r symbol to; do
            check_edge "$from" "$to" "$object: calls $symbol"
        done <"$work/uses"
    done <"$work/objects"
    extra=$(awk '$2 == "module" && $1 != "orthanc_proxy_module" { print $1 }' \
            "$work/defined")
    if [ -n "$extra" ]; then
        fail "mod_orthanc_proxy.o exports more than the module record:" \
             "$(echo "$extra" | tr '\n' ' ')"
    fi
    check_cycles "calls" "$work/edges"
else
    echo "layering: OP_MODULE names no built module; the objects were not checked"
fi

if [ "$failures" -ne 0 ]; then
    echo "layering: $failures problem(s); see docs/development.md, \"Architecture\"" >&2
    exit 1
fi
echo "layering: the parts form layers, without a cycle"
