/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_request.h - OrthancProxyStudies on each request.
 *
 * Once Apache's access control and the module's own (forwarding.c) have
 * let a request through, a fixup works out which studies its user may see
 * (the OrthancProxyStudies lines whose condition holds for the user) and,
 * unless that is every study, which studies the request reaches
 * (logic/study_refs.h).  A request that reaches one study or one patient
 * is checked against it and forwarded or refused; a list or a search is
 * answered by this folder's handler, filtered; everything else is refused
 * (fail closed).
 */
#ifndef ORTHANC_PROXY_STUDIES_REQUEST_H
#define ORTHANC_PROXY_STUDIES_REQUEST_H

#include <httpd.h>

#include "logic/study_refs.h"
#include "logic/study_rules.h"
#include "studies_lookup.h"

/* The handler of the lists and searches a restricted user makes. */
#define OP_STUDIES_HANDLER "orthanc-proxy-studies"

/* What the fixup found, for the handler (op_request's "studies"). */
typedef struct op_studies_request {
    op_study_scope scope;         /* what the user may see (not all) */
    op_study_refs refs;           /* what the request reaches */
    op_studies_ask *ask;          /* the questions to Orthanc */
    /* A job to start from the handler (studies_jobs.h): the checked body
     * to send; NULL otherwise. */
    const char *job_body;
} op_studies_request;

/* Whether every study the resource LEVEL/ID reaches (LEVEL may be
 * OP_RESOURCE_UNKNOWN) is one S's scope allows: *ALLOWED, 0 also when
 * Orthanc has no such resource; NULL or why Orthanc could not be asked. */
const char *op_studies_resource_allowed(op_studies_request *s, apr_pool_t *p,
                                        op_resource_level level,
                                        const char *id, int *allowed);

/* The fixup (after forwarding.c's, before the cache's). */
int op_studies_decide(request_rec *r);

/* The handler that answers OP_STUDIES_HANDLER (studies_list.c). */
int op_studies_handler(request_rec *r);

#endif
