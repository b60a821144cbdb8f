/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_counters.c - each mapping's counters, in shared memory.
 *
 * The memory is mod_slotmem_shm's, the provider balancer-manager and
 * mod_proxy_hcheck keep their shared state in: one slot per mapping,
 * created anonymous in post_config by the parent, so that every child
 * inherits it at fork, and dropped with the configuration at each restart
 * (counting starts again with the new generation).  Without mod_slotmem_shm
 * nothing is counted and the status page says why.
 *
 * A request is counted in the log phase, when its status and duration are
 * known: one atomic add (a refusal, a local answer) to five (a proxied
 * request) to its mapping's slot, no lock, no allocation.  proxied, local
 * and refused[] are added last and read first, so that a reader who sees N
 * requests sees every other counter of those N.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>
#include <http_protocol.h>
#include <apr_atomic.h>

#include "logic/traffic_counters.h"
#include "apache/request_context.h"
#include "apache/shared_slots.h"
#include "status_counters.h"

APLOG_USE_MODULE(orthanc_proxy);

static int create_counters(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    apr_array_header_t *mappings;
    apr_time_t now = apr_time_now();
    void **slots;
    apr_status_t rv;
    int i;

    /* The first reading of the configuration only checks it. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    mappings = op_distinct_mappings(ptemp, s);
    if (mappings->nelts == 0) {
        return OK;
    }
    rv = op_shared_slots_create(pconf, ptemp, sizeof(op_traffic_counters),
                                mappings->nelts, &slots);
    if (rv == APR_ENOTIMPL) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "%s",
                     op_status_counters_missing());
        return OK;
    }
    if (rv != APR_SUCCESS) {
        /* The proxy works without its counters. */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "the status page's "
                     "counters could not be created in shared memory; "
                     "nothing is counted");
        return OK;
    }
    for (i = 0; i < mappings->nelts; i++) {
        op_mapping *mapping = APR_ARRAY_IDX(mappings, i, op_mapping *);

        mapping->counters = slots[i];
        mapping->counters->since = (apr_uint64_t)now;
    }
    return OK;
}

const char *op_status_counters_missing(void)
{
    return !op_shared_slots_available()
           ? "nothing is counted for the status page: mod_slotmem_shm is not "
             "loaded (Debian: a2enmod slotmem_shm)"
           : "nothing is counted for the status page: its shared memory "
             "could not be created (see the error log at start-up)";
}

static void add_max(volatile apr_uint64_t *max, apr_uint64_t value)
{
    apr_uint64_t seen = apr_atomic_read64(max);

    while (value > seen) {
        apr_uint64_t was = apr_atomic_cas64(max, value, seen);
        if (was == seen) {
            return;
        }
        seen = was;
    }
}

static void count_proxied(op_traffic_counters *c, const op_outcome *outcome,
                          apr_int64_t duration_us)
{
    apr_uint64_t us = duration_us > 0 ? (apr_uint64_t)duration_us : 0;

    if (outcome->response_class >= 0) {
        apr_atomic_inc64(&c->responses[outcome->response_class]);
    }
    if (outcome->backend_error >= 0) {
        apr_atomic_inc64(&c->backend_errors[outcome->backend_error]);
    }
    apr_atomic_inc64(&c->latency_buckets[outcome->latency_bucket]);
    apr_atomic_add64(&c->latency_total_us, us);
    add_max(&c->latency_max_us, us);
    apr_atomic_inc64(&c->proxied);
}

static int count_request(request_rec *r)
{
    const op_request *req = op_request_get(r);
    op_traffic_counters *c;
    op_finished_request done;
    op_outcome outcome;

    if (req == NULL || (c = req->mapping->counters) == NULL) {
        return DECLINED;
    }
    done.status = r->status;
    done.refused_by_module = req->reason != NULL;
    done.rule = req->rule;
    done.admitted = req->admitted;
    done.proxied = req->action == OP_ACTION_PROXY;
    done.duration_us = apr_time_now() - r->request_time;
    outcome = op_classify_request(&done);

    switch (outcome.kind) {
    case OP_OUTCOME_PROXIED:
        count_proxied(c, &outcome, done.duration_us);
        break;
    case OP_OUTCOME_LOCAL:
        apr_atomic_inc64(&c->local);
        break;
    case OP_OUTCOME_REFUSED:
        apr_atomic_inc64(&c->refused[outcome.refusal]);
        break;
    }
    return DECLINED;
}

/* A 64-bit word of the shared slot, read whole. */
static apr_uint64_t word(apr_uint64_t *field)
{
    return apr_atomic_read64((volatile apr_uint64_t *)field);
}

void op_status_counters_read(op_traffic_counters *shared,
                             op_traffic_counters *copy)
{
    int i;

    /* What a request adds to last is read first (see above). */
    copy->proxied = word(&shared->proxied);
    copy->local = word(&shared->local);
    for (i = 0; i < OP_REFUSED_KINDS; i++) {
        copy->refused[i] = word(&shared->refused[i]);
    }
    copy->since = word(&shared->since);
    for (i = 0; i < 5; i++) {
        copy->responses[i] = word(&shared->responses[i]);
    }
    for (i = 0; i < OP_BACKEND_ERRORS; i++) {
        copy->backend_errors[i] = word(&shared->backend_errors[i]);
    }
    copy->latency_total_us = word(&shared->latency_total_us);
    copy->latency_max_us = word(&shared->latency_max_us);
    for (i = 0; i < OP_LATENCY_BUCKETS; i++) {
        copy->latency_buckets[i] = word(&shared->latency_buckets[i]);
    }
    copy->audit_records = word(&shared->audit_records);
    copy->audit_lost = word(&shared->audit_lost);
    op_traffic_derive(copy);
}

void op_register_status_counters(void)
{
    ap_hook_post_config(create_counters, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(count_request, NULL, NULL, APR_HOOK_MIDDLE);
}
