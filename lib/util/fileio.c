/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/macro.h"

static ssize_t read_all(int fd, char *buf, size_t size)
{
        size_t done = 0;

        while (done < size) {
                ssize_t n = read(fd, buf + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        return (ssize_t)done;
}

ssize_t read_attr(int dirfd, const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (size < 2)
                return -EINVAL;
        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* Read one byte more than fits so an oversized file is detected, not truncated. */
        n = read_all(fd, buf, size);
        if (n < 0)
                return n;
        if ((size_t)n >= size)
                return -E2BIG;
        while (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = '\0';
        if (memchr(buf, '\0', (size_t)n))
                return -EBADMSG;
        return n;
}

int read_attr_alloc(int dirfd, const char *path, size_t max, char **ret)
{
        _cleanup_free_ char *buf = malloc(max + 1);
        ssize_t n;

        if (!buf)
                return -ENOMEM;
        n = read_attr(dirfd, path, buf, max + 1);
        if (n < 0)
                return (int)n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_full_file(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t)st.st_size > max)
                return -EFBIG;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        n = read_all(fd, buf, max + 1);
        if (n < 0)
                return (int)n;
        if ((size_t)n > max)
                return -EFBIG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = (size_t)n;
        return 0;
}

ssize_t read_binary_file(int dirfd, const char *path, void *buf, size_t size)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        return read_all(fd, buf, size);
}

int write_attr(int dirfd, const char *path, const char *value)
{
        _cleanup_close_ int fd = -1;
        size_t len = strlen(value);
        ssize_t n;

        fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        /* close() can report the error of a deferred write on some file systems. */
        if (close(TAKE_FD(fd)) < 0 && errno != EINTR)
                return -errno;
        return 0;
}

static int fsync_directory_of(const char *path)
{
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int fd = -1;
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                dir[1] = '\0';
        else
                *slash = '\0';
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode)
{
        _cleanup_free_ char *tmp = NULL;
        const char *base = path_basename(path);
        const char *p = data;
        size_t done = 0;
        int fd, r;

        if (asprintf(&tmp, "%.*s.#%s.XXXXXX", (int)(base - path), path, base) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (done < size) {
                ssize_t n = write(fd, p + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                done += (size_t)n;
        }
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (close(fd) < 0) {
                fd = -1;
                r = -errno;
                goto fail;
        }
        fd = -1;
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        return fsync_directory_of(path);
fail:
        if (fd >= 0)
                close(fd);
        (void)unlink(tmp);
        return r;
}

int remove_atomic_leftovers(int dir_fd, bool (*is_target)(const char *name))
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, n = 0;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                /* ".#" name "." and mkostemp()'s six characters */
                size_t len = strlen(de->d_name);
                char name[NAME_MAX + 1];

                if (len < 2 + 1 + 1 + 6 || strncmp(de->d_name, ".#", 2) != 0 || de->d_name[len - 7] != '.')
                        continue;
                memcpy(name, de->d_name + 2, len - 9);
                name[len - 9] = '\0';
                if (!is_target(name))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
                        if (errno != ENOENT)
                                return -errno;
                        continue;
                }
                n++;
        }
        if (n > 0)
                (void)fsync(dirfd(d));
        return n;
}

int readlinkat_malloc(int dirfd, const char *path, char **ret)
{
        char buf[PATH_MAX];
        ssize_t n = readlinkat(dirfd, path, buf, sizeof(buf) - 1);
        char *s;

        if (n < 0)
                return -errno;
        buf[n] = '\0';
        s = strdup(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

const char *path_basename(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}
