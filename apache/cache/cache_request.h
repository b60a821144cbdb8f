/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_request.h - what the cache does with each request: the key
 * mod_cache stores the answer under, the validators and freshness of the
 * answer, and the counters a change made through the proxy increments.
 */
#ifndef ORTHANC_PROXY_CACHE_REQUEST_H
#define ORTHANC_PROXY_CACHE_REQUEST_H

#include <httpd.h>

/* What OrthancProxyCache decided for one request. */
struct op_cache_request {
    const char *key;          /* mod_cache's key */
    const char *etag;         /* NULL when the answer is not cached */
    apr_int64_t max_age;      /* s-maxage for mod_cache */
    int per_user;             /* the key holds the user: private for browsers */
    apr_table_t *set_aside;   /* CORS headers kept out of the stored answer */
};
typedef struct op_cache_request op_cache_request;

/* mod_cache's optional function ap_cache_generate_key: the module's key
 * for the requests it handles, mod_cache's own form for every other URL
 * (scheme://host:port/path?query, from the URL as mod_cache reads it). */
apr_status_t op_cache_generate_key(request_rec *r, apr_pool_t *p,
                                   const char **key);

/* Registers the fixups hook, the filters and the error hook. */
void op_register_cache_request(void);

#endif
