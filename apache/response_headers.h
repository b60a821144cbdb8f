/* SPDX-License-Identifier: Apache-2.0 */
/*
 * response_headers.h - Orthanc's answer on its way back.
 */
#ifndef ORTHANC_PROXY_RESPONSE_HEADERS_H
#define ORTHANC_PROXY_RESPONSE_HEADERS_H

#include <httpd.h>

void op_register_response_headers(void);

/* Adds the filter to a request about to be proxied. */
void op_add_response_headers_filter(request_rec *r);

#endif
