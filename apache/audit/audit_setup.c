/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_setup.c - the audit program, started as a reliable piped log.
 *
 * In post_config the parent writes the program's configuration into
 * Apache's runtime directory (mode 0600: it holds the credentials the
 * program needs to ask Orthanc who an ID belongs to), then starts it with
 * ap_open_piped_log(): Apache starts it again if it dies, and keeps the
 * pipe's read end, so that what the children wrote meanwhile waits in the
 * pipe.  The pipe's write end is made non-blocking: a child whose record
 * does not fit in the pipe (the program stalled) drops it and counts the
 * loss rather than wait.  At a restart or a stop Apache closes its copy of
 * the pipe and sends the program SIGTERM; the program ends when the last
 * child of its generation has closed the pipe too, after it wrote every
 * open window.
 */
#include <errno.h>
#include <fcntl.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <ap_mpm.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "apache/orthanc_http.h"
#include "apache/request_context.h"
#include "audit_config.h"
#include "audit_setup.h"

APLOG_USE_MODULE(orthanc_proxy);

#define OP_AUDIT_PIPE_SIZE (1 << 20)

static int has_output(const op_audit_server *conf)
{
    return conf->json != NULL || conf->syslog != NULL;
}

int op_audit_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    const op_audit_server *conf = op_audit_server_get(s);
    const char *program = op_audit_program_path(conf);
    apr_finfo_t info;
    server_rec *v;

    if (!has_output(conf)) {
        return OK;
    }
    if (apr_stat(&info, program, APR_FINFO_TYPE | APR_FINFO_PROT, ptemp)
            != APR_SUCCESS
        || info.filetype != APR_REG || !(info.protection & APR_FPROT_UEXECUTE)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     "OrthancProxyAudit (%s): the audit program %s is missing "
                     "or not executable; install the module's package again, "
                     "or name it with OrthancProxyAuditProgram",
                     conf->defined_at, program);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (v = s; v; v = v->next) {
        const apr_array_header_t *mappings = op_server_conf_get(v)->mappings;
        int i;
        for (i = 0; i < mappings->nelts; i++) {
            const op_mapping *m = APR_ARRAY_IDX(mappings, i, const op_mapping *);
            if (m->backend.kind == OP_BACKEND_BALANCER) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, v,
                             "OrthancProxyAudit (%s): OrthancProxy %s %s (%s): "
                             "the audit trail cannot ask the members of a "
                             "balancer who an Orthanc ID belongs to yet; "
                             "through this mapping, events name Orthanc's "
                             "IDs, and deletions and modifications are "
                             "refused while auditing is on",
                             conf->defined_at, m->prefix.prefix,
                             m->backend.url, m->defined_at);
            }
        }
    }
    return OK;
}

/* The Authorization values of every section's OrthancProxyCredentials. */
static void add_credential(apr_array_header_t *found, const op_dir_conf *dir)
{
    int i;
    if (dir == NULL || dir->authorization == NULL) {
        return;
    }
    for (i = 0; i < found->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(found, i, const char *), dir->authorization)
            == 0) {
            return;
        }
    }
    APR_ARRAY_PUSH(found, const char *) = dir->authorization;
}

static apr_array_header_t *all_credentials(apr_pool_t *p, server_rec *main)
{
    apr_array_header_t *found = apr_array_make(p, 4, sizeof(const char *));
    server_rec *s;

    for (s = main; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        int i;
        add_credential(found, ap_get_module_config(s->lookup_defaults,
                                                   &orthanc_proxy_module));
        for (i = 0; core->sec_url && i < core->sec_url->nelts; i++) {
            ap_conf_vector_t *section = APR_ARRAY_IDX(core->sec_url, i,
                                                      ap_conf_vector_t *);
            add_credential(found, ap_get_module_config(section,
                                                       &orthanc_proxy_module));
        }
    }
    return found;
}

/* Every mapping's Orthanc gets an index in the program's table. */
static apr_array_header_t *number_backends(apr_pool_t *p, server_rec *main)
{
    apr_array_header_t *urls = apr_array_make(p, 4, sizeof(const char *));
    server_rec *s;

    for (s = main; s; s = s->next) {
        const apr_array_header_t *mappings = op_server_conf_get(s)->mappings;
        int i, j;
        for (i = 0; i < mappings->nelts; i++) {
            op_mapping *m = APR_ARRAY_IDX(mappings, i, op_mapping *);
            m->audit_backend = -1;
            if (m->backend.kind == OP_BACKEND_BALANCER) {
                continue;
            }
            for (j = 0; j < urls->nelts; j++) {
                if (strcmp(APR_ARRAY_IDX(urls, j, const char *),
                           m->backend.url) == 0) {
                    break;
                }
            }
            if (j == urls->nelts) {
                APR_ARRAY_PUSH(urls, const char *) = m->backend.url;
            }
            m->audit_backend = j;
        }
    }
    return urls;
}

static const char *write_config(apr_pool_t *p, const char *path,
                                const op_audit_server *conf,
                                const apr_array_header_t *backends,
                                const apr_array_header_t *credentials)
{
    const char *text = "";
    apr_file_t *f;
    apr_status_t rv;
    int i;

    if (conf->json) {
        text = apr_pstrcat(p, text, "json ", conf->json, "\n", NULL);
    }
    if (conf->syslog) {
        text = apr_pstrcat(p, text, "syslog ", conf->syslog, "\n", NULL);
    }
    text = apr_psprintf(p, "%sfacility %d\nqueue %d\nstatus %s\napp "
                        "mod_orthanc_proxy\n", text,
                        conf->facility >= 0 ? conf->facility : 10,
                        conf->queue > 0 ? conf->queue : 10000,
                        conf->status_path);
    for (i = 0; i < backends->nelts; i++) {
        text = apr_psprintf(p, "%sbackend %d %s\n", text, i,
                            APR_ARRAY_IDX(backends, i, const char *));
    }
    for (i = 0; i < credentials->nelts; i++) {
        text = apr_psprintf(p, "%scredential %d %s\n", text, i,
                            APR_ARRAY_IDX(credentials, i, const char *));
    }
    apr_file_remove(path, p);
    rv = apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                                 | APR_FOPEN_EXCL | APR_FOPEN_TRUNCATE,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_write_full(f, text, strlen(text), NULL);
        apr_file_close(f);
    }
    return rv == APR_SUCCESS ? NULL
           : apr_psprintf(p, "cannot write %s: %pm", path, &rv);
}

int op_audit_start(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                   server_rec *main)
{
    op_audit_server *conf = op_audit_server_get(main);
    apr_array_header_t *backends, *credentials;
    const char *config_path, *err;
    int generation = 0, flags;
    apr_os_file_t fd;
    piped_log *pl;
    server_rec *s;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || !has_output(conf)) {
        return OK;
    }
    generation = ap_state_query(AP_SQ_CONFIG_GEN);
    backends = number_backends(pconf, main);
    credentials = all_credentials(pconf, main);
    conf->status_path = ap_runtime_dir_relative(
        pconf, apr_psprintf(ptemp, "orthanc_proxy_audit.%d.status", generation));
    config_path = ap_runtime_dir_relative(
        pconf, apr_psprintf(ptemp, "orthanc_proxy_audit.%d.conf", generation));
    apr_file_remove(ap_runtime_dir_relative(ptemp, apr_psprintf(
        ptemp, "orthanc_proxy_audit.%d.conf", generation - 1)), ptemp);
    if ((err = write_config(ptemp, config_path, conf, backends, credentials))
        != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main, "OrthancProxyAudit "
                     "(%s): %s", conf->defined_at, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    pl = ap_open_piped_log(pconf, apr_psprintf(ptemp, "\"%s\" \"%s\"",
                                               op_audit_program_path(conf),
                                               config_path));
    if (pl == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main, "OrthancProxyAudit "
                     "(%s): the audit program %s cannot be started",
                     conf->defined_at, op_audit_program_path(conf));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_os_file_get(&fd, ap_piped_log_write_fd(pl));
#ifdef F_SETPIPE_SZ
    /* Room for thousands of records (Linux gives a pipe 64 KiB): a burst,
     * or the program busy with a slow Orthanc, costs no record. */
    if (fcntl(fd, F_SETPIPE_SZ, OP_AUDIT_PIPE_SIZE) == -1) {
        ap_log_error(APLOG_MARK, APLOG_INFO, errno, main, "OrthancProxyAudit: "
                     "the pipe to the audit program keeps its default size");
    }
#endif
    flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main, "OrthancProxyAudit: "
                     "the pipe to the audit program cannot be made "
                     "non-blocking");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* libcurl's global state, before any child thread asks Orthanc
     * (audit_lookup.c), released with the configuration. */
    if ((err = op_http_global_init(pconf)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main, "OrthancProxyAudit: "
                     "libcurl cannot be initialised: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (s = main; s; s = s->next) {
        op_audit_server *each = op_audit_server_get(s);
        each->running = 1;
        each->fd = fd;
        each->credentials = credentials;
        each->status_path = conf->status_path;
        each->json = conf->json;
        each->syslog = conf->syslog;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, main, "OrthancProxyAudit: the "
                 "audit program %s records to %s%s%s",
                 op_audit_program_path(conf), conf->json ? conf->json : "",
                 conf->json && conf->syslog ? " and " : "",
                 conf->syslog ? conf->syslog : "");
    return OK;
}
