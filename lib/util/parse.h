/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Strict number parsers for sysfs attributes and user input: the whole string must be
 * a number (one trailing newline allowed), no sign, no overflow. Return 0 or -EINVAL /
 * -ERANGE; *ret is untouched on failure. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou(const char *s, unsigned *ret);
/* Hexadecimal as sysfs prints it with "%llx": no "0x" prefix required (accepted). */
int safe_atox64(const char *s, uint64_t *ret);

/* Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF). Text that reaches D-Bus must be: sd-bus refuses the whole message otherwise. */
bool utf8_is_valid(const char *s);
