/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orthanc-proxy-audit - the audit program of mod_orthanc_proxy.
 *
 *   orthanc-proxy-audit CONFIG
 *
 * Apache starts it as a reliable piped log (apache/audit/audit_setup.c),
 * like httpd's own support programs: every Apache child writes one line
 * per request to its standard input (logic/audit_record.h), and Apache
 * starts it again if it dies.  It
 *   - sorts the requests into events (logic/audit_classify.c),
 *   - finds the patient and the study behind Orthanc's IDs and DICOMweb's
 *     UIDs by asking Orthanc once per ID, in a thread of its own, and
 *     remembers the answers (an ID's answer never changes),
 *   - gathers one event per user, client, action and study until a quiet
 *     period passes (logic/audit_window.c),
 *   - writes each event as a JSON line (to a file, or to a program's
 *     standard input) and as a DICOM audit message in an RFC 5424 syslog
 *     message (to a local socket, UDP or TCP), the latter through a
 *     bounded queue that a thread of its own empties: a syslog daemon that
 *     is slow or down costs messages (counted, logged), never time;
 *   - writes its counters to a small file the status page reads.
 * SIGTERM (Apache sends it at every restart and stop) does not end it:
 * the children of that generation may still be finishing requests.  It
 * ends when the last of them closed the pipe (end of file), after it wrote
 * every open window and, for up to 10 seconds, what its queue still held.
 *
 * CONFIG is written by the module at each start (mode 0600: it holds the
 * credentials for Orthanc), one setting per line:
 *   json PATH | json |COMMAND    syslog unix:PATH|udp://H:P|tcp://H:P
 *   facility N   queue N   status PATH   app NAME   timeout SECONDS
 *   backend INDEX URL            credential INDEX AUTHORIZATION
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <curl/curl.h>

#include "logic/audit_classify.h"
#include "logic/audit_event.h"
#include "logic/audit_record.h"
#include "logic/audit_resolve.h"
#include "logic/audit_window.h"
#include "logic/json_read.h"
#include "logic/path_canon.h"

#define MAX_BACKENDS 64
#define CACHE_LIMIT 200000          /* remembered answers, then forgotten */
#define PENDING_LIMIT 100000        /* requests waiting for a resolution */
#define DRAIN_SECONDS 10
#define BATCH_MSEC 50
#define NOT_FOUND_GRACE 3

/* ------------------------------------------------------------ state */

typedef struct {
    const char *url;                /* without its final '/' */
    CURL *curl;                     /* the resolver thread's, kept alive */
} backend_conn;

typedef struct {
    /* the configuration */
    const char *json_target;
    const char *syslog_target;
    int facility;
    int queue_size;
    const char *status_path;
    const char *app;
    long timeout;
    backend_conn backends[MAX_BACKENDS];
    const char *credentials[MAX_BACKENDS];
    char hostname[256];
    char pid[32];

    apr_pool_t *pool;
    apr_thread_mutex_t *lock;       /* everything below */
    apr_thread_cond_t *wake_sender;
    apr_thread_cond_t *wake_resolver;

    /* resolutions asked for (key -> request) and done (key -> answer) */
    apr_pool_t *cache_pool;
    apr_hash_t *cache;              /* "b:key" -> remembered text */
    apr_hash_t *resolved;           /* "b|level|id" -> result * */
    apr_array_header_t *to_resolve; /* resolution * */
    int resolver_busy;

    /* the syslog queue: a ring of malloc'd messages */
    char **queue;
    apr_size_t *queue_len;
    int queue_head, queue_count;
    int stopping;                   /* the sender drains, then stops */

    /* counters (status file) */
    apr_uint64_t records, bad_records, events, json_written, json_failed;
    apr_uint64_t syslog_sent, syslog_lost, resolved_count, resolve_failed;
    const char *last_error;
    char *status_text;              /* as last written */
    apr_time_t last_loss_logged;
    apr_uint64_t loss_logged_at;
} program;

/* One resolution: a resource of a backend, by Orthanc ID or study UID. */
typedef struct {
    int backend, credential;
    op_resource_level level;        /* OP_RESOURCE_UNKNOWN: a study UID */
    const char *id;
    int count;                      /* with its statistics */
    const char *key;
} resolution;

typedef struct {
    const char *error;              /* NULL when resolved */
    int not_found;
    apr_time_t at;                  /* when the answer came */
    op_audit_subject subject;
    const char *instance_uid;
} result;

/* A request whose event waits for resolutions. */
typedef struct pending pending;
struct pending {
    apr_pool_t *pool;
    op_audit_record record;
    op_audit_class cls;
    op_audit_event event;
    apr_array_header_t *keys;       /* resolution keys (const char *) */
    apr_array_header_t *counts;     /* instances per key for imports */
    apr_array_header_t *roles;      /* role per key */
    apr_time_t since;
    pending *next;
};

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

static void log_line(program *pg, const char *level, const char *fmt, ...)
{
    char when[64], text[2048];
    apr_time_exp_t t;
    apr_size_t n;
    va_list ap;

    apr_time_exp_lt(&t, apr_time_now());
    apr_strftime(when, &n, sizeof(when), "%a %b %d %H:%M:%S", &t);
    va_start(ap, fmt);
    apr_vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(stderr, "[%s.%06d %d] [orthanc_proxy_audit:%s] [pid %s] %s\n",
            when, t.tm_usec, t.tm_year + 1900, level, pg->pid, text);
    fflush(stderr);
}

/* ----------------------------------------------------- configuration */

static const char *read_config(program *pg, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192];

    if (f == NULL) {
        return apr_psprintf(pg->pool, "cannot read %s: %s", path,
                            strerror(errno));
    }
    pg->facility = 10;
    pg->queue_size = 10000;
    pg->app = "mod_orthanc_proxy";
    pg->timeout = 10;
    while (fgets(line, sizeof(line), f)) {
        char *value = strchr(line, ' ');
        apr_size_t n = strlen(line);
        if (n && line[n - 1] == '\n') {
            line[n - 1] = '\0';
        }
        if (value == NULL) {
            continue;
        }
        *value++ = '\0';
        if (strcmp(line, "json") == 0) {
            pg->json_target = apr_pstrdup(pg->pool, value);
        }
        else if (strcmp(line, "syslog") == 0) {
            pg->syslog_target = apr_pstrdup(pg->pool, value);
        }
        else if (strcmp(line, "facility") == 0) {
            pg->facility = atoi(value);
        }
        else if (strcmp(line, "queue") == 0) {
            pg->queue_size = atoi(value) > 0 ? atoi(value) : 1;
        }
        else if (strcmp(line, "status") == 0) {
            pg->status_path = apr_pstrdup(pg->pool, value);
        }
        else if (strcmp(line, "app") == 0) {
            pg->app = apr_pstrdup(pg->pool, value);
        }
        else if (strcmp(line, "timeout") == 0) {
            pg->timeout = atol(value) > 0 ? atol(value) : 10;
        }
        else if (strcmp(line, "backend") == 0 || strcmp(line, "credential") == 0) {
            char *text = strchr(value, ' ');
            int index = atoi(value);
            if (text == NULL || index < 0 || index >= MAX_BACKENDS) {
                continue;
            }
            text++;
            if (line[0] == 'b') {
                apr_size_t len = strlen(text);
                while (len > 0 && text[len - 1] == '/') {
                    len--;
                }
                pg->backends[index].url = apr_pstrmemdup(pg->pool, text, len);
            }
            else {
                pg->credentials[index] = apr_pstrdup(pg->pool, text);
            }
        }
    }
    fclose(f);
    return NULL;
}

/* ------------------------------------------------------------ Orthanc */

typedef struct {
    apr_pool_t *p;
    char *data;
    apr_size_t len, size;
} buffer;

static size_t receive(char *data, size_t size, size_t n, void *ctx)
{
    buffer *b = ctx;
    apr_size_t add = size * n;

    if (b->len + add + 1 > b->size) {
        apr_size_t size2 = (b->len + add + 1) * 2;
        char *bigger;
        if (size2 > (16u << 20)) {
            return 0;                   /* more than 16 MiB: not an answer of ours */
        }
        bigger = apr_palloc(b->p, size2);
        memcpy(bigger, b->data, b->len);
        b->data = bigger;
        b->size = size2;
    }
    memcpy(b->data + b->len, data, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

typedef struct {
    program *pg;
    int backend, credential;
} fetch_ctx;

static const char *fetch(void *ctx, apr_pool_t *p, const char *method,
                         const char *path, const char *body, int *status,
                         const char **text, apr_size_t *len)
{
    fetch_ctx *fc = ctx;
    backend_conn *b = &fc->pg->backends[fc->backend];
    struct curl_slist *headers = NULL;
    const char *auth = fc->credential >= 0 && fc->credential < MAX_BACKENDS
                       ? fc->pg->credentials[fc->credential] : NULL;
    buffer answer = { p, apr_palloc(p, 4096), 0, 4096 };
    char error[CURL_ERROR_SIZE] = "";
    long code = 0;
    CURLcode rc;

    if (b->url == NULL) {
        return "no such backend";
    }
    if (b->curl == NULL && (b->curl = curl_easy_init()) == NULL) {
        return "libcurl cannot start";
    }
    curl_easy_reset(b->curl);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (auth) {
        headers = curl_slist_append(headers,
                                    apr_pstrcat(p, "Authorization: ", auth, NULL));
    }
    if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(b->curl, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(b->curl, CURLOPT_URL, apr_pstrcat(p, b->url, path, NULL));
    curl_easy_setopt(b->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(b->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(b->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(b->curl, CURLOPT_TIMEOUT, fc->pg->timeout);
    curl_easy_setopt(b->curl, CURLOPT_USERAGENT, "orthanc-proxy-audit");
    curl_easy_setopt(b->curl, CURLOPT_WRITEFUNCTION, receive);
    curl_easy_setopt(b->curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(b->curl, CURLOPT_ERRORBUFFER, error);
    answer.data[0] = '\0';
    rc = curl_easy_perform(b->curl);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        return apr_pstrdup(p, error[0] ? error : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    *text = answer.data;
    *len = answer.len;
    return NULL;
}

/* The cache: answers that never change for an ID, per backend. */
typedef struct {
    program *pg;
    int backend;
} cache_ctx;

static const char *recall(void *ctx, apr_pool_t *p, const char *key)
{
    cache_ctx *cc = ctx;
    const char *value;

    apr_thread_mutex_lock(cc->pg->lock);
    value = apr_hash_get(cc->pg->cache, apr_psprintf(p, "%d:%s", cc->backend,
                                                     key), APR_HASH_KEY_STRING);
    value = value ? apr_pstrdup(p, value) : NULL;
    apr_thread_mutex_unlock(cc->pg->lock);
    return value;
}

static void remember(void *ctx, const char *key, const char *value)
{
    cache_ctx *cc = ctx;
    program *pg = cc->pg;

    apr_thread_mutex_lock(pg->lock);
    if (apr_hash_count(pg->cache) >= CACHE_LIMIT) {
        /* Forget everything at once: the answers can be asked again. */
        apr_hash_clear(pg->cache);
        apr_pool_clear(pg->cache_pool);
        pg->cache = apr_hash_make(pg->cache_pool);
    }
    apr_hash_set(pg->cache, apr_psprintf(pg->cache_pool, "%d:%s", cc->backend,
                                         key),
                 APR_HASH_KEY_STRING, apr_pstrdup(pg->cache_pool, value));
    apr_thread_mutex_unlock(pg->lock);
}

static void resolve_one(program *pg, apr_pool_t *p, const resolution *res,
                        result *out)
{
    fetch_ctx fc = { pg, res->backend, res->credential };
    cache_ctx cc = { pg, res->backend };
    op_audit_resolver r = { fetch, &fc, recall, remember, &cc };
    static const op_resource_level LEVELS[] = {
        OP_RESOURCE_STUDY, OP_RESOURCE_SERIES, OP_RESOURCE_INSTANCE,
        OP_RESOURCE_PATIENT
    };
    int i;

    memset(out, 0, sizeof(*out));
    if (res->level == OP_RESOURCE_UNKNOWN && strncmp(res->id, "uid:", 4) == 0) {
        out->error = op_audit_resolve_study_uid(p, &r, res->id + 4,
                                                &out->subject, &out->not_found);
        return;
    }
    if (res->level != OP_RESOURCE_UNKNOWN) {
        out->error = op_audit_resolve_id(p, &r, res->level, res->id, res->count,
                                         &out->subject, &out->instance_uid,
                                         &out->not_found);
        return;
    }
    /* An ID of a list of resources (archives, transfers): any level. */
    for (i = 0; i < 4; i++) {
        out->error = op_audit_resolve_id(p, &r, LEVELS[i], res->id, res->count,
                                         &out->subject, &out->instance_uid,
                                         &out->not_found);
        if (out->error == NULL || !out->not_found) {
            return;
        }
    }
}

static void *APR_THREAD_FUNC resolver_thread(apr_thread_t *thread, void *data)
{
    program *pg = data;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    apr_thread_mutex_lock(pg->lock);
    for (;;) {
        resolution res;
        result *done;
        apr_pool_t *scratch;

        while (pg->to_resolve->nelts == 0 && !pg->stopping) {
            apr_thread_cond_wait(pg->wake_resolver, pg->lock);
        }
        if (pg->to_resolve->nelts == 0) {
            break;
        }
        res = APR_ARRAY_IDX(pg->to_resolve, 0, resolution);
        memmove(pg->to_resolve->elts, pg->to_resolve->elts + sizeof(res),
                (apr_size_t)(pg->to_resolve->nelts - 1) * sizeof(res));
        pg->to_resolve->nelts--;
        res.id = apr_pstrdup(p, res.id);
        res.key = apr_pstrdup(p, res.key);
        pg->resolver_busy = 1;
        apr_thread_mutex_unlock(pg->lock);

        apr_pool_create(&scratch, p);
        done = apr_pcalloc(scratch, sizeof(*done));
        resolve_one(pg, scratch, &res, done);

        apr_thread_mutex_lock(pg->lock);
        {
            /* Kept in the cache pool, with everything copied. */
            result *kept = apr_pmemdup(pg->cache_pool, done, sizeof(*done));
            op_audit_subject *s = &kept->subject;
            kept->error = done->error ? apr_pstrdup(pg->cache_pool, done->error) : NULL;
            kept->instance_uid = done->instance_uid
                                 ? apr_pstrdup(pg->cache_pool, done->instance_uid) : NULL;
            s->patient_id = s->patient_id ? apr_pstrdup(pg->cache_pool, s->patient_id) : NULL;
            s->patient_name = s->patient_name ? apr_pstrdup(pg->cache_pool, s->patient_name) : NULL;
            s->study_uid = s->study_uid ? apr_pstrdup(pg->cache_pool, s->study_uid) : NULL;
            s->orthanc_id = s->orthanc_id ? apr_pstrdup(pg->cache_pool, s->orthanc_id) : NULL;
            s->role = NULL;
            kept->at = apr_time_now();
            if (apr_hash_get(pg->resolved, res.key, APR_HASH_KEY_STRING) == NULL) {
                apr_hash_set(pg->resolved, apr_pstrdup(pg->cache_pool, res.key),
                             APR_HASH_KEY_STRING, kept);
            }
            if (kept->error) {
                pg->resolve_failed++;
                pg->last_error = apr_pstrdup(pg->cache_pool, kept->error);
            }
            else {
                pg->resolved_count++;
            }
        }
        pg->resolver_busy = 0;
        apr_pool_destroy(scratch);
        apr_pool_clear(p);
    }
    apr_thread_mutex_unlock(pg->lock);
    apr_pool_destroy(p);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* ------------------------------------------------------------ syslog */

typedef struct {
    int fd;
    int stream;                     /* TCP: octet-counting framing */
    apr_time_t retry_at;
} syslog_conn;

static int syslog_connect(program *pg, syslog_conn *c)
{
    const char *t = pg->syslog_target;
    int fd = -1;

    if (strncmp(t, "unix:", 5) == 0) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        apr_cpystrn(sa.sun_path, t + 5, sizeof(sa.sun_path));
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        c->stream = 0;
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            int was = errno;
            close(fd);
            fd = -1;
            if (was == EPROTOTYPE) {
                /* A daemon listening on a stream socket. */
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                c->stream = 1;
                if (fd >= 0
                    && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                    close(fd);
                    fd = -1;
                }
            }
        }
    }
    else {
        int tcp = strncmp(t, "tcp://", 6) == 0;
        char *host = apr_pstrdup(pg->pool, t + 6), *port = strrchr(host, ':');
        struct addrinfo hints, *ai = NULL, *a;
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM;
        if (port) {
            *port++ = '\0';
        }
        if (host[0] == '[') {
            host++;
            host[strlen(host) - 1] = '\0';
        }
        c->stream = tcp;
        if (getaddrinfo(host, port ? port : "514", &hints, &ai) == 0) {
            for (a = ai; a && fd < 0; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                            a->ai_protocol);
                if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
                    close(fd);
                    fd = -1;
                }
            }
            freeaddrinfo(ai);
        }
    }
    if (fd >= 0) {
        struct timeval tv = { 5, 0 };
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    c->fd = fd;
    return fd >= 0;
}

static int send_all(int fd, const char *data, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 0;
        }
        data += n;
        len -= (apr_size_t)n;
    }
    return 1;
}

static int syslog_send(syslog_conn *c, const char *msg, apr_size_t len)
{
    if (c->stream) {
        char prefix[32];
        int n = apr_snprintf(prefix, sizeof(prefix), "%lu ", (unsigned long)len);
        return send_all(c->fd, prefix, (apr_size_t)n) && send_all(c->fd, msg, len);
    }
    return send(c->fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static void *APR_THREAD_FUNC sender_thread(apr_thread_t *thread, void *data)
{
    program *pg = data;
    syslog_conn c = { -1, 0, 0 };
    apr_time_t drain_until = 0;

    apr_thread_mutex_lock(pg->lock);
    for (;;) {
        char *msg;
        apr_size_t len;
        int ok;

        while (pg->queue_count == 0 && !pg->stopping) {
            apr_thread_cond_wait(pg->wake_sender, pg->lock);
        }
        if (pg->queue_count == 0) {
            break;
        }
        if (pg->stopping && drain_until == 0) {
            drain_until = apr_time_now() + apr_time_from_sec(DRAIN_SECONDS);
        }
        if (drain_until && apr_time_now() > drain_until) {
            break;
        }
        msg = pg->queue[pg->queue_head];
        len = pg->queue_len[pg->queue_head];
        apr_thread_mutex_unlock(pg->lock);

        ok = 0;
        if (c.fd < 0 && apr_time_now() >= c.retry_at) {
            if (!syslog_connect(pg, &c)) {
                c.retry_at = apr_time_now() + apr_time_from_sec(1);
            }
        }
        if (c.fd >= 0) {
            ok = syslog_send(&c, msg, len);
            if (!ok) {
                close(c.fd);
                c.fd = -1;
                /* TCP: the message may be half sent; connect again and
                 * send it whole (the daemon drops the broken frame). */
                if (syslog_connect(pg, &c)) {
                    ok = syslog_send(&c, msg, len);
                }
                if (!ok) {
                    if (c.fd >= 0) {
                        close(c.fd);
                        c.fd = -1;
                    }
                    c.retry_at = apr_time_now() + apr_time_from_sec(1);
                }
            }
        }

        apr_thread_mutex_lock(pg->lock);
        if (ok) {
            pg->queue_head = (pg->queue_head + 1) % pg->queue_size;
            pg->queue_count--;
            pg->syslog_sent++;
            free(msg);
        }
        else {
            /* Kept in the queue; wait for the daemon (or for the main
             * thread to drop what overflows). */
            pg->last_error = "the syslog daemon cannot be reached";
            apr_thread_mutex_unlock(pg->lock);
            apr_sleep(apr_time_from_msec(200));
            apr_thread_mutex_lock(pg->lock);
        }
    }
    /* What is left when stopping is lost. */
    while (pg->queue_count > 0) {
        free(pg->queue[pg->queue_head]);
        pg->queue_head = (pg->queue_head + 1) % pg->queue_size;
        pg->queue_count--;
        pg->syslog_lost++;
    }
    apr_thread_mutex_unlock(pg->lock);
    if (c.fd >= 0) {
        close(c.fd);
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* Under the lock: queues MSG, or counts it lost when the queue is full. */
static void queue_message(program *pg, const char *msg, apr_size_t len)
{
    if (pg->queue_count >= pg->queue_size) {
        pg->syslog_lost++;
        pg->last_error = "the syslog queue is full";
        return;
    }
    pg->queue[(pg->queue_head + pg->queue_count) % pg->queue_size] =
        memcpy(malloc(len + 1), msg, len + 1);
    pg->queue_len[(pg->queue_head + pg->queue_count) % pg->queue_size] = len;
    pg->queue_count++;
    apr_thread_cond_signal(pg->wake_sender);
}

/* --------------------------------------------------------- the output */

typedef struct {
    program *pg;
    FILE *json;
    int json_is_pipe;
} output;

static void emit(void *ctx, const op_audit_event *event)
{
    output *out = ctx;
    program *pg = out->pg;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    pg->events++;
    if (out->json) {
        const char *line = apr_pstrcat(p, op_audit_event_json(p, event), "\n",
                                       NULL);
        if (fputs(line, out->json) >= 0 && fflush(out->json) == 0) {
            pg->json_written++;
        }
        else {
            pg->json_failed++;
            pg->last_error = "the JSON lines cannot be written";
        }
    }
    if (pg->syslog_target && event->kind != OP_AUDIT_UNKNOWN) {
        apr_size_t len;
        const char *msg = op_syslog_message(
            p, pg->facility, event->kind == OP_AUDIT_ALERT
                             || event->kind == OP_AUDIT_LOGIN ? 4 : 5,
            event->last, pg->hostname, pg->app, pg->pid, "IHE+RFC-3881",
            op_audit_event_xml(p, event), &len);
        apr_thread_mutex_lock(pg->lock);
        queue_message(pg, msg, len);
        apr_thread_mutex_unlock(pg->lock);
    }
    apr_pool_destroy(p);
}

/* ------------------------------------------------- requests to events */

typedef struct {
    program *pg;
    output *out;
    op_audit_windows *windows;
    pending *first, *last;
    int pending_count;
} engine;

static const char *request_text(apr_pool_t *p, const op_audit_record *r)
{
    const char *prefix = r->prefix ? r->prefix : "/";
    apr_size_t n = strlen(prefix);
    const char *path = r->path;

    if (n > 0 && prefix[n - 1] == '/' && path[0] == '/') {
        path++;
    }
    return apr_pstrcat(p, r->method, " ", prefix, path, r->query ? "?" : "",
                       r->query ? r->query : "", NULL);
}

static int outcome_of(const op_audit_record *r)
{
    if (r->stage != OP_AUDIT_STAGE_PROXIED) {
        return 4;
    }
    if (r->status >= 500) {
        return 8;
    }
    return r->status >= 400 || r->aborted ? 4 : 0;
}

/* The event of one request, without its subjects. */
static void describe(apr_pool_t *p, program *pg, const op_audit_record *r,
                     const op_audit_class *c, op_audit_event *e)
{
    memset(e, 0, sizeof(*e));
    e->kind = c->kind;
    e->action = c->action;
    e->outcome = outcome_of(r);
    if (r->stage == OP_AUDIT_STAGE_PROXIED && r->status >= 400) {
        e->outcome_text = apr_psprintf(p, "Orthanc answered %d", r->status);
    }
    else if (r->aborted) {
        e->outcome_text = "the client went away before the end";
    }
    e->first = e->last = r->time;
    e->requests = 1;
    e->user = r->user;
    e->client = r->client;
    e->node = r->node;
    e->site = r->site;
    e->prefix = r->prefix;
    e->request = request_text(p, r);
    e->what = c->what;
    e->instances = -1;
    e->bytes = c->kind == OP_AUDIT_IMPORT ? r->bytes_in : r->bytes_out;
    e->process_id = pg->pid;
    e->truncated = r->truncated;
    if (c->kind == OP_AUDIT_QUERY) {
        e->query = r->body ? r->body
                   : apr_pstrcat(p, r->path, r->query ? "?" : "",
                                 r->query ? r->query : "", NULL);
    }
    if (c->kind == OP_AUDIT_TRANSFER) {
        e->destination = c->what;
        e->what = NULL;
    }
}

static void ask(engine *en, pending *pd, int backend, int credential,
                op_resource_level level, const char *id, int count,
                const char *role, apr_int64_t instances)
{
    program *pg = en->pg;
    const char *key = apr_psprintf(pd->pool, "%d|%d|%d|%s", backend, level,
                                   count, id);

    APR_ARRAY_PUSH(pd->keys, const char *) = key;
    APR_ARRAY_PUSH(pd->roles, const char *) = role;
    APR_ARRAY_PUSH(pd->counts, apr_int64_t) = instances;
    apr_thread_mutex_lock(pg->lock);
    if (apr_hash_get(pg->resolved, key, APR_HASH_KEY_STRING) == NULL) {
        int i, asked = 0;
        for (i = 0; i < pg->to_resolve->nelts && !asked; i++) {
            asked = strcmp(APR_ARRAY_IDX(pg->to_resolve, i, resolution).key,
                           key) == 0;
        }
        if (!asked) {
            resolution *res = apr_array_push(pg->to_resolve);
            res->backend = backend;
            res->credential = credential;
            res->level = level;
            res->id = apr_pstrdup(pg->cache_pool, id);
            res->count = count;
            res->key = apr_pstrdup(pg->cache_pool, key);
            apr_thread_cond_signal(pg->wake_resolver);
        }
    }
    apr_thread_mutex_unlock(pg->lock);
}

/* The IDs a request's body names: {"Resources": [...]}, [...] or one ID. */
static apr_array_header_t *body_ids(apr_pool_t *p, const char *body)
{
    apr_array_header_t *ids = apr_array_make(p, 2, sizeof(const char *));
    op_json *root;
    const op_json *list;
    int i;

    if (body == NULL) {
        return ids;
    }
    if (op_json_parse(p, body, strlen(body), &root) != NULL) {
        /* Orthanc also takes one ID as the whole body (.../store). */
        apr_size_t n = strspn(body, " \t\r\n");
        apr_size_t len = strspn(body + n, "0123456789abcdef-");
        if (len > 0 && body[n + len + strspn(body + n + len, " \t\r\n")] == '\0') {
            APR_ARRAY_PUSH(ids, const char *) = apr_pstrmemdup(p, body + n, len);
        }
        return ids;
    }
    list = root->type == OP_JSON_ARRAY ? root : op_json_member(root, "Resources");
    for (i = 0; list && list->type == OP_JSON_ARRAY && i < list->items->nelts; i++) {
        const op_json *item = APR_ARRAY_IDX(list->items, i, const op_json *);
        if (item->type == OP_JSON_STRING) {
            APR_ARRAY_PUSH(ids, const char *) = item->text;
        }
    }
    return ids;
}

/* Which resolutions REQUEST needs; 0 when it needs none. */
static void plan(engine *en, pending *pd)
{
    const op_audit_record *r = &pd->record;
    const op_audit_class *c = &pd->cls;
    apr_pool_t *p = pd->pool;
    int b = r->backend, cr = r->credential;

    if (c->kind == OP_AUDIT_IMPORT && r->answer) {
        apr_array_header_t *ids, *counts;
        op_json *parsed;
        if (op_audit_upload_studies(p, r->answer, &ids, &counts) == NULL
            && ids->nelts > 0) {
            int i;
            for (i = 0; i < ids->nelts; i++) {
                ask(en, pd, b, cr, OP_RESOURCE_STUDY,
                    APR_ARRAY_IDX(ids, i, const char *), 0, NULL,
                    APR_ARRAY_IDX(counts, i, apr_int64_t));
            }
            return;
        }
        if (op_json_parse(p, r->answer, strlen(r->answer), &parsed) == NULL) {
            apr_int64_t stored = -1;
            const char *uid;
            op_json_integer_member(parsed, "stored", &stored);
            if ((uid = op_json_string_member(parsed, "study_uid")) != NULL) {
                ask(en, pd, b, cr, OP_RESOURCE_UNKNOWN,
                    apr_pstrcat(p, "uid:", uid, NULL), 0, NULL, stored);
            }
        }
        return;
    }
    if (c->kind == OP_AUDIT_MODIFY && r->answer) {
        op_json *root;
        if (op_json_parse(p, r->answer, strlen(r->answer), &root) == NULL) {
            const char *id = op_json_string_member(root, "id");
            const char *type = op_json_string_member(root, "type");
            op_resource_level level = type ? op_resource_level_parse(type)
                                           : OP_RESOURCE_UNKNOWN;
            if (id && level != OP_RESOURCE_UNKNOWN
                && !(c->orthanc_id && strcmp(id, c->orthanc_id) == 0)) {
                ask(en, pd, b, cr, level, id, 1, "result", -1);
            }
        }
        return;
    }
    if (c->kind == OP_AUDIT_DELETE || (c->kind == OP_AUDIT_MODIFY && r->subject)) {
        return;                      /* resolved by the child */
    }
    if (c->orthanc_id && c->level != OP_RESOURCE_UNKNOWN) {
        ask(en, pd, b, cr, c->level, c->orthanc_id, 0, NULL, -1);
    }
    else if (c->study_uid) {
        ask(en, pd, b, cr, OP_RESOURCE_UNKNOWN,
            apr_pstrcat(p, "uid:", c->study_uid, NULL), 0, NULL, -1);
    }
    else if (c->keep_body && (c->kind == OP_AUDIT_EXPORT
                              || c->kind == OP_AUDIT_TRANSFER
                              || c->kind == OP_AUDIT_ACCESSED)) {
        apr_array_header_t *ids = body_ids(p, r->body);
        int i;
        for (i = 0; i < ids->nelts && i < 100; i++) {
            ask(en, pd, b, cr, OP_RESOURCE_UNKNOWN,
                APR_ARRAY_IDX(ids, i, const char *), 0, NULL, -1);
        }
    }
    else if (c->orthanc_id && c->kind == OP_AUDIT_EXPORT) {
        /* /tools/create-archive?resources=a,b */
        char *list = apr_pstrdup(p, c->orthanc_id), *state, *id;
        for (id = apr_strtok(list, ",", &state); id;
             id = apr_strtok(NULL, ",", &state)) {
            ask(en, pd, b, cr, OP_RESOURCE_UNKNOWN, id, 0, NULL, -1);
        }
    }
}

/* The instance a request touched, for counting distinct ones. */
static const char *instance_of(const op_audit_class *c, const result *res)
{
    if (c->instance_uid) {
        return c->instance_uid;
    }
    if (res && res->instance_uid) {
        return res->instance_uid;
    }
    return c->level == OP_RESOURCE_INSTANCE ? c->orthanc_id : NULL;
}

static int immediate(const op_audit_class *c)
{
    return c->kind == OP_AUDIT_DELETE || c->kind == OP_AUDIT_MODIFY;
}

/* Writes PD's event(s): resolutions done (or failed). */
static void finish(engine *en, pending *pd)
{
    program *pg = en->pg;
    apr_pool_t *p = pd->pool;
    const op_audit_record *r = &pd->record;
    op_audit_event *e = &pd->event;
    apr_array_header_t *subjects = apr_array_make(p, 2, sizeof(op_audit_subject));
    const result *first = NULL;
    int i;

    if (r->subject) {
        op_audit_subject *s = apr_array_push(subjects);
        if (op_audit_subject_parse(p, r->subject, s) != NULL) {
            subjects->nelts--;
        }
        else if (pd->cls.kind == OP_AUDIT_MODIFY && pd->cls.resolve_first) {
            s->role = "source";
        }
    }
    for (i = 0; i < pd->keys->nelts; i++) {
        const char *key = APR_ARRAY_IDX(pd->keys, i, const char *);
        const result *res;
        op_audit_subject *s;

        apr_thread_mutex_lock(pg->lock);
        res = apr_hash_get(pg->resolved, key, APR_HASH_KEY_STRING);
        apr_thread_mutex_unlock(pg->lock);
        s = apr_array_push(subjects);
        if (res && res->error == NULL) {
            *s = res->subject;
            first = first ? first : res;
        }
        else {
            const char *id = strchr(strchr(strchr(key, '|') + 1, '|') + 1, '|') + 1;
            op_audit_subject_unresolved(s, pd->cls.level, id);
            if (res && res->error && e->outcome_text == NULL) {
                e->outcome_text = res->error;
            }
        }
        s->role = APR_ARRAY_IDX(pd->roles, i, const char *);
        if (APR_ARRAY_IDX(pd->counts, i, apr_int64_t) >= 0) {
            s->instances = APR_ARRAY_IDX(pd->counts, i, apr_int64_t);
        }
    }
    if (immediate(&pd->cls) || subjects->nelts > 1) {
        if (immediate(&pd->cls)) {
            /* One event per request; a patient's studies in a deletion
             * came as one record each.  A modification whose result
             * belongs to another patient (anonymization) makes two: the
             * source read, the result created - an audit message names
             * one patient. */
            if (subjects->nelts == 2) {
                op_audit_subject *a = &APR_ARRAY_IDX(subjects, 0, op_audit_subject);
                op_audit_subject *b = &APR_ARRAY_IDX(subjects, 1, op_audit_subject);
                if (a->patient_id && b->patient_id
                    && strcmp(a->patient_id, b->patient_id) != 0) {
                    apr_array_header_t *one = apr_array_make(p, 1, sizeof(*a));
                    op_audit_event source = *e, made = *e;
                    APR_ARRAY_PUSH(one, op_audit_subject) = *a;
                    source.subjects = one;
                    source.action = 'R';
                    source.instances = a->instances;
                    emit(en->out, &source);
                    one = apr_array_make(p, 1, sizeof(*b));
                    APR_ARRAY_PUSH(one, op_audit_subject) = *b;
                    made.subjects = one;
                    made.action = 'C';
                    made.instances = b->instances;
                    emit(en->out, &made);
                    return;
                }
            }
            e->subjects = subjects;
            if (subjects->nelts > 0) {
                op_audit_subject *s = &APR_ARRAY_IDX(subjects, 0, op_audit_subject);
                e->instances = s->instances;
            }
            emit(en->out, e);
            return;
        }
        /* Several resources (an upload of many studies, an archive of a
         * list): one window each. */
        for (i = 0; i < subjects->nelts; i++) {
            op_audit_subject *s = &APR_ARRAY_IDX(subjects, i, op_audit_subject);
            op_audit_event one = *e;
            one.bytes = i == 0 ? e->bytes : 0;
            op_audit_windows_add(en->windows, &one, s, NULL, r->quiet, r->longest);
        }
        return;
    }
    op_audit_windows_add(en->windows, e,
                         subjects->nelts ? &APR_ARRAY_IDX(subjects, 0,
                                                          op_audit_subject)
                                         : NULL,
                         instance_of(&pd->cls, first), r->quiet, r->longest);
}

static void drop_pending(engine *en, pending *pd, pending *prev)
{
    if (prev) {
        prev->next = pd->next;
    }
    else {
        en->first = pd->next;
    }
    if (en->last == pd) {
        en->last = prev;
    }
    en->pending_count--;
    apr_pool_destroy(pd->pool);
}

/* Writes what is resolved; with FORCE, everything. */
static void settle(engine *en, int force)
{
    program *pg = en->pg;
    pending *pd = en->first, *prev = NULL;

    while (pd) {
        pending *next = pd->next;
        int ready = 1, i;

        apr_thread_mutex_lock(pg->lock);
        for (i = 0; i < pd->keys->nelts && ready; i++) {
            const result *res = apr_hash_get(pg->resolved,
                                             APR_ARRAY_IDX(pd->keys, i,
                                                           const char *),
                                             APR_HASH_KEY_STRING);
            /* "Not found" may mean "deleted meanwhile": the deletion's
             * record, which names what it deleted, may still come. */
            ready = res != NULL
                    && !(res->not_found
                         && apr_time_now() - res->at < apr_time_from_sec(NOT_FOUND_GRACE));
        }
        apr_thread_mutex_unlock(pg->lock);
        if (ready || force) {
            finish(en, pd);
            drop_pending(en, pd, prev);
        }
        else {
            prev = pd;
        }
        pd = next;
    }
}

/* A deletion's record names what it deleted, resolved by the child before
 * Orthanc forgot it: the answer for that ID, for requests that named it
 * too (a refused deletion just before, a viewer) and whose own question
 * came too late. */
static void learn_deleted(program *pg, const op_audit_record *r)
{
    apr_pool_t *p;
    op_audit_subject s;

    apr_pool_create(&p, NULL);
    if (op_audit_subject_parse(p, r->subject, &s) == NULL && s.orthanc_id
        && s.study_uid && s.level != OP_RESOURCE_UNKNOWN) {
        const char *key = apr_psprintf(p, "%d|%d|%d|%s", r->backend, s.level,
                                       0, s.orthanc_id);
        const result *known;
        apr_thread_mutex_lock(pg->lock);
        known = apr_hash_get(pg->resolved, key, APR_HASH_KEY_STRING);
        if (known == NULL || known->error) {
            result *kept = apr_pcalloc(pg->cache_pool, sizeof(*kept));
            kept->at = apr_time_now();
            kept->subject = s;
            kept->subject.patient_id = s.patient_id ? apr_pstrdup(pg->cache_pool, s.patient_id) : NULL;
            kept->subject.patient_name = s.patient_name ? apr_pstrdup(pg->cache_pool, s.patient_name) : NULL;
            kept->subject.study_uid = apr_pstrdup(pg->cache_pool, s.study_uid);
            kept->subject.orthanc_id = apr_pstrdup(pg->cache_pool, s.orthanc_id);
            kept->subject.instances = kept->subject.bytes = -1;
            apr_hash_set(pg->resolved, apr_pstrdup(pg->cache_pool, key),
                         APR_HASH_KEY_STRING, kept);
        }
        apr_thread_mutex_unlock(pg->lock);
    }
    apr_pool_destroy(p);
}

/* One line of a child. */
static void take_record(engine *en, const char *line, apr_size_t len)
{
    program *pg = en->pg;
    apr_pool_t *p;
    pending *pd;
    op_path path;
    const char *err;

    apr_pool_create(&p, pg->pool);
    pd = apr_pcalloc(p, sizeof(*pd));
    pd->pool = p;
    if ((err = op_audit_record_decode(p, line, len, &pd->record)) != NULL) {
        pg->bad_records++;
        log_line(pg, "warn", "a record from Apache cannot be read: %s", err);
        apr_pool_destroy(p);
        return;
    }
    pg->records++;
    if (op_path_parse(p, pd->record.path, strlen(pd->record.path), &path)
        == OP_PATH_OK) {
        pd->cls = op_audit_classify(p, pd->record.method, &path, 0,
                                    pd->record.query);
    }
    else {
        memset(&pd->cls, 0, sizeof(pd->cls));
        pd->cls.kind = OP_AUDIT_UNKNOWN;
    }
    if (pd->record.stage == OP_AUDIT_STAGE_LOCAL) {
        apr_pool_destroy(p);
        return;
    }
    if (pd->record.stage != OP_AUDIT_STAGE_PROXIED) {
        if (pd->record.status == 401 && pd->record.user == NULL
            && !pd->record.credentials_sent) {
            apr_pool_destroy(p);        /* the login prompt itself */
            return;
        }
        pd->cls.kind = pd->record.status == 401 && pd->record.credentials_sent
                       && pd->record.reason == NULL
                       ? OP_AUDIT_LOGIN : OP_AUDIT_ALERT;
        pd->cls.action = 'E';
    }
    if (pd->cls.kind == OP_AUDIT_NONE) {
        apr_pool_destroy(p);
        return;
    }
    if (pd->cls.kind == OP_AUDIT_DELETE && pd->record.subject) {
        learn_deleted(pg, &pd->record);
    }
    describe(p, pg, &pd->record, &pd->cls, &pd->event);
    if (pd->cls.kind == OP_AUDIT_ALERT) {
        const char *why = pd->record.reason;
        pd->event.outcome_text = why ? why
            : apr_psprintf(p, "refused with %d by Apache's access control%s%s",
                           pd->record.status, pd->record.rule ? ": " : "",
                           pd->record.rule ? pd->record.rule : "");
        pd->event.what = pd->record.rule;
    }
    pd->keys = apr_array_make(p, 2, sizeof(const char *));
    pd->roles = apr_array_make(p, 2, sizeof(const char *));
    pd->counts = apr_array_make(p, 2, sizeof(apr_int64_t));
    pd->since = apr_time_now();
    if (pd->cls.kind != OP_AUDIT_LOGIN && pd->cls.kind != OP_AUDIT_QUERY
        && pd->cls.kind != OP_AUDIT_UNKNOWN) {
        plan(en, pd);
    }
    if (en->last) {
        en->last->next = pd;
    }
    else {
        en->first = pd;
    }
    en->last = pd;
    en->pending_count++;
    if (en->pending_count > PENDING_LIMIT) {
        settle(en, 1);               /* Orthanc too slow: unresolved */
    }
}

/* ------------------------------------------------------------- status */

static void write_status(program *pg, engine *en)
{
    char tmp[4096], text[4096];
    FILE *f;

    if (pg->status_path == NULL) {
        return;
    }
    apr_thread_mutex_lock(pg->lock);
    apr_snprintf(text, sizeof(text), "pid %s\nrecords %" APR_UINT64_T_FMT "\nbad_records %"
            APR_UINT64_T_FMT "\nevents %" APR_UINT64_T_FMT "\njson_written %"
            APR_UINT64_T_FMT "\njson_failed %" APR_UINT64_T_FMT
            "\nsyslog_sent %" APR_UINT64_T_FMT "\nsyslog_lost %"
            APR_UINT64_T_FMT "\nsyslog_queued %d\nresolved %" APR_UINT64_T_FMT
            "\nresolve_failed %" APR_UINT64_T_FMT "\npending %d\nwindows %d\n"
            "last_error %s\n", pg->pid, pg->records, pg->bad_records,
            pg->events, pg->json_written, pg->json_failed, pg->syslog_sent,
            pg->syslog_lost, pg->queue_count, pg->resolved_count,
            pg->resolve_failed, en->pending_count,
            op_audit_windows_open(en->windows),
            pg->last_error ? pg->last_error : "-");
    apr_thread_mutex_unlock(pg->lock);
    /* Rewritten only when a figure changed. */
    if (pg->status_text && strcmp(pg->status_text, text) == 0) {
        return;
    }
    apr_snprintf(tmp, sizeof(tmp), "%s.tmp", pg->status_path);
    if ((f = fopen(tmp, "w")) == NULL) {
        return;
    }
    fputs(text, f);
    fclose(f);
    rename(tmp, pg->status_path);
    free(pg->status_text);
    pg->status_text = strdup(text);
}

/* Losses are logged at most every 10 seconds, with the count since. */
static void log_losses(program *pg)
{
    apr_uint64_t lost;
    apr_time_t now = apr_time_now();

    apr_thread_mutex_lock(pg->lock);
    lost = pg->syslog_lost;
    apr_thread_mutex_unlock(pg->lock);
    if (lost > pg->loss_logged_at
        && now - pg->last_loss_logged >= apr_time_from_sec(10)) {
        log_line(pg, "error", "%" APR_UINT64_T_FMT " audit message(s) could "
                 "not be sent to syslog (%s) and are lost (%" APR_UINT64_T_FMT
                 " in all); the JSON lines still have them",
                 lost - pg->loss_logged_at, pg->syslog_target,
                 lost);
        pg->loss_logged_at = lost;
        pg->last_loss_logged = now;
    }
}

/* ---------------------------------------------------------------- main */

static FILE *open_json(program *pg, int *is_pipe)
{
    FILE *f;
    const char *t = pg->json_target;

    *is_pipe = t[0] == '|';
    if (*is_pipe) {
        f = popen(t + 1, "w");
    }
    else {
        int fd = open(t, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        f = fd >= 0 ? fdopen(fd, "a") : NULL;
    }
    if (f == NULL) {
        log_line(pg, "error", "cannot open the JSON lines output %s: %s", t,
                 strerror(errno));
    }
    return f;
}

int main(int argc, const char *const argv[])
{
    program pg;
    output out;
    engine en;
    apr_thread_t *resolver = NULL, *sender = NULL;
    apr_status_t rv;
    char buf[65536];
    apr_size_t used = 0;
    apr_time_t next_tick = 0;
    int eof = 0;
    const char *err;

    apr_app_initialize(&argc, &argv, NULL);
    memset(&pg, 0, sizeof(pg));
    apr_pool_create(&pg.pool, NULL);
    apr_snprintf(pg.pid, sizeof(pg.pid), "%ld", (long)getpid());
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFIG (started by mod_orthanc_proxy)\n",
                argv[0]);
        return 2;
    }
    if ((err = read_config(&pg, argv[1])) != NULL) {
        log_line(&pg, "error", "%s", err);
        return 1;
    }
    if (gethostname(pg.hostname, sizeof(pg.hostname) - 1) != 0) {
        strcpy(pg.hostname, "-");
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGHUP, on_term);
    signal(SIGUSR1, on_term);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    apr_thread_mutex_create(&pg.lock, APR_THREAD_MUTEX_DEFAULT, pg.pool);
    apr_thread_cond_create(&pg.wake_sender, pg.pool);
    apr_thread_cond_create(&pg.wake_resolver, pg.pool);
    apr_pool_create(&pg.cache_pool, pg.pool);
    pg.cache = apr_hash_make(pg.cache_pool);
    pg.resolved = apr_hash_make(pg.cache_pool);
    pg.to_resolve = apr_array_make(pg.pool, 64, sizeof(resolution));
    pg.queue = calloc((apr_size_t)pg.queue_size, sizeof(char *));
    pg.queue_len = calloc((apr_size_t)pg.queue_size, sizeof(apr_size_t));

    memset(&out, 0, sizeof(out));
    out.pg = &pg;
    if (pg.json_target) {
        out.json = open_json(&pg, &out.json_is_pipe);
    }
    memset(&en, 0, sizeof(en));
    en.pg = &pg;
    en.out = &out;
    en.windows = op_audit_windows_make(pg.pool);

    if ((rv = apr_thread_create(&resolver, NULL, resolver_thread, &pg, pg.pool))
            != APR_SUCCESS
        || (pg.syslog_target && (rv = apr_thread_create(&sender, NULL,
                                                        sender_thread, &pg,
                                                        pg.pool))
                                != APR_SUCCESS)) {
        log_line(&pg, "error", "cannot start its threads");
        return 1;
    }
    log_line(&pg, "notice", "started: JSON lines to %s, syslog to %s",
             pg.json_target ? pg.json_target : "nowhere",
             pg.syslog_target ? pg.syslog_target : "nowhere");

    while (!eof) {
        struct pollfd pfd = { 0, POLLIN, 0 };
        if (got_term == 1) {
            got_term = 2;
            log_line(&pg, "notice", "asked to stop: the events of the "
                     "requests still running are written when the last "
                     "Apache child of this generation has closed the pipe");
        }
        int ready = poll(&pfd, 1, 500);
        apr_time_t now;

        if (ready > 0) {
            ssize_t n = read(0, buf + used, sizeof(buf) - used);
            if (n == 0) {
                eof = 1;
            }
            else if (n > 0) {
                char *start = buf, *end = buf + used + n, *nl;
                while ((nl = memchr(start, '\n', (apr_size_t)(end - start)))) {
                    take_record(&en, start, (apr_size_t)(nl - start));
                    start = nl + 1;
                }
                used = (apr_size_t)(end - start);
                memmove(buf, start, used);
                if (used == sizeof(buf)) {
                    used = 0;            /* no line is this long */
                }
                /* Let records gather in the pipe (64 KiB, hundreds of
                 * them): one wake-up reads many, and the children's
                 * write()s find nobody to wake.  The fuller the pipe was,
                 * the shorter the pause. */
                if (n < (ssize_t)sizeof(buf) / 4) {
                    apr_sleep(apr_time_from_msec(BATCH_MSEC));
                }
                else if (n < (ssize_t)sizeof(buf) / 2) {
                    apr_sleep(apr_time_from_msec(BATCH_MSEC / 10));
                }
            }
            else if (errno != EINTR && errno != EAGAIN) {
                eof = 1;
            }
        }
        now = apr_time_now();
        if (now >= next_tick) {
            settle(&en, 0);
            /* A resolution that does not come within twice the timeout
             * is given up. */
            {
                pending *pd;
                for (pd = en.first; pd; pd = pd->next) {
                    if (now - pd->since > apr_time_from_sec(2 * pg.timeout + 5)) {
                        settle(&en, 1);
                        break;
                    }
                }
            }
            op_audit_windows_close(en.windows, now, emit, &out);
            log_losses(&pg);
            write_status(&pg, &en);
            next_tick = now + apr_time_from_sec(1);
        }
    }

    /* Every writer closed the pipe: Apache stopped or restarted and its
     * children of this generation are gone. */
    {
        apr_time_t until = apr_time_now() + apr_time_from_sec(DRAIN_SECONDS);
        while (en.first && apr_time_now() < until) {
            settle(&en, 0);
            if (en.first) {
                apr_sleep(apr_time_from_msec(50));
            }
        }
        settle(&en, 1);
    }
    op_audit_windows_close(en.windows, 0, emit, &out);
    apr_thread_mutex_lock(pg.lock);
    pg.stopping = 1;
    apr_thread_cond_broadcast(pg.wake_sender);
    apr_thread_cond_broadcast(pg.wake_resolver);
    apr_thread_mutex_unlock(pg.lock);
    if (sender) {
        apr_thread_join(&rv, sender);
    }
    apr_thread_join(&rv, resolver);
    log_losses(&pg);
    log_line(&pg, "notice", "stopped: %" APR_UINT64_T_FMT " requests, %"
             APR_UINT64_T_FMT " events, %" APR_UINT64_T_FMT " sent to syslog, %"
             APR_UINT64_T_FMT " lost", pg.records, pg.events, pg.syslog_sent,
             pg.syslog_lost);
    if (out.json) {
        if (out.json_is_pipe) {
            pclose(out.json);
        }
        else {
            fclose(out.json);
        }
    }
    if (pg.status_path) {
        unlink(pg.status_path);
    }
    curl_global_cleanup();
    apr_terminate();
    return 0;
}
