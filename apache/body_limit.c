/* SPDX-License-Identifier: Apache-2.0 */
/*
 * body_limit.c - LimitRequestBody on the prefix, really enforced.
 *
 * Apache's HTTP input filter skips LimitRequestBody on every request that
 * mod_proxy handles (a server-wide 200000 was seen letting a 700 KB POST
 * through ProxyPass).  The module applies the limit that is in force for
 * the request itself: a declared Content-Length is checked before any byte
 * is read, and a body without a length (chunked, or an HTTP/2 stream that
 * declared none, which mod_http2 presents as chunked) is counted as it
 * streams.  Only those get the counting filter: mod_proxy streams a chunked
 * body whatever the filters, but spools a Content-Length body to disk as
 * soon as any input filter is present.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>
#include <apr_strings.h>

#include "body_limit.h"
#include "request_context.h"

APLOG_USE_MODULE(orthanc_proxy);

#define BODY_LIMIT_FILTER "ORTHANC_PROXY_BODY_LIMIT"

typedef struct {
    op_request *req;
    apr_off_t limit;
    apr_off_t seen;
} body_count;

static apr_status_t count_body(ap_filter_t *f, apr_bucket_brigade *bb,
                               ap_input_mode_t mode, apr_read_type_e block,
                               apr_off_t readbytes)
{
    body_count *count = f->ctx;
    apr_off_t length;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);

    if (rv != APR_SUCCESS || mode != AP_MODE_READBYTES) {
        return rv;
    }
    rv = apr_brigade_length(bb, 1, &length);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    count->seen += length;
    if (count->seen > count->limit) {
        /* mod_proxy turns ENOSPC into 413 and drops the backend connection,
         * so Orthanc never gets a complete body. */
        apr_brigade_cleanup(bb);
        ap_remove_input_filter(f);
        /* Like Apache's own limit: close rather than read the rest. */
        f->r->connection->keepalive = AP_CONN_CLOSE;
        op_refuse(f->r, count->req, HTTP_REQUEST_ENTITY_TOO_LARGE,
                  apr_psprintf(f->r->pool, "the request body, sent without "
                               "a length, exceeds the %" APR_OFF_T_FMT " bytes "
                               "LimitRequestBody allows here", count->limit),
                  NULL);
        return APR_ENOSPC;
    }
    return APR_SUCCESS;
}

int op_enforce_body_limit(request_rec *r, op_request *req)
{
    apr_off_t limit = ap_get_limit_req_body(r);
    const char *length = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared;

    if (limit <= 0 || !ap_request_has_body(r)) {
        return OK;
    }
    if (apr_table_get(r->headers_in, "Transfer-Encoding")) {
        body_count *count = apr_pcalloc(r->pool, sizeof(*count));
        count->req = req;
        count->limit = limit;
        ap_add_input_filter(BODY_LIMIT_FILTER, count, r, r->connection);
        return OK;
    }
    if (length && ap_parse_strict_length(&declared, length)
        && declared > limit) {
        return op_refuse(r, req, HTTP_REQUEST_ENTITY_TOO_LARGE,
                         apr_psprintf(r->pool, "the request body is %"
                                      APR_OFF_T_FMT " bytes; LimitRequestBody "
                                      "allows %" APR_OFF_T_FMT " here",
                                      declared, limit), NULL);
    }
    return OK;
}

void op_register_body_limit(void)
{
    ap_register_input_filter(BODY_LIMIT_FILTER, count_body, NULL,
                             AP_FTYPE_CONTENT_SET);
}
