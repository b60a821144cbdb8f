/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_resolve.c - reading Orthanc's answers for the audit trail
 * (audit_resolve.h).
 */
#include "audit_resolve.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "json_error.h"
#include "json_read.h"

static const char *parse_object(apr_pool_t *p, const char *text,
                                apr_size_t len, const op_json **out)
{
    op_json *root;
    const char *err = op_json_parse(p, text, len, &root);
    if (err) {
        return err;
    }
    if (root->type != OP_JSON_OBJECT) {
        return "not a JSON object";
    }
    *out = root;
    return NULL;
}

void op_audit_subject_unresolved(op_audit_subject *out,
                                 op_resource_level level, const char *id)
{
    memset(out, 0, sizeof(*out));
    out->level = level;
    out->orthanc_id = id;
    out->instances = out->bytes = -1;
}

static void read_study_object(const op_json *root, op_audit_subject *out)
{
    const op_json *tags = op_json_member(root, "MainDicomTags");
    const op_json *patient = op_json_member(root, "PatientMainDicomTags");

    op_audit_subject_unresolved(out, OP_RESOURCE_STUDY,
                                op_json_string_member(root, "ID"));
    out->study_uid = op_json_string_member(tags, "StudyInstanceUID");
    out->patient_id = op_json_string_member(patient, "PatientID");
    out->patient_name = op_json_string_member(patient, "PatientName");
}

const char *op_audit_read_study(apr_pool_t *p, const char *text,
                                apr_size_t len, op_audit_subject *out)
{
    const op_json *root;
    const char *err = parse_object(p, text, len, &root);

    if (err) {
        return err;
    }
    read_study_object(root, out);
    if (out->study_uid == NULL) {
        return "the study has no StudyInstanceUID";
    }
    if (out->patient_id == NULL) {
        out->patient_id = "";       /* an empty PatientID is legal DICOM */
    }
    return NULL;
}

const char *op_audit_read_patient(apr_pool_t *p, const char *text,
                                  apr_size_t len, op_audit_subject *out,
                                  apr_array_header_t **studies)
{
    const op_json *root, *list;
    const char *err = parse_object(p, text, len, &root);

    if (err) {
        return err;
    }
    op_audit_subject_unresolved(out, OP_RESOURCE_PATIENT,
                                op_json_string_member(root, "ID"));
    out->patient_id = op_json_string_member(
        op_json_member(root, "MainDicomTags"), "PatientID");
    out->patient_name = op_json_string_member(
        op_json_member(root, "MainDicomTags"), "PatientName");
    if (out->patient_id == NULL) {
        out->patient_id = "";
    }
    *studies = apr_array_make(p, 4, sizeof(const char *));
    list = op_json_member(root, "Studies");
    if (list && list->type == OP_JSON_ARRAY) {
        int i;
        for (i = 0; i < list->items->nelts; i++) {
            const op_json *item = APR_ARRAY_IDX(list->items, i, const op_json *);
            if (item->type == OP_JSON_STRING) {
                APR_ARRAY_PUSH(*studies, const char *) = item->text;
            }
        }
    }
    return NULL;
}

const char *op_audit_read_child(apr_pool_t *p, const char *text,
                                apr_size_t len, op_resource_level level,
                                const char **parent, const char **uid)
{
    const op_json *root, *tags;
    const char *err = parse_object(p, text, len, &root);

    if (err) {
        return err;
    }
    tags = op_json_member(root, "MainDicomTags");
    if (level == OP_RESOURCE_SERIES) {
        *parent = op_json_string_member(root, "ParentStudy");
        *uid = op_json_string_member(tags, "SeriesInstanceUID");
    }
    else {
        *parent = op_json_string_member(root, "ParentSeries");
        *uid = op_json_string_member(tags, "SOPInstanceUID");
    }
    return *parent ? NULL : "the resource names no parent";
}

const char *op_audit_read_statistics(apr_pool_t *p, const char *text,
                                     apr_size_t len, apr_int64_t *instances,
                                     apr_int64_t *bytes)
{
    const op_json *root;
    const char *err = parse_object(p, text, len, &root);

    if (err) {
        return err;
    }
    if (!op_json_integer_member(root, "CountInstances", instances)) {
        *instances = 1;             /* an instance's statistics */
    }
    if (!op_json_integer_member(root, "DiskSize", bytes)) {
        *bytes = -1;
    }
    return NULL;
}

const char *op_audit_read_find(apr_pool_t *p, const char *text,
                               apr_size_t len, op_audit_subject *out)
{
    op_json *root;
    const char *err = op_json_parse(p, text, len, &root);

    if (err) {
        return err;
    }
    if (root->type != OP_JSON_ARRAY || root->items->nelts == 0
        || APR_ARRAY_IDX(root->items, 0, const op_json *)->type
           != OP_JSON_OBJECT) {
        return "Orthanc has no such study";
    }
    read_study_object(APR_ARRAY_IDX(root->items, 0, const op_json *), out);
    if (out->study_uid == NULL) {
        return "the study has no StudyInstanceUID";
    }
    if (out->patient_id == NULL) {
        out->patient_id = "";
    }
    return NULL;
}

/* One stored instance of an upload's answer. */
static void count_upload(const op_json *item, apr_hash_t *studies,
                         apr_array_header_t *order, apr_int64_t *stored,
                         apr_int64_t *failed)
{
    const char *study = op_json_string_member(item, "ParentStudy");
    const char *status = op_json_string_member(item, "Status");
    apr_int64_t *count;

    if (study == NULL || (status && strcmp(status, "Success") != 0
                          && strcmp(status, "AlreadyStored") != 0)) {
        (*failed)++;
        return;
    }
    (*stored)++;
    count = apr_hash_get(studies, study, APR_HASH_KEY_STRING);
    if (count == NULL) {
        count = apr_pcalloc(apr_hash_pool_get(studies), sizeof(*count));
        apr_hash_set(studies, study, APR_HASH_KEY_STRING, count);
        APR_ARRAY_PUSH(order, const char *) = study;
    }
    (*count)++;
}

const char *op_audit_summarize_upload(apr_pool_t *p, const char *text,
                                      apr_size_t len, char **summary)
{
    apr_hash_t *studies = apr_hash_make(p);
    apr_array_header_t *order = apr_array_make(p, 2, sizeof(const char *));
    apr_int64_t stored = 0, failed = 0;
    op_json *root;
    const char *err = op_json_parse(p, text, len, &root);
    char *out;
    int i;

    if (err) {
        return err;
    }
    if (root->type == OP_JSON_OBJECT) {
        count_upload(root, studies, order, &stored, &failed);
    }
    else if (root->type == OP_JSON_ARRAY) {
        for (i = 0; i < root->items->nelts; i++) {
            count_upload(APR_ARRAY_IDX(root->items, i, const op_json *),
                         studies, order, &stored, &failed);
        }
    }
    else {
        return "not an answer of POST /instances";
    }
    out = apr_pstrdup(p, "{\"studies\":{");
    for (i = 0; i < order->nelts; i++) {
        const char *id = APR_ARRAY_IDX(order, i, const char *);
        out = apr_psprintf(p, "%s%s%s:%" APR_INT64_T_FMT, out, i ? "," : "",
                           op_json_string(p, id),
                           *(apr_int64_t *)apr_hash_get(studies, id,
                                                        APR_HASH_KEY_STRING));
    }
    *summary = apr_psprintf(p, "%s},\"stored\":%" APR_INT64_T_FMT
                            ",\"failed\":%" APR_INT64_T_FMT "}", out, stored,
                            failed);
    return NULL;
}

/* The number of items of the DICOM JSON sequence TAG of ROOT. */
static apr_int64_t sequence_items(const op_json *root, const char *tag)
{
    const op_json *value = op_json_member(op_json_member(root, tag), "Value");
    return value && value->type == OP_JSON_ARRAY ? value->items->nelts : 0;
}

const char *op_audit_summarize_stow(apr_pool_t *p, const char *text,
                                    apr_size_t len, char **summary)
{
    const op_json *root, *url;
    const char *err = parse_object(p, text, len, &root);
    const char *study = NULL;

    if (err) {
        return err;
    }
    /* RetrieveURL (0008,1190) of the study: .../studies/{uid} */
    url = op_json_member(op_json_member(root, "00081190"), "Value");
    if (url && url->type == OP_JSON_ARRAY && url->items->nelts == 1) {
        const op_json *first = APR_ARRAY_IDX(url->items, 0, const op_json *);
        const char *slash = first->type == OP_JSON_STRING
                            ? strrchr(first->text, '/') : NULL;
        if (slash && strstr(first->text, "/studies/") == slash - 8) {
            study = slash + 1;
        }
    }
    *summary = apr_psprintf(p, "{\"study_uid\":%s,\"stored\":%"
                            APR_INT64_T_FMT ",\"failed\":%" APR_INT64_T_FMT "}",
                            study ? op_json_string(p, study) : "null",
                            sequence_items(root, "00081199"),
                            sequence_items(root, "00081198"));
    return NULL;
}

const char *op_audit_summarize_change(apr_pool_t *p, const char *text,
                                      apr_size_t len, char **summary)
{
    const op_json *root;
    const char *err = parse_object(p, text, len, &root);
    const char *id, *type, *path;

    if (err) {
        return err;
    }
    id = op_json_string_member(root, "ID");
    type = op_json_string_member(root, "Type");
    path = op_json_string_member(root, "Path");
    if (id == NULL) {
        return "the answer names no resource";
    }
    if (path && strncmp(path, "/jobs/", 6) == 0) {
        *summary = apr_psprintf(p, "{\"job\":%s}", op_json_string(p, id));
    }
    else {
        *summary = apr_psprintf(p, "{\"id\":%s,\"type\":%s}",
                                op_json_string(p, id),
                                op_json_string(p, type ? type : ""));
    }
    return NULL;
}

static const char *optional_string(apr_pool_t *p, const char *text)
{
    return text ? op_json_string(p, text) : "null";
}

char *op_audit_subject_json(apr_pool_t *p, const op_audit_subject *s)
{
    return apr_psprintf(p, "{\"patient\":%s,\"name\":%s,\"study\":%s,"
                        "\"level\":%s,\"id\":%s,\"instances\":%"
                        APR_INT64_T_FMT ",\"bytes\":%" APR_INT64_T_FMT "}",
                        optional_string(p, s->patient_id),
                        optional_string(p, s->patient_name),
                        optional_string(p, s->study_uid),
                        optional_string(p, op_resource_collection(s->level)),
                        optional_string(p, s->orthanc_id),
                        s->instances, s->bytes);
}

const char *op_audit_subject_parse(apr_pool_t *p, const char *text,
                                   op_audit_subject *out)
{
    const op_json *root;
    const char *err = parse_object(p, text, strlen(text), &root);
    const char *level;
    int i;

    if (err) {
        return err;
    }
    op_audit_subject_unresolved(out, OP_RESOURCE_UNKNOWN,
                                op_json_string_member(root, "id"));
    out->patient_id = op_json_string_member(root, "patient");
    out->patient_name = op_json_string_member(root, "name");
    out->study_uid = op_json_string_member(root, "study");
    level = op_json_string_member(root, "level");
    for (i = OP_RESOURCE_PATIENT; level && i <= OP_RESOURCE_INSTANCE; i++) {
        if (strcmp(level, op_resource_collection((op_resource_level)i)) == 0) {
            out->level = (op_resource_level)i;
        }
    }
    if (!op_json_integer_member(root, "instances", &out->instances)) {
        out->instances = -1;
    }
    if (!op_json_integer_member(root, "bytes", &out->bytes)) {
        out->bytes = -1;
    }
    return NULL;
}

const char *op_audit_upload_studies(apr_pool_t *p, const char *summary,
                                    apr_array_header_t **ids,
                                    apr_array_header_t **counts)
{
    const op_json *root, *studies;
    const char *err = parse_object(p, summary, strlen(summary), &root);
    int i;

    if (err) {
        return err;
    }
    *ids = apr_array_make(p, 2, sizeof(const char *));
    *counts = apr_array_make(p, 2, sizeof(apr_int64_t));
    studies = op_json_member(root, "studies");
    if (studies == NULL || studies->type != OP_JSON_OBJECT) {
        return NULL;
    }
    for (i = 0; i < studies->names->nelts; i++) {
        const op_json *n = APR_ARRAY_IDX(studies->items, i, const op_json *);
        APR_ARRAY_PUSH(*ids, const char *) =
            APR_ARRAY_IDX(studies->names, i, const char *);
        APR_ARRAY_PUSH(*counts, apr_int64_t) =
            n->type == OP_JSON_NUMBER ? apr_atoi64(n->text) : 0;
    }
    return NULL;
}

/* --------------------------------------------------- asking Orthanc */

static const char *get(apr_pool_t *p, const op_audit_resolver *r,
                       const char *method, const char *path, const char *body,
                       const char **text, apr_size_t *len, int *not_found)
{
    int status = 0;
    const char *err = r->fetch(r->fetch_ctx, p, method, path, body, &status,
                               text, len);
    if (err) {
        return apr_psprintf(p, "%s %s: %s", method, path, err);
    }
    if (status == 404) {
        *not_found = 1;
        return apr_psprintf(p, "Orthanc has no %s", path);
    }
    if (status != 200) {
        return apr_psprintf(p, "%s %s: Orthanc answered %d", method, path,
                            status);
    }
    return NULL;
}

static const char *recall(apr_pool_t *p, const op_audit_resolver *r,
                          const char *key)
{
    return r->recall ? r->recall(r->cache_ctx, p, key) : NULL;
}

static void remember(const op_audit_resolver *r, const char *key,
                     const char *value)
{
    if (r->remember) {
        r->remember(r->cache_ctx, key, value);
    }
}

static const char *resolve_study(apr_pool_t *p, const op_audit_resolver *r,
                                 const char *id, op_audit_subject *out,
                                 int *not_found)
{
    const char *key = apr_pstrcat(p, "study:", id, NULL);
    const char *known = recall(p, r, key), *text, *err;
    apr_size_t len;

    if (known) {
        return op_audit_subject_parse(p, known, out);
    }
    if ((err = get(p, r, "GET", apr_pstrcat(p, "/studies/", id, NULL), NULL,
                   &text, &len, not_found)) != NULL
        || (err = op_audit_read_study(p, text, len, out)) != NULL) {
        return err;
    }
    out->instances = out->bytes = -1;
    remember(r, key, op_audit_subject_json(p, out));
    return NULL;
}

/* The parent of a series or an instance, and the resource's own UID. */
static const char *resolve_parent(apr_pool_t *p, const op_audit_resolver *r,
                                  op_resource_level level, const char *id,
                                  const char **parent, const char **uid,
                                  int *not_found)
{
    const char *key = apr_pstrcat(p, op_resource_collection(level), ":", id,
                                  NULL);
    const char *known = recall(p, r, key), *text, *err;
    apr_size_t len;

    if (known) {
        const char *sep = strchr(known, '\x01');
        if (sep) {
            *parent = apr_pstrmemdup(p, known, (apr_size_t)(sep - known));
            *uid = *(sep + 1) ? sep + 1 : NULL;
            return NULL;
        }
    }
    if ((err = get(p, r, "GET", apr_pstrcat(p, "/",
                                            op_resource_collection(level),
                                            "/", id, NULL),
                   NULL, &text, &len, not_found)) != NULL
        || (err = op_audit_read_child(p, text, len, level, parent, uid))
           != NULL) {
        return err;
    }
    remember(r, key, apr_pstrcat(p, *parent, "\x01", *uid ? *uid : "", NULL));
    return NULL;
}

static const char *count_resource(apr_pool_t *p, const op_audit_resolver *r,
                                  op_resource_level level, const char *id,
                                  op_audit_subject *out, int *not_found)
{
    const char *text, *err;
    apr_size_t len;

    if ((err = get(p, r, "GET", apr_pstrcat(p, "/",
                                            op_resource_collection(level),
                                            "/", id, "/statistics", NULL),
                   NULL, &text, &len, not_found)) != NULL) {
        return err;
    }
    return op_audit_read_statistics(p, text, len, &out->instances,
                                    &out->bytes);
}

const char *op_audit_resolve_id(apr_pool_t *p, const op_audit_resolver *r,
                                op_resource_level level, const char *id,
                                int count, op_audit_subject *out,
                                const char **instance_uid, int *not_found)
{
    const char *err, *series = NULL, *study = NULL, *uid = NULL;

    *not_found = 0;
    if (instance_uid) {
        *instance_uid = NULL;
    }
    switch (level) {
    case OP_RESOURCE_PATIENT: {
        const char *text;
        apr_size_t len;
        apr_array_header_t *studies;
        if ((err = get(p, r, "GET", apr_pstrcat(p, "/patients/", id, NULL),
                       NULL, &text, &len, not_found)) != NULL
            || (err = op_audit_read_patient(p, text, len, out, &studies))
               != NULL) {
            return err;
        }
        break;
    }
    case OP_RESOURCE_INSTANCE:
        if ((err = resolve_parent(p, r, level, id, &series, &uid, not_found))
            != NULL) {
            return err;
        }
        if (instance_uid) {
            *instance_uid = uid;
        }
        if ((err = resolve_parent(p, r, OP_RESOURCE_SERIES, series, &study,
                                  &uid, not_found)) != NULL
            || (err = resolve_study(p, r, study, out, not_found)) != NULL) {
            return err;
        }
        break;
    case OP_RESOURCE_SERIES:
        if ((err = resolve_parent(p, r, OP_RESOURCE_SERIES, id, &study,
                                  &uid, not_found)) != NULL
            || (err = resolve_study(p, r, study, out, not_found)) != NULL) {
            return err;
        }
        break;
    case OP_RESOURCE_STUDY:
        if ((err = resolve_study(p, r, id, out, not_found)) != NULL) {
            return err;
        }
        break;
    default:
        return "not a resource of Orthanc";
    }
    out->level = level;
    out->orthanc_id = id;
    out->instances = out->bytes = -1;
    if (count) {
        err = count_resource(p, r, level, id, out, not_found);
    }
    return err;
}

const char *op_audit_resolve_study_uid(apr_pool_t *p,
                                       const op_audit_resolver *r,
                                       const char *uid, op_audit_subject *out,
                                       int *not_found)
{
    const char *key = apr_pstrcat(p, "uid:", uid, NULL);
    const char *known = recall(p, r, key), *text, *err;
    apr_size_t len;

    *not_found = 0;
    if (known) {
        return op_audit_subject_parse(p, known, out);
    }
    err = get(p, r, "POST", "/tools/find", apr_psprintf(p,
              "{\"Level\":\"Study\",\"Expand\":true,\"Limit\":1,"
              "\"Query\":{\"StudyInstanceUID\":%s}}", op_json_string(p, uid)),
              &text, &len, not_found);
    if (err == NULL && (err = op_audit_read_find(p, text, len, out)) != NULL) {
        *not_found = 1;
    }
    if (err) {
        return err;
    }
    out->instances = out->bytes = -1;
    remember(r, key, op_audit_subject_json(p, out));
    return NULL;
}

const char *op_audit_resolve_patient_studies(apr_pool_t *p,
                                             const op_audit_resolver *r,
                                             const char *id,
                                             apr_array_header_t **subjects,
                                             int *not_found)
{
    op_audit_subject patient;
    apr_array_header_t *studies;
    const char *text, *err;
    apr_size_t len;
    int i;

    *not_found = 0;
    if ((err = get(p, r, "GET", apr_pstrcat(p, "/patients/", id, NULL), NULL,
                   &text, &len, not_found)) != NULL
        || (err = op_audit_read_patient(p, text, len, &patient, &studies))
           != NULL) {
        return err;
    }
    *subjects = apr_array_make(p, studies->nelts + 1, sizeof(op_audit_subject));
    for (i = 0; i < studies->nelts; i++) {
        op_audit_subject *s = apr_array_push(*subjects);
        const char *study = APR_ARRAY_IDX(studies, i, const char *);
        if ((err = op_audit_resolve_id(p, r, OP_RESOURCE_STUDY, study, 1, s,
                                       NULL, not_found)) != NULL) {
            return err;
        }
    }
    if (studies->nelts == 0) {
        op_audit_subject *s = apr_array_push(*subjects);
        *s = patient;
        s->level = OP_RESOURCE_PATIENT;
        s->orthanc_id = id;
    }
    return NULL;
}
