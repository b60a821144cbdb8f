/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_read.h - reading the JSON answers of Orthanc's REST API.
 *
 * The cache's background task (apache/cache/cache_follower.c) reads Orthanc's
 * change log, statistics and resources; APR 1.x has no JSON reader.  This
 * one reads RFC 8259 text into a tree allocated in a pool, refuses anything
 * else (no comments, no trailing commas, no NUL in strings) and stops at a
 * fixed nesting depth, so that no answer can exhaust the stack.
 */
#ifndef ORTHANC_PROXY_JSON_READ_H
#define ORTHANC_PROXY_JSON_READ_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    OP_JSON_NULL,
    OP_JSON_FALSE,
    OP_JSON_TRUE,
    OP_JSON_NUMBER,
    OP_JSON_STRING,
    OP_JSON_ARRAY,
    OP_JSON_OBJECT
} op_json_type;

typedef struct op_json op_json;
struct op_json {
    op_json_type type;
    /* STRING: the decoded UTF-8 text; NUMBER: the number as written */
    const char *text;
    /* ARRAY: the items; OBJECT: the values (op_json *) */
    apr_array_header_t *items;
    /* OBJECT: the names (const char *), in the order of ITEMS */
    apr_array_header_t *names;
};

/* Nesting deeper than this is refused. */
#define OP_JSON_MAX_DEPTH 64

/* Reads the LEN bytes at TEXT; NULL on success (*OUT is the tree), else a
 * sentence saying what is wrong and where. */
const char *op_json_parse(apr_pool_t *p, const char *text, apr_size_t len,
                          op_json **out);

/* The value of member NAME of OBJECT (the first one if repeated); NULL when
 * OBJECT is not an object or has no such member. */
const op_json *op_json_member(const op_json *object, const char *name);

/* The text of member NAME when it is a string, else NULL. */
const char *op_json_string_member(const op_json *object, const char *name);

/* Member NAME as a whole number: a JSON integer, or a string of decimal
 * digits (Orthanc writes its sizes as strings).  1 and *OUT set when it is
 * one, else 0. */
int op_json_integer_member(const op_json *object, const char *name,
                           apr_int64_t *out);

#endif
