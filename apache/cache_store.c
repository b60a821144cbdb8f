/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_store.c - generation tokens on mod_socache (see cache_store.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>
#include <apr_strings.h>

#include "logic/cache_key.h"
#include "cache_store.h"

APLOG_USE_MODULE(orthanc_proxy);

struct op_cache_runtime {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;     /* NULL when the provider needs none */
    apr_interval_time_t max_delay;
    server_rec *server;            /* the main server, for the provider's logs */
};

/* Tokens live long: an expired one is only created fresh again. */
#define TOKEN_LIFETIME apr_time_from_sec(30 * 86400)
#define TOKEN_LENGTH 16
#define SYNC_LENGTH 96

static apr_status_t destroy_instance(void *data)
{
    op_cache_runtime *rt = data;
    rt->provider->destroy(rt->instance, rt->server);
    return APR_SUCCESS;
}

op_cache_runtime *op_cache_runtime_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                          server_rec *s, const char *spec,
                                          apr_interval_time_t max_delay,
                                          const char **err)
{
    op_cache_runtime *rt = apr_pcalloc(pconf, sizeof(*rt));
    const char *colon = strchr(spec, ':');
    const char *name = colon ? apr_pstrmemdup(ptemp, spec, colon - spec) : spec;
    struct ap_socache_hints hints;
    apr_status_t rv;

    rt->max_delay = max_delay;
    rt->server = s;
    rt->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                      AP_SOCACHE_PROVIDER_VERSION);
    if (rt->provider == NULL) {
        *err = apr_psprintf(ptemp, "the socache provider '%s' is not loaded "
                            "(Debian: a2enmod socache_%s)", name, name);
        return NULL;
    }
    if ((*err = rt->provider->create(&rt->instance, colon ? colon + 1 : NULL,
                                     ptemp, pconf)) != NULL) {
        return NULL;
    }
    /* Token names are about 60 bytes, tokens 16. */
    hints.avg_id_len = 60;
    hints.avg_obj_size = 20;
    hints.expiry_interval = apr_time_from_sec(60);
    if ((rv = rt->provider->init(rt->instance, "orthanc-proxy", &hints, s,
                                 pconf)) != APR_SUCCESS) {
        *err = apr_psprintf(ptemp, "the socache '%s' could not be "
                            "initialised: %pm", spec, &rv);
        return NULL;
    }
    apr_pool_cleanup_register(pconf, rt, destroy_instance,
                              apr_pool_cleanup_null);
    if (rt->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&rt->mutex, NULL, OP_CACHE_MUTEX_TYPE,
                                    NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            *err = apr_psprintf(ptemp, "the mutex %s could not be created: "
                                "%pm", OP_CACHE_MUTEX_TYPE, &rv);
            return NULL;
        }
    }
    return rt;
}

void op_cache_runtime_child_init(op_cache_runtime *rt, apr_pool_t *p,
                                 server_rec *s)
{
    apr_status_t rv;

    if (rt->mutex == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&rt->mutex,
                                     apr_global_mutex_lockfile(rt->mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "OrthancProxyCache: the "
                     "mutex %s could not be attached in this child",
                     OP_CACHE_MUTEX_TYPE);
    }
}

apr_interval_time_t op_cache_max_delay(const op_cache_runtime *rt)
{
    return rt->max_delay;
}

static int lock(op_cache_runtime *rt)
{
    return rt->mutex == NULL || apr_global_mutex_lock(rt->mutex) == APR_SUCCESS;
}

static void unlock(op_cache_runtime *rt)
{
    if (rt->mutex) {
        apr_global_mutex_unlock(rt->mutex);
    }
}

/* Reads entry NAME into BUF (SIZE bytes, NUL-terminated); 0 if missing. */
static int retrieve(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                    const char *name, char *buf, unsigned int size)
{
    unsigned int length = size - 1;
    apr_status_t rv = rt->provider->retrieve(rt->instance, s,
                                             (const unsigned char *)name,
                                             (unsigned int)strlen(name),
                                             (unsigned char *)buf, &length, p);
    if (rv != APR_SUCCESS || length >= size) {
        return 0;
    }
    buf[length] = '\0';
    return 1;
}

static apr_status_t store(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                          const char *name, const char *value)
{
    return rt->provider->store(rt->instance, s, (const unsigned char *)name,
                               (unsigned int)strlen(name),
                               apr_time_now() + TOKEN_LIFETIME,
                               (unsigned char *)value,
                               (unsigned int)strlen(value), p);
}

/* Stores a fresh token under NAME; NULL if the store failed. */
static const char *renew(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                         const char *name)
{
    unsigned char random[8];
    const char *token;
    apr_status_t rv;

    if (apr_generate_random_bytes(random, sizeof(random)) != APR_SUCCESS) {
        return NULL;
    }
    token = op_token_text(p, random);
    if ((rv = store(rt, s, p, name, token)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "OrthancProxyCache: cannot "
                     "store a generation token in the socache; answers are "
                     "not taken from the cache meanwhile");
        return NULL;
    }
    return token;
}

/* The token under NAME, created fresh when missing. */
static const char *token_of(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                            const char *name)
{
    char *buf = apr_palloc(p, TOKEN_LENGTH + 1);
    if (retrieve(rt, s, p, name, buf, TOKEN_LENGTH + 1)
        && strlen(buf) == TOKEN_LENGTH) {
        return buf;
    }
    return renew(rt, s, p, name);
}

static const char *scope_name(apr_pool_t *p, const char *tag,
                              const op_scope *scope)
{
    return op_token_name(p, op_scope_letter(scope->kind), tag, scope->id);
}

static int parse_sync(const char *text, op_cache_sync *out)
{
    char *end;
    out->sync_start = apr_strtoi64(text, &end, 10);
    if (*end != ' ') {
        return 0;
    }
    out->cursor = apr_strtoi64(end + 1, &end, 10);
    if (*end != ' ') {
        return 0;
    }
    out->instances = apr_strtoi64(end + 1, &end, 10);
    if (*end != ' ') {
        return 0;
    }
    out->labels = (int)apr_strtoi64(end + 1, &end, 10);
    return *end == '\0';
}

static int sync_of(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                   const char *tag, op_cache_sync *out)
{
    char buf[SYNC_LENGTH];
    return retrieve(rt, s, p, op_token_name(p, 'W', tag, NULL), buf,
                    sizeof(buf))
           && parse_sync(buf, out);
}

const char *op_cache_read_tokens(op_cache_runtime *rt, server_rec *s,
                                 apr_pool_t *p, const char *tag,
                                 const op_cache_route *route,
                                 const char **why)
{
    const char *everything = NULL, *own = NULL;
    op_cache_sync sync;
    int in_sync, labels = 0;

    *why = "the token store failed";
    if (!lock(rt)) {
        return NULL;
    }
    in_sync = sync_of(rt, s, p, tag, &sync)
              && sync.sync_start + rt->max_delay >= apr_time_now();
    if (in_sync && !(labels = route->shows_labels && sync.labels)) {
        everything = token_of(rt, s, p, op_token_name(p, 'G', tag, NULL));
        own = token_of(rt, s, p, scope_name(p, tag, &route->scope));
    }
    unlock(rt);
    if (!in_sync) {
        *why = "the change follower is behind";
    }
    else if (labels) {
        *why = "the answer shows labels, whose changes Orthanc does not log";
    }
    if (everything == NULL || own == NULL) {
        return NULL;
    }
    return apr_pstrcat(p, everything, ".", own, NULL);
}

void op_cache_renew(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                    const char *tag, const op_scope *scopes, int n, int lists,
                    int everything)
{
    static const op_scope LISTS = { OP_SCOPE_LISTS, NULL };
    int i;

    if (!lock(rt)) {
        return;
    }
    for (i = 0; i < n; i++) {
        renew(rt, s, p, scope_name(p, tag, &scopes[i]));
    }
    if (lists) {
        renew(rt, s, p, scope_name(p, tag, &LISTS));
    }
    if (everything) {
        renew(rt, s, p, op_token_name(p, 'G', tag, NULL));
    }
    unlock(rt);
}

int op_cache_sync_read(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                       const char *tag, op_cache_sync *out)
{
    int found;

    if (!lock(rt)) {
        return 0;
    }
    found = sync_of(rt, s, p, tag, out);
    unlock(rt);
    return found;
}

void op_cache_sync_write(op_cache_runtime *rt, server_rec *s, apr_pool_t *p,
                         const char *tag, const op_cache_sync *sync)
{
    const char *text = apr_psprintf(p, "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT
                                    " %" APR_INT64_T_FMT " %d",
                                    (apr_int64_t)sync->sync_start, sync->cursor,
                                    sync->instances, sync->labels ? 1 : 0);
    apr_status_t rv;

    if (!lock(rt)) {
        return;
    }
    rv = store(rt, s, p, op_token_name(p, 'W', tag, NULL), text);
    unlock(rt);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "OrthancProxyCache: cannot "
                     "record the change follower's progress in the socache");
    }
}
