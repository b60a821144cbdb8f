/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_follower.c - Orthanc's change log turned into incremented
 * generation counters (see cache_follower.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_watchdog.h>
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "logic/cache_policy.h"
#include "logic/change_cursor.h"
#include "logic/generation_table.h"
#include "logic/orthanc_changes.h"
#include "cache_follower.h"

APLOG_USE_MODULE(orthanc_proxy);

/* Orthanc answers at most 100 changes at a time. */
#define PAGE 100
/* More lookups than this in one pass: making everything fresh is cheaper
 * than looking up every resource. */
#define MAX_LOOKUPS 2000
/* Attempts at a consistent reading of the statistics. */
#define ATTEMPTS 3
/* How long a hole in the log stays open for a change committed late. */
#define HOLE_GRACE apr_time_from_sec(10)
/* A "since" above every sequence number: the answer is empty, and its
 * "Last" is the database's high-water mark. */
#define BEYOND_THE_END "9223372036854775807"

typedef struct {
    op_follow_target target;
    op_http_client *client;
} follow_member;

struct op_cache_follower {
    server_rec *s;
    op_cache_backend *backend;
    follow_member *members;
    int n_members;
    int writer;                 /* the writer's index, -1 if none */
    /* The state of the thread that runs it, in its process. */
    int current;                /* the member in use */
    int failing;
    int following;
    apr_os_thread_t runner;     /* the thread that runs its passes */
    int has_runner;
    /* Set when the child stops: mod_watchdog may say so from another
     * thread while a pass runs (its cleanup), which then stops at once. */
    volatile apr_uint32_t stopping;
};

/* What a look-up of one resource found, kept for the rest of its pass. */
typedef struct {
    int attributed;             /* 0: the look-up made everything fresh */
    const char *uid;            /* NULL when Orthanc showed none */
    const char *parent;
} looked_up;

/* One pass over the log. */
typedef struct {
    op_cache_follower *f;
    apr_pool_t *p;
    apr_time_t start, deadline;
    op_gen_table *gen;
    op_follow_state *state;
    apr_hash_t *looked_up;      /* "series/ID" -> looked_up */
    int lookups;
    apr_int64_t new_instances;
    const char *everything;     /* why everything was made fresh, or NULL */
    int start_over;
} pass;

op_cache_follower *op_cache_follower_make(apr_pool_t *p, server_rec *s,
                                          op_cache_backend *backend,
                                          const apr_array_header_t *targets,
                                          const char *writer_route,
                                          const char *authorization)
{
    op_cache_follower *f = apr_pcalloc(p, sizeof(*f));
    int i;

    f->s = s;
    f->backend = backend;
    f->n_members = targets->nelts;
    f->members = apr_pcalloc(p, sizeof(follow_member) * targets->nelts);
    f->writer = -1;
    for (i = 0; i < targets->nelts; i++) {
        follow_member *m = &f->members[i];
        m->target = APR_ARRAY_IDX(targets, i, op_follow_target);
        m->client = op_http_client_make(p, m->target.url, authorization,
                                        m->target.tls, &f->stopping);
        if (writer_route && m->target.member && m->target.member->route
            && strcmp(m->target.member->route, writer_route) == 0) {
            f->writer = i;
        }
    }
    f->current = f->writer >= 0 ? f->writer : 0;
    return f;
}

/* --------------------------------------------------------- the members */

static int health(const op_cache_follower *f, int i)
{
    const op_member_ref *member = f->members[i].target.member;
    return member ? op_member_health(member) : 2;
}

/* The member a pass starts with: the writer while it is usable, else the
 * one in use while it is as fit as any, else the fittest. */
static int preferred_member(const op_cache_follower *f)
{
    int i, best = f->current, best_health = health(f, f->current);

    if (f->writer >= 0 && health(f, f->writer) == 2) {
        return f->writer;
    }
    for (i = 0; i < f->n_members; i++) {
        int h = health(f, i);
        if (h > best_health) {
            best = i;
            best_health = h;
        }
    }
    return best;
}

/* Read the changes from member TO from now on, and say so: when mod_proxy
 * already holds the member in use in error, no request of the follower
 * fails, and this line is how an administrator sees the move. */
static void move_to_member(op_cache_follower *f, int to, const char *why)
{
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, f->s, "OrthancProxyCache: "
                 "reading the changes of %s from %s instead of %s: %s",
                 f->backend->url, f->members[to].target.url,
                 f->members[f->current].target.url, why);
    f->current = to;
}

/* Start a pass on the preferred member. */
static void use_preferred_member(op_cache_follower *f)
{
    int chosen = preferred_member(f);

    if (chosen != f->current) {
        move_to_member(f, chosen, "mod_proxy's status of the members");
    }
}

/* After FROM failed: the fittest of the others, the next in order first. */
static int next_member(const op_cache_follower *f, int from)
{
    int step, best = from, best_health = -1;

    for (step = 1; step < f->n_members; step++) {
        int i = (from + step) % f->n_members, h = health(f, i);
        if (h > best_health) {
            best = i;
            best_health = h;
        }
    }
    return best;
}

/* GET PATH from the member in use; when it cannot answer (no connection,
 * or a server error: it may have lost its database), from the others in
 * turn, within the pass's deadline.  NULL with *OUT set when an answer
 * came, whatever its status (the last one's when all answered with an
 * error); else why none came. */
static const char *get(pass *ps, apr_pool_t *p, const char *path,
                       op_http_answer *out)
{
    op_cache_follower *f = ps->f;
    const char *err = NULL;
    int tried, answered = 0;

    for (tried = 0; tried < f->n_members; tried++) {
        follow_member *m = &f->members[f->current];
        err = op_http_get(m->client, p, path, ps->deadline, out);
        if (err == NULL && out->status < 500) {
            return NULL;
        }
        answered = err == NULL;
        err = apr_psprintf(p, "GET %s from %s: %s", path, m->target.url,
                           err ? err : apr_psprintf(p, "Orthanc answered %ld",
                                                    out->status));
        if (f->n_members == 1 || apr_time_now() >= ps->deadline) {
            break;
        }
        move_to_member(f, next_member(f, f->current), err);
    }
    return answered ? NULL : err;
}

/* GET PATH, expecting 200. */
static const char *get_ok(pass *ps, apr_pool_t *p, const char *path,
                          op_http_answer *out)
{
    const char *err = get(ps, p, path, out);

    if (err) {
        return err;
    }
    if (out->status != 200) {
        return apr_psprintf(p, "GET %s: Orthanc answered %ld%s", path,
                            out->status, out->status == 401
                            ? " (check OrthancProxyCredentials)" : "");
    }
    return NULL;
}

/* ------------------------------------------------------------ counters */

/* Everything must be fresh again: WHY says why (logged once a pass). */
static void everything(pass *ps, const char *why)
{
    op_gen_bump_everything(ps->gen);
    op_gen_bump_lists(ps->gen);
    if (ps->everything == NULL) {
        ps->everything = why;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ps->f->s, "OrthancProxyCache: "
                     "every answer of %s made fresh: %s", ps->f->backend->url,
                     why);
    }
}

static void bump(pass *ps, op_scope_kind kind, const char *id)
{
    op_scope scope;

    if (id == NULL || !op_scope_id_is_plain(id)) {
        /* Not a name a cached answer can have; mind it all the same. */
        everything(ps, "a change about a resource whose ID the cache cannot "
                   "name");
        return;
    }
    scope.kind = kind;
    scope.id = id;
    op_gen_bump(ps->gen, &scope);
}

/* Asks Orthanc for SEEN ("series/ID", a resource at LEVEL) and keeps
 * what it found for the rest of the pass in *OUT.  When its parents cannot
 * be known, every answer is made fresh and *OUT says it was not
 * attributed.  NULL, or why Orthanc could not be asked. */
static const char *look_up(pass *ps, apr_pool_t *p, op_resource_level level,
                           const char *seen, const looked_up **out)
{
    looked_up *found = apr_pcalloc(ps->p, sizeof(*found));
    op_resource_info info;
    op_http_answer answer;
    const char *err;

    apr_hash_set(ps->looked_up, seen, APR_HASH_KEY_STRING, found);
    *out = found;
    ps->lookups++;
    if ((err = get(ps, p, apr_pstrcat(p, "/", seen, NULL), &answer)) != NULL) {
        return err;
    }
    if (answer.status == 404) {
        everything(ps, "a resource was deleted before it could be looked up");
        return NULL;
    }
    if (answer.status != 200) {
        /* Whatever the reason, the parents stay unknown: do not stop. */
        everything(ps, apr_psprintf(ps->p, "GET /%s answered %ld", seen,
                                    answer.status));
        return NULL;
    }
    if (op_resource_parse(p, answer.body, answer.length, level, &info)
        != NULL) {
        everything(ps, apr_psprintf(ps->p, "GET /%s gave no parent", seen));
        return NULL;
    }
    /* Kept in the pass's memory: P is one page's. */
    found->attributed = 1;
    found->parent = apr_pstrdup(ps->p, info.parent);
    found->uid = apr_pstrdup(ps->p, info.uid);
    return NULL;
}

/* Increments the counters of the resource ID at LEVEL, its UID and its
 * parents', going up; NULL, or why Orthanc could not be asked. */
static const char *apply_resource(pass *ps, apr_pool_t *p,
                                  op_resource_level level, const char *id)
{
    static const op_scope_kind KINDS[] = {
        OP_SCOPE_NONE, OP_SCOPE_PATIENT, OP_SCOPE_STUDY, OP_SCOPE_SERIES,
        OP_SCOPE_INSTANCE
    };
    const char *collection = op_resource_collection(level), *seen;
    const looked_up *known;

    if (collection == NULL || id == NULL || !op_scope_id_is_plain(id)) {
        everything(ps, "a change the cache cannot attribute to a resource");
        return NULL;
    }
    bump(ps, KINDS[level], id);
    if (level == OP_RESOURCE_PATIENT) {
        return NULL;
    }
    seen = apr_pstrcat(ps->p, collection, "/", id, NULL);
    known = apr_hash_get(ps->looked_up, seen, APR_HASH_KEY_STRING);
    if (known == NULL) {
        const char *err;
        if (ps->lookups >= MAX_LOOKUPS) {
            everything(ps, "more resources changed than one pass looks up");
            return NULL;
        }
        if ((err = look_up(ps, p, level, seen, &known)) != NULL) {
            return err;
        }
        if (!known->attributed) {
            return NULL;                /* look_up made everything fresh */
        }
    }
    else if (!known->attributed) {
        /* Again: an answer may have been cached since the first time. */
        everything(ps, "a change the cache could not attribute earlier in "
                   "this pass");
        return NULL;
    }
    /* Looked up once per pass, but every change of the resource moves its
     * UID's and its parents' counters again: an answer may have been
     * cached under the values of an earlier change. */
    if (known->uid) {
        bump(ps, OP_SCOPE_UID, known->uid);
    }
    return apply_resource(ps, p, (op_resource_level)(level - 1),
                          known->parent);
}

/* ------------------------------------------------------------- the log */

static const char *read_changes(pass *ps, apr_pool_t *p, const char *since,
                                int limit, op_changes_page *page)
{
    op_http_answer answer;
    const char *err = get_ok(ps, p, apr_psprintf(p, "/changes?since=%s&limit="
                                                 "%d", since, limit), &answer);

    if (err) {
        return err;
    }
    if ((err = op_changes_parse(p, answer.body, answer.length, page)) != NULL) {
        return apr_pstrcat(p, "GET /changes: ", err, NULL);
    }
    return NULL;
}

static const char *number(apr_pool_t *p, apr_int64_t n)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, n);
}

/* One page of the log after SINCE, applied entry by entry: the place in
 * the log moves past an entry only once its counters are incremented.
 * *NEXT is where the next page starts; *MORE whether there may be one. */
static const char *read_page(pass *ps, apr_pool_t *p, apr_int64_t since,
                             apr_int64_t *next, int *more)
{
    op_changes_page page;
    const char *err;
    int i, applied = 0;

    if ((err = read_changes(ps, p, number(p, since), PAGE, &page)) != NULL) {
        return err;
    }
    for (i = 0; i < page.changes->nelts; i++) {
        const op_change *change = &APR_ARRAY_IDX(page.changes, i, op_change);
        op_change_cursor work = ps->state->cursor;
        int opened = 0, given_up = 0;
        op_entry_verdict verdict = op_cursor_take(&work, change->seq,
                                                  apr_time_now(), &opened,
                                                  &given_up);
        if (opened || given_up) {
            everything(ps, "entries are missing from the change log: a "
                       "resource deleted since, or a change not committed "
                       "yet");
        }
        ap_log_error(APLOG_MARK, APLOG_TRACE3, 0, ps->f->s,
                     "OrthancProxyCache: change %" APR_INT64_T_FMT " %s of %s: "
                     "%s", change->seq, change->type,
                     change->id ? change->id : "(no ID)",
                     verdict == OP_ENTRY_SEEN ? "seen before"
                     : verdict == OP_ENTRY_LATE ? "committed late, applied"
                     : "applied");
        if (verdict != OP_ENTRY_SEEN) {
            if (strcmp(change->type, "NewInstance") == 0) {
                ps->new_instances++;
            }
            if ((err = apply_resource(ps, p, change->level, change->id))
                != NULL) {
                /* Read again by the next pass. */
                return err;
            }
            applied = 1;
        }
        ps->state->cursor = work;
        *next = change->seq;
    }
    if (applied) {
        op_gen_bump_lists(ps->gen);
    }
    *more = page.changes->nelts > 0 && !page.done;
    return NULL;
}

/* Reads the log from the first open hole (or the last entry applied) to
 * its end, each page in its own memory. */
static const char *drain(pass *ps)
{
    apr_int64_t since = op_cursor_read_from(&ps->state->cursor);
    int more = 1;

    while (more) {
        apr_pool_t *p;
        const char *err;

        apr_pool_create(&p, ps->p);
        err = read_page(ps, p, since, &since, &more);
        if (err) {
            err = apr_pstrdup(ps->p, err);
        }
        apr_pool_destroy(p);
        if (err) {
            return err;
        }
    }
    return NULL;
}

/* Whether something was logged after the last entry seen (*MORE); an
 * empty answer's "Last" shows the entries removed at the log's end. */
static const char *read_end(pass *ps, int *more)
{
    op_changes_page page;
    apr_pool_t *p;
    const char *err;
    int given_up = 0, end;

    apr_pool_create(&p, ps->p);
    err = read_changes(ps, p, number(p, ps->state->cursor.high), 1, &page);
    if (err) {
        err = apr_pstrdup(ps->p, err);
        apr_pool_destroy(p);
        return err;
    }
    *more = page.changes->nelts > 0;
    apr_pool_destroy(p);
    if (*more) {
        return NULL;
    }
    end = op_cursor_end(&ps->state->cursor, page.last, apr_time_now(),
                        &given_up);
    if (end < 0) {
        ps->start_over = 1;
    }
    else if (end > 0) {
        everything(ps, "the last entries of the change log are missing: a "
                   "resource stored and deleted since the last pass, or a "
                   "change not committed yet");
    }
    return NULL;
}

static const char *read_statistics(pass *ps, apr_int64_t *instances)
{
    op_http_answer answer;
    apr_pool_t *p;
    const char *err;

    apr_pool_create(&p, ps->p);
    err = get_ok(ps, p, "/statistics", &answer);
    if (err == NULL) {
        err = op_statistics_parse(p, answer.body, answer.length, instances);
        if (err) {
            err = apr_pstrcat(p, "GET /statistics: ", err, NULL);
        }
    }
    if (err) {
        err = apr_pstrdup(ps->p, err);
    }
    apr_pool_destroy(p);
    return err;
}

/* Whether this Orthanc has labels: they show in resources and lists, and
 * their changes are not logged (cache_policy.h).  Read on every pass, as
 * Orthanc may have been upgraded meanwhile. */
static const char *read_system(pass *ps)
{
    op_http_answer answer;
    apr_pool_t *p;
    const char *err;
    int labels = 0;

    apr_pool_create(&p, ps->p);
    err = get_ok(ps, p, "/system", &answer);
    if (err == NULL
        && (err = op_system_parse(p, answer.body, answer.length, &labels))
           != NULL) {
        err = apr_pstrcat(p, "GET /system: ", err, NULL);
    }
    if (err) {
        err = apr_pstrdup(ps->p, err);
    }
    else {
        op_gen_set_flags(ps->gen, labels ? OP_GEN_LABELS : 0);
    }
    apr_pool_destroy(p);
    return err;
}

/* The database's high-water mark of sequence numbers. */
static const char *read_high_water(pass *ps, apr_int64_t *last)
{
    op_changes_page page;
    apr_pool_t *p;
    const char *err;

    apr_pool_create(&p, ps->p);
    err = read_changes(ps, p, BEYOND_THE_END, 1, &page);
    if (err) {
        err = apr_pstrdup(ps->p, err);
    }
    else {
        *last = page.last;
    }
    apr_pool_destroy(p);
    return err;
}

/* ------------------------------------------------------------- passes */

/* Without a recorded past (a new table, the log cleared, another
 * database): everything is fresh, from the log's current end.  The last
 * page before it is read, so that entries not committed yet are holes. */
static const char *start_over(pass *ps)
{
    op_follow_state *state = ps->state;
    apr_int64_t last = 0, instances = 0;
    const char *err;
    int attempt, more = 1;

    ps->start_over = 0;
    if ((err = read_system(ps)) != NULL) {
        return err;
    }
    for (attempt = 0; attempt < ATTEMPTS && more; attempt++) {
        if ((err = read_high_water(ps, &last)) != NULL
            || (err = read_statistics(ps, &instances)) != NULL) {
            return err;
        }
        op_cursor_start(&state->cursor, last > PAGE ? last - PAGE : 0);
        /* Entries of that page count as applied: everything is made
         * fresh below.  No lookup is made (MAX_LOOKUPS reached). */
        ps->lookups = MAX_LOOKUPS;
        if ((err = drain(ps)) != NULL || (err = read_end(ps, &more)) != NULL) {
            return err;
        }
        if (ps->start_over) {
            more = 1;
            ps->start_over = 0;
        }
    }
    everything(ps, "the follower starts");
    state->instances = instances;
    state->started = 1;
    return NULL;
}

static const char *one_pass(pass *ps)
{
    op_follow_state *state = ps->state;
    apr_int64_t instances = 0;
    const char *err;
    int attempt, consistent = 0;

    if ((err = read_system(ps)) != NULL) {
        return err;
    }
    op_cursor_expire(&state->cursor, apr_time_now(), HOLE_GRACE);
    for (attempt = 0; attempt < ATTEMPTS && !consistent; attempt++) {
        int more = 0;
        if ((err = drain(ps)) != NULL
            || (err = read_statistics(ps, &instances)) != NULL
            || (err = read_end(ps, &more)) != NULL) {
            return err;
        }
        if (ps->start_over) {
            return NULL;
        }
        consistent = !more;
    }
    if (!consistent) {
        everything(ps, "the log grew while the statistics were read");
    }
    else if (op_instances_were_deleted(state->instances, instances,
                                       ps->new_instances)) {
        everything(ps, "fewer instances than the log accounts for: "
                   "instances were deleted");
    }
    else if (instances - state->instances > ps->new_instances
             && state->cursor.n_open == 0) {
        /* More instances than logged, with no change pending: the log
         * was cleared, or Orthanc uses another database. */
        ps->start_over = 1;
        return NULL;
    }
    state->instances = instances;
    return NULL;
}

static void report(op_cache_follower *f, const char *err, const pass *ps)
{
    if (err && !f->failing) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, f->s, "OrthancProxyCache: "
                     "cannot follow the changes of %s (%s); answers are not "
                     "taken from the cache until it can", f->backend->url, err);
    }
    else if (!err && (f->failing || !f->following)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, f->s, "OrthancProxyCache: "
                     "following the changes of %s from sequence number %"
                     APR_INT64_T_FMT " (through %s)", f->backend->url,
                     ps->state->cursor.high, f->members[f->current].target.url);
        f->following = 1;
    }
    f->failing = err != NULL;
}

/* What a pass did, for LogLevel orthanc_proxy:trace2: where it read the
 * log, and what it made fresh. */
static void trace_pass(const op_cache_follower *f, const char *err,
                       const pass *ps, apr_int64_t from)
{
    const op_change_cursor *c = &ps->state->cursor;

    ap_log_error(APLOG_MARK, APLOG_TRACE2, 0, f->s, "OrthancProxyCache: "
                 "pass over the changes of %s through %s: read after %"
                 APR_INT64_T_FMT ", now at %" APR_INT64_T_FMT " (%d open "
                 "from %" APR_INT64_T_FMT "), %d lookups, %" APR_INT64_T_FMT
                 " instances, %s%s", f->backend->url,
                 f->members[f->current].target.url, from, c->high, c->n_open,
                 c->settled + 1, ps->lookups, ps->state->instances,
                 err ? "failed: " : ps->everything ? "everything fresh: "
                 : "", err ? err : ps->everything ? ps->everything : "");
}

/* One pass, and its record when it completed. */
static void run(op_cache_follower *f, apr_pool_t *pool)
{
    const char *err;
    apr_int64_t from;
    pass ps;

    memset(&ps, 0, sizeof(ps));
    ps.f = f;
    ps.p = pool;
    ps.gen = &f->backend->slot->gen;
    ps.state = &f->backend->slot->follow;
    ps.looked_up = apr_hash_make(pool);
    /* Changes logged before this moment are applied by this pass. */
    ps.start = apr_time_now();
    ps.deadline = ps.start + f->backend->max_delay;
    use_preferred_member(f);
    from = op_cursor_read_from(&ps.state->cursor);
    if (!ps.state->started) {
        err = start_over(&ps);
    }
    else {
        err = one_pass(&ps);
        if (err == NULL && ps.start_over) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, f->s, "OrthancProxyCache: "
                         "the change log of %s went back or was cleared: "
                         "starting over from its end", f->backend->url);
            err = start_over(&ps);
        }
    }
    if (err == NULL) {
        op_gen_mark_synced(ps.gen, ps.start);
    }
    trace_pass(f, err, &ps, from);
    report(f, err, &ps);
}

apr_status_t op_cache_follow(int state, void *data, apr_pool_t *pool)
{
    op_cache_follower *f = data;

    if (f->backend->slot == NULL) {
        return APR_SUCCESS;
    }
    if (state == AP_WATCHDOG_STATE_STOPPING) {
        apr_atomic_set32(&f->stopping, 1);
        /* Only the thread that runs the passes may free the handles it
         * uses; from any other, a pass may be running: it stops, and the
         * process exits with them. */
        if (f->has_runner
            && apr_os_thread_equal(f->runner, apr_os_thread_current())) {
            int i;
            for (i = 0; i < f->n_members; i++) {
                op_http_client_close(f->members[i].client);
            }
        }
        return APR_SUCCESS;
    }
    if (apr_atomic_read32(&f->stopping)) {
        return APR_SUCCESS;
    }
    f->runner = apr_os_thread_current();
    f->has_runner = 1;
    run(f, pool);
    /* Keep being called, also after a failure. */
    return APR_SUCCESS;
}
