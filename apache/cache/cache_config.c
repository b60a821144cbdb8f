/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_config.c - the cache's directives (see cache_config.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <apr_strings.h>

#include "apache/request_context.h"
#include "cache_config.h"

op_cache_server *op_cache_create_server(apr_pool_t *p)
{
    op_cache_server *conf = apr_pcalloc(p, sizeof(*conf));
    conf->sections = apr_array_make(p, 1, sizeof(op_cache_section));
    conf->max_delay = -1;
    conf->quick_handler = 1;
    return conf;
}

/* A virtual host keeps its own sections (the main server's apply to it
 * too, see cache_setup.c) and the main server's store settings. */
op_cache_server *op_cache_merge_server(apr_pool_t *p, op_cache_server *base,
                                       op_cache_server *add)
{
    op_cache_server *conf = op_cache_create_server(p);
    conf->sections = add->sections;
    conf->store = base->store;
    conf->max_delay = base->max_delay;
    return conf;
}

static op_cache_server *server_cache(const cmd_parms *cmd)
{
    return op_server_conf_get(cmd->server)->cache;
}

const char *op_cmd_cache(cmd_parms *cmd, void *dconf, int on)
{
    op_dir_conf *conf = dconf;

    conf->cache = on;
    if (on) {
        op_cache_section *section = apr_array_push(server_cache(cmd)->sections);
        section->server = cmd->server;
        section->section = conf;
        section->path = cmd->path;
        section->defined_at = apr_psprintf(cmd->pool, "%s:%d",
                                           cmd->directive->filename,
                                           cmd->directive->line_num);
    }
    return NULL;
}

static const char *parse_seconds(cmd_parms *cmd, const char *text,
                                 apr_int64_t *out)
{
    char *end;
    apr_int64_t value = apr_strtoi64(text, &end, 10);

    if (*text == '\0' || *end != '\0' || value < 0 || value > 31536000) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds "
                            "between 0 and 31536000", cmd->cmd->name, text);
    }
    *out = value;
    return NULL;
}

const char *op_cmd_cache_max_age(cmd_parms *cmd, void *dconf,
                                 const char *content, const char *aggregates)
{
    op_dir_conf *conf = dconf;
    const char *err = parse_seconds(cmd, content, &conf->cache_max_age[0]);

    /* One value applies to both. */
    if (err == NULL) {
        conf->cache_max_age[1] = conf->cache_max_age[0];
        if (aggregates) {
            err = parse_seconds(cmd, aggregates, &conf->cache_max_age[1]);
        }
    }
    return err;
}

/* Read, and ignored with a warning at start-up (cache_setup.c): the
 * counters no longer live in a socache. */
const char *op_cmd_cache_store(cmd_parms *cmd, void *dconf, const char *spec)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    server_cache(cmd)->store = spec;
    return NULL;
}

const char *op_cmd_cache_max_delay(cmd_parms *cmd, void *dconf,
                                   const char *time)
{
    apr_interval_time_t delay;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (ap_timeout_parameter_parse(time, &delay, "s") != APR_SUCCESS
        || delay < OP_CACHE_MIN_MAX_DELAY || delay > apr_time_from_sec(3600)) {
        return apr_psprintf(cmd->pool, "OrthancProxyCacheMaxDelay: '%s' is not "
                            "a time between 400ms and 3600 (seconds, or with "
                            "ms)", time);
    }
    server_cache(cmd)->max_delay = delay;
    return NULL;
}

apr_int64_t op_cache_max_age(const op_dir_conf *conf, int aggregate)
{
    apr_int64_t set = conf->cache_max_age[aggregate ? 1 : 0];
    if (set >= 0) {
        return set;
    }
    return aggregate ? OP_CACHE_DEFAULT_MAX_AGE_AGGREGATE
                     : OP_CACHE_DEFAULT_MAX_AGE_CONTENT;
}
