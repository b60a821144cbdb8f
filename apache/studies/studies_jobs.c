/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_jobs.c - the owners of the jobs restricted users started (see
 * studies_jobs.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "logic/cache_key.h"
#include "apache/request_context.h"
#include "apache/shared_slots.h"
#include "studies_jobs.h"

APLOG_USE_MODULE(orthanc_proxy);

/* Orthanc's job IDs are UUIDs (36 characters). */
#define JOB_ID_SIZE 40

typedef struct {
    /* Written 0 first, then the ID, then the owner: a reader that finds
     * the same non-zero owner before and after comparing the ID read one
     * whole entry (the ID cannot have changed in between). */
    volatile apr_uint64_t owner;
    char job[JOB_ID_SIZE];
} job_entry;

struct op_job_owners {
    volatile apr_uint32_t next;
    apr_uint32_t reserved;
    job_entry entries[OP_STUDIES_JOBS];
};

static apr_uint64_t owner_hash(const char *owner)
{
    apr_uint64_t hash = op_hash64(OP_HASH64_INIT, owner, strlen(owner));

    /* 0 marks an entry being written. */
    return hash ? hash : 1;
}

int op_studies_jobs_record(const op_mapping *mapping, const char *job,
                           const char *owner)
{
    struct op_job_owners *table = mapping->job_owners;
    job_entry *e;

    if (table == NULL || strlen(job) >= JOB_ID_SIZE) {
        return 0;
    }
    e = &table->entries[apr_atomic_inc32(&table->next) % OP_STUDIES_JOBS];
    apr_atomic_set64(&e->owner, 0);
    /* The atomic operations are full barriers: the ID is written after
     * the owner is cleared and before it is set. */
    apr_cpystrn(e->job, job, JOB_ID_SIZE);
    apr_atomic_set64(&e->owner, owner_hash(owner));
    return 1;
}

int op_studies_jobs_owned(const op_mapping *mapping, const char *job,
                          const char *owner)
{
    struct op_job_owners *table = mapping->job_owners;
    apr_uint64_t wanted = owner_hash(owner);
    int i;

    if (table == NULL || job == NULL || strlen(job) >= JOB_ID_SIZE) {
        return 0;
    }
    for (i = 0; i < OP_STUDIES_JOBS; i++) {
        job_entry *e = &table->entries[i];
        apr_uint64_t before = apr_atomic_read64(&e->owner);
        int same;
        if (before != wanted) {
            continue;
        }
        same = strncmp(e->job, job, JOB_ID_SIZE) == 0;
        if (same && apr_atomic_read64(&e->owner) == wanted) {
            return 1;
        }
    }
    return 0;
}

static int create_tables(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s)
{
    apr_array_header_t *mappings;
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
    rv = op_shared_slots_create(pconf, ptemp, sizeof(struct op_job_owners),
                                mappings->nelts, &slots);
    if (rv == APR_ENOTIMPL) {
        /* Restricted users then cannot start jobs (a reason says so). */
        return OK;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "OrthancProxyStudies: the "
                     "table of jobs could not be created in shared memory; "
                     "users restricted to some studies cannot start jobs");
        return OK;
    }
    for (i = 0; i < mappings->nelts; i++) {
        APR_ARRAY_IDX(mappings, i, op_mapping *)->job_owners = slots[i];
    }
    return OK;
}

void op_studies_jobs_register(void)
{
    ap_hook_post_config(create_tables, NULL, NULL, APR_HOOK_MIDDLE);
}
