/* SPDX-License-Identifier: Apache-2.0 */
/*
 * path_canon.h - a request path as Orthanc will route it.
 *
 * Orthanc 1.10 routes the path its embedded web server, civetweb 1.15,
 * hands it: percent-decoded once, '\' read as '/', dot segments removed as
 * RFC 3986 (5.2.4) says, then trailing dots stripped from every segment and
 * repeated slashes merged; Orthanc splits what is left on '/'.  The proxy
 * decides on that reading and forwards it re-encoded, in a form Orthanc
 * reads back unchanged, so what was checked is exactly what Orthanc routes.
 * Anything the proxy cannot read with certainty (a NUL, a control
 * character, a broken escape, a raw byte civetweb refuses) is refused.
 */
#ifndef ORTHANC_PROXY_PATH_CANON_H
#define ORTHANC_PROXY_PATH_CANON_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    OP_PATH_OK = 0,
    OP_PATH_NOT_ABSOLUTE,   /* does not start with '/' */
    OP_PATH_BAD_ESCAPE,     /* '%' not followed by two hexadecimal digits */
    OP_PATH_NUL,            /* a NUL byte, raw or escaped */
    OP_PATH_CONTROL,        /* another control character, raw or escaped */
    OP_PATH_RAW_BYTE        /* a space or a byte above 0x7E not escaped */
} op_path_status;

typedef struct {
    /* Decoded segments (const char *): none is empty, none ends with '.'. */
    apr_array_header_t *segments;
    /* The path names a directory: "/a/", "/a/." and "/a/b/.." do. */
    int trailing_slash;
} op_path;

typedef enum {
    OP_PATH_DECODED,        /* "/a b/c" : what Orthanc sees, for decisions */
    OP_PATH_ENCODED         /* "/a%20b/c" : what goes on the wire */
} op_path_form;

typedef enum {
    OP_PREFIX_NONE = 0,     /* the path is outside the prefix */
    OP_PREFIX_BARE,         /* "/orthanc" for the prefix "/orthanc/" */
    OP_PREFIX_UNDER         /* "/orthanc/" or anything below it */
} op_prefix_match;

/* Reads the LEN bytes at RAW (a path as sent, without its query string). */
op_path_status op_path_parse(apr_pool_t *p, const char *raw, apr_size_t len,
                             op_path *out);

/* A sentence for people, e.g. "the path contains a NUL byte". */
const char *op_path_status_reason(op_path_status status);

/* The segments from index FROM on, joined with a leading '/' ("/" when
 * there are none), with a trailing '/' when the path names a directory. */
char *op_path_join(apr_pool_t *p, const op_path *path, int from,
                   op_path_form form);

/* Whether PATH is PREFIX itself (without its trailing slash), below it, or
 * outside it.  Both are compared segment by segment. */
op_prefix_match op_path_match_prefix(const op_path *path, const op_path *prefix);

/* The same test on a plain string, segment-aligned: how Apache's own
 * <Location PREFIX> sees URI.  PREFIX_BARE is the prefix without its
 * trailing slash ("" for the root prefix "/"). */
op_prefix_match op_uri_match_prefix(const char *uri, const char *prefix_bare);

#endif
