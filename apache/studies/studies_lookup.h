/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_lookup.h - what OrthancProxyStudies asks Orthanc about
 * studies.
 *
 * A decision needs the facts of a study (its main DICOM tags, its
 * patient's, its labels: GET /studies/{id}), and for a resource below a
 * study the way up to it (GET /series/{id}, /instances/{id}), for a
 * DICOMweb UID the studies that have it (POST /tools/find).  They are
 * asked through the module's libcurl client (apache/orthanc_http.h), with
 * the mapping's OrthancProxyCredentials, on one connection per request.
 *
 * What one request learnt is remembered for that request; where the
 * cache follows the mapping's Orthanc, the facts are also kept between
 * requests for as long as its change follower vouches for them
 * (studies_memory.h).  Balancers are not asked yet: a restricted request
 * to one is refused.
 */
#ifndef ORTHANC_PROXY_STUDIES_LOOKUP_H
#define ORTHANC_PROXY_STUDIES_LOOKUP_H

#include <httpd.h>

#include "logic/json_read.h"
#include "logic/orthanc_changes.h"
#include "logic/study_rules.h"
#include "apache/orthanc_http.h"
#include "apache/request_context.h"

/* The questions of one request. */
typedef struct op_studies_ask op_studies_ask;

/* For R, through its mapping; USES_LABELS: R's scope reads labels (which
 * change without an entry in Orthanc's log). */
op_studies_ask *op_studies_ask_make(request_rec *r, int uses_labels);

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

/* GET PATH (with its query) of the mapping's Orthanc, read as JSON into
 * *JSON when Orthanc answers 200; *STATUS its status. */
const char *op_studies_get_json(op_studies_ask *a, const char *path,
                                long *status, op_json **json);

/* POST BODY (JSON) to PATH of the mapping's Orthanc, as
 * op_studies_get_json. */
const char *op_studies_post_json(op_studies_ask *a, const char *path,
                                 const char *body, long *status,
                                 op_json **json);

/* Forgets what this request learnt of study ID. */
void op_studies_forget(op_studies_ask *a, const char *id);

/* Whether the mapping's Orthanc shows labels: 1, 0, or -1 (not known). */
int op_studies_has_labels(op_studies_ask *a);

#endif
