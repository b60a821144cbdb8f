/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_resolve.h - who and what a request touched, read from Orthanc's
 * answers: the patient and the study behind an Orthanc ID or a DICOMweb
 * UID, the new resources an upload or a modification made.
 *
 * The audit program asks Orthanc once per ID and remembers the answer
 * (Orthanc's IDs are hashes of the DICOM UIDs: the answer never changes);
 * an Apache child asks before it forwards a deletion or a modification
 * whose source may be gone afterwards, and reads the answers of uploads
 * and modifications.  These functions read the answers; they ask nobody.
 */
#ifndef ORTHANC_PROXY_AUDIT_RESOLVE_H
#define ORTHANC_PROXY_AUDIT_RESOLVE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "orthanc_changes.h"

/* A participant of an event: a study of a patient (STUDY_UID NULL when the
 * request named a patient only), or, unresolved, Orthanc's ID. */
typedef struct {
    const char *patient_id;
    const char *patient_name;
    const char *study_uid;
    op_resource_level level;      /* what ORTHANC_ID names */
    const char *orthanc_id;
    apr_int64_t instances;         /* -1 when unknown */
    apr_int64_t bytes;             /* -1 when unknown */
    const char *role;              /* NULL, "source" or "result" */
} op_audit_subject;

/* GET /studies/{id} (or an item of /tools/find with "Expand"): the study's
 * UID and its patient. */
const char *op_audit_read_study(apr_pool_t *p, const char *text,
                                apr_size_t len, op_audit_subject *out);

/* GET /patients/{id}: the patient, and the Orthanc IDs of its studies
 * (const char *). */
const char *op_audit_read_patient(apr_pool_t *p, const char *text,
                                  apr_size_t len, op_audit_subject *out,
                                  apr_array_header_t **studies);

/* GET /series/{id} or /instances/{id}: the parent's Orthanc ID and the
 * resource's own UID. */
const char *op_audit_read_child(apr_pool_t *p, const char *text,
                                apr_size_t len, op_resource_level level,
                                const char **parent, const char **uid);

/* GET /{level}/{id}/statistics: instances and bytes on disk. */
const char *op_audit_read_statistics(apr_pool_t *p, const char *text,
                                     apr_size_t len, apr_int64_t *instances,
                                     apr_int64_t *bytes);

/* POST /tools/find {"Level": "Study", "Expand": true, ...}: the first
 * study found; an empty answer is an error. */
const char *op_audit_read_find(apr_pool_t *p, const char *text,
                               apr_size_t len, op_audit_subject *out);

/* The answer of POST /instances (one object, or an array for a ZIP) in a
 * few words for the child's record: {"studies": {"ORTHANC-ID": N, ...},
 * "stored": N, "failed": N}. */
const char *op_audit_summarize_upload(apr_pool_t *p, const char *text,
                                      apr_size_t len, char **summary);

/* The answer of STOW-RS (DICOM JSON): {"study_uid": UID, "stored": N,
 * "failed": N}. */
const char *op_audit_summarize_stow(apr_pool_t *p, const char *text,
                                    apr_size_t len, char **summary);

/* The answer of /{level}/{id}/modify, anonymize, merge or split:
 * {"id": ORTHANC-ID, "type": "Study"} (an asynchronous job: {"job": ID}). */
const char *op_audit_summarize_change(apr_pool_t *p, const char *text,
                                      apr_size_t len, char **summary);

/* SUBJECT as one JSON object, and back. */
char *op_audit_subject_json(apr_pool_t *p, const op_audit_subject *subject);
const char *op_audit_subject_parse(apr_pool_t *p, const char *text,
                                   op_audit_subject *out);

/* Reads the SUMMARY of an upload: the Orthanc study IDs and how many
 * instances each got (apr_int64_t *, same order). */
const char *op_audit_upload_studies(apr_pool_t *p, const char *summary,
                                    apr_array_header_t **ids,
                                    apr_array_header_t **counts);

/* How the resolution asks Orthanc: METHOD PATH (below the backend's
 * URL) with BODY (NULL for none); NULL when an answer came (*STATUS, *TEXT
 * and *LEN set), else why none came. */
typedef const char *(*op_audit_fetch)(void *ctx, apr_pool_t *p,
                                      const char *method, const char *path,
                                      const char *body, int *status,
                                      const char **text, apr_size_t *len);

/* What it remembers (optional: RECALL may be NULL): text under a key,
 * answers that never change for an ID. */
typedef struct {
    op_audit_fetch fetch;
    void *fetch_ctx;
    const char *(*recall)(void *ctx, apr_pool_t *p, const char *key);
    void (*remember)(void *ctx, const char *key, const char *value);
    void *cache_ctx;
} op_audit_resolver;

/* The patient and study of the resource LEVEL/ID (for a patient: the
 * patient alone); *INSTANCE_UID, when not NULL, gets an instance's SOP
 * Instance UID.  With COUNT, the instances and bytes of the resource
 * itself too (GET .../statistics).  NULL on success, else why not
 * (*NOT_FOUND set when Orthanc has no such resource). */
const char *op_audit_resolve_id(apr_pool_t *p, const op_audit_resolver *r,
                                op_resource_level level, const char *id,
                                int count, op_audit_subject *out,
                                const char **instance_uid, int *not_found);

/* The same for a study's UID (POST /tools/find). */
const char *op_audit_resolve_study_uid(apr_pool_t *p,
                                       const op_audit_resolver *r,
                                       const char *uid, op_audit_subject *out,
                                       int *not_found);

/* Every study of the patient ID with its counts (op_audit_subject), as a
 * deletion of the patient needs them. */
const char *op_audit_resolve_patient_studies(apr_pool_t *p,
                                             const op_audit_resolver *r,
                                             const char *id,
                                             apr_array_header_t **subjects,
                                             int *not_found);

/* An unresolved subject: Orthanc's ID only. */
void op_audit_subject_unresolved(op_audit_subject *out,
                                 op_resource_level level, const char *id);

#endif
