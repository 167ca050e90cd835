/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the fuzz targets (fuzz.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "util/fileio.h"

void fuzz_assert_failed(const char *expr, const char *file, int line)
{
        fprintf(stderr, "%s:%d: fuzz property failed: %s\n", file, line, expr);
        abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

size_t fuzz_split(const uint8_t *data, size_t size, char sep, char **pieces, size_t max, char **ret_buf)
{
        char *buf = fuzz_strndup(data, size);
        size_t n = 0;
        char *p = buf;

        while (n < max) {
                char *q;

                pieces[n++] = p;
                if (n == max)
                        break;
                q = memchr(p, sep, (size_t)(buf + size - p));
                if (!q)
                        break;
                *q = '\0';
                p = q + 1;
        }
        *ret_buf = buf;
        return n;
}

static char tmpdir[64];
static pid_t tmpdir_owner;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)remove(path);
        return 0;
}

static void tmpdir_remove(void)
{
        /* Check forks each test: only the process that made the directory removes it. */
        if (tmpdir[0] && getpid() == tmpdir_owner)
                nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
        if (!tmpdir[0]) {
                snprintf(tmpdir, sizeof(tmpdir), "/tmp/mdp-fuzz-XXXXXX");
                if (!mkdtemp(tmpdir))
                        abort();
                tmpdir_owner = getpid();
                atexit(tmpdir_remove);
        }
        return tmpdir;
}

void fuzz_write_file(const char *dir, const char *name, const void *data, size_t size)
{
        char path[4096];
        int fd;

        if (mkdir_p(dir, 0755) < 0)
                abort();
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                abort();
        if (size > 0 && write(fd, data, size) != (ssize_t)size)
                abort();
        close(fd);
}
