/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_generations.h - each followed Orthanc's generation counters and
 * its follower's progress, in one slot of mod_slotmem_shm's shared memory.
 *
 * The memory is created anonymous by the parent at post_config (as the
 * status page's counters are), so every child inherits it at fork; it is
 * dropped with the configuration at each restart, and a new random epoch
 * makes every key of the previous table unreachable.  Each Apache front
 * end has its own table, kept fresh by its own follower from Orthanc's
 * change log: several front ends need no shared store (docs/cluster.md, "Scale
 * out").
 */
#ifndef ORTHANC_PROXY_CACHE_GENERATIONS_H
#define ORTHANC_PROXY_CACHE_GENERATIONS_H

#include <httpd.h>

#include "logic/cache_policy.h"
#include "logic/change_cursor.h"
#include "logic/generation_table.h"

/* The follower's own state (only its thread writes it; in shared memory
 * so that another child can take over where it stopped). */
typedef struct {
    int started;                /* 0: start over from the log's end */
    int reserved;
    apr_int64_t instances;      /* Orthanc's count after the last pass */
    op_change_cursor cursor;
} op_follow_state;

typedef struct {
    op_gen_table gen;
    op_follow_state follow;
} op_cache_slot;

/* One followed Orthanc (or balancer): the unit the counters belong to. */
typedef struct op_cache_backend {
    const char *url;            /* the mapping's backend URL */
    op_cache_slot *slot;        /* NULL until the shared memory exists */
    apr_interval_time_t max_delay;
} op_cache_backend;

/* Creates the shared memory for the N backends of BACKENDS (op_cache_backend
 * *) and points each at its slot; NULL or why it could not. */
const char *op_cache_generations_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                        apr_array_header_t *backends);

/* The counters an answer of ROUTE depends on, "EPOCH.G.S"; NULL when the
 * cache must be bypassed, and *WHY says why: the follower has not
 * completed a pass within the maximum delay, or the answer shows labels
 * and that Orthanc has them. */
const char *op_cache_tokens(const op_cache_backend *backend, apr_pool_t *p,
                            const op_cache_route *route, const char **why);

/* What a change made through the proxy renews, at once. */
void op_cache_apply_bump(op_cache_backend *backend, const op_cache_bump *bump);

#endif
