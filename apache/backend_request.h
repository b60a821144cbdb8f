/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend_request.h - the request Orthanc receives.
 */
#ifndef ORTHANC_PROXY_BACKEND_REQUEST_H
#define ORTHANC_PROXY_BACKEND_REQUEST_H

/* mod_proxy's fixups and request_status hooks. */
void op_register_backend_request_hooks(void);

#endif
