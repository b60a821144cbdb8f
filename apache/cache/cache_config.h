/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_config.h - the directives of the Orthanc-aware cache and what they
 * leave in the configuration.
 *
 *   OrthancProxyCache on|off                     (server, vhost, <Location>)
 *   OrthancProxyCacheMaxAge CONTENT [AGGREGATES] (server, vhost, <Location>)
 *   OrthancProxyCacheMaxDelay TIME               (main server)
 *   OrthancProxyCacheStore ...                   (obsolete: ignored, with
 *                                                 a warning at start-up)
 *
 * The answers themselves are stored by mod_cache (CacheEnable disk or
 * socache); this module tells it what may be stored, under which key, and
 * makes old answers unreachable when Orthanc's data changes.
 */
#ifndef ORTHANC_PROXY_CACHE_CONFIG_H
#define ORTHANC_PROXY_CACHE_CONFIG_H

#include <httpd.h>
#include <http_config.h>

#include "apache/request_context.h"

/* Defaults. */
#define OP_CACHE_DEFAULT_MAX_DELAY apr_time_from_sec(1)
#define OP_CACHE_MIN_MAX_DELAY apr_time_from_msec(400)
#define OP_CACHE_DEFAULT_MAX_AGE_CONTENT 86400
#define OP_CACHE_DEFAULT_MAX_AGE_AGGREGATE 3600

/* Where "OrthancProxyCache on" is written. */
typedef struct {
    server_rec *server;
    const op_dir_conf *section;    /* the section's own settings */
    const char *path;              /* the <Location>'s path, NULL outside one */
    const char *defined_at;        /* "file:line" */
} op_cache_section;

struct op_cache_server {
    /* op_cache_section: those written in this server itself */
    apr_array_header_t *sections;
    /* Main server only (virtual hosts see the main server's). */
    const char *store;             /* OrthancProxyCacheStore (obsolete) */
    apr_interval_time_t max_delay; /* OrthancProxyCacheMaxDelay */
    /* Found at check_config: this server's CacheQuickHandler (1 = on). */
    int quick_handler;
};
typedef struct op_cache_server op_cache_server;

op_cache_server *op_cache_create_server(apr_pool_t *p);
op_cache_server *op_cache_merge_server(apr_pool_t *p, op_cache_server *base,
                                       op_cache_server *add);

const char *op_cmd_cache(cmd_parms *cmd, void *dconf, int on);
const char *op_cmd_cache_max_age(cmd_parms *cmd, void *dconf,
                                 const char *content, const char *aggregates);
const char *op_cmd_cache_store(cmd_parms *cmd, void *dconf, const char *spec);
const char *op_cmd_cache_max_delay(cmd_parms *cmd, void *dconf,
                                   const char *time);

/* The freshness (seconds) mod_cache gives an answer of class AGGREGATE (0
 * for content, 1 for aggregates) under CONF. */
apr_int64_t op_cache_max_age(const op_dir_conf *conf, int aggregate);

#endif
