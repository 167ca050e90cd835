/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon on a generated host: cold start and D-Bus method latency.
 *
 *   bench/daemon --root TREE [--daemon PATH] [--starts N] [--calls-budget S] [--label F]
 *                [--json FILE] [-- CMD...]
 *
 * Starts a private dbus-daemon, then N times mdevpasidd with MDEVPASID_ROOT=TREE and a
 * NOTIFY_SOCKET of ours: the time from fork to READY=1 (coldplug, reconcile, bus, initial
 * autostart) and the peak RSS (VmHWM) at that moment. The last instance stays up for the
 * method latency: Peer.Ping (answered by sd-bus itself: the bare round trip through the
 * bus, the floor) interleaved with the Manager's read methods and PlanVm (a VM holding the
 * first active mdev, guest vIOMMU "nopasid"); ratios are median / Ping median. Then CMD, if given, runs with
 * DBUS_SYSTEM_BUS_ADDRESS pointing at that bus (the CLI "with the daemon running"), and everything is
 * stopped.
 *
 * The daemon sees the tree without umockdev: no uevents arrive (bench/events measures
 * those on the simulated host). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "mdp-names.h"
#include "stats.h"
#include "util/macro.h"

#define MAX_SAMPLES 20000

static char bus_dir[] = "/tmp/mdp-bench-bus.XXXXXX";
static char bus_address[PATH_MAX + 32];
static pid_t bus_pid = -1;

static void die(const char *what)
{
        fprintf(stderr, "bench/daemon: %s\n", what);
        if (bus_pid > 0)
                kill(bus_pid, SIGTERM);
        exit(1);
}

static void start_bus(void)
{
        char conf[PATH_MAX], fd_arg[32], conf_arg[PATH_MAX + 32], addr[1024];
        int pipefd[2];
        size_t len = 0;
        FILE *f;

        if (!mkdtemp(bus_dir))
                die("mkdtemp failed");
        snprintf(conf, sizeof(conf), "%s/bus.conf", bus_dir);
        f = fopen(conf, "we");
        if (!f)
                die("cannot write the bus config");
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n"
                "  <type>system</type>\n  <auth>EXTERNAL</auth>\n"
                "  <policy context=\"default\">\n    <allow user=\"*\"/>\n    <allow own=\"*\"/>\n"
                "    <allow send_type=\"method_call\"/>\n    <allow send_destination=\"*\"/>\n"
                "    <allow receive_sender=\"*\"/>\n  </policy>\n"
                "  <listen>unix:path=%s/system_bus_socket</listen>\n</busconfig>\n",
                bus_dir);
        fclose(f);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                die("pipe failed");
        bus_pid = fork();
        if (bus_pid < 0)
                die("fork failed");
        if (bus_pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                snprintf(conf_arg, sizeof(conf_arg), "--config-file=%s", conf);
                snprintf(fd_arg, sizeof(fd_arg), "--print-address=%d", pipefd[1]);
                fcntl(pipefd[1], F_SETFD, 0);
                unsetenv("LD_PRELOAD");
                execlp("dbus-daemon", "dbus-daemon", conf_arg, "--nofork", "--nopidfile", fd_arg,
                       (char *)NULL);
                _exit(127);
        }
        close(pipefd[1]);
        while (!memchr(addr, '\n', len)) {
                ssize_t n = read(pipefd[0], addr + len, sizeof(addr) - 1 - len);
                if (n <= 0)
                        die("dbus-daemon did not start");
                len += (size_t)n;
        }
        close(pipefd[0]);
        snprintf(bus_address, sizeof(bus_address), "unix:path=%s/system_bus_socket", bus_dir);
        setenv("DBUS_SYSTEM_BUS_ADDRESS", bus_address, 1);
        unsetenv("DBUS_SESSION_BUS_ADDRESS");
}

static void stop_bus(void)
{
        char p[PATH_MAX + 32];

        if (bus_pid > 0) {
                kill(bus_pid, SIGTERM);
                waitpid(bus_pid, NULL, 0);
        }
        snprintf(p, sizeof(p), "%s/bus.conf", bus_dir);
        unlink(p);
        snprintf(p, sizeof(p), "%s/system_bus_socket", bus_dir);
        unlink(p);
        snprintf(p, sizeof(p), "%s/notify", bus_dir);
        unlink(p);
        rmdir(bus_dir);
}

/* A /proc/PID/status field in KiB ("VmHWM": the peak; "VmRSS": now), or -1. */
static long vm_kib(pid_t pid, const char *field)
{
        char path[64], line[256];
        size_t l = strlen(field);
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, field, l) == 0 && line[l] == ':') {
                        v = strtol(line + l + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

/* Forks the daemon; returns its pid once READY=1 arrived on notify_fd (ret_ms: fork to
 * READY), or -1 when it died or took over two minutes. */
static pid_t start_daemon(const char *daemon, const char *root, int notify_fd, const char *notify_path,
                          double *ret_ms)
{
        double t0 = bench_now_ms();
        pid_t pid = fork();

        if (pid < 0)
                return -1;
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                setenv("MDEVPASID_ROOT", root, 1);
                setenv("NOTIFY_SOCKET", notify_path, 1);
                if (!getenv("MDEVPASID_LOG_LEVEL"))
                        setenv("MDEVPASID_LOG_LEVEL", "warning", 1);
                execl(daemon, daemon, (char *)NULL);
                _exit(127);
        }
        for (;;) {
                struct pollfd p = {.fd = notify_fd, .events = POLLIN};
                char buf[4096];
                ssize_t n;
                int status;

                if (poll(&p, 1, 100) > 0) {
                        n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
                        if (n > 0) {
                                buf[n] = '\0';
                                if (strstr(buf, "READY=1")) {
                                        *ret_ms = bench_now_ms() - t0;
                                        return pid;
                                }
                        }
                }
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        fprintf(stderr, "bench/daemon: mdevpasidd exited (status 0x%x) before READY=1\n",
                                status);
                        return -1;
                }
                if (bench_now_ms() - t0 > 600000) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return -1;
                }
        }
}

static void stop_daemon(pid_t pid)
{
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
}

struct method {
        const char *name, *interface, *member, *path;
        int args; /* 0 none, 1 "b" false, 2 "b" true, 3 "s" "", 4 PlanVm of one unit, 5 "as" sections */
        double *t;
        size_t n;
        bool failed;
};

static char plan_unit[64]; /* the first active mdev: PlanVm plans a VM holding it */

static int call(sd_bus *bus, struct method *m, double *ret_ms)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        double t0 = bench_now_ms();
        int r;

        switch (m->args) {
        case 1:
        case 2:
                r = sd_bus_call_method(bus, MDP_BUS_NAME, m->path, m->interface, m->member, &error, &reply,
                                       "b", m->args == 2);
                break;
        case 3:
                r = sd_bus_call_method(bus, MDP_BUS_NAME, m->path, m->interface, m->member, &error, &reply,
                                       "s", "");
                break;
        case 5:
                /* what `mdevpasidctl list` asks: the reply is a memfd, mapped by the CLI */
                r = sd_bus_call_method(bus, MDP_BUS_NAME, m->path, m->interface, m->member, &error, &reply,
                                       "as", 1, "devices");
                break;
        case 4:
                r = sd_bus_call_method(bus, MDP_BUS_NAME, m->path, m->interface, m->member, &error, &reply,
                                       "sa{sv}", "bench-vm", 2, "Units", "as", 1, plan_unit, "Viommu", "s",
                                       "nopasid");
                break;
        default:
                r = sd_bus_call_method(bus, MDP_BUS_NAME, m->path, m->interface, m->member, &error, &reply,
                                       NULL);
        }
        *ret_ms = bench_now_ms() - t0;
        sd_bus_message_unref(reply);
        if (r < 0 && !m->failed) {
                fprintf(stderr, "bench/daemon: %s: %s\n", m->name,
                        error.message ? error.message : strerror(-r));
                m->failed = true;
        }
        return r;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"root", required_argument, NULL, 'r'},
                {"daemon", required_argument, NULL, 'd'},
                {"starts", required_argument, NULL, 's'},
                {"calls-budget", required_argument, NULL, 'b'},
                {"label", required_argument, NULL, 'l'},
                {"json", required_argument, NULL, 'j'},
                {},
        };
        struct method methods[] = {
                {"Peer.Ping", "org.freedesktop.DBus.Peer", "Ping", "/", 0},
                {"ListParents", MDP_IFACE_MANAGER, "ListParents", MDP_OBJECT_ROOT, 0},
                {"ListTypes", MDP_IFACE_MANAGER, "ListTypes", MDP_OBJECT_ROOT, 3},
                {"ListDevices", MDP_IFACE_MANAGER, "ListDevices", MDP_OBJECT_ROOT, 1},
                {"ListDevices(defined)", MDP_IFACE_MANAGER, "ListDevices", MDP_OBJECT_ROOT, 2},
                {"Snapshot(devices)", MDP_IFACE_MANAGER, "Snapshot", MDP_OBJECT_ROOT, 5},
                {"Describe", MDP_IFACE_MANAGER, "Describe", MDP_OBJECT_ROOT, 0},
                {"PlanVm(1 mdev, nopasid)", MDP_IFACE_MANAGER, "PlanVm", MDP_OBJECT_ROOT, 4},
        };
        const char *root = NULL, *daemon = "daemon/mdevpasidd", *label = NULL, *json_path = NULL;
        int starts = 5, c, ret = 0;
        double budget_ms = 3000, start_ms[64], start_total_ms = 0;
        long hwm[64], rss[64];
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int notify_fd;
        pid_t pid = -1;
        sd_bus *bus = NULL;
        FILE *json = NULL;

        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        root = optarg;
                        break;
                case 'd':
                        daemon = optarg;
                        break;
                case 's':
                        starts = atoi(optarg);
                        break;
                case 'b':
                        budget_ms = atof(optarg) * 1e3;
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
        if (!root || starts < 1 || starts > 64) {
                fprintf(stderr, "usage: bench/daemon --root TREE [--daemon PATH] [--starts N<=64] "
                                "[--calls-budget S] [--label F] [--json FILE] [-- CMD...]\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        start_bus();
        notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", bus_dir);
        if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                die("cannot bind the notify socket");

        for (int i = 0; i < starts; i++) {
                /* a slow host (a minute of starts) is measured fewer times */
                if (i > 0 && start_total_ms > 60000) {
                        starts = i;
                        break;
                }
                if (pid > 0)
                        stop_daemon(pid);
                pid = start_daemon(daemon, root, notify_fd, sa.sun_path, &start_ms[i]);
                if (pid < 0)
                        die("the daemon did not get ready");
                start_total_ms += start_ms[i];
                hwm[i] = vm_kib(pid, "VmHWM");
                rss[i] = vm_kib(pid, "VmRSS");
        }
        if (json_path && !(json = fopen(json_path, "ae")))
                die("cannot open the JSON file");
        {
                double hwm_d[64], rss_d[64];
                struct bench_stats s, h, now;

                for (int i = 0; i < starts; i++) {
                        hwm_d[i] = (double)hwm[i];
                        rss_d[i] = (double)rss[i];
                }
                s = bench_stats(start_ms, (size_t)starts);
                h = bench_stats(hwm_d, (size_t)starts);
                now = bench_stats(rss_d, (size_t)starts);
                printf("  %-24s %9.2f ms [%8.2f-%8.2f]  VmHWM %6.0f KiB (max %.0f), VmRSS %.0f KiB at READY "
                       " %zu "
                       "starts\n",
                       "cold start to READY=1", s.median, s.p25, s.p75, h.median, h.max, now.median, s.n);
                if (json)
                        fprintf(json,
                                "{%s%s\"bench\":\"daemon-start\",\"runs\":%zu,\"ready_ms\":{\"median\":%.3f,"
                                "\"p25\":%.3f,"
                                "\"p75\":%.3f,\"min\":%.3f,\"max\":%.3f},\"vmhwm_kib\":{\"median\":%.0f,"
                                "\"max\":%.0f},\"vmrss_kib\":%.0f}\n",
                                label ? label : "", label ? "," : "", s.n, s.median, s.p25, s.p75, s.min,
                                s.max, h.median, h.max, now.median);
        }

        /* Method latency on the last instance, interleaved. */
        if (sd_bus_open_system(&bus) < 0)
                die("cannot connect to the private bus");
        {
                sd_bus_message *reply = NULL;
                const char *uuid = NULL;

                if (sd_bus_call_method(bus, MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "ListDevices",
                                       NULL, &reply, "b", false) >= 0 &&
                    sd_bus_message_enter_container(reply, 'a', "(sssbbsa(ss)a{sv})") > 0 &&
                    sd_bus_message_enter_container(reply, 'r', "sssbbsa(ss)a{sv}") > 0 &&
                    sd_bus_message_read(reply, "s", &uuid) > 0)
                        snprintf(plan_unit, sizeof(plan_unit), "%s", uuid);
                sd_bus_message_unref(reply);
        }
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                methods[i].t = calloc(MAX_SAMPLES, sizeof(double));
        {
                double t0 = bench_now_ms(), d;
                for (int k = 0; k < 3; k++) /* warm up: first calls build the reply caches */
                        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                                call(bus, &methods[i], &d);
                for (size_t k = 0; k < MAX_SAMPLES; k++) {
                        if (k >= 5 && bench_now_ms() - t0 > budget_ms)
                                break;
                        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                                if (!methods[i].failed && call(bus, &methods[i], &d) >= 0)
                                        methods[i].t[methods[i].n++] = d;
                }
        }
        {
                double floor = 0;
                for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                        struct method *m = &methods[i];
                        struct bench_stats s = bench_stats(m->t, m->n);
                        if (m->n == 0)
                                continue;
                        if (i == 0)
                                floor = s.median;
                        printf("  %-24s %9.3f ms [%8.3f-%8.3f] p99 %8.3f ms  x%.2f of Ping  %zu calls\n",
                               m->name, s.median, s.p25, s.p75, s.p99, floor > 0 ? s.median / floor : 0,
                               s.n);
                        if (json)
                                fprintf(json,
                                        "{%s%s\"bench\":\"dbus\",\"method\":\"%s\",\"calls\":%zu,\"ms\":{"
                                        "\"median\":%.4f,"
                                        "\"p25\":%.4f,\"p75\":%.4f,\"p99\":%.4f},\"x_ping\":%.3f}\n",
                                        label ? label : "", label ? "," : "", m->name, s.n, s.median, s.p25,
                                        s.p75, s.p99, floor > 0 ? s.median / floor : 0);
                }
        }
        if (json)
                fclose(json);
        sd_bus_flush_close_unref(bus);

        if (optind < argc) {
                pid_t cmd = fork();
                int status = 0;

                if (cmd == 0) {
                        execvp(argv[optind], argv + optind);
                        _exit(127);
                }
                waitpid(cmd, &status, 0);
                ret = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
        stop_daemon(pid);
        close(notify_fd);
        stop_bus();
        return ret;
}
