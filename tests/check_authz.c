/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may call mdevpasidd (issue 5 "Authorization", issue 10 "Attack surface"), against the
 * real daemon over the simulated host (tests/harness.h) on a private bus built from the
 * system's /usr/share/dbus-1/system.conf plus the REAL conf/org.mdevpasid1.conf.
 *
 * What is faked: the kernel (mdp-kernel-sim), and polkit: tests/authz-polkit-stub owns
 * org.freedesktop.PolicyKit1 and says yes/no per action from its environment. The
 * unprivileged caller is a forked child of this (root) test that drops to nobody/nogroup
 * with no supplementary groups before it connects, so the bus sees uid 65534. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "harness.h"
#include "manager.h"
#include "mdp-names.h"
#include "test-help.h"
#include "vms.h"

#define FIXTURE     "x86-6.12-sm"
#define PARENT      "mtty"
#define TYPE        "mtty-1"
#define UUID_A      "6f1b0b8e-0d5e-4b8a-9d7e-1a2b3c4d5e01"
#define UUID_B      "6f1b0b8e-0d5e-4b8a-9d7e-1a2b3c4d5e02"
#define UUID_C      "6f1b0b8e-0d5e-4b8a-9d7e-1a2b3c4d5e03"
#define POLKIT      "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"

struct env {
        struct harness *h;
        char *dir;
        pid_t daemon, polkit;
};

/* polkit_env: NULL = no polkit on the bus; else "K=V" strings for the stub. */
static void env_start(struct env *e, char *const polkit_env[])
{
        char *policy;
        FILE *f;

        e->dir = test_mkdtemp("authz");
        ck_assert_int_ge(asprintf(&policy, "%s/policy.conf", e->dir), 0);
        f = fopen(policy, "we");
        ck_assert_ptr_nonnull(f);
        /* The shipped policy as it is, plus the stub's right to pose as polkitd (which
         * system.d's own file gives to the polkitd user only). */
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig>\n  <include>%s/conf/org.mdevpasid1.conf</include>\n"
                "  <policy user=\"root\"><allow own=\"" POLKIT "\"/></policy>\n</busconfig>\n",
                test_srcdir());
        fclose(f);
        e->h = harness_start(
                &(struct harness_opts){.fixture = FIXTURE, .system_policy = true, .bus_policy = policy});
        free(policy);
        if (polkit_env)
                e->polkit = harness_spawn_service(
                        e->h, POLKIT, 10000,
                        HARNESS_ARGV((char *)harness_program("tests/authz-polkit-stub")), polkit_env);
        e->daemon = harness_spawn_service(e->h, MDP_BUS_NAME, 20000,
                                          HARNESS_ARGV((char *)harness_program("daemon/mdevpasidd")), NULL);
}

static void env_stop(struct env *e)
{
        harness_stop(e->h);
        test_rm_rf(e->dir);
        free(e->dir);
}

/* ---- calls ---- */

/* Calls a Manager method as this process (root); returns 0 or the error name (static). */
static const char *root_call(struct env *e, const char *member, const char *types, ...)
{
        static char name[256];
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(harness_bus(e->h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, member,
                                &err, &reply, types, ap);
        va_end(ap);
        sd_bus_message_unref(reply);
        if (r >= 0)
                return NULL;
        snprintf(name, sizeof(name), "%s", err.name ? err.name : "?");
        fprintf(stderr, "check_authz: root %s: %s: %s\n", member, name, err.message ? err.message : "");
        sd_bus_error_free(&err);
        return name;
}

/* In the unprivileged child: one call, one line on out: "MEMBER OK" or
 * "MEMBER ERROR-NAME message". */
static void child_call(sd_bus *bus, FILE *out, const char *path, const char *iface, const char *member,
                       const char *types, ...)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(bus, MDP_BUS_NAME, path, iface, member, &err, &reply, types, ap);
        va_end(ap);
        if (r >= 0)
                fprintf(out, "%s OK\n", member);
        else
                fprintf(out, "%s %s %s\n", member, strna(err.name), strna(err.message));
        fflush(out);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&err);
}

typedef void (*child_fn)(sd_bus *bus, FILE *out);

/* Runs fn in a child that is nobody:nogroup with no groups, on its own connection to the
 * private bus. Returns its output once it exited (malloc'd); *ret_pid when nowait. */
static int spawn_nobody(child_fn fn, int *ret_fd)
{
        struct passwd *pw = getpwnam("nobody");
        int p[2];
        pid_t pid;

        ck_assert_ptr_nonnull(pw);
        ck_assert_int_eq(pipe(p), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                sd_bus *bus = NULL;
                FILE *out;

                close(p[0]);
                out = fdopen(p[1], "w");
                if (!out || setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
                    getuid() == 0) {
                        fprintf(out ? out : stderr, "SETUP cannot drop to nobody: %s\n", strerror(errno));
                        _exit(1);
                }
                if (sd_bus_open_system(&bus) < 0) {
                        fprintf(out, "SETUP cannot connect to the private bus as nobody\n");
                        _exit(1);
                }
                fn(bus, out);
                fclose(out);
                sd_bus_flush_close_unref(bus);
                _exit(0);
        }
        close(p[1]);
        *ret_fd = p[0];
        return pid;
}

static char *collect(pid_t pid, int fd)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        char chunk[4096];
        ssize_t n;
        int status;

        ck_assert_ptr_nonnull(mem);
        while ((n = read(fd, chunk, sizeof(chunk))) > 0)
                fwrite(chunk, 1, (size_t)n, mem);
        close(fd);
        fclose(mem);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        fprintf(stderr, "check_authz: nobody's calls:\n%s", buf);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the unprivileged caller failed: %s",
                      buf);
        return buf;
}

static char *as_nobody(child_fn fn)
{
        int fd;
        pid_t pid = spawn_nobody(fn, &fd);
        return collect(pid, fd);
}

/* The line of out for member ("" if none). */
static char *line_of(const char *out, const char *member)
{
        static char line[2048];
        size_t ml = strlen(member);

        for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, member, ml) == 0 && p[ml] == ' ') {
                        size_t n = strcspn(p, "\n");
                        snprintf(line, sizeof(line), "%.*s", (int)n, p);
                        return line;
                }
        line[0] = '\0';
        return line;
}

static void assert_ok(const char *out, const char *member)
{
        char *l = line_of(out, member);
        ck_assert_msg(strstr(l, " OK") != NULL, "%s should succeed for nobody: \"%s\"", member, l);
}

static void assert_denied(const char *out, const char *member, const char *action, const char *why)
{
        char *l = line_of(out, member);
        ck_assert_msg(strstr(l, MDP_ERROR_NOT_AUTHORIZED) && strstr(l, action) && strstr(l, why),
                      "%s should be NotAuthorized naming %s and \"%s\": \"%s\"", member, action, why, l);
}

/* ---- what nobody tries ---- */

static void nobody_reads(sd_bus *bus, FILE *out)
{
        char *dev = NULL, *par = NULL;

        sd_bus_path_encode(MDP_OBJECT_DEVICES, UUID_A, &dev);
        sd_bus_path_encode(MDP_OBJECT_PARENTS, PARENT, &par);
        child_call(bus, out, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "ListParents", "");
        child_call(bus, out, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "ListTypes", "s", PARENT);
        child_call(bus, out, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "ListDevices", "b", 1);
        child_call(bus, out, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Describe", "");
        child_call(bus, out, MDP_OBJECT_ROOT, "org.freedesktop.DBus.Properties", "GetAll", "s",
                   MDP_IFACE_MANAGER);
        child_call(bus, out, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", "");
        child_call(bus, out, MDP_OBJECT_ROOT, "org.freedesktop.DBus.Introspectable", "Introspect", "");
        /* the objects' properties, by distinct member names */
        fprintf(out, "--\n");
        {
                sd_bus_error err = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                int r = sd_bus_call_method(bus, MDP_BUS_NAME, dev, "org.freedesktop.DBus.Properties",
                                           "GetAll", &err, &reply, "s", MDP_IFACE_DEVICE);
                fprintf(out, "DeviceGetAll %s\n", r >= 0 ? "OK" : strna(err.name));
                sd_bus_message_unref(reply);
                sd_bus_error_free(&err);
                r = sd_bus_call_method(bus, MDP_BUS_NAME, par, "org.freedesktop.DBus.Properties", "GetAll",
                                       &err, &reply, "s", MDP_IFACE_PARENT);
                fprintf(out, "ParentGetAll %s\n", r >= 0 ? "OK" : strna(err.name));
                sd_bus_message_unref(reply);
                sd_bus_error_free(&err);
        }
        free(dev);
        free(par);
}

static void nobody_writes(sd_bus *bus, FILE *out)
{
        const char *m = MDP_OBJECT_ROOT, *i = MDP_IFACE_MANAGER;

        child_call(bus, out, m, i, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_C, 0, 0, 0);
        child_call(bus, out, m, i, "Undefine", "ss", UUID_A, "");
        child_call(bus, out, m, i, "Modify", "ssa{sv}", UUID_A, "", 1, "Start", "s", "auto");
        child_call(bus, out, m, i, "Start", "ss", UUID_A, "");
        child_call(bus, out, m, i, "Stop", "s", UUID_B);
        child_call(bus, out, m, i, "Create", "sssa(ss)a{sv}", PARENT, TYPE, UUID_C, 0, 0);
        child_call(bus, out, m, i, "Remove", "s", UUID_B);
        child_call(bus, out, m, i, "Reload", "");
        /* a method nobody put in the table: refused whoever calls (see test_unknown_method) */
        child_call(bus, out, m, i, "Bogus", "");
}

static const char *const mutating[] = {"Define", "Undefine", "Modify", "Start", "Stop", "Create", "Remove"};

/* Root defines A (not running) and starts B, so every mutating call has a real target. */
static void root_setup_devices(struct env *e)
{
        ck_assert_ptr_null(root_call(e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_A, 0, 0, 0));
        ck_assert_ptr_null(root_call(e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_B, 0, 0, 0));
        ck_assert_ptr_null(root_call(e, "Start", "ss", UUID_B, ""));
}

/* Nothing nobody tried changed the host: A still defined and inactive, B running, C absent. */
static void assert_devices_unchanged(struct env *e)
{
        char *l;

        ck_assert(test_exists(harness_root(e->h), "etc/mdevctl.d/" PARENT "/" UUID_A));
        ck_assert(test_exists(harness_root(e->h), "etc/mdevctl.d/" PARENT "/" UUID_B));
        ck_assert(!test_exists(harness_root(e->h), "etc/mdevctl.d/" PARENT "/" UUID_C));
        ck_assert(test_exists(harness_sys(e->h), "bus/mdev/devices/" UUID_B));
        ck_assert(!test_exists(harness_sys(e->h), "bus/mdev/devices/" UUID_A));
        ck_assert(!test_exists(harness_sys(e->h), "bus/mdev/devices/" UUID_C));
        l = test_read(harness_root(e->h), "etc/mdevctl.d/" PARENT "/" UUID_A);
        ck_assert_msg(l && strstr(l, "\"manual\""), "A's definition changed: %s", l);
        free(l);
}

/* No polkit on the bus: nobody reads everything, changes nothing; root still can. */
START_TEST(test_nobody_without_polkit)
{
        struct env e = {0};
        char *out;

        env_start(&e, NULL);
        root_setup_devices(&e);
        out = as_nobody(nobody_reads);
        for (const char *const *m =
                     (const char *const[]){"ListParents", "ListTypes", "ListDevices", "Describe", "GetAll",
                                           "GetManagedObjects", "Introspect", "DeviceGetAll", "ParentGetAll",
                                           NULL};
             *m; m++)
                assert_ok(out, *m);
        free(out);
        out = as_nobody(nobody_writes);
        for (size_t k = 0; k < sizeof(mutating) / sizeof(*mutating); k++)
                assert_denied(out, mutating[k], MDP_ACTION_MANAGE_DEVICES,
                              "polkit (" POLKIT ") is not running");
        assert_denied(out, "Reload", MDP_ACTION_RELOAD, "not running");
        assert_denied(out, "Bogus", "", "not in mdevpasidd's authorization table");
        free(out);
        assert_devices_unchanged(&e);
        /* root short-circuits: no polkit needed */
        ck_assert_ptr_null(root_call(&e, "Stop", "s", UUID_B));
        ck_assert_ptr_null(root_call(&e, "Reload", ""));
        env_stop(&e);
}
END_TEST

static void nobody_define_c(sd_bus *bus, FILE *out)
{
        fprintf(out, "NAME %s\n", ({
                        const char *u = NULL;
                        sd_bus_get_unique_name(bus, &u);
                        u ? u : "?";
                }));
        child_call(bus, out, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Define", "sssba(ss)a{sv}", PARENT, TYPE,
                   UUID_C, 0, 0, 0);
        child_call(bus, out, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Start", "ss", UUID_C, "");
        child_call(bus, out, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Reload", "");
}

/* The stub's query log (malloc'd, one line per query) and counters. */
static char *polkit_queries(struct env *e, unsigned *ret_asked, unsigned *ret_held)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char *buf = NULL, **lines = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        uint32_t asked, held;

        ck_assert_int_ge(sd_bus_call_method(harness_bus(e->h), POLKIT, POLKIT_PATH,
                                            "org.mdevpasid1.Test.Polkit", "Queries", &err, &reply, ""),
                         0);
        ck_assert_int_ge(sd_bus_message_read(reply, "uu", &asked, &held), 0);
        ck_assert_int_ge(sd_bus_message_read_strv(reply, &lines), 0);
        for (char **l = lines; l && *l; l++) {
                fprintf(f, "%s\n", *l);
                free(*l);
        }
        free(lines);
        fclose(f);
        sd_bus_message_unref(reply);
        if (ret_asked)
                *ret_asked = asked;
        if (ret_held)
                *ret_held = held;
        return buf;
}

/* polkit says yes to manage-devices, no to reload: each call goes its own way, and the
 * daemon asked about the caller's unique bus name. */
START_TEST(test_polkit_yes_and_no)
{
        struct env e = {0};
        char *out, *log, name[128] = "", expect[256];
        unsigned asked;

        env_start(&e, HARNESS_ARGV("MDP_STUB_POLKIT_ALLOW=" MDP_ACTION_MANAGE_DEVICES));
        /* root never asks polkit */
        ck_assert_ptr_null(root_call(&e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_A, 0, 0, 0));
        free(polkit_queries(&e, &asked, NULL));
        ck_assert_uint_eq(asked, 0);

        out = as_nobody(nobody_define_c);
        assert_ok(out, "Define");
        assert_ok(out, "Start");
        assert_denied(out, "Reload", MDP_ACTION_RELOAD, "polkit does not grant it");
        ck_assert(test_exists(harness_root(e.h), "etc/mdevctl.d/" PARENT "/" UUID_C));
        ck_assert(test_exists(harness_sys(e.h), "bus/mdev/devices/" UUID_C));
        sscanf(line_of(out, "NAME"), "NAME %127s", name);
        log = polkit_queries(&e, &asked, NULL);
        fprintf(stderr, "check_authz: polkit was asked:\n%s", log);
        ck_assert_uint_eq(asked, 3);
        snprintf(expect, sizeof(expect), MDP_ACTION_MANAGE_DEVICES " system-bus-name:%s 0\n", name);
        ck_assert_msg(strstr(log, expect), "polkit was not asked about the caller %s: %s", name, log);
        snprintf(expect, sizeof(expect), MDP_ACTION_RELOAD " system-bus-name:%s 0\n", name);
        ck_assert_msg(strstr(log, expect), "polkit was not asked about Reload: %s", log);
        free(log);
        free(out);
        env_stop(&e);
}
END_TEST

/* polkit says no to everything (or asks for a password nobody can type): denied. */
START_TEST(test_polkit_no)
{
        struct env e = {0};
        char *out;

        env_start(&e, HARNESS_ARGV("MDP_STUB_POLKIT_ALLOW=org.mdevpasid1.some-other-action",
                                   "MDP_STUB_POLKIT_CHALLENGE=" MDP_ACTION_RELOAD));
        root_setup_devices(&e);
        out = as_nobody(nobody_writes);
        for (size_t k = 0; k < sizeof(mutating) / sizeof(*mutating); k++)
                assert_denied(out, mutating[k], MDP_ACTION_MANAGE_DEVICES, "polkit does not grant it");
        assert_denied(out, "Reload", MDP_ACTION_RELOAD, "authenticate");
        free(out);
        assert_devices_unchanged(&e);
        env_stop(&e);
}
END_TEST

/* polkit was there and went away: denied again, and the daemon is fine. */
START_TEST(test_polkit_gone)
{
        struct env e = {0};
        char *out;

        env_start(&e, HARNESS_ARGV("MDP_STUB_POLKIT_ALLOW=*"));
        out = as_nobody(nobody_define_c);
        assert_ok(out, "Define");
        free(out);
        harness_kill(e.h, e.polkit, SIGTERM, 5000);
        ck_assert_ptr_null(root_call(&e, "Undefine", "ss", UUID_C, ""));
        out = as_nobody(nobody_define_c);
        assert_denied(out, "Define", MDP_ACTION_MANAGE_DEVICES, "not running");
        free(out);
        ck_assert(!test_exists(harness_root(e.h), "etc/mdevctl.d/" PARENT "/" UUID_C));
        ck_assert_ptr_null(root_call(&e, "ListParents", ""));
        env_stop(&e);
}
END_TEST

static void nobody_define_only(sd_bus *bus, FILE *out)
{
        child_call(bus, out, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Define", "sssba(ss)a{sv}", PARENT, TYPE,
                   UUID_C, 0, 0, 0);
}

/* A polkit that does not answer yet does not hold anyone else up: while nobody's Define
 * waits for it, other callers are served (no timing: the stub holds the answer until it
 * is told to release it). */
START_TEST(test_polkit_slow)
{
        struct env e = {0};
        unsigned held = 0;
        char *out;
        pid_t pid;
        int fd;

        env_start(&e, HARNESS_ARGV("MDP_STUB_POLKIT_ALLOW=*",
                                   "MDP_STUB_POLKIT_HOLD=" MDP_ACTION_MANAGE_DEVICES));
        pid = spawn_nobody(nobody_define_only, &fd);
        while (held == 0) {
                free(polkit_queries(&e, NULL, &held));
                ck_assert_int_eq(waitpid(pid, &(int){0}, WNOHANG), 0); /* still waiting for its answer */
                usleep(10000);
        }
        /* the daemon's loop is free: reads, and root's own changes, go through */
        ck_assert_ptr_null(root_call(&e, "ListParents", ""));
        ck_assert_ptr_null(root_call(&e, "Describe", ""));
        ck_assert_ptr_null(root_call(&e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_A, 0, 0, 0));
        ck_assert_ptr_null(root_call(&e, "Start", "ss", UUID_A, ""));
        ck_assert(!test_exists(harness_root(e.h), "etc/mdevctl.d/" PARENT "/" UUID_C));
        ck_assert_int_eq(waitpid(pid, &(int){0}, WNOHANG), 0);
        ck_assert_int_ge(sd_bus_call_method(harness_bus(e.h), POLKIT, POLKIT_PATH,
                                            "org.mdevpasid1.Test.Polkit", "Release", NULL, NULL, ""),
                         0);
        out = collect(pid, fd);
        assert_ok(out, "Define");
        free(out);
        ck_assert(test_exists(harness_root(e.h), "etc/mdevctl.d/" PARENT "/" UUID_C));
        env_stop(&e);
}
END_TEST

/* nobody sends FLOOD Defines at once and prints one line per answer. */
#define FLOOD 20
struct flood {
        FILE *out;
        unsigned answered;
};

static int on_flood_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct flood *f = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        fprintf(f->out, "Define %s %s\n", e ? strna(e->name) : "OK", e ? strna(e->message) : "");
        fflush(f->out);
        f->answered++;
        return 0;
}

static void nobody_floods(sd_bus *bus, FILE *out)
{
        struct flood f = {.out = out};

        for (int i = 0; i < FLOOD; i++) {
                char uuid[64];

                snprintf(uuid, sizeof(uuid), "6f1b0b8e-0d5e-4b8a-9d7e-1a2b3c4d5e%02d", 20 + i);
                ck_assert_int_ge(sd_bus_call_method_async(bus, NULL, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                          MDP_IFACE_MANAGER, "Define", on_flood_reply, &f,
                                                          "sssba(ss)a{sv}", PARENT, TYPE, uuid, 0, 0, 0),
                                 0);
        }
        while (f.answered < FLOOD) {
                if (sd_bus_process(bus, NULL) > 0)
                        continue;
                sd_bus_wait(bus, UINT64_MAX);
        }
}

static unsigned count_lines(const char *out, const char *what)
{
        unsigned n = 0;

        for (const char *p = out; (p = strstr(p, what)); p++)
                n++;
        return n;
}

/* One user's flood of calls waiting for polkit is bounded: past 16 waiting checks its calls
 * are refused at once (LimitsExceeded, saying why and what to do) instead of using up the
 * replies dbus-daemon lets the daemon wait for; the 16 are answered when polkit is. */
START_TEST(test_polkit_pending_cap)
{
        struct env e = {0};
        unsigned held = 0;
        char *out;
        pid_t pid;
        int fd;

        env_start(&e, HARNESS_ARGV("MDP_STUB_POLKIT_ALLOW=*",
                                   "MDP_STUB_POLKIT_HOLD=" MDP_ACTION_MANAGE_DEVICES));
        pid = spawn_nobody(nobody_floods, &fd);
        while (held < 16) {
                free(polkit_queries(&e, NULL, &held));
                usleep(10000);
        }
        /* the cap holds: nothing more reaches polkit, and root is not held up */
        usleep(200 * 1000);
        free(polkit_queries(&e, NULL, &held));
        ck_assert_uint_eq(held, 16);
        ck_assert_ptr_null(root_call(&e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_A, 0, 0, 0));
        ck_assert_int_ge(sd_bus_call_method(harness_bus(e.h), POLKIT, POLKIT_PATH,
                                            "org.mdevpasid1.Test.Polkit", "Release", NULL, NULL, ""),
                         0);
        out = collect(pid, fd);
        ck_assert_uint_eq(count_lines(out, "Define OK"), 16);
        ck_assert_uint_eq(count_lines(out, "Define " SD_BUS_ERROR_LIMITS_EXCEEDED " Too many calls are waiting"),
                          FLOOD - 16);
        ck_assert_msg(strstr(out, "16 of this user's") && strstr(out, "then call again"), "%s", out);
        free(out);
        env_stop(&e);
}
END_TEST

/* ---- attack surface (issue 10): hostile strings through every string argument ---- */

/* The testbed's fingerprint (path, mode, size, mtime, content hash of every entry) without
 * what the harness itself owns: the bus socket directory and the sim's control files. */
static char *testbed_fingerprint(struct env *e)
{
        char *all = test_tree_fingerprint(harness_root(e->h)), *out = malloc(strlen(all) + 1), *w = out;

        ck_assert_ptr_nonnull(out);
        for (char *l = all, *nl; l && *l; l = nl) {
                nl = strchr(l, '\n');
                nl = nl ? nl + 1 : NULL;
                if (strncmp(l, "/bus/", 5) == 0 || strncmp(l, "/bus ", 5) == 0 ||
                    strncmp(l, "/sim/", 5) == 0 || strncmp(l, "/sim ", 5) == 0)
                        continue;
                size_t n = nl ? (size_t)(nl - l) : strlen(l);
                memcpy(w, l, n);
                w += n;
        }
        *w = '\0';
        free(all);
        return out;
}

/* Lines of a that are not in b (both sorted), for the failure message. */
static char *lines_not_in(const char *a, const char *b)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        for (const char *l = a, *nl; l && *l; l = nl) {
                nl = strchr(l, '\n');
                size_t n = nl ? (size_t)(nl - l) : strlen(l);
                char *needle;
                nl = nl ? nl + 1 : NULL;
                ck_assert_int_ge(asprintf(&needle, "\n%.*s\n", (int)n, l), 0);
                if (!strstr(b, needle + 1) || (strncmp(b, needle + 1, n + 1) != 0 && !strstr(b, needle)))
                        fprintf(f, "  %.*s\n", (int)n, l);
                free(needle);
        }
        fclose(f);
        return buf;
}

static unsigned n_refused;
static const char *cur_x; /* the hostile string being tried, for messages */

/* A hostile call whose string may be a legal name elsewhere (a VM name is libvirt's: only
 * "/" and control characters are refused; it never becomes a path): it must fail, with
 * any error, and the testbed comparison does the rest. */
static void failed(struct env *e, const char *member, const char *types, ...)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(harness_bus(e->h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, member,
                                &err, &reply, types, ap);
        va_end(ap);
        ck_assert_msg(r < 0, "a hostile %s succeeded (string \"%.60s\")", member, strna(cur_x));
        ck_assert_msg(err.name && !strstr(err.name, "NoReply") && !strstr(err.name, "Disconnected"),
                      "hostile %s: %s (the daemon died?)", member, strna(err.name));
        n_refused++;
        sd_bus_message_unref(reply);
        sd_bus_error_free(&err);
}

/* One hostile call as root (authorized: only validation stands in the way). It must fail;
 * the error is logged. */
static void refused(struct env *e, const char *member, const char *types, ...)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(harness_bus(e->h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, member,
                                &err, &reply, types, ap);
        va_end(ap);
        ck_assert_msg(r < 0, "a hostile %s succeeded (call #%u, string \"%.60s\")", member, n_refused + 1,
                      strna(cur_x));
        /* refused as a bad argument, by validation, not later by a lookup that read a path */
        ck_assert_msg(err.name && strcmp(err.name, MDP_ERROR_INVALID_ARGS) == 0,
                      "hostile %s (call #%u, string \"%.60s\"): %s: %s", member, n_refused + 1, strna(cur_x),
                      strna(err.name), strna(err.message));
        n_refused++;
        sd_bus_message_unref(reply);
        sd_bus_error_free(&err);
}

START_TEST(test_hostile_arguments_touch_nothing)
{
        static char long300[301], long5000[5001];
        const char *bad[] = {
                ".",
                "..",
                "../",
                "/",
                "../../../../etc/passwd",
                "mtty/../mtty",
                "mtty/",
                "/sys/class",
                "a\nb",
                "mtty\n",
                "*",
                "mtty*",
                "?",
                "[m]tty",
                "$(touch /tmp/pwned)",
                "`id`",
                "mtty;id",
                " mtty",
                "%s%s%n",
                "\t",
                "\x01\x7f",
                "-",
                "~",
                long300,
                long5000,
                "mtty-1/../../mtty-1",
                "..\n/..",
                "\\..\\..",
        };
        const char *bad_attr_names[] = {"remove",        "uevent",    "driver_override",
                                        "driver/unbind", "../create", "mdev_type/create",
                                        "iommu_group",   "subsystem", "power/control"};
        struct env e = {0};
        char *before, *after, *writes = NULL, *gone, *added;

        memset(long300, 'a', 300);
        memset(long5000, 'b', 5000);
        env_start(&e, NULL);
        root_setup_devices(&e); /* A defined, B running: real targets for the UUID-taking calls */
        ck_assert_int_eq(harness_sim(e.h, NULL, "writes clear"), 0);
        before = testbed_fingerprint(&e);
        n_refused = 0;
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                const char *x = cur_x = bad[i];
                refused(&e, "ListTypes", "s", x);
                refused(&e, "Define", "sssba(ss)a{sv}", x, TYPE, UUID_C, 0, 0, 0);
                refused(&e, "Define", "sssba(ss)a{sv}", PARENT, x, UUID_C, 0, 0, 0);
                refused(&e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, x, 0, 0, 0);
                refused(&e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_C, 0, 1, x, "1", 0);
                refused(&e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_C, 0, 0, 1, x, "s", "1");
                refused(&e, "Undefine", "ss", x, "");
                refused(&e, "Undefine", "ss", UUID_A, x);
                refused(&e, "Modify", "ssa{sv}", x, "", 1, "Start", "s", "auto");
                refused(&e, "Modify", "ssa{sv}", UUID_A, x, 1, "Start", "s", "auto");
                refused(&e, "Modify", "ssa{sv}", UUID_A, "", 1, "Type", "s", x);
                refused(&e, "Modify", "ssa{sv}", UUID_A, "", 1, "Attrs", "a(ss)", 1, x, "1");
                refused(&e, "Modify", "ssa{sv}", UUID_A, "", 1, "AddAttr", "(ssi)", x, "1", -1);
                refused(&e, "Modify", "ssa{sv}", UUID_A, "", 1, x, "s", "1");
                refused(&e, "Start", "ss", x, "");
                refused(&e, "Start", "ss", UUID_A, x);
                refused(&e, "Stop", "s", x);
                refused(&e, "Remove", "s", x);
                refused(&e, "Create", "sssa(ss)a{sv}", x, TYPE, UUID_C, 0, 0);
                refused(&e, "Create", "sssa(ss)a{sv}", PARENT, x, UUID_C, 0, 0);
                refused(&e, "Create", "sssa(ss)a{sv}", PARENT, TYPE, x, 0, 0);
                refused(&e, "Create", "sssa(ss)a{sv}", PARENT, TYPE, UUID_C, 1, x, "1", 0);
                /* VM methods: a VM with that name has no units, or the name is refused */
                failed(&e, "PlanVm", "sa{sv}", x, 0);
                failed(&e, "AttachVm", "sa{sv}", x, 0);
                failed(&e, "DetachVm", "s", x);
                failed(&e, "AllocatePasids", "ssu", x, UUID_B, 1);
                refused(&e, "AllocatePasids", "ssu", "vm1", x, 1);
                failed(&e, "FreePasids", "sau", x, 1, 1);
        }
        /* names that are valid file names but not device settings: the kernel's own files */
        for (size_t i = 0; i < sizeof(bad_attr_names) / sizeof(*bad_attr_names); i++) {
                cur_x = bad_attr_names[i];
                refused(&e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_C, 0, 1, bad_attr_names[i], "1",
                        0);
                refused(&e, "Create", "sssa(ss)a{sv}", PARENT, TYPE, UUID_C, 1, bad_attr_names[i], "1", 0);
                refused(&e, "Modify", "ssa{sv}", UUID_A, "", 1, "AddAttr", "(ssi)", bad_attr_names[i], "1",
                        -1);
        }
        /* a value longer than any sysfs attribute takes */
        refused(&e, "Define", "sssba(ss)a{sv}", PARENT, TYPE, UUID_C, 0, 1, "ok", long5000, 0);
        refused(&e, "Create", "sssa(ss)a{sv}", PARENT, TYPE, UUID_C, 1, "ok", long5000, 0);
        fprintf(stderr, "check_authz: %u hostile calls refused\n", n_refused);

        after = testbed_fingerprint(&e);
        gone = lines_not_in(before, after);
        added = lines_not_in(after, before);
        ck_assert_msg(strcmp(before, after) == 0,
                      "hostile calls changed the testbed:\nbefore only:\n%s\nafter only:\n%s", gone, added);
        ck_assert_int_eq(harness_sim(e.h, &writes, "writes"), 0);
        ck_assert_msg(!writes || strspn(writes, " \n") == strlen(writes), "hostile calls wrote sysfs:\n%s",
                      writes);
        free(writes);
        writes = NULL;
        /* the daemon is alive and still works */
        ck_assert_ptr_null(root_call(&e, "Start", "ss", UUID_A, ""));
        ck_assert_int_eq(harness_sim(e.h, &writes, "writes"), 0);
        fprintf(stderr, "check_authz: the sim saw, for a good Start:\n%s\n", writes);
        ck_assert_msg(writes && strstr(writes, "mdev_supported_types/" TYPE "/create"), "writes: %s",
                      writes);
        free(writes);
        free(gone);
        free(added);
        free(before);
        free(after);
        env_stop(&e);
}
END_TEST

/* ---- every mutating method of the vtable, whatever it is (AttachVm, AllocatePasids...) ---- */

/* Appends a plausible value of one complete type: strings by the argument's name (a UUID
 * for "uuid", the parent, the type, a VM name), zero numbers, empty arrays. Returns the
 * number of signature characters used. */
static size_t append_default(sd_bus_message *m, const char *sig, const char *name)
{
        size_t n;

        switch (sig[0]) {
        case 's':
        case 'o':
        case 'g': {
                const char *v = sig[0] == 'o' ? "/" : sig[0] == 'g' ? "" : "";
                if (sig[0] == 's' && name) {
                        if (strstr(name, "uuid"))
                                v = UUID_A;
                        else if (strstr(name, "parent"))
                                v = PARENT;
                        else if (strstr(name, "type"))
                                v = TYPE;
                        else if (strstr(name, "vm") || strstr(name, "name"))
                                v = "vm1";
                }
                ck_assert_int_ge(sd_bus_message_append_basic(m, sig[0], v), 0);
                return 1;
        }
        case 'b':
        case 'y':
        case 'n':
        case 'q':
        case 'i':
        case 'u':
        case 'x':
        case 't':
        case 'd': {
                uint64_t zero = 0;
                int one = 1;
                /* a count of 1 where a count is asked for; booleans and numbers otherwise 0 */
                ck_assert_int_ge(sd_bus_message_append_basic(m, sig[0],
                                                             sig[0] == 'u' && name && strstr(name, "count")
                                                                     ? (const void *)&one
                                                                     : (const void *)&zero),
                                 0);
                return 1;
        }
        case 'v':
                ck_assert_int_ge(sd_bus_message_append(m, "v", "s", ""), 0);
                return 1;
        case 'a': {
                char elem[256];
                size_t k = 1, depth = 0;
                /* the element type: one complete type after 'a' */
                do {
                        if (sig[k] == '(' || sig[k] == '{')
                                depth++;
                        else if (sig[k] == ')' || sig[k] == '}')
                                depth--;
                        k++;
                } while (depth > 0 || sig[k - 1] == 'a');
                snprintf(elem, sizeof(elem), "%.*s", (int)(k - 1), sig + 1);
                ck_assert_int_ge(sd_bus_message_open_container(m, 'a', elem), 0);
                /* one PASID in a PASID list, one unit in a VM request: else empty */
                if (strcmp(elem, "u") == 0)
                        ck_assert_int_ge(sd_bus_message_append(m, "u", 1), 0);
                else if (strcmp(elem, "{sv}") == 0 && name && strstr(name, "request"))
                        ck_assert_int_ge(sd_bus_message_append(m, "{sv}", "Units", "as", 1, UUID_A), 0);
                ck_assert_int_ge(sd_bus_message_close_container(m), 0);
                return k;
        }
        case '(': {
                char inner[256];
                size_t k = 1, depth = 1;
                while (depth > 0) {
                        if (sig[k] == '(')
                                depth++;
                        else if (sig[k] == ')')
                                depth--;
                        k++;
                }
                snprintf(inner, sizeof(inner), "%.*s", (int)(k - 2), sig + 1);
                ck_assert_int_ge(sd_bus_message_open_container(m, 'r', inner), 0);
                for (size_t i = 0; i < k - 2; i += n)
                        n = append_default(m, inner + i, NULL);
                ck_assert_int_ge(sd_bus_message_close_container(m), 0);
                return k;
        }
        }
        ck_abort_msg("append_default: signature %s", sig);
        return 0;
}

static void nobody_every_method(sd_bus *bus, FILE *out)
{
        for (const sd_bus_vtable *v = manager_vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                sd_bus_message *call = NULL, *reply = NULL;
                sd_bus_error err = SD_BUS_ERROR_NULL;
                const char *action = NULL, *sig, *name;
                int r;

                if (v->type != _SD_BUS_VTABLE_METHOD || authz_lookup(v->x.method.member, &action) <= 0 ||
                    !action)
                        continue;
                ck_assert_int_ge(sd_bus_message_new_method_call(bus, &call, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                                MDP_IFACE_MANAGER, v->x.method.member),
                                 0);
                sig = v->x.method.signature ? v->x.method.signature : "";
                name = v->x.method.names;
                for (size_t i = 0; sig[i];) {
                        i += append_default(call, sig + i, name && *name ? name : NULL);
                        if (name && *name)
                                name += strlen(name) + 1;
                }
                r = sd_bus_call(bus, call, 0, &err, &reply);
                fprintf(out, "%s %s %s %s\n", v->x.method.member, r >= 0 ? "OK" : strna(err.name), action,
                        strna(err.message));
                fflush(out);
                sd_bus_message_unref(call);
                sd_bus_message_unref(reply);
                sd_bus_error_free(&err);
        }
}

/* Every method with an action, as nobody with no polkit: refused, and the host unchanged.
 * Arguments are generated from the vtable, so methods added later are covered too; one
 * whose made-up arguments fail validation first is still refused (validation comes before
 * authorization), which is logged. */
START_TEST(test_nobody_every_mutating_method)
{
        struct env e = {0};
        char *out, *before, *after;
        unsigned n = 0, n_authz = 0;

        env_start(&e, NULL);
        root_setup_devices(&e);
        before = testbed_fingerprint(&e);
        out = as_nobody(nobody_every_method);
        for (char *l = out, *nl; l && *l; l = nl) {
                char line[2048];
                nl = strchr(l, '\n');
                snprintf(line, sizeof(line), "%.*s", (int)(nl ? nl - l : (long)strlen(l)), l);
                nl = nl ? nl + 1 : NULL;
                if (!line[0])
                        continue;
                n++;
                ck_assert_msg(strncmp(strchr(line, ' ') ? strchr(line, ' ') : "", " OK ", 4) != 0,
                              "nobody changed something: %.200s", line);
                if (strstr(line, " " MDP_ERROR_NOT_AUTHORIZED " "))
                        n_authz++;
                else
                        fprintf(stderr, "check_authz: refused before authorization: %.200s\n", line);
        }
        ck_assert_uint_ge(n, 8);
        ck_assert_uint_ge(n_authz,
                          12); /* Define ... Reload, AttachVm, DetachVm, AllocatePasids, FreePasids */
        after = testbed_fingerprint(&e);
        ck_assert_msg(strcmp(before, after) == 0, "nobody's calls changed the testbed");
        free(before);
        free(after);
        free(out);
        env_stop(&e);
}
END_TEST

/* Every method the daemon exports is in the authorization table, read methods too: a
 * method added without a row would be refused to everyone (the bus filter). */
static void check_vtable(const sd_bus_vtable *v, const char *iface)
{
        for (; v->type != _SD_BUS_VTABLE_END; v++) {
                const char *action = "unset";
                if (v->type != _SD_BUS_VTABLE_METHOD)
                        continue;
                ck_assert_msg(authz_lookup(v->x.method.member, &action) == 1,
                              "%s.%s has no row in daemon/authz.c's table", iface, v->x.method.member);
                if (action)
                        ck_assert_msg(strncmp(action, "org.mdevpasid1.", 15) == 0, "%s: action %s",
                                      v->x.method.member, action);
        }
}

START_TEST(test_table_covers_vtables)
{
        char *policy = test_read(test_srcdir(), "conf/org.mdevpasid1.policy");
        const char *action;

        check_vtable(manager_vtable, MDP_IFACE_MANAGER);
        check_vtable(parent_vtable, MDP_IFACE_PARENT);
        check_vtable(device_vtable, MDP_IFACE_DEVICE);
        check_vtable(vm_vtable, MDP_IFACE_VM);
        ck_assert_int_eq(authz_lookup("NoSuchMethod", &action), 0);
        /* every action the daemon asks for is shipped in the polkit policy */
        ck_assert_ptr_nonnull(policy);
        for (const char *const *a =
                     (const char *const[]){MDP_ACTION_MANAGE_DEVICES, MDP_ACTION_ASSIGN_VM,
                                           MDP_ACTION_ALLOCATE_PASID, MDP_ACTION_RELOAD, NULL};
             *a; a++) {
                char id[128];
                snprintf(id, sizeof(id), "<action id=\"%s\">", *a);
                ck_assert_msg(strstr(policy, id), "conf/org.mdevpasid1.policy lacks %s", *a);
        }
        free(policy);
}
END_TEST

static Suite *authz_suite(void)
{
        Suite *s = suite_create("authz");
        TCase *tc = tcase_create("table");

        tcase_add_test(tc, test_table_covers_vtables);
        suite_add_tcase(s, tc);
        tc = tcase_create("bus");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_nobody_without_polkit);
        tcase_add_test(tc, test_polkit_yes_and_no);
        tcase_add_test(tc, test_polkit_no);
        tcase_add_test(tc, test_polkit_gone);
        tcase_add_test(tc, test_polkit_slow);
        tcase_add_test(tc, test_polkit_pending_cap);
        suite_add_tcase(s, tc);
        tc = tcase_create("attack");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_hostile_arguments_touch_nothing);
        tcase_add_test(tc, test_nobody_every_mutating_method);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv)
{
        SRunner *sr;
        int failed;

        sr = srunner_create(authz_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
