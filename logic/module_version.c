/* SPDX-License-Identifier: Apache-2.0 */
/*
 * module_version.c - the version configure.ac's AC_INIT gives, the one
 * place it is written (scripts/release.sh sets it there).
 *
 * A file of its own: op_config.h defines autoconf's PACKAGE_* macros,
 * which httpd's ap_config_auto.h defines too, so no file that includes an
 * httpd header may include it.  <op_config.h>, as autoconf recommends for
 * its header: found in the build directory's build-aux/ (automake's
 * DEFAULT_INCLUDES), also when the build directory is not the source tree.
 */
#include <op_config.h>

#include "module_version.h"

const char op_module_version[] = PACKAGE_VERSION;
