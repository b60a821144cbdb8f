/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_classify.h - what a request through the proxy means to an
 * auditor, in DICOM's audit vocabulary (PS3.15 A.5).
 *
 * Decided from the route table (route_table.h): the family of the route a
 * request reaches and its method say which event it belongs to, and the
 * route's pattern says where the resource's ID or UIDs sit in the path.
 * Every family of the table has a decision here (the unit tests walk the
 * table), so a route added to the table without one fails them.
 */
#ifndef ORTHANC_PROXY_AUDIT_CLASSIFY_H
#define ORTHANC_PROXY_AUDIT_CLASSIFY_H

#include <apr_pools.h>

#include "orthanc_changes.h"
#include "path_canon.h"

typedef enum {
    OP_AUDIT_NONE = 0,      /* no patient data: not recorded */
    OP_AUDIT_ACCESSED,      /* viewing: DICOM Instances Accessed (110103) */
    OP_AUDIT_QUERY,         /* searches and lists: Query (110112) */
    OP_AUDIT_EXPORT,        /* archives, media, files: Export (110106) */
    OP_AUDIT_TRANSFER,      /* to a modality or a peer: DICOM Instances
                             * Transferred (110104) */
    OP_AUDIT_IMPORT,        /* uploads, STOW-RS: Import (110107) */
    OP_AUDIT_DELETE,        /* deletion: DICOM Study Deleted (110105) for
                             * patients and studies, Instances Accessed
                             * with action D for series and instances */
    OP_AUDIT_MODIFY,        /* changes: Instances Accessed, action U (labels,
                             * metadata ...) or C (modify, anonymize: new
                             * data) */
    OP_AUDIT_ALERT,         /* a refusal: Security Alert (110113) */
    OP_AUDIT_LOGIN,         /* a refused login: User Authentication (110114) */
    OP_AUDIT_UNKNOWN        /* a route the table does not know (opened with
                             * OrthancProxyAllow): JSON lines only */
} op_audit_kind;

#define OP_AUDIT_KINDS (OP_AUDIT_UNKNOWN + 1)

typedef struct {
    op_audit_kind kind;
    char action;                /* EventActionCode: C R U D E */
    int family_known;           /* the route's family has a decision here */
    /* The resource the path names: an Orthanc ID at LEVEL, or DICOMweb's
     * UIDs (WADO-URI's come from the query string). */
    op_resource_level level;
    const char *orthanc_id;
    const char *study_uid;
    const char *series_uid;
    const char *instance_uid;
    const char *what;           /* "modify", "anonymize", "labels" ...: a
                                 * word for the event's text, or NULL */
    /* What the child must do for the program to attribute it. */
    int resolve_first;          /* resolve the resource before forwarding
                                 * (it may be gone afterwards) */
    int keep_answer;            /* keep Orthanc's answer (new IDs) */
    int keep_body;              /* keep the start of the request body
                                 * (query keys, the list of resources) */
    int unattributable;         /* the resources are known only from a body
                                 * that must be forwarded first (bulk
                                 * deletion and modification): refused when
                                 * auditing */
} op_audit_class;

/* The class of METHOD (the effective one; HEAD counts as GET) on the
 * segments of PATH from index FROM on, with QUERY (NULL if none). */
op_audit_class op_audit_classify(apr_pool_t *p, const char *method,
                                 const op_path *path, int from,
                                 const char *query);

/* The value of argument NAME in QUERY (percent-decoded, '+' as space),
 * or NULL. */
const char *op_audit_query_arg(apr_pool_t *p, const char *query,
                               const char *name);

/* "instances-accessed", "query" ... */
const char *op_audit_kind_name(op_audit_kind kind);

#endif
