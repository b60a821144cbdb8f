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
#include <mod_cache.h>
#include <mod_watchdog.h>
#include <apr_fnmatch.h>
#include <apr_optional.h>
#include <apr_strings.h>

#include "apache/balancer_setup.h"
#include "apache/config.h"
#include "apache/request_context.h"
#include "apache/shared_slots.h"
#include "backend_tls.h"
#include "cache_config.h"
#include "cache_follower.h"
#include "cache_generations.h"
#include "cache_request.h"
#include "cache_setup.h"
#include "apache/orthanc_http.h"

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

/* The URL of a request the follower makes, as mod_proxy matches <Proxy>
 * sections against it. */
static const char *section_url(apr_pool_t *p, const op_mapping *mapping)
{
    return apr_pstrcat(p, mapping->backend.url, "changes", NULL);
}

/* What mod_ssl trusts for an https:// backend: the follower must be able
 * to trust the same (backend_tls.c). */
typedef struct {
    apr_pool_t *p;
    int failures;
} check_context;

static int check_backend(void *data, server_rec *s,
                         const op_cache_section *section,
                         const op_mapping *mapping)
{
    check_context *ctx = data;
    apr_pool_t *p = ctx->p;
    const char *err = NULL;

    if (mapping->backend.kind == OP_BACKEND_HTTPS
        || mapping->backend.kind == OP_BACKEND_BALANCER) {
        op_tls_settings tls;
        err = op_backend_tls(p, s, section_url(p, mapping), &tls);
    }
    if (err) {
        refuse(s, apr_psprintf(p, "OrthancProxyCache on (%s) covers "
                               "OrthancProxy %s %s (%s): %s; the change "
                               "follower cannot trust what mod_proxy trusts",
                               section->defined_at, mapping->prefix.prefix,
                               mapping->backend.url, mapping->defined_at,
                               err));
        ctx->failures++;
    }
    return 0;
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
    if (!op_shared_slots_available()) {
        refuse(main_server, "OrthancProxyCache on needs mod_slotmem_shm, "
               "where it keeps its generation counters (Debian: a2enmod "
               "slotmem_shm)");
        failures++;
    }
    return failures;
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *main_server)
{
    apr_array_header_t *found;
    check_context checks;
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
    checks.p = ptemp;
    checks.failures = 0;
    visit_cached_mappings(ptemp, main_server, check_backend, &checks);
    failures += checks.failures;
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

/* One followed backend, while the configuration is read. */
typedef struct {
    op_cache_backend *backend;
    server_rec *s;                 /* where its first mapping is */
    const op_mapping *mapping;
    const char *authorization;
} followed;

typedef struct {
    apr_pool_t *pconf, *ptemp;
    server_rec *main_server;
    apr_interval_time_t max_delay;
    apr_hash_t *by_url;            /* backend URL -> followed */
    apr_array_header_t *backends;  /* op_cache_backend * */
} start_context;

/* Whether the <Location> of CORE covers PATH, as Apache's location walk
 * decides: a regular expression, a wildcard, or a prefix that ends at a
 * segment. */
static int location_covers(const core_dir_config *core, const char *path)
{
    apr_size_t n;

    if (core->r) {
        return ap_regexec(core->r, path, 0, NULL, 0) == 0;
    }
    if (core->d == NULL) {
        return 0;
    }
    if (core->d_is_fnmatch) {
        return apr_fnmatch(core->d, path, APR_FNM_PATHNAME) == APR_SUCCESS;
    }
    n = strlen(core->d);
    return strncmp(path, core->d, n) == 0
           && (n == 0 || core->d[n - 1] == '/' || path[n] == '/'
               || path[n] == '\0');
}

/* The credentials a request of the follower would carry through MAPPING
 * of server S: the server's defaults with every <Location> that covers
 * PREFIX/changes merged in, in the order Apache merges them.  Where
 * OrthancProxyCache is written does not matter (an enclosing <Location>
 * may give the credentials, a nested one turn the cache on). */
static const char *authorization_for(apr_pool_t *p, server_rec *s,
                                     const op_mapping *mapping)
{
    core_server_config *core = ap_get_core_module_config(s->module_config);
    const char *path = apr_pstrcat(p, mapping->prefix.prefix, "changes", NULL);
    op_dir_conf *merged = ap_get_module_config(s->lookup_defaults,
                                               &orthanc_proxy_module);
    int i;

    for (i = 0; core->sec_url && i < core->sec_url->nelts; i++) {
        ap_conf_vector_t *section = APR_ARRAY_IDX(core->sec_url, i,
                                                  ap_conf_vector_t *);
        const core_dir_config *where = ap_get_core_module_config(section);
        op_dir_conf *own = ap_get_module_config(section,
                                                &orthanc_proxy_module);
        if (own && location_covers(where, path)) {
            merged = merged ? op_merge_dir_conf(p, merged, own) : own;
        }
    }
    return merged ? merged->authorization : NULL;
}

static int collect_backend(void *data, server_rec *s,
                           const op_cache_section *section,
                           const op_mapping *mapping)
{
    start_context *ctx = data;
    followed *entry = apr_hash_get(ctx->by_url, mapping->backend.url,
                                   APR_HASH_KEY_STRING);

    if (entry == NULL) {
        entry = apr_pcalloc(ctx->pconf, sizeof(*entry));
        entry->backend = apr_pcalloc(ctx->pconf, sizeof(op_cache_backend));
        entry->backend->url = mapping->backend.url;
        entry->backend->max_delay = ctx->max_delay;
        entry->s = s;
        entry->mapping = mapping;
        entry->authorization = authorization_for(ctx->pconf, s, mapping);
        apr_hash_set(ctx->by_url, mapping->backend.url, APR_HASH_KEY_STRING,
                     entry);
        APR_ARRAY_PUSH(ctx->backends, op_cache_backend *) = entry->backend;
    }
    return 0;
}

/* Every mapping of every server to a followed backend reads its
 * counters, whichever section turned the cache on for it. */
static void attach_mappings(start_context *ctx)
{
    server_rec *s;

    for (s = ctx->main_server; s; s = s->next) {
        const apr_array_header_t *mappings = op_server_conf_get(s)->mappings;
        int i;
        for (i = 0; i < mappings->nelts; i++) {
            op_mapping *mapping = APR_ARRAY_IDX(mappings, i, op_mapping *);
            followed *entry = apr_hash_get(ctx->by_url, mapping->backend.url,
                                           APR_HASH_KEY_STRING);
            mapping->cache_backend = entry ? entry->backend : NULL;
        }
    }
}

/* Where the follower of ENTRY reads the log: the Orthanc itself, or each
 * member of its balancer. */
static const char *follow_targets(start_context *ctx, const followed *entry,
                                  apr_array_header_t **out)
{
    const op_mapping *mapping = entry->mapping;
    apr_array_header_t *targets = apr_array_make(ctx->pconf, 3,
                                                 sizeof(op_follow_target));
    op_tls_settings *tls = apr_pcalloc(ctx->pconf, sizeof(*tls));
    const char *err = op_backend_tls(ctx->pconf, entry->s,
                                     section_url(ctx->ptemp, mapping), tls);

    if (err) {
        return err;
    }
    if (mapping->backend.kind == OP_BACKEND_BALANCER) {
        apr_array_header_t *members = op_balancer_members(
            ctx->pconf, entry->s, mapping->backend.url);
        int i;
        for (i = 0; i < members->nelts; i++) {
            op_follow_target *target = apr_array_push(targets);
            target->member = &APR_ARRAY_IDX(members, i, op_member_ref);
            target->url = target->member->url;
            target->tls = strncasecmp(target->url, "https:", 6) == 0
                          ? tls : NULL;
        }
        if (targets->nelts == 0) {
            return "the balancer has no member";
        }
    }
    else {
        op_follow_target *target = apr_array_push(targets);
        target->url = mapping->backend.url;
        target->member = NULL;
        target->tls = mapping->backend.kind == OP_BACKEND_HTTPS ? tls : NULL;
    }
    *out = targets;
    return NULL;
}

/* Each backend's follower on a singleton watchdog of its own: a stalled
 * Orthanc holds up its own follower only. */
static const char *start_follower(start_context *ctx, const followed *entry,
                                  int index)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_watchdog =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    apr_interval_time_t interval = ctx->max_delay / 4;
    apr_array_header_t *targets;
    op_cache_follower *follower;
    ap_watchdog_t *watchdog;
    const char *err;
    apr_status_t rv;

    if ((err = follow_targets(ctx, entry, &targets)) != NULL) {
        return err;
    }
    follower = op_cache_follower_make(ctx->pconf, ctx->main_server,
                                      entry->backend, targets,
                                      entry->mapping->writer_route,
                                      entry->authorization);
    rv = get_watchdog(&watchdog, apr_psprintf(ctx->pconf, "%s-%d",
                                              WATCHDOG_NAME, index),
                      0, 1, ctx->pconf);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(ctx->ptemp, "mod_watchdog gave no singleton "
                            "watchdog: %pm", &rv);
    }
    if (interval < AP_WD_TM_SLICE) {
        interval = AP_WD_TM_SLICE;
    }
    rv = register_callback(watchdog, interval, follower, op_cache_follow);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(ctx->ptemp, "mod_watchdog refused the follower: "
                            "%pm", &rv);
    }
    return NULL;
}

static int start(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *main_server)
{
    const op_cache_server *conf = cache_of(main_server);
    start_context ctx;
    apr_hash_index_t *hi;
    const char *err;
    int index = 0;

    memset(&ctx, 0, sizeof(ctx));
    ctx.pconf = pconf;
    ctx.ptemp = ptemp;
    ctx.main_server = main_server;
    ctx.max_delay = conf->max_delay > 0 ? conf->max_delay
                                        : OP_CACHE_DEFAULT_MAX_DELAY;
    ctx.by_url = apr_hash_make(ptemp);
    ctx.backends = apr_array_make(pconf, 2, sizeof(op_cache_backend *));
    if (conf->store) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_server,
                     "OrthancProxyCacheStore %s is no longer used: the "
                     "generation counters live in mod_slotmem_shm's shared "
                     "memory, and each front end's follower keeps its own "
                     "fresh (docs/cluster.md); remove the line",
                     conf->store);
    }
    if ((err = op_http_global_init(pconf)) != NULL) {
        refuse(main_server, apr_pstrcat(ptemp, "OrthancProxyCache: libcurl "
                                        "could not be initialised: ", err,
                                        NULL));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    visit_cached_mappings(ptemp, main_server, collect_backend, &ctx);
    if ((err = op_cache_generations_create(pconf, ptemp, ctx.backends))
        != NULL) {
        refuse(main_server, apr_pstrcat(ptemp, "OrthancProxyCache: the "
                                        "generation counters: ", err, NULL));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    attach_mappings(&ctx);
    for (hi = apr_hash_first(ptemp, ctx.by_url); hi; hi = apr_hash_next(hi)) {
        const followed *entry = apr_hash_this_val(hi);
        if ((err = start_follower(&ctx, entry, index++)) != NULL) {
            refuse(main_server, apr_psprintf(ptemp, "OrthancProxyCache: "
                                             "cannot follow %s: %s",
                                             entry->backend->url, err));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
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

void op_register_cache(void)
{
    /* Before mod_cache reads the key generator and before mod_watchdog
     * decides which watchdogs run. */
    static const char *const before[] = { "mod_cache.c", "mod_watchdog.c",
                                          NULL };

    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, before, APR_HOOK_REALLY_FIRST);
    op_register_cache_request();
}
