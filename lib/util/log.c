/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "util/log.h"

static const char *log_program = "mdevpasid";
static int log_max_level = LOG_INFO;
static int log_to_journal = -1; /* -1: not decided yet */

/* systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected stderr to. */
static int stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return 0;
        if (fstat(STDERR_FILENO, &st) < 0)
                return 0;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(const char *program)
{
        const char *lvl = getenv("MDEVPASID_LOG_LEVEL");

        if (program)
                log_program = program;
        log_to_journal = stderr_is_journal();
        if (lvl) {
                static const char *const names[] = { "emerg", "alert", "crit",   "err",
                                                      "warning", "notice", "info", "debug" };
                for (int i = 0; i < (int)ELEMENTSOF(names); i++)
                        if (streq(lvl, names[i]))
                                log_max_level = i;
        }
}

void log_set_max_level(int level)
{
        log_max_level = level;
}

int log_get_max_level(void)
{
        return log_max_level;
}

int log_internalv(int level, int error, const char *object_field, const char *object_value,
                  const char *fmt, va_list ap)
{
        char msg[2048];
        int saved = errno;

        if (error > 0)
                error = -error;
        if (level > log_max_level)
                return error;
        /* %m means strerror(error), not of whatever errno happens to be. */
        errno = error < 0 ? -error : saved;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (log_to_journal < 0)
                log_to_journal = stderr_is_journal();
        if (log_to_journal) {
                if (object_field && object_value)
                        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level, "%s=%s", object_field,
                                        object_value, error ? "ERRNO=%i" : NULL, -error, NULL);
                else
                        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level,
                                        error ? "ERRNO=%i" : NULL, -error, NULL);
        } else
                fprintf(stderr, "%s: %s\n", log_program, msg);
        errno = saved;
        return error;
}

int log_internal(int level, int error, const char *object_field, const char *object_value,
                 const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_internalv(level, error, object_field, object_value, fmt, ap);
        va_end(ap);
        return r;
}

void log_ctx_callback(void *userdata, int priority, const char *file, int line, const char *fn,
                      const char *fmt, va_list ap)
{
        log_internalv(priority, 0, NULL, NULL, fmt, ap);
}
