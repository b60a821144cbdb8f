/* SPDX-License-Identifier: Apache-2.0 */
/*
 * credentials.c - who the proxy says it is to Orthanc, and who the user is.
 *
 *   OrthancProxyCredentials USER PASSWORD
 *   OrthancProxyCredentials USER file:/etc/apache2/orthanc.secret
 *   OrthancProxyCredentials off
 *   OrthancProxyUserHeader X-Remote-User | off
 *
 * The password is turned into the Authorization value once, at start-up,
 * and kept nowhere else: no message, log line or response repeats it.  A
 * password file is read while Apache still runs as root, so it can be
 * private to root; one that ssh would refuse as a private key (open to its
 * group or to others, or owned by another user) is refused.
 */
#include <sys/stat.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "logic/forward_headers.h"
#include "logic/header_names.h"
#include "credentials.h"
#include "request_context.h"

#define PASSWORD_FILE_PREFIX "file:"
#define MAX_PASSWORD_LENGTH 1024

/* Besides those the proxy owns (header_names.h), headers that carry
 * credentials or frame the request: never a user header. */
static const char *const RESERVED_HEADERS[] = {
    "Authorization", "Proxy-Authorization", "Host", "Connection",
    "Content-Length", "Transfer-Encoding", "Content-Type", "Expect",
    "Upgrade", "TE", "Trailer", "Keep-Alive", "Cookie", NULL
};

static int is_reserved(const char *name)
{
    const char *const *reserved;

    if (op_is_proxy_owned_header(name, NULL)) {
        return 1;
    }
    for (reserved = RESERVED_HEADERS; *reserved; reserved++) {
        if (op_header_names_match(name, *reserved)) {
            return 1;
        }
    }
    return 0;
}

/* PERMS as chmod writes it: APR keeps each of user, group and others in
 * its own hexadecimal digit. */
static unsigned unix_mode(apr_fileperms_t perms)
{
    return ((perms >> 8) & 7) << 6 | ((perms >> 4) & 7) << 3 | (perms & 7);
}

/* The checks ssh makes of a private key: the file is private to its
 * owner (no permission at all for its group or for others), and its owner
 * is root or the user Apache starts as, who alone can have written it. */
static const char *check_password_file(cmd_parms *cmd, const char *path,
                                       const apr_finfo_t *info)
{
    const apr_fileperms_t shared = APR_FPROT_GREAD | APR_FPROT_GWRITE
                                   | APR_FPROT_GEXECUTE | APR_FPROT_WREAD
                                   | APR_FPROT_WWRITE | APR_FPROT_WEXECUTE;
    uid_t starter = geteuid();

    if (info->protection & shared) {
        return apr_psprintf(cmd->pool, "the password file %s is open to its "
                            "group or to others (mode %04o); make it private "
                            "to its owner: chmod 600 %s", path,
                            unix_mode(info->protection), path);
    }
    if (info->user != 0 && info->user != starter) {
        return apr_psprintf(cmd->pool, "the password file %s belongs to uid "
                            "%lu, who could have written it; it must belong "
                            "to root%s: chown root %s", path,
                            (unsigned long)info->user,
                            starter == 0 ? ""
                            : " or to the user Apache starts as", path);
    }
    return NULL;
}

static const char *read_password_file(cmd_parms *cmd, const char *path,
                                      const char **password)
{
    apr_finfo_t info;
    apr_file_t *file;
    char line[MAX_PASSWORD_LENGTH + 2];
    apr_size_t n;
    const char *err;

    path = ap_server_root_relative(cmd->temp_pool, path);
    if (path == NULL
        || apr_stat(&info, path,
                    APR_FINFO_PROT | APR_FINFO_TYPE | APR_FINFO_OWNER,
                    cmd->temp_pool) != APR_SUCCESS
        || info.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "cannot read the password file %s",
                            path ? path : "");
    }
    if ((err = check_password_file(cmd, path, &info)) != NULL) {
        return err;
    }
    if (apr_file_open(&file, path, APR_FOPEN_READ, 0, cmd->temp_pool)
        != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "cannot open the password file %s", path);
    }
    memset(line, 0, sizeof(line));
    n = sizeof(line) - 1;
    apr_file_read(file, line, &n);
    apr_file_close(file);
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0') {
        return apr_psprintf(cmd->pool, "the password file %s is empty", path);
    }
    if (strlen(line) > MAX_PASSWORD_LENGTH) {
        return apr_psprintf(cmd->pool, "the first line of %s is too long for "
                            "a password", path);
    }
    *password = apr_pstrdup(cmd->temp_pool, line);
    memset(line, 0, sizeof(line));
    return NULL;
}

/* mod_info shows every directive with its arguments in a web page: keep
 * the password out of the configuration tree it reads. */
static void hide_password(cmd_parms *cmd, const char *user)
{
    ap_directive_t *directive = (ap_directive_t *)cmd->directive;
    directive->args = apr_pstrcat(cmd->pool, user, " (password hidden)", NULL);
}

const char *op_cmd_credentials(cmd_parms *cmd, void *dconf, const char *user,
                               const char *secret)
{
    op_dir_conf *conf = dconf;
    const char *password = secret;

    conf->credentials_set = 1;
    if (secret == NULL) {
        if (strcasecmp(user, "off") != 0) {
            return "OrthancProxyCredentials takes USER PASSWORD, USER "
                   "file:PATH or off";
        }
        conf->authorization = NULL;
        conf->credentials_user = NULL;
        return NULL;
    }
    if (*user == '\0' || strchr(user, ':') || !op_header_value_is_safe(user)) {
        return "OrthancProxyCredentials: the user name must not be empty nor "
               "contain ':' or control characters";
    }
    if (strncmp(secret, PASSWORD_FILE_PREFIX, strlen(PASSWORD_FILE_PREFIX)) == 0) {
        const char *err = read_password_file(
            cmd, secret + strlen(PASSWORD_FILE_PREFIX), &password);
        if (err) {
            return apr_pstrcat(cmd->pool, "OrthancProxyCredentials: ", err, NULL);
        }
    }
    conf->authorization = op_basic_authorization(cmd->pool, user, password);
    conf->credentials_user = apr_pstrdup(cmd->pool, user);
    hide_password(cmd, user);
    return NULL;
}

static int is_token(const char *name)
{
    const char *c;

    if (*name == '\0') {
        return 0;
    }
    for (c = name; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-') {
            return 0;
        }
    }
    return 1;
}

const char *op_cmd_user_header(cmd_parms *cmd, void *dconf, const char *name)
{
    op_dir_conf *conf = dconf;

    conf->user_header_set = 1;
    if (strcasecmp(name, "off") == 0) {
        conf->user_header = NULL;
        return NULL;
    }
    if (!is_token(name)) {
        return apr_psprintf(cmd->pool, "OrthancProxyUserHeader: '%s' is not a "
                            "header name (letters, digits and '-')", name);
    }
    if (is_reserved(name)) {
        return apr_psprintf(cmd->pool, "OrthancProxyUserHeader: %s is "
                            "reserved; choose another name such as "
                            "X-Remote-User", name);
    }
    conf->user_header = name;
    return NULL;
}
