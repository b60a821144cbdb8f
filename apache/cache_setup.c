/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_setup.c - OrthancProxyCache at start-up (see cache_setup.h).
 *
 * apachectl configtest refuses a configuration in which a cached answer
 * could be served before the access policy ran: mod_cache's quick handler
 * (CacheQuickHandler On, its default) answers before authentication,
 * authorization and this module's access decision.  The setting is read
 * from the configuration tree, where mod_cache keeps no trace a module can
 * query: the last CacheQuickHandler of a <VirtualHost>, else of the main
 * server, else mod_cache's default (On).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <mod_cache.h>
#include <mod_watchdog.h>
#include <util_mutex.h>
#include <apr_optional.h>
#include <apr_strings.h>

#include "cache_config.h"
#include "cache_follower.h"
#include "cache_request.h"
#include "cache_setup.h"
#include "cache_store.h"
#include "request_context.h"

APLOG_USE_MODULE(orthanc_proxy);

#define WATCHDOG_NAME "orthanc-proxy-cache"

/* --------------------------------------------------------- the sections */

static const op_cache_server *cache_of(const server_rec *s)
{
    return op_server_conf_get(s)->cache;
}

/* Whether some "OrthancProxyCache on" is written anywhere. */
static int cache_used(server_rec *main_server)
{
    server_rec *s;
    for (s = main_server; s; s = s->next) {
        if (cache_of(s)->sections->nelts > 0) {
            return 1;
        }
    }
    return 0;
}

/* Whether the sections of S (its own and the main server's, which apply
 * to virtual hosts too) turn the cache on somewhere. */
static int cache_used_in(server_rec *main_server, const server_rec *s)
{
    return cache_of(s)->sections->nelts > 0
           || cache_of(main_server)->sections->nelts > 0;
}

/* PATH with a final '/'. */
static const char *as_directory(apr_pool_t *p, const char *path)
{
    apr_size_t n = strlen(path);
    return n > 0 && path[n - 1] == '/' ? path : apr_pstrcat(p, path, "/", NULL);
}

/* Whether SECTION's <Location> and MAPPING's prefix overlap: the section
 * encloses the prefix, or lies below it. */
static int covers(apr_pool_t *p, const op_cache_section *section,
                  const op_mapping *mapping)
{
    const char *path, *prefix = mapping->prefix.prefix;
    if (section->path == NULL) {
        return 1;
    }
    path = as_directory(p, section->path);
    return strncmp(prefix, path, strlen(path)) == 0
           || strncmp(path, prefix, strlen(prefix)) == 0;
}

typedef int (*mapping_visitor)(void *ctx, server_rec *s,
                               const op_cache_section *section,
                               const op_mapping *mapping);

/* Calls VISIT for each mapping of each server with each section that
 * turns the cache on for it; stops at the first non-zero result. */
static int visit_cached_mappings(apr_pool_t *p, server_rec *main_server,
                                 mapping_visitor visit, void *ctx)
{
    server_rec *s;

    for (s = main_server; s; s = s->next) {
        const apr_array_header_t *lists[2];
        const apr_array_header_t *mappings = op_server_conf_get(s)->mappings;
        int l, i, m;

        lists[0] = cache_of(s)->sections;
        lists[1] = s == main_server ? NULL : cache_of(main_server)->sections;
        for (l = 0; l < 2; l++) {
            for (i = 0; lists[l] && i < lists[l]->nelts; i++) {
                const op_cache_section *section =
                    &APR_ARRAY_IDX(lists[l], i, op_cache_section);
                for (m = 0; m < mappings->nelts; m++) {
                    const op_mapping *mapping =
                        APR_ARRAY_IDX(mappings, m, const op_mapping *);
                    int rc;
                    if (covers(p, section, mapping)
                        && (rc = visit(ctx, s, section, mapping)) != 0) {
                        return rc;
                    }
                }
            }
        }
    }
    return 0;
}

/* ------------------------------------------------ CacheQuickHandler */

typedef struct {
    const ap_directive_t *vhost;   /* NULL for the main server */
    int on;
} quick_setting;

static void find_quick_handlers(apr_pool_t *p, const ap_directive_t *d,
                                const ap_directive_t *vhost,
                                apr_array_header_t *found)
{
    for (; d; d = d->next) {
        if (strcasecmp(d->directive, "CacheQuickHandler") == 0 && d->args) {
            const char *args = d->args;
            quick_setting *setting = apr_array_push(found);
            setting->vhost = vhost;
            setting->on = strcasecmp(ap_getword_conf(p, &args), "off") != 0;
        }
        if (d->first_child) {
            find_quick_handlers(p, d->first_child,
                                strcasecmp(d->directive, "<VirtualHost") == 0
                                ? d : vhost, found);
        }
    }
}

static int quick_handler_of(const server_rec *s, const apr_array_header_t *found)
{
    int main_value = 1, own = -1, i;

    for (i = 0; i < found->nelts; i++) {
        const quick_setting *q = &APR_ARRAY_IDX(found, i, quick_setting);
        if (q->vhost == NULL) {
            main_value = q->on;
        }
        else if (s->is_virtual && s->defn_name
                 && q->vhost->line_num == (int)s->defn_line_number
                 && strcmp(q->vhost->filename, s->defn_name) == 0) {
            own = q->on;
        }
    }
    return own != -1 ? own : main_value;
}

static const char *server_name_of(apr_pool_t *p, const server_rec *s)
{
    return s->is_virtual && s->defn_name
           ? apr_psprintf(p, "the <VirtualHost> at %s:%u", s->defn_name,
                          s->defn_line_number)
           : "the main server";
}

/* --------------------------------------------------------------- checks */

static void refuse(server_rec *s, const char *message)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s, "%s", message);
}

static int check_backend(void *ctx, server_rec *s,
                         const op_cache_section *section,
                         const op_mapping *mapping)
{
    int *failures = ctx;
    if (mapping->backend.kind != OP_BACKEND_HTTP) {
        refuse(s, apr_psprintf(s->process->pconf, "OrthancProxyCache on (%s) "
                               "covers OrthancProxy %s %s (%s): the cache "
                               "follows Orthanc's change log over plain HTTP "
                               "and supports only http:// backends",
                               section->defined_at, mapping->prefix.prefix,
                               mapping->backend.url, mapping->defined_at));
        (*failures)++;
    }
    return 0;
}

static const char *store_provider_name(apr_pool_t *p, const char *spec)
{
    const char *colon = strchr(spec, ':');
    return colon ? apr_pstrmemdup(p, spec, colon - spec) : spec;
}

static const op_cache_section *first_section(server_rec *main_server,
                                             const server_rec *s)
{
    const apr_array_header_t *own = cache_of(s)->sections;
    return own->nelts > 0
           ? &APR_ARRAY_IDX(own, 0, op_cache_section)
           : &APR_ARRAY_IDX(cache_of(main_server)->sections, 0,
                            op_cache_section);
}

static int check_modules(apr_pool_t *p, server_rec *main_server)
{
    const op_cache_server *conf = cache_of(main_server);
    const char *store = conf->store ? conf->store : OP_CACHE_DEFAULT_STORE;
    const char *name = store_provider_name(p, store);
    int failures = 0;

    if (ap_find_linked_module("mod_cache.c") == NULL) {
        refuse(main_server, "OrthancProxyCache on needs mod_cache and a "
               "storage provider (Debian: a2enmod cache cache_disk)");
        failures++;
    }
    if (APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance) == NULL) {
        refuse(main_server, "OrthancProxyCache on needs mod_watchdog "
               "(LoadModule watchdog_module ...)");
        failures++;
    }
    if (ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                           AP_SOCACHE_PROVIDER_VERSION) == NULL) {
        refuse(main_server, apr_psprintf(p, "OrthancProxyCacheStore %s: the "
                                         "socache provider '%s' is not loaded "
                                         "(Debian: a2enmod socache_%s)", store,
                                         name, name));
        failures++;
    }
    return failures;
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *main_server)
{
    apr_array_header_t *found;
    server_rec *s;
    int failures;

    if (!cache_used(main_server)) {
        return OK;
    }
    failures = check_modules(ptemp, main_server);
    found = apr_array_make(ptemp, 4, sizeof(quick_setting));
    find_quick_handlers(ptemp, ap_conftree, NULL, found);
    for (s = main_server; s; s = s->next) {
        op_cache_server *conf = op_server_conf_get(s)->cache;
        conf->quick_handler = quick_handler_of(s, found);
        if (conf->quick_handler && cache_used_in(main_server, s)) {
            refuse(s, apr_psprintf(ptemp, "OrthancProxyCache on (%s) needs "
                                   "CacheQuickHandler Off in %s: mod_cache's "
                                   "quick handler answers from the cache "
                                   "before authentication, Require and "
                                   "OrthancProxyAccess",
                                   first_section(main_server, s)->defined_at,
                                   server_name_of(ptemp, s)));
            failures++;
        }
    }
    visit_cached_mappings(ptemp, main_server, check_backend, &failures);
    return failures ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

/* ------------------------------------------------------------ start-up */

static apr_status_t forget_key_generator(void *data)
{
    APR_OPTIONAL_FN_TYPE(ap_cache_generate_key) *ours = op_cache_generate_key;
    if (APR_RETRIEVE_OPTIONAL_FN(ap_cache_generate_key) == ours) {
        apr_dynamic_fn_register("ap_cache_generate_key", NULL);
    }
    return APR_SUCCESS;
}

/* mod_cache reads the key generator at its own post_config, which runs
 * after this one; the generator is only offered when the cache is used,
 * and withdrawn when the configuration is unloaded. */
static void offer_key_generator(apr_pool_t *pconf, int used)
{
    APR_OPTIONAL_FN_TYPE(ap_cache_generate_key) *ours = op_cache_generate_key;

    if (used) {
        apr_dynamic_fn_register("ap_cache_generate_key", (apr_opt_fn_t *)ours);
        apr_pool_cleanup_register(pconf, NULL, forget_key_generator,
                                  apr_pool_cleanup_null);
    }
    else {
        forget_key_generator(NULL);
    }
}

typedef struct {
    apr_pool_t *pconf;
    server_rec *main_server;
    op_cache_runtime *rt;
    ap_watchdog_t *watchdog;
    apr_hash_t *followed;          /* backend URL -> follower */
    const char *error;
} start_context;

/* The credentials the follower sends: those of the section that turned
 * the cache on, else the server's. */
static const char *authorization_for(const op_cache_section *section,
                                     const server_rec *s)
{
    const op_dir_conf *server_defaults;

    if (section->section->credentials_set) {
        return section->section->authorization;
    }
    server_defaults = ap_get_module_config(s->lookup_defaults,
                                           &orthanc_proxy_module);
    return server_defaults ? server_defaults->authorization : NULL;
}

static int follow_mapping(void *data, server_rec *s,
                          const op_cache_section *section,
                          const op_mapping *mapping)
{
    start_context *ctx = data;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    apr_interval_time_t interval = op_cache_max_delay(ctx->rt) / 4;
    op_cache_follower *follower;
    const char *err;
    apr_status_t rv;

    if (apr_hash_get(ctx->followed, mapping->backend.url, APR_HASH_KEY_STRING)) {
        return 0;
    }
    follower = op_cache_follower_make(ctx->pconf, ctx->main_server, ctx->rt,
                                      mapping->backend.url,
                                      authorization_for(section, s), &err);
    if (follower == NULL) {
        ctx->error = apr_psprintf(ctx->pconf, "OrthancProxyCache: cannot follow "
                                  "%s: %s", mapping->backend.url, err);
        return 1;
    }
    if (interval < AP_WD_TM_SLICE) {
        interval = AP_WD_TM_SLICE;
    }
    rv = register_callback(ctx->watchdog, interval, follower, op_cache_follow);
    if (rv != APR_SUCCESS) {
        ctx->error = apr_psprintf(ctx->pconf, "OrthancProxyCache: cannot "
                                  "register the follower of %s with "
                                  "mod_watchdog: %pm", mapping->backend.url,
                                  &rv);
        return 1;
    }
    apr_hash_set(ctx->followed, mapping->backend.url, APR_HASH_KEY_STRING,
                 follower);
    return 0;
}

static int start(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *main_server)
{
    const op_cache_server *conf = cache_of(main_server);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_watchdog =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    start_context ctx;
    server_rec *s;
    apr_status_t rv;
    const char *err;

    memset(&ctx, 0, sizeof(ctx));
    ctx.pconf = pconf;
    ctx.main_server = main_server;
    ctx.followed = apr_hash_make(ptemp);
    ctx.rt = op_cache_runtime_create(pconf, ptemp, main_server,
                                     conf->store ? conf->store
                                                 : OP_CACHE_DEFAULT_STORE,
                                     conf->max_delay > 0
                                     ? conf->max_delay
                                     : OP_CACHE_DEFAULT_MAX_DELAY, &err);
    if (ctx.rt == NULL) {
        refuse(main_server, apr_pstrcat(ptemp, "OrthancProxyCacheStore: ", err,
                                        NULL));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (s = main_server; s; s = s->next) {
        op_server_conf_get(s)->cache->runtime = ctx.rt;
    }
    rv = get_watchdog(&ctx.watchdog, WATCHDOG_NAME, 0, 1, pconf);
    if (rv != APR_SUCCESS) {
        refuse(main_server, "OrthancProxyCache: mod_watchdog gave no "
               "singleton watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (visit_cached_mappings(ptemp, main_server, follow_mapping, &ctx)) {
        refuse(main_server, ctx.error);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *main_server)
{
    int used = cache_used(main_server);

    offer_key_generator(pconf, used);
    /* The first reading of the configuration only checks it. */
    if (!used || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    return start(pconf, ptemp, main_server);
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, OP_CACHE_MUTEX_TYPE, NULL,
                             APR_LOCK_DEFAULT, 0) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

static void child_init(apr_pool_t *p, server_rec *main_server)
{
    op_cache_runtime *rt = cache_of(main_server)->runtime;
    if (rt) {
        op_cache_runtime_child_init(rt, p, main_server);
    }
}

void op_register_cache(void)
{
    /* Before mod_cache reads the key generator and before mod_watchdog
     * decides which watchdogs run. */
    static const char *const before[] = { "mod_cache.c", "mod_watchdog.c",
                                          NULL };

    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, before, APR_HOOK_REALLY_FIRST);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    op_register_cache_request();
}
