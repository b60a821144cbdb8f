/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend_tls.h - what mod_ssl trusts for a mapping's https:// backend,
 * so that the cache's change follower (libcurl) trusts the same.
 *
 * mod_ssl keeps its configuration private, so the SSLProxy* directives
 * are read from the configuration tree (ap_conftree) at start-up, in the
 * order mod_ssl and mod_proxy apply them to a request of the mapping: the
 * main server's, then those of the mapping's <VirtualHost>, then those of
 * each <Proxy>/<ProxyMatch> section whose URL matches the backend (for a
 * balancer, the balancer's own section: mod_proxy matches the sections
 * against balancer://NAME before it picks a member), the main server's
 * sections first; a later value overrides an earlier one.
 */
#ifndef ORTHANC_PROXY_BACKEND_TLS_H
#define ORTHANC_PROXY_BACKEND_TLS_H

#include <httpd.h>

#include "apache/orthanc_http.h"

/* The settings for requests of server S (the main server or a virtual
 * host) to SECTION_URL (the backend's URL, or balancer://NAME/); NULL, or
 * why the follower cannot apply them (a directive libcurl has no
 * equivalent for). */
const char *op_backend_tls(apr_pool_t *p, server_rec *s,
                           const char *section_url, op_tls_settings *out);

#endif
