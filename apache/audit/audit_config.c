/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_config.c - the audit trail's directives (audit_config.h).
 */
#include <stdlib.h>
#include <strings.h>
#include <httpd.h>
#include <http_config.h>
#include <apr_strings.h>

#include "apache/request_context.h"
#include "audit_config.h"

#ifndef OP_AUDIT_PROGRAM
#define OP_AUDIT_PROGRAM "/usr/libexec/mod_orthanc_proxy/orthanc-proxy-audit"
#endif

struct op_audit_server *op_audit_create_server(apr_pool_t *p, server_rec *s)
{
    op_audit_server *conf = apr_pcalloc(p, sizeof(*conf));
    conf->facility = -1;
    conf->queue = -1;
    conf->fd = -1;
    return conf;
}

struct op_audit_server *op_audit_merge_server(apr_pool_t *p, void *base_conf,
                                              void *add_conf)
{
    const op_audit_server *base = base_conf, *add = add_conf;
    op_audit_server *conf = apr_pmemdup(p, base, sizeof(*conf));

    /* The outputs are the main server's; a virtual host names itself. */
    conf->node = add->node ? add->node : base->node;
    conf->site = add->site ? add->site : base->site;
    return conf;
}

op_audit_server *op_audit_server_get(const server_rec *s)
{
    return op_server_conf_get(s)->audit;
}

static op_audit_server *main_server_only(cmd_parms *cmd, const char **err)
{
    *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    return *err ? NULL : op_audit_server_get(cmd->server);
}

static void note_output(cmd_parms *cmd, op_audit_server *conf)
{
    if (conf->defined_at == NULL) {
        conf->defined_at = apr_psprintf(cmd->pool, "%s:%d",
                                        cmd->directive->filename,
                                        cmd->directive->line_num);
    }
}

const char *op_cmd_audit(cmd_parms *cmd, void *dconf, int on)
{
    ((op_dir_conf *)dconf)->audit = on;
    return NULL;
}

static int seconds(const char *text)
{
    char *end;
    apr_int64_t n = apr_strtoi64(text, &end, 10);
    return *text && *end == '\0' && n > 0 && n <= 86400 ? (int)n : -1;
}

const char *op_cmd_audit_window(cmd_parms *cmd, void *dconf,
                                const char *quiet, const char *longest)
{
    op_dir_conf *conf = dconf;
    int q = seconds(quiet);
    int l = longest ? seconds(longest) : OP_AUDIT_DEFAULT_LONGEST;

    if (q < 0 || l < 0) {
        return "OrthancProxyAuditWindow QUIET [LONGEST]: whole seconds, "
               "1 to 86400 (default 60 3600)";
    }
    if (l < q) {
        return "OrthancProxyAuditWindow: LONGEST cannot be shorter than QUIET";
    }
    conf->audit_window[0] = q;
    conf->audit_window[1] = l;
    return NULL;
}

const char *op_cmd_audit_log(cmd_parms *cmd, void *dconf, const char *target)
{
    const char *err;
    op_audit_server *conf = main_server_only(cmd, &err);

    if (err) {
        return err;
    }
    if (*target == '|') {
        conf->json = apr_pstrdup(cmd->pool, target);
    }
    else if ((conf->json = ap_server_root_relative(cmd->pool, target)) == NULL) {
        return apr_pstrcat(cmd->pool, "OrthancProxyAuditLog: invalid path ",
                           target, NULL);
    }
    note_output(cmd, conf);
    return NULL;
}

static int facility_number(const char *name)
{
    static const char *const NAMES[] = {
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
        "uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6",
        "local7", NULL
    };
    int i;
    for (i = 0; NAMES[i]; i++) {
        if (strcasecmp(name, NAMES[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *op_cmd_audit_syslog(cmd_parms *cmd, void *dconf, const char *args)
{
    const char *err, *word;
    op_audit_server *conf = main_server_only(cmd, &err);
    const char *target;

    if (err) {
        return err;
    }
    target = ap_getword_conf(cmd->pool, &args);
    if (!(strncmp(target, "unix:/", 6) == 0 || strncmp(target, "udp://", 6) == 0
          || strncmp(target, "tcp://", 6) == 0) || strlen(target) < 7) {
        return apr_psprintf(cmd->pool, "OrthancProxyAuditSyslog: '%s' is not "
                            "unix:/PATH, udp://HOST:PORT or tcp://HOST:PORT",
                            target);
    }
    conf->syslog = target;
    while (*(word = ap_getword_conf(cmd->temp_pool, &args))) {
        if (strncasecmp(word, "facility=", 9) == 0
            && (conf->facility = facility_number(word + 9)) >= 0) {
            continue;
        }
        if (strncasecmp(word, "queue=", 6) == 0
            && (conf->queue = atoi(word + 6)) > 0 && conf->queue <= 10000000) {
            continue;
        }
        return apr_psprintf(cmd->pool, "OrthancProxyAuditSyslog: '%s' is "
                            "neither facility=NAME (authpriv, local0 ...) nor "
                            "queue=N (messages, 1 or more)", word);
    }
    note_output(cmd, conf);
    return NULL;
}

const char *op_cmd_audit_program(cmd_parms *cmd, void *dconf, const char *path)
{
    const char *err;
    op_audit_server *conf = main_server_only(cmd, &err);

    if (err) {
        return err;
    }
    conf->program = ap_server_root_relative(cmd->pool, path);
    return conf->program ? NULL : "OrthancProxyAuditProgram: invalid path";
}

const char *op_cmd_audit_name(cmd_parms *cmd, void *dconf, const char *name)
{
    op_audit_server *conf = op_audit_server_get(cmd->server);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);

    if (err) {
        return err;
    }
    if (cmd->info == NULL) {
        conf->node = name;
    }
    else {
        conf->site = name;
    }
    return NULL;
}

int op_audit_enabled(const request_rec *r)
{
    const op_audit_server *conf = op_audit_server_get(r->server);
    const op_dir_conf *dir = op_dir_conf_get(r);

    return conf->running && conf->fd >= 0 && dir->audit != 0;
}

void op_audit_window_of(const request_rec *r, int *quiet, int *longest)
{
    const op_dir_conf *dir = op_dir_conf_get(r);
    *quiet = dir->audit_window[0] > 0 ? dir->audit_window[0]
                                      : OP_AUDIT_DEFAULT_QUIET;
    *longest = dir->audit_window[1] > 0 ? dir->audit_window[1]
                                        : OP_AUDIT_DEFAULT_LONGEST;
}

const char *op_audit_program_path(const op_audit_server *conf)
{
    return conf->program ? conf->program : OP_AUDIT_PROGRAM;
}
