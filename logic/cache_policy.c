/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_policy.c - cacheable answers and their scopes (see cache_policy.h).
 *
 * The words below are those of the route table (route_table.c): only GET
 * routes Orthanc 1.10 to 1.12 and the DICOMweb plugin really serve, read
 * segment by segment on the canonical path.
 */
#include "cache_policy.h"

#include <string.h>

#include "route_table.h"

typedef struct {
    const op_path *path;
    int from;
    int n;                /* segments from FROM on */
} segments;

static const char *seg(const segments *s, int i)
{
    return i < s->n ? APR_ARRAY_IDX(s->path->segments, s->from + i,
                                    const char *)
                    : NULL;
}

static int is(const segments *s, int i, const char *word)
{
    const char *value = seg(s, i);
    return value != NULL && strcmp(value, word) == 0;
}

static int in_list(const char *word, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(word, *list) == 0) {
            return 1;
        }
    }
    return 0;
}

int op_scope_id_is_plain(const char *id)
{
    apr_size_t n = 0;

    for (; id[n]; n++) {
        char c = id[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || c == '.' || c == '-')) {
            return 0;
        }
    }
    return n >= 1 && n <= 64;
}

char op_scope_letter(op_scope_kind kind)
{
    static const char LETTERS[] = "-lptsiu";
    return kind >= OP_SCOPE_NONE && kind <= OP_SCOPE_UID ? LETTERS[kind] : '-';
}

static op_cache_route never(void)
{
    op_cache_route route = { OP_CACHE_NEVER, { OP_SCOPE_NONE, NULL }, 0 };
    return route;
}

static op_cache_route cached(op_cache_class cls, op_scope_kind kind,
                             const char *id)
{
    op_cache_route route;

    if (id != NULL && !op_scope_id_is_plain(id)) {
        return never();
    }
    route.cls = cls;
    route.scope.kind = kind;
    route.scope.id = id;
    route.shows_labels = 0;
    return route;
}

/* The same, for an answer that shows labels (op_cache_route). */
static op_cache_route cached_with_labels(op_scope_kind kind, const char *id)
{
    op_cache_route route = cached(OP_CACHE_AGGREGATE, kind, id);
    route.shows_labels = route.cls != OP_CACHE_NEVER;
    return route;
}

static op_scope_kind level_scope(const char *word)
{
    if (strcmp(word, "patients") == 0) {
        return OP_SCOPE_PATIENT;
    }
    if (strcmp(word, "studies") == 0) {
        return OP_SCOPE_STUDY;
    }
    if (strcmp(word, "series") == 0) {
        return OP_SCOPE_SERIES;
    }
    if (strcmp(word, "instances") == 0) {
        return OP_SCOPE_INSTANCE;
    }
    return OP_SCOPE_NONE;
}

/* What below /instances/{id} is derived from the instance's file alone:
 * routes of one more segment, and the trees below "frames" and "content". */
static const char *const INSTANCE_CONTENT[] = {
    "file", "frames", "preview", "rendered", "image-uint8", "image-uint16",
    "image-int16", "matlab", "numpy", "tags", "simplified-tags", "header",
    "pdf", "content", NULL
};
static const char *const INSTANCE_CONTENT_TREES[] = { "frames", "content", NULL };

/* The other GET routes below a resource that depend on it alone (or on its
 * children, whose changes renew their parents' tokens), and those of them
 * with a tree below. */
static const char *const RESOURCE_AGGREGATES[] = {
    "metadata", "attachments", "labels", "statistics", "module",
    "module-patient", "instances", "instances-tags", "shared-tags",
    "series", "studies", "ordered-slices", "numpy", NULL
};
static const char *const RESOURCE_AGGREGATE_TREES[] = {
    "metadata", "attachments", "labels", NULL
};
/* Those that show labels: the labels, and the lists of child resources
 * (expanded, as Orthanc answers them). */
static const char *const RESOURCE_LABELLED[] = {
    "labels", "instances", "series", "studies", NULL
};

/* Routes that answer with a parent resource: they change with the parent,
 * whose token the URL does not name, so they count as lists. */
static int names_a_parent(op_scope_kind kind, const char *word)
{
    switch (kind) {
    case OP_SCOPE_INSTANCE:
        return strcmp(word, "series") == 0 || strcmp(word, "study") == 0
               || strcmp(word, "patient") == 0;
    case OP_SCOPE_SERIES:
        return strcmp(word, "study") == 0 || strcmp(word, "patient") == 0;
    case OP_SCOPE_STUDY:
        return strcmp(word, "patient") == 0;
    default:
        return 0;
    }
}

static op_cache_route classify_resource(const segments *s, op_scope_kind kind)
{
    const char *id = seg(s, 1), *what = seg(s, 2);

    /* The lists, with ?expand, show labels too. */
    if (s->n == 1) {
        return cached_with_labels(OP_SCOPE_LISTS, NULL);
    }
    if (what == NULL) {
        return cached_with_labels(kind, id);
    }
    if (names_a_parent(kind, what) && s->n == 3) {
        return cached_with_labels(OP_SCOPE_LISTS, NULL);
    }
    if (in_list(what, RESOURCE_LABELLED)
        && (s->n == 3 || strcmp(what, "labels") == 0)) {
        return cached_with_labels(kind, id);
    }
    if (kind == OP_SCOPE_INSTANCE && in_list(what, INSTANCE_CONTENT)
        && (s->n == 3 || in_list(what, INSTANCE_CONTENT_TREES))) {
        return cached(OP_CACHE_CONTENT, kind, id);
    }
    /* "series" and "studies" below a parent list its children. */
    if (kind != OP_SCOPE_INSTANCE && in_list(what, RESOURCE_AGGREGATES)
        && (s->n == 3 || in_list(what, RESOURCE_AGGREGATE_TREES))) {
        return cached(OP_CACHE_AGGREGATE, kind, id);
    }
    if (kind == OP_SCOPE_INSTANCE
        && (in_list(what, RESOURCE_AGGREGATE_TREES)
            || (s->n == 3 && (strcmp(what, "statistics") == 0
                              || strcmp(what, "module") == 0)))) {
        return cached(OP_CACHE_AGGREGATE, kind, id);
    }
    /* archive, media, protected (not in Orthanc's change log), plugins. */
    return never();
}

/* /dicom-web/studies/{study}/series/{series}/instances/{instance}/... */
static op_cache_route classify_dicomweb(const segments *s)
{
    static const char *const STUDY_PARTS[] = {
        "metadata", "rendered", "thumbnail", "series", "instances", NULL
    };
    static const char *const SERIES_PARTS[] = {
        "metadata", "rendered", "thumbnail", "instances", NULL
    };
    static const char *const INSTANCE_PARTS[] = {
        "metadata", "rendered", "thumbnail", "frames", "bulk", NULL
    };

    if (s->n == 2 && (is(s, 1, "studies") || is(s, 1, "series")
                      || is(s, 1, "instances"))) {
        return cached(OP_CACHE_AGGREGATE, OP_SCOPE_LISTS, NULL);
    }
    if (!is(s, 1, "studies") || s->n < 3) {
        return never();
    }
    if (s->n == 3 || (s->n == 4 && in_list(seg(s, 3), STUDY_PARTS))) {
        return cached(OP_CACHE_AGGREGATE, OP_SCOPE_UID, seg(s, 2));
    }
    if (!is(s, 3, "series") || s->n < 5) {
        return never();
    }
    if (s->n == 5 || (s->n == 6 && in_list(seg(s, 5), SERIES_PARTS))) {
        return cached(OP_CACHE_AGGREGATE, OP_SCOPE_UID, seg(s, 4));
    }
    if (!is(s, 5, "instances") || s->n < 7) {
        return never();
    }
    if (s->n == 7 || in_list(seg(s, 7), INSTANCE_PARTS)) {
        return cached(OP_CACHE_CONTENT, OP_SCOPE_UID, seg(s, 6));
    }
    return never();
}

op_cache_route op_cache_classify(const op_path *path, int from)
{
    segments s;
    op_scope_kind kind;

    s.path = path;
    s.from = from;
    s.n = path->segments->nelts - from;
    if (s.n < 1) {
        return never();
    }
    if ((kind = level_scope(seg(&s, 0))) != OP_SCOPE_NONE) {
        return classify_resource(&s, kind);
    }
    if (is(&s, 0, "dicom-web")) {
        return classify_dicomweb(&s);
    }
    return never();
}

/* ------------------------------------------------ changes through the proxy */

static op_cache_bump bump_everything(void)
{
    op_cache_bump bump = { 1, 1, { OP_SCOPE_NONE, NULL } };
    return bump;
}

/* Metadata, labels, attachments and patient protection change one
 * resource, which the path names. */
static int changes_one_resource(const segments *s)
{
    static const char *const PARTS[] = {
        "metadata", "labels", "attachments", "protected", NULL
    };
    return s->n >= 3 && level_scope(seg(s, 0)) != OP_SCOPE_NONE
           && in_list(seg(s, 2), PARTS) && op_scope_id_is_plain(seg(s, 1));
}

op_cache_bump op_cache_bump_for(const char *method, const op_path *path,
                                int from)
{
    op_cache_bump bump = { 0, 0, { OP_SCOPE_NONE, NULL } };
    const op_route *route;
    segments s;

    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        return bump;
    }
    s.path = path;
    s.from = from;
    s.n = path->segments->nelts - from;
    route = op_route_find(method, path, from);
    if (route == NULL) {
        return bump_everything();
    }
    switch (route->level) {
    case OP_LEVEL_READ:
        /* Queries and archive creation change nothing. */
        return bump;
    case OP_LEVEL_UPLOAD:
        /* New instances: the follower renews their parents' tokens. */
        bump.lists = 1;
        return bump;
    case OP_LEVEL_MODIFY:
        if (changes_one_resource(&s)) {
            bump.lists = 1;
            bump.scope.kind = level_scope(seg(&s, 0));
            bump.scope.id = seg(&s, 1);
            return bump;
        }
        /* Deletions, modifications, merges: who knows which parents. */
        return bump_everything();
    default:
        return bump_everything();
    }
}
