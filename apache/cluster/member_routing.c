/* SPDX-License-Identifier: Apache-2.0 */
/*
 * member_routing.c - which Orthanc of a balancer takes a request.
 *
 * With "writer=ROUTE" on a balancer mapping, requests that change state or
 * may start a job, and every request about a job (logic/route_class.c), go
 * to the member with that route; the others are left to the balancer's
 * own choice (lbset, lbmethod, health checks, balancer-manager).  The
 * writer is chosen with mod_proxy_balancer's own sticky sessions: the
 * balancer reads a route from a cookie (find_session_route), so for the
 * time the balancer chooses, the request's Cookie header is the module's
 * pin (or nothing, for a read), never what the client sent: a client
 * cannot pick a member.  The client's cookies are put back on the copy of
 * the headers mod_proxy sends to Orthanc, and on the request once mod_proxy
 * is done (logs, and an ErrorDocument, see them as they came).
 * apache/balancer_setup.c makes the balancer read that cookie and never fail a
 * pinned request over to another member (nofailover).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_optional_hooks.h>
#include <apr_strings.h>

#include "mod_proxy.h"
#include "logic/route_class.h"
#include "apache/balancer_setup.h"
#include "apache/request_context.h"
#include "idempotent_retry.h"
#include "member_routing.h"

APLOG_USE_MODULE(orthanc_proxy);

static int collect_cookie(void *data, const char *name, const char *value)
{
    APR_ARRAY_PUSH((apr_array_header_t *)data, const char *) = value;
    return 1;
}

static void put_back_cookies(apr_table_t *headers, const op_request *req)
{
    int i;

    apr_table_unset(headers, "Cookie");
    for (i = 0; i < req->client_cookies->nelts; i++) {
        apr_table_addn(headers, "Cookie",
                       APR_ARRAY_IDX(req->client_cookies, i, const char *));
    }
}

int op_route_to_member(request_rec *r)
{
    op_request *req = op_request_get(r);
    op_route_class route_class;

    if (req == NULL || req->action != OP_ACTION_PROXY || req->reason
        || r->proxyreq != PROXYREQ_REVERSE
        || req->mapping->backend.kind != OP_BACKEND_BALANCER
        || req->client_cookies) {
        return DECLINED;
    }
    op_guard_idempotent_request(r);
    if (req->mapping->writer_route == NULL) {
        return DECLINED;
    }
    op_keep_sticky_session(r, req->mapping);
    route_class = op_route_classify(r->method, &req->path,
                                    req->mapping->prefix.path.segments->nelts);
    req->client_cookies = apr_array_make(r->pool, 1, sizeof(const char *));
    apr_table_do(collect_cookie, req->client_cookies, r->headers_in, "Cookie",
                 NULL);
    if (route_class == OP_ROUTE_READ) {
        apr_table_unset(r->headers_in, "Cookie");
    }
    else {
        apr_table_setn(r->headers_in, "Cookie", req->mapping->writer_pin);
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "%s %s: %s, %s", r->method,
                  ap_escape_logitem(r->pool, req->orthanc_path),
                  op_route_class_name(route_class),
                  route_class == OP_ROUTE_READ
                  ? "the balancer chooses the member"
                  : apr_pstrcat(r->pool, "pinned to route ",
                                req->mapping->writer_route, NULL));
    return DECLINED;
}

/* mod_proxy's fixups run on the copy of the headers sent to Orthanc, once
 * the balancer has chosen: Orthanc gets the client's cookies. */
static int restore_for_orthanc(request_rec *r)
{
    const op_request *req = op_request_get(r);

    if (req && req->client_cookies) {
        put_back_cookies(r->headers_in, req);
    }
    return OK;
}

/* Runs once mod_proxy is done with the request, whatever happened: the
 * client's cookies come back before a GET a member dropped is asked again. */
static int restore_for_apache(int *status, request_rec *r)
{
    op_request *req = op_request_get(r);

    if (req && req->client_cookies) {
        put_back_cookies(r->headers_in, req);
        req->client_cookies = NULL;
    }
    return op_retry_dropped_request(status, r) ? OK : DECLINED;
}

void op_register_member_routing(void)
{
    op_register_idempotent_retry();
    APR_OPTIONAL_HOOK(proxy, fixups, restore_for_orthanc, NULL, NULL,
                      APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(proxy, request_status, restore_for_apache, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
