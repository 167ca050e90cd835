/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "util/macro.h"

/* Logging for the daemon, the CLI and the hook (the library itself logs only at debug
 * level through its context callback). Under systemd (JOURNAL_STREAM matches stderr) it
 * writes structured journal entries; otherwise plain lines on stderr. */

void log_setup(const char *program);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Logs and returns error (a negative errno; a positive value is negated). %m expands to
 * strerror(error). object_field/object_value add a journal field such as
 * MDEVPASID_DEVICE=<uuid>; both may be NULL. */
int log_internal(int level, int error, const char *object_field, const char *object_value,
                 const char *fmt, ...) _printf_(5, 6);
int log_internalv(int level, int error, const char *object_field, const char *object_value,
                  const char *fmt, va_list ap) _printf_(5, 0);

#define log_full_errno(level, error, ...) log_internal((level), (error), NULL, NULL, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)

#define log_device(level, uuid, ...) log_internal((level), 0, "MDEVPASID_DEVICE", (uuid), __VA_ARGS__)
#define log_device_errno(level, e, uuid, ...)                                                             \
        log_internal((level), (e), "MDEVPASID_DEVICE", (uuid), __VA_ARGS__)
#define log_parent(level, parent, ...) log_internal((level), 0, "MDEVPASID_PARENT", (parent), __VA_ARGS__)
#define log_parent_errno(level, e, parent, ...)                                                           \
        log_internal((level), (e), "MDEVPASID_PARENT", (parent), __VA_ARGS__)
#define log_vm(level, vm, ...) log_internal((level), 0, "MDEVPASID_VM", (vm), __VA_ARGS__)

/* Library debug callback suitable for mdp_ctx_set_log(). */
void log_ctx_callback(void *userdata, int priority, const char *file, int line, const char *fn,
                      const char *fmt, va_list ap) _printf_(6, 0);
