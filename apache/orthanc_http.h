/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc_http.h - the module asks Orthanc directly, with libcurl (as
 * mod_md does for its own requests): the cache's change follower, and the
 * audit trail's look-ups before a deletion (apache/audit/audit_lookup.c).
 *
 * Not a request through mod_proxy: the follower runs in mod_watchdog's
 * thread, outside any client's request, and a look-up must not be one of
 * the client's requests.  libcurl brings what a hand-written client
 * lacked: TLS with the mapping's SSLProxy* trust settings
 * (apache/cache/backend_tls.c), keep-alive (one connection reused from pass to
 * pass), chunked and length-delimited answers, every address a name
 * resolves to (IPv6 and IPv4) and a DNS cache.  Each request has the time
 * left until the pass's deadline; it is abandoned when the child process
 * stops, so that a stalled Orthanc never holds up Apache's shutdown.
 */
#ifndef ORTHANC_PROXY_ORTHANC_HTTP_H
#define ORTHANC_PROXY_ORTHANC_HTTP_H

#include <httpd.h>

/* What the follower trusts when it talks TLS to Orthanc: mod_ssl's
 * SSLProxy* settings of the mapping, read at start-up. */
typedef struct {
    int verify_peer;           /* SSLProxyVerify require (or optional) */
    int verify_host;           /* SSLProxyCheckPeerName (on by default) */
    /* Files are read when Apache starts, as root, as mod_ssl reads them:
     * the children (and the follower) may not be able to read them. */
    const char *ca_pem;        /* SSLProxyCACertificateFile's text, or NULL */
    apr_size_t ca_pem_length;
    const char *ca_path;       /* SSLProxyCACertificatePath, or NULL */
    const char *client_pem;    /* SSLProxyMachineCertificateFile's text: PEM
                                * certificate(s) and key, or NULL */
    apr_size_t client_pem_length;
    const char *crl_file;      /* SSLProxyCARevocationFile, or NULL */
} op_tls_settings;

typedef struct op_http_client op_http_client;

typedef struct {
    long status;
    const char *body;          /* NUL-terminated; LENGTH bytes */
    apr_size_t length;
} op_http_answer;

/* A client of the Orthanc at BASE_URL (http:// or https://, with or
 * without a final '/'), sending AUTHORIZATION ("Basic ..." or NULL), with
 * TLS (NULL: libcurl's defaults).  Nothing is opened before the first
 * request.  A request in progress is abandoned as soon as *ABORT is not 0
 * (ABORT may be NULL) or the child process stops. */
op_http_client *op_http_client_make(apr_pool_t *p, const char *base_url,
                                    const char *authorization,
                                    const op_tls_settings *tls,
                                    volatile apr_uint32_t *abort);

/* GET PATH ("/changes?since=3") below the base URL, answered before
 * DEADLINE; the answer's body is copied into P.  NULL on success (any
 * status), else why no answer came.  Answers larger than 16 MiB fail. */
const char *op_http_get(op_http_client *client, apr_pool_t *p,
                        const char *path, apr_time_t deadline,
                        op_http_answer *out);

/* The same with any METHOD, and JSON_BODY (or NULL) sent as
 * application/json. */
const char *op_http_request(op_http_client *client, apr_pool_t *p,
                            const char *method, const char *path,
                            const char *json_body, apr_time_t deadline,
                            op_http_answer *out);

/* Closes the client's connection and frees libcurl's handle (in the
 * thread that used it). */
void op_http_client_close(op_http_client *client);

/* libcurl's global state, once per configuration (post_config), released
 * with POOL. */
const char *op_http_global_init(apr_pool_t *pool);

#endif
