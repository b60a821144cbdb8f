/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_request.c - one record per request for the audit program
 * (audit_request.h).
 *
 * The hot path (a viewer's GETs) costs one record built in the request's
 * pool and one write() on the pipe, in the log phase: a client that went
 * away still gets its record, with what it was sent.  The rest only
 * concerns what changes data: a deletion or a modification is attributed
 * to its patient and study before it is forwarded (Orthanc cannot say
 * afterwards), an upload or a modification by Orthanc's answer, a search
 * by its body.
 */
/* Before APR's headers: see error_response.c (APR_OFFSETOF and clang). */
#include <stddef.h>
#include <errno.h>
#include <unistd.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "logic/audit_classify.h"
#include "logic/audit_record.h"
#include "logic/audit_resolve.h"
#include "apache/request_context.h"
#include "audit_config.h"
#include "audit_lookup.h"
#include "audit_request.h"

APLOG_USE_MODULE(orthanc_proxy);

#define ANSWER_FILTER "ORTHANC_PROXY_AUDIT_ANSWER"
#define BODY_FILTER "ORTHANC_PROXY_AUDIT_BODY"
#define ANSWER_MAX (256 * 1024)
#define BODY_MAX 2048
#define LOSS_LOG_SECONDS 10

typedef struct {
    char *data;
    apr_size_t len, max;
    int cut;
} kept;

struct op_audit_request {
    op_audit_class cls;
    apr_array_header_t *subjects;    /* resolved before forwarding */
    kept answer;
    kept body;
};

static void keep(request_rec *r, kept *k, const char *data, apr_size_t n)
{
    if (k->data == NULL) {
        k->data = apr_palloc(r->pool, k->max + 1);
    }
    if (k->len + n > k->max) {
        n = k->max - k->len;
        k->cut = 1;
    }
    memcpy(k->data + k->len, data, n);
    k->len += n;
    k->data[k->len] = '\0';
}

/* Copies what passes, up to its limit, and passes everything on. */
static void copy_brigade(request_rec *r, kept *k, apr_bucket_brigade *bb)
{
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb)
                                    && k->len < k->max;
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t n;
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) == APR_SUCCESS) {
            keep(r, k, data, n);
        }
    }
}

static apr_status_t keep_answer(ap_filter_t *f, apr_bucket_brigade *bb)
{
    struct op_audit_request *audit = f->ctx;
    if (f->r->status < 300) {
        copy_brigade(f->r, &audit->answer, bb);
    }
    return ap_pass_brigade(f->next, bb);
}

static apr_status_t keep_body(ap_filter_t *f, apr_bucket_brigade *bb,
                              ap_input_mode_t mode, apr_read_type_e block,
                              apr_off_t readbytes)
{
    struct op_audit_request *audit = f->ctx;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    if (rv == APR_SUCCESS && mode == AP_MODE_READBYTES) {
        copy_brigade(f->r, &audit->body, bb);
    }
    return rv;
}

void op_register_audit_filters(void)
{
    ap_register_output_filter(ANSWER_FILTER, keep_answer, NULL,
                              AP_FTYPE_CONTENT_SET);
    ap_register_input_filter(BODY_FILTER, keep_body, NULL,
                             AP_FTYPE_CONTENT_SET);
}

static struct op_audit_request *audit_of(request_rec *r, op_request *req)
{
    if (req->audit == NULL) {
        req->audit = apr_pcalloc(r->pool, sizeof(*req->audit));
        req->audit->answer.max = ANSWER_MAX;
        req->audit->body.max = BODY_MAX;
    }
    return req->audit;
}

/* Who the resource of a deletion or a modification belongs to. */
static int attribute_first(request_rec *r, op_request *req,
                           struct op_audit_request *audit)
{
    op_audit_resolver resolver = op_audit_lookup_resolver(r);
    const op_audit_class *c = &audit->cls;
    const char *err;
    int not_found = 0;

    if (c->level == OP_RESOURCE_PATIENT && c->kind == OP_AUDIT_DELETE) {
        err = op_audit_resolve_patient_studies(r->pool, &resolver,
                                               c->orthanc_id, &audit->subjects,
                                               &not_found);
    }
    else {
        op_audit_subject *s;
        audit->subjects = apr_array_make(r->pool, 1, sizeof(op_audit_subject));
        s = apr_array_push(audit->subjects);
        err = op_audit_resolve_id(r->pool, &resolver, c->level, c->orthanc_id,
                                  1, s, NULL, &not_found);
    }
    if (err == NULL) {
        return OK;
    }
    if (not_found) {
        /* Orthanc will answer 404 itself; the event names its ID. */
        audit->subjects = apr_array_make(r->pool, 1, sizeof(op_audit_subject));
        op_audit_subject_unresolved(apr_array_push(audit->subjects), c->level,
                                    c->orthanc_id);
        return OK;
    }
    return op_refuse(r, req, HTTP_SERVICE_UNAVAILABLE, apr_psprintf(
        r->pool, "%s %s changes patient data that the audit trail must "
        "attribute before it is forwarded, and Orthanc did not say whose it "
        "is: %s", r->method, req->orthanc_path, err), "OrthancProxyAudit");
}

int op_audit_prepare(request_rec *r)
{
    op_request *req = op_request_get(r);
    struct op_audit_request *audit;

    if (req == NULL || req->action != OP_ACTION_PROXY || req->reason != NULL
        || r->proxyreq != PROXYREQ_REVERSE || r->main != NULL
        || r->method_number == M_GET || !op_audit_enabled(r)) {
        return DECLINED;             /* reads: nothing to do before */
    }
    audit = audit_of(r, req);
    audit->cls = op_audit_classify(r->pool, r->method, &req->path,
                                   req->mapping->prefix.path.segments->nelts,
                                   r->args);
    if (audit->cls.unattributable) {
        return op_refuse(r, req, HTTP_FORBIDDEN, apr_psprintf(
            r->pool, "%s %s names the resources it changes in its body, "
            "which the audit trail cannot attribute to patients before "
            "Orthanc runs it; change or delete each resource by its own URL",
            r->method, req->orthanc_path), "OrthancProxyAudit");
    }
    if (audit->cls.resolve_first && audit->cls.orthanc_id) {
        int rc = attribute_first(r, req, audit);
        if (rc != OK) {
            return rc;
        }
    }
    if (audit->cls.keep_answer) {
        /* The answer is a small JSON text the child reads: Orthanc must
         * not compress it (it does when asked). */
        apr_table_unset(r->headers_in, "Accept-Encoding");
        ap_add_output_filter(ANSWER_FILTER, audit, r, r->connection);
    }
    if (audit->cls.keep_body) {
        ap_add_input_filter(BODY_FILTER, audit, r, r->connection);
    }
    return DECLINED;
}

/* What the record says of Orthanc's answer: a summary the program reads. */
static const char *summarize_answer(request_rec *r,
                                    const struct op_audit_request *audit)
{
    const kept *a = &audit->answer;
    char *summary = NULL;
    const char *err;

    if (a->data == NULL || a->cut) {
        return a->cut ? "{\"cut\":true}" : NULL;
    }
    if (audit->cls.kind == OP_AUDIT_IMPORT) {
        const char *type = apr_table_get(r->headers_out, "Content-Type");
        err = type && strstr(type, "dicom+json")
              ? op_audit_summarize_stow(r->pool, a->data, a->len, &summary)
              : op_audit_summarize_upload(r->pool, a->data, a->len, &summary);
    }
    else {
        err = op_audit_summarize_change(r->pool, a->data, a->len, &summary);
    }
    return err ? NULL : summary;
}

static void count(op_traffic_counters *c, int lost)
{
    if (c) {
        apr_atomic_inc64(lost ? &c->audit_lost : &c->audit_records);
    }
}

/* Logs a lost record, at most every LOSS_LOG_SECONDS per child. */
static void log_loss(request_rec *r, op_audit_server *conf, int error)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&conf->loss_logged);
    apr_uint32_t lost = apr_atomic_inc32(&conf->lost_since) + 1;

    if (now - last >= LOSS_LOG_SECONDS
        && apr_atomic_cas32(&conf->loss_logged, now, last) == last) {
        apr_atomic_set32(&conf->lost_since, 0);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, error, r, "OrthancProxyAudit: "
                      "%u record(s) could not be given to the audit program "
                      "(%s) and are lost; the status page counts them",
                      lost, error == EAGAIN
                            ? "its pipe is full: it is stalled or too slow"
                            : "writing to its pipe failed");
    }
}

static void send_record(request_rec *r, op_request *req, op_audit_record *rec)
{
    op_audit_server *conf = op_audit_server_get(r->server);
    apr_size_t len;
    char *line = op_audit_record_encode(r->pool, rec, &len);
    ssize_t n;

    do {
        n = write(conf->fd, line, len);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len) {
        count(req->mapping->counters, 0);
        return;
    }
    count(req->mapping->counters, 1);
    log_loss(r, conf, n < 0 ? errno : EIO);
}

static int credential_index(request_rec *r)
{
    const op_audit_server *conf = op_audit_server_get(r->server);
    const char *authorization = op_dir_conf_get(r)->authorization;
    int i;

    for (i = 0; authorization && i < conf->credentials->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(conf->credentials, i, const char *),
                   authorization) == 0) {
            return i;
        }
    }
    return -1;
}

/* A request below a mapped prefix that Apache itself refused before the
 * module could read it (an invalid path, a bad request line): recorded as
 * a refusal of that mapping. */
static int log_unowned(request_rec *r)
{
    const op_server_conf *sconf = op_server_conf_get(r->server);
    const op_audit_server *conf = op_audit_server_get(r->server);
    const op_mapping *mapping;
    op_prefix_match how;
    op_request fake;
    op_audit_record rec;
    const char *path;

    if (!conf->running || sconf->mappings->nelts == 0
        || r->unparsed_uri == NULL) {
        return DECLINED;
    }
    path = apr_pstrndup(r->pool, r->unparsed_uri,
                        strcspn(r->unparsed_uri, "?"));
    if ((mapping = op_mapping_by_uri(sconf, path, &how)) == NULL) {
        return DECLINED;
    }
    memset(&fake, 0, sizeof(fake));
    fake.mapping = mapping;
    memset(&rec, 0, sizeof(rec));
    rec.time = r->request_time;
    rec.node = conf->node ? conf->node : r->server->server_hostname;
    rec.site = conf->site;
    rec.prefix = "";
    rec.backend = mapping->audit_backend;
    rec.credential = -1;
    op_audit_window_of(r, &rec.quiet, &rec.longest);
    rec.user = r->user;
    rec.credentials_sent = apr_table_get(r->headers_in, "Authorization") != NULL;
    rec.client = r->useragent_ip;
    rec.method = r->method ? r->method : "-";
    rec.path = r->unparsed_uri;
    rec.status = r->status;
    rec.stage = OP_AUDIT_STAGE_REFUSED;
    rec.reason = apr_psprintf(r->pool, "Apache refused the request with %d "
                              "before it reached the module (see its error "
                              "log)", r->status);
    rec.bytes_out = r->bytes_sent;
    rec.request_id = r->log_id;
    send_record(r, &fake, &rec);
    return DECLINED;
}

int op_audit_log(request_rec *r)
{
    op_request *req = op_request_get(r);
    const op_audit_server *conf;
    struct op_audit_request *audit;
    op_audit_record rec;
    const char *length;

    if (req == NULL) {
        return r->main == NULL && r->status >= 400 ? log_unowned(r) : DECLINED;
    }
    if (r->main != NULL || !op_audit_enabled(r)) {
        return DECLINED;
    }
    conf = op_audit_server_get(r->server);
    audit = req->audit;
    memset(&rec, 0, sizeof(rec));
    rec.time = r->request_time;
    rec.node = conf->node ? conf->node : r->server->server_hostname;
    rec.site = conf->site;
    rec.prefix = req->mapping->prefix.prefix;
    rec.backend = req->mapping->audit_backend;
    rec.credential = credential_index(r);
    op_audit_window_of(r, &rec.quiet, &rec.longest);
    rec.user = r->user;
    rec.credentials_sent = apr_table_get(r->headers_in, "Authorization") != NULL;
    rec.client = r->useragent_ip;
    rec.method = r->method;
    if (req->backend_path) {
        rec.path = req->backend_path;
        rec.query = r->args;
    }
    else {
        /* Refused before it could be read: the request as sent. */
        rec.prefix = "";
        rec.path = r->unparsed_uri;
    }
    rec.status = r->status;
    rec.stage = req->reason ? OP_AUDIT_STAGE_REFUSED
                : !req->admitted ? OP_AUDIT_STAGE_DENIED
                : req->action != OP_ACTION_PROXY ? OP_AUDIT_STAGE_LOCAL
                : OP_AUDIT_STAGE_PROXIED;
    rec.aborted = r->connection->aborted;
    rec.reason = req->reason;
    rec.rule = req->rule;
    rec.bytes_out = r->bytes_sent;
    length = apr_table_get(r->headers_in, "Content-Length");
    rec.bytes_in = length ? apr_atoi64(length) : 0;
    rec.request_id = r->log_id;
    if (audit) {
        rec.answer = summarize_answer(r, audit);
        rec.body = audit->body.data;
        if (audit->subjects && audit->subjects->nelts > 0) {
            int i;
            /* One record per subject: a patient's studies each. */
            for (i = 0; i < audit->subjects->nelts; i++) {
                rec.subject = op_audit_subject_json(
                    r->pool, &APR_ARRAY_IDX(audit->subjects, i,
                                            op_audit_subject));
                send_record(r, req, &rec);
            }
            return DECLINED;
        }
    }
    send_record(r, req, &rec);
    return DECLINED;
}
