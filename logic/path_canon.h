/*
 * path_canon.h - a request path as Orthanc will route it.
 *
 * Orthanc (through CivetWeb) percent-decodes the whole path once, takes '/'
 * and '\' alike as separators, skips empty and "." segments and lets ".."
 * climb, stopping at the root.  The proxy decides on that reading and
 * forwards it re-encoded, so what was checked is exactly what Orthanc routes.
 * Anything that cannot be read unambiguously (a NUL, a control character, a
 * broken escape) is refused instead.
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
    OP_PATH_CONTROL         /* another control character, raw or escaped */
} op_path_status;

typedef struct {
    /* Decoded segments (const char *); none is empty, "." or "..". */
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
