/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_config.h - the audit trail's directives and settings.
 *
 *   OrthancProxyAuditLog PATH | "|COMMAND"      (main server)
 *   OrthancProxyAuditSyslog unix:PATH | udp://HOST:PORT | tcp://HOST:PORT
 *                           [facility=NAME] [queue=N]   (main server)
 *   OrthancProxyAuditProgram PATH               (main server)
 *   OrthancProxyAuditNode NAME, OrthancProxyAuditSite NAME
 *                                               (server, virtual host)
 *   OrthancProxyAudit on|off                    (server, vhost, <Location>)
 *   OrthancProxyAuditWindow QUIET [LONGEST]     (server, vhost, <Location>)
 */
#ifndef ORTHANC_PROXY_AUDIT_CONFIG_H
#define ORTHANC_PROXY_AUDIT_CONFIG_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_portable.h>

#include "apache/request_context.h"

#define OP_AUDIT_DEFAULT_QUIET 60
#define OP_AUDIT_DEFAULT_LONGEST 3600

/* The audit trail's settings of a server; the outputs are the main
 * server's. */
typedef struct op_audit_server {
    const char *json;             /* OrthancProxyAuditLog, NULL if none */
    const char *syslog;           /* OrthancProxyAuditSyslog target */
    int facility;                 /* 0-23, 10 (authpriv) by default */
    int queue;                    /* messages the program may hold */
    const char *program;          /* OrthancProxyAuditProgram */
    const char *defined_at;       /* file:line of the first output */
    const char *node;             /* OrthancProxyAuditNode, NULL: ServerName */
    const char *site;             /* OrthancProxyAuditSite, or NULL */
    const char *status_path;      /* the program's counters (status page) */
    /* Set at start-up in every server's record (audit_setup.c). */
    int running;                  /* the program was started */
    apr_os_file_t fd;             /* the pipe's end the children write to */
    apr_array_header_t *credentials;   /* const char *: Authorization values */
    /* Per child process (its own copy after the fork): when a lost record
     * was last logged, in seconds, and how many were lost since. */
    apr_uint32_t loss_logged;
    apr_uint32_t lost_since;
} op_audit_server;

struct op_audit_server *op_audit_create_server(apr_pool_t *p, server_rec *s);
struct op_audit_server *op_audit_merge_server(apr_pool_t *p, void *base,
                                              void *add);

const char *op_cmd_audit(cmd_parms *cmd, void *dconf, int on);
const char *op_cmd_audit_window(cmd_parms *cmd, void *dconf,
                                const char *quiet, const char *longest);
const char *op_cmd_audit_log(cmd_parms *cmd, void *dconf, const char *target);
const char *op_cmd_audit_syslog(cmd_parms *cmd, void *dconf,
                                const char *args);
const char *op_cmd_audit_program(cmd_parms *cmd, void *dconf,
                                 const char *path);
/* OrthancProxyAuditNode when cmd->info is NULL, OrthancProxyAuditSite
 * otherwise. */
const char *op_cmd_audit_name(cmd_parms *cmd, void *dconf, const char *name);

op_audit_server *op_audit_server_get(const server_rec *s);

/* Whether R (owned by the module) is recorded: OrthancProxyAudit, on by
 * default once the main server has an output. */
int op_audit_enabled(const request_rec *r);

/* The audit program: OrthancProxyAuditProgram, or where make install
 * put it. */
const char *op_audit_program_path(const op_audit_server *conf);

/* The window of R's location: quiet and longest seconds. */
void op_audit_window_of(const request_rec *r, int *quiet, int *longest);

#endif
