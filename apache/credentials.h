/* SPDX-License-Identifier: Apache-2.0 */
/*
 * credentials.h - OrthancProxyCredentials and OrthancProxyUserHeader.
 */
#ifndef ORTHANC_PROXY_CREDENTIALS_H
#define ORTHANC_PROXY_CREDENTIALS_H

#include <httpd.h>
#include <http_config.h>

const char *op_cmd_credentials(cmd_parms *cmd, void *dconf, const char *user,
                               const char *secret);
const char *op_cmd_user_header(cmd_parms *cmd, void *dconf, const char *name);

#endif
