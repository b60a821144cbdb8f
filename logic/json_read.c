/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_read.c - a strict JSON reader (see json_read.h).
 *
 * Recursive descent over RFC 8259's grammar.  Strings are decoded to UTF-8
 * (surrogate pairs joined, a lone surrogate or an escaped NUL refused, raw
 * control characters refused); numbers are checked against the grammar and
 * kept as written, since the callers only need whole numbers.
 */
#include "json_read.h"

#include <errno.h>
#include <string.h>
#include <apr_strings.h>

#include "hex.h"

typedef struct {
    apr_pool_t *p;
    const char *s;        /* the next byte to read */
    const char *start;
    const char *end;
    int depth;
    const char *error;
} reader;

static int fail(reader *rd, const char *what)
{
    if (rd->error == NULL) {
        rd->error = apr_psprintf(rd->p, "%s at byte %ld", what,
                                 (long)(rd->s - rd->start));
    }
    return 0;
}

static void skip_blanks(reader *rd)
{
    while (rd->s < rd->end && (*rd->s == ' ' || *rd->s == '\t'
                               || *rd->s == '\n' || *rd->s == '\r')) {
        rd->s++;
    }
}

static int accept_word(reader *rd, const char *word)
{
    apr_size_t n = strlen(word);
    if ((apr_size_t)(rd->end - rd->s) < n || memcmp(rd->s, word, n) != 0) {
        return fail(rd, "unexpected text");
    }
    rd->s += n;
    return 1;
}

static op_json *make(reader *rd, op_json_type type)
{
    op_json *value = apr_pcalloc(rd->p, sizeof(*value));
    value->type = type;
    return value;
}

static int digits(reader *rd)
{
    const char *first = rd->s;
    while (rd->s < rd->end && *rd->s >= '0' && *rd->s <= '9') {
        rd->s++;
    }
    return rd->s > first;
}

static op_json *read_number(reader *rd)
{
    const char *first = rd->s;
    op_json *value;

    if (rd->s < rd->end && *rd->s == '-') {
        rd->s++;
    }
    if (rd->s < rd->end && *rd->s == '0') {
        rd->s++;
    }
    else if (!digits(rd)) {
        fail(rd, "a number needs digits");
        return NULL;
    }
    if (rd->s < rd->end && *rd->s == '.') {
        rd->s++;
        if (!digits(rd)) {
            fail(rd, "a fraction needs digits");
            return NULL;
        }
    }
    if (rd->s < rd->end && (*rd->s == 'e' || *rd->s == 'E')) {
        rd->s++;
        if (rd->s < rd->end && (*rd->s == '+' || *rd->s == '-')) {
            rd->s++;
        }
        if (!digits(rd)) {
            fail(rd, "an exponent needs digits");
            return NULL;
        }
    }
    value = make(rd, OP_JSON_NUMBER);
    value->text = apr_pstrmemdup(rd->p, first, rd->s - first);
    return value;
}

/* The four hexadecimal digits of a \u escape, or -1. */
static long read_hex4(reader *rd)
{
    long code = 0;
    int i;

    if (rd->end - rd->s < 4) {
        return -1;
    }
    for (i = 0; i < 4; i++) {
        int digit = op_hex_value((unsigned char)rd->s[i]);
        if (digit < 0) {
            return -1;
        }
        code = code * 16 + digit;
    }
    rd->s += 4;
    return code;
}

static apr_size_t put_utf8(char *out, long code)
{
    if (code < 0x80) {
        out[0] = (char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (char)(0xC0 | (code >> 6));
        out[1] = (char)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xE0 | (code >> 12));
        out[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (code >> 18));
    out[1] = (char)(0x80 | ((code >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code & 0x3F));
    return 4;
}

/* After the backslash of a \u escape: the code point, surrogate pairs
 * joined; -1 when the escape is broken or names NUL or a lone surrogate. */
static long read_unicode_escape(reader *rd)
{
    long code = read_hex4(rd), low;

    if (code < 0xD800 || code > 0xDFFF) {
        return code > 0 ? code : -1;
    }
    if (code > 0xDBFF || rd->end - rd->s < 2 || rd->s[0] != '\\'
        || rd->s[1] != 'u') {
        return -1;
    }
    rd->s += 2;
    low = read_hex4(rd);
    if (low < 0xDC00 || low > 0xDFFF) {
        return -1;
    }
    return 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
}

static int read_escape(reader *rd, char *out, apr_size_t *n)
{
    static const char FROM[] = "\"\\/bfnrt";
    static const char TO[] = "\"\\/\b\f\n\r\t";
    const char *found;

    if (rd->s >= rd->end) {
        return fail(rd, "a string ends inside an escape");
    }
    if (*rd->s == 'u') {
        long code;
        rd->s++;
        if ((code = read_unicode_escape(rd)) < 0) {
            return fail(rd, "a \\u escape is broken, names NUL or a lone "
                            "surrogate");
        }
        *n += put_utf8(out + *n, code);
        return 1;
    }
    if (*rd->s == '\0' || (found = strchr(FROM, *rd->s)) == NULL) {
        return fail(rd, "unknown escape in a string");
    }
    out[(*n)++] = TO[found - FROM];
    rd->s++;
    return 1;
}

/* After the opening quote; the decoded text is never longer than the
 * encoded one. */
static const char *read_string_text(reader *rd)
{
    const char *close = rd->s;
    char *out;
    apr_size_t n = 0;

    while (close < rd->end && *close != '"') {
        close += *close == '\\' && close + 1 < rd->end ? 2 : 1;
    }
    if (close >= rd->end) {
        fail(rd, "a string is not closed");
        return NULL;
    }
    out = apr_palloc(rd->p, close - rd->s + 1);
    while (rd->s < close) {
        unsigned char c = (unsigned char)*rd->s;
        if (c < 0x20) {
            fail(rd, "a control character in a string");
            return NULL;
        }
        if (c == '\\') {
            rd->s++;
            if (!read_escape(rd, out, &n)) {
                return NULL;
            }
        }
        else {
            out[n++] = (char)c;
            rd->s++;
        }
    }
    rd->s++;   /* the closing quote */
    out[n] = '\0';
    return out;
}

static op_json *read_value(reader *rd);

static op_json *read_array(reader *rd)
{
    op_json *array = make(rd, OP_JSON_ARRAY);

    array->items = apr_array_make(rd->p, 4, sizeof(op_json *));
    skip_blanks(rd);
    if (rd->s < rd->end && *rd->s == ']') {
        rd->s++;
        return array;
    }
    for (;;) {
        op_json *item = read_value(rd);
        if (item == NULL) {
            return NULL;
        }
        APR_ARRAY_PUSH(array->items, op_json *) = item;
        skip_blanks(rd);
        if (rd->s < rd->end && *rd->s == ',') {
            rd->s++;
            continue;
        }
        if (rd->s < rd->end && *rd->s == ']') {
            rd->s++;
            return array;
        }
        fail(rd, "expected ',' or ']'");
        return NULL;
    }
}

static op_json *read_object(reader *rd)
{
    op_json *object = make(rd, OP_JSON_OBJECT);

    object->items = apr_array_make(rd->p, 4, sizeof(op_json *));
    object->names = apr_array_make(rd->p, 4, sizeof(const char *));
    skip_blanks(rd);
    if (rd->s < rd->end && *rd->s == '}') {
        rd->s++;
        return object;
    }
    for (;;) {
        const char *name;
        op_json *value;

        skip_blanks(rd);
        if (rd->s >= rd->end || *rd->s != '"') {
            fail(rd, "expected a member name");
            return NULL;
        }
        rd->s++;
        if ((name = read_string_text(rd)) == NULL) {
            return NULL;
        }
        skip_blanks(rd);
        if (rd->s >= rd->end || *rd->s != ':') {
            fail(rd, "expected ':'");
            return NULL;
        }
        rd->s++;
        if ((value = read_value(rd)) == NULL) {
            return NULL;
        }
        APR_ARRAY_PUSH(object->names, const char *) = name;
        APR_ARRAY_PUSH(object->items, op_json *) = value;
        skip_blanks(rd);
        if (rd->s < rd->end && *rd->s == ',') {
            rd->s++;
            continue;
        }
        if (rd->s < rd->end && *rd->s == '}') {
            rd->s++;
            return object;
        }
        fail(rd, "expected ',' or '}'");
        return NULL;
    }
}

static op_json *read_nested(reader *rd, op_json *(*read)(reader *))
{
    op_json *value;

    if (++rd->depth > OP_JSON_MAX_DEPTH) {
        fail(rd, "nested too deeply");
        return NULL;
    }
    rd->s++;
    value = read(rd);
    rd->depth--;
    return value;
}

static op_json *read_value(reader *rd)
{
    op_json *value;

    skip_blanks(rd);
    if (rd->s >= rd->end) {
        fail(rd, "a value is missing");
        return NULL;
    }
    switch (*rd->s) {
    case '{':
        return read_nested(rd, read_object);
    case '[':
        return read_nested(rd, read_array);
    case '"':
        rd->s++;
        value = make(rd, OP_JSON_STRING);
        value->text = read_string_text(rd);
        return value->text ? value : NULL;
    case 't':
        return accept_word(rd, "true") ? make(rd, OP_JSON_TRUE) : NULL;
    case 'f':
        return accept_word(rd, "false") ? make(rd, OP_JSON_FALSE) : NULL;
    case 'n':
        return accept_word(rd, "null") ? make(rd, OP_JSON_NULL) : NULL;
    default:
        return read_number(rd);
    }
}

const char *op_json_parse(apr_pool_t *p, const char *text, apr_size_t len,
                          op_json **out)
{
    reader rd;
    op_json *value;

    memset(&rd, 0, sizeof(rd));
    rd.p = p;
    rd.s = rd.start = text;
    rd.end = text + len;
    value = read_value(&rd);
    if (value) {
        skip_blanks(&rd);
        if (rd.s != rd.end) {
            fail(&rd, "text after the value");
            value = NULL;
        }
    }
    *out = value;
    return value ? NULL : rd.error;
}

const op_json *op_json_member(const op_json *object, const char *name)
{
    int i;

    if (object == NULL || object->type != OP_JSON_OBJECT) {
        return NULL;
    }
    for (i = 0; i < object->names->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(object->names, i, const char *), name) == 0) {
            return APR_ARRAY_IDX(object->items, i, const op_json *);
        }
    }
    return NULL;
}

const char *op_json_string_member(const op_json *object, const char *name)
{
    const op_json *value = op_json_member(object, name);
    return value && value->type == OP_JSON_STRING ? value->text : NULL;
}

/* A whole number written as decimal digits, with an optional '-'. */
static int parse_integer(const char *text, apr_int64_t *out)
{
    const char *c = text + (*text == '-');
    char *end;
    apr_int64_t value;

    if (*c < '0' || *c > '9') {
        return 0;
    }
    for (; *c; c++) {
        if (*c < '0' || *c > '9') {
            return 0;
        }
    }
    errno = 0;
    value = apr_strtoi64(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return 0;
    }
    *out = value;
    return 1;
}

int op_json_integer_member(const op_json *object, const char *name,
                           apr_int64_t *out)
{
    const op_json *value = op_json_member(object, name);
    return value && (value->type == OP_JSON_NUMBER
                     || value->type == OP_JSON_STRING)
           && parse_integer(value->text, out);
}
