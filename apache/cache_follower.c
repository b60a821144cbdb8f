/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_follower.c - Orthanc's change log turned into renewed tokens (see
 * cache_follower.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_watchdog.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "logic/cache_key.h"
#include "logic/cache_policy.h"
#include "logic/orthanc_changes.h"
#include "cache_follower.h"
#include "orthanc_client.h"

APLOG_USE_MODULE(orthanc_proxy);

/* Orthanc answers at most 100 changes at a time. */
#define PAGE 100
/* More changes than this in one pass: making everything fresh is cheaper
 * than looking up every resource. */
#define MAX_LOOKUPS 2000
/* Attempts at a consistent reading of the statistics. */
#define ATTEMPTS 3

struct op_cache_follower {
    op_cache_runtime *rt;
    server_rec *s;
    const char *backend;
    const char *tag;
    op_orthanc_target target;
    /* The state of the thread that runs it. */
    int failing;
    int started;
};

/* One pass over the log. */
typedef struct {
    op_cache_follower *f;
    apr_pool_t *p;
    apr_hash_t *renew;          /* token name -> op_scope */
    apr_hash_t *looked_up;      /* "series/ID" -> 1 */
    int everything;
    int lookups;
    apr_int64_t new_instances;
} pass;

op_cache_follower *op_cache_follower_make(apr_pool_t *p, server_rec *s,
                                          op_cache_runtime *rt,
                                          const char *backend,
                                          const char *authorization,
                                          const char **err)
{
    op_cache_follower *f = apr_pcalloc(p, sizeof(*f));
    apr_interval_time_t delay = op_cache_max_delay(rt);

    if ((*err = op_orthanc_target_parse(p, backend, &f->target)) != NULL) {
        return NULL;
    }
    f->rt = rt;
    f->s = s;
    f->backend = backend;
    f->tag = op_backend_tag(p, backend);
    f->target.authorization = authorization;
    /* A slow answer only delays the pass; requests bypass the cache
     * meanwhile. */
    f->target.timeout = delay > apr_time_from_sec(5) ? delay
                                                     : apr_time_from_sec(5);
    return f;
}

const char *op_cache_follower_backend(const op_cache_follower *follower)
{
    return follower->backend;
}

/* GET PATH, expecting 200 (or 404 when NOT_FOUND is not NULL: then
 * *NOT_FOUND says so). */
static const char *get(pass *ps, const char *path, op_http_reply *reply,
                       int *not_found)
{
    const char *err = op_orthanc_get(ps->p, &ps->f->target, path, reply);

    if (err) {
        return apr_pstrcat(ps->p, "GET ", path, ": ", err, NULL);
    }
    if (not_found && reply->status == 404) {
        *not_found = 1;
        return NULL;
    }
    if (reply->status != 200) {
        return apr_psprintf(ps->p, "GET %s: Orthanc answered %d%s", path,
                            reply->status, reply->status == 401
                            ? " (check OrthancProxyCredentials)" : "");
    }
    return NULL;
}

static void renew(pass *ps, op_scope_kind kind, const char *id)
{
    op_scope *scope;
    const char *name;

    if (id == NULL || !op_scope_id_is_plain(id)) {
        /* Not a name a cached answer can have; mind it all the same. */
        ps->everything = 1;
        return;
    }
    scope = apr_palloc(ps->p, sizeof(*scope));
    scope->kind = kind;
    scope->id = id;
    name = apr_pstrcat(ps->p, apr_psprintf(ps->p, "%c", op_scope_letter(kind)),
                       id, NULL);
    apr_hash_set(ps->renew, name, APR_HASH_KEY_STRING, scope);
}

/* Renews RESOURCE (at LEVEL), its UID and its parents', going up. */
static const char *renew_upwards(pass *ps, op_resource_level level,
                                 const char *id)
{
    static const op_scope_kind KINDS[] = {
        OP_SCOPE_NONE, OP_SCOPE_PATIENT, OP_SCOPE_STUDY, OP_SCOPE_SERIES,
        OP_SCOPE_INSTANCE
    };
    const char *collection = op_resource_collection(level), *err, *seen;
    op_resource_info info;
    op_http_reply reply;
    int gone = 0;

    if (collection == NULL || id == NULL || !op_scope_id_is_plain(id)) {
        ps->everything = 1;
        return NULL;
    }
    renew(ps, KINDS[level], id);
    if (level == OP_RESOURCE_PATIENT) {
        return NULL;
    }
    seen = apr_pstrcat(ps->p, collection, "/", id, NULL);
    if (apr_hash_get(ps->looked_up, seen, APR_HASH_KEY_STRING)) {
        return NULL;
    }
    apr_hash_set(ps->looked_up, seen, APR_HASH_KEY_STRING, "");
    ps->lookups++;
    if ((err = get(ps, apr_pstrcat(ps->p, "/", seen, NULL), &reply, &gone))
        != NULL) {
        return err;
    }
    if (gone) {
        /* Deleted since: whatever contained it is not known any more. */
        ps->everything = 1;
        return NULL;
    }
    if ((err = op_resource_parse(ps->p, reply.body, reply.length, level,
                                 &info)) != NULL) {
        return apr_pstrcat(ps->p, "GET /", seen, ": ", err, NULL);
    }
    if (info.uid) {
        renew(ps, OP_SCOPE_UID, info.uid);
    }
    return renew_upwards(ps, (op_resource_level)(level - 1), info.parent);
}

/* Reads the log from *CURSOR to its end. */
static const char *drain(pass *ps, apr_int64_t *cursor)
{
    for (;;) {
        op_changes_page page;
        op_http_reply reply;
        const char *err;
        int i;

        if ((err = get(ps, apr_psprintf(ps->p, "/changes?since=%"
                                        APR_INT64_T_FMT "&limit=%d", *cursor,
                                        PAGE), &reply, NULL)) != NULL) {
            return err;
        }
        if ((err = op_changes_parse(ps->p, reply.body, reply.length, &page))
            != NULL) {
            return apr_pstrcat(ps->p, "GET /changes: ", err, NULL);
        }
        if (op_changes_have_gap(*cursor, page.changes)) {
            ps->everything = 1;
        }
        ps->new_instances += op_changes_new_instances(page.changes);
        for (i = 0; i < page.changes->nelts; i++) {
            const op_change *change = &APR_ARRAY_IDX(page.changes, i, op_change);
            if (!ps->everything && ps->lookups < MAX_LOOKUPS) {
                if ((err = renew_upwards(ps, change->level, change->id)) != NULL) {
                    return err;
                }
            }
            else {
                ps->everything = 1;
            }
            *cursor = change->seq;
        }
        if (page.changes->nelts > 0) {
            apr_hash_set(ps->renew, "l", 1, &ps->renew);
        }
        if (page.done || page.changes->nelts == 0) {
            return NULL;
        }
    }
}

static const char *read_statistics(pass *ps, apr_int64_t *instances)
{
    op_http_reply reply;
    const char *err = get(ps, "/statistics", &reply, NULL);

    if (err) {
        return err;
    }
    err = op_statistics_parse(ps->p, reply.body, reply.length, instances);
    return err ? apr_pstrcat(ps->p, "GET /statistics: ", err, NULL) : NULL;
}

/* Whether this Orthanc has labels: they show in resources and lists, and
 * their changes are not logged (cache_policy.h).  Read on every pass, as
 * Orthanc may have been upgraded meanwhile. */
static const char *read_system(pass *ps, int *labels)
{
    op_http_reply reply;
    const char *err = get(ps, "/system", &reply, NULL);

    if (err) {
        return err;
    }
    err = op_system_parse(ps->p, reply.body, reply.length, labels);
    return err ? apr_pstrcat(ps->p, "GET /system: ", err, NULL) : NULL;
}

/* Whether something was logged after CURSOR. */
static const char *logged_since(pass *ps, apr_int64_t cursor, int *more)
{
    op_changes_page page;
    op_http_reply reply;
    const char *err;

    if ((err = get(ps, apr_psprintf(ps->p, "/changes?since=%" APR_INT64_T_FMT
                                    "&limit=1", cursor), &reply, NULL)) != NULL) {
        return err;
    }
    if ((err = op_changes_parse(ps->p, reply.body, reply.length, &page))
        != NULL) {
        return apr_pstrcat(ps->p, "GET /changes: ", err, NULL);
    }
    *more = page.changes->nelts > 0;
    return NULL;
}

/* The current end of the log, where a follower without a past starts. */
static const char *last_change(pass *ps, apr_int64_t *last)
{
    op_changes_page page;
    op_http_reply reply;
    const char *err = get(ps, "/changes?last", &reply, NULL);

    if (err) {
        return err;
    }
    if ((err = op_changes_parse(ps->p, reply.body, reply.length, &page))
        != NULL) {
        return apr_pstrcat(ps->p, "GET /changes?last: ", err, NULL);
    }
    *last = page.last;
    return NULL;
}

static void apply(pass *ps)
{
    op_cache_follower *f = ps->f;
    apr_array_header_t *scopes = apr_array_make(ps->p, 16, sizeof(op_scope));
    apr_hash_index_t *hi;
    int lists = 0;

    for (hi = apr_hash_first(ps->p, ps->renew); hi; hi = apr_hash_next(hi)) {
        const void *name;
        void *value;
        apr_hash_this(hi, &name, NULL, &value);
        if (strcmp(name, "l") == 0) {
            lists = 1;
        }
        else {
            APR_ARRAY_PUSH(scopes, op_scope) = *(op_scope *)value;
        }
    }
    if (scopes->nelts || lists || ps->everything) {
        op_cache_renew(f->rt, f->s, ps->p, f->tag, (op_scope *)scopes->elts,
                       scopes->nelts, lists || ps->everything, ps->everything);
    }
}

/* A pass over the log from the recorded cursor; *SYNC is the new record. */
static const char *one_pass(pass *ps, const op_cache_sync *before,
                            op_cache_sync *sync)
{
    apr_int64_t cursor = before->cursor, instances = 0;
    const char *err;
    int attempt, consistent = 0;

    if ((err = read_system(ps, &sync->labels)) != NULL) {
        return err;
    }
    for (attempt = 0; attempt < ATTEMPTS && !consistent; attempt++) {
        int more = 0;
        if ((err = drain(ps, &cursor)) != NULL
            || (err = read_statistics(ps, &instances)) != NULL
            || (err = logged_since(ps, cursor, &more)) != NULL) {
            return err;
        }
        consistent = !more;
    }
    if (!consistent) {
        ps->everything = 1;
    }
    else if (op_instances_were_deleted(before->instances, instances,
                                       ps->new_instances)) {
        ps->everything = 1;
    }
    else if (instances - before->instances > ps->new_instances) {
        /* More instances than logged: another database, or the log was
         * cleared.  Start again from its end. */
        ps->everything = 1;
        if ((err = last_change(ps, &cursor)) != NULL) {
            return err;
        }
    }
    apply(ps);
    sync->cursor = cursor;
    sync->instances = instances;
    return NULL;
}

/* Without a recorded past (a new store, a restart): everything is fresh,
 * from the current end of the log. */
static const char *start_over(pass *ps, op_cache_sync *sync)
{
    apr_int64_t cursor = 0, instances = 0;
    int attempt, more = 1;
    const char *err = read_system(ps, &sync->labels);

    if (err) {
        return err;
    }
    for (attempt = 0; attempt < ATTEMPTS && more; attempt++) {
        if ((err = last_change(ps, &cursor)) != NULL
            || (err = read_statistics(ps, &instances)) != NULL
            || (err = logged_since(ps, cursor, &more)) != NULL) {
            return err;
        }
    }
    ps->everything = 1;
    apply(ps);
    sync->cursor = cursor;
    sync->instances = instances;
    return NULL;
}

static void report(op_cache_follower *f, const char *err,
                   const op_cache_sync *sync)
{
    if (err && !f->failing) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, f->s, "OrthancProxyCache: "
                     "cannot follow the changes of %s (%s); answers are not "
                     "taken from the cache until it can", f->backend, err);
    }
    else if (!err && (f->failing || !f->started)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, f->s, "OrthancProxyCache: "
                     "following the changes of %s from sequence number %"
                     APR_INT64_T_FMT, f->backend, sync->cursor);
        f->started = 1;
    }
    f->failing = err != NULL;
}

/* One pass, and its record when it succeeded. */
static void run(op_cache_follower *f, apr_pool_t *pool)
{
    op_cache_sync before, sync;
    const char *err;
    pass ps;

    memset(&ps, 0, sizeof(ps));
    ps.f = f;
    ps.p = pool;
    ps.renew = apr_hash_make(pool);
    ps.looked_up = apr_hash_make(pool);
    /* Changes logged before this moment are applied by this pass. */
    sync.sync_start = apr_time_now();
    err = op_cache_sync_read(f->rt, f->s, pool, f->tag, &before)
          ? one_pass(&ps, &before, &sync) : start_over(&ps, &sync);
    if (err == NULL) {
        op_cache_sync_write(f->rt, f->s, pool, f->tag, &sync);
    }
    report(f, err, &sync);
}

apr_status_t op_cache_follow(int state, void *data, apr_pool_t *pool)
{
    if (state != AP_WATCHDOG_STATE_STOPPING) {
        run(data, pool);
    }
    /* Keep being called, also after a failure. */
    return APR_SUCCESS;
}
