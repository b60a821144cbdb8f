/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_request.c - OrthancProxyCache on each request (see cache_request.h).
 *
 * With CacheQuickHandler Off (cache_setup.c refuses the configuration
 * otherwise), mod_cache looks for a stored answer in its handler, after
 * Apache's authentication and authorization and after this module's access
 * decision: every request is judged before anything answers it.
 *
 * A fixup that runs after the access decision classifies the request
 * (logic/cache_policy.c) and reads the generation counters of its scope
 * before mod_cache or mod_proxy do anything: an answer Orthanc gives later
 * is stored under values read before it was asked for, so a change that
 * happens meanwhile increments them and the answer is never reached again.
 *
 * Answers mod_cache may store get an entity tag from their key and a
 * freshness for mod_cache (s-maxage) on the way in; on the way out to the
 * browser, "no-cache" replaces it, so that a browser asks every time and
 * gets a 304 from mod_cache without Orthanc working.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <apr_optional_hooks.h>
#include <apr_strings.h>

#include "mod_proxy.h"
#include "logic/cache_key.h"
#include "logic/cache_policy.h"
#include "apache/request_context.h"
#include "cache_config.h"
#include "cache_generations.h"
#include "cache_request.h"

APLOG_USE_MODULE(orthanc_proxy);

#define VALIDATORS_FILTER "ORTHANC_PROXY_CACHE_VALIDATORS"
#define CLIENT_FILTER "ORTHANC_PROXY_CACHE_CLIENT"
#define CHANGES_FILTER "ORTHANC_PROXY_CACHE_CHANGES"

/* Headers the module sets per request, never part of a stored answer. */
static const char *const PER_REQUEST[] = {
    "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Vary",
    NULL
};

/* ---------------------------------------------------------------- keys */

static const char *lower(apr_pool_t *p, const char *text)
{
    char *copy = apr_pstrdup(p, text);
    ap_str_tolower(copy);
    return copy;
}

/* mod_cache's own key (cache_storage.c, cache_canonicalise_key), without
 * the effects of CacheKeyBaseURL, CacheIgnoreQueryString and
 * CacheIgnoreURLSessionIdentifiers, which a replaced key generator cannot
 * read. */
static apr_status_t default_key(request_rec *r, apr_pool_t *p,
                                const char **key)
{
    const op_cache_server *conf = op_server_conf_get(r->server)->cache;
    int forward = r->proxyreq && r->proxyreq != PROXYREQ_REVERSE;
    int early = r->proxyreq == PROXYREQ_PROXY || conf->quick_handler;
    const char *path = early ? r->parsed_uri.path : r->uri;
    const char *query = early ? r->parsed_uri.query : r->args;
    const char *scheme = r->proxyreq && r->parsed_uri.scheme
                         ? lower(p, r->parsed_uri.scheme) : ap_http_scheme(r);
    const char *host, *port;

    if (!forward) {
        host = ap_get_server_name(r);
        port = apr_psprintf(p, ":%u", ap_get_server_port(r));
    }
    else {
        host = r->parsed_uri.hostname ? lower(p, r->parsed_uri.hostname) : NULL;
        if (r->parsed_uri.port_str) {
            port = apr_pstrcat(p, ":", lower(p, r->parsed_uri.port_str), NULL);
        }
        else if (apr_uri_port_of_scheme(scheme)) {
            port = apr_psprintf(p, ":%u", apr_uri_port_of_scheme(scheme));
        }
        else {
            port = "";
        }
    }
    *key = apr_pstrcat(p, scheme, "://", host ? host : "_default_", port,
                       path, "?", query, NULL);
    return APR_SUCCESS;
}

apr_status_t op_cache_generate_key(request_rec *r, apr_pool_t *p,
                                   const char **key)
{
    const op_request *req = op_request_get(r);

    if (req && req->cache) {
        *key = req->cache->key;
        return APR_SUCCESS;
    }
    return default_key(r, p, key);
}

/* A key under which nothing is ever stored (r->no_cache is set too) nor
 * found: a random one. */
static const char *unreachable_key(request_rec *r)
{
    unsigned char random[8];
    if (apr_generate_random_bytes(random, sizeof(random)) != APR_SUCCESS) {
        memset(random, 0, sizeof(random));
    }
    return apr_pstrcat(r->pool, "orthanc-uncached ",
                       op_token_text(r->pool, random), NULL);
}

static const char *key_of(request_rec *r, const op_request *req,
                          const op_dir_conf *conf, const char *tokens)
{
    op_cache_key_parts parts;

    parts.tokens = tokens;
    parts.scheme = ap_http_scheme(r);
    parts.public_host = req->public_host;
    parts.prefix = req->mapping->prefix.prefix_bare;
    parts.path = req->backend_path;
    parts.query = r->args;
    parts.backend = req->mapping->backend.url;
    /* Orthanc's authorization may answer each user differently. */
    parts.user = conf->user_header ? r->user : NULL;
    parts.credentials = conf->credentials_user;
    parts.accept = apr_table_get(r->headers_in, "Accept");
    parts.accept_encoding = apr_table_get(r->headers_in, "Accept-Encoding");
    return op_cache_key(r->pool, &parts);
}

/* ------------------------------------------------------------- filters */

/* Headers for mod_cache, on an answer it may store. */
static apr_status_t add_validators(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    op_cache_request *cache = f->ctx;

    if (r->status == HTTP_OK) {
        const char *const *name;
        const char *theirs = apr_table_get(r->headers_out, "ETag");
        /* Orthanc's own validator (revision and MD5 of metadata and
         * attachments, >= 1.9.2) stays: Orthanc parses If-None-Match and
         * If-Match there, and answers 400 to any other value. */
        if (theirs) {
            cache->etag = theirs;
        }
        else {
            apr_table_setn(r->headers_out, "ETag", cache->etag);
        }
        apr_table_setn(r->headers_out, "Cache-Control",
                       apr_psprintf(r->pool, "s-maxage=%" APR_INT64_T_FMT
                                    ", proxy-revalidate", cache->max_age));
        /* Set aside what belongs to this request only (CORS): mod_cache
         * stores err_headers_out too. */
        cache->set_aside = apr_table_make(r->pool, 3);
        for (name = PER_REQUEST; *name; name++) {
            const char *value = apr_table_get(r->err_headers_out, *name);
            if (value) {
                apr_table_setn(cache->set_aside, *name, value);
                apr_table_unset(r->err_headers_out, *name);
            }
        }
    }
    else {
        r->no_cache = 1;
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* What the browser gets: it must ask every time, and answers keyed by
 * user are its own. */
static void headers_for_client(request_rec *r, const op_cache_request *cache)
{
    if (apr_table_get(r->headers_out, "ETag")) {
        apr_table_setn(r->headers_out, "Cache-Control",
                       cache->per_user ? "private, no-cache" : "no-cache");
    }
    if (cache->set_aside) {
        r->err_headers_out = apr_table_overlay(r->pool, r->err_headers_out,
                                               cache->set_aside);
    }
}

static apr_status_t fix_client_headers(ap_filter_t *f, apr_bucket_brigade *bb)
{
    if (f->r->status == HTTP_OK) {
        headers_for_client(f->r, f->ctx);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* mod_cache answers a browser's revalidation with 304 through the error
 * path, which keeps only the protocol filters. */
static void fix_not_modified(request_rec *r)
{
    const op_request *req = op_request_get(r);

    if (req && req->cache && req->cache->etag
        && r->status == HTTP_NOT_MODIFIED) {
        headers_for_client(r, req->cache);
    }
}

/* A change through the proxy: its counters are incremented once Orthanc
 * has made it. */
static apr_status_t renew_after_change(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const op_request *req = op_request_get(r);

    if (ap_is_HTTP_SUCCESS(r->status) && req) {
        op_cache_bump bump = op_cache_bump_for(
            r->method, &req->path, req->mapping->prefix.path.segments->nelts);
        op_cache_apply_bump(req->mapping->cache_backend, &bump);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* ---------------------------------------------------------------- fixup */

static void prepare_read(request_rec *r, op_request *req,
                         const op_dir_conf *conf)
{
    op_cache_request *cache = apr_pcalloc(r->pool, sizeof(*cache));
    op_cache_route route = op_cache_classify(
        &req->path, req->mapping->prefix.path.segments->nelts);
    const char *tokens = NULL, *why = "the route is never cached";

    req->cache = cache;
    if (route.cls != OP_CACHE_NEVER) {
        tokens = op_cache_tokens(req->mapping->cache_backend, r->pool, &route,
                                 &why);
    }
    if (tokens == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "OrthancProxyCache: "
                      "bypassed for %s: %s", req->mapping->backend.url, why);
        cache->key = unreachable_key(r);
        r->no_cache = 1;
        return;
    }
    cache->key = key_of(r, req, conf, tokens);
    cache->etag = op_cache_etag(r->pool, cache->key);
    cache->max_age = op_cache_max_age(conf, route.cls == OP_CACHE_AGGREGATE);
    cache->per_user = conf->user_header != NULL;
    if (r->header_only) {
        /* A HEAD is answered from a stored GET, never stored itself. */
        r->no_cache = 1;
    }
    ap_add_output_filter(VALIDATORS_FILTER, cache, r, r->connection);
    ap_add_output_filter(CLIENT_FILTER, cache, r, r->connection);
}

static int prepare_cache(request_rec *r)
{
    op_request *req = op_request_get(r);
    const op_dir_conf *conf;

    if (req == NULL || req->action != OP_ACTION_PROXY
        || r->proxyreq != PROXYREQ_REVERSE || req->reason != NULL) {
        return DECLINED;
    }
    conf = op_dir_conf_get(r);
    if (conf->cache != 1) {
        return DECLINED;
    }
    if (req->answer_per_scope) {
        /* A list filtered for this user's studies: another user must
         * never get it (apache/studies/studies_list.c answers it). */
        op_cache_request *cache = apr_pcalloc(r->pool, sizeof(*cache));
        cache->key = unreachable_key(r);
        req->cache = cache;
        r->no_cache = 1;
        return DECLINED;
    }
    if (r->method_number == M_GET) {
        prepare_read(r, req, conf);
    }
    else {
        ap_add_output_filter(CHANGES_FILTER, NULL, r, r->connection);
    }
    return DECLINED;
}

/* On the copy of the headers mod_proxy sends: the module's own entity
 * tags (a browser's revalidation, or mod_cache's of a stored answer) mean
 * nothing to Orthanc, which answers 400 to them where it reads these
 * headers (metadata and attachments). */
static int strip_own_validators(request_rec *r)
{
    static const char *const CONDITIONAL[] = { "If-None-Match", "If-Match",
                                               NULL };
    const char *const *name;

    if (op_request_get(r) == NULL) {
        return DECLINED;
    }
    for (name = CONDITIONAL; *name; name++) {
        const char *value = apr_table_get(r->headers_in, *name), *kept;
        if (value && (kept = op_without_own_etags(r->pool, value)) != value) {
            if (kept) {
                apr_table_setn(r->headers_in, *name, kept);
            }
            else {
                apr_table_unset(r->headers_in, *name);
            }
        }
    }
    return OK;
}

void op_register_cache_request(void)
{
    APR_OPTIONAL_HOOK(proxy, fixups, strip_own_validators, NULL, NULL,
                      APR_HOOK_MIDDLE);
    /* After apache/forwarding.c's fixup (APR_HOOK_REALLY_LAST), which takes the
     * access decision and finds the public host, and OrthancProxyStudies'
     * (APR_HOOK_REALLY_LAST + 1), which says whether the answer depends on
     * the user's studies. */
    ap_hook_fixups(prepare_cache, NULL, NULL, APR_HOOK_REALLY_LAST + 2);
    ap_hook_insert_error_filter(fix_not_modified, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(VALIDATORS_FILTER, add_validators, NULL,
                              AP_FTYPE_CONTENT_SET);
    /* After mod_cache's CACHE_SAVE and CACHE_OUT (AP_FTYPE_CONTENT_SET + 1). */
    ap_register_output_filter(CLIENT_FILTER, fix_client_headers, NULL,
                              AP_FTYPE_CONTENT_SET + 2);
    ap_register_output_filter(CHANGES_FILTER, renew_after_change, NULL,
                              AP_FTYPE_CONTENT_SET);
}
