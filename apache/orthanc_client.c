/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc_client.c - a small HTTP client for Orthanc (see orthanc_client.h).
 */
#include <apr_strings.h>
#include <apr_uri.h>

#include "orthanc_client.h"

#define MAX_ANSWER (64 << 20)

const char *op_orthanc_target_parse(apr_pool_t *p, const char *url,
                                    op_orthanc_target *out)
{
    apr_uri_t uri;
    apr_size_t n;

    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || uri.scheme == NULL
        || strcmp(uri.scheme, "http") != 0 || uri.hostname == NULL) {
        return "not an http:// URL";
    }
    out->host = uri.hostname;
    out->port = uri.port ? uri.port : 80;
    out->base = uri.path ? uri.path : "";
    n = strlen(out->base);
    if (n > 0 && out->base[n - 1] == '/') {
        out->base = apr_pstrmemdup(p, out->base, n - 1);
    }
    return NULL;
}

static const char *request_text(apr_pool_t *p, const op_orthanc_target *t,
                                const char *path)
{
    return apr_psprintf(p, "GET %s%s HTTP/1.1\r\nHost: %s:%u\r\n"
                        "Accept: application/json\r\nConnection: close\r\n"
                        "%s%s%s\r\n", t->base, path, t->host, t->port,
                        t->authorization ? "Authorization: " : "",
                        t->authorization ? t->authorization : "",
                        t->authorization ? "\r\n" : "");
}

static const char *failed(apr_pool_t *p, const char *what, apr_status_t rv)
{
    return apr_psprintf(p, "%s: %pm", what, &rv);
}

static apr_status_t send_all(apr_socket_t *sock, const char *data)
{
    apr_size_t left = strlen(data);

    while (left > 0) {
        apr_size_t n = left;
        apr_status_t rv = apr_socket_send(sock, data, &n);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        data += n;
        left -= n;
    }
    return APR_SUCCESS;
}

/* Reads until the server closes the connection. */
static const char *read_all(apr_pool_t *p, apr_socket_t *sock, char **data,
                            apr_size_t *len)
{
    apr_size_t size = 16384, used = 0;
    char *buf = apr_palloc(p, size);

    for (;;) {
        apr_size_t n = size - used;
        apr_status_t rv = apr_socket_recv(sock, buf + used, &n);
        used += n;
        if (APR_STATUS_IS_EOF(rv) || (rv == APR_SUCCESS && n == 0)) {
            break;
        }
        if (rv != APR_SUCCESS) {
            return failed(p, "reading the answer", rv);
        }
        if (used == size) {
            char *bigger;
            if (size >= MAX_ANSWER) {
                return "the answer is larger than 64 MiB";
            }
            bigger = apr_palloc(p, size * 2);
            memcpy(bigger, buf, used);
            buf = bigger;
            size *= 2;
        }
    }
    *data = buf;
    *len = used;
    return NULL;
}

const char *op_orthanc_get(apr_pool_t *p, const op_orthanc_target *target,
                           const char *path, op_http_reply *out)
{
    const char *request = request_text(p, target, path), *err;
    apr_sockaddr_t *address;
    apr_socket_t *sock;
    apr_size_t len = 0;
    apr_status_t rv;
    char *answer = NULL;

    rv = apr_sockaddr_info_get(&address, target->host, APR_UNSPEC,
                               target->port, 0, p);
    if (rv != APR_SUCCESS) {
        return failed(p, "resolving the host", rv);
    }
    rv = apr_socket_create(&sock, address->family, SOCK_STREAM, APR_PROTO_TCP,
                           p);
    if (rv != APR_SUCCESS) {
        return failed(p, "creating a socket", rv);
    }
    apr_socket_timeout_set(sock, target->timeout);
    if ((rv = apr_socket_connect(sock, address)) != APR_SUCCESS) {
        apr_socket_close(sock);
        return failed(p, "connecting", rv);
    }
    if ((rv = send_all(sock, request)) != APR_SUCCESS) {
        apr_socket_close(sock);
        return failed(p, "sending the request", rv);
    }
    err = read_all(p, sock, &answer, &len);
    apr_socket_close(sock);
    if (err) {
        return err;
    }
    return op_http_reply_parse(p, answer, len, out);
}
