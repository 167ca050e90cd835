/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sim/sim-client.h"

#ifndef MDP_TOP_BUILDDIR
#define MDP_TOP_BUILDDIR "."
#endif
#define SIM_PROGRAM "tests/sim/mdp-kernel-sim"
#define UMOCKDEV_PRELOAD "libumockdev-preload.so.0"
#define MAX_CHILDREN 64

extern char **environ;

struct harness {
        char *root, *sys, *shim, *bus_dir, *bus_address;
        pid_t sim_pid, bus_pid;
        pid_t children[MAX_CHILDREN];
        int n_children;
        sd_bus *bus;
        bool keep;
};

struct harness_watch {
        struct harness *h;
        sd_bus_slot *slot;
        sd_bus_message **queue;
        unsigned n, cap;
};

static long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Paths handed out by harness_program(), kept (reachable: not a leak for LSan) until exit. */
static struct {
        char *rel, *path;
} programs[64];

const char *harness_program(const char *relpath)
{
        const char *top = getenv("top_builddir");
        size_t i;
        char *p;

        for (i = 0; i < sizeof(programs) / sizeof(programs[0]) && programs[i].rel; i++)
                if (strcmp(programs[i].rel, relpath) == 0)
                        return programs[i].path;
        if (asprintf(&p, "%s/%s", top && *top ? top : MDP_TOP_BUILDDIR, relpath) < 0)
                abort();
        if (i < sizeof(programs) / sizeof(programs[0])) {
                programs[i].rel = strdup(relpath);
                programs[i].path = p;
        }
        return p;
}

void harness_strv_free(char **v)
{
        for (char **i = v; i && *i; i++)
                free(*i);
        free(v);
}

static void strv_push(char ***v, size_t *n, char *s)
{
        *v = realloc(*v, sizeof(char *) * (*n + 2));
        ck_assert_ptr_nonnull(*v);
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}

static bool env_is(const char *entry, const char *name)
{
        size_t l = strlen(name);
        return strncmp(entry, name, l) == 0 && entry[l] == '=';
}

static char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strdup_printf(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(r, 0);
        return s;
}

/* [$ASAN_LIB:]shim:umockdev (TESTING.md §B pitfall 6; the shim before umockdev: sim-shim.c). */
static char *preload_value(const char *shim)
{
        const char *asan = getenv("ASAN_LIB");
        return strdup_printf("%s%s%s:" UMOCKDEV_PRELOAD, asan && *asan ? asan : "", asan && *asan ? ":" : "", shim);
}

char **harness_environ(struct harness *h, char *const extra_env[])
{
        static const char *const drop[] = {"LD_PRELOAD", "UMOCKDEV_DIR", "MDEVPASID_ROOT", "DBUS_SYSTEM_BUS_ADDRESS",
                                           "DBUS_SESSION_BUS_ADDRESS"};
        char **v = NULL;
        size_t n = 0;

        for (char **e = environ; *e; e++) {
                bool skip = false;
                for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
                        skip = skip || env_is(*e, drop[i]);
                for (char *const *x = extra_env; x && *x && !skip; x++) {
                        const char *eq = strchr(*x, '=');
                        skip = eq && strncmp(*e, *x, (size_t)(eq - *x + 1)) == 0;
                }
                if (!skip)
                        strv_push(&v, &n, strdup(*e));
        }
        {
                char *preload = preload_value(h->shim);
                strv_push(&v, &n, strdup_printf("LD_PRELOAD=%s", preload));
                free(preload);
        }
        strv_push(&v, &n, strdup_printf("UMOCKDEV_DIR=%s", h->root));
        strv_push(&v, &n, strdup_printf("MDEVPASID_ROOT=%s", h->root));
        if (h->bus_address)
                strv_push(&v, &n, strdup_printf("DBUS_SYSTEM_BUS_ADDRESS=%s", h->bus_address));
        for (char *const *x = extra_env; x && *x; x++)
                strv_push(&v, &n, strdup(*x));
        return v;
}

/* In a child before exec: die with the test, own nothing of the parent's. */
static void child_setup(pid_t parent, int deathsig)
{
        sigset_t all;

        prctl(PR_SET_PDEATHSIG, deathsig);
        if (getppid() != parent)
                _exit(127); /* the test is already gone */
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
}

static void track(struct harness *h, pid_t pid)
{
        ck_assert_msg(h->n_children < MAX_CHILDREN, "harness: too many spawned programs");
        h->children[h->n_children++] = pid;
}

static void untrack(struct harness *h, pid_t pid)
{
        for (int i = 0; i < h->n_children; i++)
                if (h->children[i] == pid) {
                        h->children[i] = h->children[--h->n_children];
                        return;
                }
}

/* Reaps pid: sig now, SIGKILL after timeout_ms. Returns the wait status or -errno. */
static int stop_pid(pid_t pid, int sig, int timeout_ms)
{
        int status = 0;
        long end = now_ms() + timeout_ms;
        pid_t r;

        if (pid <= 0)
                return -EINVAL;
        if (sig)
                kill(pid, sig);
        for (;;) {
                r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return status;
                if (r < 0)
                        return -errno;
                if (now_ms() >= end) {
                        kill(pid, SIGKILL);
                        if (waitpid(pid, &status, 0) == pid)
                                return status;
                        return -errno;
                }
                usleep(2000);
        }
}

/* Reads "K='v'" lines from the sim until "export"; fills root and shim. */
static void read_sim_env(struct harness *h, int fd)
{
        char buf[8192];
        size_t len = 0;
        long end = now_ms() + 30000;

        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ssize_t n;
                int k = poll(&p, 1, 1000);

                ck_assert_msg(now_ms() < end, "harness: the simulated host did not get ready in 30 s");
                if (k <= 0)
                        continue;
                n = read(fd, buf + len, sizeof(buf) - 1 - len);
                ck_assert_msg(n > 0, "harness: the simulated host exited before it was ready (see its message above)");
                len += (size_t)n;
                buf[len] = '\0';
                if (strstr(buf, "\nexport "))
                        break;
        }
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                char *eq = strchr(line, '='), *v;
                size_t vl;
                if (!eq || eq[1] != '\'')
                        continue;
                v = eq + 2;
                vl = strcspn(v, "'");
                v[vl] = '\0';
                *eq = '\0';
                if (strcmp(line, "UMOCKDEV_DIR") == 0)
                        h->root = strdup(v);
                else if (strcmp(line, "LD_PRELOAD") == 0) {
                        /* the shim is the entry ending in .so that is not umockdev's or ASan's */
                        for (char *tok = strtok(v, ":"); tok; tok = strtok(NULL, ":"))
                                if (strstr(tok, "mdpsimshim"))
                                        h->shim = strdup(tok);
                }
        }
        ck_assert_msg(h->root && h->shim, "harness: the simulated host printed no environment");
}

static void start_sim(struct harness *h, const struct harness_opts *o)
{
        const char *sim = harness_program(SIM_PROGRAM);
        int pipefd[2];
        pid_t parent = getpid(), pid;

        ck_assert_msg(access(sim, X_OK) == 0, "harness: %s is missing (make builds it)", sim);
        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char *argv[12];
                int n = 0;

                child_setup(parent, SIGTERM); /* SIGTERM: the sim then removes its testbed */
                setpgid(0, 0); /* not killed with the test's process group: it must clean up */
                dup2(pipefd[1], 1);
                unsetenv("LD_PRELOAD");
                argv[n++] = (char *)sim;
                argv[n++] = "start";
                argv[n++] = "--die-with-parent";
                if (o->sysfs) {
                        argv[n++] = "--sysfs";
                        argv[n++] = (char *)o->sysfs;
                        if (o->sysfs_move)
                                argv[n++] = "--move";
                } else {
                        argv[n++] = "--fixture";
                        argv[n++] = (char *)(o->fixture ? o->fixture : "x86-6.12-sm");
                }
                if (o->keep)
                        argv[n++] = "--keep";
                argv[n] = NULL;
                execv(sim, argv);
                _exit(127);
        }
        close(pipefd[1]);
        h->sim_pid = pid;
        read_sim_env(h, pipefd[0]);
        close(pipefd[0]);
        h->sys = strdup_printf("%s/sys", h->root);
}

static void start_bus(struct harness *h, const struct harness_opts *o)
{
        const char *daemon = getenv("DBUS_DAEMON");
        char *conf_path, addr[512];
        FILE *f;
        int pipefd[2];
        pid_t parent = getpid(), pid;
        size_t len = 0;
        long end;

        if (!daemon || !*daemon || strcmp(daemon, "no") == 0)
                daemon = "dbus-daemon";
        /* The testbed (mkdtemp, 0700) must be traversable for clients that are not root. */
        chmod(h->root, 0711);
        h->bus_dir = strdup_printf("%s/bus", h->root);
        ck_assert_int_eq(mkdir(h->bus_dir, 0755), 0);
        h->bus_address = strdup_printf("unix:path=%s/system_bus_socket", h->bus_dir);
        conf_path = strdup_printf("%s/bus.conf", h->bus_dir);
        f = fopen(conf_path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
              " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n",
              f);
        if (o->system_policy) {
                fputs("  <include>/usr/share/dbus-1/system.conf</include>\n", f);
        } else {
                fputs("  <type>system</type>\n  <auth>EXTERNAL</auth>\n"
                      "  <policy context=\"default\">\n"
                      "    <allow user=\"*\"/>\n    <allow own=\"*\"/>\n"
                      "    <allow send_type=\"method_call\"/>\n    <allow send_destination=\"*\"/>\n"
                      "    <allow receive_sender=\"*\"/>\n  </policy>\n",
                      f);
        }
        fprintf(f, "  <listen>unix:path=%s/system_bus_socket</listen>\n", h->bus_dir);
        if (o->bus_policy)
                fprintf(f, "  <include>%s</include>\n", o->bus_policy);
        fputs("</busconfig>\n", f);
        fclose(f);

        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char conf_arg[PATH_MAX + 16], fd_arg[32];
                child_setup(parent, SIGTERM);
                unsetenv("LD_PRELOAD"); /* TESTING.md §B pitfall 7 */
                snprintf(conf_arg, sizeof(conf_arg), "--config-file=%s", conf_path);
                snprintf(fd_arg, sizeof(fd_arg), "--print-address=%d", pipefd[1]);
                fcntl(pipefd[1], F_SETFD, 0);
                if (o->system_policy)
                        /* system.conf listens on /run/dbus: override, as TESTING.md §F did */
                        execlp(daemon, daemon, conf_arg, "--nofork", "--nopidfile", fd_arg,
                               (char *)strdup_printf("--address=%s", h->bus_address), (char *)NULL);
                else
                        execlp(daemon, daemon, conf_arg, "--nofork", "--nopidfile", fd_arg, (char *)NULL);
                _exit(127);
        }
        close(pipefd[1]);
        h->bus_pid = pid;
        end = now_ms() + 10000;
        while (!memchr(addr, '\n', len)) {
                struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
                ssize_t n;
                ck_assert_msg(now_ms() < end, "harness: dbus-daemon did not start in 10 s");
                if (poll(&p, 1, 200) <= 0)
                        continue;
                n = read(pipefd[0], addr + len, sizeof(addr) - 1 - len);
                ck_assert_msg(n > 0, "harness: dbus-daemon exited (bad config %s? see its message above)", conf_path);
                len += (size_t)n;
        }
        close(pipefd[0]);
        free(conf_path);
}

/* The harness in use: a test's forked child that _exit()s while it runs still reaches it
 * (valgrind would call it definitely lost in that child). */
static struct harness *harness_current;

struct harness *harness_start(const struct harness_opts *opts)
{
        static const struct harness_opts none = {0};
        const struct harness_opts *o = opts ? opts : &none;
        struct harness *h = calloc(1, sizeof(*h));

        ck_assert_ptr_nonnull(h);
        harness_current = h;
        h->keep = o->keep;
        start_sim(h, o);
        if (!o->no_bus) {
                start_bus(h, o);
                setenv("DBUS_SYSTEM_BUS_ADDRESS", h->bus_address, 1);
        }
        setenv("UMOCKDEV_DIR", h->root, 1);
        setenv("MDEVPASID_ROOT", h->root, 1);
        return h;
}

void harness_stop(struct harness *h)
{
        if (!h)
                return;
        while (h->n_children > 0) {
                pid_t pid = h->children[h->n_children - 1];
                stop_pid(pid, SIGTERM, 5000);
                untrack(h, pid);
        }
        h->bus = sd_bus_flush_close_unref(h->bus);
        if (h->bus_pid > 0)
                stop_pid(h->bus_pid, SIGTERM, 5000);
        if (h->sim_pid > 0)
                stop_pid(h->sim_pid, SIGTERM, 60000); /* it removes the testbed on SIGTERM (slow disks) */
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
        unsetenv("UMOCKDEV_DIR");
        unsetenv("MDEVPASID_ROOT");
        free(h->root);
        free(h->sys);
        free(h->shim);
        free(h->bus_dir);
        free(h->bus_address);
        if (harness_current == h)
                harness_current = NULL;
        free(h);
}

const char *harness_root(const struct harness *h)
{
        return h->root;
}

const char *harness_sys(const struct harness *h)
{
        return h->sys;
}

const char *harness_bus_address(const struct harness *h)
{
        return h->bus_address;
}

pid_t harness_sim_pid(const struct harness *h)
{
        return h->sim_pid;
}

pid_t harness_bus_pid(const struct harness *h)
{
        return h->bus_pid;
}

sd_bus *harness_bus(struct harness *h)
{
        int r;

        ck_assert_msg(h->bus_address, "harness: started with no_bus");
        if (h->bus)
                return h->bus;
        ck_assert_int_eq(sd_bus_new(&h->bus), 0);
        ck_assert_int_ge(sd_bus_set_address(h->bus, h->bus_address), 0);
        ck_assert_int_ge(sd_bus_set_bus_client(h->bus, 1), 0);
        r = sd_bus_start(h->bus);
        ck_assert_msg(r >= 0, "harness: cannot connect to %s: %s", h->bus_address, strerror(-r));
        return h->bus;
}

static pid_t spawn(struct harness *h, char *const argv[], char *const extra_env[], int in_fd, int out_fd, int err_fd)
{
        char **env = harness_environ(h, extra_env);
        pid_t parent = getpid(), pid;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                child_setup(parent, SIGKILL);
                if (in_fd >= 0)
                        dup2(in_fd, 0);
                if (out_fd >= 0)
                        dup2(out_fd, 1);
                if (err_fd >= 0)
                        dup2(err_fd, 2);
                execve(argv[0], argv, env);
                fprintf(stderr, "harness: cannot execute %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        harness_strv_free(env);
        return pid;
}

pid_t harness_spawn(struct harness *h, char *const argv[], char *const extra_env[])
{
        pid_t pid;

        ck_assert_msg(argv && argv[0], "harness_spawn: no program");
        ck_assert_msg(access(argv[0], X_OK) == 0, "harness_spawn: %s is not an executable", argv[0]);
        pid = spawn(h, argv, extra_env, -1, -1, -1);
        track(h, pid);
        return pid;
}

int harness_wait_name(struct harness *h, const char *bus_name, int timeout_ms, pid_t pid)
{
        sd_bus *bus = harness_bus(h);
        long end = now_ms() + timeout_ms;

        for (;;) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                int has = 0, r, status;

                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", &error, &reply, "s", bus_name);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "b", &has);
                sd_bus_message_unref(reply);
                sd_bus_error_free(&error);
                if (r >= 0 && has)
                        return 0;
                if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
                        untrack(h, pid);
                        return -ECHILD;
                }
                if (now_ms() >= end)
                        return -ETIMEDOUT;
                usleep(5000);
        }
}

pid_t harness_spawn_service(struct harness *h, const char *bus_name, int timeout_ms, char *const argv[],
                            char *const extra_env[])
{
        pid_t pid = harness_spawn(h, argv, extra_env);
        int r = harness_wait_name(h, bus_name, timeout_ms, pid);

        ck_assert_msg(r != -ECHILD, "harness: %s exited before it owned %s", argv[0], bus_name);
        ck_assert_msg(r == 0, "harness: %s did not own %s within %d ms", argv[0], bus_name, timeout_ms);
        return pid;
}

int harness_kill(struct harness *h, pid_t pid, int sig, int timeout_ms)
{
        int r = stop_pid(pid, sig, timeout_ms);
        untrack(h, pid);
        return r;
}

int harness_wait_exit(struct harness *h, pid_t pid, int timeout_ms)
{
        long end = now_ms() + timeout_ms;
        int status;

        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid) {
                        untrack(h, pid);
                        return status;
                }
                if (r < 0)
                        return -errno;
                if (now_ms() >= end)
                        return -ETIMEDOUT;
                usleep(2000);
        }
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
        *buf = realloc(*buf, *len + n + 1);
        ck_assert_ptr_nonnull(*buf);
        memcpy(*buf + *len, data, n);
        *len += n;
        (*buf)[*len] = '\0';
}

int harness_run(struct harness *h, char *const argv[], char *const extra_env[], const char *stdin_data,
                int timeout_ms, struct harness_run *ret)
{
        int in[2], out[2], err[2], status = 0;
        size_t in_off = 0, in_len = stdin_data ? strlen(stdin_data) : 0, out_len = 0, err_len = 0;
        long end = now_ms() + timeout_ms;
        pid_t pid;
        bool exited = false;

        memset(ret, 0, sizeof(*ret));
        append(&ret->out, &out_len, "", 0);
        append(&ret->err, &err_len, "", 0);
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
                return -errno;
        pid = spawn(h, argv, extra_env, in[0], out[1], err[1]);
        close(in[0]);
        close(out[1]);
        close(err[1]);
        if (in_len == 0) {
                close(in[1]);
                in[1] = -1;
        } else {
                fcntl(in[1], F_SETFL, O_NONBLOCK);
        }
        while (out[0] >= 0 || err[0] >= 0 || in[1] >= 0) {
                struct pollfd p[3] = {{.fd = out[0], .events = POLLIN},
                                      {.fd = err[0], .events = POLLIN},
                                      {.fd = in[1], .events = POLLOUT}};
                long left = end - now_ms();
                char buf[4096];

                if (left <= 0) {
                        kill(pid, SIGKILL);
                        ret->timed_out = true;
                        break;
                }
                if (poll(p, 3, (int)left) < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        int *fd = i == 0 ? &out[0] : &err[0];
                        if (*fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                                ssize_t n = read(*fd, buf, sizeof(buf));
                                if (n > 0)
                                        append(i == 0 ? &ret->out : &ret->err, i == 0 ? &out_len : &err_len, buf,
                                               (size_t)n);
                                else {
                                        close(*fd);
                                        *fd = -1;
                                }
                        }
                }
                if (in[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
                        ssize_t n = write(in[1], stdin_data + in_off, in_len - in_off);
                        if (n > 0)
                                in_off += (size_t)n;
                        if (n < 0 || in_off == in_len) {
                                close(in[1]);
                                in[1] = -1;
                        }
                }
        }
        for (int i = 0; i < 2; i++)
                if ((i == 0 ? out[0] : err[0]) >= 0)
                        close(i == 0 ? out[0] : err[0]);
        if (in[1] >= 0)
                close(in[1]);
        while (!exited) {
                pid_t r = waitpid(pid, &status, ret->timed_out ? 0 : WNOHANG);
                if (r == pid)
                        exited = true;
                else if (r < 0)
                        return -errno;
                else if (now_ms() >= end) {
                        kill(pid, SIGKILL);
                        ret->timed_out = true;
                } else
                        usleep(1000);
        }
        ret->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

void harness_run_clear(struct harness_run *r)
{
        free(r->out);
        free(r->err);
        r->out = r->err = NULL;
}

int harness_sim(struct harness *h, char **ret_output, const char *fmt, ...)
{
        char *line;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&line, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(r, 0);
        r = sim_client_callf(h->root, 60000, ret_output, "%s", line);
        free(line);
        return r;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct harness_watch *w = userdata;

        if (w->n == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 8;
                w->queue = realloc(w->queue, w->cap * sizeof(*w->queue));
                ck_assert_ptr_nonnull(w->queue);
        }
        w->queue[w->n++] = sd_bus_message_ref(m);
        return 0;
}

struct harness_watch *harness_watch_signal(struct harness *h, const char *sender, const char *path,
                                           const char *interface, const char *member)
{
        struct harness_watch *w = calloc(1, sizeof(*w));
        int r;

        ck_assert_ptr_nonnull(w);
        w->h = h;
        r = sd_bus_match_signal(harness_bus(h), &w->slot, sender, path, interface, member, on_signal, w);
        ck_assert_msg(r >= 0, "harness: cannot add a signal match: %s", strerror(-r));
        return w;
}

int harness_wait_signal(struct harness_watch *w, int timeout_ms, sd_bus_message **ret)
{
        sd_bus *bus = harness_bus(w->h);
        long end = now_ms() + timeout_ms;

        for (;;) {
                long left;
                int r;

                if (w->n > 0) {
                        sd_bus_message *m = w->queue[0];
                        memmove(w->queue, w->queue + 1, (w->n - 1) * sizeof(*w->queue));
                        w->n--;
                        if (ret)
                                *ret = m;
                        else
                                sd_bus_message_unref(m);
                        return 0;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                left = end - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, (uint64_t)left * 1000);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

unsigned harness_watch_pending(struct harness_watch *w)
{
        return w->n;
}

void harness_watch_free(struct harness_watch *w)
{
        if (!w)
                return;
        sd_bus_slot_unref(w->slot);
        for (unsigned i = 0; i < w->n; i++)
                sd_bus_message_unref(w->queue[i]);
        free(w->queue);
        free(w);
}

void harness_preload_self(int argc, char **argv)
{
        const char *cur = getenv("LD_PRELOAD");
        const char *shim = harness_program("tests/sim/.libs/libmdpsimshim.so");
        const char *asan = getenv("ASAN_LIB");
        char *v;

        (void)argc;
        if (cur && strstr(cur, "mdpsimshim"))
                return;
        /* outside a test: no ck_assert here (Check refuses them before srunner_run) */
        if (access(shim, R_OK) < 0) {
                fprintf(stderr, "harness: %s is missing (make builds it)\n", shim);
                exit(1);
        }
        if (asprintf(&v, "%s%s%s:" UMOCKDEV_PRELOAD, asan && *asan ? asan : "", asan && *asan ? ":" : "", shim) < 0)
                abort();
        setenv("LD_PRELOAD", v, 1);
        {
                /* The path, not /proc/self/exe: under valgrind that is valgrind's own tool
                 * (readlink() is answered with the program's path). */
                char self[PATH_MAX];
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                self[n > 0 ? n : 0] = '\0';
                execv(n > 0 ? self : "/proc/self/exe", argv);
        }
        fprintf(stderr, "harness: cannot re-execute %s: %s\n", argv[0], strerror(errno));
        exit(1);
}
