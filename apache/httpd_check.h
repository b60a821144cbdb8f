/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_check.h - refuse to start in an httpd older than the module needs;
 * say which version of the module started.
 */
#ifndef ORTHANC_PROXY_HTTPD_CHECK_H
#define ORTHANC_PROXY_HTTPD_CHECK_H

#include <httpd.h>

/* check_config: the running httpd is OP_HTTPD_MIN_TEXT or later. */
int op_check_httpd_version(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s);

/* post_config: one notice line naming the module's version
 * ("mod_orthanc_proxy/1.0.0 configured") at every start and restart. */
int op_log_start_up(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s);

#endif
