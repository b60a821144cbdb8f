/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_version.h - the Apache httpd releases the module accepts.
 *
 * Before 2.4.54, mod_proxy ran its fixups hook before it removed the
 * hop-by-hop headers, so a client's "Connection: Forwarded, Authorization"
 * could strip the credentials, identity and forwarding headers the module
 * writes there (CVE-2022-31813).  The module refuses to build against, or
 * to start in, an older httpd.
 */
#ifndef ORTHANC_PROXY_HTTPD_VERSION_H
#define ORTHANC_PROXY_HTTPD_VERSION_H

#define OP_HTTPD_MIN_MAJOR 2
#define OP_HTTPD_MIN_MINOR 4
#define OP_HTTPD_MIN_PATCH 54
#define OP_HTTPD_MIN_TEXT "2.4.54"

/* Whether httpd MAJOR.MINOR.PATCH is OP_HTTPD_MIN_TEXT or later. */
int op_httpd_version_supported(int major, int minor, int patch);

#endif
