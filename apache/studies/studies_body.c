/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_body.c - reading a small body first, forwarding it from memory
 * (see studies_body.h).
 */
/* Before APR's headers: without offsetof, APR_OFFSETOF (under the brigade
 * and bucket macros) takes a member address through a null pointer, which
 * is undefined behaviour (UBSan and clang's -Wnull-pointer-subtraction). */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <apr_strings.h>

#include "apache/request_context.h"
#include "studies_body.h"

#define BODY_FILTER "ORTHANC_PROXY_STUDIES_BODY"

typedef struct {
    const char *data;              /* in the request's pool */
    apr_size_t len;
    apr_size_t sent;
} kept_body;

int op_studies_read_body(request_rec *r, const char **data, apr_size_t *len)
{
    op_request *req = op_request_get(r);
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    char *buffer = apr_palloc(r->pool, OP_STUDIES_BODY_MAX + 1);
    apr_size_t used = 0;
    int eos = 0;

    *data = "";
    *len = 0;
    if (!ap_request_has_body(r)) {
        return OK;
    }
    while (!eos) {
        apr_bucket *b;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            if (req->reason) {
                return r->status != HTTP_OK ? r->status
                                            : HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            return op_refuse(r, req, ap_map_http_request_error(
                                 rv, HTTP_BAD_REQUEST),
                             "the request body could not be read", NULL);
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *bytes;
            apr_size_t n;
            if (APR_BUCKET_IS_EOS(b)) {
                eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            if (apr_bucket_read(b, &bytes, &n, APR_BLOCK_READ)
                != APR_SUCCESS) {
                return op_refuse(r, req, HTTP_BAD_REQUEST, "the request body "
                                 "could not be read", NULL);
            }
            if (n > OP_STUDIES_BODY_MAX - used) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return op_refuse(r, req, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 apr_psprintf(r->pool, "under "
                                              "OrthancProxyStudies, the "
                                              "module reads this body before "
                                              "it forwards it, and reads at "
                                              "most %d bytes",
                                              OP_STUDIES_BODY_MAX), NULL);
            }
            memcpy(buffer + used, bytes, n);
            used += n;
        }
        apr_brigade_cleanup(bb);
    }
    buffer[used] = '\0';
    *data = buffer;
    *len = used;
    /* Every filter of the request has seen the body: none must see it a
     * second time (LimitRequestBody's count among them). */
    while (r->input_filters != r->proto_input_filters) {
        ap_remove_input_filter(r->input_filters);
    }
    return OK;
}

static apr_status_t give_body(ap_filter_t *f, apr_bucket_brigade *bb,
                              ap_input_mode_t mode, apr_read_type_e block,
                              apr_off_t readbytes)
{
    kept_body *kept = f->ctx;
    apr_size_t n = kept->len - kept->sent;

    if (mode == AP_MODE_INIT || mode == AP_MODE_EATCRLF) {
        return APR_SUCCESS;
    }
    if (n == 0) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
        return APR_SUCCESS;
    }
    if ((mode == AP_MODE_READBYTES || mode == AP_MODE_SPECULATIVE)
        && readbytes > 0 && (apr_size_t)readbytes < n) {
        n = (apr_size_t)readbytes;
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(
        kept->data + kept->sent, n, bb->bucket_alloc));
    if (mode != AP_MODE_SPECULATIVE) {
        kept->sent += n;
    }
    return APR_SUCCESS;
}

void op_studies_forward_body(request_rec *r, const char *data, apr_size_t len)
{
    kept_body *kept = apr_pcalloc(r->pool, sizeof(*kept));

    kept->data = data;
    kept->len = len;
    apr_table_setn(r->headers_in, "Content-Length",
                   apr_psprintf(r->pool, "%" APR_SIZE_T_FMT, len));
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    ap_add_input_filter(BODY_FILTER, kept, r, r->connection);
}

void op_register_studies_body(void)
{
    /* Below the filters that are added after it (the audit trail's, at
     * AP_FTYPE_CONTENT_SET), which then see what is forwarded. */
    ap_register_input_filter(BODY_FILTER, give_body, NULL,
                             AP_FTYPE_CONTENT_SET + 1);
}
