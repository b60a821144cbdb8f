/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_paths.c - libFuzzer harness over path canonicalisation, method
 * resolution and route classification (path_canon.c, method_override.c,
 * pattern.c, route_table.c, access_rules.c).
 *
 * Build (tests/fuzz/run_fuzz.sh does this into a build directory):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -Ilogic $(apr-1-config --includes --cppflags) tests/fuzz/fuzz_paths.c \
 *     logic/path_canon.c logic/pattern.c logic/route_table.c \
 *     logic/access_rules.c logic/method_override.c logic/query_reading.c \
 *     logic/header_names.c logic/hex.c $(apr-1-config --link-ld) -o fuzz_paths
 *
 * Input layout:
 *   byte 0      bits 0-2: the method, INPUT_METHODS[bits];
 *               bits 3-4: an override the harness adds (0 none, 1 a
 *               "_method=V" argument after the query, 2 an
 *               X-HTTP-Method-Override header, 3 a look-alike header);
 *               bits 5-7: V, OVERRIDE_VALUES[bits]
 *   then        the raw path, up to the first '?' (or to the end)
 *   after '?'   the query, up to the first '\n'
 *   then        header lines "Name: value", one per '\n'
 * "\x00/patients/1?_method=delete\nX-Foo: bar" is GET /patients/1 with a
 * query and one header.  Without a '?' the whole rest is the path (so raw
 * control characters reach op_path_parse) and there are no headers.
 *
 * Invariants (abort() with a message on violation):
 *  P1  op_path_parse agrees with an independent model of Orthanc's reading
 *      (status, segments byte for byte, trailing flag): civetweb 1.15's
 *      steps written as string rewrites (see "An independent model" below,
 *      which names the functions they come from).
 *  P2  Canonicalising twice changes nothing: parsing the ENCODED join again
 *      gives the same segments, trailing flag, decoded and encoded joins
 *      (from index 0, and from index 1 as for a one-segment prefix).
 *  P3  The ENCODED join is wire-safe: it starts with '/', every byte is an
 *      RFC 3986 unreserved character, one of "!$&'(),=:@", a '/' or part
 *      of a "%XX" escape with two hexadecimal digits (so no NUL, control
 *      character, byte >= 0x80, space, '\', '?', '#', ';', lone '%', nor
 *      '+', which civetweb 1.16 reads as a space in a path);
 *      it has no empty segment ("//") except the final one of a directory,
 *      and no segment that ends with a dot, raw or encoded (civetweb would
 *      strip it: the forwarded path must be one Orthanc reads back
 *      unchanged, or the check was made on another path).  The DECODED join
 *      has no control character (no NUL: its length is the sum of the
 *      segments'), no '\', and splits on '/' back into the segments.
 *  P4  Every encoding of a path is classified like its canonical form:
 *      variants (bytes percent-encoded with random-case hex, '/' as '\',
 *      %2F, %2f, %5C, %5c, inserted "/./", "//", "x/../", "x../../",
 *      dots-only segments "...", "../" at the root, dots at the end of a
 *      segment, '.' as %2e/%2E) parse to the same segments and trailing flag
 *      and get the same op_route_find(method, path, 0) for GET, HEAD, POST,
 *      PUT, DELETE, OPTIONS, PROPFIND.  One variant per input (and the
 *      canonical form) is also compared on op_route_find from index 1,
 *      op_decide() at every level with and without rules, the prefix
 *      matches and op_pattern_match() for the header values that are valid
 *      patterns.  The encoded and decoded joins are parsed as variants too.
 *  P5  HEAD is classified like GET; the Apache-side prefix test on the
 *      decoded canonical path agrees with the Orthanc-side one; POST to
 *      /tools/execute-script, /tools/shutdown or /tools/reset is refused
 *      below admin.
 *  M1  op_resolve_method's effective method is the input method, PUT or
 *      DELETE, and a query without _method is forwarded unchanged.
 *  M2  No argument of the query forwarded (when the request is accepted)
 *      is named "_method" as any release reads it: Orthanc 1.9.8 and later on civetweb 1.15/1.16
 *      (the raw name, undecoded: Debian's 1.10.1 and 1.12.7), civetweb
 *      decoding the whole query first (civetweb 1.14, and 1.15+ with
 *      decode_query_string: Orthanc >= 1.12.10; mg_url_decode() with '+'
 *      as a space, cut at a decoded NUL), and Orthanc 1.9.7 and earlier,
 *      whose SplitGETNameValue() ran Toolbox::UrlDecode() (transcribed
 *      below; its Hex2Dec() reads 'g'..'z' as c - 'A' + 10), alone or
 *      after civetweb's decoding.  The last two readers can be switched
 *      off with FUZZ_PATHS_LEGACY_DECODE=0 in the environment.
 *  M3  An accepted GET without an override header runs the decided method
 *      on every release: each of those readings' first _method argument
 *      names it (upper-cased as ExtractMethod() does), or none has one and
 *      it stays GET.
 *  Plus everything ASan, UBSan and LeakSanitizer report.
 *
 * To let ASan see overflows of pool memory, apr_palloc() on the per-input
 * pool is interposed (FUZZ_EXACT_ALLOC, on by default): each allocation is
 * an exact-size malloc() freed after the input.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "access_rules.h"
#include "header_names.h"
#include "method_override.h"
#include "path_canon.h"
#include "pattern.h"
#include "route_table.h"

#ifndef FUZZ_EXACT_ALLOC
#define FUZZ_EXACT_ALLOC 1
#endif

#define N_INPUT_METHODS 8
static const char *const INPUT_METHODS[N_INPUT_METHODS] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PROPFIND", "PATCH"
};

/* Override values the harness adds (byte 0, bits 5-7). */
static const char *const OVERRIDE_VALUES[8] = {
    "PUT", "delete", "POST", "GET", "DeLeTe", "PATCH", "PUT,DELETE", " PUT"
};
/* Look-alike override headers (byte 0, bits 3-4 = 3). */
static const char *const LOOKALIKE_HEADERS[4] = {
    "X-HTTP-Method", "X-Method-Override", "x_http_method_override ",
    "X-HTTP-METHOD-OVERRIDE\t"
};

#define N_ROUTE_METHODS 7
static const char *const ROUTE_METHODS[N_ROUTE_METHODS] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PROPFIND"
};

#define N_FROMS 2            /* op_route_find from index 0 and 1 */
#define N_LEVELS 4           /* read, upload, modify, admin */
#define MAX_PATTERNS 4       /* header values tried as patterns */
#define N_VARIANTS 4

/* ------------------------------------------------------------------------
 * Reporting
 */

static const uint8_t *current_input;
static size_t current_size;

static void print_escaped(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            fputc(c, stderr);
        }
        else {
            fprintf(stderr, "\\x%02x", c);
        }
    }
}

static void fail(int line, const char *condition, const char *format, ...)
{
    va_list args;

    fprintf(stderr, "\nfuzz_paths: invariant violated (fuzz_paths.c:%d): %s\n  ",
            line, condition);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\n  input (%zu bytes): \"", current_size);
    print_escaped((const char *)current_input, current_size);
    fprintf(stderr, "\"\n");
    abort();
}

#define CHECK(condition, ...)                                               \
    do {                                                                    \
        if (!(condition)) {                                                 \
            fail(__LINE__, #condition, __VA_ARGS__);                        \
        }                                                                   \
    } while (0)

/* A printable copy of the N bytes at S, for messages. */
static const char *esc(apr_pool_t *p, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *out, *o;
    size_t i;

    if (s == NULL) {
        return "(null)";
    }
    out = o = apr_palloc(p, 4 * n + 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            *o++ = (char)c;
        }
        else {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

static const char *escs(apr_pool_t *p, const char *s)
{
    return s ? esc(p, s, strlen(s)) : "(null)";
}

/* ------------------------------------------------------------------------
 * Exact-size pool allocations, so that ASan sees overflows of pool memory
 */

#if FUZZ_EXACT_ALLOC
typedef void *(*palloc_fn)(apr_pool_t *, apr_size_t);

static apr_pool_t *exact_pool;
static void **exact_blocks;
static size_t exact_count, exact_capacity;
static palloc_fn real_palloc;

void *apr_palloc(apr_pool_t *p, apr_size_t size)
{
    if (exact_pool != NULL && p == exact_pool) {
        void *block;
        if (exact_count == exact_capacity) {
            size_t capacity = exact_capacity ? 2 * exact_capacity : 1024;
            void **grown = realloc(exact_blocks, capacity * sizeof(*grown));
            if (grown == NULL) {
                abort();
            }
            exact_blocks = grown;
            exact_capacity = capacity;
        }
        block = malloc(size ? size : 1);
        if (block == NULL) {
            abort();
        }
        exact_blocks[exact_count++] = block;
        return block;
    }
    if (real_palloc == NULL) {
        *(void **)&real_palloc = dlsym(RTLD_NEXT, "apr_palloc");
        if (real_palloc == NULL) {
            abort();
        }
    }
    return real_palloc(p, size);
}

static void exact_release(void)
{
    size_t i;
    for (i = 0; i < exact_count; i++) {
        free(exact_blocks[i]);
    }
    exact_count = 0;
}
#endif

/* ------------------------------------------------------------------------
 * Small helpers: a growable byte buffer and a deterministic generator
 */

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static void put(buffer *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *grown;
        while (cap < b->len + n) {
            cap *= 2;
        }
        grown = realloc(b->data, cap);
        if (grown == NULL) {
            abort();
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static uint64_t rng_next(uint64_t *state)
{
    /* xorshift64* */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static unsigned rnd(uint64_t *state, unsigned n)
{
    return (unsigned)((rng_next(state) >> 32) % n);
}

static int is_ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z');
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* ------------------------------------------------------------------------
 * An independent model of Orthanc's reading of a path.  It follows the
 * steps civetweb 1.15 (as Debian builds it for Orthanc 1.10.1) takes in
 * handle_request() as string rewrites, the way civetweb writes them, where
 * path_canon.c works on a list of segments:
 *   1. mg_url_decode(): "%XX" is one byte, anything else stays;
 *   2. remove_dot_segments(), first loop: every '\' becomes '/', then
 *      RFC 3986 5.2.4 runs over the string: "/./" and a final "/." become
 *      "/", "/../" and a final "/.." become "/" and remove the output's last
 *      "/segment", empty segments included;
 *   3. remove_dot_segments(), second loop: a run of dots followed by '/' or
 *      by the end is dropped (with the '/' before it when that would leave
 *      "//"), and runs of '/' become one;
 *   4. Toolbox::SplitUriComponents() in Orthanc: the segments between '/'.
 * Where civetweb reads on but the proxy refuses (NUL, which ends the path
 * for civetweb; other control characters; broken escapes; a raw space or
 * byte above 0x7E, which civetweb answers with 400) the model refuses too.
 */

typedef struct {
    const char *p;
    size_t n;
} span;

typedef struct {
    op_path_status status;
    char *canonical;        /* the path after step 3 */
    span *segments;         /* step 4, pointing into CANONICAL */
    size_t count;
    int trailing;
} model_path;

/* Step 1 with the proxy's refusals; DECODED gets LEN bytes at most. */
static op_path_status model_decode(const char *raw, size_t len, char *decoded,
                                   size_t *n)
{
    size_t i;

    *n = 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        int escaped = c == '%';
        if (escaped) {
            if (len - i < 3 || hex_value((unsigned char)raw[i + 1]) < 0
                || hex_value((unsigned char)raw[i + 2]) < 0) {
                return OP_PATH_BAD_ESCAPE;
            }
            c = (unsigned char)(hex_value((unsigned char)raw[i + 1]) * 16
                                + hex_value((unsigned char)raw[i + 2]));
            i += 2;
        }
        if (c == 0) {
            return OP_PATH_NUL;
        }
        if (c < 0x20 || c == 0x7f) {
            return OP_PATH_CONTROL;
        }
        if (!escaped && (c == ' ' || c > 0x7e)) {
            return OP_PATH_RAW_BYTE;
        }
        decoded[(*n)++] = (char)c;
    }
    decoded[*n] = '\0';
    return OP_PATH_OK;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Removes the last "/segment" of the N bytes at OUT. */
static void drop_last_segment(const char *out, size_t *n)
{
    while (*n > 0) {
        --*n;
        if (out[*n] == '/') {
            break;
        }
    }
}

/* Step 2 over the NUL-terminated IN, into OUT (as large as IN). */
static size_t model_remove_dot_segments(char *in, char *out)
{
    char *c;
    size_t n = 0;

    for (c = in; *c; c++) {
        if (*c == '\\') {
            *c = '/';
        }
    }
    while (*in) {
        if (starts(in, "/./")) {
            in += 2;
        }
        else if (strcmp(in, "/.") == 0) {
            in[1] = '\0';
        }
        else if (starts(in, "/../")) {
            in += 3;
            drop_last_segment(out, &n);
        }
        else if (strcmp(in, "/..") == 0) {
            in[1] = '\0';
            drop_last_segment(out, &n);
        }
        else {
            do {
                out[n++] = *in++;
            } while (*in && *in != '/');
        }
    }
    out[n] = '\0';
    return n;
}

/* Step 3, in place over the N bytes at PATH; returns the new length. */
static size_t model_strip_dots(char *path, size_t n)
{
    size_t in = 0, out = 0;

    while (in < n) {
        if (path[in] == '.') {
            size_t end = in;
            while (end < n && path[end] == '.') {
                end++;
            }
            if (end == n || path[end] == '/') {
                if (end < n && out > 0 && path[out - 1] == '/') {
                    out--;
                }
                in = end;
            }
            else {
                while (in < end) {
                    path[out++] = path[in++];
                }
            }
        }
        else if (path[in] == '/') {
            path[out++] = '/';
            while (in < n && path[in] == '/') {
                in++;
            }
        }
        else {
            path[out++] = path[in++];
        }
    }
    path[out] = '\0';
    return out;
}

static void model_parse(apr_pool_t *p, const char *raw, size_t len,
                        model_path *out)
{
    char *decoded;
    size_t n, i, start;

    memset(out, 0, sizeof(*out));
    if (len == 0 || raw[0] != '/') {
        out->status = OP_PATH_NOT_ABSOLUTE;
        return;
    }
    decoded = apr_palloc(p, len + 1);
    out->status = model_decode(raw, len, decoded, &n);
    if (out->status != OP_PATH_OK) {
        return;
    }
    out->canonical = apr_palloc(p, n + 1);
    n = model_remove_dot_segments(decoded, out->canonical);
    n = model_strip_dots(out->canonical, n);

    out->segments = apr_palloc(p, (n + 1) * sizeof(span));
    start = 0;
    for (i = 0; i <= n; i++) {
        if (i == n || out->canonical[i] == '/') {
            if (i > start) {
                out->segments[out->count].p = out->canonical + start;
                out->segments[out->count].n = i - start;
                out->count++;
            }
            start = i + 1;
        }
    }
    out->trailing = n > 0 && out->canonical[n - 1] == '/' && out->count > 0;
}

/* ------------------------------------------------------------------------
 * Comparisons of op_path values
 */

static int segment_count(const op_path *path)
{
    return path->segments->nelts;
}

static const char *segment(const op_path *path, int i)
{
    return APR_ARRAY_IDX(path->segments, i, const char *);
}

static const char *describe(apr_pool_t *p, const op_path *path, int from)
{
    return esc(p, op_path_join(p, path, from, OP_PATH_DECODED),
               strlen(op_path_join(p, path, from, OP_PATH_DECODED)));
}

/* Whether B's segments are A's from index FROM on, with the same
 * trailing flag (meaningless, hence not compared, when there are none). */
static int same_path(const op_path *a, int from, const op_path *b)
{
    int i, count = segment_count(a) - from;

    if (count < 0) {
        count = 0;
    }
    if (segment_count(b) != count) {
        return 0;
    }
    for (i = 0; i < count; i++) {
        if (strcmp(segment(a, from + i), segment(b, i)) != 0) {
            return 0;
        }
    }
    return count == 0 || a->trailing_slash == b->trailing_slash;
}

static void check_against_model(apr_pool_t *p, const char *raw, size_t len,
                                op_path_status status, const op_path *path)
{
    model_path model;
    size_t i;

    model_parse(p, raw, len, &model);
    CHECK(status == model.status,
          "op_path_parse says %d (%s), Orthanc's reading says %d (%s) for \"%s\"",
          (int)status, op_path_status_reason(status), (int)model.status,
          op_path_status_reason(model.status), esc(p, raw, len));
    if (status != OP_PATH_OK) {
        return;
    }
    CHECK((size_t)segment_count(path) == model.count,
          "%d segments, Orthanc reads %zu in \"%s\" (canonical \"%s\")",
          segment_count(path), model.count, esc(p, raw, len),
          describe(p, path, 0));
    for (i = 0; i < model.count; i++) {
        const char *seg = segment(path, (int)i);
        CHECK(strlen(seg) == model.segments[i].n
              && memcmp(seg, model.segments[i].p, model.segments[i].n) == 0,
              "segment %zu is \"%s\", Orthanc reads \"%s\" in \"%s\"", i,
              escs(p, seg), esc(p, model.segments[i].p, model.segments[i].n),
              esc(p, raw, len));
    }
    CHECK(path->trailing_slash == model.trailing,
          "trailing flag %d, Orthanc's reading %d for \"%s\"",
          path->trailing_slash, model.trailing, esc(p, raw, len));
}

/* ------------------------------------------------------------------------
 * P2, P3: the joins
 */

static int is_wire_literal_spec(unsigned char c)
{
    return is_ascii_alnum(c) || (c != '\0' && strchr("-._~!$&'(),=:@", c));
}

static void check_encoded(apr_pool_t *p, const op_path *path, int from,
                          const char *enc)
{
    int count = segment_count(path) - from;
    size_t i, len = strlen(enc), start, pieces = 0;

    if (count < 0) {
        count = 0;
    }
    CHECK(enc[0] == '/', "encoded join \"%s\" does not start with '/'",
          escs(p, enc));
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)enc[i];
        if (c == '%') {
            CHECK(hex_value((unsigned char)enc[i + 1]) >= 0
                  && hex_value((unsigned char)enc[i + 2]) >= 0,
                  "encoded join \"%s\" has a '%%' without two hex digits at %zu",
                  escs(p, enc), i);
            i += 2;
        }
        else {
            CHECK(c == '/' || is_wire_literal_spec(c),
                  "encoded join \"%s\" has the raw byte 0x%02x at %zu",
                  escs(p, enc), c, i);
        }
    }
    if (count == 0) {
        CHECK(strcmp(enc, "/") == 0, "encoded join of no segment is \"%s\"",
              escs(p, enc));
        return;
    }
    /* Pieces after the leading '/'. */
    start = 1;
    for (i = 1; i <= len; i++) {
        if (i == len || enc[i] == '/') {
            const char *piece = enc + start;
            size_t plen = i - start;
            int last = i == len;

            if (plen == 0) {
                CHECK(last && path->trailing_slash && pieces == (size_t)count,
                      "encoded join \"%s\" has an empty segment at %zu",
                      escs(p, enc), start);
            }
            else {
                size_t j, dots = 0, other = 0;
                pieces++;
                for (j = 0; j < plen; j++) {
                    if (piece[j] == '.') {
                        dots++;
                    }
                    else if (piece[j] == '%' && j + 2 < plen
                             && piece[j + 1] == '2'
                             && (piece[j + 2] == 'e' || piece[j + 2] == 'E')) {
                        dots++;
                        j += 2;
                    }
                    else {
                        other++;
                    }
                }
                CHECK(other > 0 || dots > 2,
                      "encoded join \"%s\" has a dot segment at %zu",
                      escs(p, enc), start);
            }
            start = i + 1;
        }
    }
    CHECK(pieces == (size_t)count,
          "encoded join \"%s\" has %zu segments, the path %d", escs(p, enc),
          pieces, count);
    CHECK(strstr(enc, "//") == NULL, "encoded join \"%s\" contains \"//\"",
          escs(p, enc));
}

static void check_decoded(apr_pool_t *p, const op_path *path, int from,
                          const char *dec)
{
    int i, count = segment_count(path) - from;
    size_t expected = 0, len = strlen(dec), at = 0;

    if (count <= 0) {
        CHECK(strcmp(dec, "/") == 0, "decoded join of no segment is \"%s\"",
              escs(p, dec));
        return;
    }
    for (i = 0; i < count; i++) {
        expected += 1 + strlen(segment(path, from + i));
    }
    expected += path->trailing_slash ? 1 : 0;
    CHECK(len == expected, "decoded join \"%s\" is %zu bytes long, not %zu",
          escs(p, dec), len, expected);
    for (at = 0; at < len; at++) {
        unsigned char c = (unsigned char)dec[at];
        CHECK(c >= 0x20 && c != 0x7f && c != '\\',
              "decoded join \"%s\" has the byte 0x%02x", escs(p, dec), c);
    }
    at = 0;
    for (i = 0; i < count; i++) {
        const char *seg = segment(path, from + i);
        size_t n = strlen(seg);
        CHECK(n > 0 && strchr(seg, '/') == NULL && seg[n - 1] != '.',
              "segment \"%s\" is empty, ends with a dot (which Orthanc "
              "would strip) or has a '/'", escs(p, seg));
        CHECK(dec[at] == '/' && strncmp(dec + at + 1, seg, n) == 0,
              "decoded join \"%s\" does not hold segment %d \"%s\"",
              escs(p, dec), from + i, escs(p, seg));
        at += 1 + n;
    }
}

/* P2 and P3 for the part of PATH from FROM on. */
static void check_canonical(apr_pool_t *p, const op_path *path, int from)
{
    char *enc = op_path_join(p, path, from, OP_PATH_ENCODED);
    char *dec = op_path_join(p, path, from, OP_PATH_DECODED);
    size_t len = strlen(enc);
    char *copy = malloc(len);   /* exactly LEN bytes, no terminator */
    op_path again;
    op_path_status status;

    check_encoded(p, path, from, enc);
    check_decoded(p, path, from, dec);

    if (copy == NULL) {
        abort();
    }
    memcpy(copy, enc, len);
    status = op_path_parse(p, copy, len, &again);
    free(copy);
    CHECK(status == OP_PATH_OK, "the encoded join \"%s\" is refused: %s",
          escs(p, enc), op_path_status_reason(status));
    CHECK(same_path(path, from, &again),
          "the encoded join \"%s\" reads as \"%s\" (trailing %d), not \"%s\" "
          "(trailing %d)", escs(p, enc), describe(p, &again, 0),
          again.trailing_slash, describe(p, path, from), path->trailing_slash);
    CHECK(strcmp(op_path_join(p, &again, 0, OP_PATH_ENCODED), enc) == 0,
          "encoding twice: \"%s\" becomes \"%s\"", escs(p, enc),
          escs(p, op_path_join(p, &again, 0, OP_PATH_ENCODED)));
    CHECK(strcmp(op_path_join(p, &again, 0, OP_PATH_DECODED), dec) == 0,
          "decoding twice: \"%s\" becomes \"%s\"", escs(p, dec),
          escs(p, op_path_join(p, &again, 0, OP_PATH_DECODED)));
}

/* ------------------------------------------------------------------------
 * P4, P5: classification
 */

typedef struct {
    const op_route *routes[N_FROMS][N_ROUTE_METHODS];
    int allowed[2][N_LEVELS];          /* [with rules][level - 1] */
    const char *rule[2][N_LEVELS];
    const char *reason[2][N_LEVELS];
    op_prefix_match prefix[3];
    int pattern_match[MAX_PATTERNS];
} classification;

typedef struct {
    const char *method;                /* effective method */
    apr_array_header_t *rules;
    op_path prefixes[3];
    const char *patterns[MAX_PATTERNS];
    int n_patterns;
} context;

static const char *const PREFIXES[3] = { "/orthanc/", "/", "/a/b/" };

/* Classifies PATH: the routes of every method from index 0 and, when FULL,
 * from index 1 too, the decisions, the prefix and pattern matches.  (The
 * route table has some 160 entries: doing everything for every variant
 * would divide the speed by three.) */
static void classify(apr_pool_t *p, const context *ctx, const op_path *path,
                     int full, classification *out)
{
    int f, m, l, r;

    memset(out, 0, sizeof(*out));
    for (f = 0; f < (full ? N_FROMS : 1); f++) {
        if (f > segment_count(path)) {
            continue;
        }
        for (m = 0; m < N_ROUTE_METHODS; m++) {
            out->routes[f][m] = op_route_find(ROUTE_METHODS[m], path, f);
        }
    }
    if (!full) {
        return;
    }
    for (r = 0; r < 2; r++) {
        for (l = 0; l < N_LEVELS; l++) {
            op_decision d = op_decide(p, (op_level)(OP_LEVEL_READ + l),
                                      r ? ctx->rules : NULL, ctx->method,
                                      path, 0);
            out->allowed[r][l] = d.allowed;
            out->rule[r][l] = d.rule;
            out->reason[r][l] = d.reason;
        }
    }
    for (l = 0; l < 3; l++) {
        out->prefix[l] = op_path_match_prefix(path, &ctx->prefixes[l]);
    }
    for (l = 0; l < ctx->n_patterns; l++) {
        out->pattern_match[l] = op_pattern_match(ctx->patterns[l], path, 0);
    }
}

static int same_string(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static void check_same_classification(apr_pool_t *p, const char *what,
                                      const char *raw, size_t len, int full,
                                      const classification *want,
                                      const classification *got)
{
    int f, m, r, l;

    for (f = 0; f < (full ? N_FROMS : 1); f++) {
        for (m = 0; m < N_ROUTE_METHODS; m++) {
            const op_route *a = want->routes[f][m], *b = got->routes[f][m];
            CHECK(a == b, "%s \"%s\": %s from %d finds route %s, the canonical "
                  "form %s", what, esc(p, raw, len), ROUTE_METHODS[m], f,
                  b ? b->pattern : "(none)", a ? a->pattern : "(none)");
        }
    }
    if (!full) {
        return;
    }
    for (r = 0; r < 2; r++) {
        for (l = 0; l < N_LEVELS; l++) {
            CHECK(want->allowed[r][l] == got->allowed[r][l]
                  && same_string(want->rule[r][l], got->rule[r][l])
                  && same_string(want->reason[r][l], got->reason[r][l]),
                  "%s \"%s\": op_decide (level %s, rules %d) gives %d %s, "
                  "the canonical form %d %s", what, esc(p, raw, len),
                  op_level_name((op_level)(OP_LEVEL_READ + l)), r,
                  got->allowed[r][l], escs(p, got->reason[r][l]),
                  want->allowed[r][l], escs(p, want->reason[r][l]));
        }
    }
    for (l = 0; l < 3; l++) {
        CHECK(want->prefix[l] == got->prefix[l],
              "%s \"%s\": prefix %s matches %d, the canonical form %d", what,
              esc(p, raw, len), PREFIXES[l], (int)got->prefix[l],
              (int)want->prefix[l]);
    }
    for (l = 0; l < MAX_PATTERNS; l++) {
        CHECK(want->pattern_match[l] == got->pattern_match[l],
              "%s \"%s\": pattern %d matches %d, the canonical form %d", what,
              esc(p, raw, len), l, got->pattern_match[l],
              want->pattern_match[l]);
    }
}

/* Routes under /tools that only admin may POST to (DESIGN.md). */
static const char *const ADMIN_ONLY[] = {
    "execute-script", "shutdown", "reset", NULL
};

static void check_fixed_properties(apr_pool_t *p, const op_path *path)
{
    int f, l;
    const char *const *admin;
    static const char *const PREFIX_BARE[3] = { "/orthanc", "", "/a/b" };
    const char *dec = op_path_join(p, path, 0, OP_PATH_DECODED);

    for (f = 0; f < N_FROMS && f <= segment_count(path); f++) {
        CHECK(op_route_find("HEAD", path, f) == op_route_find("GET", path, f),
              "HEAD and GET %s from %d find different routes",
              describe(p, path, 0), f);
        for (admin = ADMIN_ONLY; *admin; admin++) {
            if (segment_count(path) - f == 2
                && strcmp(segment(path, f), "tools") == 0
                && strcmp(segment(path, f + 1), *admin) == 0) {
                for (l = OP_LEVEL_READ; l < OP_LEVEL_ADMIN; l++) {
                    op_decision d = op_decide(p, (op_level)l, NULL, "POST",
                                              path, f);
                    CHECK(!d.allowed, "POST %s (from %d) is allowed at level %s",
                          describe(p, path, 0), f, op_level_name((op_level)l));
                }
            }
        }
    }
    /* Apache's <Location> test on the canonical decoded path agrees with
     * the segment-wise test. */
    for (l = 0; l < 3; l++) {
        op_path prefix;
        op_prefix_match by_uri = op_uri_match_prefix(dec, PREFIX_BARE[l]);
        if (op_path_parse(p, PREFIXES[l], strlen(PREFIXES[l]), &prefix)
            != OP_PATH_OK) {
            abort();
        }
        CHECK(by_uri == op_path_match_prefix(path, &prefix),
              "prefix %s: op_uri_match_prefix(\"%s\") = %d, "
              "op_path_match_prefix = %d", PREFIXES[l], escs(p, dec),
              (int)by_uri, (int)op_path_match_prefix(path, &prefix));
    }
}

/* ------------------------------------------------------------------------
 * P4: variants of an accepted path
 */

typedef struct {
    unsigned encode;      /* chance in 256 to percent-encode a byte */
    unsigned separator;   /* chance in 256 to write a separator otherwise */
    unsigned insert;      /* chance in 256 to insert a neutral piece */
} variant_mode;

static void emit_escape(buffer *b, uint64_t *state, unsigned char c)
{
    static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
    char e[3];
    e[0] = '%';
    e[1] = (rnd(state, 2) ? upper : lower)[c >> 4];
    e[2] = (rnd(state, 2) ? upper : lower)[c & 15];
    put(b, e, 3);
}

static void emit_byte(buffer *b, uint64_t *state, const variant_mode *mode,
                      unsigned char c)
{
    /* '%', a space and bytes above 0x7E only ever go escaped. */
    if (c == '%' || c == ' ' || c > 0x7e || rnd(state, 256) < mode->encode) {
        emit_escape(b, state, c);
    }
    else {
        put(b, (const char *)&c, 1);
    }
}

static void emit_separator(buffer *b, uint64_t *state, const variant_mode *mode)
{
    static const char *const FORMS[] = { "\\", "%2F", "%2f", "%5C", "%5c", "/" };
    const char *form = "/";
    if (rnd(state, 256) < mode->separator) {
        form = FORMS[rnd(state, 6)];
    }
    put(b, form, strlen(form));
}

static void emit_text(buffer *b, uint64_t *state, const variant_mode *mode,
                      const char *text)
{
    for (; *text; text++) {
        if (*text == '/') {
            emit_separator(b, state, mode);
        }
        else {
            emit_byte(b, state, mode, (unsigned char)*text);
        }
    }
}

/* Pieces that change nothing right after a separator. */
static const char *const NEUTRAL[] = {
    "./", "/", "x/../", ".../../", "%/../", "a.b/./../", "x/y/../../", "././/",
    ".../", "..../", "x./../", "x../../"
};
/* Pieces that change nothing right after the leading '/' (the root). */
static const char *const NEUTRAL_AT_ROOT[] = { "../", "../../", "./../", "..//" };

static void emit_insertion(buffer *b, uint64_t *state,
                           const variant_mode *mode, int at_root)
{
    const char *text;
    if (at_root && rnd(state, 2)) {
        text = NEUTRAL_AT_ROOT[rnd(state, sizeof(NEUTRAL_AT_ROOT)
                                          / sizeof(NEUTRAL_AT_ROOT[0]))];
    }
    else {
        text = NEUTRAL[rnd(state, sizeof(NEUTRAL) / sizeof(NEUTRAL[0]))];
    }
    emit_text(b, state, mode, text);
}

/* Dots civetweb strips from the end of a segment (P4). */
static const char *const TRAILING_DOTS[] = { ".", "..", "...", "%2e", "%2E." };

/* A new spelling of the accepted path MODEL, as malloc()ed bytes of
 * exactly *LEN bytes.  It is built from the canonical segments, which hold
 * no dot segment, so that an inserted empty segment is never the one a
 * following ".." would remove. */
static char *make_variant(const model_path *model, uint64_t *state,
                          const variant_mode *mode, size_t *len)
{
    buffer b = { NULL, 0, 0 };
    char *exact;
    size_t i, j;

    put(&b, "/", 1);             /* the leading '/' stays a raw '/' */
    if (rnd(state, 256) < mode->insert) {
        emit_insertion(&b, state, mode, 1);
    }
    for (i = 0; i < model->count; i++) {
        if (i > 0) {
            emit_separator(&b, state, mode);
            if (rnd(state, 256) < mode->insert) {
                emit_insertion(&b, state, mode, 0);
            }
        }
        for (j = 0; j < model->segments[i].n; j++) {
            emit_byte(&b, state, mode, (unsigned char)model->segments[i].p[j]);
        }
        if (rnd(state, 256) < mode->insert) {
            const char *dots = TRAILING_DOTS[rnd(state, sizeof(TRAILING_DOTS)
                                                 / sizeof(TRAILING_DOTS[0]))];
            put(&b, dots, strlen(dots));
        }
    }
    if (model->trailing) {
        emit_separator(&b, state, mode);
    }
    exact = malloc(b.len);
    if (exact == NULL) {
        abort();
    }
    memcpy(exact, b.data, b.len);
    free(b.data);
    *len = b.len;
    return exact;
}

/* Parses the spelling RAW of CANONICAL and checks it reads the same;
 * HOW: 0 not at all, 1 routes from index 0, 2 everything. */
static void check_variant(apr_pool_t *p, const context *ctx,
                          const char *what, const char *raw, size_t len,
                          const op_path *canonical, int how,
                          const classification *want)
{
    op_path path;
    classification got;
    op_path_status status = op_path_parse(p, raw, len, &path);

    CHECK(status == OP_PATH_OK, "%s \"%s\" of \"%s\" is refused: %s", what,
          esc(p, raw, len), describe(p, canonical, 0),
          op_path_status_reason(status));
    CHECK(same_path(canonical, 0, &path),
          "%s \"%s\" reads as \"%s\" (trailing %d), the original as \"%s\" "
          "(trailing %d)", what, esc(p, raw, len), describe(p, &path, 0),
          path.trailing_slash, describe(p, canonical, 0),
          canonical->trailing_slash);
    if (how > 0) {
        classify(p, ctx, &path, how == 2, &got);
        check_same_classification(p, what, raw, len, how == 2, want, &got);
    }
}

/* Whether TEXT can be sent as it is: no '%', and none of the bytes that
 * only go escaped (a space, bytes above 0x7E). */
static int is_plain_text(const char *text)
{
    for (; *text; text++) {
        unsigned char c = (unsigned char)*text;
        if (c == '%' || c == ' ' || c > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static uint64_t hash_input(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a */
    size_t i;
    for (i = 0; i < size; i++) {
        h ^= data[i];
        h *= 0x100000001b3ULL;
    }
    return h ? h : 1;
}

static void check_variants(apr_pool_t *p, const context *ctx,
                           const char *raw, size_t len,
                           const op_path *canonical, uint64_t seed)
{
    classification want;
    model_path model;
    uint64_t state = seed;
    const char *enc = op_path_join(p, canonical, 0, OP_PATH_ENCODED);
    const char *dec = op_path_join(p, canonical, 0, OP_PATH_DECODED);
    int v, full_one = (int)(seed % N_VARIANTS);

    classify(p, ctx, canonical, 1, &want);
    check_variant(p, ctx, "the encoded join", enc, strlen(enc), canonical, 0,
                  &want);
    if (is_plain_text(dec)) {
        check_variant(p, ctx, "the decoded join", dec, strlen(dec), canonical,
                      0, &want);
    }

    model_parse(p, raw, len, &model);
    for (v = 0; v < N_VARIANTS; v++) {
        variant_mode mode;
        size_t vlen;
        char *variant;

        switch (v) {
        case 0:  mode.encode = 0;   mode.separator = 256; mode.insert = 0;   break;
        case 1:  mode.encode = 256; mode.separator = 0;   mode.insert = 0;   break;
        case 2:  mode.encode = 64;  mode.separator = 128; mode.insert = 64;  break;
        default:
            mode.encode = rnd(&state, 257);
            mode.separator = rnd(&state, 257);
            mode.insert = rnd(&state, 257);
            break;
        }
        variant = make_variant(&model, &state, &mode, &vlen);
        check_variant(p, ctx, "the variant", variant, vlen, canonical,
                      v == full_one ? 2 : 1, &want);
        free(variant);
    }
}

/* ------------------------------------------------------------------------
 * M1, M2: method resolution
 */

/* Whether to check M2 against Orthanc <= 1.9.7 (FUZZ_PATHS_LEGACY_DECODE). */
static int check_legacy_decode = 1;

/* Toolbox::UrlDecode() with its Hex2Dec() as Orthanc <= 1.9.7 applied it
 * to GET argument names: '%' and two ASCII letters or digits make one
 * byte, a letter outside a-f counting as c - 'A' + 10; '+' is a space.
 * Returns the decoded length. */
static int orthanc_hex2dec(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return c - 'A' + 10;
}

static size_t orthanc_url_decode(const char *in, size_t len, char *out)
{
    size_t s = 0, t = 0;
    while (s < len) {
        if (in[s] == '%' && s + 2 < len && is_ascii_alnum((unsigned char)in[s + 1])
            && is_ascii_alnum((unsigned char)in[s + 2])) {
            out[t++] = (char)(unsigned char)
                ((orthanc_hex2dec((unsigned char)in[s + 1]) << 4)
                 | orthanc_hex2dec((unsigned char)in[s + 2]));
            s += 3;
        }
        else {
            out[t++] = in[s] == '+' ? ' ' : in[s];
            s++;
        }
    }
    return t;
}

/* civetweb's mg_url_decode() with is_form_url_encoded=1, as handle_request()
 * (step 1.3) applies it to the whole query string: civetweb 1.14 and older
 * always, 1.15 and 1.16 with decode_query_string (Orthanc >= 1.12.10).
 * '%' and two hexadecimal digits make one byte, '+' is a space; the result
 * is the C string Orthanc is given, so it ends at the first decoded NUL.
 * Returns the decoded length. */
static size_t civetweb_query_decode(const char *in, size_t len, char *out)
{
    size_t s = 0, t = 0;
    while (s < len) {
        int c;
        if (in[s] == '%' && s + 2 < len && hex_value((unsigned char)in[s + 1]) >= 0
            && hex_value((unsigned char)in[s + 2]) >= 0) {
            c = (hex_value((unsigned char)in[s + 1]) << 4)
                | hex_value((unsigned char)in[s + 2]);
            s += 3;
        }
        else {
            c = in[s] == '+' ? ' ' : (unsigned char)in[s];
            s++;
        }
        if (c == 0) {
            break;
        }
        out[t++] = (char)c;
    }
    out[t] = '\0';
    return t;
}

/* The first _method argument of the LEN bytes at QUERY as Orthanc's
 * ParseGetArguments() and ExtractMethod() read them: split on '&', name up
 * to the first '=', names decoded by Toolbox::UrlDecode() first when
 * LEGACY (Orthanc <= 1.9.7).  Returns the number of _method arguments and
 * sets *VALUE to the first one's value (undecoded: only its being plain PUT
 * or DELETE matters). */
static int method_arguments(apr_pool_t *p, const char *query, size_t len,
                            int legacy, const char **value)
{
    size_t start = 0;
    int count = 0;

    *value = NULL;
    while (start <= len) {
        const char *piece = query + start;
        const char *amp = memchr(piece, '&', len - start);
        size_t piece_len = amp ? (size_t)(amp - piece) : len - start;
        const char *equals = memchr(piece, '=', piece_len);
        size_t name_len = equals ? (size_t)(equals - piece) : piece_len;
        int named;

        if (legacy) {
            char *decoded = apr_palloc(p, name_len + 1);
            size_t decoded_len = orthanc_url_decode(piece, name_len, decoded);
            named = decoded_len == 7 && memcmp(decoded, "_method", 7) == 0;
        }
        else {
            named = name_len == 7 && memcmp(piece, "_method", 7) == 0;
        }
        if (named && count++ == 0) {
            *value = equals ? apr_pstrmemdup(p, equals + 1,
                                             piece_len - name_len - 1) : "";
        }
        if (amp == NULL) {
            break;
        }
        start += piece_len + 1;
    }
    return count;
}

#define N_READINGS 4
static const char *const READING_NAMES[N_READINGS] = {
    "Orthanc >= 1.9.8 on civetweb 1.15/1.16 (Debian's 1.10.1, 1.12.7)",
    "civetweb decoding first (civetweb 1.14 builds, Orthanc >= 1.12.10)",
    "Orthanc <= 1.9.7 (Toolbox::UrlDecode on names)",
    "civetweb 1.14 and Orthanc <= 1.9.7 (decoded twice)",
};

/* The number of _method arguments in QUERY under reading R (bit 0:
 * civetweb decodes the whole query first; bit 1: Orthanc <= 1.9.7 decodes
 * names), and the first one's value. */
static int method_arguments_read(apr_pool_t *p, const char *query, int r,
                                 const char **value)
{
    size_t len = strlen(query);
    if (r & 1) {
        char *decoded = apr_palloc(p, len + 1);
        len = civetweb_query_decode(query, len, decoded);
        query = decoded;
    }
    if ((r & 2) && !check_legacy_decode) {
        *value = NULL;
        return 0;
    }
    return method_arguments(p, query, len, r & 2, value);
}

/* Whether some reading finds an argument named _method in QUERY; sets
 * *WHICH to a description. */
static int has_method_argument(apr_pool_t *p, const char *query,
                               const char **which)
{
    int r;
    for (r = 0; r < N_READINGS; r++) {
        const char *value;
        if (method_arguments_read(p, query, r, &value) > 0) {
            *which = apr_psprintf(p, "%s reads _method=\"%s\"",
                                  READING_NAMES[r], escs(p, value));
            return 1;
        }
    }
    return 0;
}

/* M3: an accepted GET without a header override runs, on every release,
 * the method the proxy decided on: each reading's first _method names it,
 * or there is none and it stays GET.  Orthanc upper-cases the value. */
static void check_every_reading_runs(apr_pool_t *p, const char *query,
                                     const char *effective)
{
    int r;
    for (r = 0; r < N_READINGS; r++) {
        const char *value;
        char *upper;
        size_t i;

        if (method_arguments_read(p, query, r, &value) == 0
            || value[0] == '\0') {
            CHECK(strcmp(effective, "GET") == 0,
                  "GET ?%s was decided as %s, but %s sees no override",
                  escs(p, query), effective, READING_NAMES[r]);
            continue;
        }
        upper = apr_pstrdup(p, value);
        for (i = 0; upper[i]; i++) {
            if (upper[i] >= 'a' && upper[i] <= 'z') {
                upper[i] = (char)(upper[i] - 'a' + 'A');
            }
        }
        CHECK(strcmp(upper, effective) == 0,
              "GET ?%s was decided as %s, but %s runs _method=%s",
              escs(p, query), effective, READING_NAMES[r], escs(p, value));
    }
}

/* apr_table_do callback: 0 (stop) on a header that overrides the method
 * for Orthanc (any spelling the module honours or refuses). */
static int no_override_header(void *data, const char *name, const char *value)
{
    (void)data;
    (void)value;
    return !op_is_override_header(name);
}

static const char *check_method(apr_pool_t *p, const char *method,
                                const apr_table_t *headers, const char *query)
{
    const char *effective = NULL, *forward = NULL, *which = NULL;
    const char *err = op_resolve_method(p, method, headers, query, &effective,
                                        &forward);

    CHECK(effective != NULL, "op_resolve_method set no effective method%s", "");
    CHECK(strcmp(effective, method) == 0 || strcmp(effective, "PUT") == 0
          || strcmp(effective, "DELETE") == 0,
          "%s became \"%s\" (query \"%s\", error %s)", method,
          escs(p, effective), escs(p, query), escs(p, err));
    if (query == NULL) {
        CHECK(forward == NULL, "no query, but \"%s\" is forwarded",
              escs(p, forward));
        return err ? NULL : effective;
    }
    CHECK(forward != NULL, "the query \"%s\" is forwarded as NULL",
          escs(p, query));
    /* A refused request is not forwarded. */
    CHECK(err != NULL || !has_method_argument(p, forward, &which),
          "%s %s: the forwarded query \"%s\" (from \"%s\") still carries "
          "_method: %s", method, err ? "refused" : "accepted",
          escs(p, forward), escs(p, query), which);
    if (!has_method_argument(p, query, &which)) {
        CHECK(strcmp(forward, query) == 0,
              "the query \"%s\" has no _method but is forwarded as \"%s\"",
              escs(p, query), escs(p, forward));
    }
    if (err == NULL && strcmp(method, "GET") == 0
        && apr_table_do(no_override_header, NULL, headers, NULL)) {
        check_every_reading_runs(p, query, effective);
    }
    return err ? NULL : effective;
}

/* ------------------------------------------------------------------------
 * Entry points
 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *legacy = getenv("FUZZ_PATHS_LEGACY_DECODE");

    if (legacy && strcmp(legacy, "0") == 0) {
        check_legacy_decode = 0;
    }
    if (apr_initialize() != APR_SUCCESS) {
        abort();
    }
    atexit(apr_terminate);
    return 0;
}

static void run(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const char *method = INPUT_METHODS[data[0] % N_INPUT_METHODS];
    const char *rest = (const char *)data + 1;
    size_t rest_len = size - 1;
    const char *qmark = memchr(rest, '?', rest_len);
    size_t path_len = qmark ? (size_t)(qmark - rest) : rest_len;
    const char *query = NULL;
    apr_table_t *headers = apr_table_make(p, 4);
    context ctx;
    op_path path;
    op_path_status status;
    char *raw;
    const char *effective;
    int i;

    memset(&ctx, 0, sizeof(ctx));

    /* Query and header lines. */
    if (qmark) {
        const char *q = qmark + 1;
        size_t q_left = rest_len - path_len - 1;
        const char *newline = memchr(q, '\n', q_left);
        size_t q_len = newline ? (size_t)(newline - q) : q_left;

        query = apr_pstrmemdup(p, q, q_len);
        if (newline) {
            const char *line = newline + 1;
            const char *end = q + q_left;
            while (line < end) {
                const char *eol = memchr(line, '\n', (size_t)(end - line));
                size_t line_len = eol ? (size_t)(eol - line) : (size_t)(end - line);
                const char *colon = memchr(line, ':', line_len);
                size_t name_len = colon ? (size_t)(colon - line) : line_len;
                const char *value = colon ? colon + 1 : line + line_len;
                size_t value_len = line_len - (size_t)(value - line);

                while (value_len > 0 && (*value == ' ' || *value == '\t')) {
                    value++;
                    value_len--;
                }
                apr_table_add(headers, apr_pstrmemdup(p, line, name_len),
                              apr_pstrmemdup(p, value, value_len));
                if (ctx.n_patterns < MAX_PATTERNS) {
                    const char *candidate = apr_pstrmemdup(p, value, value_len);
                    if (op_pattern_check(p, candidate) == NULL) {
                        ctx.patterns[ctx.n_patterns++] = candidate;
                    }
                    (void)op_methods_check(p, candidate);
                }
                line += line_len + 1;
            }
        }
    }

    /* The override byte 0 asks for. */
    {
        const char *value = OVERRIDE_VALUES[(data[0] >> 5) & 7];
        switch ((data[0] >> 3) & 3) {
        case 1:
            query = query ? apr_pstrcat(p, query, "&_method=", value, NULL)
                          : apr_pstrcat(p, "_method=", value, NULL);
            break;
        case 2:
            apr_table_add(headers, "X-HTTP-Method-Override", value);
            break;
        case 3:
            apr_table_add(headers, LOOKALIKE_HEADERS[(data[0] >> 5) & 3], value);
            break;
        default:
            break;
        }
    }

    effective = check_method(p, method, headers, query);

    /* The path, as exactly PATH_LEN bytes without a terminator. */
    raw = malloc(path_len ? path_len : 1);
    if (raw == NULL) {
        abort();
    }
    memcpy(raw, rest, path_len);
    status = op_path_parse(p, raw, path_len, &path);
    (void)op_path_status_reason(status);
    check_against_model(p, raw, path_len, status, &path);
    if (status != OP_PATH_OK) {
        free(raw);
        return;
    }

    check_canonical(p, &path, 0);
    if (segment_count(&path) >= 1) {
        check_canonical(p, &path, 1);
    }
    check_fixed_properties(p, &path);

    ctx.method = effective ? effective : method;
    ctx.rules = apr_array_make(p, 4, sizeof(op_rule));
    {
        static const struct { int allow; const char *methods, *pattern; } RULES[] = {
            { 0, "PUT,DELETE", "/patients/*" },
            { 1, "GET POST", "/dicom-web/**" },
            { 0, "*", "/tools/execute-script" },
            { 1, "POST", "/tools/find" },
        };
        for (i = 0; i < (int)(sizeof(RULES) / sizeof(RULES[0])); i++) {
            op_rule *rule = apr_array_push(ctx.rules);
            const char *err = op_rule_make(p, RULES[i].allow, RULES[i].methods,
                                           RULES[i].pattern, rule);
            CHECK(err == NULL, "the rule %s %s is refused: %s",
                  RULES[i].methods, RULES[i].pattern, err);
        }
    }
    for (i = 0; i < 3; i++) {
        if (op_path_parse(p, PREFIXES[i], strlen(PREFIXES[i]), &ctx.prefixes[i])
            != OP_PATH_OK) {
            abort();
        }
    }
    check_variants(p, &ctx, raw, path_len, &path, hash_input(data, size));
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;

    if (size < 1) {
        return 0;
    }
    current_input = data;
    current_size = size;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        abort();
    }
#if FUZZ_EXACT_ALLOC
    exact_pool = pool;
#endif
    run(pool, data, size);
#if FUZZ_EXACT_ALLOC
    exact_pool = NULL;
#endif
    apr_pool_destroy(pool);
#if FUZZ_EXACT_ALLOC
    exact_release();
#endif
    return 0;
}
