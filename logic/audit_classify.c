/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_classify.c - a request's meaning for the audit trail, from the
 * family of its route (audit_classify.h).
 */
#include "audit_classify.h"

#include <string.h>
#include <apr_strings.h>

#include "hex.h"
#include "route_table.h"

static const char *segment(const op_path *path, int index)
{
    return index < path->segments->nelts
           ? APR_ARRAY_IDX(path->segments, index, const char *) : NULL;
}

static int is(const char *text, const char *word)
{
    return text != NULL && strcmp(text, word) == 0;
}

static op_audit_class make(op_audit_kind kind, char action)
{
    op_audit_class c;
    memset(&c, 0, sizeof(c));
    c.kind = kind;
    c.action = action;
    c.family_known = 1;
    return c;
}

/* /{level}/{id}/...: the resource. */
static void take_resource(op_audit_class *c, const op_path *path, int from)
{
    const char *collection = segment(path, from);
    const char *id = segment(path, from + 1);
    op_resource_level level = OP_RESOURCE_UNKNOWN;

    if (is(collection, "patients")) {
        level = OP_RESOURCE_PATIENT;
    }
    else if (is(collection, "studies")) {
        level = OP_RESOURCE_STUDY;
    }
    else if (is(collection, "series")) {
        level = OP_RESOURCE_SERIES;
    }
    else if (is(collection, "instances")) {
        level = OP_RESOURCE_INSTANCE;
    }
    if (level != OP_RESOURCE_UNKNOWN && id != NULL) {
        c->level = level;
        c->orthanc_id = id;
    }
}

/* /dicom-web/studies/{uid}/series/{uid}/instances/{uid}/...: the UIDs. */
static void take_uids(op_audit_class *c, const op_path *path, int from)
{
    if (is(segment(path, from + 1), "studies")) {
        c->study_uid = segment(path, from + 2);
        if (is(segment(path, from + 3), "series")) {
            c->series_uid = segment(path, from + 4);
            if (is(segment(path, from + 5), "instances")) {
                c->instance_uid = segment(path, from + 6);
            }
        }
    }
}

const char *op_audit_query_arg(apr_pool_t *p, const char *query,
                               const char *name)
{
    apr_size_t name_len = strlen(name);

    while (query && *query) {
        apr_size_t len = strcspn(query, "&");
        if (len > name_len && strncmp(query, name, name_len) == 0
            && query[name_len] == '=') {
            const char *v = query + name_len + 1;
            apr_size_t n = len - name_len - 1, i;
            char *out = apr_palloc(p, n + 1), *o = out;
            for (i = 0; i < n; i++) {
                int hi, lo;
                if (v[i] == '+') {
                    *o++ = ' ';
                }
                else if (v[i] == '%' && i + 2 < n
                         && (hi = op_hex_value((unsigned char)v[i + 1])) >= 0
                         && (lo = op_hex_value((unsigned char)v[i + 2])) >= 0
                         && (hi || lo)) {
                    *o++ = (char)(hi * 16 + lo);
                    i += 2;
                }
                else {
                    *o++ = v[i];
                }
            }
            *o = '\0';
            return out;
        }
        query += len + (query[len] == '&');
    }
    return NULL;
}

static op_audit_class reading(const char *method, const char *family,
                              const op_path *path, int from)
{
    op_audit_class c;
    const char *last = segment(path, path->segments->nelts - 1);

    if (strcmp(method, "GET") == 0
        || (strcmp(method, "POST") == 0 && is(last, "verify-md5"))) {
        c = make(OP_AUDIT_ACCESSED, 'R');
    }
    else {
        c = make(OP_AUDIT_MODIFY, 'U');
        c.what = family;
    }
    take_resource(&c, path, from);
    return c;
}

static op_audit_class by_family(apr_pool_t *p, const char *method,
                                const char *family, const op_path *path,
                                int from, const char *query)
{
    const char *first = segment(path, from);
    const char *last = segment(path, path->segments->nelts - 1);
    int below_level = path->segments->nelts > from + 1;
    op_audit_class c;

    if (strcmp(family, "resources") == 0) {
        if (!below_level) {
            return make(OP_AUDIT_QUERY, 'E');     /* the list of all IDs */
        }
        c = make(OP_AUDIT_ACCESSED, 'R');
        take_resource(&c, path, from);
        return c;
    }
    if (strcmp(family, "images") == 0
        || strcmp(family, "DICOM tags and files") == 0) {
        if (is(last, "file")) {
            c = make(OP_AUDIT_EXPORT, 'R');
            c.what = "file";
        }
        else {
            c = make(OP_AUDIT_ACCESSED, 'R');
        }
        take_resource(&c, path, from);
        return c;
    }
    if (strcmp(family, "labels") == 0 && is(first, "tools")) {
        return make(OP_AUDIT_NONE, 'R');          /* the names of all labels */
    }
    if (strcmp(family, "metadata") == 0 || strcmp(family, "labels") == 0
        || strcmp(family, "attachments") == 0
        || strcmp(family, "patient protection") == 0) {
        return reading(method, family, path, from);
    }
    if (strcmp(family, "archives and media") == 0) {
        c = make(OP_AUDIT_EXPORT, 'R');
        if (is(first, "tools")) {
            c.what = last;
            c.keep_body = strcmp(method, "POST") == 0;
            c.orthanc_id = op_audit_query_arg(p, query, "resources");
        }
        else {
            c.what = last;
            take_resource(&c, path, from);
        }
        return c;
    }
    if (strcmp(family, "search") == 0) {
        c = make(OP_AUDIT_QUERY, 'E');
        c.keep_body = 1;
        return c;
    }
    if (strcmp(family, "bulk operations (reading)") == 0) {
        c = make(OP_AUDIT_ACCESSED, 'R');
        c.keep_body = 1;
        c.what = "bulk-content";
        return c;
    }
    if (strcmp(family, "storing DICOM files") == 0
        || strcmp(family, "DICOMweb STOW-RS") == 0) {
        c = make(OP_AUDIT_IMPORT, 'C');
        c.keep_answer = 1;
        take_uids(&c, path, from);
        return c;
    }
    if (strcmp(family, "deleting resources") == 0) {
        c = make(OP_AUDIT_DELETE, 'D');
        if (is(first, "tools")) {
            c.unattributable = 1;
            c.what = last;
        }
        else {
            c.resolve_first = 1;
            take_resource(&c, path, from);
        }
        return c;
    }
    if (strcmp(family, "modification and anonymization") == 0) {
        if (is(first, "tools")) {
            c = make(OP_AUDIT_MODIFY, 'C');
            c.unattributable = 1;
        }
        else if (is(first, "instances")) {
            /* Orthanc answers with the changed file, stores nothing. */
            c = make(OP_AUDIT_EXPORT, 'R');
        }
        else {
            c = make(OP_AUDIT_MODIFY, 'C');
            c.resolve_first = 1;
            c.keep_answer = 1;
        }
        c.what = last;
        take_resource(&c, path, from);
        return c;
    }
    if (strcmp(family, "study merge and split") == 0
        || strcmp(family, "reconstruction") == 0) {
        c = make(OP_AUDIT_MODIFY, 'U');
        c.what = last;
        c.resolve_first = strcmp(family, "reconstruction") != 0;
        c.keep_answer = c.resolve_first;
        take_resource(&c, path, from);
        return c;
    }
    if (strcmp(family, "DICOMweb QIDO/WADO") == 0) {
        c = make(OP_AUDIT_QUERY, 'E');
        take_uids(&c, path, from);
        if (c.study_uid != NULL) {
            c.kind = OP_AUDIT_ACCESSED;
            c.action = 'R';
        }
        return c;
    }
    if (strcmp(family, "DICOMweb WADO-URI") == 0) {
        c = make(OP_AUDIT_ACCESSED, 'R');
        c.study_uid = op_audit_query_arg(p, query, "studyUID");
        c.series_uid = op_audit_query_arg(p, query, "seriesUID");
        c.instance_uid = op_audit_query_arg(p, query, "objectUID");
        return c;
    }
    if (strcmp(family, "export to the server's disk") == 0) {
        c = make(OP_AUDIT_EXPORT, 'R');
        c.what = "export to the server's disk";
        take_resource(&c, path, from);
        return c;
    }
    if (strcmp(family, "DICOM networking") == 0
        || strcmp(family, "Orthanc peers") == 0
        || strcmp(family, "DICOMweb servers (outbound requests)") == 0) {
        if (strcmp(method, "POST") == 0
            && (is(last, "store") || is(last, "store-straight")
                || is(last, "stow"))) {
            c = make(OP_AUDIT_TRANSFER, 'R');
            c.keep_body = 1;
            c.what = segment(path, is(first, "dicom-web") ? from + 2 : from + 1);
            return c;
        }
        if (strcmp(method, "POST") == 0 && is(last, "query")) {
            c = make(OP_AUDIT_QUERY, 'E');
            c.keep_body = 1;
            return c;
        }
        return make(OP_AUDIT_NONE, 'E');
    }
    {
        /* Families that hold no patient data. */
        static const char *const NONE[] = {
            "server administration (Lua)", "server administration",
            "server settings", "server information", "web UI",
            "monitoring metrics", "jobs control", "changes and exports logs",
            "everybody's jobs, exports and queries", "a job by its ID",
            "DICOM query results", "DICOM networking (query/retrieve)",
            "DICOM networking (storage commitment)",
            "DICOMweb client (web UI)", "DICOMweb metadata cache", NULL
        };
        int i;
        for (i = 0; NONE[i]; i++) {
            if (strcmp(family, NONE[i]) == 0) {
                return make(OP_AUDIT_NONE, 'E');
            }
        }
    }
    c = make(OP_AUDIT_UNKNOWN, 'E');
    c.family_known = 0;
    return c;
}

op_audit_class op_audit_classify(apr_pool_t *p, const char *method,
                                 const op_path *path, int from,
                                 const char *query)
{
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    const op_route *route = op_route_find(as, path, from);

    if (route == NULL) {
        return make(OP_AUDIT_UNKNOWN, 'E');
    }
    return by_family(p, as, route->family, path, from, query);
}

const char *op_audit_kind_name(op_audit_kind kind)
{
    static const char *const NAMES[OP_AUDIT_KINDS] = {
        "none", "instances-accessed", "query", "export",
        "instances-transferred", "import", "deletion", "modification",
        "security-alert", "login-failed", "unclassified"
    };
    return (int)kind >= 0 && kind < OP_AUDIT_KINDS ? NAMES[kind] : "?";
}
