/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_store.h - generation tokens and the change follower's progress,
 * shared by every child (and, with memcache or redis, by several front
 * ends) through one mod_socache instance.
 *
 * A token is 8 random bytes.  It is only ever replaced by a fresh one,
 * never computed from the old one: so no read-modify-write, no lock and no
 * compare-and-swap is needed for correctness, and an entry the socache
 * evicts (shmcb does when it is full) is simply created fresh again.  A
 * fresh token has no cached answer, hence a missing or renewed token can
 * only cost a cache miss, never serve an old answer.
 *
 * The follower also records when its last complete pass over Orthanc's
 * change log started: an answer is taken from the cache only while that
 * is less than OrthancProxyCacheMaxDelay ago, so that a follower that
 * stopped (Orthanc unreachable, a restart) turns the cache off rather than
 * serving answers it can no longer vouch for.
 */
#ifndef ORTHANC_PROXY_CACHE_STORE_H
#define ORTHANC_PROXY_CACHE_STORE_H

#include <httpd.h>
#include <apr_global_mutex.h>

#include "logic/cache_policy.h"

typedef struct op_cache_runtime op_cache_runtime;

/* The follower's progress through one Orthanc's change log. */
typedef struct {
    apr_time_t sync_start;     /* when its last complete pass started */
    apr_int64_t cursor;        /* the last sequence number it read */
    apr_int64_t instances;     /* Orthanc's instances right after it */
    int labels;                /* that Orthanc has labels (1.12 and later) */
} op_cache_sync;

/* The mutex type (Mutex directive) guarding socaches that need one. */
#define OP_CACHE_MUTEX_TYPE "orthanc-proxy-cache"

/* Creates the store described by SPEC ("shmcb", "shmcb:/path(bytes)",
 * "memcache:host:port" ...) at post_config; NULL and *ERR set on failure. */
op_cache_runtime *op_cache_runtime_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                          server_rec *s, const char *spec,
                                          apr_interval_time_t max_delay,
                                          const char **err);

/* In each child: attaches to the mutex. */
void op_cache_runtime_child_init(op_cache_runtime *rt, apr_pool_t *p,
                                 server_rec *s);

apr_interval_time_t op_cache_max_delay(const op_cache_runtime *rt);

/* The tokens an answer of ROUTE from the Orthanc tagged TAG depends on,
 * "G.S" (the tokens are created when missing).  NULL when the cache must
 * be bypassed, and *WHY says why: the follower has not completed a pass
 * within the maximum delay, the store failed, or the answer shows labels
 * and that Orthanc has them. */
const char *op_cache_read_tokens(op_cache_runtime *rt, server_rec *s,
                                 apr_pool_t *p, const char *tag,
                                 const op_cache_route *route,
                                 const char **why);

/* Renews the tokens of SCOPES (N of them), of the lists when LISTS, and
 * the token every answer of TAG carries when EVERYTHING. */
void op_cache_renew(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                    const char *tag, const op_scope *scopes, int n, int lists,
                    int everything);

/* The follower's recorded progress; 0 when there is none. */
int op_cache_sync_read(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                       const char *tag, op_cache_sync *out);
void op_cache_sync_write(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                         const char *tag, const op_cache_sync *sync);

#endif
