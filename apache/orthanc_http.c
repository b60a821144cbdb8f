/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc_http.c - requests to Orthanc with libcurl (see orthanc_http.h).
 */
#include <curl/curl.h>

#include <httpd.h>
#include <ap_mpm.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "orthanc_http.h"

#define MAX_ANSWER (16 << 20)

struct op_http_client {
    const char *base;              /* without its final '/' */
    const char *authorization;
    const op_tls_settings *tls;    /* NULL: http:// */
    volatile apr_uint32_t *abort;
    CURL *curl;                    /* opened by the first request */
    struct curl_slist *headers;
    struct curl_slist *json_headers;   /* the same, for a JSON body */
};

/* The body being received. */
typedef struct {
    apr_pool_t *p;
    char *data;
    apr_size_t used, size;
    int too_large;
} body_buffer;

static apr_status_t release_global(void *data)
{
    curl_global_cleanup();
    return APR_SUCCESS;
}

const char *op_http_global_init(apr_pool_t *pool)
{
    /* libcurl counts its initialisations: each configuration's is undone
     * with that configuration. */
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

    if (rc != CURLE_OK) {
        return curl_easy_strerror(rc);
    }
    apr_pool_cleanup_register(pool, NULL, release_global,
                              apr_pool_cleanup_null);
    return NULL;
}

op_http_client *op_http_client_make(apr_pool_t *p, const char *base_url,
                                    const char *authorization,
                                    const op_tls_settings *tls,
                                    volatile apr_uint32_t *abort)
{
    op_http_client *c = apr_pcalloc(p, sizeof(*c));
    apr_size_t n = strlen(base_url);

    c->base = n > 0 && base_url[n - 1] == '/'
              ? apr_pstrmemdup(p, base_url, n - 1) : apr_pstrdup(p, base_url);
    c->authorization = authorization
                       ? apr_pstrcat(p, "Authorization: ", authorization, NULL)
                       : NULL;
    c->tls = tls;
    c->abort = abort;
    return c;
}

void op_http_client_close(op_http_client *c)
{
    if (c->curl) {
        curl_easy_cleanup(c->curl);
        c->curl = NULL;
    }
    if (c->headers) {
        curl_slist_free_all(c->headers);
        c->headers = NULL;
    }
    if (c->json_headers) {
        curl_slist_free_all(c->json_headers);
        c->json_headers = NULL;
    }
}

static size_t receive(char *data, size_t size, size_t count, void *ctx)
{
    body_buffer *b = ctx;
    apr_size_t n = size * count;

    if (n > MAX_ANSWER - b->used) {
        b->too_large = 1;
        return 0;
    }
    if (b->used + n + 1 > b->size) {
        apr_size_t bigger = b->size ? b->size : 16384;
        char *copy;
        while (bigger < b->used + n + 1) {
            bigger *= 2;
        }
        copy = apr_palloc(b->p, bigger);
        if (b->used) {
            memcpy(copy, b->data, b->used);
        }
        b->data = copy;
        b->size = bigger;
    }
    memcpy(b->data + b->used, data, n);
    b->used += n;
    return n;
}

/* Called by libcurl at least once a second while it waits: a child that
 * stops does not wait for Orthanc. */
static int progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                    curl_off_t ultotal, curl_off_t ulnow)
{
    const op_http_client *c = ctx;
    int state = AP_MPMQ_RUNNING;

    if (c->abort && apr_atomic_read32(c->abort)) {
        return 1;
    }
    if (ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
        && state == AP_MPMQ_STOPPING) {
        return 1;
    }
    return 0;
}

static CURLcode set_blob(CURL *curl, CURLoption option, const char *data,
                         apr_size_t length)
{
    struct curl_blob blob;

    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(curl, option, &blob);
}

static CURLcode set_tls(CURL *curl, const op_tls_settings *tls)
{
    CURLcode rc = CURLE_OK;

    /* mod_ssl trusts only the CAs it is given, never a system store. */
    rc = curl_easy_setopt(curl, CURLOPT_CAINFO, NULL);
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_CAPATH, tls->ca_path);
    }
    if (rc == CURLE_OK && tls->ca_pem) {
        rc = set_blob(curl, CURLOPT_CAINFO_BLOB, tls->ca_pem,
                      tls->ca_pem_length);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER,
                              tls->verify_peer ? 1L : 0L);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST,
                              tls->verify_host ? 2L : 0L);
    }
    if (rc == CURLE_OK && tls->client_pem) {
        /* One PEM text holds the certificate and its key. */
        rc = set_blob(curl, CURLOPT_SSLCERT_BLOB, tls->client_pem,
                      tls->client_pem_length);
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
        }
        if (rc == CURLE_OK) {
            rc = set_blob(curl, CURLOPT_SSLKEY_BLOB, tls->client_pem,
                          tls->client_pem_length);
        }
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
        }
    }
    if (rc == CURLE_OK && tls->crl_file) {
        rc = curl_easy_setopt(curl, CURLOPT_CRLFILE, tls->crl_file);
    }
    return rc;
}

/* Accept, the credentials and EXTRA (or NULL); NULL when out of memory. */
static struct curl_slist *request_headers(const op_http_client *c,
                                          const char *extra)
{
    struct curl_slist *list = curl_slist_append(NULL,
                                                "Accept: application/json");
    struct curl_slist *more;

    if (list && c->authorization) {
        if ((more = curl_slist_append(list, c->authorization)) == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = more;
    }
    if (list && extra) {
        if ((more = curl_slist_append(list, extra)) == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = more;
    }
    return list;
}

/* The handle, its options set once. */
static const char *open_handle(op_http_client *c)
{
    CURLcode rc = CURLE_OK;
    CURL *curl = curl_easy_init();

    if (curl == NULL) {
        return "libcurl could not create a handle";
    }
    c->headers = request_headers(c, NULL);
    c->json_headers = request_headers(c, "Content-Type: application/json");
    if (c->headers == NULL || c->json_headers == NULL) {
        curl_easy_cleanup(curl);
        op_http_client_close(c);
        return "libcurl could not allocate the request headers";
    }
    /* Threads: no signal for timeouts.  Only http and https, no
     * redirect followed: only configuration names the backend. */
    rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, c->headers);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_orthanc_proxy");
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, receive);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                              (curl_off_t)MAX_ANSWER);
    }
    if (rc == CURLE_OK && c->tls) {
        rc = set_tls(curl, c->tls);
    }
    if (rc != CURLE_OK) {
        curl_easy_cleanup(curl);
        op_http_client_close(c);
        return curl_easy_strerror(rc);
    }
    c->curl = curl;
    return NULL;
}

/* The method and body of one request; a handle goes back to a plain GET
 * after each. */
static CURLcode set_method(op_http_client *c, const char *method,
                           const char *json_body)
{
    CURLcode rc = CURLE_OK;

    if (json_body) {
        rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                              (curl_off_t)strlen(json_body));
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, json_body);
        }
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER,
                                  c->json_headers);
        }
    }
    if (rc == CURLE_OK && strcmp(method, json_body ? "POST" : "GET") != 0) {
        rc = curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    }
    return rc;
}

static void reset_method(op_http_client *c)
{
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
}

const char *op_http_get(op_http_client *c, apr_pool_t *p, const char *path,
                        apr_time_t deadline, op_http_answer *out)
{
    return op_http_request(c, p, "GET", path, NULL, deadline, out);
}

const char *op_http_request(op_http_client *c, apr_pool_t *p,
                            const char *method, const char *path,
                            const char *json_body, apr_time_t deadline,
                            op_http_answer *out)
{
    char error[CURL_ERROR_SIZE];
    apr_interval_time_t left = deadline - apr_time_now();
    body_buffer body;
    const char *err;
    CURLcode rc;
    long timeout_ms;

    if (left < apr_time_from_msec(1)) {
        return "no time was left for the request";
    }
    if (c->curl == NULL && (err = open_handle(c)) != NULL) {
        return err;
    }
    memset(&body, 0, sizeof(body));
    body.p = p;
    error[0] = '\0';
    timeout_ms = (long)apr_time_as_msec(left);
    rc = curl_easy_setopt(c->curl, CURLOPT_URL,
                          apr_pstrcat(p, c->base, path, NULL));
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, error);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    }
    if (rc == CURLE_OK) {
        rc = set_method(c, method, json_body);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_perform(c->curl);
    }
    reset_method(c);
    /* The buffer lives on this stack frame only. */
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, NULL);
    if (body.too_large) {
        return "the answer is larger than 16 MiB";
    }
    if (rc != CURLE_OK) {
        /* A connection that failed is not reused. */
        return apr_psprintf(p, "%s%s%s", curl_easy_strerror(rc),
                            error[0] ? ": " : "", error);
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (body.data == NULL) {
        body.data = apr_pcalloc(p, 1);
    }
    body.data[body.used] = '\0';
    out->body = body.data;
    out->length = body.used;
    return NULL;
}
