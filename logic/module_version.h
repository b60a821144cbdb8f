/* SPDX-License-Identifier: Apache-2.0 */
/*
 * module_version.h - the module's name and version, as the start-up log
 * line, the status page and configtest's messages show them.
 */
#ifndef ORTHANC_PROXY_MODULE_VERSION_H
#define ORTHANC_PROXY_MODULE_VERSION_H

#define OP_MODULE_NAME "mod_orthanc_proxy"

/* "1.0.0", "1.0.0-rc1", "1.0.0-dev": configure.ac's AC_INIT. */
extern const char op_module_version[];

#endif
