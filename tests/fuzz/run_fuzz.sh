#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer harness tests/fuzz/fuzz_paths.c and runs it for a
# bounded time.
#
# usage: tests/fuzz/run_fuzz.sh [BUILD_DIR [SECONDS [LIBFUZZER_OPTION ...]]]
#
#   BUILD_DIR  where the fuzzer, its working corpus, the dictionary, the log
#              and any crash files go; never inside the source tree
#              (default: ${TMPDIR:-/tmp}/mod_orthanc_proxy-fuzz)
#   SECONDS    how long to fuzz (default 60)
#   further arguments are passed to libFuzzer (e.g. -jobs=2, -seed=1)
#
# The seed corpus tests/fuzz/corpus/ is copied into BUILD_DIR/corpus, which
# keeps what libFuzzer finds between runs.  CC (default clang) and
# FUZZ_PATHS_LEGACY_DECODE (see fuzz_paths.c) come from the environment.
# Exits non-zero when the build fails or libFuzzer reports a crash, a leak,
# undefined behaviour or a violated invariant.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
build=${1:-${TMPDIR:-/tmp}/mod_orthanc_proxy-fuzz}
seconds=${2:-60}
if [ $# -gt 2 ]; then
    shift 2
else
    set --
fi
cc=${CC:-clang}

case $seconds in
    '' | *[!0-9]*)
        echo "run_fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2
        exit 2
        ;;
esac

mkdir -p "$build"
build=$(cd "$build" && pwd)
case $build/ in
    "$srcdir"/*)
        echo "run_fuzz.sh: the build directory $build is inside the source tree $srcdir" >&2
        exit 2
        ;;
esac

apr_flags=$(apr-1-config --includes --cppflags)
apr_libs=$(apr-1-config --link-ld)
binary=$build/fuzz_paths
echo "run_fuzz.sh: building $binary"
# shellcheck disable=SC2086 # apr-1-config prints several flags
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$srcdir/logic" $apr_flags \
    "$srcdir/tests/fuzz/fuzz_paths.c" "$srcdir/logic/path_canon.c" \
    "$srcdir/logic/pattern.c" "$srcdir/logic/route_table.c" \
    "$srcdir/logic/access_rules.c" "$srcdir/logic/method_override.c" \
    "$srcdir/logic/query_reading.c" \
    "$srcdir/logic/header_names.c" "$srcdir/logic/hex.c" $apr_libs \
    -o "$binary"

corpus=$build/corpus
artifacts=$build/artifacts
mkdir -p "$corpus" "$artifacts"
cp "$srcdir"/tests/fuzz/corpus/* "$corpus"/
rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* \
    "$artifacts"/oom-*

# Words that matter to the harness, for libFuzzer's mutations.
dict=$build/fuzz_paths.dict
cat >"$dict" <<'EOF'
"/"
"\\"
"%2F"
"%2f"
"%5C"
"%5c"
"%2e"
"%2E"
"%25"
"%00"
"%0a"
"%7f"
"/./"
"/../"
"//"
".."
"?"
"&"
"="
"+"
"\x0a"
"_method"
"%5Fmethod"
"%4Vmethod"
"%26"
"%3D"
"%3d"
"%00"
"%2B"
"%255F"
"%26_method%3D"
"_method%3D"
"=delete"
"=put"
"X-HTTP-Method-Override:"
"X-HTTP-Method:"
"X-Method-Override:"
"x_http_method_override :"
"DELETE"
"PUT"
"GET"
"HEAD"
"POST"
"PATCH"
"OPTIONS"
"=post"
"=get"
"orthanc"
"tools"
"execute-script"
"shutdown"
"reset"
"patients"
"studies"
"series"
"instances"
"modalities"
"peers"
"jobs"
"dicom-web"
"export"
"archive"
"/**"
"/*"
EOF

log=$build/fuzz.log
echo "run_fuzz.sh: fuzzing for $seconds s (log: $log)"
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$binary" -max_len=4096 -max_total_time="$seconds" -print_final_stats=1 \
    -dict="$dict" -artifact_prefix="$artifacts/" "$@" "$corpus" \
    >"$log" 2>&1 || status=$?

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
final=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
echo "executions: ${executions:-unknown}"
echo "final stats: ${final:-none}"

found=$(find "$artifacts" -type f | head -n 20)
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
    echo "run_fuzz.sh: libFuzzer exited with status $status" >&2
    grep -E -A 3 'invariant violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" | head -n 40 >&2 || true
    if [ -n "$found" ]; then
        echo "run_fuzz.sh: inputs written:" >&2
        echo "$found" >&2
    fi
    exit 1
fi
echo "run_fuzz.sh: no crash"
