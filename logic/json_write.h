/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_write.h - JSON trees (json_read.h) edited and written back.
 *
 * OrthancProxyStudies rewrites the body of a search (POST /tools/find) so
 * that Orthanc applies a user's study scope itself, and writes back the
 * answers it filtered (lists, QIDO-RS).  Numbers are written as they were
 * read, strings escaped as RFC 8259 requires; the text is compact.
 */
#ifndef ORTHANC_PROXY_JSON_WRITE_H
#define ORTHANC_PROXY_JSON_WRITE_H

#include <apr_pools.h>

#include "json_read.h"

/* VALUE as JSON text, NUL-terminated; *LEN (when not NULL) its length. */
char *op_json_write(apr_pool_t *p, const op_json *value, apr_size_t *len);

/* New values. */
op_json *op_json_new(apr_pool_t *p, op_json_type type);
op_json *op_json_new_string(apr_pool_t *p, const char *text);
op_json *op_json_new_integer(apr_pool_t *p, apr_int64_t n);

/* Sets member NAME of OBJECT to VALUE, in place of every member of that
 * name (at the place of the first one, else at the end). */
void op_json_set(apr_pool_t *p, op_json *object, const char *name,
                 op_json *value);

/* Removes every member NAME of OBJECT. */
void op_json_remove(op_json *object, const char *name);

/* Whether an object of VALUE, at any depth, has a name twice: readers
 * disagree on which of them counts (ours takes the first, Orthanc's
 * jsoncpp the last). */
int op_json_has_repeated_names(const op_json *value);

#endif
