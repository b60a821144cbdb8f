/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend_tls.c - mod_ssl's SSLProxy* settings for a backend, read from the
 * configuration tree (see backend_tls.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <apr_file_io.h>
#include <apr_fnmatch.h>
#include <apr_strings.h>

#include "backend_tls.h"

/* mod_ssl's three-valued flags. */
#define UNSET -1

typedef struct {
    apr_pool_t *p;
    int verify;              /* 0 none, 1 optional/require; UNSET */
    int check_name;          /* SSLProxyCheckPeerName */
    int check_cn;            /* SSLProxyCheckPeerCN */
    const char *ca_file, *ca_path, *client_cert, *crl_file;
    const char *unsupported;
} tls_reading;

static const char *first_word(apr_pool_t *p, const char *args)
{
    return ap_getword_conf(p, &args);
}

static int flag_of(apr_pool_t *p, const char *args)
{
    return strcasecmp(first_word(p, args), "on") == 0;
}

static const char *path_of(apr_pool_t *p, const char *args)
{
    const char *word = first_word(p, args);
    return *word ? ap_server_root_relative(p, word) : NULL;
}

/* One directive D, if it is one of mod_ssl's SSLProxy* settings. */
static void read_setting(tls_reading *t, const ap_directive_t *d)
{
    const char *name = d->directive, *args = d->args ? d->args : "";

    if (strncasecmp(name, "SSLProxy", 8) != 0) {
        return;
    }
    name += 8;
    if (strcasecmp(name, "Verify") == 0) {
        const char *mode = first_word(t->p, args);
        t->verify = strcasecmp(mode, "require") == 0
                    || strcasecmp(mode, "optional") == 0;
    }
    else if (strcasecmp(name, "CheckPeerName") == 0) {
        t->check_name = flag_of(t->p, args);
    }
    else if (strcasecmp(name, "CheckPeerCN") == 0) {
        t->check_cn = flag_of(t->p, args);
    }
    else if (strcasecmp(name, "CACertificateFile") == 0) {
        t->ca_file = path_of(t->p, args);
    }
    else if (strcasecmp(name, "CACertificatePath") == 0) {
        t->ca_path = path_of(t->p, args);
    }
    else if (strcasecmp(name, "MachineCertificateFile") == 0) {
        t->client_cert = path_of(t->p, args);
    }
    else if (strcasecmp(name, "CARevocationFile") == 0) {
        t->crl_file = path_of(t->p, args);
    }
    else if (strcasecmp(name, "MachineCertificatePath") == 0
             || strcasecmp(name, "MachineCertificateChainFile") == 0
             || strcasecmp(name, "CARevocationPath") == 0) {
        t->unsupported = apr_pstrcat(t->p, d->directive, " (", d->filename,
                                     ":", apr_itoa(t->p, d->line_num),
                                     ") has no equivalent in the change "
                                     "follower's HTTP client (libcurl)",
                                     NULL);
    }
}

/* The directives directly in the list that starts at D. */
static void read_level(tls_reading *t, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        read_setting(t, d);
    }
}

/* The URL or pattern a <Proxy ...> or <ProxyMatch ...> section names. */
static const char *section_name(apr_pool_t *p, const ap_directive_t *d,
                                int *regex)
{
    char *args = apr_pstrdup(p, d->args ? d->args : "");
    const char *from = args, *word;
    char *close = strrchr(args, '>');

    if (close) {
        *close = '\0';
    }
    word = ap_getword_conf(p, &from);
    *regex = strcasecmp(d->directive, "<ProxyMatch") == 0;
    if (strcmp(word, "~") == 0) {
        *regex = 1;
        word = ap_getword_conf(p, &from);
    }
    return word;
}

/* Whether the section named NAME applies to URL, as mod_proxy's
 * proxy_walk decides: a regular expression, a wildcard pattern, or a
 * prefix of the URL. */
static int section_matches(apr_pool_t *p, const char *name, int regex,
                           const char *url)
{
    if (regex) {
        ap_regex_t *re = ap_pregcomp(p, name, AP_REG_EXTENDED);
        return re != NULL && ap_regexec(re, url, 0, NULL, 0) == 0;
    }
    if (apr_fnmatch_test(name)) {
        return apr_fnmatch(name, url, 0) == APR_SUCCESS;
    }
    return strncmp(url, name, strlen(name)) == 0;
}

/* The <Proxy> sections directly in the list that starts at D. */
static void read_sections(tls_reading *t, const ap_directive_t *d,
                          const char *url)
{
    for (; d; d = d->next) {
        int regex = 0;
        if ((strcasecmp(d->directive, "<Proxy") == 0
             || strcasecmp(d->directive, "<ProxyMatch") == 0)
            && section_matches(t->p, section_name(t->p, d, &regex), regex,
                               url)) {
            read_level(t, d->first_child);
        }
    }
}

static const ap_directive_t *vhost_section(const server_rec *s)
{
    const ap_directive_t *d;

    if (!s->is_virtual || s->defn_name == NULL) {
        return NULL;
    }
    for (d = ap_conftree; d; d = d->next) {
        if (strcasecmp(d->directive, "<VirtualHost") == 0
            && d->line_num == (int)s->defn_line_number
            && strcmp(d->filename, s->defn_name) == 0) {
            return d;
        }
    }
    return NULL;
}

/* The text of the file at PATH (read as root, at start-up), or why not. */
static const char *read_whole(apr_pool_t *p, const char *directive,
                              const char *path, const char **text,
                              apr_size_t *length)
{
    apr_finfo_t info;
    apr_file_t *file;
    apr_status_t rv;
    char *data;

    if ((rv = apr_stat(&info, path, APR_FINFO_SIZE, p)) != APR_SUCCESS
        || (rv = apr_file_open(&file, path, APR_FOPEN_READ, APR_OS_DEFAULT,
                               p)) != APR_SUCCESS) {
        return apr_psprintf(p, "%s %s cannot be read: %pm", directive, path,
                            &rv);
    }
    data = apr_palloc(p, (apr_size_t)info.size + 1);
    rv = apr_file_read_full(file, data, (apr_size_t)info.size, NULL);
    apr_file_close(file);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "%s %s cannot be read: %pm", directive, path,
                            &rv);
    }
    data[info.size] = '\0';
    *text = data;
    *length = (apr_size_t)info.size;
    return NULL;
}

const char *op_backend_tls(apr_pool_t *p, server_rec *s,
                           const char *section_url, op_tls_settings *out)
{
    const ap_directive_t *vhost = vhost_section(s);
    tls_reading t;

    memset(&t, 0, sizeof(t));
    t.p = p;
    t.verify = t.check_name = t.check_cn = UNSET;
    read_level(&t, ap_conftree);
    if (vhost) {
        read_level(&t, vhost->first_child);
    }
    read_sections(&t, ap_conftree, section_url);
    if (vhost) {
        read_sections(&t, vhost->first_child, section_url);
    }
    memset(out, 0, sizeof(*out));
    /* mod_ssl's defaults: no verification of the chain (SSLProxyVerify
     * none), but the name is checked (SSLProxyCheckPeerName and ...CN
     * unset). */
    out->verify_peer = t.verify == 1;
    out->verify_host = (t.check_name != 0 && (t.check_cn != 0
                                              || t.check_name == 1))
                       || t.check_cn == 1;
    out->ca_path = t.ca_path;
    out->crl_file = t.crl_file;
    if (t.unsupported) {
        return t.unsupported;
    }
    if (t.ca_file) {
        const char *err = read_whole(p, "SSLProxyCACertificateFile", t.ca_file,
                                     &out->ca_pem, &out->ca_pem_length);
        if (err) {
            return err;
        }
    }
    if (t.client_cert) {
        return read_whole(p, "SSLProxyMachineCertificateFile", t.client_cert,
                          &out->client_pem, &out->client_pem_length);
    }
    return NULL;
}
