/* SPDX-License-Identifier: Apache-2.0 */
/*
 * directives.c - OrthancProxy and the access policy's directives.
 *
 *   OrthancProxy PREFIX URL [key=value ...]   (server, virtual host)
 *   OrthancProxy URL [key=value ...]          (inside <Location PREFIX>)
 *   OrthancProxyAccess read|upload|modify|admin
 *   OrthancProxyAllow / OrthancProxyDeny METHODS PATTERN
 *   OrthancProxyAllowEncodedBody On|Off
 *
 * Every mistake is reported at configuration time, with the directive's
 * name; the worker mod_proxy will use is defined here too (proxy_bridge.c),
 * so that connections to Orthanc are pooled.
 */
#include <httpd.h>
#include <http_config.h>
#include <apr_strings.h>

#include "logic/access_rules.h"
#include "logic/directive_args.h"
#include "logic/route_table.h"
#include "directives.h"
#include "balancer_setup.h"
#include "proxy_bridge.h"
#include "request_context.h"

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

/* The words of ARGS that are the module's own keys (writer=ROUTE) go
 * into MAPPING; the others, mod_proxy's, are returned for ProxySet. */
static const char *take_module_keys(cmd_parms *cmd, op_mapping *mapping,
                                    const char **args)
{
    const char *rest = "", *word, *from = *args;

    while (*(word = ap_getword_conf(cmd->temp_pool, &from))) {
        if (strncasecmp(word, "writer=", 7) == 0) {
            if (mapping->backend.kind != OP_BACKEND_BALANCER || !word[7]) {
                return "writer=ROUTE names a BalancerMember's route of a "
                       "balancer:// URL";
            }
            mapping->writer_route = apr_pstrdup(cmd->pool, word + 7);
            mapping->writer_pin = apr_pstrcat(cmd->pool, OP_PIN_COOKIE "=pin.",
                                              mapping->writer_route, NULL);
        }
        else {
            rest = apr_pstrcat(cmd->temp_pool, rest, " \"",
                               ap_escape_quotes(cmd->temp_pool, word), "\"",
                               NULL);
        }
    }
    *args = rest;
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

const char *op_cmd_orthanc_proxy(cmd_parms *cmd, void *dconf,
                                 const char *args)
{
    op_server_conf *conf = op_server_conf_get(cmd->server);
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
        || (err = take_module_keys(cmd, mapping, &args)) != NULL
        || (err = check_worker_params(cmd, args)) != NULL
        || (err = check_new_prefix(cmd, conf, mapping)) != NULL
        || (err = op_define_backend(cmd, mapping, args)) != NULL) {
        return apr_pstrcat(cmd->pool, "OrthancProxy: ", err, NULL);
    }
    APR_ARRAY_PUSH(conf->mappings, const op_mapping *) = mapping;
    return NULL;
}

const char *op_cmd_access(cmd_parms *cmd, void *dconf, const char *level)
{
    op_dir_conf *conf = dconf;

    conf->level = op_level_parse(level);
    if (conf->level == OP_LEVEL_UNSET) {
        return apr_psprintf(cmd->pool, "OrthancProxyAccess: '%s' is not a "
                            "level; use read, upload, modify or admin", level);
    }
    return NULL;
}

const char *op_cmd_rule(cmd_parms *cmd, void *dconf, const char *methods,
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

const char *op_cmd_encoded_body(cmd_parms *cmd, void *dconf, int on)
{
    ((op_dir_conf *)dconf)->encoded_body = on;
    return NULL;
}
