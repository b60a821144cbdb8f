/* SPDX-License-Identifier: Apache-2.0 */
/*
 * header_names.h - the request headers only the proxy may set, and how
 * their names compare.
 *
 * A backend may read a header name without case, with '_' for '-' (CGI
 * style) or, like Orthanc, with trailing blanks before the colon; a client
 * must not reach a proxy-owned header through any of those spellings.
 */
#ifndef ORTHANC_PROXY_HEADER_NAMES_H
#define ORTHANC_PROXY_HEADER_NAMES_H

/* Forwarded and the X-Forwarded-* family, NULL-terminated. */
extern const char *const op_forwarding_headers[];

/* X-HTTP-Method-Override, the one Orthanc honours, then the look-alikes
 * other servers honour (X-HTTP-Method, X-Method-Override); NULL-terminated. */
extern const char *const op_override_headers[];

/* Whether two header names are the same for such a backend:
 * X_Forwarded_For, "x-forwarded-for " and X-Forwarded-For are. */
int op_header_names_match(const char *a, const char *b);

/* Whether NAME is one of op_override_headers. */
int op_is_override_header(const char *name);

/* Whether NAME is a forwarding header, a method override or, when not
 * NULL, the header that carries the authenticated user. */
int op_is_proxy_owned_header(const char *name, const char *user_header);

#endif
