/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_lookup.c - the child's questions to Orthanc, with libcurl
 * (audit_lookup.h).
 *
 * Only deletions and modifications ask (their resource may be gone once
 * Orthanc ran them): two or three small GETs before the request is
 * forwarded.  Viewing never waits for Orthanc: the audit program resolves
 * those IDs, off the request path.
 */
#include <httpd.h>
#include <http_config.h>
#include <apr_strings.h>
#include <curl/curl.h>

#include "apache/request_context.h"
#include "audit_lookup.h"

#define LOOKUP_TIMEOUT 10L
#define LOOKUP_MAX (4 << 20)

typedef struct {
    request_rec *r;
    const char *base;            /* the backend's URL, with its final '/' */
    const char *authorization;
} lookup;

typedef struct {
    apr_pool_t *p;
    char *data;
    apr_size_t len, size;
} answer;

static size_t receive(char *data, size_t size, size_t n, void *ctx)
{
    answer *a = ctx;
    apr_size_t add = size * n;

    if (a->len + add + 1 > a->size) {
        apr_size_t bigger = (a->len + add + 1) * 2;
        char *copy;
        if (bigger > LOOKUP_MAX) {
            return 0;
        }
        copy = apr_palloc(a->p, bigger);
        memcpy(copy, a->data, a->len);
        a->data = copy;
        a->size = bigger;
    }
    memcpy(a->data + a->len, data, add);
    a->len += add;
    a->data[a->len] = '\0';
    return add;
}

static const char *fetch(void *ctx, apr_pool_t *p, const char *method,
                         const char *path, const char *body, int *status,
                         const char **text, apr_size_t *len)
{
    lookup *l = ctx;
    CURL *curl;
    struct curl_slist *headers = NULL;
    answer a = { p, apr_palloc(p, 4096), 0, 4096 };
    char error[CURL_ERROR_SIZE] = "";
    long code = 0;
    CURLcode rc;

    if (l->base == NULL) {
        return "the mapping's Orthanc is a balancer, whose members the audit "
               "trail cannot ask yet";
    }
    if ((curl = curl_easy_init()) == NULL) {
        return "libcurl cannot start";
    }
    a.data[0] = '\0';
    headers = curl_slist_append(headers, "Accept: application/json");
    if (l->authorization) {
        headers = curl_slist_append(headers, apr_pstrcat(
            p, "Authorization: ", l->authorization, NULL));
    }
    if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(curl, CURLOPT_URL, apr_pstrcat(p, l->base, path + 1, NULL));
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, LOOKUP_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_orthanc_proxy audit");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, receive);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        return apr_pstrdup(p, error[0] ? error : curl_easy_strerror(rc));
    }
    *status = (int)code;
    *text = a.data;
    *len = a.len;
    return NULL;
}

op_audit_resolver op_audit_lookup_resolver(request_rec *r)
{
    const op_request *req = op_request_get(r);
    lookup *l = apr_pcalloc(r->pool, sizeof(*l));
    op_audit_resolver resolver;

    l->r = r;
    l->base = req->mapping->backend.kind == OP_BACKEND_BALANCER
              ? NULL : req->mapping->backend.url;
    l->authorization = op_dir_conf_get(r)->authorization;
    memset(&resolver, 0, sizeof(resolver));
    resolver.fetch = fetch;
    resolver.fetch_ctx = l;
    return resolver;
}
