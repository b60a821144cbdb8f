/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_follower.h - follows one Orthanc's change log and renews the
 * generation tokens of everything a change touches.
 *
 * It runs as a callback of mod_watchdog's singleton watchdog: one thread
 * in one child process of the whole server, whichever child holds the
 * watchdog's mutex, every quarter of OrthancProxyCacheMaxDelay.  A pass:
 *
 *   1. reads GET /changes?since=CURSOR to its end;
 *   2. reads GET /statistics, then /changes once more: when nothing new
 *      was logged meanwhile, the statistics and the cursor describe the
 *      same moment;
 *   3. for each change, finds the resource's parents (GET /instances/{id}
 *      gives the series, /series/{id} the study, /studies/{id} the
 *      patient, each with its DICOM UID) and renews the tokens of all of
 *      them, of their UIDs (DICOMweb) and of the lists;
 *   4. makes everything fresh when it cannot know what changed: fewer
 *      instances than the log accounts for (Orthanc does not log
 *      deletions), a gap in the log's sequence numbers (a deleted
 *      resource's entries vanish from it), a resource that is gone before
 *      it could be looked up, no consistent reading;
 *   5. records the cursor, the count of instances and when the pass
 *      started, which tells the requests that the cache is in step.
 *
 * Changes made straight to Orthanc (DICOM C-STORE, scripts, another
 * proxy) are caught like those made through this one.
 */
#ifndef ORTHANC_PROXY_CACHE_FOLLOWER_H
#define ORTHANC_PROXY_CACHE_FOLLOWER_H

#include <httpd.h>

#include "cache_store.h"

typedef struct op_cache_follower op_cache_follower;

/* A follower of the Orthanc at BACKEND (an http:// backend URL, as the
 * mapping normalised it), authenticating with AUTHORIZATION ("Basic ..."
 * or NULL); NULL and *ERR set when BACKEND cannot be followed. */
op_cache_follower *op_cache_follower_make(apr_pool_t *p, server_rec *s,
                                          op_cache_runtime *rt,
                                          const char *backend,
                                          const char *authorization,
                                          const char **err);

const char *op_cache_follower_backend(const op_cache_follower *follower);

/* mod_watchdog's callback (ap_watchdog_callback_fn_t); DATA is a follower. */
apr_status_t op_cache_follow(int state, void *data, apr_pool_t *pool);

#endif
