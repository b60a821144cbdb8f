/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_lookup.c - asking Orthanc about studies, and remembering (see
 * studies_lookup.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "logic/audit_resolve.h"
#include "logic/json_read.h"
#include "logic/json_write.h"
#include "apache/balancer_setup.h"
#include "apache/cache_generations.h"
#include "studies_lookup.h"

APLOG_USE_MODULE(orthanc_proxy);

/* How long a question may take. */
#define ASK_TIMEOUT apr_time_from_sec(10)
/* What is used again although the counters cannot vouch for it: never
 * longer than the bound; what they vouch for, at most this long. */
#define VOUCHED_AT_MOST apr_time_from_sec(3600)
/* UIDs asked for at once. */
#define UIDS_AT_ONCE 100

typedef enum {
    KIND_FACTS,          /* value: op_study_facts * (NULL: no such study) */
    KIND_LIST,           /* value: apr_array_header_t * of const char * */
    KIND_TEXT            /* value: const char * (parents, levels) */
} entry_kind;

typedef struct {
    entry_kind kind;
    const void *value;
    apr_time_t fetched;
    const char *tokens;  /* counters when asked; NULL: the bound only */
    int forever;         /* an ID's parent or level */
} entry;

struct op_studies_memory {
    apr_pool_t *pool;    /* the entries, cleared when there are too many */
    apr_hash_t *entries;
    int count;
#if APR_HAS_THREADS
    apr_thread_mutex_t *lock;
#endif
};

struct op_studies_ask {
    request_rec *r;
    const op_mapping *mapping;
    op_studies_backend *backend;
    const char *authorization;
    int fresh_labels;
    op_http_client *client;    /* opened at the first question */
    int target;
    volatile apr_uint32_t never;
};

void op_studies_memory_make(apr_pool_t *pchild, op_studies_backend *backend)
{
    struct op_studies_memory *m = apr_pcalloc(pchild, sizeof(*m));

    apr_pool_create(&m->pool, pchild);
    m->entries = apr_hash_make(m->pool);
#if APR_HAS_THREADS
    apr_thread_mutex_create(&m->lock, APR_THREAD_MUTEX_DEFAULT, pchild);
#endif
    backend->memory = m;
}

static void lock(struct op_studies_memory *m)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(m->lock);
#endif
}

static void unlock(struct op_studies_memory *m)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(m->lock);
#endif
}

/* ------------------------------------------------------------ copies */

static apr_array_header_t *copy_list(apr_pool_t *p,
                                     const apr_array_header_t *list)
{
    apr_array_header_t *copy = apr_array_make(p, list->nelts > 0
                                                 ? list->nelts : 1,
                                              sizeof(const char *));
    int i;
    for (i = 0; i < list->nelts; i++) {
        APR_ARRAY_PUSH(copy, const char *) =
            apr_pstrdup(p, APR_ARRAY_IDX(list, i, const char *));
    }
    return copy;
}

static const op_study_facts *copy_facts(apr_pool_t *p,
                                        const op_study_facts *facts)
{
    op_study_facts *copy;
    int i;

    if (facts == NULL) {
        return NULL;
    }
    copy = apr_pcalloc(p, sizeof(*copy));
    copy->id = apr_pstrdup(p, facts->id);
    copy->uid = facts->uid ? apr_pstrdup(p, facts->uid) : NULL;
    copy->patient = facts->patient ? apr_pstrdup(p, facts->patient) : NULL;
    for (i = 0; i < OP_STUDY_ATTRIBUTES; i++) {
        copy->values[i] = facts->values[i]
                          ? apr_pstrdup(p, facts->values[i]) : NULL;
    }
    copy->labels = facts->labels ? copy_list(p, facts->labels) : NULL;
    return copy;
}

static const void *copy_value(apr_pool_t *p, entry_kind kind,
                              const void *value)
{
    switch (kind) {
    case KIND_FACTS:
        return copy_facts(p, value);
    case KIND_LIST:
        return value ? copy_list(p, value) : NULL;
    case KIND_TEXT:
        return value ? apr_pstrdup(p, value) : NULL;
    }
    return NULL;
}

/* ---------------------------------------------------------- memory */

/* The counters the entry of SCOPE would be stored with now. */
static const char *tokens_of(op_studies_ask *a, op_scope_kind kind,
                             const char *id)
{
    op_scope scope;

    if (id == NULL || !op_scope_id_is_plain(id)) {
        return NULL;
    }
    scope.kind = kind;
    scope.id = id;
    return op_cache_scope_tokens(a->mapping->cache_backend, a->r->pool,
                                 &scope);
}

/* What the child remembers under KEY, copied into the request's pool;
 * *FOUND 0 when nothing usable is remembered.  TOKENS: the counters now
 * (NULL when the follower cannot vouch). */
static const void *recall(op_studies_ask *a, const char *key,
                          const char *tokens, int labels, int *found)
{
    struct op_studies_memory *m = a->backend->memory;
    apr_time_t now = apr_time_now();
    const void *value = NULL;
    const entry *e;

    *found = 0;
    if (m == NULL) {
        return NULL;
    }
    lock(m);
    e = apr_hash_get(m->entries, key, APR_HASH_KEY_STRING);
    if (e && (e->forever
              || now - e->fetched <= a->backend->bound
              || (!labels && e->tokens && tokens
                  && strcmp(e->tokens, tokens) == 0
                  && now - e->fetched <= VOUCHED_AT_MOST))) {
        value = copy_value(a->r->pool, e->kind, e->value);
        *found = 1;
    }
    unlock(m);
    return value;
}

static void remember(op_studies_ask *a, const char *key, entry_kind kind,
                     const void *value, apr_time_t fetched,
                     const char *tokens, int forever)
{
    struct op_studies_memory *m = a->backend->memory;
    entry *e;

    if (m == NULL) {
        return;
    }
    lock(m);
    if (m->count >= OP_STUDIES_REMEMBERED) {
        apr_pool_clear(m->pool);
        m->entries = apr_hash_make(m->pool);
        m->count = 0;
    }
    e = apr_hash_get(m->entries, key, APR_HASH_KEY_STRING);
    if (e == NULL) {
        e = apr_palloc(m->pool, sizeof(*e));
        apr_hash_set(m->entries, apr_pstrdup(m->pool, key),
                     APR_HASH_KEY_STRING, e);
    }
    /* An entry replaced keeps its old value in the pool until the next
     * clearing: every answer taken counts. */
    m->count++;
    e->kind = kind;
    e->value = copy_value(m->pool, kind, value);
    e->fetched = fetched;
    e->tokens = tokens ? apr_pstrdup(m->pool, tokens) : NULL;
    e->forever = forever;
    unlock(m);
}

void op_studies_forget(op_studies_ask *a, const char *id)
{
    struct op_studies_memory *m = a->backend->memory;

    if (m) {
        lock(m);
        apr_hash_set(m->entries, apr_pstrcat(a->r->pool, "s:", id, NULL),
                     APR_HASH_KEY_STRING, NULL);
        unlock(m);
    }
}

/* ---------------------------------------------------------- asking */

op_studies_ask *op_studies_ask_make(request_rec *r, int fresh_labels)
{
    const op_request *req = op_request_get(r);
    op_studies_ask *a = apr_pcalloc(r->pool, sizeof(*a));

    a->r = r;
    a->mapping = req->mapping;
    a->backend = req->mapping->studies_backend;
    a->authorization = op_dir_conf_get(r)->authorization;
    a->fresh_labels = fresh_labels;
    return a;
}

static apr_status_t close_client(void *data)
{
    op_http_client_close(data);
    return APR_SUCCESS;
}

/* The target to ask: a balancer's usable members before the others. */
static int next_target(const op_studies_ask *a, int after)
{
    int i, n = a->backend->targets->nelts, best = -1, best_health = -1;

    for (i = 1; i <= n; i++) {
        int t = (after + i) % n, health = 2;
        const op_studies_target *target =
            &APR_ARRAY_IDX(a->backend->targets, t, op_studies_target);
        if (target->member) {
            health = op_member_health(target->member);
        }
        if (health > best_health) {
            best = t;
            best_health = health;
        }
    }
    return best;
}

/* METHOD PATH (with BODY for a POST) to the mapping's Orthanc: NULL and
 * *OUT, or why no answer came.  A server error of one member of a
 * balancer is asked of the next. */
static const char *ask(op_studies_ask *a, const char *path, const char *body,
                       op_http_answer *out)
{
    apr_time_t deadline = apr_time_now() + ASK_TIMEOUT;
    const char *err = NULL;
    int tries;

    if (a->backend == NULL || a->backend->targets->nelts == 0) {
        return "the mapping is not set up for OrthancProxyStudies";
    }
    for (tries = 0; tries < a->backend->targets->nelts; tries++) {
        const op_studies_target *target;
        if (a->client == NULL) {
            a->target = next_target(a, a->backend->targets->nelts - 1);
            target = &APR_ARRAY_IDX(a->backend->targets, a->target,
                                    op_studies_target);
            a->client = op_http_client_make(a->r->pool, target->url,
                                            a->authorization, target->tls,
                                            &a->never);
            apr_pool_cleanup_register(a->r->pool, a->client, close_client,
                                      apr_pool_cleanup_null);
        }
        target = &APR_ARRAY_IDX(a->backend->targets, a->target,
                                op_studies_target);
        err = body ? op_http_post(a->client, a->r->pool, path, body,
                                  strlen(body), deadline, out)
                   : op_http_get(a->client, a->r->pool, path, deadline, out);
        if (err == NULL && out->status < 500) {
            if (out->status == 401 || out->status == 403) {
                return apr_psprintf(a->r->pool, "%s %s: Orthanc answered "
                                    "%ld (check OrthancProxyCredentials)",
                                    body ? "POST" : "GET", path, out->status);
            }
            return NULL;
        }
        err = apr_psprintf(a->r->pool, "%s %s from %s: %s",
                           body ? "POST" : "GET", path, target->url,
                           err ? err : apr_psprintf(a->r->pool, "Orthanc "
                                                    "answered %ld",
                                                    out->status));
        if (a->backend->targets->nelts == 1) {
            break;
        }
        /* Another member, on a connection of its own. */
        apr_pool_cleanup_run(a->r->pool, a->client, close_client);
        a->client = NULL;
        a->target = next_target(a, a->target);
    }
    return err;
}

static const char *parse(op_studies_ask *a, const op_http_answer *answer,
                         const char *what, op_json **out)
{
    const char *err = op_json_parse(a->r->pool, answer->body, answer->length,
                                    out);
    return err ? apr_psprintf(a->r->pool, "%s: Orthanc's answer is not JSON "
                              "(%s)", what, err) : NULL;
}

/* ------------------------------------------------------------ studies */

const char *op_studies_facts(op_studies_ask *a, const char *id,
                             const op_study_facts **facts)
{
    const char *key = apr_pstrcat(a->r->pool, "s:", id, NULL);
    const char *tokens = tokens_of(a, OP_SCOPE_STUDY, id), *err, *path;
    apr_time_t asked = apr_time_now();
    op_http_answer answer;
    op_study_facts *read;
    op_json *json;
    int found;

    *facts = recall(a, key, tokens, a->fresh_labels, &found);
    if (found) {
        return NULL;
    }
    path = apr_pstrcat(a->r->pool, "/studies/", id, NULL);
    if ((err = ask(a, path, NULL, &answer)) != NULL) {
        return err;
    }
    if (answer.status == 404 || answer.status == 400) {
        *facts = NULL;
        remember(a, key, KIND_FACTS, NULL, asked, tokens, 0);
        return NULL;
    }
    if (answer.status != 200) {
        return apr_psprintf(a->r->pool, "GET %s: Orthanc answered %ld", path,
                            answer.status);
    }
    read = apr_pcalloc(a->r->pool, sizeof(*read));
    if ((err = parse(a, &answer, path, &json)) != NULL
        || (err = op_study_facts_read(a->r->pool, json, read)) != NULL) {
        return apr_psprintf(a->r->pool, "GET %s: %s", path, err);
    }
    remember(a, key, KIND_FACTS, read, asked, tokens, 0);
    *facts = read;
    return NULL;
}

/* Remembers the answer of a search at the study level (expanded): each
 * study's facts, and each of UIDS' studies. */
static const char *take_studies(op_studies_ask *a, const op_json *list,
                                const apr_array_header_t *uids,
                                apr_time_t asked, const char **tokens)
{
    apr_hash_t *by_uid = apr_hash_make(a->r->pool);
    int i;

    if (list->type != OP_JSON_ARRAY) {
        return "POST /tools/find: the answer is not a list";
    }
    for (i = 0; i < list->items->nelts; i++) {
        const op_json *item = APR_ARRAY_IDX(list->items, i, const op_json *);
        op_study_facts facts;
        apr_array_header_t *ids;
        if (op_study_facts_read(a->r->pool, item, &facts) != NULL
            || facts.uid == NULL) {
            return "POST /tools/find: an answer is not a study";
        }
        /* Its counters were not read before the search: for the bound
         * only. */
        remember(a, apr_pstrcat(a->r->pool, "s:", facts.id, NULL), KIND_FACTS,
                 &facts, asked, NULL, 0);
        ids = apr_hash_get(by_uid, facts.uid, APR_HASH_KEY_STRING);
        if (ids == NULL) {
            ids = apr_array_make(a->r->pool, 1, sizeof(const char *));
            apr_hash_set(by_uid, facts.uid, APR_HASH_KEY_STRING, ids);
        }
        APR_ARRAY_PUSH(ids, const char *) = facts.id;
    }
    for (i = 0; i < uids->nelts; i++) {
        const char *uid = APR_ARRAY_IDX(uids, i, const char *);
        apr_array_header_t *ids = apr_hash_get(by_uid, uid,
                                               APR_HASH_KEY_STRING);
        if (ids == NULL) {
            ids = apr_array_make(a->r->pool, 1, sizeof(const char *));
        }
        remember(a, apr_pstrcat(a->r->pool, "u:", uid, NULL), KIND_LIST, ids,
                 asked, tokens[i], 0);
    }
    return NULL;
}

/* Asks for the studies of UIDS (at most UIDS_AT_ONCE, all valid). */
static const char *find_uids(op_studies_ask *a,
                             const apr_array_header_t *uids)
{
    op_json *body = op_json_new(a->r->pool, OP_JSON_OBJECT);
    op_json *query = op_json_new(a->r->pool, OP_JSON_OBJECT);
    const char **tokens = apr_palloc(a->r->pool, sizeof(char *)
                                                 * (uids->nelts + 1));
    const char *list = "", *err;
    apr_time_t asked = apr_time_now();
    op_http_answer answer;
    op_json *json;
    int i;

    for (i = 0; i < uids->nelts; i++) {
        const char *uid = APR_ARRAY_IDX(uids, i, const char *);
        list = apr_pstrcat(a->r->pool, list, i ? "\\" : "", uid, NULL);
        tokens[i] = tokens_of(a, OP_SCOPE_UID, uid);
    }
    op_json_set(a->r->pool, query, "StudyInstanceUID",
                op_json_new_string(a->r->pool, list));
    op_json_set(a->r->pool, body, "Level",
                op_json_new_string(a->r->pool, "Study"));
    op_json_set(a->r->pool, body, "Query", query);
    op_json_set(a->r->pool, body, "Expand", op_json_new(a->r->pool,
                                                        OP_JSON_TRUE));
    if ((err = ask(a, "/tools/find", op_json_write(a->r->pool, body, NULL),
                   &answer)) != NULL) {
        return err;
    }
    if (answer.status != 200) {
        return apr_psprintf(a->r->pool, "POST /tools/find: Orthanc answered "
                            "%ld", answer.status);
    }
    if ((err = parse(a, &answer, "POST /tools/find", &json)) != NULL) {
        return err;
    }
    return take_studies(a, json, uids, asked, tokens);
}

const char *op_studies_prefetch_uids(op_studies_ask *a,
                                     const apr_array_header_t *uids)
{
    apr_array_header_t *missing = apr_array_make(a->r->pool, UIDS_AT_ONCE,
                                                 sizeof(const char *));
    apr_hash_t *seen = apr_hash_make(a->r->pool);
    int i;

    for (i = 0; i < uids->nelts; i++) {
        const char *uid = APR_ARRAY_IDX(uids, i, const char *);
        int found;
        if (!op_study_uid_is_valid(uid)
            || apr_hash_get(seen, uid, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(seen, uid, APR_HASH_KEY_STRING, "");
        recall(a, apr_pstrcat(a->r->pool, "u:", uid, NULL),
               tokens_of(a, OP_SCOPE_UID, uid), 0, &found);
        if (!found) {
            APR_ARRAY_PUSH(missing, const char *) = uid;
        }
        if (missing->nelts == UIDS_AT_ONCE) {
            const char *err = find_uids(a, missing);
            if (err) {
                return err;
            }
            missing->nelts = 0;
        }
    }
    return missing->nelts ? find_uids(a, missing) : NULL;
}

const char *op_studies_of_uid(op_studies_ask *a, const char *uid,
                              apr_array_header_t **facts)
{
    const char *key = apr_pstrcat(a->r->pool, "u:", uid, NULL), *err;
    const apr_array_header_t *ids;
    int found, i;

    *facts = apr_array_make(a->r->pool, 1, sizeof(const op_study_facts *));
    ids = recall(a, key, tokens_of(a, OP_SCOPE_UID, uid), 0, &found);
    if (!found) {
        apr_array_header_t *one = apr_array_make(a->r->pool, 1,
                                                 sizeof(const char *));
        APR_ARRAY_PUSH(one, const char *) = uid;
        if ((err = find_uids(a, one)) != NULL) {
            return err;
        }
        ids = recall(a, key, NULL, 0, &found);
        if (!found) {
            return "the studies of a UID were not remembered";
        }
    }
    for (i = 0; i < ids->nelts; i++) {
        const op_study_facts *f;
        if ((err = op_studies_facts(a, APR_ARRAY_IDX(ids, i, const char *),
                                    &f)) != NULL) {
            return err;
        }
        if (f) {
            APR_ARRAY_PUSH(*facts, const op_study_facts *) = f;
        }
    }
    return NULL;
}

/* ------------------------------------------------- the way up to a study */

static const char *parent_of(op_studies_ask *a, op_resource_level level,
                             const char *id, const char **parent)
{
    const char *collection = level == OP_RESOURCE_SERIES ? "series"
                                                         : "instances";
    const char *key = apr_pstrcat(a->r->pool, "p:", id, NULL), *err, *path;
    const char *uid;
    op_http_answer answer;
    int found;

    *parent = recall(a, key, NULL, 0, &found);
    if (found) {
        return NULL;
    }
    path = apr_pstrcat(a->r->pool, "/", collection, "/", id, NULL);
    if ((err = ask(a, path, NULL, &answer)) != NULL) {
        return err;
    }
    if (answer.status == 404 || answer.status == 400) {
        /* Not remembered: it may be stored later. */
        *parent = NULL;
        return NULL;
    }
    if (answer.status != 200) {
        return apr_psprintf(a->r->pool, "GET %s: Orthanc answered %ld", path,
                            answer.status);
    }
    if ((err = op_audit_read_child(a->r->pool, answer.body, answer.length,
                                   level, parent, &uid)) != NULL) {
        return apr_psprintf(a->r->pool, "GET %s: %s", path, err);
    }
    if (!op_orthanc_id_is_valid(*parent)) {
        return apr_psprintf(a->r->pool, "GET %s: the parent is no Orthanc ID",
                            path);
    }
    remember(a, key, KIND_TEXT, *parent, apr_time_now(), NULL, 1);
    return NULL;
}

const char *op_studies_study_of(op_studies_ask *a, op_resource_level level,
                                const char *id, const char **study)
{
    const char *err;

    *study = id;
    while (*study && level > OP_RESOURCE_STUDY) {
        if ((err = parent_of(a, level, *study, study)) != NULL) {
            return err;
        }
        level = (op_resource_level)(level - 1);
    }
    if (level != OP_RESOURCE_STUDY) {
        *study = NULL;
    }
    return NULL;
}

const char *op_studies_of_patient(op_studies_ask *a, const char *id,
                                  apr_array_header_t **studies)
{
    const char *key = apr_pstrcat(a->r->pool, "t:", id, NULL), *err, *path;
    const char *tokens = tokens_of(a, OP_SCOPE_PATIENT, id);
    apr_time_t asked = apr_time_now();
    op_audit_subject subject;
    op_http_answer answer;
    int found;

    *studies = (apr_array_header_t *)recall(a, key, tokens, 0, &found);
    if (found) {
        return NULL;
    }
    path = apr_pstrcat(a->r->pool, "/patients/", id, NULL);
    if ((err = ask(a, path, NULL, &answer)) != NULL) {
        return err;
    }
    if (answer.status == 404 || answer.status == 400) {
        *studies = NULL;
        return NULL;
    }
    if (answer.status != 200) {
        return apr_psprintf(a->r->pool, "GET %s: Orthanc answered %ld", path,
                            answer.status);
    }
    if ((err = op_audit_read_patient(a->r->pool, answer.body, answer.length,
                                     &subject, studies)) != NULL) {
        return apr_psprintf(a->r->pool, "GET %s: %s", path, err);
    }
    remember(a, key, KIND_LIST, *studies, asked, tokens, 0);
    return NULL;
}

const char *op_studies_level_of(op_studies_ask *a, const char *id,
                                op_resource_level *level)
{
    static const char *const COLLECTIONS[] = { NULL, "patients", "studies",
                                               "series", "instances" };
    /* The likeliest first: archives are asked for by study. */
    static const op_resource_level ORDER[] = {
        OP_RESOURCE_STUDY, OP_RESOURCE_SERIES, OP_RESOURCE_INSTANCE,
        OP_RESOURCE_PATIENT
    };
    const char *key = apr_pstrcat(a->r->pool, "l:", id, NULL), *known;
    int found, i;

    known = recall(a, key, NULL, 0, &found);
    if (found) {
        *level = (op_resource_level)(known[0] - '0');
        return NULL;
    }
    *level = OP_RESOURCE_UNKNOWN;
    for (i = 0; i < 4; i++) {
        const char *path = apr_pstrcat(a->r->pool, "/",
                                       COLLECTIONS[ORDER[i]], "/", id, NULL);
        op_http_answer answer;
        const char *err = ask(a, path, NULL, &answer);
        if (err) {
            return err;
        }
        if (answer.status == 200) {
            *level = ORDER[i];
            remember(a, key, KIND_TEXT, apr_psprintf(a->r->pool, "%d",
                                                     (int)*level),
                     apr_time_now(), NULL, 1);
            return NULL;
        }
        if (answer.status != 404 && answer.status != 400) {
            return apr_psprintf(a->r->pool, "GET %s: Orthanc answered %ld",
                                path, answer.status);
        }
    }
    return NULL;
}

const char *op_studies_instances_of_uid(op_studies_ask *a, const char *uid,
                                        apr_array_header_t **ids)
{
    const char *key = apr_pstrcat(a->r->pool, "i:", uid, NULL), *err;
    const char *tokens = tokens_of(a, OP_SCOPE_UID, uid);
    apr_time_t asked = apr_time_now();
    op_json *body = op_json_new(a->r->pool, OP_JSON_OBJECT);
    op_json *query = op_json_new(a->r->pool, OP_JSON_OBJECT);
    op_http_answer answer;
    op_json *json;
    int found, i;

    *ids = (apr_array_header_t *)recall(a, key, tokens, 0, &found);
    if (found) {
        return NULL;
    }
    op_json_set(a->r->pool, query, "SOPInstanceUID",
                op_json_new_string(a->r->pool, uid));
    op_json_set(a->r->pool, body, "Level",
                op_json_new_string(a->r->pool, "Instance"));
    op_json_set(a->r->pool, body, "Query", query);
    if ((err = ask(a, "/tools/find", op_json_write(a->r->pool, body, NULL),
                   &answer)) != NULL) {
        return err;
    }
    if (answer.status != 200) {
        return apr_psprintf(a->r->pool, "POST /tools/find: Orthanc answered "
                            "%ld", answer.status);
    }
    if ((err = parse(a, &answer, "POST /tools/find", &json)) != NULL) {
        return err;
    }
    if (json->type != OP_JSON_ARRAY) {
        return "POST /tools/find: the answer is not a list";
    }
    *ids = apr_array_make(a->r->pool, 1, sizeof(const char *));
    for (i = 0; i < json->items->nelts; i++) {
        const op_json *item = APR_ARRAY_IDX(json->items, i, const op_json *);
        if (item->type != OP_JSON_STRING || !op_orthanc_id_is_valid(item->text)) {
            return "POST /tools/find: an answer is not an Orthanc ID";
        }
        APR_ARRAY_PUSH(*ids, const char *) = item->text;
    }
    remember(a, key, KIND_LIST, *ids, asked, tokens, 0);
    return NULL;
}

int op_studies_has_labels(op_studies_ask *a)
{
    return op_cache_backend_has_labels(a->mapping->cache_backend);
}
