/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error_response.h - the JSON body of the errors the proxy produces.
 */
#ifndef ORTHANC_PROXY_ERROR_RESPONSE_H
#define ORTHANC_PROXY_ERROR_RESPONSE_H

/* The output filter and the insert_error_filter hook that adds it. */
void op_register_error_response(void);

#endif
