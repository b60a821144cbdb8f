/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_policy.h - which of Orthanc's answers may be cached, and what makes
 * them fresh again.
 *
 * Orthanc's data is "CRUD without update": what is addressed by an
 * instance (its file, frames, previews, tags) only changes if the instance
 * is deleted and stored again, while aggregates (a series and its list of
 * instances, QIDO answers, the lists of all studies) change as instances
 * arrive.  Every cacheable answer therefore depends on one scope: the
 * resource it is addressed by (an Orthanc ID, or a DICOM UID for DICOMweb)
 * or, for answers about the whole archive, the lists.  The cache keys an
 * answer by the generation counter of its scope (generation_table.h), and
 * the change follower increments the counters of every scope a change
 * touches.
 *
 * Only routes this table knows are cached: everything else (the change
 * log, jobs, the server's state, archives, the web interfaces, plugins)
 * goes to Orthanc every time.
 */
#ifndef ORTHANC_PROXY_CACHE_POLICY_H
#define ORTHANC_PROXY_CACHE_POLICY_H

#include "path_canon.h"

typedef enum {
    OP_CACHE_NEVER = 0,
    OP_CACHE_CONTENT,     /* derived from one instance's file */
    OP_CACHE_AGGREGATE    /* lists, resources, metadata, QIDO answers */
} op_cache_class;

typedef enum {
    OP_SCOPE_NONE = 0,
    OP_SCOPE_LISTS,       /* answers about the whole archive */
    OP_SCOPE_PATIENT,     /* an Orthanc ID of each level */
    OP_SCOPE_STUDY,
    OP_SCOPE_SERIES,
    OP_SCOPE_INSTANCE,
    OP_SCOPE_UID          /* a DICOM UID (study, series or instance) */
} op_scope_kind;

typedef struct {
    op_scope_kind kind;
    const char *id;       /* the ID or UID; NULL for LISTS and NONE */
} op_scope;

typedef struct {
    op_cache_class cls;
    op_scope scope;
    /* The answer shows labels (Orthanc >= 1.12 puts them in every resource
     * and list of resources), and Orthanc logs no change of a label: on an
     * Orthanc with labels it is not cached. */
    int shows_labels;
} op_cache_route;

/* For a GET (or HEAD) of PATH's segments from FROM on: whether the answer
 * may be cached, and the scope it depends on. */
op_cache_route op_cache_classify(const op_path *path, int from);

typedef struct {
    int everything;       /* the whole cache must be fresh again */
    int lists;            /* the archive-wide answers must */
    op_scope scope;       /* and those of this resource (NONE if none) */
} op_cache_bump;

/* For a request with METHOD on PATH that Orthanc answered with success:
 * what it changed, as far as the request alone tells.  The change follower
 * completes it from Orthanc's change log (the parents of a new instance);
 * what cannot be known from here (a deletion's parents, a Lua script)
 * makes everything fresh. */
op_cache_bump op_cache_bump_for(const char *method, const op_path *path,
                                int from);

/* One letter per scope kind (the counters' hash starts with it). */
char op_scope_letter(op_scope_kind kind);

/* Whether ID may name a resource in a key: 1 to 64 characters among
 * letters, digits, '.' and '-' (Orthanc IDs and DICOM UIDs are). */
int op_scope_id_is_plain(const char *id);

#endif
