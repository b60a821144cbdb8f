/* SPDX-License-Identifier: Apache-2.0 */
/*
 * path_canon.c - a request path as Orthanc will route it (see path_canon.h).
 */
#include "path_canon.h"
#include "hex.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

/* How a byte of the path is read: refused, or taken as it is.  RAW says
 * whether it came as itself or from an escape: civetweb refuses a request
 * whose target holds a space or any byte outside 0x21-0x7E as itself
 * (get_uri_type()), but takes every byte an escape produces; the proxy
 * refuses the escaped control characters too, as nothing needs them. */
static op_path_status classify_byte(unsigned char c, int raw)
{
    if (c == 0) {
        return OP_PATH_NUL;
    }
    if (c < 0x20 || c == 0x7f) {
        return OP_PATH_CONTROL;
    }
    if (raw && (c == ' ' || c > 0x7e)) {
        return OP_PATH_RAW_BYTE;
    }
    return OP_PATH_OK;
}

/* Percent-decodes RAW once into a NUL-terminated buffer, turning '\' into
 * '/': civetweb decodes the whole path (mg_url_decode()) and then reads a
 * backslash as a separator (remove_dot_segments()), so "%5c" separates too.
 * A raw '+' stays a '+', as RFC 3986 and civetweb 1.14 and 1.15 read it;
 * civetweb 1.16 reads it as a space, which is why the proxy forwards it
 * escaped (is_wire_literal()).  civetweb keeps a '%' that starts no valid
 * escape and stops the path at a decoded NUL; both are refused here. */
static op_path_status decode(apr_pool_t *p, const char *raw, apr_size_t len,
                             char **decoded)
{
    char *out = apr_palloc(p, len + 1);
    apr_size_t i, n = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        int escaped = c == '%';
        op_path_status status;

        if (escaped) {
            int high, low;
            if (len - i < 3) {
                return OP_PATH_BAD_ESCAPE;
            }
            high = op_hex_value((unsigned char)raw[i + 1]);
            low = op_hex_value((unsigned char)raw[i + 2]);
            if (high < 0 || low < 0) {
                return OP_PATH_BAD_ESCAPE;
            }
            c = (unsigned char)(high * 16 + low);
            i += 2;
        }
        status = classify_byte(c, !escaped);
        if (status != OP_PATH_OK) {
            return status;
        }
        out[n++] = (char)(c == '\\' ? '/' : c);
    }
    out[n] = '\0';
    *decoded = out;
    return OP_PATH_OK;
}

/* The pieces of DECODED (which starts with '/') between its slashes, empty
 * ones included: "/a//b/" gives "a", "", "b", "".  The buffer is cut in
 * place. */
static apr_array_header_t *split_pieces(apr_pool_t *p, char *decoded)
{
    apr_array_header_t *pieces = apr_array_make(p, 8, sizeof(char *));
    char *cursor = decoded + 1;

    for (;;) {
        char *slash = strchr(cursor, '/');
        APR_ARRAY_PUSH(pieces, char *) = cursor;
        if (slash == NULL) {
            return pieces;
        }
        *slash = '\0';
        cursor = slash + 1;
    }
}

/* RFC 3986 5.2.4 over the pieces, as civetweb runs it before merging
 * slashes: "." is dropped, ".." drops the piece before it even when that
 * one is empty ("/a//../b" is "/a/b", not "/b"), and either of them as the
 * last piece leaves the path ending with '/'. */
static apr_array_header_t *remove_dot_pieces(apr_pool_t *p,
                                             const apr_array_header_t *pieces)
{
    apr_array_header_t *kept = apr_array_make(p, pieces->nelts,
                                              sizeof(char *));
    int i;

    for (i = 0; i < pieces->nelts; i++) {
        char *piece = APR_ARRAY_IDX(pieces, i, char *);
        int last = i == pieces->nelts - 1;

        if (strcmp(piece, ".") == 0 || strcmp(piece, "..") == 0) {
            if (piece[1] == '.' && kept->nelts > 0) {
                apr_array_pop(kept);
            }
            if (last) {
                APR_ARRAY_PUSH(kept, char *) = "";
            }
        }
        else {
            APR_ARRAY_PUSH(kept, char *) = piece;
        }
    }
    return kept;
}

/* civetweb's last step, for Windows file names: the dots that end a piece
 * are removed ("log-level." is "log-level", "..." is ""), then empty pieces
 * vanish as repeated slashes are merged.  The path ends with '/' when its
 * last piece ended up empty. */
static void keep_segments(apr_pool_t *p, const apr_array_header_t *pieces,
                          op_path *out)
{
    int i, last_empty = 0;

    out->segments = apr_array_make(p, pieces->nelts, sizeof(const char *));
    for (i = 0; i < pieces->nelts; i++) {
        char *piece = APR_ARRAY_IDX(pieces, i, char *);
        apr_size_t n = strlen(piece);

        while (n > 0 && piece[n - 1] == '.') {
            piece[--n] = '\0';
        }
        last_empty = n == 0;
        if (n > 0) {
            APR_ARRAY_PUSH(out->segments, const char *) = piece;
        }
    }
    out->trailing_slash = last_empty && out->segments->nelts > 0;
}

op_path_status op_path_parse(apr_pool_t *p, const char *raw, apr_size_t len,
                             op_path *out)
{
    char *decoded;
    op_path_status status;

    if (len == 0 || raw[0] != '/') {
        return OP_PATH_NOT_ABSOLUTE;
    }
    status = decode(p, raw, len, &decoded);
    if (status != OP_PATH_OK) {
        return status;
    }
    keep_segments(p, remove_dot_pieces(p, split_pieces(p, decoded)), out);
    return OP_PATH_OK;
}

const char *op_path_status_reason(op_path_status status)
{
    switch (status) {
    case OP_PATH_OK:
        return "the path is valid";
    case OP_PATH_NOT_ABSOLUTE:
        return "the path does not start with '/'";
    case OP_PATH_BAD_ESCAPE:
        return "the path contains a '%' that is not followed by two hexadecimal digits";
    case OP_PATH_NUL:
        return "the path contains a NUL byte";
    case OP_PATH_CONTROL:
        return "the path contains a control character";
    case OP_PATH_RAW_BYTE:
        return "the path contains a space or a non-ASCII byte that is not "
               "percent-encoded";
    }
    return "the path cannot be read";
}

/* Left as they are on the wire: RFC 3986 unreserved characters and the
 * sub-delimiters to which neither Apache nor Orthanc give a meaning in a
 * path.  ';' is escaped so that nothing downstream reads path parameters,
 * and '+' because civetweb 1.16 (Orthanc 1.12.7 and later) reads a raw '+'
 * in a path as a space; every release reads %2B as '+'. */
static int is_wire_literal(unsigned char c)
{
    return c != '\0' && (apr_isalnum(c) || strchr("-._~!$&'(),=:@", c));
}

static apr_size_t encoded_length(const char *segment)
{
    apr_size_t n = 0;
    for (; *segment; segment++) {
        n += is_wire_literal((unsigned char)*segment) ? 1 : 3;
    }
    return n;
}

static char *append_encoded(char *out, const char *segment)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *segment; segment++) {
        unsigned char c = (unsigned char)*segment;
        if (is_wire_literal(c)) {
            *out++ = (char)c;
        }
        else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 0x0f];
        }
    }
    return out;
}

char *op_path_join(apr_pool_t *p, const op_path *path, int from,
                   op_path_form form)
{
    const char **segments = (const char **)path->segments->elts;
    int count = path->segments->nelts;
    apr_size_t size = 2;
    char *result, *out;
    int i;

    if (from >= count) {
        return apr_pstrdup(p, "/");
    }
    for (i = from; i < count; i++) {
        size += 1 + (form == OP_PATH_ENCODED ? encoded_length(segments[i])
                                             : strlen(segments[i]));
    }
    result = out = apr_palloc(p, size);
    for (i = from; i < count; i++) {
        *out++ = '/';
        if (form == OP_PATH_ENCODED) {
            out = append_encoded(out, segments[i]);
        }
        else {
            apr_size_t n = strlen(segments[i]);
            memcpy(out, segments[i], n);
            out += n;
        }
    }
    if (path->trailing_slash) {
        *out++ = '/';
    }
    *out = '\0';
    return result;
}

op_prefix_match op_path_match_prefix(const op_path *path, const op_path *prefix)
{
    const char **have = (const char **)path->segments->elts;
    const char **want = (const char **)prefix->segments->elts;
    int i;

    if (path->segments->nelts < prefix->segments->nelts) {
        return OP_PREFIX_NONE;
    }
    for (i = 0; i < prefix->segments->nelts; i++) {
        if (strcmp(have[i], want[i]) != 0) {
            return OP_PREFIX_NONE;
        }
    }
    if (prefix->segments->nelts > 0
        && path->segments->nelts == prefix->segments->nelts
        && !path->trailing_slash) {
        return OP_PREFIX_BARE;
    }
    return OP_PREFIX_UNDER;
}

op_prefix_match op_uri_match_prefix(const char *uri, const char *prefix_bare)
{
    apr_size_t n = strlen(prefix_bare);

    if (uri == NULL || uri[0] != '/' || strncmp(uri, prefix_bare, n) != 0) {
        return OP_PREFIX_NONE;
    }
    if (n == 0 || uri[n] == '/') {
        return OP_PREFIX_UNDER;    /* the root prefix covers every path */
    }
    return uri[n] == '\0' ? OP_PREFIX_BARE : OP_PREFIX_NONE;
}
