/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_lookup.h - what OrthancProxyStudies asks Orthanc about
 * studies, and what it remembers of the answers.
 *
 * A decision needs the facts of a study (its main DICOM tags, its
 * patient's, its labels: GET /studies/{id}), and for a resource below a
 * study the way up to it (GET /series/{id}, /instances/{id}), for a
 * DICOMweb UID the studies that have it (POST /tools/find).  The answers
 * are asked with libcurl (apache/orthanc_http.c, the cache's client)
 * with the mapping's OrthancProxyCredentials and mod_ssl's SSLProxy*
 * trust, and remembered in each Apache child process:
 *
 * - the way up is remembered for good: Orthanc's IDs are hashes of the
 *   DICOM UIDs of a resource and its parents, so the parent of an ID
 *   never changes;
 * - a study's facts, a UID's studies, a patient's studies, with the
 *   generation counters of their scope (apache/cache_generations.h) read
 *   before Orthanc was asked: they are used again while the change
 *   follower is in step and those counters have not moved (it increments
 *   them when Orthanc's change log shows the study changed), and in any
 *   case for OrthancProxyCacheMaxDelay (1 s by default) after they were
 *   read;
 * - labels are not in Orthanc's change log: when a decision depends on a
 *   label, facts older than OrthancProxyCacheMaxDelay are asked again.
 *
 * So no decision rests on what Orthanc said longer ago than the cache's
 * own bound, unless the change log vouches that nothing changed since.
 * Each child remembers at most OP_STUDIES_REMEMBERED answers, and forgets
 * all of them when it has taken that many since it last did.
 */
#ifndef ORTHANC_PROXY_STUDIES_LOOKUP_H
#define ORTHANC_PROXY_STUDIES_LOOKUP_H

#include <httpd.h>

#include "logic/orthanc_changes.h"
#include "logic/study_rules.h"
#include "apache/balancer_setup.h"
#include "apache/orthanc_http.h"
#include "apache/request_context.h"

#define OP_STUDIES_REMEMBERED 50000

/* Where a mapping's Orthanc is asked (set up when Apache starts). */
typedef struct {
    const char *url;               /* base URL */
    const op_member_ref *member;   /* a balancer's member, or NULL */
    const op_tls_settings *tls;    /* NULL for http:// */
} op_studies_target;

struct op_studies_backend {
    apr_array_header_t *targets;   /* op_studies_target */
    apr_interval_time_t bound;     /* OrthancProxyCacheMaxDelay */
    /* What the child process remembers (studies_lookup.c); NULL before
     * child_init. */
    struct op_studies_memory *memory;
};
typedef struct op_studies_backend op_studies_backend;

/* The memory of each child, made at child_init (PCHILD). */
void op_studies_memory_make(apr_pool_t *pchild, op_studies_backend *backend);

/* The questions of one request. */
typedef struct op_studies_ask op_studies_ask;

/* For R through its mapping; FRESH_LABELS: facts used with labels must be
 * younger than the bound. */
op_studies_ask *op_studies_ask_make(request_rec *r, int fresh_labels);

/* Each returns NULL, or why Orthanc could not be asked (the decision
 * cannot be taken: the request gets 503). */

/* The facts of study ID; *FACTS NULL when Orthanc has no such study. */
const char *op_studies_facts(op_studies_ask *a, const char *id,
                             const op_study_facts **facts);

/* The facts of the studies whose StudyInstanceUID is UID (several
 * patients may have one); an empty array when there is none. */
const char *op_studies_of_uid(op_studies_ask *a, const char *uid,
                              apr_array_header_t **facts);

/* Asks for the studies of all UIDS (const char *) at once, so that the
 * calls above find them remembered (an answer of QIDO-RS). */
const char *op_studies_prefetch_uids(op_studies_ask *a,
                                     const apr_array_header_t *uids);

/* The study of the resource LEVEL/ID (a study, series or instance);
 * *STUDY NULL when Orthanc has no such resource. */
const char *op_studies_study_of(op_studies_ask *a, op_resource_level level,
                                const char *id, const char **study);

/* The studies (Orthanc IDs) of patient ID; *STUDIES NULL when Orthanc has
 * no such patient. */
const char *op_studies_of_patient(op_studies_ask *a, const char *id,
                                  apr_array_header_t **studies);

/* The level of an Orthanc ID whose level the request does not say;
 * OP_RESOURCE_UNKNOWN when Orthanc has no such resource. */
const char *op_studies_level_of(op_studies_ask *a, const char *id,
                                op_resource_level *level);

/* The instances (Orthanc IDs) whose SOPInstanceUID is UID. */
const char *op_studies_instances_of_uid(op_studies_ask *a, const char *uid,
                                        apr_array_header_t **ids);

/* Forgets what this child remembers of study ID (a label changed through
 * the proxy). */
void op_studies_forget(op_studies_ask *a, const char *id);

/* Whether the mapping's Orthanc shows labels: 1, 0, or -1 (not known). */
int op_studies_has_labels(op_studies_ask *a);

#endif
