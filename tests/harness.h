/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Integration harness (TESTING.md layer 3, §G): per test, a simulated host
 * (tests/sim/mdp-kernel-sim on a real-kernel capture or any sysfs tree), a private
 * dbus-daemon with a system-type config, and programs spawned on both; the test drives them
 * over D-Bus, through the CLI, and by playing the kernel (harness_sim()).
 *
 * Use it inside the test (or a checked fixture): sd-bus objects do not survive fork().
 * With CK_FORK a failing test skips teardown; nothing is left behind anyway: the sim and the
 * bus die with the test process (PR_SET_PDEATHSIG, the sim then removes its testbed) and
 * spawned programs are killed with it.
 *
 *   struct harness *h = harness_start(&(struct harness_opts){.fixture = "x86-6.12-sm"});
 *   pid_t d = harness_spawn_service(h, "org.mdevpasid1", 5000, HARNESS_ARGV((char *)harness_program("daemon/mdevpasidd")),
 *                                   NULL);
 *   ... sd_bus_call_method(harness_bus(h), ...) ...
 *   ... harness_sim(h, NULL, "unregister mtty") ...
 *   harness_stop(h);
 *
 * Every function that can fail in a way the test cannot handle asserts (ck_assert) with a
 * message naming what failed; the others return negative errno. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

struct harness;

struct harness_opts {
        const char *fixture;    /* real-kernel capture: variant name, directory or tarball
                                   (default "x86-6.12-sm" when sysfs is not given) */
        const char *sysfs;      /* or any sysfs tree: a root holding sys/, or sys/ itself */
        bool sysfs_move;        /* move that tree into the testbed instead of copying it (it is
                                   used up; for big generated hosts on the same file system) */
        const char *bus_policy; /* extra busconfig file included after the permissive default
                                   policy (authorization tests: its <deny>s win) */
        bool system_policy;     /* base the bus on /usr/share/dbus-1/system.conf instead of
                                   allow-all (dbus-daemon then runs as messagebus) */
        bool no_bus;            /* the simulated host only */
        bool keep;              /* keep the testbed directory after stop (debugging) */
};

/* Starts the sim and (unless no_bus) the bus; exports DBUS_SYSTEM_BUS_ADDRESS, UMOCKDEV_DIR
 * and MDEVPASID_ROOT in the test process. Asserts on failure. */
struct harness *harness_start(const struct harness_opts *opts);
/* Kills what the harness spawned (SIGTERM, then SIGKILL after 5 s), stops the bus and the sim
 * (which removes the testbed), unsets the variables. NULL is fine. */
void harness_stop(struct harness *h);

const char *harness_root(const struct harness *h);        /* the testbed = MDEVPASID_ROOT */
const char *harness_sys(const struct harness *h);         /* <root>/sys */
const char *harness_bus_address(const struct harness *h); /* NULL with no_bus */
pid_t harness_sim_pid(const struct harness *h);
pid_t harness_bus_pid(const struct harness *h);

/* The test's own connection to the private bus (opened on first use, closed by stop). */
sd_bus *harness_bus(struct harness *h);

/* "<top_builddir>/<relpath>" (top_builddir from the test environment, else the build tree
 * this was compiled in). The string is owned by the harness and lives until exit. */
const char *harness_program(const char *relpath);
#define HARNESS_ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

/* The environment spawned programs get: the test's, with LD_PRELOAD = [$ASAN_LIB:]the shim:
 * libumockdev-preload.so.0, UMOCKDEV_DIR = MDEVPASID_ROOT = the testbed,
 * DBUS_SYSTEM_BUS_ADDRESS = the private bus (DBUS_SESSION_BUS_ADDRESS removed),
 * MDEVPASID_DATADIR as the test environment has it, plus extra_env ("K=V", may be NULL).
 * NULL-terminated, free with harness_strv_free(). */
char **harness_environ(struct harness *h, char *const extra_env[]);
void harness_strv_free(char **v);

/* Spawns argv[0] (a path) with harness_environ(); it dies with the test process. Asserts. */
pid_t harness_spawn(struct harness *h, char *const argv[], char *const extra_env[]);
/* harness_spawn(), then waits until bus_name has an owner (or the program exits: asserts
 * with its exit status). Returns the pid. */
pid_t harness_spawn_service(struct harness *h, const char *bus_name, int timeout_ms, char *const argv[],
                            char *const extra_env[]);
/* Waits until bus_name is owned. pid > 0: fail early (-ECHILD) if that child exits.
 * 0 or -ETIMEDOUT / -ECHILD. */
int harness_wait_name(struct harness *h, const char *bus_name, int timeout_ms, pid_t pid);
/* Sends sig to a spawned pid and reaps it (SIGKILL after timeout_ms). Returns the wait status
 * (as from waitpid) or -errno. The pid is forgotten by the harness. */
int harness_kill(struct harness *h, pid_t pid, int sig, int timeout_ms);
/* Waits for a spawned pid to exit by itself; wait status, or -ETIMEDOUT (still running). */
int harness_wait_exit(struct harness *h, pid_t pid, int timeout_ms);

/* Runs a command (the CLI, the hook) with harness_environ() to completion. */
struct harness_run {
        int exit_code; /* exit status, or 128 + signal number */
        bool timed_out; /* killed after timeout_ms */
        char *out;      /* stdout, NUL-terminated */
        char *err;      /* stderr */
};
/* stdin_data may be NULL (stdin is then /dev/null). Returns 0 (see ret->exit_code) or -errno. */
int harness_run(struct harness *h, char *const argv[], char *const extra_env[], const char *stdin_data,
                int timeout_ms, struct harness_run *ret);
void harness_run_clear(struct harness_run *r);

/* A command to the simulated host ("hold <uuid>", "unregister mtty", "fault fail-create EIO");
 * see tests/sim/README.md. Returns 0 or -errno (the sim's refusal: its message in
 * *ret_output). */
int harness_sim(struct harness *h, char **ret_output, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* D-Bus signals: watch first (the match is installed when this returns), act, then wait.
 * Any of sender/path/interface/member may be NULL (wildcard). */
struct harness_watch;
struct harness_watch *harness_watch_signal(struct harness *h, const char *sender, const char *path,
                                           const char *interface, const char *member);
/* The next matching signal (a new reference in *ret, optional), or -ETIMEDOUT. */
int harness_wait_signal(struct harness_watch *w, int timeout_ms, sd_bus_message **ret);
unsigned harness_watch_pending(struct harness_watch *w); /* received, not yet taken */
void harness_watch_free(struct harness_watch *w);

/* For test programs that write sysfs themselves (not through a spawned program): re-executes
 * the current program with the shim added before libumockdev-preload.so in LD_PRELOAD, once,
 * at the start of main(). */
void harness_preload_self(int argc, char **argv);
