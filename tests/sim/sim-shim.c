/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD shim for programs running on the simulated host: a plain file cannot fail a
 * write, so writes to files under $UMOCKDEV_DIR/sys are handed to mdp-kernel-sim, which does
 * what the kernel would do (create the mdev, send the uevents) before it answers, and the
 * answer (bytes or errno) is what write() returns.
 *
 * Preload order: [ASan runtime:]this shim:libumockdev-preload.so.0. The shim must come before
 * umockdev's preload, which calls libc through dlopen("libc.so.6") and so bypasses anything
 * preloaded after it; the shim therefore sees paths before umockdev turns /sys/... into
 * $UMOCKDEV_DIR/sys/..., and maps them the same way for its own checks.
 *
 * Intercepted: write, pwrite(64), writev; open/openat and their 64/fortified forms for
 * write access (sysfs ignores O_TRUNC, refuses O_CREAT and write access to read-only
 * attributes with EACCES); fopen(64) for writing (a cookie stream whose flushes go through
 * the same path, since glibc's stdio calls its internal write); fflush/fclose of any other
 * stream on a sysfs file (bash's echo builtin writes to a redirected stdout through stdio):
 * the pending buffer is the store; dup2/dup3 onto stdout or stderr (a redirection): while
 * the descriptor is a sysfs file the stream is fully buffered, so bash's line buffering does
 * not flush the line inside stdio before its fflush; bind of umockdev's emulated
 * uevent sockets (umockdev names them <testbed>/event<fd>, so two processes with the same fd
 * number stole each other's uevents; the shim binds <testbed>/event<fd>-<pid>).
 *
 * Everything else passes through: non-regular files after one fstat, other regular files
 * after one readlink of /proc/self/fd. Without the sim's socket a write is a plain write.
 * Thread-safe: no shared state but the cached testbed path (mutex), one connection per
 * forwarded write. */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <linux/netlink.h>
#include <unistd.h>

#include "sim-proto.h"

#define SHIM_API __attribute__((visibility("default")))

#ifndef _IO_LINE_BUF
#define _IO_LINE_BUF 0x0200 /* glibc's libio flag (not in the public struct_FILE.h) */
#endif

/* The testbed as last seen in $UMOCKDEV_DIR (it changes between forked Check tests). */
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static char *config_env;             /* the $UMOCKDEV_DIR value the rest was derived from */
static char config_sys[PATH_MAX];    /* canonical <testbed>/sys */
static char config_root[PATH_MAX];   /* canonical <testbed> */
static char config_sock[sizeof(((struct sockaddr_un *)0)->sun_path)];

struct shim_config {
        char sys[PATH_MAX];
        size_t sys_len;
        char root[PATH_MAX];
        char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void *next_sym(const char *name)
{
        void *p = dlsym(RTLD_NEXT, name);
        if (!p) {
                static const char msg[] = "mdp-sim-shim: cannot find the next definition of a libc call\n";
                (void)!syscall(SYS_write, 2, msg, sizeof(msg) - 1);
                abort();
        }
        return p;
}

#define NEXT(name, type) ((type)next_sym(#name))

/* Fills *c from $UMOCKDEV_DIR; false when there is no testbed. */
static bool get_config(struct shim_config *c)
{
        const char *env = getenv("UMOCKDEV_DIR");
        bool ok = false;

        if (!env || !*env)
                return false;
        pthread_mutex_lock(&config_lock);
        if (!config_env || strcmp(config_env, env) != 0) {
                char real[PATH_MAX];

                free(config_env);
                config_env = strdup(env);
                config_sys[0] = config_root[0] = config_sock[0] = '\0';
                if (config_env && realpath(env, real) &&
                    (size_t)snprintf(config_sys, sizeof(config_sys), "%s/sys", real) < sizeof(config_sys) &&
                    (size_t)snprintf(config_sock, sizeof(config_sock), "%s/" SIM_SUBDIR "/" SIM_KERNEL_SOCKET,
                                     real) < sizeof(config_sock))
                        strcpy(config_root, real);
                else
                        config_sys[0] = config_root[0] = config_sock[0] = '\0';
        }
        if (config_sys[0]) {
                strcpy(c->sys, config_sys);
                c->sys_len = strlen(c->sys);
                strcpy(c->root, config_root);
                strcpy(c->sock, config_sock);
                ok = true;
        }
        pthread_mutex_unlock(&config_lock);
        return ok;
}

/* The path of an open regular file below <testbed>/sys, relative to it, or false. */
static bool fd_sysfs_path(int fd, const struct shim_config *c, char *rel, size_t size)
{
        char link[32], path[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return false;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = syscall(SYS_readlinkat, AT_FDCWD, link, path, sizeof(path) - 1);
        if (n <= 0)
                return false;
        path[n] = '\0';
        if (strncmp(path, c->sys, c->sys_len) != 0 || path[c->sys_len] != '/')
                return false;
        if (strlen(path + c->sys_len + 1) >= size)
                return false;
        strcpy(rel, path + c->sys_len + 1);
        return true;
}

/* Hands one store to the sim. Returns bytes taken, -1 with errno set, or -2 when there is
 * no sim to ask (the caller then writes the file itself). */
static ssize_t forward(const struct shim_config *c, const char *rel, const void *buf, size_t count)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct sim_write_request req;
        struct sim_write_reply rep;
        struct iovec iov[3];
        struct msghdr mh = {0};
        int saved = errno;
        ssize_t n;
        long s;

        if (count > SIM_MAX_STORE)
                count = SIM_MAX_STORE; /* kernfs takes at most a page per write */
        strcpy(sa.sun_path, c->sock);
        s = syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -2;
        if (syscall(SYS_connect, s, &sa, sizeof(sa)) < 0) {
                syscall(SYS_close, s);
                errno = saved;
                return -2; /* no sim (ENOENT) or it is gone (ECONNREFUSED): plain file */
        }
        req = (struct sim_write_request){
                .magic = SIM_WRITE_MAGIC,
                .path_len = (uint32_t)strlen(rel),
                .data_len = (uint32_t)count,
                .pid = (uint32_t)getpid(),
        };
        iov[0] = (struct iovec){&req, sizeof(req)};
        iov[1] = (struct iovec){(void *)rel, req.path_len};
        iov[2] = (struct iovec){(void *)buf, count};
        mh.msg_iov = iov;
        mh.msg_iovlen = 3;
        do
                n = syscall(SYS_sendmsg, s, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                syscall(SYS_close, s);
                errno = EIO;
                return -1;
        }
        /* The sim may take long to answer: a remove blocks while the device is held. */
        do
                n = syscall(SYS_recvfrom, s, &rep, sizeof(rep), 0, NULL, NULL);
        while (n < 0 && errno == EINTR);
        syscall(SYS_close, s);
        if (n != (ssize_t)sizeof(rep) || rep.magic != SIM_REPLY_MAGIC) {
                errno = EIO; /* the sim died in the middle */
                return -1;
        }
        if (rep.error != 0) {
                errno = rep.error;
                return -1;
        }
        errno = saved;
        return (ssize_t)rep.result;
}

/* write() on fd: forwarded when fd is a sysfs file of the testbed. *handled tells whether. */
static ssize_t maybe_forward_fd(int fd, const void *buf, size_t count, bool *handled)
{
        struct shim_config c;
        char rel[PATH_MAX];
        ssize_t r;

        *handled = false;
        if (!get_config(&c) || !fd_sysfs_path(fd, &c, rel, sizeof(rel)))
                return 0;
        r = forward(&c, rel, buf, count);
        if (r == -2)
                return 0;
        *handled = true;
        return r;
}

SHIM_API ssize_t write(int fd, const void *buf, size_t count)
{
        static ssize_t (*next)(int, const void *, size_t);
        bool handled;
        ssize_t r;

        if (!next)
                next = NEXT(write, ssize_t(*)(int, const void *, size_t));
        r = maybe_forward_fd(fd, buf, count, &handled);
        return handled ? r : next(fd, buf, count);
}

SHIM_API ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
        static ssize_t (*next)(int, const void *, size_t, off_t);
        bool handled;
        ssize_t r;

        if (!next)
                next = NEXT(pwrite, ssize_t(*)(int, const void *, size_t, off_t));
        r = maybe_forward_fd(fd, buf, count, &handled); /* sysfs attributes ignore the offset */
        return handled ? r : next(fd, buf, count, off);
}

SHIM_API ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
        static ssize_t (*next)(int, const void *, size_t, off64_t);
        bool handled;
        ssize_t r;

        if (!next)
                next = NEXT(pwrite64, ssize_t(*)(int, const void *, size_t, off64_t));
        r = maybe_forward_fd(fd, buf, count, &handled);
        return handled ? r : next(fd, buf, count, off);
}

SHIM_API ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
        static ssize_t (*next)(int, const struct iovec *, int);
        struct shim_config c;
        char rel[PATH_MAX], buf[SIM_MAX_STORE];
        size_t len = 0;
        ssize_t r;

        if (!next)
                next = NEXT(writev, ssize_t(*)(int, const struct iovec *, int));
        if (!get_config(&c) || !fd_sysfs_path(fd, &c, rel, sizeof(rel)))
                return next(fd, iov, iovcnt);
        for (int i = 0; i < iovcnt && len < sizeof(buf); i++) {
                size_t n = iov[i].iov_len < sizeof(buf) - len ? iov[i].iov_len : sizeof(buf) - len;
                memcpy(buf + len, iov[i].iov_base, n);
                len += n;
        }
        r = forward(&c, rel, buf, len);
        return r == -2 ? next(fd, iov, iovcnt) : r;
}

/* Lexically normalised absolute form of (dirfd, path) into out; false if it cannot tell. */
static bool absolute_path(int dirfd, const char *path, char *out, size_t size)
{
        char base[PATH_MAX], joined[2 * PATH_MAX];
        char *comp[PATH_MAX / 2], *save = NULL, *tok;
        size_t depth = 0, len = 0;

        if (!path)
                return false;
        if (path[0] == '/') {
                if (strlen(path) >= sizeof(joined))
                        return false;
                strcpy(joined, path);
        } else {
                ssize_t n;
                if (dirfd == AT_FDCWD) {
                        n = syscall(SYS_getcwd, base, sizeof(base));
                        if (n <= 0)
                                return false;
                } else {
                        char link[32];
                        snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
                        n = syscall(SYS_readlinkat, AT_FDCWD, link, base, sizeof(base) - 1);
                        if (n <= 0)
                                return false;
                        base[n] = '\0';
                }
                if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", base, path) >= sizeof(joined))
                        return false;
        }
        for (tok = strtok_r(joined, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                if (strcmp(tok, ".") == 0)
                        continue;
                if (strcmp(tok, "..") == 0) {
                        if (depth > 0)
                                depth--;
                        continue;
                }
                if (depth >= sizeof(comp) / sizeof(comp[0]))
                        return false;
                comp[depth++] = tok;
        }
        out[0] = '\0';
        for (size_t i = 0; i < depth; i++) {
                size_t l = strlen(comp[i]);
                if (len + l + 2 > size)
                        return false;
                out[len++] = '/';
                memcpy(out + len, comp[i], l);
                len += l;
                out[len] = '\0';
        }
        if (len == 0 && size > 1)
                strcpy(out, "/");
        return true;
}

/* For an open for writing: 0 (not sysfs, flags untouched), 1 (sysfs: *flags adjusted, the
 * file's path in the testbed in real, if given), or -errno to fail the open with, as kernfs
 * would. "/sys/..." means the testbed's sys, as umockdev's preload will make it. */
static int check_sysfs_open(int dirfd, const char *path, int *flags, char *real, size_t real_size)
{
        struct shim_config c;
        char norm[PATH_MAX], abs[PATH_MAX];
        struct stat st;

        if ((*flags & O_ACCMODE) == O_RDONLY && !(*flags & (O_CREAT | O_TRUNC)))
                return 0;
        if (!get_config(&c) || !absolute_path(dirfd, path, norm, sizeof(norm)))
                return 0;
        if (strncmp(norm, "/sys", 4) == 0 && (norm[4] == '/' || norm[4] == '\0')) {
                if ((size_t)snprintf(abs, sizeof(abs), "%s%s", c.sys, norm + 4) >= sizeof(abs))
                        return 0;
        } else {
                strcpy(abs, norm);
        }
        if (strncmp(abs, c.sys, c.sys_len) != 0 || (abs[c.sys_len] != '/' && abs[c.sys_len] != '\0'))
                return 0;
        if (real) {
                if (strlen(abs) >= real_size)
                        return 0;
                strcpy(real, abs);
        }
        *flags &= ~O_TRUNC; /* sysfs has nothing to truncate; a failed store keeps the value */
        if (stat(abs, &st) < 0) {
                char *slash = strrchr(abs, '/');
                if (errno != ENOENT || !(*flags & O_CREAT) || !slash)
                        return 0; /* the open fails by itself */
                *slash = '\0';
                /* a missing file in an existing sysfs directory: kernfs has no ->create */
                return stat(abs, &st) == 0 ? -EACCES : 0;
        }
        if (S_ISREG(st.st_mode) && (*flags & O_ACCMODE) != O_RDONLY && !(st.st_mode & 0222))
                return -EACCES; /* kernfs refuses write access to an attribute without store */
        return 1;
}

static mode_t open_mode(int flags, va_list ap)
{
        return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

#define OPEN_WRAPPER(name)                                                                                \
        SHIM_API int name(const char *path, int flags, ...)                                               \
        {                                                                                                 \
                static int (*next)(const char *, int, ...);                                               \
                va_list ap;                                                                               \
                mode_t mode;                                                                              \
                int r;                                                                                    \
                va_start(ap, flags);                                                                      \
                mode = open_mode(flags, ap);                                                              \
                va_end(ap);                                                                               \
                if (!next)                                                                                \
                        next = NEXT(name, int (*)(const char *, int, ...));                               \
                r = check_sysfs_open(AT_FDCWD, path, &flags, NULL, 0);                                             \
                if (r < 0) {                                                                              \
                        errno = -r;                                                                       \
                        return -1;                                                                        \
                }                                                                                         \
                return next(path, flags, mode);                                                           \
        }

#define OPENAT_WRAPPER(name)                                                                              \
        SHIM_API int name(int dirfd, const char *path, int flags, ...)                                    \
        {                                                                                                 \
                static int (*next)(int, const char *, int, ...);                                          \
                va_list ap;                                                                               \
                mode_t mode;                                                                              \
                int r;                                                                                    \
                va_start(ap, flags);                                                                      \
                mode = open_mode(flags, ap);                                                              \
                va_end(ap);                                                                               \
                if (!next)                                                                                \
                        next = NEXT(name, int (*)(int, const char *, int, ...));                          \
                r = check_sysfs_open(dirfd, path, &flags, NULL, 0);                                                \
                if (r < 0) {                                                                              \
                        errno = -r;                                                                       \
                        return -1;                                                                        \
                }                                                                                         \
                return next(dirfd, path, flags, mode);                                                    \
        }

OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* _FORTIFY_SOURCE forms (no mode argument). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
#define FORTIFY_OPEN(name)                                                                                \
        SHIM_API int name(const char *path, int flags)                                                    \
        {                                                                                                 \
                static int (*next)(const char *, int);                                                    \
                int r;                                                                                    \
                if (!next)                                                                                \
                        next = NEXT(name, int (*)(const char *, int));                                    \
                r = check_sysfs_open(AT_FDCWD, path, &flags, NULL, 0);                                             \
                if (r < 0) {                                                                              \
                        errno = -r;                                                                       \
                        return -1;                                                                        \
                }                                                                                         \
                return next(path, flags);                                                                 \
        }
#define FORTIFY_OPENAT(name)                                                                              \
        SHIM_API int name(int dirfd, const char *path, int flags)                                         \
        {                                                                                                 \
                static int (*next)(int, const char *, int);                                               \
                int r;                                                                                    \
                if (!next)                                                                                \
                        next = NEXT(name, int (*)(int, const char *, int));                               \
                r = check_sysfs_open(dirfd, path, &flags, NULL, 0);                                                \
                if (r < 0) {                                                                              \
                        errno = -r;                                                                       \
                        return -1;                                                                        \
                }                                                                                         \
                return next(dirfd, path, flags);                                                          \
        }
FORTIFY_OPEN(__open_2)
FORTIFY_OPEN(__open64_2)
FORTIFY_OPENAT(__openat_2)
FORTIFY_OPENAT(__openat64_2)

/* stdio: a cookie stream over the real descriptor whose writes go through forward(). */
static ssize_t cookie_read(void *cookie, char *buf, size_t size)
{
        return syscall(SYS_read, (int)(intptr_t)cookie, buf, size);
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t size)
{
        int fd = (int)(intptr_t)cookie;
        bool handled;
        ssize_t r = maybe_forward_fd(fd, buf, size, &handled);

        if (!handled)
                r = syscall(SYS_write, fd, buf, size);
        return r < 0 ? -1 : r;
}

static int cookie_seek(void *cookie, off64_t *pos, int whence)
{
        off_t r = lseek((int)(intptr_t)cookie, *pos, whence);
        if (r < 0)
                return -1;
        *pos = r;
        return 0;
}

static int cookie_close(void *cookie)
{
        return (int)syscall(SYS_close, (int)(intptr_t)cookie);
}

static FILE *sysfs_fopen(const char *path, const char *mode, bool *handled)
{
        static const cookie_io_functions_t io = {cookie_read, cookie_write, cookie_seek, cookie_close};
        char real[PATH_MAX];
        int flags, r;
        long fd;
        FILE *f;

        *handled = false;
        if (!path || !mode || !strpbrk(mode, "wa+"))
                return NULL;
        flags = strchr(mode, '+') ? O_RDWR : (mode[0] == 'r' ? O_RDONLY : O_WRONLY);
        if (mode[0] == 'w' || mode[0] == 'a')
                flags |= O_CREAT | (mode[0] == 'w' ? O_TRUNC : O_APPEND);
        r = check_sysfs_open(AT_FDCWD, path, &flags, real, sizeof(real));
        if (r == 0)
                return NULL;
        *handled = true;
        if (r < 0) {
                errno = -r;
                return NULL;
        }
        fd = syscall(SYS_openat, AT_FDCWD, real, (flags & ~O_CREAT) | O_CLOEXEC, 0);
        if (fd < 0)
                return NULL;
        f = fopencookie((void *)(intptr_t)fd, mode, io);
        if (!f)
                syscall(SYS_close, fd);
        return f;
}

SHIM_API FILE *fopen(const char *path, const char *mode)
{
        static FILE *(*next)(const char *, const char *);
        bool handled;
        FILE *f;

        if (!next)
                next = NEXT(fopen, FILE * (*)(const char *, const char *));
        f = sysfs_fopen(path, mode, &handled);
        return handled ? f : next(path, mode);
}

SHIM_API FILE *fopen64(const char *path, const char *mode)
{
        static FILE *(*next)(const char *, const char *);
        bool handled;
        FILE *f;

        if (!next)
                next = NEXT(fopen64, FILE * (*)(const char *, const char *));
        f = sysfs_fopen(path, mode, &handled);
        return handled ? f : next(path, mode);
}

/* A stdio stream on a sysfs file not opened by our fopen (a redirected stdout): its pending
 * buffer is the store. Returns 1 (handled: 0 or EOF in *ret), or 0 (let stdio do it). */
static int flush_sysfs_stream(FILE *f, int *ret)
{
        struct shim_config c;
        char rel[PATH_MAX];
        ssize_t r;
        int fd, handled = 0;

        if (!f)
                return 0;
        flockfile(f);
        fd = fileno_unlocked(f);
        if (fd >= 0 && f->_IO_write_ptr > f->_IO_write_base && get_config(&c) &&
            fd_sysfs_path(fd, &c, rel, sizeof(rel))) {
                r = forward(&c, rel, f->_IO_write_base, (size_t)(f->_IO_write_ptr - f->_IO_write_base));
                if (r != -2) {
                        int saved = errno;
                        handled = 1;
                        f->_IO_write_ptr = f->_IO_write_base; /* a store is taken or refused whole */
                        if (r < 0)
                                f->_flags |= _IO_ERR_SEEN;
                        *ret = r < 0 ? EOF : 0;
                        errno = saved;
                }
        }
        funlockfile(f);
        return handled;
}

SHIM_API int fflush(FILE *f)
{
        static int (*next)(FILE *);
        int r;

        if (!next)
                next = NEXT(fflush, int (*)(FILE *));
        if (flush_sysfs_stream(f, &r) && r == EOF)
                return EOF;
        return next(f);
}

SHIM_API int fclose(FILE *f)
{
        static int (*next)(FILE *);
        int r = 0, saved;

        if (!next)
                next = NEXT(fclose, int (*)(FILE *));
        if (flush_sysfs_stream(f, &r) && r == EOF) {
                saved = errno;
                next(f);
                errno = saved;
                return EOF;
        }
        return next(f);
}

/* fd 1 or 2 now refers to a sysfs file (a shell redirection): buffer stdout/stderr fully
 * until it does not, so the store reaches fflush whole instead of leaving at the newline. */
static pthread_mutex_t std_lock = PTHREAD_MUTEX_INITIALIZER;
static int std_was_linebuf[3] = {-1, -1, -1};

static void adjust_std_stream(int fd)
{
        FILE *f = fd == 1 ? stdout : fd == 2 ? stderr : NULL;
        struct shim_config c;
        char rel[PATH_MAX];
        bool sys;

        if (!f)
                return;
        sys = get_config(&c) && fd_sysfs_path(fd, &c, rel, sizeof(rel));
        pthread_mutex_lock(&std_lock);
        if (sys && std_was_linebuf[fd] < 0) {
                std_was_linebuf[fd] = (f->_flags & _IO_LINE_BUF) != 0;
                setvbuf(f, NULL, _IOFBF, 0); /* keeps the buffer it has */
        } else if (!sys && std_was_linebuf[fd] >= 0) {
                if (std_was_linebuf[fd])
                        setvbuf(f, NULL, _IOLBF, 0);
                std_was_linebuf[fd] = -1;
        }
        pthread_mutex_unlock(&std_lock);
}

SHIM_API int dup2(int oldfd, int newfd)
{
        static int (*next)(int, int);
        int r;

        if (!next)
                next = NEXT(dup2, int (*)(int, int));
        r = next(oldfd, newfd);
        if (r >= 0 && (newfd == 1 || newfd == 2))
                adjust_std_stream(newfd);
        return r;
}

SHIM_API int dup3(int oldfd, int newfd, int flags)
{
        static int (*next)(int, int, int);
        int r;

        if (!next)
                next = NEXT(dup3, int (*)(int, int, int));
        r = next(oldfd, newfd, flags);
        if (r >= 0 && (newfd == 1 || newfd == 2))
                adjust_std_stream(newfd);
        return r;
}

/* umockdev's preload turns a NETLINK_KOBJECT_UEVENT socket into a unix datagram socket and
 * binds it at <testbed>/event<fd>: the same name in two processes with the same fd number,
 * and the later one takes the other's events. Bind it at <testbed>/event<fd>-<pid> instead
 * (the uevent senders glob event[0-9]*); umockdev still knows the fd as its netlink socket. */
SHIM_API int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
        static int (*next)(int, const struct sockaddr *, socklen_t);
        const char *dir = getenv("UMOCKDEV_DIR");
        int domain = 0;
        socklen_t dl = sizeof(domain);

        if (!next)
                next = NEXT(bind, int (*)(int, const struct sockaddr *, socklen_t));
        if (addr && addr->sa_family == AF_NETLINK && dir && *dir &&
            getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) == 0 && domain == AF_UNIX) {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/event%d-%d", dir, fd, (int)getpid());
                if (n > 0 && (size_t)n < sizeof(sa.sun_path)) {
                        unlink(sa.sun_path); /* left by an earlier process with this pid */
                        return (int)syscall(SYS_bind, fd, &sa, sizeof(sa)); /* not umockdev's bind */
                }
        }
        return next(fd, addr, len);
}
