/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
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

/* One structured entry. sd_journal_sendv(), not the variadic sd_journal_send(): mdevpasidctl
 * loads libsystemd only when it talks to the bus (cli/sd-dlopen.c), and its
 * sd_journal_sendv() fails while the library is not loaded, so a line goes to stderr
 * instead (which is the journal's stream anyway) rather than loading the library just to
 * log. A failed send falls back to stderr for the daemon too. */
static int journal_send(int level, int error, const char *object_field, const char *object_value,
                        const char *msg)
{
        _cleanup_free_ char *m = NULL, *obj = NULL;
        char prio[32], err[32];
        struct iovec iov[4];
        int n = 0;

        if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                return -ENOMEM;
        iov[n++] = (struct iovec){m, strlen(m)};
        snprintf(prio, sizeof(prio), "PRIORITY=%i", level);
        iov[n++] = (struct iovec){prio, strlen(prio)};
        if (object_field && object_value) {
                if (asprintf(&obj, "%s=%s", object_field, object_value) < 0)
                        return -ENOMEM;
                iov[n++] = (struct iovec){obj, strlen(obj)};
        }
        if (error) {
                snprintf(err, sizeof(err), "ERRNO=%i", -error);
                iov[n++] = (struct iovec){err, strlen(err)};
        }
        return sd_journal_sendv(iov, n);
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
        if (!log_to_journal || journal_send(level, error, object_field, object_value, msg) < 0)
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
