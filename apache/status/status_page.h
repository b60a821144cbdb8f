/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_page.h - SetHandler orthanc-proxy-status: every mapping with its
 * backend and counters, as HTML or, with ?json, as JSON.
 */
#ifndef ORTHANC_PROXY_STATUS_PAGE_H
#define ORTHANC_PROXY_STATUS_PAGE_H

#include <httpd.h>

/* The handler name, as written after SetHandler. */
#define OP_STATUS_HANDLER "orthanc-proxy-status"

int op_status_handler(request_rec *r);

#endif
