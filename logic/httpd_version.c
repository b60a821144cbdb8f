/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_version.c - the Apache httpd releases the module accepts.
 */
#include "httpd_version.h"

int op_httpd_version_supported(int major, int minor, int patch)
{
    if (major != OP_HTTPD_MIN_MAJOR) {
        return major > OP_HTTPD_MIN_MAJOR;
    }
    if (minor != OP_HTTPD_MIN_MINOR) {
        return minor > OP_HTTPD_MIN_MINOR;
    }
    return patch >= OP_HTTPD_MIN_PATCH;
}
