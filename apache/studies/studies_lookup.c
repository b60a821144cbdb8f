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

#include "logic/audit_resolve.h"
#include "logic/json_read.h"
#include "logic/json_write.h"
#include "apache/orthanc_http.h"
#include "apache/request_context.h"
#include "studies_lookup.h"
#include "studies_memory.h"

APLOG_USE_MODULE(orthanc_proxy);

/* How long a question may take: it holds up the client's request. */
#define ASK_TIMEOUT apr_time_from_sec(10)
/* UIDs asked for at once. */
#define UIDS_AT_ONCE 100

typedef enum {
    KIND_FACTS,          /* value: op_study_facts * (NULL: no such study) */
    KIND_LIST,           /* value: apr_array_header_t * of const char * */
    KIND_TEXT            /* value: const char * (parents, levels) */
} entry_kind;

/* What one request learnt; what it may keep longer goes to the mapping's
 * memory (studies_memory.h) as well. */
typedef struct {
    entry_kind kind;
    const void *value;
} entry;

struct op_studies_ask {
    request_rec *r;
    const op_mapping *mapping;
    const char *authorization;
    op_http_client *client;    /* opened at the first question */
    apr_hash_t *entries;       /* what this request learnt, by key */
    int has_labels;            /* -1 until /system was read */
    int uses_labels;           /* the request's scope reads labels */
};

/* ---------------------------------------------------------- memory */

static const void *recall(op_studies_ask *a, const char *key, int *found)
{
    const entry *e = apr_hash_get(a->entries, key, APR_HASH_KEY_STRING);

    *found = e != NULL;
    return e ? e->value : NULL;
}

static void remember(op_studies_ask *a, const char *key, entry_kind kind,
                     const void *value)
{
    entry *e = apr_palloc(a->r->pool, sizeof(*e));

    e->kind = kind;
    e->value = value;
    apr_hash_set(a->entries, apr_pstrdup(a->r->pool, key),
                 APR_HASH_KEY_STRING, e);
}

/* ---------------------------------------- the memory between requests */

/* The memory's text for KEY, a fact about KIND/ID; *STAMP is what it
 * rests on now, for op_studies_memory_keep after Orthanc is asked. */
static const char *recall_kept(op_studies_ask *a, const char *key,
                               op_scope_kind kind, const char *id,
                               int labels, const char **stamp)
{
    *stamp = op_studies_memory_stamp(a->mapping, a->r->pool, kind, id,
                                     labels);
    return op_studies_memory_recall(a->mapping, a->r->pool, key, *stamp);
}

static void keep(op_studies_ask *a, const char *key, const char *stamp,
                 const char *text)
{
    op_studies_memory_keep(a->mapping, key, stamp, text);
}

/* Orthanc IDs as the memory keeps them: one per line. */
static const char *joined_ids(apr_pool_t *p, const apr_array_header_t *ids)
{
    return ids->nelts ? apr_array_pstrcat(p, ids, '\n') : "";
}

static apr_array_header_t *split_ids(apr_pool_t *p, const char *text)
{
    apr_array_header_t *ids = apr_array_make(p, 4, sizeof(const char *));
    char *copy = apr_pstrdup(p, text), *state = NULL, *id;

    for (id = apr_strtok(copy, "\n", &state); id;
         id = apr_strtok(NULL, "\n", &state)) {
        APR_ARRAY_PUSH(ids, const char *) = id;
    }
    return ids;
}

void op_studies_forget(op_studies_ask *a, const char *id)
{
    apr_hash_set(a->entries, apr_pstrcat(a->r->pool, "s:", id, NULL),
                 APR_HASH_KEY_STRING, NULL);
}

/* ---------------------------------------------------------- asking */

static apr_status_t close_client(void *data)
{
    op_http_client_close(data);
    return APR_SUCCESS;
}

op_studies_ask *op_studies_ask_make(request_rec *r, int uses_labels)
{
    const op_request *req = op_request_get(r);
    op_studies_ask *a = apr_pcalloc(r->pool, sizeof(*a));

    a->r = r;
    a->mapping = req->mapping;
    a->authorization = op_dir_conf_get(r)->authorization;
    a->entries = apr_hash_make(r->pool);
    a->has_labels = -1;
    a->uses_labels = uses_labels;
    return a;
}

/* METHOD PATH (with BODY for a POST) to the mapping's Orthanc: NULL and
 * *OUT, or why no answer came. */
static const char *ask(op_studies_ask *a, const char *path, const char *body,
                       op_http_answer *out)
{
    const char *method = body ? "POST" : "GET";
    const char *err;

    if (a->mapping->backend.kind == OP_BACKEND_BALANCER) {
        /* Which member would answer is mod_proxy_balancer's choice; the
         * members' URLs and TLS settings are the cache's (not shared yet). */
        return "the mapping's Orthanc is a balancer, whose members "
               "OrthancProxyStudies cannot ask yet";
    }
    if (a->client == NULL) {
        /* One connection for the request's questions, closed with it. */
        a->client = op_http_client_make(a->r->pool, a->mapping->backend.url,
                                        a->authorization, NULL, NULL);
        apr_pool_cleanup_register(a->r->pool, a->client, close_client,
                                  apr_pool_cleanup_null);
    }
    err = op_http_request(a->client, a->r->pool, method, path, body,
                          apr_time_now() + ASK_TIMEOUT, out);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, a->r, "OrthancProxyStudies: "
                  "asked Orthanc %s %s: %s", method, path, err ? err
                  : apr_psprintf(a->r->pool, "%ld", out->status));
    if (err) {
        return apr_psprintf(a->r->pool, "%s %s: %s", method, path, err);
    }
    if (out->status >= 500) {
        return apr_psprintf(a->r->pool, "%s %s: Orthanc answered %ld",
                            method, path, out->status);
    }
    if (out->status == 401 || out->status == 403) {
        return apr_psprintf(a->r->pool, "%s %s: Orthanc answered %ld (check "
                            "OrthancProxyCredentials)", method, path,
                            out->status);
    }
    return NULL;
}

/* GET PATH, one resource: NULL with *ANSWER (200), or with *ABSENT set
 * when Orthanc has no such resource (404, or 400 for an ID it cannot
 * read); else why no usable answer came. */
static const char *get_resource(op_studies_ask *a, const char *path,
                                op_http_answer *answer, int *absent)
{
    const char *err = ask(a, path, NULL, answer);

    *absent = 0;
    if (err) {
        return err;
    }
    if (answer->status == 404 || answer->status == 400) {
        *absent = 1;
        return NULL;
    }
    if (answer->status != 200) {
        return apr_psprintf(a->r->pool, "GET %s: Orthanc answered %ld", path,
                            answer->status);
    }
    return NULL;
}

static const char *parse(op_studies_ask *a, const op_http_answer *answer,
                         const char *what, op_json **out)
{
    const char *err = op_json_parse(a->r->pool, answer->body, answer->length,
                                    out);
    return err ? apr_psprintf(a->r->pool, "%s: Orthanc's answer is not JSON "
                              "(%s)", what, err) : NULL;
}

const char *op_studies_post_json(op_studies_ask *a, const char *path,
                                 const char *body, long *status,
                                 op_json **json)
{
    op_http_answer answer;
    const char *err;

    *json = NULL;
    if ((err = ask(a, path, body, &answer)) != NULL) {
        return err;
    }
    *status = answer.status;
    return answer.status == 200 ? parse(a, &answer, path, json) : NULL;
}

const char *op_studies_get_json(op_studies_ask *a, const char *path,
                                long *status, op_json **json)
{
    return op_studies_post_json(a, path, NULL, status, json);
}

/* ------------------------------------------------------------ studies */

const char *op_studies_facts(op_studies_ask *a, const char *id,
                             const op_study_facts **facts)
{
    const char *key = apr_pstrcat(a->r->pool, "s:", id, NULL);
    const char *err, *path, *stamp, *text;
    op_http_answer answer;
    op_study_facts *read;
    op_json *json;
    int found, absent = 0;

    *facts = recall(a, key, &found);
    if (found) {
        return NULL;
    }
    path = apr_pstrcat(a->r->pool, "/studies/", id, NULL);
    text = recall_kept(a, key, OP_SCOPE_STUDY, id, a->uses_labels, &stamp);
    if (text) {
        answer.status = 200;
        answer.body = text;
        answer.length = strlen(text);
    }
    else if ((err = get_resource(a, path, &answer, &absent)) != NULL) {
        return err;
    }
    if (absent) {
        remember(a, key, KIND_FACTS, NULL);
        return NULL;
    }
    read = apr_pcalloc(a->r->pool, sizeof(*read));
    if ((err = parse(a, &answer, path, &json)) != NULL
        || (err = op_study_facts_read(a->r->pool, json, read)) != NULL) {
        return apr_psprintf(a->r->pool, "GET %s: %s", path, err);
    }
    remember(a, key, KIND_FACTS, read);
    if (text == NULL) {
        keep(a, key, stamp, apr_pstrmemdup(a->r->pool, answer.body,
                                           answer.length));
    }
    *facts = read;
    return NULL;
}

/* POST /tools/find with BODY: its answer in *JSON, or why none came. */
static const char *search(op_studies_ask *a, const op_json *body,
                          op_json **json)
{
    op_http_answer answer;
    const char *err = ask(a, "/tools/find", op_json_write(a->r->pool, body,
                                                          NULL), &answer);

    if (err) {
        return err;
    }
    if (answer.status != 200) {
        return apr_psprintf(a->r->pool, "POST /tools/find: Orthanc answered "
                            "%ld", answer.status);
    }
    return parse(a, &answer, "POST /tools/find", json);
}

/* Remembers the answer of a search at the study level (expanded): each
 * study's facts, and each of UIDS' studies (kept with STAMPS, read before
 * the search: the facts are not, as theirs could not be). */
static const char *take_studies(op_studies_ask *a, const op_json *list,
                                const apr_array_header_t *uids,
                                const char *const *stamps)
{
    apr_hash_t *by_uid = apr_hash_make(a->r->pool);
    int i;

    if (list->type != OP_JSON_ARRAY) {
        return "POST /tools/find: the answer is not a list";
    }
    for (i = 0; i < list->items->nelts; i++) {
        const op_json *item = APR_ARRAY_IDX(list->items, i, const op_json *);
        op_study_facts *facts = apr_pcalloc(a->r->pool, sizeof(*facts));
        apr_array_header_t *ids;
        if (op_study_facts_read(a->r->pool, item, facts) != NULL
            || facts->uid == NULL) {
            return "POST /tools/find: an answer is not a study";
        }
        remember(a, apr_pstrcat(a->r->pool, "s:", facts->id, NULL),
                 KIND_FACTS, facts);
        ids = apr_hash_get(by_uid, facts->uid, APR_HASH_KEY_STRING);
        if (ids == NULL) {
            ids = apr_array_make(a->r->pool, 1, sizeof(const char *));
            apr_hash_set(by_uid, facts->uid, APR_HASH_KEY_STRING, ids);
        }
        APR_ARRAY_PUSH(ids, const char *) = facts->id;
    }
    for (i = 0; i < uids->nelts; i++) {
        const char *uid = APR_ARRAY_IDX(uids, i, const char *);
        apr_array_header_t *ids = apr_hash_get(by_uid, uid,
                                               APR_HASH_KEY_STRING);
        const char *key = apr_pstrcat(a->r->pool, "u:", uid, NULL);
        if (ids == NULL) {
            ids = apr_array_make(a->r->pool, 1, sizeof(const char *));
        }
        remember(a, key, KIND_LIST, ids);
        keep(a, key, stamps[i], joined_ids(a->r->pool, ids));
    }
    return NULL;
}

/* Asks for the studies of UIDS (at most UIDS_AT_ONCE, all valid). */
static const char *find_uids(op_studies_ask *a,
                             const apr_array_header_t *uids)
{
    op_json *body = op_json_new(a->r->pool, OP_JSON_OBJECT);
    op_json *query = op_json_new(a->r->pool, OP_JSON_OBJECT);
    const char **stamps = apr_pcalloc(a->r->pool, sizeof(const char *)
                                             * (apr_size_t)(uids->nelts + 1));
    const char *list = "", *err;
    op_json *json;
    int i;

    for (i = 0; i < uids->nelts; i++) {
        const char *uid = APR_ARRAY_IDX(uids, i, const char *);
        list = apr_pstrcat(a->r->pool, list, i ? "\\" : "", uid, NULL);
        stamps[i] = op_studies_memory_stamp(a->mapping, a->r->pool,
                                            OP_SCOPE_UID, uid, 0);
    }
    op_json_set(a->r->pool, query, "StudyInstanceUID",
                op_json_new_string(a->r->pool, list));
    op_json_set(a->r->pool, body, "Level",
                op_json_new_string(a->r->pool, "Study"));
    op_json_set(a->r->pool, body, "Query", query);
    op_json_set(a->r->pool, body, "Expand", op_json_new(a->r->pool,
                                                        OP_JSON_TRUE));
    if ((err = search(a, body, &json)) != NULL) {
        return err;
    }
    return take_studies(a, json, uids, stamps);
}

/* Whether the studies of UID are known to this request, found in the
 * memory if need be. */
static int recall_uid(op_studies_ask *a, const char *uid)
{
    const char *key = apr_pstrcat(a->r->pool, "u:", uid, NULL), *stamp;
    const char *text;
    int found;

    recall(a, key, &found);
    if (found) {
        return 1;
    }
    text = recall_kept(a, key, OP_SCOPE_UID, uid, 0, &stamp);
    if (text) {
        remember(a, key, KIND_LIST, split_ids(a->r->pool, text));
    }
    return text != NULL;
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
        if (!op_study_uid_is_valid(uid)
            || apr_hash_get(seen, uid, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(seen, uid, APR_HASH_KEY_STRING, "");
        if (!recall_uid(a, uid)) {
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
    recall_uid(a, uid);
    ids = recall(a, key, &found);
    if (!found) {
        apr_array_header_t *one = apr_array_make(a->r->pool, 1,
                                                 sizeof(const char *));
        APR_ARRAY_PUSH(one, const char *) = uid;
        if ((err = find_uids(a, one)) != NULL) {
            return err;
        }
        ids = recall(a, key, &found);
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
    const char *uid, *stamp;
    op_http_answer answer;
    int found, absent;

    *parent = recall(a, key, &found);
    if (found) {
        return NULL;
    }
    /* The way up never changes: an Orthanc ID is a hash of the UIDs of
     * its resource and of those above it. */
    if ((*parent = recall_kept(a, key, OP_SCOPE_NONE, NULL, 0, &stamp))
        != NULL) {
        remember(a, key, KIND_TEXT, *parent);
        return NULL;
    }
    path = apr_pstrcat(a->r->pool, "/", collection, "/", id, NULL);
    if ((err = get_resource(a, path, &answer, &absent)) != NULL || absent) {
        /* An absent one is not remembered: it may be stored later. */
        return err;
    }
    if ((err = op_audit_read_child(a->r->pool, answer.body, answer.length,
                                   level, parent, &uid)) != NULL) {
        return apr_psprintf(a->r->pool, "GET %s: %s", path, err);
    }
    if (!op_orthanc_id_is_valid(*parent)) {
        return apr_psprintf(a->r->pool, "GET %s: the parent is no Orthanc ID",
                            path);
    }
    remember(a, key, KIND_TEXT, *parent);
    keep(a, key, stamp, *parent);
    return NULL;
}

const char *op_studies_study_of(op_studies_ask *a, op_resource_level level,
                                const char *id, const char **study)
{
    *study = id;
    while (*study && level > OP_RESOURCE_STUDY) {
        const char *err;
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
    const char *stamp, *text;
    op_audit_subject subject;
    op_http_answer answer;
    int found, absent;

    *studies = (apr_array_header_t *)recall(a, key, &found);
    if (found) {
        return NULL;
    }
    if ((text = recall_kept(a, key, OP_SCOPE_PATIENT, id, 0, &stamp))
        != NULL) {
        *studies = split_ids(a->r->pool, text);
        remember(a, key, KIND_LIST, *studies);
        return NULL;
    }
    path = apr_pstrcat(a->r->pool, "/patients/", id, NULL);
    if ((err = get_resource(a, path, &answer, &absent)) != NULL || absent) {
        return err;
    }
    if ((err = op_audit_read_patient(a->r->pool, answer.body, answer.length,
                                     &subject, studies)) != NULL) {
        return apr_psprintf(a->r->pool, "GET %s: %s", path, err);
    }
    remember(a, key, KIND_LIST, *studies);
    keep(a, key, stamp, joined_ids(a->r->pool, *studies));
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
    const char *stamp;
    int found, i;

    known = recall(a, key, &found);
    if (!found) {
        /* The level of an ID never changes (the ID hashes its UIDs). */
        known = recall_kept(a, key, OP_SCOPE_NONE, NULL, 0, &stamp);
        found = known != NULL;
    }
    if (found) {
        *level = (op_resource_level)(known[0] - '0');
        remember(a, key, KIND_TEXT, known);
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
            known = apr_psprintf(a->r->pool, "%d", (int)*level);
            remember(a, key, KIND_TEXT, known);
            keep(a, key, stamp, known);
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
    op_json *body = op_json_new(a->r->pool, OP_JSON_OBJECT);
    op_json *query = op_json_new(a->r->pool, OP_JSON_OBJECT);
    const char *stamp, *text;
    op_json *json;
    int found, i;

    *ids = (apr_array_header_t *)recall(a, key, &found);
    if (found) {
        return NULL;
    }
    if ((text = recall_kept(a, key, OP_SCOPE_UID, uid, 0, &stamp)) != NULL) {
        *ids = split_ids(a->r->pool, text);
        remember(a, key, KIND_LIST, *ids);
        return NULL;
    }
    op_json_set(a->r->pool, query, "SOPInstanceUID",
                op_json_new_string(a->r->pool, uid));
    op_json_set(a->r->pool, body, "Level",
                op_json_new_string(a->r->pool, "Instance"));
    op_json_set(a->r->pool, body, "Query", query);
    if ((err = search(a, body, &json)) != NULL) {
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
    remember(a, key, KIND_LIST, *ids);
    keep(a, key, stamp, joined_ids(a->r->pool, *ids));
    return NULL;
}

int op_studies_has_labels(op_studies_ask *a)
{
    op_http_answer answer;
    op_json *json;
    const op_json *version;

    /* Labels came with Orthanc 1.12.0: its /system says "Version". */
    if (a->has_labels == -1
        && ask(a, "/system", NULL, &answer) == NULL && answer.status == 200
        && op_json_parse(a->r->pool, answer.body, answer.length, &json) == NULL
        && (version = op_json_member(json, "Version")) != NULL
        && version->type == OP_JSON_STRING) {
        int major = 0, minor = 0;
        if (sscanf(version->text, "%d.%d", &major, &minor) == 2) {
            a->has_labels = major > 1 || (major == 1 && minor >= 12);
        }
    }
    return a->has_labels;
}
