/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* mdevpasidctl's libsystemd, loaded on first use (cli/sd-dlopen.c says why and how). */

#include <stdbool.h>

/* 0, or -ENOPKG after one error naming the library and its package. Later calls return
 * the first result without trying again. */
int cli_sd_load(void);
/* Whether libsystemd is loaded (nothing is loaded to answer). */
bool cli_sd_loaded(void);
