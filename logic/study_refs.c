/* SPDX-License-Identifier: Apache-2.0 */
/*
 * study_refs.c - where a request names its studies (see study_refs.h).
 */
#include "study_refs.h"

#include <string.h>
#include <apr_strings.h>

#include "route_table.h"
#include "study_rules.h"

static const char *segment(const op_path *path, int index)
{
    return index >= 0 && index < path->segments->nelts
           ? APR_ARRAY_IDX(path->segments, index, const char *) : NULL;
}

static int is(const char *text, const char *word)
{
    return text != NULL && strcmp(text, word) == 0;
}

op_resource_level op_level_of_collection(const char *name)
{
    if (is(name, "patients")) {
        return OP_RESOURCE_PATIENT;
    }
    if (is(name, "studies")) {
        return OP_RESOURCE_STUDY;
    }
    if (is(name, "series")) {
        return OP_RESOURCE_SERIES;
    }
    if (is(name, "instances")) {
        return OP_RESOURCE_INSTANCE;
    }
    return OP_RESOURCE_UNKNOWN;
}

static op_study_refs make(op_refs_kind kind, const char *family)
{
    op_study_refs refs;
    memset(&refs, 0, sizeof(refs));
    refs.kind = kind;
    refs.family = family;
    refs.family_known = 1;
    return refs;
}

static op_study_refs refused(const char *family, const char *why)
{
    op_study_refs refs = make(OP_REFS_REFUSED, family);
    refs.why = why;
    return refs;
}

/* /{level}/{id}/...: the resource, checked to be an Orthanc ID. */
static op_study_refs resource(apr_pool_t *p, const char *family,
                              const op_path *path, int from)
{
    op_study_refs refs = make(OP_REFS_RESOURCE, family);
    const char *collection = segment(path, from);
    const char *last = segment(path, path->segments->nelts - 1);

    refs.level = op_level_of_collection(collection);
    refs.id = segment(path, from + 1);
    if (refs.level == OP_RESOURCE_UNKNOWN || refs.id == NULL) {
        return refused(family, "the path names no resource");
    }
    if (!op_orthanc_id_is_valid(refs.id)) {
        return refused(family, apr_psprintf(
            p, "'%s' is not an Orthanc ID", refs.id));
    }
    refs.patient_wide = refs.level == OP_RESOURCE_PATIENT
                        || (path->segments->nelts == from + 3
                            && is(last, "patient"));
    return refs;
}

/* /dicom-web/studies/{uid}[/series/{uid}[/instances/{uid}]]/... */
static op_study_refs dicomweb(apr_pool_t *p, const char *family,
                              const op_path *path, int from)
{
    op_study_refs refs = make(OP_REFS_DICOMWEB, family);
    const char *uids[3];
    int i;

    refs.study_uid = segment(path, from + 2);
    if (is(segment(path, from + 3), "series")) {
        refs.series_uid = segment(path, from + 4);
        if (is(segment(path, from + 5), "instances")) {
            refs.instance_uid = segment(path, from + 6);
        }
    }
    uids[0] = refs.study_uid;
    uids[1] = refs.series_uid;
    uids[2] = refs.instance_uid;
    for (i = 0; i < 3; i++) {
        /* A UID the plugin would give Orthanc's search as a pattern or a
         * list ('*', '\\') names other studies than it seems to. */
        if (uids[i] && !op_study_uid_is_valid(uids[i])) {
            return refused(family, apr_psprintf(
                p, "'%s' is not a DICOM UID", uids[i]));
        }
    }
    return refs;
}

static op_study_refs by_family(apr_pool_t *p, const char *method,
                               const char *family, const op_path *path,
                               int from)
{
    const char *first = segment(path, from);
    const char *last = segment(path, path->segments->nelts - 1);
    int depth = path->segments->nelts - from;
    int get = strcmp(method, "GET") == 0;
    op_study_refs refs;

    if (strcmp(family, "resources") == 0) {
        if (depth == 1) {
            refs = make(OP_REFS_LIST, family);
            refs.level = op_level_of_collection(first);
            return refs;
        }
        return resource(p, family, path, from);
    }
    if (strcmp(family, "images") == 0
        || strcmp(family, "DICOM tags and files") == 0
        || strcmp(family, "metadata") == 0
        || strcmp(family, "attachments") == 0
        || strcmp(family, "patient protection") == 0
        || strcmp(family, "reconstruction") == 0
        || strcmp(family, "export to the server's disk") == 0
        || strcmp(family, "DICOMweb metadata cache") == 0) {
        return resource(p, family, path, from);
    }
    if (strcmp(family, "labels") == 0) {
        if (is(first, "tools")) {
            /* The names of the labels in use, no study. */
            return make(OP_REFS_NEUTRAL, family);
        }
        refs = resource(p, family, path, from);
        if (refs.kind == OP_REFS_RESOURCE && !get && depth == 4) {
            refs.label = last;
        }
        return refs;
    }
    if (strcmp(family, "archives and media") == 0) {
        if (is(first, "tools")) {
            refs = make(OP_REFS_BODY, family);
            refs.body = get ? OP_BODY_QUERY : OP_BODY_RESOURCES;
        }
        else {
            refs = resource(p, family, path, from);
        }
        refs.may_start_job = !get;
        return refs;
    }
    if (strcmp(family, "search") == 0) {
        if (is(last, "find")) {
            return make(OP_REFS_FIND, family);
        }
        if (is(last, "count-resources")) {
            return make(OP_REFS_COUNT, family);
        }
        return make(OP_REFS_LOOKUP, family);
    }
    if (strcmp(family, "bulk operations (reading)") == 0) {
        refs = make(OP_REFS_BODY, family);
        refs.body = OP_BODY_RESOURCES;
        return refs;
    }
    if (strcmp(family, "deleting resources") == 0) {
        if (is(first, "tools")) {
            refs = make(OP_REFS_BODY, family);
            refs.body = OP_BODY_RESOURCES;
            refs.may_start_job = 1;
            return refs;
        }
        return resource(p, family, path, from);
    }
    if (strcmp(family, "modification and anonymization") == 0) {
        if (is(first, "tools")) {
            refs = make(OP_REFS_BODY, family);
        }
        else {
            refs = resource(p, family, path, from);
        }
        if (refs.kind != OP_REFS_REFUSED) {
            refs.body = OP_BODY_CHANGES;
            refs.may_start_job = 1;
        }
        return refs;
    }
    if (strcmp(family, "study merge and split") == 0) {
        refs = resource(p, family, path, from);
        if (refs.kind != OP_REFS_REFUSED) {
            refs.body = is(last, "merge") ? OP_BODY_MERGE : OP_BODY_SPLIT;
            refs.may_start_job = 1;
        }
        return refs;
    }
    if (strcmp(family, "storing DICOM files") == 0
        || strcmp(family, "DICOMweb STOW-RS") == 0) {
        return make(OP_REFS_UPLOAD, family);
    }
    if (strcmp(family, "DICOMweb QIDO/WADO") == 0) {
        if (depth == 2) {
            refs = make(OP_REFS_QIDO, family);
            refs.level = op_level_of_collection(segment(path, from + 1));
            return refs;
        }
        return dicomweb(p, family, path, from);
    }
    if (strcmp(family, "DICOMweb WADO-URI") == 0) {
        return make(OP_REFS_WADO_URI, family);
    }
    if (strcmp(family, "a job by its ID") == 0
        || strcmp(family, "jobs control") == 0) {
        refs = make(OP_REFS_JOB, family);
        refs.job = segment(path, from + 1);
        return refs;
    }
    if (strcmp(family, "server information") == 0) {
        if (is(first, "statistics")) {
            return refused(family, "the statistics count every study");
        }
        return make(OP_REFS_NEUTRAL, family);
    }
    {
        /* Families that hold no patient data. */
        static const char *const NEUTRAL[] = {
            "server settings", "web UI", "DICOMweb client (web UI)", NULL
        };
        /* Families whose studies cannot be attributed. */
        static const char *const REFUSED[][2] = {
            { "changes and exports logs",
              "the change log names resources of every study" },
            { "monitoring metrics", "the metrics count every study" },
            { "everybody's jobs, exports and queries",
              "these lists name resources of every study" },
            { "DICOM query results",
              "query results come from other DICOM nodes" },
            { "DICOM networking", "the body names resources the module "
              "does not read" },
            { "DICOM networking (query/retrieve)",
              "query results come from other DICOM nodes" },
            { "DICOM networking (storage commitment)",
              "storage commitment names instances of any study" },
            { "Orthanc peers", "the body names resources the module does "
              "not read" },
            { "DICOMweb servers (outbound requests)", "the body names "
              "resources the module does not read" },
            { "server administration (Lua)", "a script can read any study" },
            { "server administration", "it concerns every study" },
            { NULL, NULL }
        };
        int i;
        for (i = 0; NEUTRAL[i]; i++) {
            if (strcmp(family, NEUTRAL[i]) == 0) {
                return make(OP_REFS_NEUTRAL, family);
            }
        }
        for (i = 0; REFUSED[i][0]; i++) {
            if (strcmp(family, REFUSED[i][0]) == 0) {
                return refused(family, REFUSED[i][1]);
            }
        }
    }
    refs = refused(family, "the module does not know which studies this "
                   "route reaches");
    refs.family_known = 0;
    return refs;
}

op_study_refs op_study_refs_classify(apr_pool_t *p, const char *method,
                                     const op_path *path, int from)
{
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    const op_route *route = op_route_find(as, path, from);

    if (route == NULL) {
        return refused("a route this proxy does not know", "the module "
                       "does not know which studies this route reaches");
    }
    return by_family(p, as, route->family, path, from);
}
