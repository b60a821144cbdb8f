/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_window.c - gathering requests into events (audit_window.h).
 */
#include "audit_window.h"

#include <string.h>
#include <apr_strings.h>

typedef struct {
    apr_pool_t *pool;
    op_audit_event event;
    op_audit_subject subject;
    int has_subject;
    apr_hash_t *instances;      /* distinct instance names */
    apr_time_t closes_quiet;    /* last + quiet */
    apr_time_t closes_anyway;   /* first + longest */
    apr_interval_time_t quiet;
    const char *key;
} window;

struct op_audit_windows {
    apr_pool_t *pool;
    apr_hash_t *open;           /* key -> window * */
};

op_audit_windows *op_audit_windows_make(apr_pool_t *p)
{
    op_audit_windows *w = apr_pcalloc(p, sizeof(*w));
    w->pool = p;
    w->open = apr_hash_make(p);
    return w;
}

static const char *or_empty(const char *text)
{
    return text ? text : "";
}

/* Fields joined with a byte no field holds unescaped: their own \x01. */
static const char *window_key(apr_pool_t *p, const op_audit_event *e,
                              const op_audit_subject *s)
{
    const char *subject = "";

    if (s) {
        subject = s->study_uid ? apr_pstrcat(p, "s:", s->study_uid, NULL)
                  : s->patient_id ? apr_pstrcat(p, "p:", s->patient_id, NULL)
                  : apr_pstrcat(p, "o:", or_empty(s->orthanc_id), NULL);
    }
    return apr_pstrcat(p, op_audit_kind_name(e->kind), "\x01",
                       apr_itoa(p, e->outcome), "\x01", or_empty(e->node),
                       "\x01", or_empty(e->prefix), "\x01",
                       e->user ? "u:" : "-", or_empty(e->user), "\x01",
                       or_empty(e->client), "\x01", subject, "\x01",
                       or_empty(e->what), "\x01",
                       e->kind == OP_AUDIT_QUERY ? or_empty(e->query) : "",
                       "\x01",
                       e->kind == OP_AUDIT_ALERT || e->kind == OP_AUDIT_UNKNOWN
                       ? or_empty(e->request) : "", "\x01",
                       e->kind == OP_AUDIT_ALERT ? or_empty(e->outcome_text)
                                                 : "",
                       "\x01", or_empty(e->destination), NULL);
}

static const char *copy_text(apr_pool_t *p, const char *text)
{
    return text ? apr_pstrdup(p, text) : NULL;
}

static window *open_window(op_audit_windows *ws, const char *key,
                           const op_audit_event *e,
                           const op_audit_subject *s, int quiet, int longest)
{
    apr_pool_t *p;
    window *w;

    apr_pool_create(&p, ws->pool);
    w = apr_pcalloc(p, sizeof(*w));
    w->pool = p;
    w->key = apr_pstrdup(p, key);
    w->event = *e;
    w->event.outcome_text = copy_text(p, e->outcome_text);
    w->event.user = copy_text(p, e->user);
    w->event.client = copy_text(p, e->client);
    w->event.node = copy_text(p, e->node);
    w->event.site = copy_text(p, e->site);
    w->event.prefix = copy_text(p, e->prefix);
    w->event.request = copy_text(p, e->request);
    w->event.query = copy_text(p, e->query);
    w->event.what = copy_text(p, e->what);
    w->event.destination = copy_text(p, e->destination);
    w->event.process_id = copy_text(p, e->process_id);
    w->event.requests = 0;
    w->event.bytes = 0;
    w->event.instances = -1;
    w->event.subjects = NULL;
    if (s) {
        w->has_subject = 1;
        w->subject = *s;
        w->subject.patient_id = copy_text(p, s->patient_id);
        w->subject.patient_name = copy_text(p, s->patient_name);
        w->subject.study_uid = copy_text(p, s->study_uid);
        w->subject.orthanc_id = copy_text(p, s->orthanc_id);
        w->subject.role = copy_text(p, s->role);
        w->subject.bytes = 0;
        w->subject.instances = s->instances;
    }
    w->instances = apr_hash_make(p);
    w->quiet = apr_time_from_sec(quiet);
    w->closes_anyway = e->first + apr_time_from_sec(longest);
    apr_hash_set(ws->open, w->key, APR_HASH_KEY_STRING, w);
    return w;
}

void op_audit_windows_add(op_audit_windows *ws, const op_audit_event *e,
                          const op_audit_subject *s, const char *instance,
                          int quiet, int longest)
{
    apr_pool_t *scratch;
    const char *key;
    window *w;

    apr_pool_create(&scratch, ws->pool);
    key = window_key(scratch, e, s);
    w = apr_hash_get(ws->open, key, APR_HASH_KEY_STRING);
    if (w == NULL) {
        w = open_window(ws, key, e, s, quiet, longest);
    }
    apr_pool_destroy(scratch);

    w->event.requests += e->requests > 0 ? e->requests : 1;
    if (e->bytes > 0) {
        w->event.bytes += e->bytes;
    }
    if (e->first < w->event.first) {
        w->event.first = e->first;
    }
    if (e->last > w->event.last) {
        w->event.last = e->last;
    }
    w->event.truncated |= e->truncated;
    if (instance != NULL
        && apr_hash_get(w->instances, instance, APR_HASH_KEY_STRING) == NULL) {
        const char *copy = apr_pstrdup(w->pool, instance);
        apr_hash_set(w->instances, copy, APR_HASH_KEY_STRING, copy);
    }
    if (w->has_subject) {
        w->subject.bytes = w->event.bytes;
        if (s && s->instances > w->subject.instances) {
            w->subject.instances = s->instances;
        }
    }
    w->closes_quiet = w->event.last + w->quiet;
}

static void finish(window *w)
{
    apr_int64_t distinct = apr_hash_count(w->instances);

    if (distinct > 0) {
        w->event.instances = distinct;
        if (w->has_subject && distinct > w->subject.instances) {
            w->subject.instances = distinct;
        }
    }
    else if (w->has_subject && w->subject.instances >= 0) {
        w->event.instances = w->subject.instances;
    }
    if (w->has_subject) {
        apr_array_header_t *subjects = apr_array_make(w->pool, 1,
                                                      sizeof(op_audit_subject));
        APR_ARRAY_PUSH(subjects, op_audit_subject) = w->subject;
        w->event.subjects = subjects;
    }
}

int op_audit_windows_close(op_audit_windows *ws, apr_time_t now,
                           op_audit_emit emit, void *ctx)
{
    apr_pool_t *scratch;
    apr_array_header_t *due;
    apr_hash_index_t *hi;
    int i, count;

    apr_pool_create(&scratch, ws->pool);
    due = apr_array_make(scratch, 4, sizeof(window *));

    for (hi = apr_hash_first(NULL, ws->open); hi; hi = apr_hash_next(hi)) {
        window *w = apr_hash_this_val(hi);
        if (now == 0 || w->closes_quiet <= now || w->closes_anyway <= now) {
            APR_ARRAY_PUSH(due, window *) = w;
        }
    }
    for (i = 0; i < due->nelts; i++) {
        window *w = APR_ARRAY_IDX(due, i, window *);
        apr_hash_set(ws->open, w->key, APR_HASH_KEY_STRING, NULL);
        finish(w);
        emit(ctx, &w->event);
        apr_pool_destroy(w->pool);
    }
    count = due->nelts;
    apr_pool_destroy(scratch);
    return count;
}

int op_audit_windows_open(const op_audit_windows *ws)
{
    return (int)apr_hash_count(ws->open);
}
