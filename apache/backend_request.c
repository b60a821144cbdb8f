/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend_request.c - the request Orthanc receives.
 *
 * mod_proxy builds the backend request from a copy of the client's headers,
 * drops the hop-by-hop ones (including those the client's Connection header
 * names) and then runs its "fixups" hook on that copy.  The identity and
 * forwarding headers are written there, after that clean-up, so no client
 * header can remove or replace them (CVE-2022-31813), and nothing written
 * there ever reaches the client or the access log.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <apr_optional_hooks.h>
#include <apr_strings.h>

#include "mod_proxy.h"
#include "logic/forward_headers.h"
#include "logic/header_names.h"
#include "backend_request.h"
#include "request_context.h"

APLOG_USE_MODULE(orthanc_proxy);

static void unset_all(apr_table_t *headers, const char *const *names)
{
    for (; *names; names++) {
        apr_table_unset(headers, *names);
    }
}

typedef struct {
    apr_array_header_t *names;   /* odd spellings, to remove */
    const char *user_header;     /* OrthancProxyUserHeader, or NULL */
} odd_spelling_scan;

static int collect_odd_spellings(void *data, const char *name,
                                 const char *value)
{
    odd_spelling_scan *scan = data;
    if (strpbrk(name, "_ \t")
        && (op_is_proxy_owned_header(name, scan->user_header)
            || op_header_names_match(name, "Authorization"))) {
        APR_ARRAY_PUSH(scan->names, const char *) = name;
    }
    return 1;
}

/* Removes what the client sent under a name the proxy owns (the browser's
 * Authorization included), also spelt with '_' for '-' or with trailing
 * blanks (header_names.h).  apr_table_unset takes the common spellings. */
static void remove_proxy_owned_headers(request_rec *r, const op_dir_conf *conf)
{
    odd_spelling_scan scan;
    int i;

    unset_all(r->headers_in, op_forwarding_headers);
    unset_all(r->headers_in, op_override_headers);
    apr_table_unset(r->headers_in, "Authorization");
    if (conf->user_header) {
        apr_table_unset(r->headers_in, conf->user_header);
    }
    scan.names = apr_array_make(r->pool, 2, sizeof(const char *));
    scan.user_header = conf->user_header;
    apr_table_do(collect_odd_spellings, &scan, r->headers_in, NULL);
    for (i = 0; i < scan.names->nelts; i++) {
        apr_table_unset(r->headers_in, APR_ARRAY_IDX(scan.names, i,
                                                     const char *));
    }
}

/* The DICOMweb plugin writes absolute URLs (RetrieveURL, BulkDataURI, STOW
 * answers) as "http(s)://" + host + its root: up to 1.13 from Forwarded's
 * host=, from 1.14 from X-Forwarded-Host when X-Forwarded-Proto comes with
 * it (Plugin/Configuration.cpp, GetBasePublicUrl()).  It reads no
 * X-Forwarded-Prefix, so both hosts carry the public prefix, and every
 * release writes URLs under it. */
static void add_forwarding_headers(request_rec *r, const op_request *req)
{
    const char *scheme = ap_http_scheme(r);
    const char *prefix = req->mapping->prefix.prefix_bare;

    apr_table_setn(r->headers_in, "Forwarded",
                   op_forwarded_value(r->pool, r->useragent_ip,
                                      req->public_host, prefix, scheme));
    apr_table_setn(r->headers_in, "X-Forwarded-For", r->useragent_ip);
    apr_table_setn(r->headers_in, "X-Forwarded-Host",
                   apr_pstrcat(r->pool, req->public_host, prefix, NULL));
    apr_table_setn(r->headers_in, "X-Forwarded-Proto", scheme);
    apr_table_setn(r->headers_in, "X-Forwarded-Prefix", *prefix ? prefix : "/");
    apr_table_setn(r->headers_in, "X-Forwarded-Server",
                   r->server->server_hostname);
}

static void add_identity_headers(request_rec *r, const op_dir_conf *conf)
{
    if (conf->authorization) {
        apr_table_setn(r->headers_in, "Authorization", conf->authorization);
    }
    if (conf->user_header && r->user) {
        apr_table_setn(r->headers_in, conf->user_header, r->user);
    }
}

static int write_backend_headers(request_rec *r)
{
    const op_request *req = op_request_get(r);
    const op_dir_conf *conf;

    if (req == NULL || req->action != OP_ACTION_PROXY) {
        return DECLINED;
    }
    conf = op_dir_conf_get(r);
    remove_proxy_owned_headers(r, conf);
    add_forwarding_headers(r, req);
    add_identity_headers(r, conf);
    return OK;
}

/* mod_proxy_http reports a backend that does not answer in time as 502;
 * tell the client it was a timeout. */
static int report_timeout(int *status, request_rec *r)
{
    if (op_request_get(r) == NULL || *status != HTTP_BAD_GATEWAY
        || apr_table_get(r->notes, "proxy_timedout") == NULL) {
        return DECLINED;
    }
    *status = HTTP_GATEWAY_TIME_OUT;
    r->status_line = NULL;
    return OK;
}

/* What ap_proxyerror() writes into r->notes "error-notes" when the TLS
 * handshake with the backend failed: ap_proxy_pass_brigade (proxy_util.c)
 * answers 500 with this reason once mod_ssl has put "SSL_connect_rv: err"
 * on the backend connection's notes.  mod_ssl does that when it refuses
 * the backend's certificate (SSLProxyVerify, SSLProxyCheckPeerName,
 * SSLProxyCheckPeerExpire) and when the handshake fails otherwise, for
 * example when the backend refuses the client certificate. */
#define TLS_HANDSHAKE_FAILED "Error during SSL Handshake with remote server"

/* Orthanc's TLS server was not the one the configuration trusts: the proxy
 * could not talk to it, which is a bad gateway, not a fault of the proxy
 * (mod_proxy says 500).  mod_ssl's own lines on the backend connection,
 * logged just before, give the verification error (AH02039, at error) or
 * the name or date mismatch (AH02411, AH02004, at info). */
static int report_tls_refusal(int *status, request_rec *r)
{
    op_request *req = op_request_get(r);
    const char *notes;

    /* Also for the https:// members of a balancer. */
    if (req == NULL || *status != HTTP_INTERNAL_SERVER_ERROR
        || (notes = apr_table_get(r->notes, "error-notes")) == NULL
        || strstr(notes, TLS_HANDSHAKE_FAILED) == NULL) {
        return DECLINED;
    }
    *status = HTTP_BAD_GATEWAY;
    r->status_line = NULL;
    req->backend_error = "the TLS handshake with Orthanc failed: the "
        "certificate of Orthanc's TLS server was refused (SSLProxyVerify, "
        "SSLProxyCheckPeerName, SSLProxyCheckPeerExpire) or that server "
        "refused the proxy";
    return OK;
}

void op_register_backend_request_hooks(void)
{
    APR_OPTIONAL_HOOK(proxy, fixups, write_backend_headers, NULL, NULL,
                      APR_HOOK_REALLY_LAST);
    APR_OPTIONAL_HOOK(proxy, request_status, report_timeout, NULL, NULL,
                      APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(proxy, request_status, report_tls_refusal, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
