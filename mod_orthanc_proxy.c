/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_orthanc_proxy.c - branch Orthanc's REST API into Apache under a prefix.
 *
 * The module record, the command table and the hook registration; each
 * part lives under apache/ in a file named for what it does, the parts of
 * one capability in a folder of their own (cache/, cluster/, status/,
 * audit/).  The hooks, and the part that runs each:
 *
 *   pre_translate_name  apache/translate.c      read the path as Orthanc will,
 *                                               pick the mapping and method
 *   translate_name      apache/translate.c      hand over to mod_proxy, or to
 *                                               the local handler
 *   map_to_storage      apache/translate.c      no file behind local answers
 *   check_access_ex     apache/cors.c           preflights need no login
 *   fixups              apache/forwarding.c     last checks after
 *                                               authentication, then prepare
 *                                               what mod_proxy sends
 *   handler             apache/local_handler.c  the "/prefix" redirect and
 *                                               CORS preflights
 *   fixups              apache/cluster/member_routing.c  which member of a
 *                                               balancer takes the request
 *   handler             apache/status/status_page.c  SetHandler
 *                                               orthanc-proxy-status
 *   check_config        apache/proxy_bridge.c   every mapping has its worker
 *   check_config        apache/audit/audit_setup.c    the audit program
 *   post_config         apache/audit/audit_setup.c    starts it as a
 *                                               reliable piped log
 *   fixups              apache/audit/audit_request.c  a deletion attributed
 *                                               before it is forwarded
 *   log_transaction     apache/audit/audit_request.c  one record per request
 *                                               for the audit trail
 *   post_config         apache/httpd_check.c    log the module's version
 *
 * plus mod_proxy's own hooks (apache/backend_request.c), the filters of
 * apache/error_response.c, apache/response_headers.c, apache/body_limit.c,
 * the "Require orthanc-access" provider (apache/authz_provider.c) and the
 * status page's counters (apache/status/status_counters.c).
 *
 * OrthancProxyCache (apache/cache/cache_setup.c) registers its own start-up
 * hooks, its fixup and its filters: mod_cache keeps the answers, with the
 * module's keys; mod_watchdog runs the change follower.
 * mod_proxy does the proxying itself; apache/proxy_bridge.c is the only
 * part that knows its structures, and nothing links against its symbols,
 * so the module loads before or after mod_proxy.  docs/development.md,
 * section "Architecture", shows the layers.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>

#include "apache/audit/audit_config.h"
#include "apache/audit/audit_request.h"
#include "apache/audit/audit_setup.h"
#include "apache/authz_provider.h"
#include "apache/backend_request.h"
#include "apache/body_limit.h"
#include "apache/cache/cache_config.h"
#include "apache/cache/cache_setup.h"
#include "apache/cluster/member_routing.h"
#include "apache/config.h"
#include "apache/cors.h"
#include "apache/credentials.h"
#include "apache/directives.h"
#include "apache/error_response.h"
#include "apache/forwarding.h"
#include "apache/httpd_check.h"
#include "apache/local_handler.h"
#include "apache/proxy_bridge.h"
#include "apache/response_headers.h"
#include "apache/status/status_counters.h"
#include "apache/status/status_page.h"
#include "apache/studies/studies_body.h"
#include "apache/studies/studies_config.h"
#include "apache/studies/studies_jobs.h"
#include "apache/studies/studies_memory.h"
#include "apache/studies/studies_request.h"
#include "apache/translate.h"

static const command_rec orthanc_proxy_cmds[] = {
    AP_INIT_RAW_ARGS("OrthancProxy", op_cmd_orthanc_proxy, NULL,
                     RSRC_CONF | ACCESS_CONF,
                     "PREFIX URL [key=value ...] (or URL [key=value ...] inside "
                     "<Location PREFIX>): reverse-proxy PREFIX to the Orthanc "
                     "at URL"),
    AP_INIT_TAKE1("OrthancProxyAccess", op_cmd_access, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "read, upload, modify (default) or admin: the Orthanc "
                  "routes the prefix exposes"),
    AP_INIT_TAKE2("OrthancProxyAllow", op_cmd_rule, (void *)"allow",
                  RSRC_CONF | ACCESS_CONF,
                  "METHODS PATTERN: also expose these routes"),
    AP_INIT_TAKE2("OrthancProxyDeny", op_cmd_rule, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "METHODS PATTERN: never expose these routes"),
    AP_INIT_TAKE12("OrthancProxyCredentials", op_cmd_credentials, NULL,
                   RSRC_CONF | ACCESS_CONF,
                   "USER PASSWORD, USER file:PATH or off: HTTP Basic "
                   "credentials the proxy sends to Orthanc"),
    AP_INIT_TAKE1("OrthancProxyUserHeader", op_cmd_user_header, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "NAME or off: header that carries the user Apache "
                  "authenticated to Orthanc"),
    AP_INIT_FLAG("OrthancProxyAllowEncodedBody", op_cmd_encoded_body, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On to forward request bodies that have a Content-Encoding "
                 "(Off by default)"),
    AP_INIT_RAW_ARGS("OrthancProxyCORS", op_cmd_cors, NULL,
                     RSRC_CONF | ACCESS_CONF,
                     "origins (https://host[:port] ...), * or off: the other "
                     "origins whose pages may call Orthanc (off by default)"),
    AP_INIT_FLAG("OrthancProxyCache", op_cmd_cache, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On to let mod_cache keep Orthanc's answers, made fresh "
                 "again from Orthanc's change log (Off by default)"),
    AP_INIT_TAKE12("OrthancProxyCacheMaxAge", op_cmd_cache_max_age, NULL,
                   RSRC_CONF | ACCESS_CONF,
                   "CONTENT [AGGREGATES]: seconds mod_cache keeps an answer "
                   "without asking Orthanc again (86400 and 3600)"),
    AP_INIT_TAKE1("OrthancProxyCacheStore", op_cmd_cache_store, NULL,
                  RSRC_CONF,
                  "obsolete, ignored: the cache's generation counters live "
                  "in mod_slotmem_shm's shared memory"),
    AP_INIT_TAKE1("OrthancProxyCacheMaxDelay", op_cmd_cache_max_delay, NULL,
                  RSRC_CONF,
                  "TIME: how long after a change in Orthanc a cached answer "
                  "may still be served (1 second by default)"),
    AP_INIT_FLAG("OrthancProxyAudit", op_cmd_audit, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On (the default once an audit output is set) or Off: "
                 "record who reached which patient's data through here"),
    AP_INIT_TAKE12("OrthancProxyAuditWindow", op_cmd_audit_window, NULL,
                   RSRC_CONF | ACCESS_CONF,
                   "QUIET [LONGEST]: seconds without a request that close "
                   "an event, and the longest an event stays open (60 3600)"),
    AP_INIT_TAKE1("OrthancProxyAuditLog", op_cmd_audit_log, NULL, RSRC_CONF,
                  "PATH or \"|COMMAND\": the audit trail as JSON lines "
                  "(main server)"),
    AP_INIT_RAW_ARGS("OrthancProxyAuditSyslog", op_cmd_audit_syslog, NULL,
                     RSRC_CONF,
                     "unix:/PATH, udp://HOST:PORT or tcp://HOST:PORT "
                     "[facility=NAME] [queue=N]: the audit trail as IHE ATNA "
                     "messages in RFC 5424 syslog (main server)"),
    AP_INIT_TAKE1("OrthancProxyAuditProgram", op_cmd_audit_program, NULL,
                  RSRC_CONF,
                  "PATH of the audit program (the installed one by default)"),
    AP_INIT_TAKE1("OrthancProxyAuditNode", op_cmd_audit_name, NULL, RSRC_CONF,
                  "NAME of this node in audit messages (AuditSourceID; "
                  "ServerName by default)"),
    AP_INIT_TAKE1("OrthancProxyAuditSite", op_cmd_audit_name, (void *)"site",
                  RSRC_CONF,
                  "NAME of the site in audit messages (AuditEnterpriseSiteID; "
                  "none by default)"),
    AP_INIT_TAKE_ARGV("OrthancProxyStudies", op_cmd_studies, NULL,
                      RSRC_CONF | ACCESS_CONF,
                      "CONDITION FILTER...: the users a Require-style "
                      "CONDITION matches see only the studies the FILTERs "
                      "(all, none, label=NAME, ATTRIBUTE=VALUE) allow"),
    { NULL }
};

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_rewrite[] = { "mod_rewrite.c", NULL };
    static const char *const before_proxy[] = { "mod_proxy.c", NULL };
    static const char *const before_cache_and_proxy[] = { "mod_cache.c",
                                                          "mod_proxy.c",
                                                          NULL };

    ap_hook_check_config(op_check_httpd_version, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_check_config(op_check_backends, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(op_log_start_up, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(op_audit_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(op_audit_start, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_translate_name(op_map_request, NULL, before_proxy,
                               APR_HOOK_FIRST);
    ap_hook_translate_name(op_hand_over, after_rewrite, before_proxy,
                           APR_HOOK_FIRST);
    ap_hook_map_to_storage(op_skip_file_walk, NULL, NULL, APR_HOOK_FIRST);
    /* After mod_authz_core's check of the Require lines that need no
     * user (APR_HOOK_LAST), so that they still apply to preflights. */
    ap_hook_check_access_ex(op_cors_admit_preflight, NULL, NULL,
                            APR_HOOK_REALLY_LAST, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(op_prepare_forwarding, NULL, NULL, APR_HOOK_REALLY_LAST);
    /* After op_prepare_forwarding, which may still refuse the request. */
    /* After op_prepare_forwarding too, and before the cache's fixup, which
     * reads whether the answer depends on the user's studies. */
    ap_hook_fixups(op_studies_decide, NULL, NULL, APR_HOOK_REALLY_LAST + 1);
    ap_hook_fixups(op_route_to_member, NULL, NULL, APR_HOOK_REALLY_LAST + 2);
    /* After both: only what will really be forwarded is attributed. */
    ap_hook_fixups(op_audit_prepare, NULL, NULL, APR_HOOK_REALLY_LAST + 3);
    /* After authz_provider.c's, which gives a Require refusal its reason. */
    ap_hook_log_transaction(op_audit_log, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(op_local_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(op_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_cache's handler and mod_proxy's, which would answer a
     * restricted user's list from the cache or unfiltered. */
    ap_hook_handler(op_studies_handler, NULL, before_cache_and_proxy,
                    APR_HOOK_REALLY_FIRST);
    ap_hook_child_init(op_studies_memory_child_init, NULL, NULL,
                       APR_HOOK_MIDDLE);
    op_register_backend_request_hooks();
    op_register_error_response();
    op_register_response_headers();
    op_register_body_limit();
    op_register_member_routing();
    op_register_authz_provider(p);
    op_register_status_counters();
    op_register_cache();
    op_register_audit_filters();
    op_register_studies_body();
    op_studies_jobs_register();
}

AP_DECLARE_MODULE(orthanc_proxy) = {
    STANDARD20_MODULE_STUFF,
    op_create_dir_conf,
    op_merge_dir_conf,
    op_create_server_conf,
    op_merge_server_conf,
    orthanc_proxy_cmds,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};
