/* SPDX-License-Identifier: Apache-2.0 */
/*
 * response_headers.c - Orthanc's answer on its way back to the browser.
 *
 * Orthanc's own absolute URLs in Location and Content-Location are mapped
 * back under the public prefix (what ProxyPassReverse does for ProxyPass).
 * A 401 from Orthanc means the proxy's credentials are wrong: its
 * WWW-Authenticate is dropped so that the browser does not ask its user for
 * a password the proxy would never forward.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>
#include <apr_strings.h>

#include "logic/forward_headers.h"
#include "request_context.h"
#include "response_headers.h"

APLOG_USE_MODULE(orthanc_proxy);

#define RESPONSE_HEADERS_FILTER "ORTHANC_PROXY_RESPONSE_HEADERS"

static const char *const URL_HEADERS[] = { "Location", "Content-Location", NULL };

/* Maps the URL headers of HEADERS; the public URL is built only for a
 * response that has one (most have none). */
static void map_urls(request_rec *r, apr_table_t *headers,
                     const op_request *req)
{
    const char *const *name;

    for (name = URL_HEADERS; *name; name++) {
        const char *value = apr_table_get(headers, *name);
        if (value) {
            const char *public_url = apr_pstrcat(
                r->pool, ap_http_scheme(r), "://", req->public_host,
                req->mapping->prefix.prefix, NULL);
            apr_table_setn(headers, *name,
                           op_reverse_map_url(r->pool, value,
                                              req->mapping->backend.url,
                                              public_url));
        }
    }
}

static apr_status_t fix_response_headers(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const op_request *req = f->ctx;

    map_urls(r, r->headers_out, req);
    map_urls(r, r->err_headers_out, req);
    if (r->status == HTTP_UNAUTHORIZED
        && apr_table_get(r->headers_out, "WWW-Authenticate")) {
        const op_dir_conf *conf = op_dir_conf_get(r);
        apr_table_unset(r->headers_out, "WWW-Authenticate");
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "Orthanc at %s answered 401 to %s %s: check "
                      "OrthancProxyCredentials (%s)", req->mapping->backend.url,
                      r->method, ap_escape_logitem(r->pool, req->orthanc_path),
                      conf->credentials_user
                      ? apr_pstrcat(r->pool, "user ", conf->credentials_user,
                                    NULL)
                      : "none configured");
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void op_add_response_headers_filter(request_rec *r)
{
    ap_add_output_filter(RESPONSE_HEADERS_FILTER, op_request_get(r), r,
                         r->connection);
}

void op_register_response_headers(void)
{
    ap_register_output_filter(RESPONSE_HEADERS_FILTER, fix_response_headers,
                              NULL, AP_FTYPE_CONTENT_SET);
}
