/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_check.c - refuse to build for, or start in, an httpd older than
 * 2.4.54 (logic/httpd_version.h says why: CVE-2022-31813), and say which
 * version of the module started.
 *
 * The build-time test reads the headers; the start-up test reads the
 * running server, since a module built for one release can be loaded by
 * another.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_release.h>

#include "logic/httpd_version.h"
#include "logic/module_version.h"
#include "httpd_check.h"

APLOG_USE_MODULE(orthanc_proxy);

#if (AP_SERVER_MAJORVERSION_NUMBER * 10000 + AP_SERVER_MINORVERSION_NUMBER * 100 \
     + AP_SERVER_PATCHLEVEL_NUMBER)                                          \
    < (OP_HTTPD_MIN_MAJOR * 10000 + OP_HTTPD_MIN_MINOR * 100 + OP_HTTPD_MIN_PATCH)
#error "mod_orthanc_proxy needs Apache httpd 2.4.54 or later (CVE-2022-31813)"
#endif

int op_check_httpd_version(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    ap_version_t running;

    ap_get_server_revision(&running);
    if (op_httpd_version_supported(running.major, running.minor,
                                   running.patch)) {
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                 OP_MODULE_NAME " %s needs Apache httpd " OP_HTTPD_MIN_TEXT
                 " or later; this is %d.%d.%d, whose mod_proxy lets a "
                 "client's Connection header remove the credentials and "
                 "forwarding headers the module sends (CVE-2022-31813)",
                 op_module_version, running.major, running.minor,
                 running.patch);
    return HTTP_INTERNAL_SERVER_ERROR;
}

int op_log_start_up(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s)
{
    /* httpd reads its configuration twice when it starts; the first
     * reading only checks it. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    /* Notice, as httpd's own "resuming normal operations": logged
     * whatever the LogLevel, once per start and restart. */
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 OP_MODULE_NAME "/%s configured", op_module_version);
    return OK;
}
