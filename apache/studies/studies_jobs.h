/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_jobs.h - the jobs users restricted to some studies started, and
 * whose they are.
 *
 * A job (an asynchronous archive or media) outlives the request that
 * started it: its status and its output are asked for later, by ID, from
 * any process of Apache.  When a restricted user starts one, this
 * folder's handler sends the checked request to Orthanc itself and
 * records the job's ID with the identity of the user's scope (what the
 * user may see, op_study_scope's "identity") in shared memory; later,
 * /jobs/{id}... passes for a restricted user only when the job was
 * recorded for the same scope: its resources were all checked against
 * it.  The table keeps the last OP_STUDIES_JOBS jobs of each mapping;
 * older ones, and every job after Apache restarts, are refused.
 *
 * The memory is mod_slotmem_shm's, created anonymous by the parent in
 * post_config (as the status page's counters are); without it, a
 * restricted user cannot start jobs.
 */
#ifndef ORTHANC_PROXY_STUDIES_JOBS_H
#define ORTHANC_PROXY_STUDIES_JOBS_H

#include <httpd.h>

#include "apache/request_context.h"

#define OP_STUDIES_JOBS 1024

/* Creates each mapping's table at post_config. */
void op_studies_jobs_register(void);

/* Records that JOB (Orthanc's job ID) was started for the scope whose
 * identity is OWNER; 0 when the mapping has no table. */
int op_studies_jobs_record(const op_mapping *mapping, const char *job,
                           const char *owner);

/* Whether JOB was recorded for OWNER. */
int op_studies_jobs_owned(const op_mapping *mapping, const char *job,
                          const char *owner);

#endif
