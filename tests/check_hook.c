/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt hook (issue 7), run exactly as libvirt runs it: `<domain> <operation> <sub-op>
 * <extra>` with the domain XML (tests/fixtures/hook/) on stdin, against the real daemon on a
 * private bus over the simulated host (tests/harness.h). What is faked: the kernel (the sim),
 * the system bus (a private dbus-daemon), and libvirt itself (this test plays it: argv,
 * stdin, and reading the exit status and stderr). The hook's configuration is the testbed's
 * etc/mdevpasid/mdevpasid.conf (MDEVPASID_ROOT).
 *
 * No assertion is about speed: "within the timeout" means the hook ended by itself (the
 * harness would kill it after HOOK_RUN_LIMIT_MS, far beyond the configured 1 s) and said
 * that the daemon did not answer; the time it took is printed, not checked. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "mdp-names.h"
#include "test-help.h"

#define FIXTURE           "x86-6.12-sm"
#define HOOK_RUN_LIMIT_MS 60000 /* the harness kills a hung hook after this: a failure */
#define DAEMON_READY_MS   20000

static const char *hook_bin(void)
{
        return harness_program("cli/mdevpasid-libvirt-hook");
}

static long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static char *fixture(const char *name)
{
        char rel[256];
        char *s;

        snprintf(rel, sizeof(rel), "tests/fixtures/hook/%s.xml", name);
        s = test_read(test_srcdir(), rel);
        ck_assert_msg(s, "fixture %s missing", rel);
        return s;
}

/* The testbed's mdevpasid.conf: the hook's timeout and what it does without an answer. */
static void write_conf(struct harness *h, unsigned timeout_ms, const char *on_timeout,
                       const char *on_unavailable)
{
        char conf[512];

        snprintf(conf, sizeof(conf),
                 "{\"version\": 1, \"hook\": {\"timeout_ms\": %u, \"on_timeout\": \"%s\", "
                 "\"on_daemon_unavailable\": \"%s\"}}\n",
                 timeout_ms, on_timeout, on_unavailable);
        test_write(harness_root(h), "etc/mdevpasid/mdevpasid.conf", conf);
}

static unsigned count_lines(const char *s)
{
        unsigned n = 0;

        for (; s && *s; s++)
                n += *s == '\n';
        return n;
}

/* Runs the hook as libvirt does; returns the exit code, the run in *r (clear it).
 * harness_run() reads stdout and stderr to EOF, so a background child left holding them
 * (the pitfall of ECOSYSTEM.md §1.6) would show as a timed-out run, which fails here. */
static int hook(struct harness *h, const char *xml, const char *vm, const char *op, const char *sub,
                struct harness_run *r)
{
        long t0 = now_ms();
        int ret = harness_run(h, HARNESS_ARGV((char *)hook_bin(), (char *)vm, (char *)op, (char *)sub, "-"),
                              NULL, xml, HOOK_RUN_LIMIT_MS, r);

        ck_assert_int_eq(ret, 0);
        ck_assert_msg(!r->timed_out, "hook %s %s %s hung (killed after %d ms)", vm, op, sub,
                      HOOK_RUN_LIMIT_MS);
        /* stdout is libvirt's new domain XML for migrate and restore: always empty. */
        ck_assert_msg(streq(r->out, ""), "hook %s %s printed on stdout: %s", op, sub, r->out);
        fprintf(stderr, "check_hook: %s %s %s -> %d in %ld ms%s%s", vm, op, sub, r->exit_code, now_ms() - t0,
                *r->err ? ": " : "\n", r->err);
        return r->exit_code;
}

/* ---- (a) no daemon needed ---------------------------------------------------------------- */

/* No mdev or PCI hostdev: every operation exits 0 at once, without the daemon. The config
 * says "veto" when the daemon is unavailable and none is running, so a hook that asked it
 * would fail. */
START_TEST(test_no_hostdevs_never_asks)
{
        static const char *const ops[][2] = {
                {"prepare", "begin"}, {"start", "begin"},     {"started", "begin"},
                {"stopped", "end"},   {"release", "end"},     {"migrate", "begin"},
                {"restore", "begin"}, {"reconnect", "begin"}, {"attach", "begin"}};
        struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
        _cleanup_free_ char *xml = fixture("nohostdevs");
        struct harness_run r;

        write_conf(h, 1000, "veto", "veto");
        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                ck_assert_int_eq(hook(h, xml, "vm-plain", ops[i][0], ops[i][1], &r), 0);
                ck_assert_str_eq(r.err, "");
                harness_run_clear(&r);
        }
        harness_stop(h);
}
END_TEST

/* What libvirt may send that is not for us: operations we ignore, and a bad command line. */
START_TEST(test_argv)
{
        struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
        _cleanup_free_ char *xml = fixture("intel");
        struct harness_run r;

        write_conf(h, 1000, "veto", "veto");
        /* start/started/stopped/attach, and an operation a later libvirt might add: exit 0
         * without reading anything, even with hostdevs and no daemon. */
        ck_assert_int_eq(hook(h, xml, "vm-intel", "start", "begin", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "started", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "stopped", "end", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "attach", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "frobnicate", "begin", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);
        /* prepare with the wrong sub-operation is not prepare. */
        ck_assert_int_eq(hook(h, xml, "vm-intel", "prepare", "end", &r), 0);
        harness_run_clear(&r);

        ck_assert_int_eq(harness_run(h, HARNESS_ARGV((char *)hook_bin(), "vm-intel", "prepare"), NULL, xml,
                                     10000, &r),
                         0);
        ck_assert_int_eq(r.exit_code, 2);
        ck_assert(strstr(r.err, "expected DOMAIN OPERATION SUB-OPERATION"));
        harness_run_clear(&r);
        ck_assert_int_eq(harness_run(h, HARNESS_ARGV((char *)hook_bin(), "--help"), NULL, NULL, 10000, &r),
                         0);
        ck_assert_int_eq(r.exit_code, 0);
        ck_assert(strstr(r.out, "mdevpasid-libvirt-hook DOMAIN OPERATION"));
        harness_run_clear(&r);
        harness_stop(h);
}
END_TEST

/* Malformed XML: prepare (and the migrate/restore checks) veto naming the problem and its
 * line; stopped and reconnect exit 0; release exits 0 (it still releases by name). */
START_TEST(test_malformed_xml)
{
        struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
        _cleanup_free_ char *xml = fixture("malformed");
        struct harness_run r;

        write_conf(h, 1000, "allow", "allow"); /* the XML, not the daemon, decides here */
        ck_assert_int_eq(hook(h, xml, "vm-broken", "prepare", "begin", &r), 1);
        ck_assert_uint_eq(count_lines(r.err), 1);
        ck_assert_msg(
                strstr(r.err,
                       "mdevpasid-libvirt-hook: vm-broken: cannot read the domain XML on stdin: domain "
                       "XML line 8: malformed XML"),
                "%s", r.err);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-broken", "migrate", "begin", &r), 1);
        ck_assert(strstr(r.err, "line 8"));
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-broken", "restore", "begin", &r), 1);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-broken", "stopped", "end", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-broken", "release", "end", &r), 0);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-broken", "reconnect", "begin", &r), 0);
        ck_assert(strstr(r.err, "not re-asserted"));
        harness_run_clear(&r);
        /* Not XML at all, and nothing at all. */
        ck_assert_int_eq(hook(h, "\x01\x02garbage", "vm-broken", "prepare", "begin", &r), 1);
        ck_assert_uint_eq(count_lines(r.err), 1);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, "", "vm-broken", "prepare", "begin", &r), 1);
        ck_assert(strstr(r.err, "cannot read the domain XML"));
        harness_run_clear(&r);
        harness_stop(h);
}
END_TEST

/* No daemon on the bus (nobody owns org.mdevpasid1): prepare vetoes with one line saying
 * so and how to fix it; release, stopped and reconnect never fail; with
 * on_daemon_unavailable "allow" prepare passes and says so. */
START_TEST(test_daemon_absent)
{
        struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
        _cleanup_free_ char *xml = fixture("intel");
        struct harness_run r;

        write_conf(h, 1000, "veto", "veto");
        ck_assert_int_eq(hook(h, xml, "vm-intel", "prepare", "begin", &r), 1);
        ck_assert_uint_eq(count_lines(r.err), 1);
        ck_assert_msg(strstr(r.err, "vm-intel: cannot reach mdevpasidd for AttachVm ("), "%s", r.err);
        ck_assert(strstr(r.err, "VM start vetoed. Start it with 'systemctl start mdevpasidd'"));
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "migrate", "begin", &r), 1);
        ck_assert(strstr(r.err, "ListDevices") && strstr(r.err, "incoming migration vetoed"));
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "release", "end", &r), 0);
        ck_assert(strstr(r.err, "DetachVm"));
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "stopped", "end", &r), 0);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "reconnect", "begin", &r), 0);
        ck_assert(strstr(r.err, "AttachVm")); /* reconnect only re-asserts the record */
        harness_run_clear(&r);

        write_conf(h, 1000, "veto", "allow");
        ck_assert_int_eq(hook(h, xml, "vm-intel", "prepare", "begin", &r), 0);
        ck_assert(strstr(r.err, "passed: hook.on_daemon_unavailable is \"allow\""));
        harness_run_clear(&r);

        harness_stop(h);

        /* No bus at all (no socket where the address points): the same veto, with why. */
        h = harness_start(&(struct harness_opts){.fixture = FIXTURE, .no_bus = true});
        write_conf(h, 1000, "veto", "veto");
        ck_assert_int_eq(harness_run(h,
                                     HARNESS_ARGV((char *)hook_bin(), "vm-intel", "prepare", "begin", "-"),
                                     HARNESS_ARGV("DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bus"), xml,
                                     HOOK_RUN_LIMIT_MS, &r),
                         0);
        ck_assert_int_eq(r.exit_code, 1);
        ck_assert_msg(strstr(r.err, "cannot connect to the system bus"), "%s", r.err);
        harness_run_clear(&r);
        harness_stop(h);
}
END_TEST

/* The daemon owns its name but does not answer (SIGSTOP): prepare vetoes within the
 * configured timeout (1 s here), or passes with on_timeout "allow"; release and reconnect
 * end too, without failing. */
START_TEST(test_daemon_hanging)
{
        struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
        _cleanup_free_ char *xml = fixture("intel");
        struct harness_run r;
        pid_t d;

        write_conf(h, 1000, "veto", "veto");
        d = harness_spawn_service(h, MDP_BUS_NAME, DAEMON_READY_MS,
                                  HARNESS_ARGV((char *)harness_program("daemon/mdevpasidd")), NULL);
        ck_assert_int_eq(kill(d, SIGSTOP), 0);

        ck_assert_int_eq(hook(h, xml, "vm-intel", "prepare", "begin", &r), 1);
        ck_assert_uint_eq(count_lines(r.err), 1);
        ck_assert_msg(
                strstr(r.err,
                       "vm-intel: mdevpasidd did not answer AttachVm within 1000 ms; VM start vetoed."),
                "%s", r.err);
        ck_assert(strstr(r.err, "systemctl status mdevpasidd"));
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "release", "end", &r), 0);
        ck_assert(strstr(r.err, "did not answer DetachVm"));
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "reconnect", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-intel", "restore", "begin", &r), 1);
        ck_assert(strstr(r.err, "did not answer ListDevices") && strstr(r.err, "restore vetoed"));
        harness_run_clear(&r);

        write_conf(h, 1000, "allow", "veto");
        ck_assert_int_eq(hook(h, xml, "vm-intel", "prepare", "begin", &r), 0);
        ck_assert(strstr(r.err, "passed: hook.on_timeout is \"allow\""));
        harness_run_clear(&r);

        ck_assert_int_eq(kill(d, SIGCONT), 0);
        harness_stop(h);
}
END_TEST

/* stdin never closed (a stuck writer): the hook's own timer ends it within the budget,
 * with the same veto (the D-Bus call is not even reached). Spawned by hand: the harness's
 * runner always closes stdin. */
START_TEST(test_stdin_never_closes)
{
        struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
        char **env, err[1024] = "";
        int in[2], errp[2], status = 0;
        long t0 = now_ms();
        ssize_t n;
        pid_t pid;

        write_conf(h, 1000, "veto", "veto");
        env = harness_environ(h, NULL);
        ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(errp, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                dup2(in[0], STDIN_FILENO);
                dup2(errp[1], STDERR_FILENO);
                execve(hook_bin(), HARNESS_ARGV((char *)hook_bin(), "vm-intel", "prepare", "begin", "-"),
                       env);
                _exit(127);
        }
        close(in[0]);
        close(errp[1]);
        ck_assert_int_eq(write(in[1], "<domain>", 8), 8); /* and never more, never EOF */
        for (int i = 0; i < HOOK_RUN_LIMIT_MS / 100; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
                usleep(100 * 1000);
        }
        if (waitpid(pid, &status, WNOHANG) == 0) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                ck_abort_msg("the hook hung on a stdin that never closes");
        }
        n = read(errp[0], err, sizeof(err) - 1);
        err[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "check_hook: stuck stdin -> %d in %ld ms: %s", WEXITSTATUS(status), now_ms() - t0,
                err);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 1);
        ck_assert_msg(strstr(err, "vm-intel: prepare vetoed: did not finish within 1000 ms"), "%s", err);
        close(in[1]);
        close(errp[0]);
        harness_strv_free(env);
        harness_stop(h);
}
END_TEST

/* ---- (b) against the daemon: AttachVm, PlanVm, DetachVm ----------------------------------- */

#define MDEV1 "4b20d080-1b54-4048-85b3-a6a62d165c01" /* mtty-1, in every fixture but pci-only */
#define MDEV2 "4b20d080-1b54-4048-85b3-a6a62d165c02" /* mtty-2, in none.xml */
#define PCI1  "0000:00:02.0"                         /* in intel.xml and pci-only.xml */

/* The sim, the bus, a policy asserting what a VMM offers (without it every vIOMMU plan is
 * refused: unknown VMM capabilities count as absent, docs/policy.md), the daemon, and the
 * fixtures' two mdevs defined on mtty but not running. */
static struct harness *daemon_start(pid_t *ret_pid)
{
        struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *const defs[][2] = {{MDEV1, "mtty-1"}, {MDEV2, "mtty-2"}};
        pid_t pid;

        /* A generous timeout: the daemon's answers, not the clock, are under test here. */
        write_conf(h, 30000, "veto", "veto");
        test_write(harness_root(h), "etc/mdevpasid/policy.d/10-vmm.json",
                   "{\"version\": 1, \"vmm\": {\"iommufd\": true, \"intel-iommu.caching-mode\": true, "
                   "\"virtio-iommu-pci\": true}}\n");
        pid = harness_spawn_service(h, MDP_BUS_NAME, DAEMON_READY_MS,
                                    HARNESS_ARGV((char *)harness_program("daemon/mdevpasidd")), NULL);
        for (size_t i = 0; i < ELEMENTSOF(defs); i++) {
                sd_bus_message *reply = NULL;
                int r = sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                           "Define", &e, &reply, "sssba(ss)a{sv}", "mtty", defs[i][1],
                                           defs[i][0], 0, 0, 0);
                ck_assert_msg(r >= 0, "Define %s: %s", defs[i][0], e.message);
                sd_bus_message_unref(reply);
        }
        if (ret_pid)
                *ret_pid = pid;
        return h;
}

/* ListVms as "name strategy reason unit,unit;..." (sorted by the daemon). */
static char *list_vms(struct harness *h)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *name, *strategy, *reason, *unit;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        int r;

        ck_assert_int_ge(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                            "ListVms", &e, &reply, NULL),
                         0);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(sssas)"), 0);
        while ((r = sd_bus_message_enter_container(reply, 'r', "sssas")) > 0) {
                ck_assert_int_ge(sd_bus_message_read(reply, "sss", &name, &strategy, &reason), 0);
                fprintf(f, "%s %s %s ", name, strategy, *reason ? reason : "-");
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "s"), 0);
                for (int n = 0; sd_bus_message_read(reply, "s", &unit) > 0; n++)
                        fprintf(f, "%s%s", n ? "," : "", unit);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                fputc(';', f);
        }
        ck_assert_int_ge(r, 0);
        fclose(f);
        sd_bus_message_unref(reply);
        return buf;
}

/* Whether the daemon reports the mdev active (ListDevices(false)). */
static bool mdev_active(struct harness *h, const char *uuid)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *u, *parent, *type, *start;
        int active, defined, r;
        bool found = false;

        ck_assert_int_ge(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                            "ListDevices", &e, &reply, "b", 0),
                         0);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(sssbbsa(ss)a{sv})"), 0);
        while ((r = sd_bus_message_enter_container(reply, 'r', "sssbbsa(ss)a{sv}")) > 0) {
                ck_assert_int_ge(
                        sd_bus_message_read(reply, "sssbbs", &u, &parent, &type, &active, &defined, &start),
                        0);
                ck_assert_int_ge(sd_bus_message_skip(reply, "a(ss)a{sv}"), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                found = found || (streq(u, uuid) && active);
        }
        sd_bus_message_unref(reply);
        return found;
}

/* A string property of the Vm object of vm, or the error name when there is none. */
static char *vm_property(struct harness *h, const char *vm, const char *property)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *path = NULL, *v = NULL;

        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_VMS, vm, &path), 0);
        if (sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_VM, property, &e, &v) <
            0)
                v = strdup(e.name ? e.name : "error");
        free(path);
        sd_bus_error_free(&e);
        return v;
}

/* The daemon stops what a refused attach started after it has replied: wait for that (the
 * limit only keeps a broken daemon from hanging the test). */
static void wait_mdev_inactive(struct harness *h, const char *uuid)
{
        for (int i = 0; i < 400 && mdev_active(h, uuid); i++)
                usleep(50 * 1000);
        ck_assert_msg(!mdev_active(h, uuid), "mdev %s is still active", uuid);
}

#define ck_assert_vms(h, want)                                                                              \
        do {                                                                                                \
                char *_v = list_vms(h);                                                                     \
                ck_assert_str_eq(_v, want);                                                                 \
                free(_v);                                                                                   \
        } while (0)

/* A whole VM lifetime as libvirt runs it, with the daemon's state checked after each step:
 * no vIOMMU, two defined mdevs that are not running. */
START_TEST(test_lifecycle)
{
        struct harness *h = daemon_start(NULL);
        _cleanup_free_ char *xml = fixture("none"), *broken = fixture("malformed");
        struct harness_run r;
        char *v;

        ck_assert_vms(h, "");
        ck_assert(!mdev_active(h, MDEV1) && !mdev_active(h, MDEV2));

        /* prepare: the hook starts the defined mdevs (libvirt looks for them right after)
         * and the daemon records the VM. */
        ck_assert_int_eq(hook(h, xml, "vm-none", "prepare", "begin", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);
        ck_assert_vms(h, "vm-none direct - " MDEV1 "," MDEV2 ";");
        ck_assert(mdev_active(h, MDEV1) && mdev_active(h, MDEV2));
        ck_assert_str_eq(v = vm_property(h, "vm-none", "GuestMode"), "none");
        free(v);
        ck_assert_str_eq(v = vm_property(h, "vm-none", "Strategy"), "direct");
        free(v);

        /* start, started: nothing. migrate and restore (all units running): PlanVm, a dry
         * run that changes nothing and prints nothing. */
        ck_assert_int_eq(hook(h, xml, "vm-none", "start", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-none", "started", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-none", "migrate", "begin", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, xml, "vm-none", "restore", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_vms(h, "vm-none direct - " MDEV1 "," MDEV2 ";");

        /* libvirtd restarted: reconnect re-asserts the same record (AttachVm again). */
        ck_assert_int_eq(hook(h, xml, "vm-none", "reconnect", "begin", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);
        ck_assert_vms(h, "vm-none direct - " MDEV1 "," MDEV2 ";");

        /* stopped: nothing; release: DetachVm. The mdevs keep running (they are defined). */
        ck_assert_int_eq(hook(h, xml, "vm-none", "stopped", "end", &r), 0);
        harness_run_clear(&r);
        ck_assert_vms(h, "vm-none direct - " MDEV1 "," MDEV2 ";");
        ck_assert_int_eq(hook(h, xml, "vm-none", "release", "end", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);
        ck_assert_vms(h, "");
        ck_assert(mdev_active(h, MDEV1) && mdev_active(h, MDEV2));
        ck_assert_str_eq(v = vm_property(h, "vm-none", "Name"), "org.freedesktop.DBus.Error.UnknownObject");
        free(v);
        /* A second release (NoSuchVm) is fine, and silent. */
        ck_assert_int_eq(hook(h, xml, "vm-none", "release", "end", &r), 0);
        ck_assert_str_eq(r.err, "");
        harness_run_clear(&r);

        /* A second start finds the mdevs running: prepare attaches again. */
        ck_assert_int_eq(hook(h, xml, "vm-none", "prepare", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_vms(h, "vm-none direct - " MDEV1 "," MDEV2 ";");
        /* release with XML the hook cannot read still releases the VM, by its name. */
        ck_assert_int_eq(hook(h, broken, "vm-none", "release", "end", &r), 0);
        harness_run_clear(&r);
        ck_assert_vms(h, "");
        harness_stop(h);
}
END_TEST

/* Each vIOMMU fixture prepares and releases; the daemon records the strategy and the
 * guest's mode read from the XML. */
START_TEST(test_viommu_fixtures)
{
        static const struct {
                const char *fixture, *vm, *vms, *mode;
        } cases[] = {
                {"intel", "vm-intel", "vm-intel shadow - " MDEV1 "," PCI1 ";", "nopasid"},
                {"smmuv3", "vm-smmuv3", "vm-smmuv3 shadow - " MDEV1 ";", "nopasid"},
                {"virtio", "vm-virtio", "vm-virtio shadow - " MDEV1 ";", "nopasid"},
                {"pci-only", "vm-pci", "vm-pci direct - " PCI1 ";", "none"},
        };
        struct harness *h = daemon_start(NULL);
        struct harness_run r;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *xml = fixture(cases[i].fixture);
                char *v;

                ck_assert_int_eq(hook(h, xml, cases[i].vm, "prepare", "begin", &r), 0);
                ck_assert_str_eq(r.err, "");
                harness_run_clear(&r);
                ck_assert_vms(h, cases[i].vms);
                ck_assert_str_eq(v = vm_property(h, cases[i].vm, "GuestMode"), cases[i].mode);
                free(v);
                ck_assert_int_eq(hook(h, xml, cases[i].vm, "migrate", "begin", &r), 0);
                harness_run_clear(&r);
                ck_assert_int_eq(hook(h, xml, cases[i].vm, "release", "end", &r), 0);
                harness_run_clear(&r);
                ck_assert_vms(h, "");
        }
        harness_stop(h);
}
END_TEST

/* Refusals: one line with the reason code, the unit and the fix; nothing recorded; what
 * the hook started is stopped again. */
START_TEST(test_refusals)
{
        struct harness *h = daemon_start(NULL);
        _cleanup_free_ char *policy = fixture("policy"), *unknown = fixture("unknown-uuid"),
                            *none = fixture("none"), *intel = fixture("intel");
        struct harness_run r;

        /* The metadata asks for guest PASIDs, which an emulated mdev cannot give. */
        ck_assert_int_eq(hook(h, policy, "vm-policy", "prepare", "begin", &r), 1);
        ck_assert_uint_eq(count_lines(r.err), 1);
        ck_assert_msg(strstr(r.err, "mdevpasid-libvirt-hook: vm-policy: EMULATED_NO_PASID on " MDEV1 ": "),
                      "%s", r.err);
        ck_assert_msg(strstr(r.err, "; "), "no fix in: %s", r.err);
        harness_run_clear(&r);
        ck_assert_vms(h, "");
        wait_mdev_inactive(h, MDEV1); /* the daemon started it for the plan, and stops it again */
        /* reconnect never vetoes, even when the daemon refuses (it starts the mdev for the
         * plan, as for a VM libvirt finds running, and stops it again). */
        ck_assert_int_eq(hook(h, policy, "vm-policy", "reconnect", "begin", &r), 0);
        ck_assert(strstr(r.err, "vm-policy: EMULATED_NO_PASID on " MDEV1));
        harness_run_clear(&r);
        ck_assert_vms(h, "");
        wait_mdev_inactive(h, MDEV1);

        /* A UUID nobody defined: veto naming it and how to define it; migrate too. */
        ck_assert_int_eq(hook(h, unknown, "vm-unknown", "prepare", "begin", &r), 1);
        ck_assert_uint_eq(count_lines(r.err), 1);
        ck_assert_msg(strstr(r.err, "mdevpasid-libvirt-hook: vm-unknown: ") &&
                              strstr(r.err, "deadbeef-0000-4000-8000-00000000feed"),
                      "%s", r.err);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, unknown, "vm-unknown", "migrate", "begin", &r), 1);
        ck_assert_msg(
                strstr(r.err,
                       "vm-unknown: unit deadbeef-0000-4000-8000-00000000feed: no mdev with this UUID "
                       "running or defined on this host; incoming migration vetoed. Define it here first"),
                "%s", r.err);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, unknown, "vm-unknown", "release", "end", &r), 0);
        harness_run_clear(&r);
        ck_assert_vms(h, "");

        /* A unit another VM holds: refused naming that VM; the holder keeps it. */
        ck_assert_int_eq(hook(h, none, "vm-none", "prepare", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, intel, "vm-intel", "prepare", "begin", &r), 1);
        ck_assert_uint_eq(count_lines(r.err), 1);
        ck_assert_msg(strstr(r.err, "vm-intel: ") && strstr(r.err, MDEV1) && strstr(r.err, "vm-none"), "%s",
                      r.err);
        harness_run_clear(&r);
        ck_assert_int_eq(hook(h, intel, "vm-intel", "migrate", "begin", &r), 1);
        ck_assert(strstr(r.err, "vm-none"));
        harness_run_clear(&r);
        ck_assert_vms(h, "vm-none direct - " MDEV1 "," MDEV2 ";");
        ck_assert(mdev_active(h, MDEV1)); /* not stopped: it was running before */
        harness_stop(h);
}
END_TEST

/* A record left from a start whose release never came, with other units: prepare (the VM is
 * not running then) replaces it. */
START_TEST(test_stale_assignment)
{
        struct harness *h = daemon_start(NULL);
        _cleanup_free_ char *xml = fixture("none");
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        struct harness_run r;

        ck_assert_int_ge(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                            "Start", &e, NULL, "ss", MDEV1, ""),
                         0);
        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "AttachVm"),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "sa{sv}", "vm-none", 1, "Units", "as", 1, MDEV1), 0);
        ck_assert_msg(sd_bus_call(harness_bus(h), m, 0, &e, &reply) >= 0, "AttachVm: %s", e.message);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        ck_assert_vms(h, "vm-none direct - " MDEV1 ";");

        ck_assert_int_eq(hook(h, xml, "vm-none", "prepare", "begin", &r), 0);
        harness_run_clear(&r);
        ck_assert_vms(h, "vm-none direct - " MDEV1 "," MDEV2 ";");
        /* reconnect with other units does not replace anything (the VM runs): logged only. */
        ck_assert_int_ge(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                            "DetachVm", &e, NULL, "s", "vm-none"),
                         0);
        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "AttachVm"),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "sa{sv}", "vm-none", 1, "Units", "as", 1, MDEV1), 0);
        ck_assert_int_ge(sd_bus_call(harness_bus(h), m, 0, &e, NULL), 0);
        sd_bus_message_unref(m);
        ck_assert_int_eq(hook(h, xml, "vm-none", "reconnect", "begin", &r), 0);
        ck_assert(strstr(r.err, "attached with other units"));
        harness_run_clear(&r);
        ck_assert_vms(h, "vm-none direct - " MDEV1 ";");
        harness_stop(h);
}
END_TEST

static Suite *hook_suite(void)
{
        Suite *s = suite_create("hook");
        TCase *tc = tcase_create("no-attach");

        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_no_hostdevs_never_asks);
        tcase_add_test(tc, test_argv);
        tcase_add_test(tc, test_malformed_xml);
        tcase_add_test(tc, test_daemon_absent);
        tcase_add_test(tc, test_daemon_hanging);
        tcase_add_test(tc, test_stdin_never_closes);
        suite_add_tcase(s, tc);

        tc = tcase_create("daemon");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_lifecycle);
        tcase_add_test(tc, test_viommu_fixtures);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_stale_assignment);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv)
{
        SRunner *sr = srunner_create(hook_suite());
        int failed;

        /* The hook exits without reading stdin for the operations it ignores; libvirt takes
         * the EPIPE in stride (virCommand), and so does harness_run() once SIGPIPE is off. */
        signal(SIGPIPE, SIG_IGN);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
