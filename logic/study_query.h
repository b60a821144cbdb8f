/* SPDX-License-Identifier: Apache-2.0 */
/*
 * study_query.h - searches and lists under a study scope (study_rules.h).
 *
 * Orthanc applies the scope itself where it can: the proxy adds the
 * scope's attributes to a QIDO-RS query string, and its attributes and
 * labels to the body of POST /tools/find, so that Orthanc's own paging
 * (limit and offset, Limit and Since) and counts stay right.  It can when
 * the scope is one clause of attributes (and labels, in /tools/find at
 * the study level), the client does not name the same attributes, and
 * every Orthanc release reads the added text alike.  Otherwise the
 * request is forwarded without its paging, and the proxy pages the
 * filtered answer itself.  Either way every item of the answer is checked
 * against the scope before it is shown: the rewriting makes lists fast,
 * the check makes them safe.
 */
#ifndef ORTHANC_PROXY_STUDY_QUERY_H
#define ORTHANC_PROXY_STUDY_QUERY_H

#include <apr_pools.h>

#include "json_read.h"
#include "orthanc_changes.h"
#include "study_rules.h"

/* Whether NAME (LEN bytes), a QIDO-RS argument name or a key of
 * /tools/find's "Query", may be read by Orthanc as ATTRIBUTE's tag: its
 * keyword in any case, "ggggeeee", or what DCMTK's sscanf("%x,%x") reads
 * as the group and element (after a sign, "0x", before any garbage,
 * modulo 65536). */
int op_dicom_name_may_be(const char *name, apr_size_t len,
                         const op_study_attribute *attribute);

/* How a list is answered. */
typedef struct {
    const char *query;          /* the query string to forward (NULL: none) */
    const char *body;           /* the body to forward (/tools/find) */
    apr_size_t body_length;
    int exact;                  /* Orthanc applies the whole scope: its
                                 * paging stands */
    apr_int64_t offset;         /* not exact: applied to the checked answer */
    apr_int64_t limit;          /* 0: no limit */
    op_resource_level level;    /* /tools/find: the level searched */
    int reduce_to_ids;          /* /tools/find: the client asked for IDs,
                                 * the proxy for the resources */
    const char *error;          /* the request cannot be read alike by
                                 * every release: refused with 400 */
} op_list_plan;

/* A QIDO-RS query QUERY (NULL for none) over the whole archive under
 * SCOPE (neither all nor empty). */
op_list_plan op_qido_plan(apr_pool_t *p, const char *query,
                          const op_study_scope *scope);

/* GET /patients, /studies ... with QUERY: "since" and "limit" taken out,
 * to be applied to the checked answer. */
op_list_plan op_rest_list_plan(apr_pool_t *p, const char *query);

/* The body of POST /tools/find (LEN bytes at BODY) under SCOPE;
 * HAS_LABELS: the Orthanc shows labels (1.12 and later). */
op_list_plan op_find_plan(apr_pool_t *p, const char *body, apr_size_t len,
                          const op_study_scope *scope, int has_labels);

/* The study of one QIDO-RS item: its StudyInstanceUID and, when shown,
 * PatientID (else NULL); 0 when the item shows no study UID. */
int op_qido_item_study(const op_json *item, const char **study_uid,
                       const char **patient_id);

/* The items of ARRAY whose KEEP[i] is not zero, then OFFSET of them
 * skipped and at most LIMIT kept (0: all); with IDS, each object replaced
 * by its "ID". */
op_json *op_json_select(apr_pool_t *p, const op_json *array, const char *keep,
                        apr_int64_t offset, apr_int64_t limit, int ids);

#endif
