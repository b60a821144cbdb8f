/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_handler.h - what the module answers itself, without Orthanc.
 */
#ifndef ORTHANC_PROXY_LOCAL_HANDLER_H
#define ORTHANC_PROXY_LOCAL_HANDLER_H

#include <httpd.h>

/* The handler name translate_name gives the requests answered here. */
#define OP_LOCAL_HANDLER "orthanc-proxy"

/* handler: the "/prefix" -> "/prefix/" redirect and CORS preflights. */
int op_local_handler(request_rec *r);

#endif
