/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc_client.h - the cache's background task asks Orthanc directly.
 *
 * A plain HTTP/1.1 GET with "Connection: close" over an APR socket, with
 * a timeout, the credentials of OrthancProxyCredentials, and the whole
 * answer read into memory (the change log, statistics and resources are
 * small).  It is not a request through mod_proxy: it runs in mod_watchdog's
 * thread, outside any client's request.
 */
#ifndef ORTHANC_PROXY_ORTHANC_CLIENT_H
#define ORTHANC_PROXY_ORTHANC_CLIENT_H

#include <apr_pools.h>
#include <apr_network_io.h>

#include "logic/orthanc_answer.h"

typedef struct {
    const char *host;
    apr_port_t port;
    const char *base;            /* the backend URL's path, without its final '/' */
    const char *authorization;   /* "Basic ...", or NULL */
    apr_interval_time_t timeout;
} op_orthanc_target;

/* Parses an http:// backend URL (as op_parse_backend normalised it);
 * NULL or what is wrong. */
const char *op_orthanc_target_parse(apr_pool_t *p, const char *url,
                                    op_orthanc_target *out);

/* GET PATH ("/changes?since=3") below the target's base; NULL on
 * success, else why it failed.  Answers larger than 64 MiB fail. */
const char *op_orthanc_get(apr_pool_t *p, const op_orthanc_target *target,
                           const char *path, op_http_reply *out);

#endif
