/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_setup.h - the audit program, started when Apache starts.
 */
#ifndef ORTHANC_PROXY_AUDIT_SETUP_H
#define ORTHANC_PROXY_AUDIT_SETUP_H

#include <httpd.h>

/* check_config: the program exists, the mappings it can attribute. */
int op_audit_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s);

/* post_config: its configuration file, then the program as a reliable
 * piped log; every server learns the pipe. */
int op_audit_start(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                   server_rec *s);

#endif
