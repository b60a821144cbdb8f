/* SPDX-License-Identifier: Apache-2.0 */
/*
 * forward_headers.c - the headers that tell Orthanc who the public is.
 */
#include "forward_headers.h"

#include <string.h>
#include <apr_base64.h>
#include <apr_lib.h>
#include <apr_strings.h>

#define MAX_HOST_LENGTH 255

int op_host_is_plain(const char *host)
{
    const char *c;
    apr_size_t n;

    if (host == NULL || (n = strlen(host)) == 0 || n > MAX_HOST_LENGTH) {
        return 0;
    }
    for (c = host; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("-._:[]", *c)) {
            return 0;
        }
    }
    return 1;
}

int op_header_value_is_safe(const char *value)
{
    const unsigned char *c;

    if (value == NULL) {
        return 0;
    }
    for (c = (const unsigned char *)value; *c; c++) {
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

const char *op_forwarded_value(apr_pool_t *p, const char *client_ip,
                               const char *host, const char *prefix_bare,
                               const char *scheme)
{
    const char *for_value = strchr(client_ip, ':')
                            ? apr_pstrcat(p, "\"[", client_ip, "]\"", NULL)
                            : client_ip;

    return apr_pstrcat(p, "for=", for_value, ";host=", host, prefix_bare,
                       ";proto=", scheme, NULL);
}

/* Length of the "scheme://authority" part of URL, 0 if it has none. */
static apr_size_t origin_length(const char *url)
{
    const char *authority = strstr(url, "://");
    const char *path;

    if (authority == NULL) {
        return 0;
    }
    path = strchr(authority + 3, '/');
    return path ? (apr_size_t)(path - url) : strlen(url);
}

const char *op_reverse_map_url(apr_pool_t *p, const char *value,
                               const char *backend_url,
                               const char *public_url)
{
    apr_size_t origin = origin_length(backend_url);
    apr_size_t base = strlen(backend_url);

    if (origin == 0 || strncasecmp(value, backend_url, origin) != 0) {
        return value;
    }
    /* The origin compares without case, the path with it. */
    if (strncmp(value + origin, backend_url + origin, base - origin) == 0) {
        return apr_pstrcat(p, public_url, value + base, NULL);
    }
    /* "http://127.0.0.1:8042/orthanc" for the base ".../orthanc/" */
    if (strlen(value) == base - 1
        && strncmp(value + origin, backend_url + origin, base - 1 - origin) == 0) {
        return public_url;
    }
    return value;
}

const char *op_basic_authorization(apr_pool_t *p, const char *user,
                                   const char *password)
{
    const char *plain = apr_pstrcat(p, user, ":", password, NULL);
    int plain_length = (int)strlen(plain);
    char *encoded = apr_palloc(p, apr_base64_encode_len(plain_length));

    apr_base64_encode(encoded, plain, plain_length);
    return apr_pstrcat(p, "Basic ", encoded, NULL);
}
