/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authz_provider.c - "Require orthanc-access LEVEL": the access levels as an
 * authorization provider of mod_authz_core.
 *
 *   <RequireAll>
 *       Require group radiologists
 *       Require orthanc-access modify
 *   </RequireAll>
 *
 * The line is satisfied when the request needs at most LEVEL: the same
 * decision as OrthancProxyAccess LEVEL (logic/access_rules.c), on the same
 * canonical path and effective method (translate.c), with the location's
 * OrthancProxyAllow and OrthancProxyDeny rules.  It depends on the request
 * only, never on the user, so mod_authz_core can evaluate it before
 * authentication: a request no branch could ever admit is refused at once.
 *
 * mod_authz_core evaluates it in every <RequireAny> branch it reaches, once
 * without a user and once more after authentication; a "no" in one branch
 * does not refuse the request.  So a denial is only noted here (the highest
 * level that said no, in the current phase), and becomes the module's
 * refusal - the JSON reason and one log line - only when Apache's
 * authorization has refused the request in that same phase.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_provider.h>
#include <mod_auth.h>
#include <apr_strings.h>

#include "logic/access_rules.h"
#include "logic/route_table.h"
#include "authz_provider.h"
#include "request_context.h"

APLOG_USE_MODULE(orthanc_proxy);

/* The Require line that said no with the highest level, and the phase it
 * said it in. */
struct op_authz_denial {
    int after_login;        /* evaluated with an authenticated user */
    op_level level;         /* the level of that Require line */
    op_decision decision;   /* its reason and rule */
};

static const char *parse_level(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    const char *args = line;
    const char *word = ap_getword_conf(cmd->temp_pool, &args);
    op_level *level;

    if (*word == '\0' || *args != '\0') {
        return "Require " OP_AUTHZ_PROVIDER " takes one level: read, upload, "
               "modify or admin";
    }
    level = apr_palloc(cmd->pool, sizeof(*level));
    *level = op_level_parse(word);
    if (*level == OP_LEVEL_UNSET) {
        return apr_psprintf(cmd->pool, "Require " OP_AUTHZ_PROVIDER ": '%s' "
                            "is not a level; use read, upload, modify or "
                            "admin", word);
    }
    *parsed = level;
    return NULL;
}

/* A CORS preflight asks whether the method it names may be sent: that
 * method is decided, as the preflight's own answer does (cors.c). */
static const char *decided_method(const request_rec *r, const op_request *req)
{
    const char *asked;

    if (req->action == OP_ACTION_PREFLIGHT
        && (asked = apr_table_get(r->headers_in,
                                  "Access-Control-Request-Method")) != NULL) {
        return asked;
    }
    return r->method;
}

static void note_denial(request_rec *r, op_request *req, op_level level,
                        const op_decision *decision)
{
    struct op_authz_denial *denial = req->authz_denial;
    int after_login = r->user != NULL;

    if (denial == NULL) {
        denial = req->authz_denial = apr_pcalloc(r->pool, sizeof(*denial));
    }
    else if (denial->after_login == after_login && denial->level >= level) {
        return;
    }
    denial->after_login = after_login;
    denial->level = level;
    denial->decision = *decision;
}

static authz_status check_level(request_rec *r, const char *line,
                                const void *parsed)
{
    const op_level *level = parsed;
    op_request *req = op_request_get(r);
    const op_dir_conf *conf;
    op_decision decision;

    if (req == NULL) {
        /* Nothing to decide on: fail closed, and say why. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "Require "
                      OP_AUTHZ_PROVIDER " %s applies only below an "
                      "OrthancProxy prefix; %s is not: refused", line,
                      ap_escape_logitem(r->pool, r->uri));
        return AUTHZ_DENIED;
    }
    conf = op_dir_conf_get(r);
    decision = op_decide_require(r->pool, *level, conf->rules,
                                 decided_method(r, req), &req->path,
                                 req->mapping->prefix.path.segments->nelts);
    if (decision.allowed) {
        return AUTHZ_GRANTED;
    }
    note_denial(r, req, *level, &decision);
    return AUTHZ_DENIED;
}

static const authz_provider orthanc_access_provider = {
    check_level,
    parse_level
};

/* The fixups run only once Apache's access control let the request in. */
static int note_admission(request_rec *r)
{
    op_request *req = op_request_get(r);
    if (req) {
        req->admitted = 1;
    }
    return DECLINED;
}

/* When Apache's authorization refused the request in the phase where a
 * Require orthanc-access line said no, that line's reason is the
 * refusal's.  Authorization refuses with 403 before authentication, and
 * with 401 or 403 (AuthzSendForbiddenOnFailure) after it; a 401 without
 * an authenticated user is authentication's own. */
static void adopt_denial(request_rec *r)
{
    op_request *req = op_request_get(r);
    const struct op_authz_denial *denial;
    int after_login = r->user != NULL;

    if (req == NULL || req->reason != NULL || req->admitted
        || (denial = req->authz_denial) == NULL
        || denial->after_login != after_login
        || !(r->status == HTTP_FORBIDDEN
             || (r->status == HTTP_UNAUTHORIZED && after_login))) {
        return;
    }
    op_refuse(r, req, r->status, denial->decision.reason,
              denial->decision.rule);
}

/* Before the JSON error body is made (error_response.c). */
static void adopt_denial_for_error_body(request_rec *r)
{
    adopt_denial(r);
}

/* For a refusal whose body an ErrorDocument URL replaced: the log line. */
static int adopt_denial_for_log(request_rec *r)
{
    adopt_denial(r);
    return DECLINED;
}

void op_register_authz_provider(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, OP_AUTHZ_PROVIDER,
                              AUTHZ_PROVIDER_VERSION, &orthanc_access_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(note_admission, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_insert_error_filter(adopt_denial_for_error_body, NULL, NULL,
                                APR_HOOK_FIRST);
    ap_hook_log_transaction(adopt_denial_for_log, NULL, NULL,
                            APR_HOOK_FIRST);
}
