/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy_bridge.c - the only part of mod_orthanc_proxy that knows mod_proxy.
 *
 * Nothing here calls a function exported by mod_proxy.so: its module record
 * is found by name, its workers are defined through its own ProxySet
 * directive, and its structures are read through mod_proxy.h.  That keeps
 * the load order free (Debian loads orthanc_proxy.load before proxy.load)
 * and gives every worker key ProxyPass accepts, checked by mod_proxy itself.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_strings.h>

#include "mod_proxy.h"
#include "balancer_setup.h"
#include "proxy_bridge.h"
#include "request_context.h"

APLOG_USE_MODULE(orthanc_proxy);

/* proxy_worker_shared.name_ex, the pre_translate_name hook (2.4.51);
 * httpd_check.c requires 2.4.54 anyway. */
#if !AP_MODULE_MAGIC_AT_LEAST(20120211, 124)
#error "mod_orthanc_proxy needs Apache httpd 2.4.54 or later"
#endif

/* Orthanc closes a connection idle for 1 s; mod_proxy must stop reusing
 * one well before that, or a request can meet a closing socket. */
#define OP_DEFAULT_POOL_TTL apr_time_from_msec(500)

static module *find_proxy_module(void)
{
    return ap_find_linked_module("mod_proxy.c");
}

/* Runs mod_proxy's ProxySet as if written inside <Proxy URL>: that defines
 * the worker (or the balancer) when it does not exist yet and applies the
 * key=value parameters with mod_proxy's own checks. */
const char *op_define_backend(cmd_parms *cmd, const op_mapping *mapping,
                              const char *params)
{
    module *proxy = find_proxy_module();
    const command_rec *proxy_set;
    ap_directive_t section, directive;
    cmd_parms sub;
    const char *err;

    if (proxy == NULL) {
        return "mod_proxy is not loaded: load it before this line "
               "(Debian: a2enmod proxy proxy_http)";
    }
    proxy_set = ap_find_command("ProxySet", proxy->cmds);
    if (proxy_set == NULL || proxy_set->args_how != RAW_ARGS) {
        return "this mod_proxy has no usable ProxySet directive";
    }

    memset(&section, 0, sizeof(section));
    section.directive = "<Proxy";
    section.args = apr_pstrcat(cmd->temp_pool, mapping->backend.url, ">", NULL);
    section.filename = cmd->directive->filename;
    section.line_num = cmd->directive->line_num;

    directive = *cmd->directive;
    directive.directive = proxy_set->name;
    directive.args = params;
    directive.parent = &section;
    directive.first_child = NULL;

    sub = *cmd;
    sub.directive = &directive;
    sub.cmd = proxy_set;
    sub.info = proxy_set->cmd_data;
    /* httpd creates a module's configuration for a virtual host only when
     * one of its own directives appears there: do what it would have done. */
    ap_set_config_vectors(cmd->server, cmd->context, cmd->path, proxy,
                          cmd->pool);
    err = proxy_set->AP_RAW_ARGS(&sub, NULL, params);
    return err ? apr_pstrdup(cmd->pool, err) : NULL;
}

static proxy_server_conf *proxy_conf(module *proxy, server_rec *s)
{
    return ap_get_module_config(s->module_config, proxy);
}

/* The worker mod_proxy will pick for URL: the one whose name is the longest
 * prefix of it. */
static proxy_worker *worker_for(proxy_server_conf *conf, const char *url)
{
    proxy_worker *workers = (proxy_worker *)conf->workers->elts;
    proxy_worker *best = NULL;
    apr_size_t best_length = 0;
    int i;

    for (i = 0; i < conf->workers->nelts; i++) {
        const char *name = workers[i].s->name_ex;
        apr_size_t n = strlen(name);
        if (n > best_length && strncasecmp(url, name, n) == 0) {
            best = &workers[i];
            best_length = n;
        }
    }
    return best;
}

static proxy_balancer *balancer_for(proxy_server_conf *conf, const char *url)
{
    proxy_balancer *balancers = (proxy_balancer *)conf->balancers->elts;
    int i;

    for (i = 0; i < conf->balancers->nelts; i++) {
        apr_size_t n = strlen(balancers[i].s->name);
        if (strncasecmp(url, balancers[i].s->name, n) == 0
            && (url[n] == '/' || url[n] == '\0')) {
            return &balancers[i];
        }
    }
    return NULL;
}

/* Defaults that suit Orthanc, unless the administrator chose otherwise:
 * retry=0, so that a restarted Orthanc is used again at once, and a pool
 * ttl below Orthanc's 1 s keep-alive. */
static void apply_orthanc_defaults(proxy_worker_shared *worker)
{
    if (!worker->retry_set) {
        worker->retry = 0;
        worker->retry_set = 1;
    }
    if (worker->ttl == 0) {
        worker->ttl = OP_DEFAULT_POOL_TTL;
    }
}

static int report(server_rec *s, const op_mapping *mapping, const char *what)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                 "OrthancProxy %s %s (%s): %s", mapping->prefix.prefix,
                 mapping->backend.url, mapping->defined_at, what);
    return 1;
}

static int check_modules(server_rec *s, const op_mapping *mapping)
{
    if (ap_find_linked_module("mod_proxy_http.c") == NULL) {
        return report(s, mapping, "mod_proxy_http is not loaded "
                      "(Debian: a2enmod proxy_http)");
    }
    if (mapping->backend.kind == OP_BACKEND_HTTPS
        && ap_find_linked_module("mod_ssl.c") == NULL) {
        return report(s, mapping, "an https:// backend needs mod_ssl and "
                      "SSLProxyEngine on (Debian: a2enmod ssl)");
    }
    if (mapping->backend.kind == OP_BACKEND_BALANCER
        && ap_find_linked_module("mod_proxy_balancer.c") == NULL) {
        return report(s, mapping, "a balancer:// backend needs "
                      "mod_proxy_balancer and an lbmethod module "
                      "(Debian: a2enmod proxy_balancer lbmethod_byrequests)");
    }
    return 0;
}

static int check_mapping(server_rec *s, proxy_server_conf *conf,
                         const op_mapping *mapping)
{
    if (check_modules(s, mapping)) {
        return 1;
    }
    if (mapping->backend.kind == OP_BACKEND_BALANCER) {
        proxy_balancer *balancer = balancer_for(conf, mapping->backend.url);
        int i;

        const char *err;

        if (balancer == NULL || balancer->workers->nelts == 0) {
            return report(s, mapping, "the balancer has no BalancerMember; "
                          "declare them in <Proxy balancer://...>");
        }
        if ((err = op_setup_balancer(s->process->pconf, mapping, balancer))) {
            return report(s, mapping, err);
        }
        for (i = 0; i < balancer->workers->nelts; i++) {
            apply_orthanc_defaults(APR_ARRAY_IDX(balancer->workers, i,
                                                 proxy_worker *)->s);
        }
    }
    else {
        proxy_worker *worker = worker_for(conf, mapping->backend.url);
        if (worker == NULL) {
            return report(s, mapping, "mod_proxy has no worker for it");
        }
        apply_orthanc_defaults(worker->s);
    }
    return 0;
}

int op_check_backends(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                      server_rec *s)
{
    module *proxy = find_proxy_module();
    int failures = 0;

    for (; s; s = s->next) {
        const op_server_conf *conf = op_server_conf_get(s);
        int i;

        for (i = 0; i < conf->mappings->nelts; i++) {
            const op_mapping *mapping = APR_ARRAY_IDX(conf->mappings, i,
                                                      const op_mapping *);
            failures += proxy == NULL
                        ? report(s, mapping, "mod_proxy is not loaded")
                        : check_mapping(s, proxy_conf(proxy, s), mapping);
        }
    }
    return failures ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

/* Orthanc never answers "Expect: 100-continue" with an interim 100, so
 * mod_proxy must not forward the expectation and wait (Proxy100Continue).
 * Apache still sends the client its own 100 Continue when it starts
 * reading the body.  The setting is mod_proxy's per-directory one: it is
 * overridden for this request only. */
void op_keep_expect_from_backend(request_rec *r)
{
    module *proxy = find_proxy_module();
    ap_conf_vector_t *override;
    proxy_dir_conf *settings;

    if (proxy == NULL || proxy->create_dir_config == NULL) {
        return;
    }
    settings = proxy->create_dir_config(r->pool, NULL);
    settings->forward_100_continue = 0;
    settings->forward_100_continue_set = 1;
    override = ap_create_per_dir_config(r->pool);
    ap_set_module_config(override, proxy, settings);
    r->per_dir_config = ap_merge_per_dir_configs(r->pool, r->per_dir_config,
                                                 override);
}
