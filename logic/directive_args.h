/* SPDX-License-Identifier: Apache-2.0 */
/*
 * directive_args.h - checks on what an administrator writes after OrthancProxy.
 *
 * Each function returns NULL when the argument is good, or a sentence that
 * names the mistake; Apache prints it with the file and line on configtest.
 */
#ifndef ORTHANC_PROXY_DIRECTIVE_ARGS_H
#define ORTHANC_PROXY_DIRECTIVE_ARGS_H

#include <apr_pools.h>
#include "path_canon.h"

typedef struct {
    const char *prefix;       /* always ends with '/': "/orthanc/" */
    const char *prefix_bare;  /* without it: "/orthanc" ("" for "/") */
    op_path     path;         /* the prefix split into segments */
} op_prefix;

typedef enum {
    OP_BACKEND_HTTP,
    OP_BACKEND_HTTPS,
    OP_BACKEND_BALANCER
} op_backend_kind;

typedef struct {
    op_backend_kind kind;
    /* scheme://host[:port]/path/ in lower case, default port dropped,
     * always ending with '/': the base every forwarded path is appended to */
    const char *url;
} op_backend;

/* PREFIX must be an absolute path in canonical form, made of characters that
 * need no escaping ("/orthanc/", "/pacs/api"); a missing trailing slash is
 * added. */
const char *op_parse_prefix(apr_pool_t *p, const char *prefix, op_prefix *out);

/* URL must be http://, https:// or balancer:// with a host, no user
 * information, no query and no fragment. */
const char *op_parse_backend(apr_pool_t *p, const char *url, op_backend *out);

/* A worker parameter must be written key=value with a non-empty key made of
 * letters, digits and '_'. */
const char *op_check_worker_param(apr_pool_t *p, const char *word);

#endif
