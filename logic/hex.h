/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hex.h - hexadecimal digits, as percent-escapes write them.
 *
 * One reading for every decoder of the module: the request path
 * (path_canon.c) and Orthanc's query-string decoder (method_override.c),
 * which builds its own reading of non-hexadecimal letters on top of it.
 */
#ifndef ORTHANC_PROXY_HEX_H
#define ORTHANC_PROXY_HEX_H

/* The value of the hexadecimal digit C (0-9, a-f, A-F), or -1 when C is
 * not one. */
int op_hex_value(unsigned char c);

#endif
