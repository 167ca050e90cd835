/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Strict number parsers for sysfs attributes and user input: the whole string must be
 * a number (one trailing newline allowed), no sign, no overflow. Return 0 or -EINVAL /
 * -ERANGE; *ret is untouched on failure. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou(const char *s, unsigned *ret);
/* Hexadecimal as sysfs prints it with "%llx": no "0x" prefix required (accepted). */
int safe_atox64(const char *s, uint64_t *ret);
