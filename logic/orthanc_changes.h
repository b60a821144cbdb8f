/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc_changes.h - reading Orthanc's change log, statistics and
 * resources, and what they say changed.
 *
 * GET /changes?since=N&limit=M answers {"Changes": [...], "Done": bool,
 * "Last": N}, each change with "ChangeType", "ResourceType", "ID" and
 * "Seq".  Orthanc (1.10 to 1.13) logs new resources, stable resources, user
 * metadata and attachments, but never deletions (ChangeType_Deleted is
 * above the logged range), and deleting a resource also deletes its
 * earlier entries from the log.  Deletions show instead as fewer instances
 * in GET /statistics than the new instances of the log account for, and as
 * holes in the sequence numbers - also at the end of the log: when no
 * change follows "since", "Last" is the database's high-water mark of
 * sequence numbers, removed entries included (change_cursor.h).
 */
#ifndef ORTHANC_PROXY_ORTHANC_CHANGES_H
#define ORTHANC_PROXY_ORTHANC_CHANGES_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    OP_RESOURCE_UNKNOWN = 0,
    OP_RESOURCE_PATIENT,
    OP_RESOURCE_STUDY,
    OP_RESOURCE_SERIES,
    OP_RESOURCE_INSTANCE
} op_resource_level;

typedef struct {
    const char *type;            /* "NewInstance", "UpdatedMetadata" ... */
    op_resource_level level;
    const char *id;              /* Orthanc's ID of the resource */
    apr_int64_t seq;
} op_change;

typedef struct {
    apr_array_header_t *changes; /* op_change, in the log's order */
    int done;
    apr_int64_t last;
} op_changes_page;

/* Reads an answer of GET /changes; NULL or what is wrong with it. */
const char *op_changes_parse(apr_pool_t *p, const char *text, apr_size_t len,
                             op_changes_page *out);

/* Reads "CountInstances" from an answer of GET /statistics. */
const char *op_statistics_parse(apr_pool_t *p, const char *text,
                                apr_size_t len, apr_int64_t *instances);

/* Reads "HasLabels" from an answer of GET /system: whether this Orthanc
 * has labels (1.12 and later say true; older ones say nothing). */
const char *op_system_parse(apr_pool_t *p, const char *text, apr_size_t len,
                            int *has_labels);

typedef struct {
    const char *parent;          /* Orthanc's ID of the parent; NULL for a patient */
    const char *uid;             /* the DICOM UID of the resource; NULL for a patient */
} op_resource_info;

/* Reads an answer of GET /instances/{id}, /series/{id} or /studies/{id}
 * (LEVEL says which): the parent's ID and the resource's UID. */
const char *op_resource_parse(apr_pool_t *p, const char *text, apr_size_t len,
                              op_resource_level level, op_resource_info *out);

/* "Instance" -> OP_RESOURCE_INSTANCE ...; OP_RESOURCE_UNKNOWN otherwise. */
op_resource_level op_resource_level_parse(const char *name);

/* The REST collection of LEVEL: "instances", "series" ... */
const char *op_resource_collection(op_resource_level level);

/* How many entries of CHANGES announce a new instance. */
apr_int64_t op_changes_new_instances(const apr_array_header_t *changes);

/* Whether instances were deleted between two readings of the statistics
 * taken each right after the log was read to its end: BEFORE and AFTER
 * instances, NEW_INSTANCES new ones logged in between.  An instance stored
 * again (same ID) without a deletion in between counts as deleted, which
 * only makes more answers fresh. */
int op_instances_were_deleted(apr_int64_t before, apr_int64_t after,
                              apr_int64_t new_instances);

#endif
