/* SPDX-License-Identifier: Apache-2.0 */
/*
 * balancer_setup.c - a balancer of Orthancs, checked and set up when
 * Apache starts (check_config, through proxy_bridge.c), before
 * mod_proxy_balancer copies it into shared memory.
 *
 * - Members' retry: with retry=0 (the module's default for a single
 *   Orthanc) a balancer tries a dead member again at each pick: hundreds of
 *   failed connects and error-log lines per second, and mod_proxy_hcheck,
 *   which only counts a failed check against a member that is not in
 *   error, can hardly ever disable it.  A member that fails to connect is
 *   therefore left out for one health-check interval (hcinterval) when it
 *   has a check - a passing check brings it back at once, so it serves
 *   again within one interval - and for 1 s when it has none.  Its
 *   requests meanwhile go to the other members (a refused connect is
 *   retried on another member within the request).
 * - Health checks Orthanc cannot pass are refused: Orthanc answers HEAD
 *   and OPTIONS with 404, which would keep every member disabled.
 * - writer=ROUTE: the balancer reads the module's pin from a cookie
 *   (cluster/member_routing.c), never from the URL, and a pinned request never
 *   fails over to another member: a write is answered 503 rather than
 *   stored by a member the topology keeps for reading, and a job is
 *   polled where it runs or not at all.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_strings.h>

#include "mod_proxy.h"
#include "balancer_setup.h"
#include "request_context.h"

APLOG_USE_MODULE(orthanc_proxy);

/* Without a health check, how long a member that failed to connect is
 * left out. */
#define OP_MEMBER_RETRY apr_time_from_sec(1)

/* The URL form of the sticky session: a name with a space, which no
 * request URL can carry (Apache splits the request line on spaces, and
 * the module escapes what it forwards), so neither a client's path nor
 * its query can name a route.  The query matters on httpd 2.4.54 to
 * 2.4.61, whose balancer appends it raw to the URL it reads the route
 * from, before the cookie: POST /orthanc/instances?ORTHANC_PROXY_ROUTE;=x.r1
 * would have gone to a reader with the name "ORTHANC_PROXY_ROUTE;". */
#define OP_PIN_NEVER_IN_URL OP_PIN_COOKIE " (cookie only)"

static const char *check_health_check(apr_pool_t *p, const proxy_worker *member)
{
    const char *method;

    /* Named here: mod_proxy's own function would tie the module to
     * mod_proxy.so's symbols (see proxy_bridge.c). */
    switch (member->s->method) {
    case HEAD:
    case HEAD11:
        method = "HEAD";
        break;
    case OPTIONS:
    case OPTIONS11:
        method = "OPTIONS";
        break;
    default:
        return NULL;
    }
    return apr_psprintf(p, "the health check of %s uses %s, which Orthanc "
                        "answers with 404: use hcmethod=GET "
                        "hcuri=/changes?last (it needs the database)",
                        member->s->name_ex, method);
}

static void apply_member_defaults(proxy_worker *member)
{
    if (!member->s->retry_set) {
        member->s->retry = member->s->method != NONE ? member->s->interval
                                                     : OP_MEMBER_RETRY;
        member->s->retry_set = 1;
    }
}

static const char *routes_of(apr_pool_t *p, const proxy_balancer *balancer)
{
    const char *routes = NULL;
    int i;

    for (i = 0; i < balancer->workers->nelts; i++) {
        const proxy_worker *member = APR_ARRAY_IDX(balancer->workers, i,
                                                   proxy_worker *);
        if (*member->s->route) {
            routes = routes ? apr_pstrcat(p, routes, ", ", member->s->route,
                                          NULL)
                            : member->s->route;
        }
    }
    return routes ? routes : "none";
}

/* The balancer reads the module's pin from its cookie, never from the URL,
 * and never fails a pinned request over (nofailover). */
static void own_sticky_session(proxy_balancer_shared *shared)
{
    apr_cpystrn(shared->sticky, OP_PIN_COOKIE, sizeof(shared->sticky));
    apr_cpystrn(shared->sticky_path, OP_PIN_NEVER_IN_URL,
                sizeof(shared->sticky_path));
    /* The pin is "pin.ROUTE": the route follows the separator. */
    shared->sticky_separator = '.';
    shared->sticky_separator_set = 1;
    shared->sticky_force = 1;
    shared->sticky_force_set = 1;
}

static const char *pin_writer(apr_pool_t *p, const op_mapping *mapping,
                              proxy_balancer *balancer)
{
    proxy_balancer_shared *shared = balancer->s;
    int i, found = 0;

    for (i = 0; i < balancer->workers->nelts; i++) {
        const proxy_worker *member = APR_ARRAY_IDX(balancer->workers, i,
                                                   proxy_worker *);
        found |= strcmp(member->s->route, mapping->writer_route) == 0;
    }
    if (!found) {
        return apr_psprintf(p, "writer=%s: no BalancerMember of %s has "
                            "route=%s (routes: %s)", mapping->writer_route,
                            shared->name, mapping->writer_route,
                            routes_of(p, balancer));
    }
    if (*shared->sticky && strcmp(shared->sticky, OP_PIN_COOKIE) != 0) {
        return apr_psprintf(p, "writer=%s: the module routes with the "
                            "balancer's sticky sessions; remove "
                            "stickysession=%s from %s", mapping->writer_route,
                            shared->sticky, shared->name);
    }
    own_sticky_session(shared);
    return NULL;
}

const char *op_setup_balancer(apr_pool_t *p, const op_mapping *mapping,
                              proxy_balancer *balancer)
{
    int i;

    for (i = 0; i < balancer->workers->nelts; i++) {
        proxy_worker *member = APR_ARRAY_IDX(balancer->workers, i,
                                             proxy_worker *);
        const char *err = check_health_check(p, member);
        if (err) {
            return err;
        }
        apply_member_defaults(member);
    }
    return mapping->writer_route ? pin_writer(p, mapping, balancer) : NULL;
}

static proxy_balancer *balancer_named(const server_rec *s, const char *url)
{
    module *proxy = ap_find_linked_module("mod_proxy.c");
    proxy_server_conf *conf;
    int i;

    if (proxy == NULL) {
        return NULL;
    }
    conf = ap_get_module_config(s->module_config, proxy);
    for (i = 0; i < conf->balancers->nelts; i++) {
        proxy_balancer *balancer = &APR_ARRAY_IDX(conf->balancers, i,
                                                  proxy_balancer);
        apr_size_t n = strlen(balancer->s->name);
        if (strncasecmp(url, balancer->s->name, n) == 0
            && (url[n] == '/' || url[n] == '\0')) {
            return balancer;
        }
    }
    return NULL;
}

void op_member_dropped_request(request_rec *r, const op_mapping *mapping)
{
    const char *name = apr_table_get(r->subprocess_env, "BALANCER_WORKER_NAME");
    proxy_balancer *balancer = balancer_named(r->server, mapping->backend.url);
    int i;

    if (name == NULL || balancer == NULL) {
        return;
    }
    for (i = 0; i < balancer->workers->nelts; i++) {
        proxy_worker *member = APR_ARRAY_IDX(balancer->workers, i,
                                             proxy_worker *);
        /* Not the writer: in error it would refuse every write and every
         * job (they never fail over) for its whole retry time, while it
         * may only have closed one connection; a writer that is really
         * down fails its next connect, and mod_proxy puts it in error. */
        if (mapping->writer_route
            && strcmp(member->s->route, mapping->writer_route) == 0) {
            continue;
        }
        if (strcmp(member->s->name_ex, name) == 0
            && !(member->s->status & PROXY_WORKER_IGNORE_ERRORS)) {
            member->s->status |= PROXY_WORKER_IN_ERROR;
            member->s->error_time = apr_time_now();
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "member %s of %s put "
                          "in error for %" APR_TIME_T_FMT " ms", name,
                          balancer->s->name,
                          apr_time_as_msec(member->s->retry));
        }
    }
}

apr_array_header_t *op_balancer_members(apr_pool_t *p, const server_rec *s,
                                        const char *balancer_url)
{
    proxy_balancer *balancer = balancer_named(s, balancer_url);
    apr_array_header_t *members = apr_array_make(p, 4, sizeof(op_member_ref));
    int i;

    for (i = 0; balancer && i < balancer->workers->nelts; i++) {
        proxy_worker *worker = APR_ARRAY_IDX(balancer->workers, i,
                                             proxy_worker *);
        op_member_ref *member = apr_array_push(members);
        member->url = apr_pstrdup(p, worker->s->name_ex);
        member->route = *worker->s->route ? apr_pstrdup(p, worker->s->route)
                                          : NULL;
        member->worker = worker;
    }
    return members;
}

int op_member_health(const op_member_ref *member)
{
    /* The shared status, as the balancer reads it (mod_proxy.h). */
    const proxy_worker *worker = member->worker;

    if (worker->s->status & PROXY_WORKER_NOT_USABLE_BITMAP) {
        return 0;
    }
    if (worker->s->status & (PROXY_WORKER_DRAIN | PROXY_WORKER_HOT_STANDBY
                             | PROXY_WORKER_HOT_SPARE)) {
        return 1;
    }
    return 2;
}

void op_keep_sticky_session(request_rec *r, const op_mapping *mapping)
{
    proxy_balancer *balancer = balancer_named(r->server, mapping->backend.url);
    proxy_balancer_shared *shared;

    if (balancer == NULL) {
        return;
    }
    shared = balancer->s;
    if (strcmp(shared->sticky, OP_PIN_COOKIE) == 0
        && strcmp(shared->sticky_path, OP_PIN_NEVER_IN_URL) == 0
        && shared->sticky_separator == '.' && shared->sticky_force) {
        return;
    }
    /* balancer-manager changed it at run time (its "Sticky Session" and
     * "Failover" settings): routing by writer= would no longer hold. */
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%s: stickysession "
                  "(\"%s|%s\") or nofailover (%s) was changed at run time, "
                  "probably in balancer-manager; writer=%s needs the "
                  "module's own (%s, nofailover On): restored (mapping %s)",
                  shared->name, ap_escape_logitem(r->pool, shared->sticky),
                  ap_escape_logitem(r->pool, shared->sticky_path),
                  shared->sticky_force ? "On" : "Off", mapping->writer_route,
                  OP_PIN_COOKIE, mapping->prefix.prefix);
    own_sticky_session(shared);
}
