/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cors.c - cross-origin access, for applications served from another origin.
 *
 *   OrthancProxyCORS https://viewer.hospital.local [more origins] | * | off
 *
 * Off unless set: the proxy's main use is the same origin.  Preflights are
 * answered here (Orthanc answers OPTIONS with 404) without authentication,
 * since browsers never send credentials with them, but after the host-based
 * Require lines, and only for a method the access decision would allow on
 * that path.  Responses to an allowed origin carry the CORS headers, errors
 * included, so that the application can read the JSON reason.  "*" never
 * goes with credentials.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "logic/access_rules.h"
#include "logic/cors_policy.h"
#include "cors.h"
#include "request_context.h"

#define PREFLIGHT_MAX_AGE "600"

const char *op_cmd_cors(cmd_parms *cmd, void *dconf, const char *args)
{
    op_dir_conf *conf = dconf;
    const char *word;
    int wildcard = 0;

    conf->cors_set = 1;
    conf->cors_origins = apr_array_make(cmd->pool, 2, sizeof(const char *));
    while (*(word = ap_getword_conf(cmd->pool, &args))) {
        const char *err;
        if (strcasecmp(word, "off") == 0 && conf->cors_origins->nelts == 0
            && *args == '\0') {
            conf->cors_origins = NULL;
            return NULL;
        }
        if ((err = op_cors_origin_check(cmd->pool, word)) != NULL) {
            return apr_pstrcat(cmd->pool, "OrthancProxyCORS: ", err, NULL);
        }
        wildcard |= strcmp(word, "*") == 0;
        APR_ARRAY_PUSH(conf->cors_origins, const char *) = word;
    }
    if (conf->cors_origins->nelts == 0) {
        return "OrthancProxyCORS needs origins, * or off";
    }
    if (wildcard && conf->cors_origins->nelts > 1) {
        return "OrthancProxyCORS: * stands alone (it never allows credentials)";
    }
    return NULL;
}

static void add_vary(request_rec *r, const char *field)
{
    const char *vary = apr_table_get(r->err_headers_out, "Vary");
    if (vary == NULL || !ap_find_token(r->pool, vary, field)) {
        apr_table_mergen(r->err_headers_out, "Vary", field);
    }
}

static const char *allowed_origin(const request_rec *r, const op_dir_conf *conf)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    return op_cors_origin_allowed(conf->cors_origins, origin) ? origin : NULL;
}

static int is_preflight(const request_rec *r)
{
    return strcmp(r->method, "OPTIONS") == 0
           && apr_table_get(r->headers_in, "Origin")
           && apr_table_get(r->headers_in, "Access-Control-Request-Method");
}

int op_cors_allows_preflight(const request_rec *r)
{
    return is_preflight(r) && allowed_origin(r, op_dir_conf_get(r)) != NULL;
}

/* Browsers send CORS preflights without credentials.  This runs after
 * mod_authz_core's own check of the Require lines that need no user: when
 * those deny (Require ip, host, env, all denied), the preflight was refused
 * before getting here.  It is reached only when the decision waits for a
 * user, and then lets the preflight through without authentication, as
 * credentials can never come with it.  Preflights say no more than the
 * configuration (op_cors_answer_preflight). */
int op_cors_admit_preflight(request_rec *r)
{
    const op_request *req = op_request_get(r);
    return req && req->action == OP_ACTION_PREFLIGHT ? OK : DECLINED;
}

void op_cors_add_response_headers(request_rec *r)
{
    const op_dir_conf *conf = op_dir_conf_get(r);
    const char *origin;

    if (conf->cors_origins == NULL) {
        return;
    }
    add_vary(r, "Origin");
    if ((origin = allowed_origin(r, conf)) == NULL) {
        return;
    }
    if (op_cors_is_wildcard(conf->cors_origins)) {
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", "*");
    }
    else {
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", origin);
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Credentials",
                       "true");
    }
}

static int is_method_name(const char *method)
{
    const char *c;
    for (c = method; *c; c++) {
        if (!apr_isupper(*c)) {
            return 0;
        }
    }
    return *method != '\0';
}

int op_cors_answer_preflight(request_rec *r, op_request *req)
{
    const op_dir_conf *conf = op_dir_conf_get(r);
    const char *method = apr_table_get(r->headers_in,
                                       "Access-Control-Request-Method");
    const char *headers = apr_table_get(r->headers_in,
                                        "Access-Control-Request-Headers");
    const char *refused;
    op_decision decision;

    op_cors_add_response_headers(r);
    add_vary(r, "Access-Control-Request-Method");
    add_vary(r, "Access-Control-Request-Headers");
    if (!is_method_name(method)) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, apr_psprintf(r->pool,
                         "'%s' is not a method", method), NULL);
    }
    decision = op_decide(r->pool, conf->level, conf->rules, method, &req->path,
                         req->mapping->prefix.path.segments->nelts);
    if (!decision.allowed) {
        return op_refuse(r, req, HTTP_FORBIDDEN, decision.reason, decision.rule);
    }
    refused = op_cors_refused_header(r->pool, headers, conf->user_header);
    if (refused) {
        return op_refuse(r, req, HTTP_FORBIDDEN, apr_psprintf(r->pool,
                         "a cross-origin request may not send the header %s",
                         refused), NULL);
    }
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods", method);
    if (headers && *headers) {
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                       headers);
    }
    apr_table_setn(r->err_headers_out, "Access-Control-Max-Age",
                   PREFLIGHT_MAX_AGE);
    r->status = HTTP_NO_CONTENT;
    return OK;
}
