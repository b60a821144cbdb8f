/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_follower.h - follows one Orthanc's change log (or one cluster's,
 * through its members) and increments the generation counters of
 * everything a change touches.
 *
 * Each followed backend has its own mod_watchdog singleton watchdog: one
 * thread in one child process of the whole server, so that an Orthanc
 * that stalls holds up its own follower only.  A pass runs every quarter
 * of OrthancProxyCacheMaxDelay and has until OrthancProxyCacheMaxDelay
 * after its start to complete (every request to Orthanc gets the time
 * that is left):
 *
 *   1. reads GET /system (whether this Orthanc has labels);
 *   2. reads GET /changes from its place in the log (logic/change_cursor.h)
 *      page by page, each page in its own memory; for each change it has
 *      not applied, finds the resource's parents (GET /instances/{id}
 *      gives the series, /series/{id} the study, /studies/{id} the
 *      patient, each with its DICOM UID) and increments their counters and
 *      those of the lists;
 *   3. reads GET /statistics and the log's end once more: when nothing new
 *      was logged meanwhile, the statistics and the log describe the same
 *      moment;
 *   4. makes everything fresh when it cannot know what changed: a hole in
 *      the log (removed entries of a deleted resource, also at the log's
 *      end; or an entry committed late), fewer instances than the log
 *      accounts for (a deletion of older instances), a resource gone
 *      before it could be looked up, a lookup Orthanc refused, more changes
 *      than it looks up in one pass;
 *   5. records that a pass started at its start time completed: requests
 *      take answers from the cache only while that is less than
 *      OrthancProxyCacheMaxDelay ago.
 * Progress is kept page by page (also when the deadline interrupts a
 * pass), so a backlog of any length is read in bounded memory.
 *
 * On a balancer, the log is read from one member: the writer (writer=)
 * while it is usable, else any usable member; a member that fails is left
 * for the next one within the same pass.  The members share one database,
 * so the place in the log carries over and no change is missed or applied
 * twice.
 */
#ifndef ORTHANC_PROXY_CACHE_FOLLOWER_H
#define ORTHANC_PROXY_CACHE_FOLLOWER_H

#include <httpd.h>

#include "apache/balancer_setup.h"
#include "cache_generations.h"
#include "apache/orthanc_http.h"

typedef struct op_cache_follower op_cache_follower;

/* Where a follower can read the log: a single Orthanc, or one member of a
 * balancer. */
typedef struct {
    const char *url;                /* its base URL */
    const op_member_ref *member;     /* NULL for a single backend */
    const op_tls_settings *tls;     /* NULL for http:// */
} op_follow_target;

/* A follower of BACKEND through TARGETS (op_follow_target), preferring the
 * member whose route is WRITER_ROUTE (NULL: none), authenticating with
 * AUTHORIZATION ("Basic ..." or NULL). */
op_cache_follower *op_cache_follower_make(apr_pool_t *p, server_rec *s,
                                          op_cache_backend *backend,
                                          const apr_array_header_t *targets,
                                          const char *writer_route,
                                          const char *authorization);

/* mod_watchdog's callback (ap_watchdog_callback_fn_t); DATA is a follower. */
apr_status_t op_cache_follow(int state, void *data, apr_pool_t *pool);

#endif
