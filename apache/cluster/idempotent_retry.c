/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idempotent_retry.c - a GET that a member dropped is asked again of the
 * balancer, once.
 *
 * mod_proxy_balancer fails a request over to another member only when the
 * first one could not be reached: nothing was sent.  A member that dies
 * while it works on a request (killed, crashed, restarted) leaves that
 * request without an answer: mod_proxy then sends the client a 502, or,
 * on a kept-alive client connection, closes it without a word so that the
 * client retries by itself.  A GET changes nothing in Orthanc, and when no
 * byte of the answer has reached the client it can be asked again; the
 * module does so once, as an internal redirect, which goes through the
 * whole request cycle again (the access policy included) and lets the
 * balancer choose a member anew, without the member that dropped it
 * (apache/balancer_setup.c puts it in error, as mod_proxy does with a member it
 * cannot reach; its pooled connections may be as dead).  Only GET (HEAD
 * is forwarded as a GET but keeps its own semantics), never a request with
 * a body, never after a timeout (a slow answer asked twice costs twice),
 * never twice, and only on a balancer: a single Orthanc has no other
 * member to ask.
 */
/* Before APR's headers: without offsetof, APR_BRIGADE_SENTINEL takes a
 * member address through a null pointer (see error_response.c). */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "apache/balancer_setup.h"
#include "apache/request_context.h"
#include "idempotent_retry.h"

APLOG_USE_MODULE(orthanc_proxy);

#define GUARD_FILTER "ORTHANC_PROXY_RETRY_GUARD"

/* Keyed on the request: set when the guard swallowed a dropped answer. */
#define DROPPED_NOTE "orthanc-proxy-dropped"

static int retriable(const request_rec *r)
{
    return r->prev == NULL && r->method_number == M_GET && !r->header_only
           && apr_table_get(r->headers_in, "Content-Length") == NULL
           && apr_table_get(r->headers_in, "Transfer-Encoding") == NULL;
}

void op_guard_idempotent_request(request_rec *r)
{
    if (retriable(r)) {
        ap_add_output_filter(GUARD_FILTER, NULL, r, r->connection);
    }
}

/* The first brigade of the answer: when mod_proxy gave up before the
 * member answered (its "backend broke" error bucket, then the end of the
 * connection), nothing is sent and the request is marked for a retry. */
static apr_status_t guard_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    apr_bucket *first = APR_BRIGADE_FIRST(bb);

    ap_remove_output_filter(f);
    if (first != APR_BRIGADE_SENTINEL(bb) && AP_BUCKET_IS_ERROR(first)
        && ((ap_bucket_error *)first->data)->status == HTTP_BAD_GATEWAY
        && f->r->bytes_sent == 0) {
        apr_table_setn(f->r->notes, DROPPED_NOTE, "1");
        apr_brigade_cleanup(bb);
        return APR_SUCCESS;
    }
    return ap_pass_brigade(f->next, bb);
}

int op_retry_dropped_request(int *status, request_rec *r)
{
    const op_request *req = op_request_get(r);
    int dropped = apr_table_get(r->notes, DROPPED_NOTE) != NULL;

    /* Only a balancer has another member to ask. */
    if (req == NULL || req->mapping->backend.kind != OP_BACKEND_BALANCER
        || !retriable(r)
        || apr_table_get(r->notes, "proxy_timedout") != NULL
        || !(dropped || (*status == HTTP_BAD_GATEWAY && r->bytes_sent == 0
                         && r->sent_bodyct == 0))) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "GET %s: %s dropped the request before answering; asking "
                  "the balancer again (mapping %s -> %s)",
                  ap_escape_logitem(r->pool, req->orthanc_path),
                  apr_table_get(r->subprocess_env, "BALANCER_WORKER_NAME"),
                  req->mapping->prefix.prefix, req->mapping->backend.url);
    op_member_dropped_request(r, req->mapping);
    ap_internal_redirect(r->unparsed_uri, r);
    *status = OK;
    return 1;
}

void op_register_idempotent_retry(void)
{
    ap_register_output_filter(GUARD_FILTER, guard_filter, NULL,
                              AP_FTYPE_CONTENT_SET - 1);
}
