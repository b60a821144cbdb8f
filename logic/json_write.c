/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_write.c - writing JSON trees (see json_write.h).
 */
#include "json_write.h"

#include <string.h>
#include <apr_strings.h>

typedef struct {
    apr_pool_t *p;
    char *data;
    apr_size_t used, size;
} buffer;

static void reserve(buffer *b, apr_size_t more)
{
    if (b->used + more + 1 > b->size) {
        apr_size_t size = b->size ? b->size : 256;
        char *bigger;
        while (size < b->used + more + 1) {
            size *= 2;
        }
        bigger = apr_palloc(b->p, size);
        if (b->used) {
            memcpy(bigger, b->data, b->used);
        }
        b->data = bigger;
        b->size = size;
    }
}

static void put(buffer *b, const char *text, apr_size_t n)
{
    reserve(b, n);
    memcpy(b->data + b->used, text, n);
    b->used += n;
}

static void put_string(buffer *b, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *c;
    const unsigned char *run = (const unsigned char *)text;

    put(b, "\"", 1);
    for (c = run; *c; c++) {
        if (*c == '"' || *c == '\\' || *c < 0x20 || *c == 0x7f) {
            char escape[6];
            put(b, (const char *)run, (apr_size_t)(c - run));
            if (*c == '"' || *c == '\\') {
                escape[0] = '\\';
                escape[1] = (char)*c;
                put(b, escape, 2);
            }
            else {
                memcpy(escape, "\\u00", 4);
                escape[4] = hex[*c >> 4];
                escape[5] = hex[*c & 15];
                put(b, escape, 6);
            }
            run = c + 1;
        }
    }
    put(b, (const char *)run, (apr_size_t)(c - run));
    put(b, "\"", 1);
}

/* The depth of a tree the reader made is bounded (OP_JSON_MAX_DEPTH);
 * trees made here are shallow. */
static void write_value(buffer *b, const op_json *v)
{
    int i;

    switch (v->type) {
    case OP_JSON_NULL:
        put(b, "null", 4);
        break;
    case OP_JSON_FALSE:
        put(b, "false", 5);
        break;
    case OP_JSON_TRUE:
        put(b, "true", 4);
        break;
    case OP_JSON_NUMBER:
        put(b, v->text, strlen(v->text));
        break;
    case OP_JSON_STRING:
        put_string(b, v->text);
        break;
    case OP_JSON_ARRAY:
        put(b, "[", 1);
        for (i = 0; i < v->items->nelts; i++) {
            if (i > 0) {
                put(b, ",", 1);
            }
            write_value(b, APR_ARRAY_IDX(v->items, i, const op_json *));
        }
        put(b, "]", 1);
        break;
    case OP_JSON_OBJECT:
        put(b, "{", 1);
        for (i = 0; i < v->items->nelts; i++) {
            if (i > 0) {
                put(b, ",", 1);
            }
            put_string(b, APR_ARRAY_IDX(v->names, i, const char *));
            put(b, ":", 1);
            write_value(b, APR_ARRAY_IDX(v->items, i, const op_json *));
        }
        put(b, "}", 1);
        break;
    }
}

char *op_json_write(apr_pool_t *p, const op_json *value, apr_size_t *len)
{
    buffer b;

    memset(&b, 0, sizeof(b));
    b.p = p;
    reserve(&b, 0);
    write_value(&b, value);
    b.data[b.used] = '\0';
    if (len) {
        *len = b.used;
    }
    return b.data;
}

op_json *op_json_new(apr_pool_t *p, op_json_type type)
{
    op_json *v = apr_pcalloc(p, sizeof(*v));
    v->type = type;
    if (type == OP_JSON_ARRAY || type == OP_JSON_OBJECT) {
        v->items = apr_array_make(p, 4, sizeof(op_json *));
    }
    if (type == OP_JSON_OBJECT) {
        v->names = apr_array_make(p, 4, sizeof(const char *));
    }
    return v;
}

op_json *op_json_new_string(apr_pool_t *p, const char *text)
{
    op_json *v = op_json_new(p, OP_JSON_STRING);
    v->text = apr_pstrdup(p, text);
    return v;
}

op_json *op_json_new_integer(apr_pool_t *p, apr_int64_t n)
{
    op_json *v = op_json_new(p, OP_JSON_NUMBER);
    v->text = apr_psprintf(p, "%" APR_INT64_T_FMT, n);
    return v;
}

void op_json_remove(op_json *object, const char *name)
{
    int i, kept = 0;

    if (object->type != OP_JSON_OBJECT) {
        return;
    }
    for (i = 0; i < object->items->nelts; i++) {
        const char *n = APR_ARRAY_IDX(object->names, i, const char *);
        if (strcmp(n, name) != 0) {
            APR_ARRAY_IDX(object->names, kept, const char *) = n;
            APR_ARRAY_IDX(object->items, kept, op_json *) =
                APR_ARRAY_IDX(object->items, i, op_json *);
            kept++;
        }
    }
    object->names->nelts = kept;
    object->items->nelts = kept;
}

void op_json_set(apr_pool_t *p, op_json *object, const char *name,
                 op_json *value)
{
    int i, kept = 0, found = 0;

    if (object->type != OP_JSON_OBJECT) {
        return;
    }
    for (i = 0; i < object->items->nelts; i++) {
        const char *n = APR_ARRAY_IDX(object->names, i, const char *);
        op_json *item = APR_ARRAY_IDX(object->items, i, op_json *);
        if (strcmp(n, name) == 0) {
            if (found) {
                continue;           /* later members of that name go */
            }
            found = 1;
            item = value;
        }
        APR_ARRAY_IDX(object->names, kept, const char *) = n;
        APR_ARRAY_IDX(object->items, kept, op_json *) = item;
        kept++;
    }
    object->names->nelts = kept;
    object->items->nelts = kept;
    if (!found) {
        APR_ARRAY_PUSH(object->names, const char *) = apr_pstrdup(p, name);
        APR_ARRAY_PUSH(object->items, op_json *) = value;
    }
}

int op_json_has_repeated_names(const op_json *value)
{
    int i;

    if (value->type == OP_JSON_ARRAY || value->type == OP_JSON_OBJECT) {
        for (i = 0; i < value->items->nelts; i++) {
            if (op_json_has_repeated_names(APR_ARRAY_IDX(value->items, i,
                                                         const op_json *))) {
                return 1;
            }
        }
    }
    if (value->type == OP_JSON_OBJECT) {
        for (i = 0; i < value->names->nelts; i++) {
            const char *a = APR_ARRAY_IDX(value->names, i, const char *);
            int j;
            for (j = i + 1; j < value->names->nelts; j++) {
                if (strcmp(a, APR_ARRAY_IDX(value->names, j, const char *))
                    == 0) {
                    return 1;
                }
            }
        }
    }
    return 0;
}
