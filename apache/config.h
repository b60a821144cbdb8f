/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - the configuration records' life cycle: created empty for every
 * server and section, merged from the outside in (request_context.h has
 * the records themselves).
 */
#ifndef ORTHANC_PROXY_CONFIG_H
#define ORTHANC_PROXY_CONFIG_H

#include <apr_pools.h>
#include <httpd.h>

void *op_create_server_conf(apr_pool_t *p, server_rec *s);
void *op_merge_server_conf(apr_pool_t *p, void *base_conf, void *add_conf);
void *op_create_dir_conf(apr_pool_t *p, char *dir);
void *op_merge_dir_conf(apr_pool_t *p, void *base_conf, void *add_conf);

#endif
