/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uevent-to-signal latency and autostart, on the simulated host (tests/sim, through the
 * integration harness tests/harness.h) with the real daemon on a private bus:
 *
 *   bench/events --gen GEN.py --size N [--reps K] [--autostart M] [--label F] [--json FILE]
 *
 * The host is generated (sriov layout: N VFs with one active mdev each, plus 8 spare VFs
 * without children, 2 types per VF, kernel-like), moved into the sim's testbed, and the
 * daemon (daemon/mdevpasidd under top_builddir) starts on it. Then, K times each:
 *  - parent registration: "unregister" a spare VF (waits), then the clock starts, the sim
 *    is told "register" (it adds the types and sends change MDEV_STATE=registered), and
 *    the clock stops at the daemon's InterfacesAdded for that parent;
 *  - mdev add: "create" on a spare VF (the sim adds the device, sends add and bind, as if
 *    another tool had written create), the clock stops at InterfacesAdded for the mdev;
 *    "remove" undoes it untimed.
 * The sim's own command round trip ("ping") is measured the same way. The sim sends the
 * uevents, then answers the command: "after the sim answered" is the signal's delay past
 * that answer (0 when the signal came first), the daemon's share without the sim's tree work.
 *
 * With --autostart M (a second host: single layout, M definitions with start "auto", no
 * active mdev): the parent is unregistered before the daemon starts; the clock runs from
 * "register" until every one of the M devices has reported Active=true (PropertiesChanged).
 * The daemon creates each through the sim (a real create: the device appears, binds). */
#include <check.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "harness.h"
#include "mdp-names.h"
#include "stats.h"

#define N_SPARE 8

static const char *gen, *label, *json_path;
static FILE *json;

static char *vf_bdf(int i)
{
        char *s;
        if (asprintf(&s, "0000:%02x:%02x.%d", 0x41 + i / 256, (i / 8) % 32, i % 8) < 0)
                abort();
        return s;
}

static char *generate(const char *args)
{
        const char *tmp = getenv("TMPDIR");
        char *tmpl, *dir, *cmd, *host;

        /* where umockdev puts the testbed too: the tree is moved, not copied, into it */
        if (asprintf(&tmpl, "%s/mdp-bench-ev.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                abort();
        dir = mkdtemp(tmpl);
        if (!dir)
                abort();
        if (asprintf(&host, "%s/host", dir) < 0 ||
            asprintf(&cmd, "env -u LD_PRELOAD python3 '%s' '%s' %s --kernel-like >/dev/null", gen, host,
                     args) < 0)
                abort();
        if (system(cmd) != 0) {
                fprintf(stderr, "bench/events: %s failed\n", cmd);
                exit(1);
        }
        free(cmd);
        return host;
}

static pid_t start_daemon(struct harness *h)
{
        return harness_spawn_service(h, MDP_BUS_NAME, 600000,
                                     HARNESS_ARGV((char *)harness_program("daemon/mdevpasidd")),
                                     HARNESS_ARGV("MDEVPASID_LOG_LEVEL=warning"));
}

static void drain(struct harness_watch *w)
{
        while (harness_wait_signal(w, 20, NULL) >= 0)
                ;
}

/* Waits for InterfacesAdded of path; returns ms since t0, or -1 after 10 s. */
static double wait_added(struct harness_watch *w, const char *path, double t0)
{
        for (;;) {
                sd_bus_message *m = NULL;
                const char *p = NULL;
                double rem = 10000 - (bench_now_ms() - t0);

                if (rem <= 0 || harness_wait_signal(w, (int)rem + 1, &m) < 0)
                        return -1;
                if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded") &&
                    sd_bus_message_read(m, "o", &p) >= 0 && strcmp(p, path) == 0) {
                        double t = bench_now_ms() - t0;
                        sd_bus_message_unref(m);
                        return t;
                }
                sd_bus_message_unref(m);
        }
}

static void report(const char *what, double *v, size_t n)
{
        struct bench_stats s = bench_stats(v, n);

        printf("  %-40s p50 %8.3f ms  p99 %8.3f ms  [%.3f-%.3f]  %zu events\n", what, s.median, s.p99, s.min,
               s.max, s.n);
        if (json)
                fprintf(json,
                        "{%s%s\"bench\":\"event\",\"what\":\"%s\",\"events\":%zu,\"ms\":{\"median\":%.4f,"
                        "\"p99\":%.4f,"
                        "\"min\":%.4f,\"max\":%.4f}}\n",
                        label ? label : "", label ? "," : "", what, s.n, s.median, s.p99, s.min, s.max);
}

static void bench_events(int size, int reps)
{
        char *args, *host, *types_out = NULL, type[128] = "";
        struct harness *h;
        struct harness_watch *w;
        double *reg = calloc((size_t)reps, sizeof(double)), *add = calloc((size_t)reps, sizeof(double)),
               *ping = calloc((size_t)reps, sizeof(double)),
               *reg_after = calloc((size_t)reps, sizeof(double)),
               *add_after = calloc((size_t)reps, sizeof(double));
        size_t n_reg = 0, n_add = 0, n_ping = 0;

        if (asprintf(&args, "--layout sriov --active %d --parents %d --types-per-vf 2", size,
                     size + N_SPARE) < 0)
                abort();
        host = generate(args);
        h = harness_start(&(struct harness_opts){.sysfs = host, .sysfs_move = true});
        start_daemon(h);
        w = harness_watch_signal(h, MDP_BUS_NAME, NULL, NULL, NULL);
        {
                char *p0 = vf_bdf(size);
                harness_sim(h, &types_out, "types %s", p0);
                /* "PARENT TYPE available=..." lines: the first type */
                if (types_out)
                        sscanf(types_out, "%*s %127s", type);
                free(p0);
        }
        for (int k = 0; k < reps; k++) {
                char *parent = vf_bdf(size + k % N_SPARE), *ppath = NULL, *dpath = NULL, uuid[37];
                double t0;

                snprintf(uuid, sizeof(uuid), "b3e7a1c0-0000-4000-8000-%012d", k);
                sd_bus_path_encode(MDP_OBJECT_PARENTS, parent, &ppath);
                sd_bus_path_encode(MDP_OBJECT_DEVICES, uuid, &dpath);

                t0 = bench_now_ms();
                if (harness_sim(h, NULL, "ping") == 0)
                        ping[n_ping++] = bench_now_ms() - t0;

                if (harness_sim(h, NULL, "unregister %s", parent) == 0) {
                        drain(w);
                        t0 = bench_now_ms();
                        if (harness_sim(h, NULL, "register %s", parent) == 0) {
                                double t_ret = bench_now_ms() - t0, t = wait_added(w, ppath, t0);
                                if (t >= 0) {
                                        reg_after[n_reg] = t > t_ret ? t - t_ret : 0;
                                        reg[n_reg++] = t;
                                }
                        }
                }
                drain(w);
                t0 = bench_now_ms();
                if (harness_sim(h, NULL, "create %s %s %s", parent, type, uuid) == 0) {
                        double t_ret = bench_now_ms() - t0, t = wait_added(w, dpath, t0);
                        if (t >= 0) {
                                add_after[n_add] = t > t_ret ? t - t_ret : 0;
                                add[n_add++] = t;
                        }
                        harness_sim(h, NULL, "remove %s", uuid);
                }
                drain(w);
                free(parent);
                free(ppath);
                free(dpath);
        }
        report("sim ping (floor)", ping, n_ping);
        report("parent register", reg, n_reg);
        report("parent register, after the sim answered", reg_after, n_reg);
        report("mdev add", add, n_add);
        report("mdev add, after the sim answered", add_after, n_add);
        harness_watch_free(w);
        harness_stop(h);
        free(types_out);
        free(reg);
        free(add);
        free(reg_after);
        free(add_after);
        free(ping);
        free(args);
}

/* PropertiesChanged of a device with Active=true in it. */
static bool became_active(sd_bus_message *m)
{
        const char *iface;

        if (!sd_bus_message_is_signal(m, "org.freedesktop.DBus.Properties", "PropertiesChanged") ||
            sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, MDP_IFACE_DEVICE) != 0 ||
            sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return false;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *name;
                int b = 0;

                if (sd_bus_message_read(m, "s", &name) < 0)
                        return false;
                if (strcmp(name, "Active") == 0) {
                        if (sd_bus_message_read(m, "v", "b", &b) < 0)
                                return false;
                        return b;
                }
                if (sd_bus_message_skip(m, "v") < 0 || sd_bus_message_exit_container(m) < 0)
                        return false;
        }
        return false;
}

static void bench_autostart(int n)
{
        const char *parent = "0000:00:02.0";
        char *args, *host;
        struct harness *h;
        struct harness_watch *w;
        double t0, t = -1, first = -1;
        int active = 0;

        if (asprintf(&args, "--layout single --active 0 --defined %d --start auto", n) < 0)
                abort();
        host = generate(args);
        h = harness_start(&(struct harness_opts){.sysfs = host, .sysfs_move = true});
        harness_sim(h, NULL, "unregister %s", parent);
        start_daemon(h);
        w = harness_watch_signal(h, MDP_BUS_NAME, NULL, "org.freedesktop.DBus.Properties",
                                 "PropertiesChanged");
        t0 = bench_now_ms();
        if (harness_sim(h, NULL, "register %s", parent) == 0)
                while (active < n) {
                        sd_bus_message *m = NULL;
                        if (harness_wait_signal(w, 60000, &m) < 0)
                                break;
                        if (became_active(m) && ++active == 1)
                                first = bench_now_ms() - t0;
                        sd_bus_message_unref(m);
                }
        if (active == n)
                t = bench_now_ms() - t0;
        printf("  %-24s %9.1f ms for %d devices (%.3f ms each; first after %.1f ms)%s\n",
               "autostart on register", t, n, t / n, first, active == n ? "" : " INCOMPLETE");
        if (json)
                fprintf(json,
                        "{%s%s\"bench\":\"autostart\",\"devices\":%d,\"active\":%d,\"ms\":%.3f,\"ms_per_"
                        "device\":%.4f,"
                        "\"first_ms\":%.3f}\n",
                        label ? label : "", label ? "," : "", n, active, t, t / n, first);
        harness_watch_free(w);
        harness_stop(h);
        free(args);
}

static int size = -1, reps = 50, autostart = 0;

/* The harness asserts with Check: run inside a (non-forking) test case so that a failed
 * step prints its message instead of aborting silently. */
START_TEST(bench_all)
{
        if (size >= 0)
                bench_events(size, reps);
        if (autostart > 0)
                bench_autostart(autostart);
}
END_TEST

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"gen", required_argument, NULL, 'g'},
                {"size", required_argument, NULL, 's'},
                {"reps", required_argument, NULL, 'r'},
                {"autostart", required_argument, NULL, 'a'},
                {"label", required_argument, NULL, 'l'},
                {"json", required_argument, NULL, 'j'},
                {},
        };
        int c, failed;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'g':
                        gen = optarg;
                        break;
                case 's':
                        size = atoi(optarg);
                        break;
                case 'r':
                        reps = atoi(optarg);
                        break;
                case 'a':
                        autostart = atoi(optarg);
                        break;
                case 'l':
                        label = optarg;
                        break;
                case 'j':
                        json_path = optarg;
                        break;
                default:
                        return 2;
                }
        if (!gen || (size < 0 && autostart <= 0) || reps < 1) {
                fprintf(stderr,
                        "usage: bench/events --gen GEN.py (--size N [--reps K] | --autostart M) [--label F] "
                        "[--json FILE]\n");
                return 2;
        }
        if (json_path && !(json = fopen(json_path, "ae"))) {
                fprintf(stderr, "bench/events: cannot open %s: %m\n", json_path);
                return 1;
        }
        {
                Suite *suite = suite_create("bench");
                TCase *tc = tcase_create("events");
                SRunner *sr;

                tcase_add_test(tc, bench_all);
                suite_add_tcase(suite, tc);
                sr = srunner_create(suite);
                srunner_set_fork_status(sr, CK_NOFORK);
                srunner_run_all(sr, CK_SILENT);
                failed = srunner_ntests_failed(sr);
                if (failed)
                        srunner_print(sr, CK_NORMAL);
                srunner_free(sr);
        }
        if (json)
                fclose(json);
        return failed ? 1 : 0;
}
