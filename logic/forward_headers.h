/* SPDX-License-Identifier: Apache-2.0 */
/*
 * forward_headers.h - the headers that tell Orthanc who the public is, and
 * the mapping of Orthanc's own URLs back under the public prefix.
 */
#ifndef ORTHANC_PROXY_FORWARD_HEADERS_H
#define ORTHANC_PROXY_FORWARD_HEADERS_H

#include <apr_pools.h>

/* Whether HOST is a plain host[:port] ("pacs.example:8443", "[::1]:80")
 * that can be repeated to Orthanc unquoted. */
int op_host_is_plain(const char *host);

/* Whether VALUE can be written in a header without splitting it: no CR, LF,
 * NUL or other control character (a tab is fine). */
int op_header_value_is_safe(const char *value);

/* The first element of a Forwarded header (RFC 7239):
 *   for=CLIENT;host=HOST/PREFIX;proto=SCHEME
 * The host is deliberately unquoted and carries the public prefix: the
 * DICOMweb plugin 1.7 builds its absolute URLs from it and would keep any
 * quotes.  An IPv6 client is quoted as the RFC requires ("[2001:db8::1]").
 * PREFIX_BARE is the public prefix without its trailing slash. */
const char *op_forwarded_value(apr_pool_t *p, const char *client_ip,
                               const char *host, const char *prefix_bare,
                               const char *scheme);

/* If VALUE (a Location or Content-Location) points into the backend,
 * BACKEND_URL being "http://127.0.0.1:8042/" for example, the same URL under
 * PUBLIC_URL ("https://pacs.example/orthanc/"); otherwise VALUE itself. */
const char *op_reverse_map_url(apr_pool_t *p, const char *value,
                               const char *backend_url,
                               const char *public_url);

/* "Basic " followed by base64(USER:PASSWORD). */
const char *op_basic_authorization(apr_pool_t *p, const char *user,
                                   const char *password);

#endif
