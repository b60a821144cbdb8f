/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc_changes.c - Orthanc's change log and statistics (see
 * orthanc_changes.h).
 */
#include "orthanc_changes.h"

#include <string.h>
#include <apr_strings.h>

#include "json_read.h"

op_resource_level op_resource_level_parse(const char *name)
{
    static const char *const NAMES[] = {
        NULL, "Patient", "Study", "Series", "Instance"
    };
    int level;

    for (level = OP_RESOURCE_PATIENT; name && level <= OP_RESOURCE_INSTANCE;
         level++) {
        if (strcmp(name, NAMES[level]) == 0) {
            return (op_resource_level)level;
        }
    }
    return OP_RESOURCE_UNKNOWN;
}

const char *op_resource_collection(op_resource_level level)
{
    static const char *const COLLECTIONS[] = {
        NULL, "patients", "studies", "series", "instances"
    };
    return level > OP_RESOURCE_UNKNOWN && level <= OP_RESOURCE_INSTANCE
           ? COLLECTIONS[level] : NULL;
}

static const char *read_change(const op_json *item, op_change *change)
{
    if (item->type != OP_JSON_OBJECT
        || (change->type = op_json_string_member(item, "ChangeType")) == NULL
        || (change->id = op_json_string_member(item, "ID")) == NULL
        || !op_json_integer_member(item, "Seq", &change->seq)) {
        return "a change lacks ChangeType, ID or Seq";
    }
    change->level = op_resource_level_parse(
        op_json_string_member(item, "ResourceType"));
    return NULL;
}

const char *op_changes_parse(apr_pool_t *p, const char *text, apr_size_t len,
                             op_changes_page *out)
{
    op_json *root;
    const op_json *list, *done;
    const char *err;
    int i;

    if ((err = op_json_parse(p, text, len, &root)) != NULL) {
        return err;
    }
    list = op_json_member(root, "Changes");
    done = op_json_member(root, "Done");
    if (list == NULL || list->type != OP_JSON_ARRAY || done == NULL
        || (done->type != OP_JSON_TRUE && done->type != OP_JSON_FALSE)
        || !op_json_integer_member(root, "Last", &out->last)) {
        return "not an answer of /changes (Changes, Done, Last)";
    }
    out->done = done->type == OP_JSON_TRUE;
    out->changes = apr_array_make(p, list->items->nelts, sizeof(op_change));
    for (i = 0; i < list->items->nelts; i++) {
        op_change *change = apr_array_push(out->changes);
        if ((err = read_change(APR_ARRAY_IDX(list->items, i, const op_json *),
                               change)) != NULL) {
            return err;
        }
    }
    return NULL;
}

const char *op_statistics_parse(apr_pool_t *p, const char *text,
                                apr_size_t len, apr_int64_t *instances)
{
    op_json *root;
    const char *err = op_json_parse(p, text, len, &root);

    if (err) {
        return err;
    }
    if (!op_json_integer_member(root, "CountInstances", instances)) {
        return "not an answer of /statistics (CountInstances)";
    }
    return NULL;
}

const char *op_system_parse(apr_pool_t *p, const char *text, apr_size_t len,
                            int *has_labels)
{
    op_json *root;
    const op_json *labels;
    const char *err = op_json_parse(p, text, len, &root);

    if (err) {
        return err;
    }
    if (op_json_string_member(root, "Version") == NULL) {
        return "not an answer of /system (Version)";
    }
    labels = op_json_member(root, "HasLabels");
    *has_labels = labels != NULL && labels->type == OP_JSON_TRUE;
    return NULL;
}

const char *op_resource_parse(apr_pool_t *p, const char *text, apr_size_t len,
                              op_resource_level level, op_resource_info *out)
{
    static const char *const PARENTS[] = {
        NULL, NULL, "ParentPatient", "ParentStudy", "ParentSeries"
    };
    static const char *const UIDS[] = {
        NULL, NULL, "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"
    };
    op_json *root;
    const char *err = op_json_parse(p, text, len, &root);

    if (err) {
        return err;
    }
    if (level <= OP_RESOURCE_UNKNOWN || level > OP_RESOURCE_INSTANCE
        || root->type != OP_JSON_OBJECT) {
        return "not an answer about a resource";
    }
    out->parent = NULL;
    out->uid = NULL;
    if (level == OP_RESOURCE_PATIENT) {
        return NULL;
    }
    out->parent = op_json_string_member(root, PARENTS[level]);
    out->uid = op_json_string_member(op_json_member(root, "MainDicomTags"),
                                     UIDS[level]);
    if (out->parent == NULL) {
        return apr_pstrcat(p, "the resource has no ", PARENTS[level], NULL);
    }
    return NULL;
}

apr_int64_t op_changes_new_instances(const apr_array_header_t *changes)
{
    apr_int64_t count = 0;
    int i;

    for (i = 0; i < changes->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(changes, i, op_change).type,
                   "NewInstance") == 0) {
            count++;
        }
    }
    return count;
}

int op_instances_were_deleted(apr_int64_t before, apr_int64_t after,
                              apr_int64_t new_instances)
{
    return after - before < new_instances;
}
