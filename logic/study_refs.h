/* SPDX-License-Identifier: Apache-2.0 */
/*
 * study_refs.h - which studies a request reaches, for OrthancProxyStudies.
 *
 * Decided from the route table (route_table.h): the family of the route a
 * request reaches and its method say how its studies are found - in its
 * path (an Orthanc ID at any level, DICOMweb's UIDs), in its query string
 * (WADO-URI, /tools/create-archive's GET form), in its body (archives of
 * several resources, bulk operations, merges), in Orthanc's answer (lists,
 * searches), or not at all: then the route either holds no patient data
 * (server information, the web interfaces) or it is refused to a user who
 * may not see every study, since nothing could be attributed (the change
 * log, the statistics, DICOM networking, uploads).  Every family of the
 * table has a decision here; the unit tests walk the table.
 */
#ifndef ORTHANC_PROXY_STUDY_REFS_H
#define ORTHANC_PROXY_STUDY_REFS_H

#include <apr_pools.h>

#include "orthanc_changes.h"
#include "path_canon.h"

typedef enum {
    OP_REFS_NEUTRAL = 0,   /* no patient data: passes */
    OP_REFS_REFUSED,       /* cannot be attributed: refused when restricted */
    OP_REFS_RESOURCE,      /* an Orthanc ID in the path */
    OP_REFS_DICOMWEB,      /* DICOMweb UIDs in the path */
    OP_REFS_WADO_URI,      /* UIDs in the query string */
    OP_REFS_LIST,          /* GET /patients, /studies ...: answer filtered */
    OP_REFS_FIND,          /* POST /tools/find: body rewritten, answer filtered */
    OP_REFS_COUNT,         /* POST /tools/count-resources: body rewritten */
    OP_REFS_LOOKUP,        /* POST /tools/lookup: answer filtered */
    OP_REFS_QIDO,          /* QIDO-RS over the whole archive: query
                            * rewritten, answer filtered */
    OP_REFS_BODY,          /* Orthanc IDs listed in the body (or in the
                            * "resources" argument of a GET) */
    OP_REFS_JOB,           /* /jobs/{id}...: its creator's scope */
    OP_REFS_UPLOAD         /* stores new data */
} op_refs_kind;

/* What the body of a request says, when it names resources. */
typedef enum {
    OP_BODY_NONE = 0,
    OP_BODY_RESOURCES,     /* a JSON array of IDs, or {"Resources": [...]} */
    OP_BODY_QUERY,         /* no body: a GET's "resources=ID,ID..." */
    OP_BODY_MERGE,         /* {"Resources": [series or instances]} */
    OP_BODY_SPLIT,         /* {"Series": [...], "Instances": [...],
                            * "Replace": {...}, "Remove": [...]} */
    OP_BODY_CHANGES        /* modify, anonymize: {"Replace": {...},
                            * "Remove": [...]} */
} op_body_kind;

typedef struct {
    op_refs_kind kind;
    const char *family;            /* the route's family, for messages */
    /* RESOURCE: the resource the path names; LIST and QIDO: the level
     * listed; BODY: the level named in the body is not known */
    op_resource_level level;
    const char *id;
    /* RESOURCE: the answer shows the whole patient (a patient's route, or
     * /studies/{id}/patient ...): every study of the patient must pass */
    int patient_wide;
    /* DICOMWEB: the UIDs of the path (series and instance may be NULL) */
    const char *study_uid;
    const char *series_uid;
    const char *instance_uid;
    /* JOB: the job's ID */
    const char *job;
    /* PUT or DELETE of a label: its name */
    const char *label;
    op_body_kind body;
    int may_start_job;             /* "Asynchronous": true makes a job */
    int family_known;              /* the route's family has a decision */
    /* Why it is refused (REFUSED), or why its references cannot be read
     * (an ID or a UID that is not one): a sentence for people. */
    const char *why;
} op_study_refs;

/* The references of METHOD (the effective one; HEAD counts as GET) on the
 * segments of PATH from index FROM on. */
op_study_refs op_study_refs_classify(apr_pool_t *p, const char *method,
                                     const op_path *path, int from);

/* "patients", "studies", "series", "instances" (the collections). */
op_resource_level op_level_of_collection(const char *name);

#endif
