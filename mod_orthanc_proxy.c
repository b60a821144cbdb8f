/*
 * mod_orthanc_proxy.c - branch Orthanc's REST API into Apache under a prefix.
 *
 * The Apache adapter: configuration records and directives, and the request
 * hooks that own a mapped URI:
 *
 *   pre_translate_name  read the path as Orthanc will (path_canon.c), pick
 *                       the mapping, work out the method Orthanc will run
 *   translate_name      hand the request to mod_proxy on the worker defined
 *                       at configuration time, or to the local handler
 *   check_access_ex     let CORS preflights through without authentication
 *   fixups              last checks after authentication, then prepare the
 *                       forwarding (HEAD, body limit, Expect, response filter)
 *   handler             the "/prefix" -> "/prefix/" redirect, CORS preflights
 *
 * mod_proxy does the proxying itself; proxy_bridge.c is the only part that
 * knows its structures, and nothing here links against its symbols, so the
 * module loads before or after mod_proxy.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "orthanc_proxy.h"
#include "directive_args.h"
#include "forward_headers.h"
#include "method_override.h"
#include "path_canon.h"


/* ------------------------------------------------------------------------
 * Configuration
 */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    op_server_conf *conf = apr_pcalloc(p, sizeof(*conf));
    conf->mappings = apr_array_make(p, 2, sizeof(op_mapping *));
    return conf;
}

static void *merge_server_conf(apr_pool_t *p, void *base_conf, void *add_conf)
{
    const op_server_conf *base = base_conf, *add = add_conf;
    op_server_conf *conf = apr_pcalloc(p, sizeof(*conf));
    /* A virtual host's own mappings come first and win a tie. */
    conf->mappings = apr_array_append(p, add->mappings, base->mappings);
    return conf;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    op_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));
    conf->level = OP_LEVEL_UNSET;
    conf->rules = apr_array_make(p, 2, sizeof(op_rule));
    conf->encoded_body = -1;
    return conf;
}

static void *merge_dir_conf(apr_pool_t *p, void *base_conf, void *add_conf)
{
    const op_dir_conf *base = base_conf, *add = add_conf;
    op_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->level = add->level != OP_LEVEL_UNSET ? add->level : base->level;
    /* Rules add up: an inner section cannot lift an outer Deny. */
    conf->rules = apr_array_append(p, base->rules, add->rules);
    conf->credentials_set = add->credentials_set || base->credentials_set;
    conf->authorization = add->credentials_set ? add->authorization
                                               : base->authorization;
    conf->credentials_user = add->credentials_set ? add->credentials_user
                                                  : base->credentials_user;
    conf->user_header_set = add->user_header_set || base->user_header_set;
    conf->user_header = add->user_header_set ? add->user_header
                                             : base->user_header;
    conf->encoded_body = add->encoded_body != -1 ? add->encoded_body
                                                 : base->encoded_body;
    conf->cors_set = add->cors_set || base->cors_set;
    conf->cors_origins = add->cors_set ? add->cors_origins : base->cors_origins;
    return conf;
}

const op_dir_conf *op_dir_conf_get(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &orthanc_proxy_module);
}

static op_server_conf *server_conf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &orthanc_proxy_module);
}

/* Inside <Location PREFIX> only: not <LocationMatch>, <Location ~>, <If>. */
static const char *check_location_section(cmd_parms *cmd)
{
    const ap_directive_t *section = cmd->directive->parent;

    if (section == NULL || strcasecmp(section->directive, "<Location") != 0
        || section->args[0] == '~') {
        return "OrthancProxy URL belongs in a <Location /prefix/> section; "
               "elsewhere write OrthancProxy /prefix/ URL";
    }
    return NULL;
}

static const char *check_worker_params(cmd_parms *cmd, const char *params)
{
    const char *word;

    while (*(word = ap_getword_conf(cmd->temp_pool, &params))) {
        const char *err = op_check_worker_param(cmd->temp_pool, word);
        if (err) {
            return err;
        }
    }
    return NULL;
}

static const char *check_new_prefix(cmd_parms *cmd, const op_server_conf *conf,
                                    const op_mapping *mapping)
{
    int i;

    for (i = 0; i < conf->mappings->nelts; i++) {
        const op_mapping *other = APR_ARRAY_IDX(conf->mappings, i,
                                                const op_mapping *);
        if (strcmp(other->prefix.prefix, mapping->prefix.prefix) == 0) {
            return apr_psprintf(cmd->pool, "the prefix %s is already mapped "
                                "(at %s)", mapping->prefix.prefix,
                                other->defined_at);
        }
    }
    return NULL;
}

/* OrthancProxy PREFIX URL [key=value ...]   (server, virtual host)
 * OrthancProxy URL [key=value ...]          (inside <Location PREFIX>) */
static const char *cmd_orthanc_proxy(cmd_parms *cmd, void *dconf,
                                     const char *args)
{
    op_server_conf *conf = server_conf(cmd->server);
    op_mapping *mapping = apr_pcalloc(cmd->pool, sizeof(*mapping));
    const char *prefix, *url, *err;

    err = ap_check_cmd_context(cmd, NOT_IN_DIRECTORY | NOT_IN_FILES
                                    | NOT_IN_HTACCESS);
    if (err) {
        return err;
    }
    if (cmd->path) {
        if ((err = check_location_section(cmd)) != NULL) {
            return err;
        }
        prefix = cmd->path;
    }
    else {
        prefix = ap_getword_conf(cmd->temp_pool, &args);
    }
    url = ap_getword_conf(cmd->temp_pool, &args);
    if (cmd->path && url[0] == '/') {
        return "inside <Location> give only the URL of Orthanc: the prefix "
               "is the Location's";
    }
    if (*url == '\0') {
        return cmd->path ? "OrthancProxy needs the URL of Orthanc"
                         : "OrthancProxy needs a prefix and the URL of Orthanc";
    }

    mapping->defined_at = apr_psprintf(cmd->pool, "%s:%d",
                                       cmd->directive->filename,
                                       cmd->directive->line_num);
    if ((err = op_parse_prefix(cmd->pool, prefix, &mapping->prefix)) != NULL
        || (err = op_parse_backend(cmd->pool, url, &mapping->backend)) != NULL
        || (err = check_worker_params(cmd, args)) != NULL
        || (err = check_new_prefix(cmd, conf, mapping)) != NULL
        || (err = op_define_backend(cmd, mapping, args)) != NULL) {
        return apr_pstrcat(cmd->pool, "OrthancProxy: ", err, NULL);
    }
    APR_ARRAY_PUSH(conf->mappings, const op_mapping *) = mapping;
    return NULL;
}

static const char *cmd_access(cmd_parms *cmd, void *dconf, const char *level)
{
    op_dir_conf *conf = dconf;

    conf->level = op_level_parse(level);
    if (conf->level == OP_LEVEL_UNSET) {
        return apr_psprintf(cmd->pool, "OrthancProxyAccess: '%s' is not a "
                            "level; use read, upload, modify or admin", level);
    }
    return NULL;
}

/* OrthancProxyAllow / OrthancProxyDeny METHODS PATTERN */
static const char *cmd_rule(cmd_parms *cmd, void *dconf, const char *methods,
                            const char *pattern)
{
    op_dir_conf *conf = dconf;
    int allow = cmd->info != NULL;
    const char *err = op_rule_make(cmd->pool, allow, methods, pattern,
                                   apr_array_push(conf->rules));
    if (err) {
        apr_array_pop(conf->rules);
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL);
    }
    return NULL;
}

static const char *cmd_encoded_body(cmd_parms *cmd, void *dconf, int on)
{
    ((op_dir_conf *)dconf)->encoded_body = on;
    return NULL;
}

static const command_rec orthanc_proxy_cmds[] = {
    AP_INIT_RAW_ARGS("OrthancProxy", cmd_orthanc_proxy, NULL,
                     RSRC_CONF | ACCESS_CONF,
                     "PREFIX URL [key=value ...] (or URL [key=value ...] inside "
                     "<Location PREFIX>): reverse-proxy PREFIX to the Orthanc "
                     "at URL"),
    AP_INIT_TAKE1("OrthancProxyAccess", cmd_access, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "read, upload, modify (default) or admin: the Orthanc "
                  "routes the prefix exposes"),
    AP_INIT_TAKE2("OrthancProxyAllow", cmd_rule, (void *)"allow",
                  RSRC_CONF | ACCESS_CONF,
                  "METHODS PATTERN: also expose these routes"),
    AP_INIT_TAKE2("OrthancProxyDeny", cmd_rule, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "METHODS PATTERN: never expose these routes"),
    AP_INIT_TAKE12("OrthancProxyCredentials", op_cmd_credentials, NULL,
                   RSRC_CONF | ACCESS_CONF,
                   "USER PASSWORD, USER file:PATH or off: HTTP Basic "
                   "credentials the proxy sends to Orthanc"),
    AP_INIT_TAKE1("OrthancProxyUserHeader", op_cmd_user_header, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "NAME or off: header that carries the user Apache "
                  "authenticated to Orthanc"),
    AP_INIT_FLAG("OrthancProxyAllowEncodedBody", cmd_encoded_body, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On to forward request bodies that have a Content-Encoding "
                 "(Off by default)"),
    AP_INIT_RAW_ARGS("OrthancProxyCORS", op_cmd_cors, NULL,
                     RSRC_CONF | ACCESS_CONF,
                     "origins (https://host[:port] ...), * or off: the other "
                     "origins whose pages may call Orthanc (off by default)"),
    { NULL }
};

/* ------------------------------------------------------------------------
 * Finding the mapping of a request
 */

typedef op_prefix_match (*prefix_test)(const void *subject,
                                       const op_mapping *mapping);

static op_prefix_match test_orthanc_path(const void *subject,
                                         const op_mapping *mapping)
{
    return op_path_match_prefix(subject, &mapping->prefix.path);
}

static op_prefix_match test_apache_uri(const void *subject,
                                       const op_mapping *mapping)
{
    return op_uri_match_prefix(subject, mapping->prefix.prefix_bare);
}

/* The mapping with the longest prefix that covers SUBJECT. */
static const op_mapping *longest_mapping(const op_server_conf *conf,
                                         prefix_test test, const void *subject,
                                         op_prefix_match *how)
{
    const op_mapping *best = NULL;
    int i;

    *how = OP_PREFIX_NONE;
    for (i = 0; i < conf->mappings->nelts; i++) {
        const op_mapping *mapping = APR_ARRAY_IDX(conf->mappings, i,
                                                  const op_mapping *);
        op_prefix_match match = test(subject, mapping);
        if (match != OP_PREFIX_NONE
            && (best == NULL || mapping->prefix.path.segments->nelts
                                > best->prefix.path.segments->nelts)) {
            best = mapping;
            *how = match;
        }
    }
    return best;
}

const op_mapping *op_find_mapping_for_uri(const request_rec *r,
                                          const char *uri)
{
    op_prefix_match how;
    return longest_mapping(server_conf(r->server), test_apache_uri, uri, &how);
}

op_request *op_request_get(const request_rec *r)
{
    return ap_get_module_config(r->request_config, &orthanc_proxy_module);
}

int op_refuse(request_rec *r, op_request *req, int status, const char *reason,
              const char *rule)
{
    req->reason = reason;
    req->rule = rule;
    /* The path and the reason quote the client: escape them for the log. */
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "refused with %d: %s %s (mapping %s -> %s)%s%s: %s", status,
                  r->method, ap_escape_logitem(r->pool, req->orthanc_path
                                                        ? req->orthanc_path
                                                        : r->uri),
                  req->mapping->prefix.prefix, req->mapping->backend.url,
                  rule ? ", rule " : "", rule ? rule : "",
                  ap_escape_logitem(r->pool, reason));
    return status;
}

/* ------------------------------------------------------------------------
 * pre_translate_name: read the request as Orthanc will
 */

static int refuse_unreadable(request_rec *r, const op_mapping *mapping,
                             const char *reason)
{
    op_request *req = apr_pcalloc(r->pool, sizeof(*req));
    req->mapping = mapping;
    ap_set_module_config(r->request_config, &orthanc_proxy_module, req);
    return op_refuse(r, req, HTTP_BAD_REQUEST, reason, NULL);
}

/* Orthanc's method, decided before Apache's own <Limit> and Require see
 * the request, so that they judge what Orthanc will do. */
static int apply_effective_method(request_rec *r, op_request *req)
{
    const char *effective, *query;
    const char *err = op_resolve_method(r->pool, r->method, r->headers_in,
                                        r->args, &effective, &query);
    if (err) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, err, NULL);
    }
    if (strcmp(effective, r->method) != 0) {
        r->method = effective;
        r->method_number = ap_method_number_of(effective);
    }
    r->args = (char *)query;
    return OK;
}

static int map_request(request_rec *r)
{
    const op_server_conf *conf = server_conf(r->server);
    const op_mapping *by_apache, *by_orthanc;
    op_prefix_match apache_how, orthanc_how;
    op_path_status status;
    apr_uri_t target;
    op_request *req;
    op_path path;

    if (conf->mappings->nelts == 0 || r->proxyreq != PROXYREQ_NONE) {
        return DECLINED;
    }
    by_apache = longest_mapping(conf, test_apache_uri, r->uri, &apache_how);
    if (apr_uri_parse(r->pool, r->unparsed_uri, &target) != APR_SUCCESS
        || target.path == NULL) {
        return by_apache ? refuse_unreadable(r, by_apache,
                                             "the request target cannot be read")
                         : DECLINED;
    }
    status = op_path_parse(r->pool, target.path, strlen(target.path), &path);
    if (status != OP_PATH_OK) {
        return by_apache ? refuse_unreadable(r, by_apache,
                                             op_path_status_reason(status))
                         : DECLINED;
    }
    by_orthanc = longest_mapping(conf, test_orthanc_path, &path, &orthanc_how);
    if (by_orthanc == NULL && by_apache == NULL) {
        return DECLINED;
    }
    if (by_orthanc != by_apache) {
        return refuse_unreadable(r, by_orthanc ? by_orthanc : by_apache,
                                 "Apache and Orthanc would read this path "
                                 "differently (encoded slashes, backslashes "
                                 "or dot segments around the prefix)");
    }

    req = apr_pcalloc(r->pool, sizeof(*req));
    req->mapping = by_orthanc;
    req->path = path;
    req->action = orthanc_how == OP_PREFIX_BARE ? OP_ACTION_REDIRECT
                                                : OP_ACTION_PROXY;
    {
        int below = by_orthanc->prefix.path.segments->nelts;
        req->orthanc_path = op_path_join(r->pool, &path, below, OP_PATH_DECODED);
        req->backend_path = op_path_join(r->pool, &path, below, OP_PATH_ENCODED);
    }
    ap_set_module_config(r->request_config, &orthanc_proxy_module, req);

    if (req->action == OP_ACTION_PROXY) {
        int rc;
        /* <Location> sections and logs now see what Orthanc will route. */
        r->uri = op_path_join(r->pool, &path, 0, OP_PATH_DECODED);
        if ((rc = apply_effective_method(r, req)) != OK) {
            return rc;
        }
    }
    /* The path is final: Apache must not decode it a second time. */
    return DONE;
}

/* ------------------------------------------------------------------------
 * translate_name: hand the request over
 */

static int hand_over(request_rec *r)
{
    op_request *req = op_request_get(r);

    if (req == NULL || req->reason != NULL) {
        return DECLINED;
    }
    if (req->action == OP_ACTION_PROXY && op_cors_allows_preflight(r)) {
        req->action = OP_ACTION_PREFLIGHT;
    }
    if (req->action != OP_ACTION_PROXY) {
        r->handler = OP_LOCAL_HANDLER;
        r->filename = apr_pstrcat(r->pool, OP_LOCAL_HANDLER ":", r->uri, NULL);
        return OK;
    }
    /* Only configuration names the backend: the client contributes the
     * re-encoded path below the prefix, and the query through r->args. */
    r->filename = apr_pstrcat(r->pool, "proxy:", req->mapping->backend.url,
                              req->backend_path + 1, NULL);
    r->handler = "proxy-server";
    r->proxyreq = PROXYREQ_REVERSE;
    apr_table_setn(r->notes, "proxy-noencode", "1");
    return OK;
}

/* The redirect and preflights are answered here: no file to look for. */
static int skip_file_walk(request_rec *r)
{
    const op_request *req = op_request_get(r);
    return req && req->action != OP_ACTION_PROXY ? OK : DECLINED;
}

/* Browsers send CORS preflights without credentials: they are answered
 * without authentication, and say no more than the configuration. */
static int admit_preflight(request_rec *r)
{
    const op_request *req = op_request_get(r);
    return req && req->action == OP_ACTION_PREFLIGHT ? OK : DECLINED;
}

/* ------------------------------------------------------------------------
 * fixups: after authentication, prepare what mod_proxy sends
 */

static const char *public_host(request_rec *r)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    if (op_host_is_plain(host)) {
        return host;
    }
    return ap_get_server_name_for_url(r);
}

/* Orthanc answers HEAD with 404: ask for a GET, which mod_proxy will not
 * relay the body of, and close that backend connection rather than read
 * a body nobody wants. */
static void turn_head_into_get(request_rec *r)
{
    if (r->header_only && strcmp(r->method, "HEAD") == 0) {
        r->method = "GET";
        apr_table_setn(r->subprocess_env, "proxy-nokeepalive", "1");
    }
}

static int prepare_forwarding(request_rec *r)
{
    op_request *req = op_request_get(r);
    int rc;

    if (req == NULL || req->action != OP_ACTION_PROXY
        || r->proxyreq != PROXYREQ_REVERSE) {
        return DECLINED;
    }
    req->public_host = public_host(r);
    op_cors_add_response_headers(r);
    if ((rc = op_check_request(r, req)) != OK
        || (rc = op_enforce_body_limit(r, req)) != OK) {
        return rc;
    }
    turn_head_into_get(r);
    if (r->expecting_100) {
        op_keep_expect_from_backend(r);
    }
    op_add_response_headers_filter(r);
    return DECLINED;
}

/* ------------------------------------------------------------------------
 * handler: what is answered locally
 */

static int local_handler(request_rec *r)
{
    op_request *req;
    const char *target;

    if (r->handler == NULL || strcmp(r->handler, OP_LOCAL_HANDLER) != 0
        || (req = op_request_get(r)) == NULL) {
        return DECLINED;
    }
    if (req->action == OP_ACTION_PREFLIGHT) {
        return op_cors_answer_preflight(r, req);
    }
    if (req->action != OP_ACTION_REDIRECT) {
        return DECLINED;
    }
    /* Orthanc's pages use relative links: they only work below the slash. */
    target = apr_pstrcat(r->pool, req->mapping->prefix.prefix,
                         r->args ? "?" : "", r->args ? r->args : "", NULL);
    apr_table_setn(r->headers_out, "Location",
                   ap_construct_url(r->pool, target, r));
    return r->method_number == M_GET ? HTTP_MOVED_PERMANENTLY
                                     : HTTP_PERMANENT_REDIRECT;
}

/* ------------------------------------------------------------------------
 * Start-up
 */

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    return op_check_backends(ptemp, s);
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_rewrite[] = { "mod_rewrite.c", NULL };
    static const char *const before_proxy[] = { "mod_proxy.c", NULL };

    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_translate_name(map_request, NULL, before_proxy,
                               APR_HOOK_FIRST);
    ap_hook_translate_name(hand_over, after_rewrite, before_proxy,
                           APR_HOOK_FIRST);
    ap_hook_map_to_storage(skip_file_walk, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_check_access_ex(admit_preflight, NULL, NULL, APR_HOOK_FIRST,
                            AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(prepare_forwarding, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_handler(local_handler, NULL, NULL, APR_HOOK_MIDDLE);
    op_register_backend_request_hooks();
    op_register_error_response();
    op_register_response_headers();
    op_register_body_limit();
}

AP_DECLARE_MODULE(orthanc_proxy) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    merge_server_conf,
    orthanc_proxy_cmds,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};
