/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_list.c - the lists a user restricted to some studies gets:
 * GET /patients, /studies, /series and /instances (with or without
 * "expand", "since" and "limit"), QIDO-RS /dicom-web/studies and POST /tools/find at the study
 * level, answered here with only the
 * studies the user may see (see studies_request.h).
 *
 * QIDO-RS and /tools/find are rewritten to carry the scope where every Orthanc reads the
 * added attributes alike (logic/study_query.c), so that Orthanc does most
 * of the filtering; every item of every answer is then checked against
 * the scope, so the rewriting makes lists fast and the check makes them
 * safe.  The REST lists are read whole (GET /studies?expand) and filtered:
 * two questions to Orthanc for a list of patients, one for studies.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "logic/json_write.h"
#include "logic/study_query.h"
#include "apache/request_context.h"
#include "studies_body.h"
#include "studies_jobs.h"
#include "studies_lookup.h"
#include "studies_request.h"

APLOG_USE_MODULE(orthanc_proxy);

#define RULE "OrthancProxyStudies"

static int unavailable(request_rec *r, op_request *req, const char *err)
{
    return op_refuse(r, req, HTTP_SERVICE_UNAVAILABLE, apr_pstrcat(
        r->pool, "the list could not be filtered: ", err, NULL), RULE);
}

static int send_json(request_rec *r, const op_json *json, const char *type)
{
    apr_size_t len;
    const char *text = op_json_write(r->pool, json, &len);

    ap_set_content_type(r, type);
    /* An answer for this user's studies only: no shared cache keeps it. */
    apr_table_setn(r->headers_out, "Cache-Control", "private, no-store");
    r->no_cache = 1;
    ap_set_content_length(r, len);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
    }
    return OK;
}

/* Whether QUERY asks for expanded items ("expand", not "=false" or "=0");
 * if so, *SHAPE is its arguments that shape them ("full", "short",
 * "simplify", "requestedTags") as the client wrote them, NULL if none. */
static int list_arguments(apr_pool_t *p, const char *query,
                          const char **shape)
{
    static const char *const SHAPES[] = {
        "full", "short", "simplify", "requestedTags", NULL
    };
    char *copy, *pair, *state;
    int expand = 0, i;

    *shape = NULL;
    if (query == NULL) {
        return 0;
    }
    copy = apr_pstrdup(p, query);
    for (pair = apr_strtok(copy, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        apr_size_t name = strcspn(pair, "=");
        if (strcmp(pair, "expand") == 0 || (strncmp(pair, "expand=", 7) == 0
                                            && strcmp(pair + 7, "false") != 0
                                            && strcmp(pair + 7, "0") != 0)) {
            expand = 1;
        }
        for (i = 0; SHAPES[i]; i++) {
            if (strlen(SHAPES[i]) == name
                && strncmp(pair, SHAPES[i], name) == 0) {
                *shape = *shape ? apr_pstrcat(p, *shape, "&", pair, NULL)
                                : pair;
            }
        }
    }
    if (!expand) {
        *shape = NULL;
    }
    return expand;
}

/* Sends the items of ITEMS (GET /COLLECTION?expand) that KEEP selects,
 * paged by PLAN, as the client asked for them: IDs, or resources in the
 * shape its arguments ask for (read again with them, and selected by
 * ID, so that the decision always reads the same shape). */
static int send_list(request_rec *r, op_request *req, op_studies_request *s,
                     const char *collection, const op_json *items,
                     const char *keep, const op_list_plan *plan)
{
    const char *shape;
    int expand = list_arguments(r->pool, r->args, &shape);

    if (shape) {
        apr_hash_t *kept = apr_hash_make(r->pool);
        int i;
        const char *path = apr_pstrcat(r->pool, "/", collection, "?expand&",
                                       shape, NULL), *err;
        op_json *shaped;
        char *shaped_keep;
        long status = 0;
        for (i = 0; i < items->items->nelts; i++) {
            const char *id = op_json_string_member(
                APR_ARRAY_IDX(items->items, i, const op_json *), "ID");
            if (keep[i] && id) {
                apr_hash_set(kept, id, APR_HASH_KEY_STRING, "");
            }
        }
        if ((err = op_studies_get_json(s->ask, path, &status, &shaped))
            != NULL) {
            return unavailable(r, req, err);
        }
        if (status != 200 || shaped->type != OP_JSON_ARRAY) {
            return status == 400
                   ? op_refuse(r, req, HTTP_BAD_REQUEST, "Orthanc refused "
                               "the list's arguments", RULE)
                   : unavailable(r, req, apr_psprintf(
                         r->pool, "GET %s: Orthanc answered %ld", path,
                         status));
        }
        shaped_keep = apr_pcalloc(r->pool, shaped->items->nelts + 1);
        for (i = 0; i < shaped->items->nelts; i++) {
            const char *id = op_json_string_member(
                APR_ARRAY_IDX(shaped->items, i, const op_json *), "ID");
            shaped_keep[i] = id && apr_hash_get(kept, id,
                                                APR_HASH_KEY_STRING);
        }
        items = shaped;
        keep = shaped_keep;
    }
    return send_json(r, op_json_select(r->pool, items, keep, plan->offset,
                                       plan->limit, !expand),
                     "application/json");
}

/* Every study, expanded, with whether the scope allows it, by ID. */
static const char *all_studies(request_rec *r, op_studies_request *s,
                               op_json **studies, apr_hash_t **allowed)
{
    const char *err;
    long status = 0;
    int i;

    if ((err = op_studies_get_json(s->ask, "/studies?expand", &status,
                                   studies)) != NULL) {
        return err;
    }
    if (status != 200 || (*studies)->type != OP_JSON_ARRAY) {
        return apr_psprintf(r->pool, "GET /studies?expand: Orthanc answered "
                            "%ld", status);
    }
    *allowed = apr_hash_make(r->pool);
    for (i = 0; i < (*studies)->items->nelts; i++) {
        const op_json *item = APR_ARRAY_IDX((*studies)->items, i,
                                            const op_json *);
        op_study_facts facts;
        /* A study that cannot be read is not shown: fail closed. */
        if (op_study_facts_read(r->pool, item, &facts) == NULL
            && op_study_scope_allows(&s->scope, &facts)) {
            apr_hash_set(*allowed, facts.id, APR_HASH_KEY_STRING, "");
        }
    }
    return NULL;
}

/* GET /studies: those the scope allows. */
static int list_studies(request_rec *r, op_request *req,
                        op_studies_request *s, const op_list_plan *plan)
{
    op_json *studies;
    apr_hash_t *allowed;
    const char *err = all_studies(r, s, &studies, &allowed);
    char *keep;
    int i;

    if (err) {
        return unavailable(r, req, err);
    }
    keep = apr_pcalloc(r->pool, studies->items->nelts + 1);
    for (i = 0; i < studies->items->nelts; i++) {
        const char *id = op_json_string_member(
            APR_ARRAY_IDX(studies->items, i, const op_json *), "ID");
        keep[i] = id && apr_hash_get(allowed, id, APR_HASH_KEY_STRING);
    }
    return send_list(r, req, s, "studies", studies, keep, plan);
}

/* Every resource of COLLECTION ("series", "instances"), expanded, in
 * *ITEMS; in *KEEP, whether its parent (its member PARENT) is one of
 * ALLOWED; in *KEPT, the IDs kept. */
static const char *children_of(request_rec *r, op_studies_request *s,
                               const char *collection, const char *parent,
                               apr_hash_t *allowed, op_json **items,
                               char **keep, apr_hash_t **kept)
{
    const char *path = apr_pstrcat(r->pool, "/", collection, "?expand", NULL);
    const char *err;
    long status = 0;
    int i;

    if ((err = op_studies_get_json(s->ask, path, &status, items)) != NULL) {
        return err;
    }
    if (status != 200 || (*items)->type != OP_JSON_ARRAY) {
        return apr_psprintf(r->pool, "GET %s: Orthanc answered %ld", path,
                            status);
    }
    *keep = apr_pcalloc(r->pool, (*items)->items->nelts + 1);
    *kept = apr_hash_make(r->pool);
    for (i = 0; i < (*items)->items->nelts; i++) {
        const op_json *item = APR_ARRAY_IDX((*items)->items, i,
                                            const op_json *);
        const char *id = op_json_string_member(item, "ID");
        const char *up = op_json_string_member(item, parent);
        if (id && up && apr_hash_get(allowed, up, APR_HASH_KEY_STRING)) {
            (*keep)[i] = 1;
            apr_hash_set(*kept, id, APR_HASH_KEY_STRING, "");
        }
    }
    return NULL;
}

/* GET /series, GET /instances: those of the studies the scope allows,
 * found by their parents (every study, then every series, read whole). */
static int list_below_studies(request_rec *r, op_request *req,
                              op_studies_request *s, const op_list_plan *plan)
{
    op_json *studies, *series, *instances;
    apr_hash_t *allowed, *series_kept, *instances_kept;
    char *series_keep, *instances_keep;
    const char *err = all_studies(r, s, &studies, &allowed);

    if (err == NULL) {
        err = children_of(r, s, "series", "ParentStudy", allowed, &series,
                          &series_keep, &series_kept);
    }
    if (err == NULL && s->refs.level == OP_RESOURCE_INSTANCE) {
        err = children_of(r, s, "instances", "ParentSeries", series_kept,
                          &instances, &instances_keep, &instances_kept);
    }
    if (err) {
        return unavailable(r, req, err);
    }
    if (s->refs.level == OP_RESOURCE_SERIES) {
        return send_list(r, req, s, "series", series, series_keep, plan);
    }
    return send_list(r, req, s, "instances", instances, instances_keep, plan);
}

/* GET /patients: those whose every study the scope allows (a patient's
 * answer names all of their studies). */
static int list_patients(request_rec *r, op_request *req,
                         op_studies_request *s, const op_list_plan *plan)
{
    op_json *studies, *patients;
    apr_hash_t *allowed;
    const char *err = all_studies(r, s, &studies, &allowed);
    long status = 0;
    char *keep;
    int i, j;

    if (err || (err = op_studies_get_json(s->ask, "/patients?expand",
                                          &status, &patients)) != NULL) {
        return unavailable(r, req, err);
    }
    if (status != 200 || patients->type != OP_JSON_ARRAY) {
        return unavailable(r, req, apr_psprintf(
            r->pool, "GET /patients?expand: Orthanc answered %ld", status));
    }
    keep = apr_pcalloc(r->pool, patients->items->nelts + 1);
    for (i = 0; i < patients->items->nelts; i++) {
        const op_json *list = op_json_member(
            APR_ARRAY_IDX(patients->items, i, const op_json *), "Studies");
        if (list == NULL || list->type != OP_JSON_ARRAY
            || list->items->nelts == 0) {
            continue;
        }
        keep[i] = 1;
        for (j = 0; j < list->items->nelts; j++) {
            const op_json *id = APR_ARRAY_IDX(list->items, j, const op_json *);
            if (id->type != OP_JSON_STRING
                || !apr_hash_get(allowed, id->text, APR_HASH_KEY_STRING)) {
                keep[i] = 0;
            }
        }
    }
    return send_list(r, req, s, "patients", patients, keep, plan);
}

/* RetrieveURL (0008,1190) as the plugin wrote it for the module's own
 * request, made public again: the proxy's scheme, host and prefix. */
static void fix_retrieve_url(request_rec *r, const op_request *req,
                             op_json *item)
{
    const op_json *attribute = op_json_member(item, "00081190");
    const op_json *values;
    const op_json *url;
    const char *tail;
    op_json *fixed, *array;

    if (attribute == NULL
        || (values = op_json_member(attribute, "Value")) == NULL
        || values->type != OP_JSON_ARRAY || values->items->nelts != 1
        || (url = APR_ARRAY_IDX(values->items, 0, const op_json *))->type
           != OP_JSON_STRING
        || (tail = strstr(url->text, "/dicom-web/")) == NULL) {
        op_json_remove(item, "00081190");
        return;
    }
    array = op_json_new(r->pool, OP_JSON_ARRAY);
    APR_ARRAY_PUSH(array->items, op_json *) = op_json_new_string(
        r->pool, apr_pstrcat(r->pool, ap_http_scheme(r), "://",
                             req->public_host,
                             req->mapping->prefix.prefix_bare, tail, NULL));
    fixed = op_json_new(r->pool, OP_JSON_OBJECT);
    op_json_set(r->pool, fixed, "vr", op_json_new_string(r->pool, "UR"));
    op_json_set(r->pool, fixed, "Value", array);
    op_json_set(r->pool, item, "00081190", fixed);
}

/* QIDO-RS over the whole archive (studies, series or instances): each
 * item checked by the studies of its StudyInstanceUID. */
static int qido(request_rec *r, op_request *req, op_studies_request *s)
{
    op_list_plan plan = op_qido_plan(r->pool, r->args, &s->scope);
    const char *path = apr_pstrcat(r->pool, "/dicom-web/",
                                   op_resource_collection(s->refs.level),
                                   NULL);
    apr_array_header_t *uids;
    const char *err;
    op_json *items;
    long status = 0;
    char *keep;
    int i;

    if (plan.error) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, plan.error, RULE);
    }
    if ((err = op_studies_get_json(s->ask, apr_pstrcat(
             r->pool, path, plan.query ? "?" : "",
             plan.query ? plan.query : "", NULL), &status, &items)) != NULL) {
        return unavailable(r, req, err);
    }
    if (status != 200 || items->type != OP_JSON_ARRAY) {
        return unavailable(r, req, apr_psprintf(
            r->pool, "QIDO-RS: Orthanc answered %ld", status));
    }
    uids = apr_array_make(r->pool, items->items->nelts + 1,
                          sizeof(const char *));
    for (i = 0; i < items->items->nelts; i++) {
        const char *uid, *patient;
        if (op_qido_item_study(APR_ARRAY_IDX(items->items, i, const op_json *),
                               &uid, &patient)) {
            APR_ARRAY_PUSH(uids, const char *) = uid;
        }
    }
    if ((err = op_studies_prefetch_uids(s->ask, uids)) != NULL) {
        return unavailable(r, req, err);
    }
    keep = apr_pcalloc(r->pool, items->items->nelts + 1);
    for (i = 0; i < items->items->nelts; i++) {
        op_json *item = APR_ARRAY_IDX(items->items, i, op_json *);
        const char *uid, *patient;
        apr_array_header_t *facts;
        int j;
        if (!op_qido_item_study(item, &uid, &patient)
            || !op_study_uid_is_valid(uid)) {
            continue;
        }
        if ((err = op_studies_of_uid(s->ask, uid, &facts)) != NULL) {
            return unavailable(r, req, err);
        }
        /* Every study with this UID must pass (the item may mix them). */
        keep[i] = facts->nelts > 0;
        for (j = 0; j < facts->nelts; j++) {
            if (!op_study_scope_allows(&s->scope, APR_ARRAY_IDX(
                    facts, j, const op_study_facts *))) {
                keep[i] = 0;
            }
        }
        if (keep[i]) {
            fix_retrieve_url(r, req, item);
        }
    }
    return send_json(r, op_json_select(r->pool, items, keep,
                                       plan.exact ? 0 : plan.offset,
                                       plan.exact ? 0 : plan.limit, 0),
                     "application/dicom+json");
}

/* Whether ITEM, a /tools/find answer's item at LEVEL (an expanded
 * resource, or its ID alone), reaches only studies the scope allows;
 * NULL, or why Orthanc could not be asked. */
static const char *find_item_allowed(request_rec *r, op_studies_request *s,
                                     op_resource_level level,
                                     const op_json *item, int *allowed)
{
    op_study_facts facts;
    const char *id;

    *allowed = 0;
    if (level == OP_RESOURCE_STUDY && item->type == OP_JSON_OBJECT
        && op_study_facts_read(r->pool, item, &facts) == NULL) {
        *allowed = op_study_scope_allows(&s->scope, &facts);
        return NULL;
    }
    /* Below the study, or shaped by "ResponseContent": checked by its
     * ID, as a request for the resource itself would be. */
    id = item->type == OP_JSON_STRING ? item->text
                                      : op_json_string_member(item, "ID");
    if (id == NULL || !op_orthanc_id_is_valid(id)) {
        return NULL;
    }
    return op_studies_resource_allowed(s, r->pool, level, id, allowed);
}

/* POST /tools/find: the scope added to the search where Orthanc can
 * apply it, every item checked (below the study, by the study it is
 * in).  COUNT: POST /tools/count-resources, answered with the number of
 * items kept, once Orthanc has accepted the search as it was sent (an
 * Orthanc before 1.12.5 does not know the route). */
static int find(request_rec *r, op_request *req, op_studies_request *s,
                int count)
{
    const char *body, *err;
    apr_size_t len;
    op_list_plan plan;
    op_json *items;
    long status = 0;
    char *keep;
    int rc, i, kept = 0;

    if ((rc = op_studies_read_body(r, &body, &len)) != OK) {
        return rc;
    }
    plan = op_find_plan(r->pool, body, len, &s->scope,
                        op_studies_has_labels(s->ask) == 1);
    if (count && plan.error == NULL) {
        if ((err = op_studies_post_json(s->ask, "/tools/count-resources",
                                        apr_pstrmemdup(r->pool, body, len),
                                        &status, &items)) != NULL) {
            return unavailable(r, req, err);
        }
        if (status != 200) {
            return op_refuse(r, req, status == 404 ? HTTP_NOT_FOUND
                             : HTTP_BAD_REQUEST, apr_psprintf(
                                 r->pool, "Orthanc answered %ld to the count",
                                 status), RULE);
        }
    }
    if (plan.error) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, plan.error, RULE);
    }
    if ((err = op_studies_post_json(s->ask, "/tools/find", plan.body,
                                    &status, &items)) != NULL) {
        return unavailable(r, req, err);
    }
    if (status == 400) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, "Orthanc refused the "
                         "search", RULE);
    }
    if (status != 200 || items->type != OP_JSON_ARRAY) {
        return unavailable(r, req, apr_psprintf(
            r->pool, "POST /tools/find: Orthanc answered %ld", status));
    }
    keep = apr_pcalloc(r->pool, items->items->nelts + 1);
    for (i = 0; i < items->items->nelts; i++) {
        int allowed;
        if ((err = find_item_allowed(r, s, plan.level, APR_ARRAY_IDX(
                 items->items, i, const op_json *), &allowed)) != NULL) {
            return unavailable(r, req, err);
        }
        keep[i] = (char)allowed;
        kept += allowed;
    }
    if (count) {
        op_json *answer = op_json_new(r->pool, OP_JSON_OBJECT);
        op_json_set(r->pool, answer, "Count",
                    op_json_new_integer(r->pool, kept));
        return send_json(r, answer, "application/json");
    }
    return send_json(r, op_json_select(r->pool, items, keep,
                                       plan.exact ? 0 : plan.offset,
                                       plan.exact ? 0 : plan.limit,
                                       plan.reduce_to_ids),
                     "application/json");
}

/* POST /tools/lookup: asked of Orthanc as the client asked it, and the
 * resources found kept when every study they reach is allowed. */
static int lookup(request_rec *r, op_request *req, op_studies_request *s)
{
    const char *body, *err;
    apr_size_t len;
    op_json *items;
    long status = 0;
    char *keep;
    int rc, i;

    if ((rc = op_studies_read_body(r, &body, &len)) != OK) {
        return rc;
    }
    if ((err = op_studies_post_json(s->ask, "/tools/lookup",
                                    apr_pstrmemdup(r->pool, body, len),
                                    &status, &items)) != NULL) {
        return unavailable(r, req, err);
    }
    if (status != 200 || items->type != OP_JSON_ARRAY) {
        return unavailable(r, req, apr_psprintf(
            r->pool, "POST /tools/lookup: Orthanc answered %ld", status));
    }
    keep = apr_pcalloc(r->pool, items->items->nelts + 1);
    for (i = 0; i < items->items->nelts; i++) {
        const op_json *item = APR_ARRAY_IDX(items->items, i, const op_json *);
        const char *id = op_json_string_member(item, "ID");
        const char *type = op_json_string_member(item, "Type");
        op_resource_level level = type ? op_resource_level_parse(type)
                                       : OP_RESOURCE_UNKNOWN;
        int allowed = 0;
        /* An item that cannot be read is not shown: fail closed. */
        if (id && op_orthanc_id_is_valid(id) && level != OP_RESOURCE_UNKNOWN
            && (err = op_studies_resource_allowed(s, r->pool, level, id,
                                                  &allowed)) != NULL) {
            return unavailable(r, req, err);
        }
        keep[i] = (char)allowed;
    }
    return send_json(r, op_json_select(r->pool, items, keep, 0, 0, 0),
                     "application/json");
}

/* A job a restricted user asked for, checked already: BODY sent to
 * Orthanc with R's method and path, and the job it started recorded for
 * OWNER (studies_jobs.h). */
static int start_job(request_rec *r, op_request *req, const char *body,
                     const char *owner)
{
    const char *path = apr_pstrcat(r->pool, req->backend_path,
                                   r->args ? "?" : "", r->args ? r->args : "",
                                   NULL);
    op_studies_ask *ask = op_studies_ask_make(r, 0);
    const char *err, *job;
    op_json *answer;
    long status = 0;

    if ((err = op_studies_post_json(ask, path, body, &status, &answer))
        != NULL) {
        return op_refuse(r, req, HTTP_SERVICE_UNAVAILABLE, apr_pstrcat(
            r->pool, "the job could not be started: ", err, NULL), RULE);
    }
    if (status != 200 || answer == NULL) {
        return op_refuse(r, req, status >= 400 && status < 500
                         ? (int)status : HTTP_BAD_GATEWAY, apr_psprintf(
                             r->pool, "Orthanc answered %ld to the job", status),
                         RULE);
    }
    job = op_json_string_member(answer, "ID");
    if (job == NULL || !op_studies_jobs_record(req->mapping, job, owner)) {
        /* Started, but nobody could be given its output: said so. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "OrthancProxyStudies: "
                      "job %s started by %s could not be recorded; it will be "
                      "refused", job ? job : "(no ID)",
                      r->user ? r->user : "-");
    }
    return send_json(r, answer, "application/json");
}

int op_studies_handler(request_rec *r)
{
    op_request *req;
    op_studies_request *s;
    op_list_plan plan;

    if (r->handler == NULL || strcmp(r->handler, OP_STUDIES_HANDLER) != 0
        || (req = op_request_get(r)) == NULL || (s = req->studies) == NULL) {
        return DECLINED;
    }
    if (s->job_body) {
        return start_job(r, req, s->job_body, s->scope.identity);
    }
    if (s->refs.kind == OP_REFS_QIDO) {
        return qido(r, req, s);
    }
    if (s->refs.kind == OP_REFS_FIND || s->refs.kind == OP_REFS_COUNT) {
        return find(r, req, s, s->refs.kind == OP_REFS_COUNT);
    }
    if (s->refs.kind == OP_REFS_LOOKUP) {
        return lookup(r, req, s);
    }
    plan = op_rest_list_plan(r->pool, r->args);
    if (plan.error) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, plan.error, RULE);
    }
    switch (s->refs.level) {
    case OP_RESOURCE_PATIENT:
        return list_patients(r, req, s, &plan);
    case OP_RESOURCE_STUDY:
        return list_studies(r, req, s, &plan);
    default:
        return list_below_studies(r, req, s, &plan);
    }
}
