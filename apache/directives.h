/* SPDX-License-Identifier: Apache-2.0 */
/*
 * directives.h - the directives that have no part of their own:
 * OrthancProxy, OrthancProxyAccess, OrthancProxyAllow/Deny and
 * OrthancProxyAllowEncodedBody (credentials.h and cors.h have theirs).
 */
#ifndef ORTHANC_PROXY_DIRECTIVES_H
#define ORTHANC_PROXY_DIRECTIVES_H

#include <httpd.h>
#include <http_config.h>

const char *op_cmd_orthanc_proxy(cmd_parms *cmd, void *dconf,
                                 const char *args);
const char *op_cmd_access(cmd_parms *cmd, void *dconf, const char *level);
/* OrthancProxyAllow when cmd->info is set, OrthancProxyDeny otherwise. */
const char *op_cmd_rule(cmd_parms *cmd, void *dconf, const char *methods,
                        const char *pattern);
const char *op_cmd_encoded_body(cmd_parms *cmd, void *dconf, int on);

#endif
