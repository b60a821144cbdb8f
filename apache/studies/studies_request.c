/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_request.c - OrthancProxyStudies' decision on each request (see
 * studies_request.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <ap_expr.h>
#include <mod_auth.h>
#include <apr_strings.h>

#include "logic/json_read.h"
#include "logic/json_write.h"
#include "logic/query_reading.h"
#include "logic/study_refs.h"
#include "logic/study_rules.h"
#include "apache/request_context.h"
#include "studies_body.h"
#include "studies_config.h"
#include "studies_jobs.h"
#include "studies_lookup.h"
#include "studies_request.h"

APLOG_USE_MODULE(orthanc_proxy);

#define RULE "OrthancProxyStudies"

/* ------------------------------------------------------------ the scope */

/* Whether LINE's condition holds for R: its provider asked as
 * mod_authz_core asks it for a Require line (with the user Apache
 * authenticated), "not" inverting a clear answer only. */
static int condition_holds(request_rec *r, const op_studies_line *line)
{
    authz_status status = line->provider->check_authorization(
        r, line->require_args, line->parsed);

    if (status == AUTHZ_GRANTED) {
        return !line->negate;
    }
    if (status == AUTHZ_DENIED || status == AUTHZ_DENIED_NO_USER) {
        return line->negate;
    }
    /* Neutral, or the provider failed: the line does not apply. */
    return 0;
}

/* The terms of LINE for R (its %{...} expanded); NULL when the line can
 * match no study for this request (an expansion that is empty or would
 * widen the match), *WHY then says why. */
static apr_array_header_t *terms_of(request_rec *r, const op_studies_line *line,
                                    const char **why)
{
    apr_array_header_t *terms = apr_array_make(r->pool, line->filters->nelts,
                                               sizeof(op_study_term));
    int i, next_expression = 0;

    for (i = 0; i < line->filters->nelts; i++) {
        const op_study_filter *filter = &APR_ARRAY_IDX(line->filters, i,
                                                       op_study_filter);
        int count = 0, j;
        const char **expanded;
        op_study_term *term;

        for (j = 0; filter->parts && j < filter->parts->nelts; j++) {
            count += APR_ARRAY_IDX(filter->parts, j, op_value_part).variable;
        }
        expanded = apr_pcalloc(r->pool, sizeof(char *) * (count + 1));
        for (j = 0; j < count; j++) {
            const ap_expr_info_t *expr = APR_ARRAY_IDX(
                line->expressions, next_expression++, const ap_expr_info_t *);
            const char *err = NULL;
            expanded[j] = ap_expr_str_exec(r, expr, &err);
            if (err || expanded[j] == NULL) {
                *why = apr_psprintf(r->pool, "%s: %s", filter->written,
                                    err ? err : "no value");
                return NULL;
            }
        }
        term = apr_array_push(terms);
        if ((*why = op_study_filter_expand(r->pool, filter, expanded, term))
            != NULL) {
            return NULL;
        }
    }
    return terms;
}

/* What R's user may see under LINES (op_studies_line *). */
static void scope_of(request_rec *r, const apr_array_header_t *lines,
                     op_study_scope *scope)
{
    int i;

    op_study_scope_init(r->pool, scope);
    for (i = 0; i < lines->nelts; i++) {
        const op_studies_line *line = APR_ARRAY_IDX(lines, i,
                                                    const op_studies_line *);
        apr_array_header_t *terms;
        const char *why = NULL;

        if (!condition_holds(r, line)) {
            continue;
        }
        if (line->none) {
            /* A veto: nothing, whatever the other lines say. */
            op_study_scope_none(scope);
            break;
        }
        if (line->all) {
            op_study_scope_everything(scope);
            continue;
        }
        if ((terms = terms_of(r, line, &why)) == NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RULE " at %s matches "
                          "no study for user %s: %s", line->defined_at,
                          r->user ? r->user : "-", why);
            continue;
        }
        op_study_scope_add(scope, terms);
    }
    op_study_scope_finish(r->pool, scope);
}

/* ------------------------------------------------------------ decisions */

static int refuse(request_rec *r, op_request *req, const char *reason)
{
    return op_refuse(r, req, HTTP_FORBIDDEN, reason, RULE);
}

/* Orthanc could not say: the decision cannot be taken. */
static int unavailable(request_rec *r, op_request *req, const char *err)
{
    return op_refuse(r, req, HTTP_SERVICE_UNAVAILABLE, apr_pstrcat(
        r->pool, "the study of this request could not be looked up: ", err,
        NULL), RULE);
}

/* Whether every study of FACTS (op_study_facts *, at least one) passes. */
static int all_allowed(const op_study_scope *scope,
                       const apr_array_header_t *facts)
{
    int i;

    if (facts == NULL || facts->nelts == 0) {
        return 0;
    }
    for (i = 0; i < facts->nelts; i++) {
        if (!op_study_scope_allows(scope, APR_ARRAY_IDX(
                facts, i, const op_study_facts *))) {
            return 0;
        }
    }
    return 1;
}

/* The facts of the studies (Orthanc IDs) IDS, into *FACTS. */
static const char *facts_of(op_studies_ask *a, apr_pool_t *p,
                            const apr_array_header_t *ids,
                            apr_array_header_t **facts)
{
    int i;

    *facts = apr_array_make(p, ids ? ids->nelts : 1,
                            sizeof(const op_study_facts *));
    for (i = 0; ids && i < ids->nelts; i++) {
        const op_study_facts *f;
        const char *err = op_studies_facts(a, APR_ARRAY_IDX(ids, i,
                                                            const char *), &f);
        if (err) {
            return err;
        }
        if (f == NULL) {
            /* Gone meanwhile: nothing to attribute it to. */
            *facts = NULL;
            return NULL;
        }
        APR_ARRAY_PUSH(*facts, const op_study_facts *) = f;
    }
    return NULL;
}

/* The studies a resource of the path reaches, into *FACTS (NULL when
 * Orthanc has no such resource). */
static const char *resource_studies(op_studies_request *s, apr_pool_t *p,
                                    op_resource_level level, const char *id,
                                    int patient_wide,
                                    apr_array_header_t **facts)
{
    const char *err, *study;
    apr_array_header_t *ids;

    *facts = NULL;
    if (level == OP_RESOURCE_UNKNOWN
        && (err = op_studies_level_of(s->ask, id, &level)) != NULL) {
        return err;
    }
    if (level == OP_RESOURCE_PATIENT) {
        if ((err = op_studies_of_patient(s->ask, id, &ids)) != NULL) {
            return err;
        }
        return ids ? facts_of(s->ask, p, ids, facts) : NULL;
    }
    if ((err = op_studies_study_of(s->ask, level, id, &study)) != NULL) {
        return err;
    }
    if (study == NULL) {
        return NULL;
    }
    ids = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(ids, const char *) = study;
    if ((err = facts_of(s->ask, p, ids, facts)) != NULL || *facts == NULL) {
        return err;
    }
    if (patient_wide) {
        /* The answer shows the patient, with every study of theirs. */
        const op_study_facts *f = APR_ARRAY_IDX(*facts, 0,
                                                const op_study_facts *);
        if (f->patient == NULL) {
            *facts = NULL;
            return NULL;
        }
        if ((err = op_studies_of_patient(s->ask, f->patient, &ids)) != NULL) {
            return err;
        }
        return ids ? facts_of(s->ask, p, ids, facts) : (*facts = NULL, NULL);
    }
    return NULL;
}

const char *op_studies_resource_allowed(op_studies_request *s, apr_pool_t *p,
                                        op_resource_level level,
                                        const char *id, int *allowed)
{
    apr_array_header_t *facts;
    const char *err = resource_studies(s, p, level, id, 0, &facts);

    *allowed = err == NULL && all_allowed(&s->scope, facts);
    return err;
}

/* The one value of argument NAME in QUERY (WADO-URI) as every Orthanc
 * release reads the query (logic/query_reading.h: an encoded '&' or '='
 * makes arguments appear on some); NULL when it is absent, repeated or
 * not the same in every reading. */
static const char *single_argument(apr_pool_t *p, const char *query,
                                   const char *name)
{
    const char *found = NULL;
    int reading, i;

    if (query == NULL) {
        return NULL;
    }
    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        apr_array_header_t *args = op_query_arguments(p, query, reading);
        const char *here = NULL;
        for (i = 0; i < args->nelts; i++) {
            const op_query_argument *arg = &APR_ARRAY_IDX(args, i,
                                                          op_query_argument);
            /* Any case counts: a reader that folds it must not find a
             * second one. */
            if (arg->name_length != strlen(name)
                || strncasecmp(arg->name, name, arg->name_length) != 0) {
                continue;
            }
            if (here) {
                return NULL;
            }
            here = arg->value;
        }
        if (here == NULL || (found && strcmp(found, here) != 0)) {
            return NULL;
        }
        found = here;
    }
    return found;
}

/* WADO-URI: the instance objectUID names decides (the plugin finds the
 * instance by it); each instance with that UID must be visible. */
static const char *wado_uri_studies(request_rec *r, op_studies_request *s,
                                    apr_array_header_t **facts)
{
    const char *uid = single_argument(r->pool, r->args, "objectUID"), *err;
    apr_array_header_t *instances, *studies;
    int i;

    *facts = NULL;
    if (uid == NULL || !op_study_uid_is_valid(uid)) {
        return NULL;
    }
    if ((err = op_studies_instances_of_uid(s->ask, uid, &instances)) != NULL) {
        return err;
    }
    studies = apr_array_make(r->pool, 1, sizeof(const char *));
    for (i = 0; i < instances->nelts; i++) {
        const char *study;
        if ((err = op_studies_study_of(s->ask, OP_RESOURCE_INSTANCE,
                                       APR_ARRAY_IDX(instances, i,
                                                     const char *), &study))
            != NULL) {
            return err;
        }
        if (study == NULL) {
            return NULL;
        }
        APR_ARRAY_PUSH(studies, const char *) = study;
    }
    return studies->nelts ? facts_of(s->ask, r->pool, studies, facts) : NULL;
}

/* Changes that could move a study into or out of someone's scope. */
static int changes_scope(const op_study_refs *refs, const char *method)
{
    return refs->label != NULL || refs->body == OP_BODY_CHANGES
           || refs->body == OP_BODY_MERGE || refs->body == OP_BODY_SPLIT
           || (strcmp(refs->family, "metadata") == 0
               && strcmp(method, "GET") != 0);
}

/* One study, one patient or a few UIDs: checked now. */
static int check_reached(request_rec *r, op_request *req,
                         op_studies_request *s)
{
    apr_array_header_t *facts = NULL;
    const char *err = NULL;

    switch (s->refs.kind) {
    case OP_REFS_RESOURCE:
        err = resource_studies(s, r->pool, s->refs.level, s->refs.id,
                               s->refs.patient_wide, &facts);
        break;
    case OP_REFS_DICOMWEB:
        /* The plugin finds the series and instance below the study it
         * names, so the study decides. */
        err = op_studies_of_uid(s->ask, s->refs.study_uid, &facts);
        break;
    case OP_REFS_WADO_URI:
        err = wado_uri_studies(r, s, &facts);
        break;
    default:
        return refuse(r, req, "not attributed");
    }
    if (err) {
        return unavailable(r, req, err);
    }
    if (!all_allowed(&s->scope, facts)) {
        /* Unknown and forbidden alike: the answer says nothing of what
         * exists. */
        return refuse(r, req, apr_psprintf(
            r->pool, "%s is not a study %s may see", s->refs.kind
            == OP_REFS_WADO_URI ? "the object" : "the resource",
            r->user ? r->user : "this user"));
    }
    return OK;
}

/* Whether JSON, a request's body, asks for a job ("Asynchronous"). */
static int asks_for_job(const op_json *json)
{
    const op_json *async = json && json->type == OP_JSON_OBJECT
                           ? op_json_member(json, "Asynchronous") : NULL;

    return async != NULL && async->type != OP_JSON_FALSE;
}

/* The Orthanc IDs a body of resources names: a JSON array of them, or an
 * object whose "Resources" is one (archives, media, bulk calls); NULL and
 * *WHY when the body is anything else.  *JOB: it asks for a job. */
static apr_array_header_t *ids_of_body(apr_pool_t *p, const char *body,
                                       apr_size_t len, const char **why,
                                       int *job)
{
    const op_json *list;
    apr_array_header_t *ids;
    op_json *json;
    int i;

    if ((*why = op_json_parse(p, body, len, &json)) != NULL) {
        return NULL;
    }
    *why = "the body must be a list of Orthanc IDs, or an object with "
           "\"Resources\" (each name once)";
    if (op_json_has_repeated_names(json)) {
        return NULL;
    }
    list = json->type == OP_JSON_ARRAY ? json
                                       : op_json_member(json, "Resources");
    if (list == NULL || list->type != OP_JSON_ARRAY) {
        return NULL;
    }
    *job = asks_for_job(json);
    ids = apr_array_make(p, list->items->nelts + 1, sizeof(const char *));
    for (i = 0; i < list->items->nelts; i++) {
        const op_json *item = APR_ARRAY_IDX(list->items, i, const op_json *);
        if (item->type != OP_JSON_STRING
            || !op_orthanc_id_is_valid(item->text)) {
            *why = "an item of the body is not an Orthanc ID";
            return NULL;
        }
        APR_ARRAY_PUSH(ids, const char *) = item->text;
    }
    *why = NULL;
    return ids;
}

/* The Orthanc IDs of the "resources" argument of a GET (archives and
 * media: "ID,ID,..."), read once and alike by every release; NULL and
 * *WHY otherwise. */
static apr_array_header_t *ids_of_query(request_rec *r, const char **why)
{
    const char *list = single_argument(r->pool, r->args, "resources");
    apr_array_header_t *ids = apr_array_make(r->pool, 4, sizeof(const char *));
    char *copy, *state = NULL, *id;

    if (list == NULL) {
        *why = "the query string must name its resources once "
               "(resources=ID,ID...)";
        return NULL;
    }
    copy = apr_pstrdup(r->pool, list);
    for (id = apr_strtok(copy, ",", &state); id;
         id = apr_strtok(NULL, ",", &state)) {
        if (!op_orthanc_id_is_valid(id)) {
            *why = apr_psprintf(r->pool, "'%s' in resources= is not an "
                                "Orthanc ID", id);
            return NULL;
        }
        APR_ARRAY_PUSH(ids, const char *) = id;
    }
    if (ids->nelts == 0) {
        *why = "resources= names no resource";
        return NULL;
    }
    return ids;
}

/* R, checked, starts a job: the handler sends BODY to Orthanc itself and
 * records the job for the user's scope (studies_jobs.h). */
static int start_job_here(request_rec *r, op_request *req,
                          op_studies_request *s, const char *body,
                          apr_size_t len)
{
    if (req->mapping->job_owners == NULL) {
        return refuse(r, req, "jobs of users restricted to some studies need "
                      "mod_slotmem_shm (a2enmod slotmem_shm), to record "
                      "whose they are");
    }
    s->job_body = apr_pstrmemdup(r->pool, body, len);
    req->answer_per_scope = 1;
    r->handler = OP_STUDIES_HANDLER;
    return OK;
}

/* The body of a POST to a resource that may start a job (its archive,
 * its media): a job is started here, anything else forwarded. */
static int forward_or_start_job(request_rec *r, op_request *req,
                                op_studies_request *s)
{
    const char *body;
    apr_size_t len;
    op_json *json;
    int rc;

    if ((rc = op_studies_read_body(r, &body, &len)) != OK) {
        return rc;
    }
    if (op_json_parse(r->pool, body, len, &json) == NULL
        && asks_for_job(json)) {
        return start_job_here(r, req, s, body, len);
    }
    op_studies_forward_body(r, body, len);
    return OK;
}

/* A body (or a GET's "resources=") naming resources: every one of them
 * checked, a body then forwarded from memory as it was read, or sent by
 * the handler when it starts a job. */
static int check_body(request_rec *r, op_request *req, op_studies_request *s)
{
    const char *body = NULL, *why;
    apr_array_header_t *ids;
    apr_size_t len = 0;
    int get = s->refs.body == OP_BODY_QUERY, job = 0, rc, i;

    if (!get && (rc = op_studies_read_body(r, &body, &len)) != OK) {
        return rc;
    }
    ids = get ? ids_of_query(r, &why)
              : ids_of_body(r->pool, body, len, &why, &job);
    if (ids == NULL) {
        return refuse(r, req, apr_pstrcat(r->pool, "a user restricted to some "
                      "studies: ", why, NULL));
    }
    for (i = 0; i < ids->nelts; i++) {
        apr_array_header_t *facts;
        const char *err;
        if ((err = resource_studies(s, r->pool, OP_RESOURCE_UNKNOWN,
                                    APR_ARRAY_IDX(ids, i, const char *), 0,
                                    &facts)) != NULL) {
            return unavailable(r, req, err);
        }
        if (!all_allowed(&s->scope, facts)) {
            return refuse(r, req, apr_psprintf(
                r->pool, "the request names a resource that is not a study %s "
                "may see", r->user ? r->user : "this user"));
        }
    }
    if (job) {
        return start_job_here(r, req, s, body, len);
    }
    if (!get) {
        op_studies_forward_body(r, body, len);
    }
    return OK;
}

int op_studies_decide(request_rec *r)
{
    op_request *req = op_request_get(r);
    const op_dir_conf *conf;
    op_studies_request *s;

    if (req == NULL || req->action != OP_ACTION_PROXY
        || r->proxyreq != PROXYREQ_REVERSE || req->reason != NULL
        || (conf = op_dir_conf_get(r))->studies == NULL) {
        return DECLINED;
    }
    s = apr_pcalloc(r->pool, sizeof(*s));
    scope_of(r, conf->studies, &s->scope);
    if (s->scope.all) {
        return DECLINED;
    }
    req->studies = s;
    s->ask = op_studies_ask_make(r, s->scope.uses_labels);
    s->refs = op_study_refs_classify(r->pool, r->method, &req->path,
                                     req->mapping->prefix.path.segments->nelts);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, RULE ": user %s, scope %s, "
                  "route family %s", r->user ? r->user : "-",
                  s->scope.identity ? s->scope.identity : "-",
                  s->refs.family ? s->refs.family : "-");
    if (changes_scope(&s->refs, r->method) && conf->level != OP_LEVEL_ADMIN) {
        return refuse(r, req, "a user restricted to some studies may change "
                      "labels, metadata or attributes only with "
                      "OrthancProxyAccess admin");
    }
    if (s->refs.body == OP_BODY_MERGE || s->refs.body == OP_BODY_SPLIT) {
        /* Their bodies name series and instances of other studies, not
         * read yet. */
        return refuse(r, req, "a user restricted to some studies cannot "
                      "merge or split studies yet");
    }
    switch (s->refs.kind) {
    case OP_REFS_NEUTRAL:
        return DECLINED;
    case OP_REFS_RESOURCE:
    case OP_REFS_DICOMWEB:
    case OP_REFS_WADO_URI: {
        int rc = check_reached(r, req, s);
        if (rc == OK && s->refs.may_start_job
            && strcmp(r->method, "POST") == 0) {
            rc = forward_or_start_job(r, req, s);
        }
        return rc == OK ? DECLINED : rc;
    }
    case OP_REFS_JOB:
        /* Its resources were checked against the scope of the user who
         * started it. */
        if (op_studies_jobs_owned(req->mapping, s->refs.job,
                                  s->scope.identity)) {
            return DECLINED;
        }
        return refuse(r, req, "the job was not started by a user who may "
                      "see the same studies (or Apache restarted since)");
    case OP_REFS_LIST:
        if (s->refs.level == OP_RESOURCE_UNKNOWN) {
            break;
        }
        /* Fall through. */
    case OP_REFS_QIDO:
        if (s->refs.kind == OP_REFS_QIDO
            && s->refs.level != OP_RESOURCE_STUDY
            && s->refs.level != OP_RESOURCE_SERIES
            && s->refs.level != OP_RESOURCE_INSTANCE) {
            break;
        }
        if (strcmp(r->method, "GET") != 0) {
            break;
        }
        /* Fall through. */
    case OP_REFS_FIND:
    case OP_REFS_COUNT:
    case OP_REFS_LOOKUP:
        if (s->refs.kind != OP_REFS_LIST && s->refs.kind != OP_REFS_QIDO
            && strcmp(r->method, "POST") != 0) {
            break;
        }
        /* Answered here, filtered, never from or to the cache. */
        req->answer_per_scope = 1;
        r->handler = OP_STUDIES_HANDLER;
        return DECLINED;
    case OP_REFS_BODY:
        if (s->refs.body == OP_BODY_RESOURCES
            || s->refs.body == OP_BODY_QUERY) {
            int rc = check_body(r, req, s);
            return rc == OK ? DECLINED : rc;
        }
        break;
    case OP_REFS_REFUSED:
        return refuse(r, req, apr_pstrcat(r->pool, "a user restricted to some "
                      "studies cannot use this route: ", s->refs.why
                      ? s->refs.why : "it is not attributed to a study",
                      NULL));
    default:
        break;
    }
    /* Searches other than the study lists, bodies naming resources, jobs,
     * uploads: not attributed yet, so refused (fail closed). */
    return refuse(r, req, apr_psprintf(r->pool, "a user restricted to some "
                  "studies cannot use this route yet (%s)",
                  s->refs.family ? s->refs.family : "unknown route"));
}
