/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_record.c - the line a child writes for one request
 * (audit_record.h).
 */
#include "audit_record.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "hex.h"

#define MAGIC "OPA1"
#define FIELDS 26

/* The longest encoded text of each string field; with the numbers and the
 * tabs they stay below OP_AUDIT_RECORD_MAX. */
enum {
    BUDGET_NODE = 100, BUDGET_SITE = 64, BUDGET_PREFIX = 100,
    BUDGET_USER = 128, BUDGET_CLIENT = 64, BUDGET_METHOD = 24,
    BUDGET_PATH = 700, BUDGET_QUERY = 700, BUDGET_REASON = 400,
    BUDGET_RULE = 160, BUDGET_SUBJECT = 420, BUDGET_ANSWER = 420,
    BUDGET_BODY = 420, BUDGET_ID = 64
};

typedef struct {
    char *buf;
    apr_size_t len;
} writer;

static void put_raw(writer *w, const char *text, apr_size_t n)
{
    memcpy(w->buf + w->len, text, n);
    w->len += n;
}

/* Whether byte C is written as it is. */
static int plain(unsigned char c)
{
    return c >= 0x20 && c != 0x7f && c != '\\';
}

/* TEXT escaped, cut so that it takes at most BUDGET bytes (the cut mark
 * included); NULL as "\-".  Runs of plain bytes are copied whole: most
 * fields have no byte to escape. */
static void put_text(writer *w, const char *text, apr_size_t budget)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t start = w->len;
    const unsigned char *c;

    if (w->len > 0) {
        put_raw(w, "\t", 1);
        start++;
    }
    if (text == NULL) {
        put_raw(w, "\\-", 2);
        return;
    }
    c = (const unsigned char *)text;
    while (*c) {
        char esc[4];
        apr_size_t n = 0, room = budget - (w->len - start);

        while (plain(c[n])) {
            n++;
        }
        if (n > 0) {
            /* Keep room for the cut mark unless the text ends here. */
            apr_size_t limit = c[n] == '\0' ? room : room >= 2 ? room - 2 : 0;
            if (n > limit) {
                apr_size_t fit = room >= 2 ? room - 2 : 0;
                put_raw(w, (const char *)c, fit);
                put_raw(w, "\\.", 2);
                return;
            }
            put_raw(w, (const char *)c, n);
            c += n;
            continue;
        }
        if (*c == '\\' || *c == '\t' || *c == '\n' || *c == '\r') {
            esc[0] = '\\';
            esc[1] = *c == '\\' ? '\\' : *c == '\t' ? 't' : *c == '\n' ? 'n' : 'r';
            n = 2;
        }
        else {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[*c >> 4];
            esc[3] = hex[*c & 0x0f];
            n = 4;
        }
        /* Room for this escape and, should more follow, the cut mark. */
        if (w->len - start + n + (c[1] ? 2 : 0) > budget) {
            put_raw(w, "\\.", 2);
            return;
        }
        put_raw(w, esc, n);
        c++;
    }
}

/* A tab and VALUE in decimal (a formatting function costs ten times as
 * much, and a record has eleven numbers). */
static void put_number(writer *w, apr_int64_t value)
{
    char digits[24];
    char *d = digits + sizeof(digits);
    apr_uint64_t n = value < 0 ? (apr_uint64_t)0 - (apr_uint64_t)value
                               : (apr_uint64_t)value;

    do {
        *--d = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    if (value < 0) {
        *--d = '-';
    }
    put_raw(w, "\t", 1);
    put_raw(w, d, (apr_size_t)(digits + sizeof(digits) - d));
}

char *op_audit_record_encode(apr_pool_t *p, const op_audit_record *r,
                             apr_size_t *len)
{
    writer w;

    w.buf = apr_palloc(p, OP_AUDIT_RECORD_MAX + 1);
    w.len = 0;
    put_raw(&w, MAGIC, sizeof(MAGIC) - 1);
    put_number(&w, (apr_int64_t)r->time);
    put_text(&w, r->node, BUDGET_NODE);
    put_text(&w, r->site, BUDGET_SITE);
    put_text(&w, r->prefix, BUDGET_PREFIX);
    put_number(&w, r->backend);
    put_number(&w, r->credential);
    put_number(&w, r->quiet);
    put_number(&w, r->longest);
    put_text(&w, r->user, BUDGET_USER);
    put_number(&w, r->credentials_sent);
    put_text(&w, r->client, BUDGET_CLIENT);
    put_text(&w, r->method, BUDGET_METHOD);
    put_text(&w, r->path, BUDGET_PATH);
    put_text(&w, r->query, BUDGET_QUERY);
    put_number(&w, r->status);
    put_number(&w, r->stage);
    put_number(&w, r->aborted);
    put_text(&w, r->reason, BUDGET_REASON);
    put_text(&w, r->rule, BUDGET_RULE);
    put_number(&w, r->bytes_out);
    put_number(&w, r->bytes_in);
    put_text(&w, r->subject, BUDGET_SUBJECT);
    put_text(&w, r->answer, BUDGET_ANSWER);
    put_text(&w, r->body, BUDGET_BODY);
    put_text(&w, r->request_id, BUDGET_ID);
    put_raw(&w, "\n", 1);
    w.buf[w.len] = '\0';
    *len = w.len;
    return w.buf;
}

/* Field TEXT (N bytes) unescaped; NULL for "\-".  *CUT is set when it
 * ends with the cut mark. */
static const char *unescape(apr_pool_t *p, const char *text, apr_size_t n,
                            int *cut, const char **error)
{
    char *out, *o;
    apr_size_t i;

    if (n == 2 && text[0] == '\\' && text[1] == '-') {
        return NULL;
    }
    out = o = apr_palloc(p, n + 1);
    for (i = 0; i < n; i++) {
        if (text[i] != '\\') {
            *o++ = text[i];
            continue;
        }
        if (++i >= n) {
            *error = "a field ends with a lone backslash";
            return NULL;
        }
        switch (text[i]) {
        case '\\': *o++ = '\\'; break;
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case '.':
            if (i + 1 != n) {
                *error = "a cut mark inside a field";
                return NULL;
            }
            *cut = 1;
            break;
        case 'x': {
            int hi = i + 2 < n ? op_hex_value((unsigned char)text[i + 1]) : -1;
            int lo = i + 2 < n ? op_hex_value((unsigned char)text[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                *error = "a bad \\x escape";
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
            break;
        }
        default:
            *error = "an unknown escape";
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

static int number(const char *text, apr_int64_t *out)
{
    char *end;
    if (text == NULL || *text == '\0') {
        return 0;
    }
    *out = apr_strtoi64(text, &end, 10);
    return *end == '\0';
}

const char *op_audit_record_decode(apr_pool_t *p, const char *line,
                                   apr_size_t len, op_audit_record *r)
{
    const char *field[FIELDS];
    const char *error = NULL;
    apr_int64_t n[FIELDS];
    apr_size_t start = 0, i;
    int count = 0, cut = 0, k;
    static const int numeric[] = { 1, 5, 6, 7, 8, 10, 15, 16, 17, 20, 21, -1 };

    memset(r, 0, sizeof(*r));
    for (i = 0; i <= len && count < FIELDS + 1; i++) {
        if (i == len || line[i] == '\t') {
            if (count == FIELDS) {
                return "too many fields";
            }
            field[count] = unescape(p, line + start, i - start, &cut, &error);
            if (error) {
                return error;
            }
            count++;
            start = i + 1;
        }
    }
    if (count != FIELDS) {
        return apr_psprintf(p, "%d fields instead of %d", count, FIELDS);
    }
    if (field[0] == NULL || strcmp(field[0], MAGIC) != 0) {
        return "not a record of this version";
    }
    for (k = 0; numeric[k] >= 0; k++) {
        if (!number(field[numeric[k]], &n[numeric[k]])) {
            return apr_psprintf(p, "field %d is not a number", numeric[k]);
        }
    }
    r->time = (apr_time_t)n[1];
    r->node = field[2];
    r->site = field[3];
    r->prefix = field[4];
    r->backend = (int)n[5];
    r->credential = (int)n[6];
    r->quiet = (int)n[7];
    r->longest = (int)n[8];
    r->user = field[9];
    r->credentials_sent = (int)n[10];
    r->client = field[11];
    r->method = field[12];
    r->path = field[13];
    r->query = field[14];
    r->status = (int)n[15];
    r->stage = (op_audit_stage)n[16];
    r->aborted = (int)n[17];
    r->reason = field[18];
    r->rule = field[19];
    r->bytes_out = n[20];
    r->bytes_in = n[21];
    r->subject = field[22];
    r->answer = field[23];
    r->body = field[24];
    r->request_id = field[25];
    r->truncated = cut;
    if (r->method == NULL || r->path == NULL || r->stage > OP_AUDIT_STAGE_LOCAL) {
        return "no method, no path or an unknown stage";
    }
    return NULL;
}
