/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - creating and merging the configuration records.
 *
 * A virtual host inherits the main server's mappings after its own; a
 * <Location> inherits every setting it leaves unset, and adds its rules to
 * those of the sections around it.
 */
#include <httpd.h>
#include <http_config.h>

#include "apache/audit/audit_config.h"
#include "apache/cache/cache_config.h"
#include "config.h"
#include "request_context.h"

void *op_create_server_conf(apr_pool_t *p, server_rec *s)
{
    op_server_conf *conf = apr_pcalloc(p, sizeof(*conf));
    conf->mappings = apr_array_make(p, 2, sizeof(op_mapping *));
    conf->cache = op_cache_create_server(p);
    conf->audit = op_audit_create_server(p, s);
    return conf;
}

void *op_merge_server_conf(apr_pool_t *p, void *base_conf, void *add_conf)
{
    const op_server_conf *base = base_conf, *add = add_conf;
    op_server_conf *conf = apr_pcalloc(p, sizeof(*conf));
    /* A virtual host's own mappings come first and win a tie. */
    conf->mappings = apr_array_append(p, add->mappings, base->mappings);
    conf->cache = op_cache_merge_server(p, base->cache, add->cache);
    conf->audit = op_audit_merge_server(p, base->audit, add->audit);
    return conf;
}

void *op_create_dir_conf(apr_pool_t *p, char *dir)
{
    op_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));
    conf->level = OP_LEVEL_UNSET;
    conf->rules = apr_array_make(p, 2, sizeof(op_rule));
    conf->encoded_body = -1;
    conf->cache = -1;
    conf->cache_max_age[0] = conf->cache_max_age[1] = -1;
    conf->audit = -1;
    conf->audit_window[0] = conf->audit_window[1] = -1;
    return conf;
}

void *op_merge_dir_conf(apr_pool_t *p, void *base_conf, void *add_conf)
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
    conf->cache = add->cache != -1 ? add->cache : base->cache;
    conf->cache_max_age[0] = add->cache_max_age[0] != -1
                             ? add->cache_max_age[0] : base->cache_max_age[0];
    conf->cache_max_age[1] = add->cache_max_age[1] != -1
                             ? add->cache_max_age[1] : base->cache_max_age[1];
    conf->audit = add->audit != -1 ? add->audit : base->audit;
    conf->audit_window[0] = add->audit_window[0] != -1
                            ? add->audit_window[0] : base->audit_window[0];
    conf->audit_window[1] = add->audit_window[1] != -1
                            ? add->audit_window[1] : base->audit_window[1];
    /* Study rules add up, as the route rules do. */
    conf->studies = base->studies == NULL ? add->studies
                    : add->studies == NULL ? base->studies
                    : apr_array_append(p, base->studies, add->studies);
    return conf;
}
