/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevpasidd against a simulated host (TESTING.md layer 3; issue 4 and the kernel
 * misbehaviour of issue 10): the real daemon, spawned on a private dbus-daemon, driven over
 * D-Bus by this test while tests/sim/mdp-kernel-sim plays the kernel.
 *
 * What is real: the daemon binary and all of its code, the D-Bus wire (a real dbus-daemon
 * with a system-type configuration), the definition files and state.json on disk, Debian's
 * mdevctl reading them back, signals, kill -9.
 *
 * What is faked:
 *  - the kernel: sysfs is a umockdev testbed built from the x86-6.12-sm real-kernel capture
 *    (mtty, mdpy, mbochs parents with one live mdev each, defined by nobody); the daemon's
 *    sysfs writes go through the sim's write shim, and the sim answers them and sends the
 *    uevents as the captured kernel did (tests/sim/README.md lists its known deviations);
 *  - kernel faults (create errors, devices that never appear, parents vanishing, garbage
 *    attributes, removals blocked by a VFIO user) are the sim's `fault` and `hold` commands;
 *  - a VFIO user that the daemon can name is a hand-made <root>/proc/<pid>/{comm,cmdline,
 *    fd/N -> /dev/vfio/<group>} (the daemon reads /proc under MDEVPASID_ROOT); the sim's
 *    `hold` is what makes the kernel's remove block;
 *  - /etc, /var/lib and /proc are the testbed's (MDEVPASID_ROOT), not the host's.
 *
 * No assertion is about time: waits poll for a state with a generous deadline and fail
 * only when it is never reached. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "mdp-names.h"
#include "snapshot.h"
#include "util/macro.h"
#include "test-help.h"

#define FIXTURE "x86-6.12-sm"
/* The live mdevs of the capture (defined by nobody: foreign to the daemon). */
#define MTTY_LIVE   "29a5d629-5236-452f-9c1b-1e3b31a976cc" /* mtty-2, group 4 */
#define MDPY_LIVE   "cc2a83fb-38a3-4a2a-9b14-a61bd6c96a31" /* mdpy-vga */
#define MBOCHS_LIVE "93d027d2-1b51-482e-aab4-3da2abd511c0" /* mbochs-small */
#define U1          "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c01"
#define U2          "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c02"
#define U3          "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c03"
#define U4          "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c04"
#define U5          "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c05"
#define U6          "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c06"
#define WAIT_MS     20000 /* deadline for states that normally take milliseconds */

/* ---- small helpers ----------------------------------------------------------------------- */

static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static struct harness *start_host(void)
{
        return harness_start(&(struct harness_opts){.fixture = FIXTURE});
}

/* The daemon with short timeouts (the sim answers in milliseconds). */
static pid_t spawn_daemon_full(struct harness *h, const char *start_timeout, char *const extra_env[])
{
        char st[64], *argv[] = {(char *)harness_program("daemon/mdevpasidd"), st, "--stop-timeout=1500",
                                "--autostart-delay=100", NULL};

        snprintf(st, sizeof(st), "--start-timeout=%s", start_timeout ? start_timeout : "5000");
        return harness_spawn_service(h, MDP_BUS_NAME, WAIT_MS, argv, extra_env);
}

static pid_t spawn_daemon(struct harness *h)
{
        return spawn_daemon_full(h, NULL, NULL);
}

static char *device_path(const char *uuid)
{
        char *p = NULL;
        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_DEVICES, uuid, &p), 0);
        return p;
}

static char *parent_path(const char *name)
{
        char *p = NULL;
        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_PARENTS, name, &p), 0);
        return p;
}

static int vcall(struct harness *h, const char *member, sd_bus_error *e, sd_bus_message **reply,
                 const char *types, va_list ap)
{
        return sd_bus_call_methodv(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, member,
                                   e, reply, types, ap);
}

/* A Manager call that must succeed; the reply (may be NULL) for the caller. */
static sd_bus_message *call_ok(struct harness *h, const char *member, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = vcall(h, member, &e, &reply, types, ap);
        va_end(ap);
        ck_assert_msg(r >= 0, "%s failed: %s: %s", member, e.name, e.message);
        sd_bus_error_free(&e);
        return reply;
}

/* A Manager call that must fail with error_name; returns the message (malloc'd). */
static char *call_err(struct harness *h, const char *error_name, const char *member, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char *msg;
        va_list ap;
        int r;

        va_start(ap, types);
        r = vcall(h, member, &e, &reply, types, ap);
        va_end(ap);
        sd_bus_message_unref(reply);
        ck_assert_msg(r < 0, "%s (%s) succeeded, expected %s", member, types, error_name);
        ck_assert_msg(e.name && strcmp(e.name, error_name) == 0, "%s failed with %s (%s), expected %s",
                      member, e.name, e.message, error_name);
        /* Errors are sentences, never "os error 22" (issue 4). */
        ck_assert_msg(e.message && strlen(e.message) > 10 && !strstr(e.message, "os error"),
                      "%s: bad message \"%s\"", member, e.message);
        msg = strdup(e.message);
        sd_bus_error_free(&e);
        return msg;
}

static void define(struct harness *h, const char *parent, const char *type, const char *uuid, bool autostart)
{
        sd_bus_message_unref(
                call_ok(h, "Define", "sssba(ss)a{sv}", parent, type, uuid, (int)autostart, 0, 0));
}

static void start(struct harness *h, const char *uuid)
{
        sd_bus_message_unref(call_ok(h, "Start", "ss", uuid, ""));
}

static void stop(struct harness *h, const char *uuid)
{
        sd_bus_message_unref(call_ok(h, "Stop", "s", uuid));
}

static void create(struct harness *h, const char *parent, const char *type, const char *uuid)
{
        sd_bus_message *reply = call_ok(h, "Create", "sssa(ss)a{sv}", parent, type, uuid, 0, 0);
        const char *got;
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &got), 0);
        ck_assert_str_eq(got, uuid);
        sd_bus_message_unref(reply);
}

/* A Device property as text ("s"), or NULL when the object does not exist. */
static char *dev_prop_s(struct harness *h, const char *uuid, const char *name)
{
        _cleanup_free_ char *path = device_path(uuid);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *v = NULL;
        int r = sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_DEVICE, name, &e,
                                           &v);
        sd_bus_error_free(&e);
        return r < 0 ? NULL : v;
}

/* A Device boolean: 0/1, -1 when the object does not exist. */
static int dev_prop_b(struct harness *h, const char *uuid, const char *name)
{
        _cleanup_free_ char *path = device_path(uuid);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int v = 0;
        int r = sd_bus_get_property_trivial(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_DEVICE, name, &e,
                                            'b', &v);
        sd_bus_error_free(&e);
        return r < 0 ? -1 : !!v;
}

static bool dev_exists(struct harness *h, const char *uuid)
{
        return dev_prop_b(h, uuid, "Active") >= 0;
}

static void assert_dev_s(struct harness *h, const char *uuid, const char *name, const char *want)
{
        _cleanup_free_ char *v = dev_prop_s(h, uuid, name);
        ck_assert_msg(v && strcmp(v, want) == 0, "device %s: %s is \"%s\", expected \"%s\"", uuid, name,
                      v ? v : "(no object)", want);
}

/* Polls until the device's string property has the value (or the object is gone when want
 * is NULL); asserts at the deadline. */
static void wait_dev_s(struct harness *h, const char *uuid, const char *name, const char *want)
{
        long end = now_ms() + WAIT_MS;
        char *v = NULL;

        for (;;) {
                free(v);
                v = dev_prop_s(h, uuid, name);
                if (want ? (v && strcmp(v, want) == 0) : !v)
                        break;
                ck_assert_msg(now_ms() < end, "device %s: %s stayed \"%s\", expected \"%s\"", uuid, name,
                              v ? v : "(no object)", want ? want : "(no object)");
                usleep(20 * 1000);
        }
        free(v);
}

static bool sys_exists(struct harness *h, const char *rel)
{
        char *p;
        bool r;
        ck_assert_int_ge(asprintf(&p, "%s/%s", harness_sys(h), rel), 0);
        r = access(p, F_OK) == 0;
        free(p);
        return r;
}

static bool mdev_in_sysfs(struct harness *h, const char *uuid)
{
        _cleanup_free_ char *rel = NULL;
        ck_assert_int_ge(asprintf(&rel, "bus/mdev/devices/%s", uuid), 0);
        return sys_exists(h, rel);
}

static long sys_read_long(struct harness *h, const char *rel)
{
        _cleanup_free_ char *p = NULL;
        char buf[64] = "";
        FILE *f;

        ck_assert_int_ge(asprintf(&p, "%s/%s", harness_sys(h), rel), 0);
        f = fopen(p, "re");
        ck_assert_msg(f, "%s: %s", p, strerror(errno));
        ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
        fclose(f);
        return strtol(buf, NULL, 10);
}

static char *def_file(struct harness *h, const char *parent, const char *uuid)
{
        char rel[256];
        snprintf(rel, sizeof(rel), "etc/mdevctl.d/%s/%s", parent, uuid);
        return test_read(harness_root(h), rel);
}

static bool def_exists(struct harness *h, const char *parent, const char *uuid)
{
        _cleanup_free_ char *f = def_file(h, parent, uuid);
        return f != NULL;
}

static void write_def(struct harness *h, const char *parent, const char *uuid, const char *content)
{
        char rel[256];
        snprintf(rel, sizeof(rel), "etc/mdevctl.d/%s/%s", parent, uuid);
        test_write(harness_root(h), rel, content);
}

static char *sim_out(struct harness *h, const char *cmd)
{
        char *out = NULL;
        int r = harness_sim(h, &out, "%s", cmd);
        ck_assert_msg(r == 0, "sim %s: %s (%s)", cmd, strerror(-r), out ? out : "");
        return out;
}

static void sim(struct harness *h, const char *cmd)
{
        free(sim_out(h, cmd));
}

/* Waits until the kernel (the sim) has the removal of uuid pending: the daemon's remove write
 * arrived and blocks. */
static void wait_sim_removing(struct harness *h, const char *uuid)
{
        long end = now_ms() + WAIT_MS;

        for (;;) {
                _cleanup_free_ char *list = sim_out(h, "list");
                const char *line = strstr(list, uuid);
                if (line && strstr(line, " removing") && strstr(line, " removing") < strchrnul(line, '\n'))
                        return;
                ck_assert_msg(now_ms() < end, "the removal of %s never reached the kernel:\n%s", uuid, list);
                usleep(20 * 1000);
        }
}

/* state.json, parsed (asserts it exists and parses). */
static json_object *read_state(struct harness *h)
{
        _cleanup_free_ char *p = NULL;
        json_object *o;

        ck_assert_int_ge(asprintf(&p, "%s/var/lib/mdevpasid/state.json", harness_root(h)), 0);
        o = json_object_from_file(p);
        ck_assert_msg(o, "%s does not parse: %s", p, json_util_get_last_err());
        return o;
}

/* Whether a state.json section ("devices", "operations") has an entry for uuid; with
 * operation != NULL, that operation. */
static bool state_has(json_object *st, const char *section, const char *uuid, const char *operation)
{
        json_object *a = NULL;
        if (!json_object_object_get_ex(st, section, &a))
                return false;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i), *u = NULL, *op = NULL;
                if (!json_object_object_get_ex(e, "uuid", &u) ||
                    strcmp(json_object_get_string(u), uuid) != 0)
                        continue;
                if (!operation)
                        return true;
                if (json_object_object_get_ex(e, "operation", &op) &&
                    strcmp(json_object_get_string(op), operation) == 0)
                        return true;
        }
        return false;
}

static size_t state_count(json_object *st, const char *section)
{
        json_object *a = NULL;
        return json_object_object_get_ex(st, section, &a) ? json_object_array_length(a) : 0;
}

/* Manager.Warnings joined with newlines. */
static char *warnings(struct harness *h)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char **v = NULL, *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        ck_assert_int_ge(sd_bus_get_property_strv(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                  MDP_IFACE_MANAGER, "Warnings", &e, &v),
                         0);
        for (char **i = v; i && *i; i++) {
                fprintf(f, "%s\n", *i);
                free(*i);
        }
        free(v);
        fclose(f);
        return out;
}

/* Snapshot(sections) mapped: asserts the memfd is sealed against any change and that the
 * sender cannot be written through (what the CLI relies on when it maps the file). Returns
 * the mapping's text with NULs as '|' and records on lines ("tag|field|...|"), for
 * comparisons; sections is NULL-terminated. */
static char *snapshot_text(struct harness *h, const char *const *sections)
{
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct mdp_snapshot_reader rd;
        struct mdp_snapshot_record rec;
        const void *data;
        size_t size, len = 0;
        char *out = NULL;
        FILE *f = open_memstream(&out, &len);
        int fd, r;

        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "Snapshot"),
                         0);
        ck_assert_int_ge(sd_bus_message_append_strv(m, (char **)sections), 0);
        r = sd_bus_call(harness_bus(h), m, 0, &e, &reply);
        ck_assert_msg(r >= 0, "Snapshot: %s: %s", e.name, e.message);
        ck_assert_int_ge(sd_bus_message_read(reply, "h", &fd), 0);
        ck_assert_int_eq(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        ck_assert_int_eq(mdp_snapshot_map(fd, &data, &size), 0);
        ck_assert_int_lt(pwrite(fd, "x", 1, 0), 0);
        ck_assert_int_eq(mdp_snapshot_reader_init(&rd, data, size), 0);
        while ((r = mdp_snapshot_next(&rd, &rec)) > 0) {
                unsigned n = rec.tag == 'P' ? MDP_SNAPSHOT_PARENT_FIELDS
                             : rec.tag == 'T' ? MDP_SNAPSHOT_TYPE_FIELDS
                             : rec.tag == 'A' ? MDP_SNAPSHOT_ATTR_FIELDS
                                              : MDP_SNAPSHOT_DEVICE_FIELDS;
                fputc(rec.tag, f);
                for (unsigned i = 0; i < n; i++)
                        fprintf(f, "|%s", rec.field[i]);
                fputc('\n', f);
        }
        ck_assert_int_eq(r, 0);
        munmap((void *)data, size);
        fclose(f);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        return out;
}

/* ListDevices(defined) in snapshot_text()'s form: every field of every record, attributes
 * as "A" lines. */
static char *list_devices_full(struct harness *h, bool defined)
{
        sd_bus_message *reply = call_ok(h, "ListDevices", "b", (int)defined);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(sssbbsa(ss)a{sv})"), 0);
        while (sd_bus_message_enter_container(reply, 'r', "sssbbsa(ss)a{sv}") > 0) {
                const char *uuid, *parent, *type, *st, *k, *v, *owner = "?", *state = "?", *class = "?",
                                                            *last_error = "?";
                _cleanup_free_ char *attrs = NULL;
                size_t alen = 0;
                FILE *af = open_memstream(&attrs, &alen);
                int active, def, group = -2;

                ck_assert_int_ge(
                        sd_bus_message_read(reply, "sssbbs", &uuid, &parent, &type, &active, &def, &st), 0);
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(ss)"), 0);
                while (sd_bus_message_read(reply, "(ss)", &k, &v) > 0)
                        fprintf(af, "A|%s|%s\n", k, v);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                fclose(af);
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{sv}"), 0);
                while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                        ck_assert_int_ge(sd_bus_message_read(reply, "s", &k), 0);
                        if (strcmp(k, "iommu_group") == 0)
                                ck_assert_int_ge(sd_bus_message_read(reply, "v", "i", &group), 0);
                        else if (strcmp(k, "owner") == 0)
                                ck_assert_int_ge(sd_bus_message_read(reply, "v", "s", &owner), 0);
                        else if (strcmp(k, "state") == 0)
                                ck_assert_int_ge(sd_bus_message_read(reply, "v", "s", &state), 0);
                        else if (strcmp(k, "class") == 0)
                                ck_assert_int_ge(sd_bus_message_read(reply, "v", "s", &class), 0);
                        else if (strcmp(k, "last_error") == 0)
                                ck_assert_int_ge(sd_bus_message_read(reply, "v", "s", &last_error), 0);
                        else
                                ck_assert_int_ge(sd_bus_message_skip(reply, "v"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                }
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                fprintf(f, "%c|%s|%s|%s|%d|%d|%s|%s|%s|%s|%d|%s\n%s", defined ? 'd' : 'D', uuid, parent, type,
                        active, def, st, owner, state, class, group, last_error, attrs);
        }
        fclose(f);
        sd_bus_message_unref(reply);
        return out;
}

/* Snapshot and ListDevices must say the same, record for record: checked at every
 * list_devices() of every test, so in every state the tests drive the daemon into. */
static void assert_snapshot_matches_list(struct harness *h, bool defined)
{
        _cleanup_free_ char *list = list_devices_full(h, defined);
        _cleanup_free_ char *snap =
                snapshot_text(h, (const char *const[]){defined ? "definitions" : "devices", NULL});

        ck_assert_msg(strcmp(list, snap) == 0, "ListDevices(%d):\n%s\nSnapshot:\n%s", defined, list, snap);
}

/* ListDevices(defined) as "uuid parent type active defined start owner state" lines. */
static char *list_devices(struct harness *h, bool defined)
{
        sd_bus_message *reply;

        assert_snapshot_matches_list(h, defined);
        reply = call_ok(h, "ListDevices", "b", (int)defined);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(sssbbsa(ss)a{sv})"), 0);
        while (sd_bus_message_enter_container(reply, 'r', "sssbbsa(ss)a{sv}") > 0) {
                const char *uuid, *parent, *type, *st, *owner = "", *state = "";
                int active, def;

                ck_assert_int_ge(
                        sd_bus_message_read(reply, "sssbbs", &uuid, &parent, &type, &active, &def, &st), 0);
                ck_assert_int_ge(sd_bus_message_skip(reply, "a(ss)"), 0);
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{sv}"), 0);
                while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                        const char *k;
                        ck_assert_int_ge(sd_bus_message_read(reply, "s", &k), 0);
                        if (strcmp(k, "owner") == 0)
                                ck_assert_int_ge(sd_bus_message_read(reply, "v", "s", &owner), 0);
                        else if (strcmp(k, "state") == 0)
                                ck_assert_int_ge(sd_bus_message_read(reply, "v", "s", &state), 0);
                        else
                                ck_assert_int_ge(sd_bus_message_skip(reply, "v"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                }
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                fprintf(f, "%s %s %s %d %d %s %s %s\n", uuid, parent, type, active, def, st, owner, state);
        }
        fclose(f);
        sd_bus_message_unref(reply);
        return out;
}

/* Waits for a signal whose first argument (an object path or an interface name: both read
 * as text) is arg0; other matching signals are dropped. Returns it (unref it). */
static sd_bus_message *wait_signal_arg0(struct harness_watch *w, const char *what, const char *arg0)
{
        long end = now_ms() + WAIT_MS;

        for (;;) {
                sd_bus_message *m = NULL;
                const char *a = NULL;
                char t = 0;
                long left = end - now_ms();

                ck_assert_msg(left > 0 && harness_wait_signal(w, (int)left, &m) == 0, "no %s signal for %s",
                              what, arg0);
                ck_assert_int_ge(sd_bus_message_peek_type(m, &t, NULL), 0);
                if (sd_bus_message_read_basic(m, t, &a) >= 0 && a && strcmp(a, arg0) == 0) {
                        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
                        return m;
                }
                sd_bus_message_unref(m);
        }
}

/* Waits for PropertiesChanged on a device with property name = the boolean value. */
static void wait_dev_changed_b(struct harness_watch *w, const char *name, int value)
{
        long end = now_ms() + WAIT_MS;

        for (;;) {
                sd_bus_message *m = NULL;
                const char *iface, *k;
                long left = end - now_ms();
                bool found = false;

                ck_assert_msg(left > 0 && harness_wait_signal(w, (int)left, &m) == 0,
                              "no PropertiesChanged with %s=%d", name, value);
                ck_assert_int_ge(sd_bus_message_read(m, "s", &iface), 0);
                if (strcmp(iface, MDP_IFACE_DEVICE) == 0) {
                        ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
                        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                                ck_assert_int_ge(sd_bus_message_read(m, "s", &k), 0);
                                if (strcmp(k, name) == 0) {
                                        int v;
                                        ck_assert_int_ge(sd_bus_message_read(m, "v", "b", &v), 0);
                                        found = !!v == !!value;
                                } else
                                        ck_assert_int_ge(sd_bus_message_skip(m, "v"), 0);
                                ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
                        }
                }
                sd_bus_message_unref(m);
                if (found)
                        return;
        }
}

static void assert_alive(struct harness *h, pid_t daemon)
{
        sd_bus_message *reply;

        ck_assert_msg(harness_wait_exit(h, daemon, 0) == -ETIMEDOUT, "the daemon exited");
        reply = call_ok(h, "ListParents", "");
        sd_bus_message_unref(reply);
}

/* ---- introspection against conf/org.mdevpasid1.xml ------------------------------------------ */

/* One interface as sorted text lines: "method X", " in|out NAME TYPE", " @ANNOTATION=VALUE",
 * "property X TYPE ACCESS", "signal X". Comments and whitespace do not matter; the
 * EmitsChangedSignal annotation's default "true" equals its absence (D-Bus specification). */
struct iface_desc {
        char *name;
        char **members; /* one text block per member */
        size_t n;
};

static void free_ifaces(struct iface_desc *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                for (size_t k = 0; k < v[i].n; k++)
                        free(v[i].members[k]);
                free(v[i].members);
                free(v[i].name);
        }
        free(v);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void describe_annotations(FILE *f, xmlNode *node)
{
        char **lines = NULL;
        size_t n = 0;

        for (xmlNode *c = node->children; c; c = c->next) {
                xmlChar *name, *value;
                if (c->type != XML_ELEMENT_NODE || !xmlStrEqual(c->name, BAD_CAST "annotation"))
                        continue;
                name = xmlGetProp(c, BAD_CAST "name");
                value = xmlGetProp(c, BAD_CAST "value");
                if (!(xmlStrEqual(name, BAD_CAST "org.freedesktop.DBus.Property.EmitsChangedSignal") &&
                      xmlStrEqual(value, BAD_CAST "true"))) {
                        lines = realloc(lines, (n + 1) * sizeof(*lines));
                        ck_assert_int_ge(asprintf(&lines[n++], "  @%s=%s\n", (char *)name,
                                                  value ? (char *)value : ""),
                                         0);
                }
                xmlFree(name);
                xmlFree(value);
        }
        if (n > 1)
                qsort(lines, n, sizeof(*lines), cmp_str);
        for (size_t i = 0; i < n; i++) {
                fputs(lines[i], f);
                free(lines[i]);
        }
        free(lines);
}

static char *describe_member(xmlNode *m)
{
        xmlChar *name = xmlGetProp(m, BAD_CAST "name");
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        bool method = xmlStrEqual(m->name, BAD_CAST "method");

        if (xmlStrEqual(m->name, BAD_CAST "property")) {
                xmlChar *type = xmlGetProp(m, BAD_CAST "type"), *access = xmlGetProp(m, BAD_CAST "access");
                fprintf(f, "property %s %s %s\n", name, type, access);
                xmlFree(type);
                xmlFree(access);
        } else {
                fprintf(f, "%s %s\n", (char *)m->name, name);
                for (xmlNode *c = m->children; c; c = c->next) {
                        xmlChar *an, *at, *ad;
                        if (c->type != XML_ELEMENT_NODE || !xmlStrEqual(c->name, BAD_CAST "arg"))
                                continue;
                        an = xmlGetProp(c, BAD_CAST "name");
                        at = xmlGetProp(c, BAD_CAST "type");
                        ad = xmlGetProp(c, BAD_CAST "direction");
                        /* A method argument's direction defaults to "in"; a signal's is "out". */
                        fprintf(f, "  %s %s %s\n", method ? (ad ? (char *)ad : "in") : "out",
                                an ? (char *)an : "(unnamed)", at);
                        describe_annotations(f, c);
                        xmlFree(an);
                        xmlFree(at);
                        xmlFree(ad);
                }
        }
        describe_annotations(f, m);
        fclose(f);
        xmlFree(name);
        return out;
}

static struct iface_desc *parse_introspection(const char *xml, size_t *ret_n)
{
        xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "introspection.xml", NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOBLANKS);
        struct iface_desc *v = NULL;
        size_t n = 0;

        ck_assert_msg(doc, "introspection data does not parse:\n%s", xml);
        for (xmlNode *i = xmlDocGetRootElement(doc)->children; i; i = i->next) {
                xmlChar *name;
                if (i->type != XML_ELEMENT_NODE || !xmlStrEqual(i->name, BAD_CAST "interface"))
                        continue;
                v = realloc(v, (n + 1) * sizeof(*v));
                name = xmlGetProp(i, BAD_CAST "name");
                v[n] = (struct iface_desc){.name = strdup((char *)name)};
                xmlFree(name);
                for (xmlNode *m = i->children; m; m = m->next) {
                        if (m->type != XML_ELEMENT_NODE || !(xmlStrEqual(m->name, BAD_CAST "method") ||
                                                             xmlStrEqual(m->name, BAD_CAST "property") ||
                                                             xmlStrEqual(m->name, BAD_CAST "signal")))
                                continue;
                        v[n].members = realloc(v[n].members, (v[n].n + 1) * sizeof(char *));
                        v[n].members[v[n].n++] = describe_member(m);
                }
                if (v[n].n > 1)
                        qsort(v[n].members, v[n].n, sizeof(char *), cmp_str);
                n++;
        }
        xmlFreeDoc(doc);
        *ret_n = n;
        return v;
}

static const struct iface_desc *find_iface(const struct iface_desc *v, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return &v[i];
        return NULL;
}

/* "method Foo\n..." -> "method Foo" (the member's key). */
static char *member_key(const char *block)
{
        return strndup(block, strcspn(block, "\n"));
}

static const char *find_member(const struct iface_desc *d, const char *key)
{
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *k = member_key(d->members[i]);
                if (strcmp(k, key) == 0)
                        return d->members[i];
        }
        return NULL;
}

static char *introspect(struct harness *h, const char *path)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *xml;
        char *copy;

        ck_assert_msg(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, path,
                                         "org.freedesktop.DBus.Introspectable", "Introspect", &e, &reply,
                                         "") >= 0,
                      "Introspect %s: %s", path, e.message);
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &xml), 0);
        copy = strdup(xml);
        sd_bus_message_unref(reply);
        return copy;
}

/* The object at path carries the interface `expected`; every non-standard interface it
 * carries is in the contract and equal to it: every member either side declares is on the
 * other with the same signature, argument names and directions, access and annotations. */
static void compare_object(struct harness *h, const char *path, const char *expected,
                           const struct iface_desc *contract, size_t n_contract, unsigned *ret_compared)
{
        _cleanup_free_ char *xml = introspect(h, path);
        struct iface_desc *live;
        size_t n_live = 0;
        bool saw_expected = false;

        live = parse_introspection(xml, &n_live);
        for (size_t i = 0; i < n_live; i++) {
                const struct iface_desc *want;

                if (strncmp(live[i].name, "org.freedesktop.DBus.", strlen("org.freedesktop.DBus.")) == 0)
                        continue; /* Peer, Introspectable, Properties, ObjectManager: sd-bus's */
                want = find_iface(contract, n_contract, live[i].name);
                ck_assert_msg(want,
                              "%s carries interface %s, which conf/org.mdevpasid1.xml does not declare",
                              path, live[i].name);
                saw_expected |= strcmp(live[i].name, expected) == 0;
                for (size_t k = 0; k < live[i].n; k++) {
                        _cleanup_free_ char *key = member_key(live[i].members[k]);
                        const char *w = find_member(want, key);
                        ck_assert_msg(w, "%s: %s.%s is not in conf/org.mdevpasid1.xml:\n%s", path,
                                      live[i].name, key, live[i].members[k]);
                        ck_assert_msg(strcmp(w, live[i].members[k]) == 0,
                                      "%s: %s differs.\nconf/org.mdevpasid1.xml:\n%sdaemon:\n%s", path,
                                      live[i].name, w, live[i].members[k]);
                        (*ret_compared)++;
                }
                for (size_t k = 0; k < want->n; k++) {
                        _cleanup_free_ char *key = member_key(want->members[k]);
                        ck_assert_msg(find_member(&live[i], key),
                                      "%s: %s.%s is declared but the daemon lacks it", path, live[i].name,
                                      key);
                }
        }
        ck_assert_msg(saw_expected, "%s does not carry %s:\n%s", path, expected, xml);
        free_ifaces(live, n_live);
}

START_TEST(test_introspection)
{
        struct harness *h = start_host();
        _cleanup_free_ char *contract_xml = NULL, *root_xml = NULL, *ppath = parent_path("mtty"),
                            *dpath = device_path(MTTY_LIVE);
        struct iface_desc *contract;
        size_t n_contract = 0;
        unsigned compared = 0;
        sd_bus_message *reply = NULL;
        unsigned n_objects = 0;
        bool saw_parent = false, saw_device = false;

        contract_xml = test_read(test_srcdir(), "conf/org.mdevpasid1.xml");
        ck_assert_ptr_nonnull(contract_xml);
        contract = parse_introspection(contract_xml, &n_contract);
        ck_assert_ptr_nonnull(find_iface(contract, n_contract, MDP_IFACE_MANAGER));
        spawn_daemon(h);

        compare_object(h, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, contract, n_contract, &compared);
        compare_object(h, ppath, MDP_IFACE_PARENT, contract, n_contract, &compared);
        compare_object(h, dpath, MDP_IFACE_DEVICE, contract, n_contract, &compared);
        /* A defined (not active) device is the same kind of object. */
        define(h, "mtty", "mtty-1", U1, false);
        {
                _cleanup_free_ char *p = device_path(U1);
                compare_object(h, p, MDP_IFACE_DEVICE, contract, n_contract, &compared);
        }
        ck_assert_uint_ge(compared, 30);
        fprintf(stderr, "check_daemon: %u members compared with conf/org.mdevpasid1.xml\n", compared);

        /* ObjectManager on the root: every parent and device object with its interface. */
        root_xml = introspect(h, MDP_OBJECT_ROOT);
        ck_assert_msg(strstr(root_xml, "<interface name=\"org.freedesktop.DBus.ObjectManager\">"), "%s",
                      root_xml);
        ck_assert_int_ge(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                            "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL,
                                            &reply, ""),
                         0);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), 0);
        while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
                const char *path, *iface;
                bool ours = false;
                ck_assert_int_ge(sd_bus_message_read(reply, "o", &path), 0);
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{sa{sv}}"), 0);
                while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
                        ck_assert_int_ge(sd_bus_message_read(reply, "s", &iface), 0);
                        ours |= strcmp(iface, MDP_IFACE_PARENT) == 0 || strcmp(iface, MDP_IFACE_DEVICE) == 0;
                        ck_assert_int_ge(sd_bus_message_skip(reply, "a{sv}"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                }
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                saw_parent |= strcmp(path, ppath) == 0 && ours;
                saw_device |= strcmp(path, dpath) == 0 && ours;
                n_objects += ours;
        }
        sd_bus_message_unref(reply);
        ck_assert(saw_parent && saw_device);
        ck_assert_uint_eq(n_objects, 3 + 3 + 1); /* 3 parents, 3 live mdevs, U1 */
        free_ifaces(contract, n_contract);
        harness_stop(h);
}
END_TEST

/* ---- lifecycle ----------------------------------------------------------------------------- */

START_TEST(test_define_start_stop_undefine)
{
        struct harness *h = start_host();
        _cleanup_free_ char *path = device_path(U1), *file = NULL, *list = NULL, *err = NULL;
        struct harness_watch *added, *removed, *changed;
        sd_bus_message *m;
        json_object *st;
        long avail0;

        spawn_daemon(h);
        added = harness_watch_signal(h, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager",
                                     "InterfacesAdded");
        removed = harness_watch_signal(h, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                       "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved");
        changed = harness_watch_signal(h, MDP_BUS_NAME, path, "org.freedesktop.DBus.Properties",
                                       "PropertiesChanged");

        /* define: the file in mdevctl's exact bytes, an object, InterfacesAdded */
        sd_bus_message_unref(call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U1, 0, 0, 0));
        file = def_file(h, "mtty", U1);
        ck_assert_ptr_nonnull(file);
        ck_assert_str_eq(file,
                         "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        m = wait_signal_arg0(added, "InterfacesAdded", path);
        sd_bus_message_unref(m);
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 1);
        ck_assert_int_eq(dev_prop_b(h, U1, "Active"), 0);
        ck_assert_int_eq(dev_prop_b(h, U1, "Autostart"), 0);
        assert_dev_s(h, U1, "Parent", "mtty");
        assert_dev_s(h, U1, "Type", "mtty-1");
        assert_dev_s(h, U1, "State", "inactive");
        assert_dev_s(h, U1, "Owner", "mdevctl");
        ck_assert(!mdev_in_sysfs(h, U1));
        /* defining it again on the same parent */
        err = call_err(h, MDP_ERROR_ALREADY_EXISTS, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U1, 0, 0,
                       0);
        ck_assert_msg(strstr(err, U1), "%s", err);

        /* start: sysfs, properties, PropertiesChanged(Active=true), ownership in state.json */
        avail0 = sys_read_long(h, "class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances");
        start(h, U1);
        ck_assert(mdev_in_sysfs(h, U1));
        ck_assert(sys_exists(h, "bus/mdev/devices/" U1 "/driver"));
        ck_assert_int_eq(
                sys_read_long(h, "class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances"),
                avail0 - 1);
        wait_dev_changed_b(changed, "Active", 1);
        ck_assert_int_eq(dev_prop_b(h, U1, "Active"), 1);
        assert_dev_s(h, U1, "State", "active");
        assert_dev_s(h, U1, "Owner", "mdevpasid");
        assert_dev_s(h, U1, "Driver", "mtty"); /* the vendor driver binds mdevs since Linux 5.16 */
        {
                _cleanup_free_ char *g = dev_prop_s(h, U1, "VfioGroup");
                ck_assert_msg(g && strncmp(g, "/dev/vfio/", 10) == 0, "VfioGroup %s", g);
        }
        st = read_state(h);
        ck_assert(state_has(st, "devices", U1, NULL));
        ck_assert_uint_eq(state_count(st, "operations"), 0);
        json_object_put(st);
        list = list_devices(h, false);
        ck_assert_msg(strstr(list, U1 " mtty mtty-1 1 1 manual mdevpasid active\n"), "%s", list);
        list = mfree(list);
        err = mfree(err);
        /* starting it again */
        err = call_err(h, MDP_ERROR_ALREADY_EXISTS, "Start", "ss", U1, "");

        /* stop: gone from sysfs, definition kept, PropertiesChanged(Active=false) */
        stop(h, U1);
        ck_assert(!mdev_in_sysfs(h, U1));
        wait_dev_changed_b(changed, "Active", 0);
        ck_assert_int_eq(dev_prop_b(h, U1, "Active"), 0);
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 1);
        assert_dev_s(h, U1, "State", "inactive");
        ck_assert_int_eq(
                sys_read_long(h, "class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances"),
                avail0);
        free(file);
        file = def_file(h, "mtty", U1);
        ck_assert_str_eq(file,
                         "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        st = read_state(h);
        ck_assert(!state_has(st, "devices", U1, NULL));
        json_object_put(st);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_NO_SUCH_DEVICE, "Stop", "s", U1);

        /* undefine: the file and the object go (InterfacesRemoved) */
        sd_bus_message_unref(call_ok(h, "Undefine", "ss", U1, ""));
        ck_assert(!def_exists(h, "mtty", U1));
        m = wait_signal_arg0(removed, "InterfacesRemoved", path);
        sd_bus_message_unref(m);
        ck_assert(!dev_exists(h, U1));
        err = mfree(err);
        err = call_err(h, MDP_ERROR_NO_SUCH_DEVICE, "Undefine", "ss", U1, "");
        list = list_devices(h, true);
        ck_assert_str_eq(list, "");

        harness_watch_free(added);
        harness_watch_free(removed);
        harness_watch_free(changed);
        harness_stop(h);
}
END_TEST

START_TEST(test_transient_create_remove)
{
        struct harness *h = start_host();
        _cleanup_free_ char *path = device_path(U2), *err = NULL, *list = NULL, *generated = NULL;
        struct harness_watch *added = harness_watch_signal(
                h, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded");
        struct harness_watch *removed = harness_watch_signal(
                h, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved");
        sd_bus_message *reply;
        json_object *st;

        spawn_daemon(h);
        create(h, "mtty", "mtty-2", U2);
        ck_assert(mdev_in_sysfs(h, U2));
        sd_bus_message_unref(wait_signal_arg0(added, "InterfacesAdded", path));
        ck_assert_int_eq(dev_prop_b(h, U2, "Active"), 1);
        ck_assert_int_eq(dev_prop_b(h, U2, "Defined"), 0);
        assert_dev_s(h, U2, "Owner", "mdevpasid");
        assert_dev_s(h, U2, "Type", "mtty-2");
        ck_assert(!def_exists(h, "mtty", U2)); /* transient: no file */
        st = read_state(h);
        ck_assert(state_has(st, "devices", U2, NULL));
        json_object_put(st);

        /* uuid "" generates one */
        reply = call_ok(h, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", "", 0, 0);
        {
                const char *u;
                ck_assert_int_ge(sd_bus_message_read(reply, "s", &u), 0);
                generated = strdup(u);
        }
        sd_bus_message_unref(reply);
        ck_assert_int_eq(strlen(generated), 36);
        ck_assert(mdev_in_sysfs(h, generated));

        /* Remove of a transient device */
        sd_bus_message_unref(call_ok(h, "Remove", "s", U2));
        ck_assert(!mdev_in_sysfs(h, U2));
        sd_bus_message_unref(wait_signal_arg0(removed, "InterfacesRemoved", path));
        ck_assert(!dev_exists(h, U2));
        sd_bus_message_unref(call_ok(h, "Remove", "s", generated));
        st = read_state(h);
        ck_assert(!state_has(st, "devices", U2, NULL));
        ck_assert(!state_has(st, "devices", generated, NULL));
        json_object_put(st);

        /* Remove of a defined device is refused (InvalidArgs), nothing is removed */
        define(h, "mtty", "mtty-1", U3, false);
        start(h, U3);
        err = call_err(h, MDP_ERROR_INVALID_ARGS, "Remove", "s", U3);
        ck_assert_msg(strstr(err, U3) && strstr(err, "Stop"), "%s", err);
        ck_assert(mdev_in_sysfs(h, U3));
        ck_assert(def_exists(h, "mtty", U3));
        err = mfree(err);
        /* and Remove of an unknown one */
        err = call_err(h, MDP_ERROR_NO_SUCH_DEVICE, "Remove", "s", U4);
        err = mfree(err);
        /* a foreign device (created by someone else) is left alone */
        assert_dev_s(h, MTTY_LIVE, "Owner", "foreign");
        list = list_devices(h, false);
        ck_assert_msg(strstr(list, MTTY_LIVE " mtty mtty-2 1 0 manual foreign active\n"), "%s", list);

        harness_watch_free(added);
        harness_watch_free(removed);
        harness_stop(h);
}
END_TEST

/* Autostart when a parent registers after the daemon started; again at each registration. */
START_TEST(test_autostart_late_parent)
{
        struct harness *h = start_host();
        _cleanup_free_ char *ppath = parent_path("mtty"), *w = NULL;
        struct harness_watch *added = harness_watch_signal(
                h, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded");

        sim(h, "unregister mtty");
        /* an auto definition as mdevctl wrote it, another manual one */
        write_def(h, "mtty", U1,
                  "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
        write_def(h, "mtty", U3,
                  "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        spawn_daemon(h);
        ck_assert_int_eq(dev_prop_b(h, U1, "Active"), 0);
        ck_assert_int_eq(dev_prop_b(h, U1, "Autostart"), 1);
        /* defined through the daemon while the parent is away */
        define(h, "mtty", "mtty-2", U2, true);

        sim(h, "register mtty");
        sd_bus_message_unref(wait_signal_arg0(added, "InterfacesAdded", ppath));
        wait_dev_s(h, U1, "State", "active");
        wait_dev_s(h, U2, "State", "active");
        ck_assert(mdev_in_sysfs(h, U1));
        ck_assert(mdev_in_sysfs(h, U2));
        ck_assert(!mdev_in_sysfs(h, U3));
        assert_dev_s(h, U1, "Owner", "mdevpasid");
        ck_assert_int_eq(dev_prop_b(h, U3, "Active"), 0);

        /* Again at the next registration (the unregistration removed them). */
        sim(h, "unregister mtty");
        wait_dev_s(h, U1, "State", "inactive");
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 1);
        sim(h, "register mtty");
        wait_dev_s(h, U1, "State", "active");
        wait_dev_s(h, U2, "State", "active");

        /* A transient failure is retried: the second attempt starts it. */
        sim(h, "unregister mtty");
        wait_dev_s(h, U2, "State", "inactive");
        sim(h, "fault fail-create EAGAIN 1 " U2);
        sim(h, "register mtty");
        wait_dev_s(h, U1, "State", "active");
        wait_dev_s(h, U2, "State", "active");

        /* A failing autostart is retried, then shown in Warnings naming the device; the
         * others start. */
        sim(h, "unregister mtty");
        wait_dev_s(h, U2, "State", "inactive");
        sim(h, "fault fail-create EIO 0 " U2);
        sim(h, "register mtty");
        wait_dev_s(h, U1, "State", "active");
        {
                long end = now_ms() + WAIT_MS;
                while (!w || !strstr(w, U2)) {
                        w = mfree(w);
                        w = warnings(h);
                        ck_assert_msg(now_ms() < end, "no warning for the failed autostart of %s:\n%s", U2,
                                      w);
                        usleep(50 * 1000);
                }
        }
        ck_assert_msg(!strstr(w, U1), "%s", w);
        assert_dev_s(h, U2, "State", "inactive");
        {
                _cleanup_free_ char *last = dev_prop_s(h, U2, "LastError");
                ck_assert_msg(last && strstr(last, U2), "LastError \"%s\"", last);
        }
        harness_watch_free(added);
        harness_stop(h);
}
END_TEST

/* Manager.AutostartProgress while a registration's autostart runs: one device hangs (the
 * kernel never shows it, then the retry starts it), one fails for good (no capacity, not
 * retried), one starts; the property says so as it goes and announces its changes, and
 * "mdevpasidctl status --wait" returns only when nothing is in progress, exit 1 for the
 * failure. */
static void autostart_progress_of(struct harness *h, uint32_t *done, uint32_t *failed, uint32_t *in_progress)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        ck_assert_int_ge(sd_bus_get_property(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                             "AutostartProgress", &e, &reply, "(uuu)"),
                         0);
        ck_assert_int_ge(sd_bus_message_read(reply, "(uuu)", done, failed, in_progress), 0);
        sd_bus_message_unref(reply);
}

START_TEST(test_autostart_progress)
{
        struct harness *h = start_host();
        struct harness_watch *props = harness_watch_signal(h, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                           "org.freedesktop.DBus.Properties", "PropertiesChanged");
        struct harness_run run = {0};
        uint32_t done, failed, in_progress, seen_in_progress = 0;
        bool announced = false;
        long end;

        sim(h, "unregister mtty");
        write_def(h, "mtty", U1, "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
        write_def(h, "mtty", U2, "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
        write_def(h, "mtty", U3, "{\n  \"mdev_type\": \"mtty-2\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
        spawn_daemon_full(h, "800", NULL);
        autostart_progress_of(h, &done, &failed, &in_progress);
        ck_assert_msg(done == 0 && failed == 0 && in_progress == 0, "%u %u %u before any registration", done,
                      failed, in_progress);

        sim(h, "fault ghost-create 1 " U1);
        sim(h, "fault fail-create ENOSPC 1 " U3);
        sim(h, "register mtty");
        /* U1 hangs for the start timeout, then waits for its retry: in progress meanwhile */
        end = now_ms() + WAIT_MS;
        do {
                autostart_progress_of(h, &done, &failed, &in_progress);
                if (in_progress > seen_in_progress)
                        seen_in_progress = in_progress;
                ck_assert_msg(now_ms() < end, "autostart never in progress: %u %u %u", done, failed, in_progress);
                usleep(20 * 1000);
        } while (seen_in_progress == 0);

        /* status --wait returns when the round is over, and says it failed */
        ck_assert_int_eq(harness_run(h,
                                     HARNESS_ARGV((char *)harness_program("cli/mdevpasidctl"), "status", "--wait"),
                                     HARNESS_ARGV("NO_COLOR=1"), NULL, 30000, &run),
                         0);
        ck_assert(!run.timed_out);
        ck_assert_msg(run.exit_code == 1, "status --wait: exit %d\n%s\n%s", run.exit_code, run.out, run.err);
        ck_assert_msg(strstr(run.out, "autostart: 2 started, 1 failed, 0 in progress"), "%s", run.out);
        ck_assert_msg(strstr(run.err, "1 autostart failed"), "%s", run.err);
        harness_run_clear(&run);
        autostart_progress_of(h, &done, &failed, &in_progress);
        ck_assert_msg(done == 2 && failed == 1 && in_progress == 0, "%u %u %u", done, failed, in_progress);
        assert_dev_s(h, U1, "State", "active");

        /* the changes were announced (PropertiesChanged on the Manager naming the property) */
        while (!announced) {
                sd_bus_message *m = wait_signal_arg0(props, "PropertiesChanged", MDP_IFACE_MANAGER);
                const char *name;

                ck_assert_int_ge(sd_bus_message_skip(m, "s"), 0);
                ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
                while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        ck_assert_int_ge(sd_bus_message_read(m, "s", &name), 0);
                        announced |= strcmp(name, "AutostartProgress") == 0;
                        ck_assert_int_ge(sd_bus_message_skip(m, "v"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
                }
                sd_bus_message_unref(m);
        }
        harness_watch_free(props);
        harness_stop(h);
}
END_TEST

/* mdevpasidctl start-parent-mdevs (what mdevctl's udev rule runs): the parent's auto
 * definitions that are not running start, manual ones and other parents' do not; one that
 * fails is reported, the others still start, and the exit status says so. */
START_TEST(test_cli_start_parent_mdevs)
{
        struct harness *h = start_host();
        struct harness_run run = {0};

        spawn_daemon(h);
        define(h, "mtty", "mtty-1", U1, true);
        define(h, "mtty", "mtty-1", U2, true);
        define(h, "mtty", "mtty-1", U3, false);
        ck_assert_int_eq(harness_run(h,
                                     HARNESS_ARGV((char *)harness_program("cli/mdevpasidctl"),
                                                  "start-parent-mdevs", "mtty"),
                                     HARNESS_ARGV("NO_COLOR=1"), NULL, 30000, &run),
                         0);
        ck_assert_msg(run.exit_code == 0, "exit %d: %s", run.exit_code, run.err);
        harness_run_clear(&run);
        assert_dev_s(h, U1, "State", "active");
        assert_dev_s(h, U2, "State", "active");
        assert_dev_s(h, U3, "State", "inactive");

        stop(h, U1);
        stop(h, U2);
        sim(h, "fault fail-create ENOSPC 1 " U2);
        ck_assert_int_eq(harness_run(h,
                                     HARNESS_ARGV((char *)harness_program("cli/mdevpasidctl"),
                                                  "start-parent-mdevs", "mtty"),
                                     HARNESS_ARGV("NO_COLOR=1"), NULL, 30000, &run),
                         0);
        ck_assert_msg(run.exit_code == 1, "exit %d: %s", run.exit_code, run.err);
        ck_assert_msg(strstr(run.err, U2) && strstr(run.err, "1 of 2 auto-start devices on mtty did not start"),
                      "%s", run.err);
        harness_run_clear(&run);
        assert_dev_s(h, U1, "State", "active");
        assert_dev_s(h, U2, "State", "inactive");
        harness_stop(h);
}
END_TEST

/* Autostart runs once per parent registration, not once per daemon start: an auto device an
 * administrator stopped stays stopped when the daemon is restarted (kill -9 or SIGTERM), and
 * starts again only when its parent registers anew. */
START_TEST(test_autostart_once_per_registration)
{
        struct harness *h = start_host();
        _cleanup_free_ char *marker = NULL;
        pid_t d;

        write_def(h, "mtty", U1,
                  "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
        d = spawn_daemon(h);
        wait_dev_s(h, U1, "State", "active");
        ck_assert(asprintf(&marker, "%s/run/mdevpasid/autostarted/mtty", harness_root(h)) > 0);
        ck_assert_msg(access(marker, F_OK) == 0, "no marker %s", marker);
        stop(h, U1);
        ck_assert(!mdev_in_sysfs(h, U1));

        harness_kill(h, d, SIGKILL, 5000);
        d = spawn_daemon(h);
        assert_dev_s(h, U1, "State", "inactive");
        ck_assert(!mdev_in_sysfs(h, U1));
        harness_kill(h, d, SIGTERM, 5000);
        d = spawn_daemon(h);
        assert_dev_s(h, U1, "State", "inactive");
        ck_assert(!mdev_in_sysfs(h, U1));

        /* a new registration forgets the marker and autostarts again */
        sim(h, "unregister mtty");
        {
                long end = now_ms() + WAIT_MS;
                while (access(marker, F_OK) == 0) {
                        ck_assert_msg(now_ms() < end, "%s outlived the unregistration", marker);
                        usleep(20 * 1000);
                }
        }
        sim(h, "register mtty");
        wait_dev_s(h, U1, "State", "active");
        ck_assert(mdev_in_sysfs(h, U1));
        harness_stop(h);
}
END_TEST

START_TEST(test_parent_unregisters_with_live_mdevs)
{
        struct harness *h = start_host();
        _cleanup_free_ char *ppath = parent_path("mtty"), *err = NULL, *list = NULL;
        struct harness_watch *removed = harness_watch_signal(
                h, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved");
        json_object *st;

        spawn_daemon(h);
        define(h, "mtty", "mtty-1", U1, false);
        start(h, U1);
        create(h, "mtty", "mtty-1", U2);
        create(h, "mdpy", "mdpy-vga", U3);

        sim(h, "unregister mtty");
        sd_bus_message_unref(wait_signal_arg0(removed, "InterfacesRemoved", ppath));
        /* the defined device stays defined and inactive, the transient and foreign ones go */
        wait_dev_s(h, U1, "State", "inactive");
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 1);
        wait_dev_s(h, U2, "State", NULL);
        wait_dev_s(h, MTTY_LIVE, "State", NULL);
        ck_assert_int_eq(dev_prop_b(h, U3, "Active"), 1); /* another parent: untouched */
        list = list_devices(h, false);
        ck_assert_msg(!strstr(list, " mtty "), "%s", list);
        st = read_state(h);
        ck_assert(!state_has(st, "devices", U1, NULL));
        ck_assert(!state_has(st, "devices", U2, NULL));
        ck_assert(state_has(st, "devices", U3, NULL));
        json_object_put(st);
        ck_assert(def_exists(h, "mtty", U1));
        {
                sd_bus_message *reply = call_ok(h, "ListParents", "");
                const char *name;
                bool mtty = false;
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(ssssssi)"), 0);
                while (sd_bus_message_read(reply, "(ssssssi)", &name, NULL, NULL, NULL, NULL, NULL, NULL) >
                       0)
                        mtty |= strcmp(name, "mtty") == 0;
                sd_bus_message_unref(reply);
                ck_assert(!mtty);
        }
        err = call_err(h, MDP_ERROR_NO_SUCH_PARENT, "Start", "ss", U1, "");
        ck_assert_msg(strstr(err, "mtty"), "%s", err);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_NO_SUCH_PARENT, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", U4, 0, 0);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_NO_SUCH_PARENT, "ListTypes", "s", "mtty");

        /* back: the manual definition is not started, the parent object returns */
        sim(h, "register mtty");
        {
                long end = now_ms() + WAIT_MS;
                while (!sys_exists(h, "class/mdev_bus/mtty"))
                        ck_assert(now_ms() < end);
        }
        start(h, U1);
        ck_assert(mdev_in_sysfs(h, U1));
        harness_watch_free(removed);
        harness_stop(h);
}
END_TEST

START_TEST(test_capacity_and_duplicates)
{
        struct harness *h = start_host();
        _cleanup_free_ char *err = NULL;

        spawn_daemon(h);
        /* mdpy: a pool of 4, one used by the capture's live device */
        create(h, "mdpy", "mdpy-vga", U1);
        create(h, "mdpy", "mdpy-hd", U2);
        create(h, "mdpy", "mdpy-xga", U3);
        ck_assert_int_eq(
                sys_read_long(h, "class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/available_instances"),
                0);
        err = call_err(h, MDP_ERROR_NO_CAPACITY, "Create", "sssa(ss)a{sv}", "mdpy", "mdpy-vga", U4, 0, 0);
        ck_assert_msg(strstr(err, "mdpy-vga"), "%s", err);
        ck_assert(!mdev_in_sysfs(h, U4));
        ck_assert(!dev_exists(h, U4));
        err = mfree(err);
        /* a defined device on a full type: NoCapacity, the definition stays, nothing is left */
        define(h, "mdpy", "mdpy-hd", U5, false);
        err = call_err(h, MDP_ERROR_NO_CAPACITY, "Start", "ss", U5, "");
        ck_assert(!mdev_in_sysfs(h, U5));
        assert_dev_s(h, U5, "State", "inactive");
        ck_assert_int_eq(dev_prop_b(h, U5, "Defined"), 1);
        err = mfree(err);
        {
                json_object *st = read_state(h);
                ck_assert_uint_eq(state_count(st, "operations"), 0);
                ck_assert(!state_has(st, "devices", U5, NULL));
                json_object_put(st);
        }
        /* room again */
        sd_bus_message_unref(call_ok(h, "Remove", "s", U3));
        start(h, U5);

        /* duplicate UUIDs: an active one (ours, foreign, on another parent), a defined one */
        err = call_err(h, MDP_ERROR_ALREADY_EXISTS, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", U1, 0, 0);
        ck_assert_msg(strstr(err, U1), "%s", err);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_ALREADY_EXISTS, "Create", "sssa(ss)a{sv}", "mtty", "mtty-2", MTTY_LIVE,
                       0, 0);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_ALREADY_EXISTS, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", U5, 0, 0);
        err = mfree(err);
        define(h, "mtty", "mtty-1", U4, false);
        err = call_err(h, MDP_ERROR_ALREADY_EXISTS, "Define", "sssba(ss)a{sv}", "mtty", "mtty-2", U4, 0, 0,
                       0);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_ALREADY_EXISTS, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", U4, 0, 0);
        err = mfree(err);
        /* bad names: InvalidArgs / NoSuchType, naming the object */
        err = call_err(h, MDP_ERROR_NO_SUCH_TYPE, "Create", "sssa(ss)a{sv}", "mtty", "mtty-9", "", 0, 0);
        ck_assert_msg(strstr(err, "mtty-9"), "%s", err);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_INVALID_ARGS, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", "not-a-uuid",
                       0, 0);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_NO_SUCH_PARENT, "Create", "sssa(ss)a{sv}", "nosuch", "mtty-1", "", 0, 0);
        harness_stop(h);
}
END_TEST

/* ---- concurrency: 50 clients race for 10 instances (issue 10) ------------------------------ */

struct race {
        unsigned done, ok, no_capacity, other;
        char other_msg[512];
};

static int on_race_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct race *r = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        r->done++;
        if (!e)
                r->ok++;
        else if (strcmp(e->name, MDP_ERROR_NO_CAPACITY) == 0)
                r->no_capacity++;
        else {
                r->other++;
                snprintf(r->other_msg, sizeof(r->other_msg), "%s: %s", e->name, e->message);
        }
        return 0;
}

#define RACERS 50
#define ROOM   10

START_TEST(test_concurrent_capacity)
{
        struct harness *h = start_host();
        char uuids[RACERS][37];
        sd_bus *conns[RACERS];
        struct race race = {0};
        long end;
        unsigned live = 0, objects = 0, odd_winners = 0;
        json_object *st;

        spawn_daemon(h);
        sim(h, "capacity mtty mtty-1 "
               "10");
        /* one connection per client (the daemon sees 50 callers), all calls in flight at once */
        for (int i = 0; i < RACERS; i++) {
                ck_assert_int_ge(sd_bus_new(&conns[i]), 0);
                ck_assert_int_ge(sd_bus_set_address(conns[i], harness_bus_address(h)), 0);
                ck_assert_int_ge(sd_bus_set_bus_client(conns[i], true), 0);
                ck_assert_int_ge(sd_bus_start(conns[i]), 0);
                snprintf(uuids[i], sizeof(uuids[i]), "7e57ca9a-0000-4000-8000-%012d", i);
        }
        for (int i = 0; i < RACERS; i++) {
                /* half of them Start a definition, half Create */
                if (i % 2 == 0) {
                        sd_bus_message_unref(
                                call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", uuids[i], 0, 0, 0));
                        ck_assert_int_ge(sd_bus_call_method_async(conns[i], NULL, MDP_BUS_NAME,
                                                                  MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                                                  "Start", on_race_reply, &race, "ss",
                                                                  uuids[i], "mtty"),
                                         0);
                } else
                        ck_assert_int_ge(
                                sd_bus_call_method_async(conns[i], NULL, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                         MDP_IFACE_MANAGER, "Create", on_race_reply, &race,
                                                         "sssa(ss)a{sv}", "mtty", "mtty-1", uuids[i], 0, 0),
                                0);
        }
        for (int i = 0; i < RACERS; i++)
                ck_assert_int_ge(sd_bus_flush(conns[i]), 0);
        end = now_ms() + 60000;
        while (race.done < RACERS) {
                struct pollfd p[RACERS];
                for (int i = 0; i < RACERS; i++) {
                        while (sd_bus_process(conns[i], NULL) > 0)
                                ;
                        p[i] = (struct pollfd){.fd = sd_bus_get_fd(conns[i]), .events = POLLIN};
                }
                if (race.done >= RACERS)
                        break;
                ck_assert_msg(now_ms() < end, "only %u of %d calls answered", race.done, RACERS);
                (void)poll(p, RACERS, 200);
        }
        ck_assert_msg(race.other == 0, "%u unexpected errors, e.g. %s", race.other, race.other_msg);
        ck_assert_uint_eq(race.ok, ROOM);
        ck_assert_uint_eq(race.no_capacity, RACERS - ROOM);
        fprintf(stderr, "check_daemon: %d racers for %d instances: %u succeeded, %u NoCapacity\n", RACERS,
                ROOM, race.ok, race.no_capacity);

        /* no leaked state: exactly the winners exist, in sysfs, on the bus, in state.json */
        ck_assert_int_eq(
                sys_read_long(h, "class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances"), 0);
        st = read_state(h);
        ck_assert_uint_eq(state_count(st, "operations"), 0);
        for (int i = 0; i < RACERS; i++) {
                bool in_sys = mdev_in_sysfs(h, uuids[i]);
                int active = dev_prop_b(h, uuids[i], "Active");
                live += in_sys;
                odd_winners += i % 2 == 1 && in_sys;
                ck_assert_int_eq(active, i % 2 == 0 ? in_sys : (in_sys ? 1 : -1));
                ck_assert_int_eq(state_has(st, "devices", uuids[i], NULL), in_sys);
                if (active >= 0) {
                        _cleanup_free_ char *s = dev_prop_s(h, uuids[i], "State");
                        ck_assert_str_eq(s, in_sys ? "active" : "inactive");
                        objects++;
                }
        }
        json_object_put(st);
        ck_assert_uint_eq(live, ROOM);
        /* objects: every definition, and the transient winners only */
        ck_assert_uint_eq(objects, RACERS / 2 + odd_winners);
        for (int i = 0; i < RACERS; i++)
                sd_bus_flush_close_unref(conns[i]);
        harness_stop(h);
}
END_TEST

/* ---- kill -9 in the middle of a Start ---------------------------------------------------- */

START_TEST(test_kill9_mid_start)
{
        struct harness *h = start_host();
        _cleanup_free_ char *f1 = NULL, *f2 = NULL, *w = NULL;
        sd_bus_slot *slot = NULL;
        json_object *st;
        pid_t d;
        int status;

        d = spawn_daemon_full(h, "60000", NULL);
        define(h, "mtty", "mtty-1", U1, false);
        define(h, "mtty", "mtty-1", U2, true);
        start(h, U2);                      /* a finished start, to keep */
        create(h, "mdpy", "mdpy-vga", U3); /* a transient one, to keep */
        f1 = def_file(h, "mtty", U1);
        f2 = def_file(h, "mtty", U2);

        /* The kernel accepts the create of U1 but the device never appears (yet): the daemon
         * waits for it, with its intent recorded. */
        sim(h, "fault ghost-create 1 " U1);
        ck_assert_int_ge(sd_bus_call_method_async(harness_bus(h), &slot, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                  MDP_IFACE_MANAGER, "Start", NULL, NULL, "ss", U1, ""),
                         0);
        wait_dev_s(h, U1, "State", "starting");
        {
                long end = now_ms() + WAIT_MS;
                _cleanup_free_ char *writes = NULL;
                while (!writes || !strstr(writes, U1)) {
                        writes = mfree(writes);
                        writes = sim_out(h, "writes");
                        ck_assert_msg(now_ms() < end, "the create write never came: %s", writes);
                        usleep(20 * 1000);
                }
        }
        st = read_state(h);
        ck_assert(state_has(st, "operations", U1, "start"));
        json_object_put(st);
        status = harness_kill(h, d, SIGKILL, 5000);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        sd_bus_slot_unref(slot);

        /* The kernel finishes the create after the daemon died. */
        sim(h, "fault clear");
        sim(h, "create mtty mtty-1 " U1);

        d = spawn_daemon(h);
        /* the half-started device is undone, the rest is as it was */
        wait_dev_s(h, U1, "State", "inactive");
        ck_assert(!mdev_in_sysfs(h, U1));
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 1);
        assert_dev_s(h, U2, "State", "active");
        assert_dev_s(h, U2, "Owner", "mdevpasid");
        assert_dev_s(h, U3, "State", "active");
        assert_dev_s(h, U3, "Owner", "mdevpasid");
        ck_assert(mdev_in_sysfs(h, U2) && mdev_in_sysfs(h, U3));
        {
                _cleanup_free_ char *g1 = def_file(h, "mtty", U1), *g2 = def_file(h, "mtty", U2);
                ck_assert_str_eq(g1, f1);
                ck_assert_str_eq(g2, f2);
        }
        st = read_state(h);
        ck_assert_uint_eq(state_count(st, "operations"), 0);
        ck_assert(!state_has(st, "devices", U1, NULL));
        ck_assert(state_has(st, "devices", U2, NULL));
        ck_assert(state_has(st, "devices", U3, NULL));
        json_object_put(st);
        w = warnings(h);
        ck_assert_msg(strstr(w, U1) && strstr(w, "interrupted"), "%s", w);
        /* and it can be started anew */
        start(h, U1);
        ck_assert(mdev_in_sysfs(h, U1));

        /* kill -9 while nothing runs, then a restart without the kernel's help: adopted as-is */
        harness_kill(h, d, SIGKILL, 5000);
        spawn_daemon(h);
        assert_dev_s(h, U1, "Owner", "mdevpasid");
        assert_dev_s(h, U3, "Owner", "mdevpasid");
        ck_assert_int_eq(dev_prop_b(h, U3, "Defined"), 0);
        harness_stop(h);
}
END_TEST

/* ---- definitions on disk ----------------------------------------------------------------- */

START_TEST(test_malformed_definition)
{
        struct harness *h = start_host();
        _cleanup_free_ char *w = NULL, *list = NULL, *bad = NULL, *bad2 = NULL;

        write_def(h, "mtty", U1,
                  "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        write_def(h, "mtty", U2, "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"auto\",\n  \"attrs\": [");
        write_def(h, "mdpy", U3, "{\"mdev_type\": \"mdpy-vga\", \"start\": \"manual\", \"attrs\": []}");
        write_def(h, "mdpy", U4, "{\"start\": \"manual\"}"); /* no type */
        /* bytes that are not UTF-8 (mdevctl refuses them too): skipped like any bad file */
        write_def(
                h, "mbochs", U6,
                "{\"mdev_type\": \"mbochs-small\", \"start\": \"manual\", \"attrs\": [{\"a\": \"\xff\"}]}");
        write_def(h, "mtty", U5,
                  "{\n  \"mdev_type\": \"mtty-2\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
        ck_assert_int_ge(asprintf(&bad, "%s/etc/mdevctl.d/mtty/%s", harness_root(h), U2), 0);
        ck_assert_int_ge(asprintf(&bad2, "%s/etc/mdevctl.d/mdpy/%s", harness_root(h), U4), 0);

        spawn_daemon(h);
        w = warnings(h);
        /* each skipped file named by its path (as the daemon sees it: under MDEVPASID_ROOT or /etc) */
        ck_assert_msg(strstr(w, "/etc/mdevctl.d/mtty/" U2), "Warnings:\n%s", w);
        ck_assert_msg(strstr(w, "/etc/mdevctl.d/mdpy/" U4), "Warnings:\n%s", w);
        ck_assert_msg(strstr(w, "/etc/mdevctl.d/mbochs/" U6), "Warnings:\n%s", w);
        wait_dev_s(h, U5, "State", "active");
        list = list_devices(h, true);
        ck_assert_msg(strstr(list, U1 " mtty mtty-1 0 1 manual"), "%s", list);
        ck_assert_msg(strstr(list, U3 " mdpy mdpy-vga 0 1 manual"), "%s", list);
        ck_assert_msg(strstr(list, U5 " mtty mtty-2 1 1 auto"), "%s", list); /* autostarted */
        ck_assert_msg(!strstr(list, U2) && !strstr(list, U4), "%s", list);
        ck_assert(!dev_exists(h, U2));
        ck_assert(!mdev_in_sysfs(h, U2));
        /* the bad file is left as it was */
        {
                _cleanup_free_ char *b = def_file(h, "mtty", U2);
                ck_assert_str_eq(b,
                                 "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"auto\",\n  \"attrs\": [");
        }
        /* fixed and reloaded: it loads, the warning goes */
        write_def(h, "mtty", U2,
                  "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        sd_bus_message_unref(call_ok(h, "Reload", ""));
        ck_assert_int_eq(dev_prop_b(h, U2, "Defined"), 1);
        w = mfree(w);
        w = warnings(h);
        ck_assert_msg(!strstr(w, U2), "%s", w);
        ck_assert_msg(strstr(w, U4), "%s", w);
        harness_stop(h);
}
END_TEST

/* Debian's mdevctl 1.2.0 reads what the daemon wrote, and the daemon reads what mdevctl wrote
 * (MDEVCTL.md §6.1: mdevctl has no root override, so a private mount namespace binds the
 * testbed's /etc/mdevctl.d and /sys over the real ones). */
static char *run_mdevctl(struct harness *h, const char *args, int *ret_status)
{
        const char *mdevctl = getenv("MDEVCTL");
        _cleanup_free_ char *cmd = NULL;
        char *out = NULL;
        size_t len = 0, n;
        char buf[4096];
        FILE *f, *o = open_memstream(&out, &len);

        ck_assert_int_ge(
                asprintf(&cmd,
                         "env -u LD_PRELOAD unshare -m --propagation private sh -c "
                         "'mount --bind %s/etc/mdevctl.d /etc/mdevctl.d && mount --bind %s/sys /sys && "
                         "%s %s' 2>&1",
                         harness_root(h), harness_root(h), mdevctl, args),
                0);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, o);
        *ret_status = pclose(f);
        fclose(o);
        return out;
}

START_TEST(test_mdevctl_reads_daemon_files)
{
        const char *mdevctl = getenv("MDEVCTL");
        struct harness *h;
        _cleanup_free_ char *out = NULL, *json = NULL;
        int status;

        if (!mdevctl || !*mdevctl || strcmp(mdevctl, "no") == 0 || access("/etc/mdevctl.d", F_OK) < 0 ||
            geteuid() != 0) {
                fprintf(stderr, "skipped: needs root, mdevctl and /etc/mdevctl.d\n");
                return;
        }
        h = start_host();
        /* mdevctl's own directories, as the package installs them: not parents */
        test_mkdir(harness_root(h), "etc/mdevctl.d/scripts.d/callouts");
        test_mkdir(harness_root(h), "etc/mdevctl.d/scripts.d/notifiers");
        spawn_daemon(h);
        {
                _cleanup_free_ char *w = warnings(h);
                ck_assert_msg(!strstr(w, "scripts.d"), "%s", w);
        }
        sd_bus_message_unref(call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-2", U1, 1, 2, "first", "1",
                                     /* quote and backslash in a value (names are refused: check_authz) */
                                     "quote", "q\"a\\b", 0));
        define(h, "mdpy", "mdpy-vga", U2, false);
        /* a running device defined as it runs (mdevctl's define -u) */
        create(h, "mtty", "mtty-1", U3);
        sd_bus_message_unref(call_ok(h, "Define", "sssba(ss)a{sv}", "", "", U3, 0, 0, 0));

        out = run_mdevctl(h, "list --defined", &status);
        ck_assert_msg(status == 0, "mdevctl list --defined: %s", out);
        ck_assert_msg(strstr(out, U1 " mtty mtty-2 auto"), "mdevctl list --defined:\n%s", out);
        ck_assert_msg(strstr(out, U2 " mdpy mdpy-vga manual"), "mdevctl list --defined:\n%s", out);
        ck_assert_msg(strstr(out, U3 " mtty mtty-1 manual"), "mdevctl list --defined:\n%s", out);
        json = run_mdevctl(h, "list --defined --dumpjson", &status);
        ck_assert_msg(status == 0, "%s", json);
        ck_assert_msg(strstr(json, "\"first\": \"1\"") && strstr(json, "\"quote\": \"q\\\"a\\\\b\""), "%s",
                      json);

        /* the other way: mdevctl defines, the daemon reads it at Reload */
        out = mfree(out);
        out = run_mdevctl(h, "define -u " U4 " -p mtty -t mtty-1", &status);
        ck_assert_msg(status == 0, "mdevctl define: %s", out);
        sd_bus_message_unref(call_ok(h, "Reload", ""));
        ck_assert_int_eq(dev_prop_b(h, U4, "Defined"), 1);
        assert_dev_s(h, U4, "Type", "mtty-1");
        start(h, U4);
        ck_assert(mdev_in_sysfs(h, U4));
        harness_stop(h);
}
END_TEST

/* ---- a blocked remove ---------------------------------------------------------------------- */

struct pending {
        bool done;
        char name[128], msg[1024];
};

static int on_pending_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct pending *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        p->done = true;
        snprintf(p->name, sizeof(p->name), "%s", e ? e->name : "");
        snprintf(p->msg, sizeof(p->msg), "%s", e ? e->message : "");
        return 0;
}

static void wait_pending(sd_bus *bus, struct pending *p)
{
        long end = now_ms() + WAIT_MS;
        while (!p->done) {
                ck_assert_msg(now_ms() < end, "no reply");
                while (sd_bus_process(bus, NULL) > 0)
                        ;
                if (!p->done)
                        (void)sd_bus_wait(bus, 100 * 1000);
        }
}

/* A process of the testbed's /proc that has the group node open (see the top comment). */
static void fake_holder(struct harness *h, int pid, const char *node)
{
        char rel[128];
        snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
        test_write(harness_root(h), rel, "qemu-system-x86\n");
        snprintf(rel, sizeof(rel), "proc/%d/cmdline", pid);
        {
                static const char cmdline[] = "qemu-system-x86_64\0-name\0guest=vm1,debug-threads=on\0";
                _cleanup_free_ char *p = NULL;
                FILE *f;
                ck_assert_int_ge(asprintf(&p, "%s/%s", harness_root(h), rel), 0);
                f = fopen(p, "we");
                ck_assert_ptr_nonnull(f);
                fwrite(cmdline, 1, sizeof(cmdline) - 1, f);
                fclose(f);
        }
        snprintf(rel, sizeof(rel), "proc/%d/fd/17", pid);
        test_symlink(harness_root(h), rel, node);
}

START_TEST(test_blocked_remove)
{
        struct harness *h = start_host();
        _cleanup_free_ char *group = NULL, *err = NULL, *last = NULL, *writes = NULL;
        struct pending stop1 = {0};
        sd_bus_slot *slot = NULL;
        sd_bus *bus;

        spawn_daemon(h);
        bus = harness_bus(h);
        define(h, "mtty", "mtty-1", U1, false);
        start(h, U1);
        group = dev_prop_s(h, U1, "VfioGroup");
        ck_assert_ptr_nonnull(group);

        /* A VFIO user the daemon cannot see holds the device: the kernel's remove blocks. */
        sim(h, "hold " U1);
        ck_assert_int_ge(sd_bus_call_method_async(bus, &slot, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                  MDP_IFACE_MANAGER, "Stop", on_pending_reply, &stop1, "s",
                                                  U1),
                         0);
        wait_dev_s(h, U1, "State", "stopping");
        wait_sim_removing(h, U1);
        ck_assert(!stop1.done);
        /* meanwhile the daemon serves other calls, operations on other devices included */
        free(list_devices(h, false));
        create(h, "mtty", "mtty-1", U2);
        sd_bus_message_unref(call_ok(h, "Remove", "s", U2));
        sd_bus_message_unref(call_ok(h, "Describe", ""));
        /* the same device meanwhile: Busy at once */
        err = call_err(h, MDP_ERROR_BUSY, "Stop", "s", U1);
        ck_assert_msg(strstr(err, U1), "%s", err);
        /* after the stop timeout: Busy, the holder unknown */
        wait_pending(bus, &stop1);
        ck_assert_str_eq(stop1.name, MDP_ERROR_BUSY);
        ck_assert_msg(strstr(stop1.msg, U1) && strstr(stop1.msg, "in use"), "%s", stop1.msg);
        last = dev_prop_s(h, U1, "LastError");
        ck_assert_msg(last && strstr(last, "in use"), "%s", last);
        ck_assert(mdev_in_sysfs(h, U1));
        sd_bus_slot_unref(slot);
        /* the holder lets go: the kernel completes the removal, the daemon follows */
        sim(h, "release " U1);
        wait_dev_s(h, U1, "State", "inactive");
        ck_assert(!mdev_in_sysfs(h, U1));
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 1);

        /* A holder the daemon can name (QEMU, /proc): Busy at once naming it, nothing written. */
        start(h, U1);
        group = mfree(group);
        group = dev_prop_s(h, U1, "VfioGroup");
        sim(h, "hold " U1);
        fake_holder(h, 4242, group);
        sim(h, "writes clear");
        err = mfree(err);
        err = call_err(h, MDP_ERROR_BUSY, "Stop", "s", U1);
        ck_assert_msg(strstr(err, "pid 4242") && strstr(err, "vm1") && strstr(err, group), "%s", err);
        writes = sim_out(h, "writes");
        ck_assert_msg(!strstr(writes, "remove"), "%s", writes);
        assert_dev_s(h, U1, "State", "active");
        sim(h, "release " U1);
        {
                char rel[64];
                snprintf(rel, sizeof(rel), "%s/proc/4242", harness_root(h));
                test_rm_rf(rel);
        }
        stop(h, U1);
        ck_assert(!mdev_in_sysfs(h, U1));

        /* The holder shows up only while the removal blocks: Busy after the timeout names it. */
        start(h, U1);
        group = mfree(group);
        group = dev_prop_s(h, U1, "VfioGroup");
        sim(h, "hold " U1);
        stop1 = (struct pending){0};
        ck_assert_int_ge(sd_bus_call_method_async(bus, &slot, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                  MDP_IFACE_MANAGER, "Stop", on_pending_reply, &stop1, "s",
                                                  U1),
                         0);
        wait_sim_removing(h, U1);
        fake_holder(h, 4343, group);
        wait_pending(bus, &stop1);
        sd_bus_slot_unref(slot);
        ck_assert_str_eq(stop1.name, MDP_ERROR_BUSY);
        ck_assert_msg(strstr(stop1.msg, "pid 4343") && strstr(stop1.msg, "vm1") && strstr(stop1.msg, group),
                      "%s", stop1.msg);
        sim(h, "release " U1);
        wait_dev_s(h, U1, "State", "inactive");
        harness_stop(h);
}
END_TEST

/* ---- kernel misbehaviour (issue 10) ------------------------------------------------------ */

START_TEST(test_kernel_misbehaviour)
{
        struct harness *h = start_host();
        _cleanup_free_ char *err = NULL, *last = NULL, *list = NULL;
        pid_t d;
        json_object *st;

        d = spawn_daemon_full(h, "1500", NULL);

        /* create fails with an errno: KernelError in words, nothing left */
        sim(h, "fault fail-create EIO 1 mtty/mtty-1");
        err = call_err(h, MDP_ERROR_KERNEL, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", U1, 0, 0);
        ck_assert_msg(strstr(err, U1) && strstr(err, "mtty-1") && strstr(err, "nput/output error"), "%s",
                      err);
        ck_assert(!dev_exists(h, U1));
        err = mfree(err);
        define(h, "mtty", "mtty-1", U1, false);
        sim(h, "fault fail-create ENOSPC 1 mtty/mtty-1");
        err = call_err(h, MDP_ERROR_NO_CAPACITY, "Start", "ss", U1, "");
        last = dev_prop_s(h, U1, "LastError");
        ck_assert_msg(last && strstr(last, U1), "LastError \"%s\"", last);
        assert_dev_s(h, U1, "State", "inactive");
        err = mfree(err);
        assert_alive(h, d);

        /* a device that never appears: Timeout naming the step, undone */
        sim(h, "fault ghost-create 1 " U2);
        {
                struct pending p = {0};
                sd_bus_slot *slot = NULL;
                ck_assert_int_ge(sd_bus_call_method_async(harness_bus(h), &slot, MDP_BUS_NAME,
                                                          MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Create",
                                                          on_pending_reply, &p, "sssa(ss)a{sv}", "mtty",
                                                          "mtty-1", U2, 0, 0),
                                 0);
                wait_dev_s(h, U2, "State", "starting");
                /* one operation per device: the others are Busy meanwhile; other calls answer */
                err = call_err(h, MDP_ERROR_BUSY, "Remove", "s", U2);
                err = mfree(err);
                err = call_err(h, MDP_ERROR_BUSY, "Stop", "s", U2);
                err = mfree(err);
                err = call_err(h, MDP_ERROR_BUSY, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", U2, 0, 0);
                err = mfree(err);
                sd_bus_message_unref(call_ok(h, "ListParents", ""));
                wait_pending(harness_bus(h), &p);
                sd_bus_slot_unref(slot);
                ck_assert_str_eq(p.name, MDP_ERROR_TIMEOUT);
                err = strdup(p.msg);
        }
        ck_assert_msg(strstr(err, U2), "%s", err);
        ck_assert(!dev_exists(h, U2));
        err = mfree(err);
        st = read_state(h);
        ck_assert_uint_eq(state_count(st, "operations"), 0);
        ck_assert(!state_has(st, "devices", U2, NULL));
        json_object_put(st);

        /* a failing attribute: the step named, the device removed again */
        sd_bus_message_unref(
                call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U3, 0, 1, "no_such_attr", "1", 0));
        /* (the definition is wrong, not the kernel: InvalidConfig) */
        err = call_err(h, MDP_ERROR_INVALID_CONFIG, "Start", "ss", U3, "");
        ck_assert_msg(strstr(err, "no_such_attr") && strstr(err, "removed again"), "%s", err);
        ck_assert(!mdev_in_sysfs(h, U3));
        assert_dev_s(h, U3, "State", "inactive");
        err = mfree(err);

        /* the parent vanishes as the create starts, and right after it succeeded */
        sim(h, "fault vanish-parent mtty before-create");
        err = call_err(h, MDP_ERROR_NO_SUCH_PARENT, "Start", "ss", U1, "");
        ck_assert_msg(strstr(err, "mtty"), "%s", err);
        err = mfree(err);
        assert_alive(h, d);
        sim(h, "fault clear");
        sim(h, "register mtty");
        wait_dev_s(h, MTTY_LIVE, "State", NULL);
        sim(h, "fault vanish-parent mtty after-create");
        {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                int r = sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                           "Start", &e, NULL, "ss", U1, "mtty");
                /* it started before the parent went, or it failed naming the parent: never a
                 * Timeout, never "left active" for a device that went with its parent */
                fprintf(stderr, "check_daemon: start while the parent vanishes: %s %s\n",
                        r < 0 ? e.name : "ok", r < 0 ? e.message : "");
                if (r < 0) {
                        ck_assert_str_eq(e.name, MDP_ERROR_NO_SUCH_PARENT);
                        ck_assert_msg(strstr(e.message, "mtty") && !strstr(e.message, "left active"), "%s",
                                      e.message);
                }
                sd_bus_error_free(&e);
        }
        wait_dev_s(h, U1, "State", "inactive");
        ck_assert(!mdev_in_sysfs(h, U1));
        assert_alive(h, d);
        sim(h, "fault clear");
        sim(h, "register mtty");

        /* garbage in sysfs attributes: reported, not fatal */
        sim(h,
            "fault garbage class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/available_instances banana\\n");
        sim(h, "fault garbage class/mdev_bus/mdpy/mdev_supported_types/mdpy-hd/name \\001\\377\\n");
        sim(h, "uevent change /devices/virtual/mdpy/mdpy");
        sd_bus_message_unref(call_ok(h, "Describe", ""));
        sd_bus_message_unref(call_ok(h, "Reload", ""));
        {
                /* the garbage count is shown as unknown (-1), not as a number it is not */
                sd_bus_message *reply = call_ok(h, "ListTypes", "s", "mdpy");
                const char *parent, *id, *name, *descr, *api;
                int64_t avail;
                bool seen = false;
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(sssssxa{sv})"), 0);
                while (sd_bus_message_enter_container(reply, 'r', "sssssxa{sv}") > 0) {
                        ck_assert_int_ge(sd_bus_message_read(reply, "sssssx", &parent, &id, &name, &descr,
                                                             &api, &avail),
                                         0);
                        ck_assert_int_ge(sd_bus_message_skip(reply, "a{sv}"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                        if (strcmp(id, "mdpy-vga") == 0) {
                                ck_assert_int_eq(avail, -1);
                                seen = true;
                        }
                }
                ck_assert(seen);
                sd_bus_message_unref(reply);
        }
        /* bytes that are not UTF-8 in a type's name never reach the bus (sd-bus refuses them:
         * every reply holding that type would fail) */
        sd_bus_message_unref(call_ok(h, "ListTypes", "s", ""));
        sd_bus_message_unref(call_ok(h, "Describe", ""));
        {
                _cleanup_free_ char *pp = parent_path("mdpy");
                sd_bus_message *reply = NULL;
                ck_assert_int_ge(sd_bus_get_property(harness_bus(h), MDP_BUS_NAME, pp, MDP_IFACE_PARENT,
                                                     "Types", NULL, &reply, "a(ssssxa{sv})"),
                                 0);
                sd_bus_message_unref(reply);
                ck_assert_int_ge(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                    "org.freedesktop.DBus.ObjectManager",
                                                    "GetManagedObjects", NULL, &reply, ""),
                                 0);
                sd_bus_message_unref(reply);
        }
        list = list_devices(h, false);
        ck_assert_msg(strstr(list, MDPY_LIVE), "%s", list);
        /* a uevent for a device that is not there, and one with a bad name */
        sim(h, "uevent add /devices/virtual/mtty/mtty/" U5 " SUBSYSTEM=mdev");
        sim(h, "uevent bind /devices/virtual/mtty/mtty/not-a-uuid SUBSYSTEM=mdev");
        assert_alive(h, d);
        ck_assert(!dev_exists(h, U5));
        create(h, "mbochs", "mbochs-small", U4);
        assert_alive(h, d);
        harness_stop(h);
}
END_TEST

/* ---- signals and readiness ----------------------------------------------------------------- */

START_TEST(test_ready_reload_term)
{
        struct harness *h = start_host();
        _cleanup_free_ char *dir = test_mkdtemp("notify"), *sock = NULL, *env = NULL, *msgs = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t msgs_len = 0;
        FILE *log = open_memstream(&msgs, &msgs_len);
        int fd, status;
        long end;
        pid_t d;

        /* an auto definition: READY=1 only once coldplug, reconcile and its start are done */
        write_def(h, "mtty", U1,
                  "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
        ck_assert_int_ge(asprintf(&sock, "%s/notify", dir), 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_ge(asprintf(&env, "NOTIFY_SOCKET=%s", sock), 0);
        d = harness_spawn(h, HARNESS_ARGV((char *)harness_program("daemon/mdevpasidd")), HARNESS_ARGV(env));
        end = now_ms() + WAIT_MS;
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                char buf[1024];
                ssize_t n;

                ck_assert_msg(now_ms() < end, "no READY=1; got: %s", msgs);
                if (poll(&p, 1, 200) <= 0)
                        continue;
                n = recv(fd, buf, sizeof(buf) - 1, 0);
                ck_assert_int_gt(n, 0);
                buf[n] = '\0';
                fprintf(log, "%s\n", buf);
                fflush(log);
                if (strstr(buf, "READY=1"))
                        break;
        }
        /* at READY=1: the live mdevs were adopted and the auto definition started */
        ck_assert_int_eq(harness_wait_name(h, MDP_BUS_NAME, WAIT_MS, d), 0);
        ck_assert(mdev_in_sysfs(h, U1));
        assert_dev_s(h, U1, "State", "active");
        assert_dev_s(h, MTTY_LIVE, "Owner", "foreign");

        /* SIGHUP: definitions re-read (one added, one removed behind the daemon's back) */
        write_def(h, "mdpy", U2,
                  "{\n  \"mdev_type\": \"mdpy-vga\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        ck_assert_int_eq(kill(d, SIGHUP), 0);
        wait_dev_s(h, U2, "State", "inactive");
        ck_assert_int_eq(dev_prop_b(h, U2, "Defined"), 1);
        {
                char rel[128];
                snprintf(rel, sizeof(rel), "%s/etc/mdevctl.d/mdpy/%s", harness_root(h), U2);
                ck_assert_int_eq(unlink(rel), 0);
        }
        ck_assert_int_eq(kill(d, SIGHUP), 0);
        wait_dev_s(h, U2, "State", NULL);
        /* RELOADING=1 then READY=1 again */
        end = now_ms() + WAIT_MS;
        while (!strstr(msgs, "RELOADING=1")) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                char buf[1024];
                ssize_t n;
                ck_assert_msg(now_ms() < end, "no RELOADING=1; got: %s", msgs);
                if (poll(&p, 1, 200) <= 0)
                        continue;
                n = recv(fd, buf, sizeof(buf) - 1, 0);
                buf[n > 0 ? n : 0] = '\0';
                fprintf(log, "%s\n", buf);
                fflush(log);
        }

        /* SIGTERM: a clean exit (status 0), the state file whole, the devices left running */
        status = harness_kill(h, d, SIGTERM, WAIT_MS);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
        ck_assert(mdev_in_sysfs(h, U1));
        {
                json_object *st = read_state(h);
                ck_assert(state_has(st, "devices", U1, NULL));
                json_object_put(st);
        }
        fclose(log);
        close(fd);
        test_rm_rf(dir);
        harness_stop(h);
}
END_TEST

/* ---- more lifecycle: Modify, Undefine of a running device, two parents, Describe ------------ */

/* The files in a directory of the testbed, sorted, one per line (temp files would show). */
static char *dir_list(struct harness *h, const char *rel)
{
        _cleanup_free_ char *p = NULL;
        struct dirent **names = NULL;
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        int n;

        ck_assert_int_ge(asprintf(&p, "%s/%s", harness_root(h), rel), 0);
        n = scandir(p, &names, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
                        fprintf(f, "%s\n", names[i]->d_name);
                free(names[i]);
        }
        free(names);
        fclose(f);
        return out;
}

static void modify(struct harness *h, const char *uuid, const char *key, const char *sig, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        va_list ap;
        int r;

        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "Modify"),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "ss", uuid, ""), 0);
        ck_assert_int_ge(sd_bus_message_open_container(m, 'a', "{sv}"), 0);
        ck_assert_int_ge(sd_bus_message_open_container(m, 'e', "sv"), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "s", key), 0);
        ck_assert_int_ge(sd_bus_message_open_container(m, 'v', sig), 0);
        va_start(ap, sig);
        ck_assert_int_ge(sd_bus_message_appendv(m, sig, ap), 0);
        va_end(ap);
        ck_assert_int_ge(sd_bus_message_close_container(m), 0);
        ck_assert_int_ge(sd_bus_message_close_container(m), 0);
        ck_assert_int_ge(sd_bus_message_close_container(m), 0);
        r = sd_bus_call(harness_bus(h), m, 0, &e, NULL);
        ck_assert_msg(r >= 0, "Modify %s: %s: %s", key, e.name, e.message);
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
}

START_TEST(test_modify_and_undefine_running)
{
        struct harness *h = start_host();
        _cleanup_free_ char *file = NULL, *err = NULL, *ls = NULL, *path = device_path(U1);
        struct harness_watch *changed;

        spawn_daemon(h);
        changed = harness_watch_signal(h, MDP_BUS_NAME, path, "org.freedesktop.DBus.Properties",
                                       "PropertiesChanged");
        sd_bus_message_unref(
                call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U1, 0, 1, "a", "1", 0));
        modify(h, U1, "Start", "s", "auto");
        modify(h, U1, "AddAttr", "(ssi)", "b", "2", -1);
        modify(h, U1, "AddAttr", "(ssi)", "z", "0", 0);
        modify(h, U1, "DelAttr", "i", 1);
        modify(h, U1, "Type", "s", "mtty-2");
        file = def_file(h, "mtty", U1);
        ck_assert_str_eq(file,
                         "{\n  \"mdev_type\": \"mtty-2\",\n  \"start\": \"auto\",\n  \"attrs\": [\n    {\n"
                         "      \"z\": \"0\"\n    },\n    {\n      \"b\": \"2\"\n    }\n  ]\n}");
        assert_dev_s(h, U1, "Type", "mtty-2");
        ck_assert_int_eq(dev_prop_b(h, U1, "Autostart"), 1);
        wait_dev_changed_b(changed, "Autostart", 1);
        {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *m = NULL;
                const char *k, *v;
                _cleanup_free_ char *path2 = device_path(U1);
                ck_assert_int_ge(sd_bus_get_property(harness_bus(h), MDP_BUS_NAME, path2, MDP_IFACE_DEVICE,
                                                     "Attrs", &e, &m, "a(ss)"),
                                 0);
                ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "(ss)"), 0);
                ck_assert_int_gt(sd_bus_message_read(m, "(ss)", &k, &v), 0);
                ck_assert(strcmp(k, "z") == 0 && strcmp(v, "0") == 0);
                ck_assert_int_gt(sd_bus_message_read(m, "(ss)", &k, &v), 0);
                ck_assert(strcmp(k, "b") == 0 && strcmp(v, "2") == 0);
                ck_assert_int_eq(sd_bus_message_read(m, "(ss)", &k, &v), 0);
                sd_bus_message_unref(m);
        }
        /* bad changes: InvalidArgs / NoSuchType, the file unchanged */
        {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                ck_assert_int_lt(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                    MDP_IFACE_MANAGER, "Modify", &e, NULL, "ssa{sv}", U1, "",
                                                    1, "Colour", "s", "red"),
                                 0);
                ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
                sd_bus_error_free(&e);
                ck_assert_int_lt(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                    MDP_IFACE_MANAGER, "Modify", &e, NULL, "ssa{sv}", U1, "",
                                                    1, "DelAttr", "i", 7),
                                 0);
                ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
                sd_bus_error_free(&e);
                ck_assert_int_lt(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                    MDP_IFACE_MANAGER, "Modify", &e, NULL, "ssa{sv}", U1, "",
                                                    1, "Type", "s", "mtty-7"),
                                 0);
                ck_assert_str_eq(e.name, MDP_ERROR_NO_SUCH_TYPE);
                sd_bus_error_free(&e);
                ck_assert_int_lt(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                    MDP_IFACE_MANAGER, "Modify", &e, NULL, "ssa{sv}", U1, "",
                                                    1, "Start", "s", "sometimes"),
                                 0);
                ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
                sd_bus_error_free(&e);
                _cleanup_free_ char *again = def_file(h, "mtty", U1);
                ck_assert_str_eq(again, file);
        }

        /* Undefine of a running device: it keeps running, now transient */
        modify(h, U1, "Attrs", "a(ss)", 0);
        start(h, U1);
        sd_bus_message_unref(call_ok(h, "Undefine", "ss", U1, "mtty"));
        ck_assert(!def_exists(h, "mtty", U1));
        ck_assert(mdev_in_sysfs(h, U1));
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 0);
        ck_assert_int_eq(dev_prop_b(h, U1, "Active"), 1);
        wait_dev_changed_b(changed, "Defined", 0);
        /* defined again as it runs (mdevctl's define -u), then Remove is refused again */
        sd_bus_message_unref(call_ok(h, "Define", "sssba(ss)a{sv}", "", "", U1, 0, 0, 0));
        free(file);
        file = def_file(h, "mtty", U1);
        ck_assert_str_eq(file,
                         "{\n  \"mdev_type\": \"mtty-2\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        err = call_err(h, MDP_ERROR_INVALID_ARGS, "Remove", "s", U1);
        err = mfree(err);

        /* one UUID defined under two parents: Start must be told which */
        define(h, "mdpy", "mdpy-vga", U1, false);
        {
                /* ListDevices(true): one record per definition */
                _cleanup_free_ char *l = list_devices(h, true);
                ck_assert_msg(strstr(l, U1 " mdpy mdpy-vga 0 1 manual") &&
                                      strstr(l, U1 " mtty mtty-2 1 1 manual"),
                              "%s", l);
        }
        stop(h, U1);
        err = call_err(h, MDP_ERROR_INVALID_ARGS, "Start", "ss", U1, "");
        ck_assert_msg(strstr(err, "mtty") && strstr(err, "mdpy"), "%s", err);
        assert_dev_s(h, U1, "Parent", ""); /* defined on several, not running */
        sd_bus_message_unref(call_ok(h, "Start", "ss", U1, "mdpy"));
        assert_dev_s(h, U1, "Parent", "mdpy");
        ck_assert(sys_exists(h, "devices/virtual/mdpy/mdpy/" U1));
        stop(h, U1);
        sd_bus_message_unref(call_ok(h, "Undefine", "ss", U1, ""));
        ck_assert(!dev_exists(h, U1));

        /* atomic writes leave nothing behind */
        ls = dir_list(h, "etc/mdevctl.d/mtty");
        ck_assert_str_eq(ls, "");
        ls = mfree(ls);
        ls = dir_list(h, "var/lib/mdevpasid");
        ck_assert_str_eq(ls, "state.json\n");
        harness_watch_free(changed);
        harness_stop(h);
}
END_TEST

/* Names that would reach outside /etc/mdevctl.d or a device's sysfs directory are refused. */
START_TEST(test_invalid_arguments)
{
        struct harness *h = start_host();
        _cleanup_free_ char *err = NULL, *before = NULL, *after = NULL;
        static const char *const bad_parents[] = {"..", "../mtty", "mtty/x", "", "mtty\n"};
        static const char *const bad_attrs[] = {"..", "../remove", "a/b", "", "remove"};

        spawn_daemon(h);
        before = test_tree_fingerprint(harness_root(h));
        for (size_t i = 0; i < ELEMENTSOF(bad_parents); i++) {
                err = call_err(h, MDP_ERROR_INVALID_ARGS, "Define", "sssba(ss)a{sv}", bad_parents[i],
                               "mtty-1", U1, 0, 0, 0);
                err = mfree(err);
                err = call_err(h, MDP_ERROR_INVALID_ARGS, "Create", "sssa(ss)a{sv}", bad_parents[i],
                               "mtty-1", U1, 0, 0);
                err = mfree(err);
        }
        err = call_err(h, MDP_ERROR_INVALID_ARGS, "Define", "sssba(ss)a{sv}", "mtty", "../mtty-1", U1, 0, 0,
                       0);
        err = mfree(err);
        err = call_err(h, MDP_ERROR_INVALID_ARGS, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1/..", U1, 0, 0);
        err = mfree(err);
        for (size_t i = 0; i < ELEMENTSOF(bad_attrs); i++) {
                err = call_err(h, MDP_ERROR_INVALID_ARGS, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U1,
                               0, 1, bad_attrs[i], "1", 0);
                ck_assert_msg(strstr(err, "attribute"), "%s", err);
                err = mfree(err);
                err = call_err(h, MDP_ERROR_INVALID_ARGS, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", U1, 1,
                               bad_attrs[i], "1", 0);
                err = mfree(err);
        }
        /* UUIDs: not canonical, a path */
        err = call_err(h, MDP_ERROR_INVALID_ARGS, "Start", "ss", "../../x", "");
        err = mfree(err);
        err = call_err(h, MDP_ERROR_INVALID_ARGS, "Stop", "s", "5A1C0E2D-7B3F-4E8A-9C6D-0F1E2A3B4C01x");
        err = mfree(err);
        /* options: none are known yet */
        {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                ck_assert_int_lt(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                    MDP_IFACE_MANAGER, "Create", &e, NULL, "sssa(ss)a{sv}",
                                                    "mtty", "mtty-1", U1, 0, 1, "Frobnicate", "b", 1),
                                 0);
                ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
                sd_bus_error_free(&e);
        }
        /* nothing changed on disk or in sysfs (the daemon's state file aside: written at start) */
        after = test_tree_fingerprint(harness_root(h));
        ck_assert_str_eq(after, before);
        harness_stop(h);
}
END_TEST

/* The property names an interface declares, one "name\n" each, sorted. */
static char *property_names(const struct iface_desc *d)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        ck_assert_ptr_nonnull(d);
        for (size_t i = 0; i < d->n; i++)
                if (strncmp(d->members[i], "property ", 9) == 0)
                        fprintf(f, "%.*s\n", (int)strcspn(d->members[i] + 9, " "), d->members[i] + 9);
        fclose(f);
        return out;
}

static char *json_keys(json_object *o)
{
        char **keys = NULL, *out = NULL;
        size_t n = 0, len = 0;
        FILE *f = open_memstream(&out, &len);

        json_object_object_foreach(o, k, v)
        {
                (void)v;
                keys = realloc(keys, (n + 1) * sizeof(*keys));
                keys[n++] = k;
        }
        if (n > 1)
                qsort(keys, n, sizeof(*keys), cmp_str);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\n", keys[i]);
        free(keys);
        fclose(f);
        return out;
}

static void assert_keys_cover(json_object *o, const struct iface_desc *d, const char *what)
{
        _cleanup_free_ char *want = property_names(d);
        for (char *l = want; *l;) {
                char *e = strchr(l, '\n');
                *e = '\0';
                ck_assert_msg(json_object_object_get_ex(o, l, NULL), "Describe: %s lacks %s", what, l);
                l = e + 1;
        }
}

static void check_describe_keys(json_object *o, const struct iface_desc *dev, const struct iface_desc *par,
                                unsigned *n_dev, unsigned *n_par)
{
        if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        check_describe_keys(json_object_array_get_idx(o, i), dev, par, n_dev, n_par);
                return;
        }
        if (!json_object_is_type(o, json_type_object))
                return;
        if (json_object_object_get_ex(o, "Uuid", NULL) && json_object_object_get_ex(o, "Owner", NULL)) {
                _cleanup_free_ char *want = property_names(dev), *got = json_keys(o);
                ck_assert_str_eq(got, want);
                (*n_dev)++;
                return;
        }
        if (json_object_object_get_ex(o, "DevicePath", NULL) &&
            json_object_object_get_ex(o, "Types", NULL)) {
                _cleanup_free_ char *want = property_names(par), *got = json_keys(o);
                ck_assert_str_eq(got, want);
                (*n_par)++;
                return;
        }
        json_object_object_foreach(o, k, v)
        {
                (void)k;
                check_describe_keys(v, dev, par, n_dev, n_par);
        }
}

START_TEST(test_describe)
{
        struct harness *h = start_host();
        sd_bus_message *reply;
        const char *text;
        json_object *o, *v;

        spawn_daemon(h);
        define(h, "mtty", "mtty-1", U1, true);
        start(h, U1);
        reply = call_ok(h, "Describe", "");
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &text), 0);
        o = json_tokener_parse(text);
        ck_assert_msg(o, "Describe is not JSON: %s", text);
        /* keys are the property names */
        ck_assert_msg(json_object_object_get_ex(o, "Version", &v), "%s", text);
        ck_assert_msg(json_object_object_get_ex(o, "Warnings", NULL), "%s", text);
        ck_assert_msg(strstr(text, "\"" U1 "\"") && strstr(text, "\"Uuid\"") &&
                              strstr(text, "\"Autostart\"") && strstr(text, "\"DevicePath\""),
                      "%s", text);
        /* generically: every device and parent object has exactly its interface's property
         * names as keys, the document the Manager's */
        {
                _cleanup_free_ char *xml = test_read(test_srcdir(), "conf/org.mdevpasid1.xml");
                size_t n = 0;
                struct iface_desc *contract = parse_introspection(xml, &n);
                unsigned devices = 0, parents = 0;

                check_describe_keys(o, find_iface(contract, n, MDP_IFACE_DEVICE),
                                    find_iface(contract, n, MDP_IFACE_PARENT), &devices, &parents);
                ck_assert_uint_eq(devices, 4);
                ck_assert_uint_eq(parents, 3);
                assert_keys_cover(o, find_iface(contract, n, MDP_IFACE_MANAGER), "the document");
                free_ifaces(contract, n);
        }
        json_object_put(o);
        sd_bus_message_unref(reply);
        harness_stop(h);
}
END_TEST

/* ---- devices made by others, seen through uevents -------------------------------------- */

START_TEST(test_hotplug_by_others)
{
        struct harness *h = start_host();
        _cleanup_free_ char *path = device_path(U1), *ppath = parent_path("mtty");
        struct harness_watch *added = harness_watch_signal(
                h, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded");
        struct harness_watch *removed = harness_watch_signal(
                h, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved");
        struct harness_watch *types = harness_watch_signal(
                h, MDP_BUS_NAME, ppath, "org.freedesktop.DBus.Properties", "PropertiesChanged");

        spawn_daemon(h);
        /* another tool creates an mdev: a foreign object appears, Types changes */
        sim(h, "create mtty mtty-1 " U1);
        sd_bus_message_unref(wait_signal_arg0(added, "InterfacesAdded", path));
        wait_dev_s(h, U1, "State", "active");
        assert_dev_s(h, U1, "Owner", "foreign");
        {
                _cleanup_free_ char *w = warnings(h);
                ck_assert_msg(strstr(w, U1) && strstr(w, "someone else"), "%s", w);
        }
        sd_bus_message_unref(wait_signal_arg0(types, "PropertiesChanged", MDP_IFACE_PARENT));
        /* and removes it */
        sim(h, "remove " U1);
        sd_bus_message_unref(wait_signal_arg0(removed, "InterfacesRemoved", path));
        ck_assert(!dev_exists(h, U1));
        {
                long end = now_ms() + WAIT_MS;
                char *w = NULL;
                while ((w = warnings(h)) && strstr(w, U1)) {
                        ck_assert_msg(now_ms() < end, "the warning about %s stayed:\n%s", U1, w);
                        free(w);
                        usleep(20 * 1000);
                }
                free(w);
        }

        /* mdevctl defines and starts one behind the daemon's back: owner mdevctl */
        write_def(h, "mtty", U2,
                  "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
        sim(h, "create mtty mtty-1 " U2);
        wait_dev_s(h, U2, "State", "active");
        assert_dev_s(h, U2, "Owner", "mdevctl");
        ck_assert_int_eq(dev_prop_b(h, U2, "Defined"), 1);
        /* the daemon may stop it (it is defined), and the definition stays */
        stop(h, U2);
        ck_assert(!mdev_in_sysfs(h, U2));
        ck_assert_int_eq(dev_prop_b(h, U2, "Defined"), 1);
        /* an SR-IOV change on a parent does not upset anything */
        sim(h, "uevent change /devices/virtual/mtty/mtty");
        assert_dev_s(h, MTTY_LIVE, "Owner", "foreign");
        harness_watch_free(added);
        harness_watch_free(removed);
        harness_watch_free(types);
        harness_stop(h);
}
END_TEST

/* ---- signals while an operation is stuck, kill -9 mid-stop ---------------------------------- */

START_TEST(test_sigterm_with_blocked_remove)
{
        struct harness *h = start_host();
        struct pending p = {0};
        sd_bus_slot *slot = NULL;
        int status;
        pid_t d;

        d = spawn_daemon(h);
        create(h, "mtty", "mtty-1", U1);
        sim(h, "hold " U1);
        ck_assert_int_ge(sd_bus_call_method_async(harness_bus(h), &slot, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                  MDP_IFACE_MANAGER, "Remove", on_pending_reply, &p, "s",
                                                  U1),
                         0);
        wait_dev_s(h, U1, "State", "stopping");
        wait_sim_removing(h, U1);
        /* the worker thread is stuck in write(): SIGTERM must still end the daemon, cleanly */
        status = harness_kill(h, d, SIGTERM, WAIT_MS);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status 0x%x", status);
        sd_bus_slot_unref(slot);
        /* the kernel finishes the removal when the holder lets go */
        sim(h, "release " U1);
        {
                long end = now_ms() + WAIT_MS;
                while (mdev_in_sysfs(h, U1))
                        ck_assert(now_ms() < end);
        }
        /* a new daemon forgets the device that is gone */
        spawn_daemon(h);
        ck_assert(!dev_exists(h, U1));
        {
                json_object *st = read_state(h);
                ck_assert(!state_has(st, "devices", U1, NULL));
                ck_assert_uint_eq(state_count(st, "operations"), 0);
                json_object_put(st);
        }
        harness_stop(h);
}
END_TEST

START_TEST(test_kill9_mid_stop)
{
        struct harness *h = start_host();
        _cleanup_free_ char *w = NULL;
        sd_bus_slot *slot = NULL;
        json_object *st;
        pid_t d;

        d = spawn_daemon(h);
        define(h, "mtty", "mtty-1", U1, false);
        start(h, U1);
        sim(h, "hold " U1);
        ck_assert_int_ge(sd_bus_call_method_async(harness_bus(h), &slot, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                  MDP_IFACE_MANAGER, "Stop", NULL, NULL, "s", U1),
                         0);
        wait_dev_s(h, U1, "State", "stopping");
        wait_sim_removing(h, U1);
        st = read_state(h);
        ck_assert(state_has(st, "operations", U1, "stop"));
        json_object_put(st);
        harness_kill(h, d, SIGKILL, 5000);
        sd_bus_slot_unref(slot);

        /* restart while the removal is still pending in the kernel: the device is active */
        d = spawn_daemon(h);
        wait_dev_s(h, U1, "State", "active");
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 1);
        w = warnings(h);
        ck_assert_msg(strstr(w, U1) && strstr(w, "still active"), "%s", w);
        st = read_state(h);
        ck_assert_uint_eq(state_count(st, "operations"), 0);
        json_object_put(st);
        /* the holder lets go: the kernel completes the old removal, the daemon follows */
        sim(h, "release " U1);
        wait_dev_s(h, U1, "State", "inactive");
        ck_assert(!mdev_in_sysfs(h, U1));
        ck_assert_int_eq(dev_prop_b(h, U1, "Defined"), 1);
        start(h, U1);
        assert_alive(h, d);
        harness_stop(h);
}
END_TEST

/* A bad configuration file: Reload says which, the daemon keeps the previous one. */
START_TEST(test_reload_bad_config)
{
        struct harness *h = start_host();
        _cleanup_free_ char *err = NULL;
        pid_t d;

        d = spawn_daemon(h);
        test_write(harness_root(h), "etc/mdevpasid/mdevpasid.conf",
                   "{ \"version\": 1, \"devices\": { \"start_timeout_ms\": ");
        err = call_err(h, MDP_ERROR_INVALID_CONFIG, "Reload", "");
        ck_assert_msg(strstr(err, "mdevpasid.conf"), "%s", err);
        ck_assert_int_eq(kill(d, SIGHUP), 0);
        create(h, "mtty", "mtty-1", U1);
        assert_alive(h, d);
        test_write(harness_root(h), "etc/mdevpasid/mdevpasid.conf", "{ \"version\": 1 }\n");
        sd_bus_message_unref(call_ok(h, "Reload", ""));
        harness_stop(h);
}
END_TEST

/* ---- more concurrency (issue 10) ------------------------------------------------------------ */

/* Async calls on several connections, answered in any order. */
struct flight {
        sd_bus *conns[8];
        unsigned sent, done, by_error[16];
        char names[16][64];
        char last_other[512];
};

static void flight_open(struct harness *h, struct flight *f)
{
        *f = (struct flight){0};
        for (size_t i = 0; i < ELEMENTSOF(f->conns); i++) {
                ck_assert_int_ge(sd_bus_new(&f->conns[i]), 0);
                ck_assert_int_ge(sd_bus_set_address(f->conns[i], harness_bus_address(h)), 0);
                ck_assert_int_ge(sd_bus_set_bus_client(f->conns[i], true), 0);
                ck_assert_int_ge(sd_bus_start(f->conns[i]), 0);
        }
}

static unsigned flight_count(struct flight *f, const char *name)
{
        for (unsigned i = 0; i < ELEMENTSOF(f->names); i++)
                if (strcmp(f->names[i], name) == 0)
                        return f->by_error[i];
        return 0;
}

static int on_flight_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct flight *f = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *name = e ? e->name : "ok";

        f->done++;
        for (unsigned i = 0; i < ELEMENTSOF(f->names); i++) {
                if (!f->names[i][0])
                        snprintf(f->names[i], sizeof(f->names[i]), "%s", name);
                if (strcmp(f->names[i], name) == 0) {
                        f->by_error[i]++;
                        break;
                }
        }
        if (e && strcmp(e->name, MDP_ERROR_NO_CAPACITY) != 0 && strcmp(e->name, MDP_ERROR_BUSY) != 0)
                snprintf(f->last_other, sizeof(f->last_other), "%s: %s", e->name, e->message);
        return 0;
}

static void flight_call(struct flight *f, const char *member, const char *types, ...)
{
        sd_bus *bus = f->conns[f->sent % ELEMENTSOF(f->conns)];
        sd_bus_message *m = NULL;
        va_list ap;

        ck_assert_int_ge(sd_bus_message_new_method_call(bus, &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, member),
                         0);
        va_start(ap, types);
        ck_assert_int_ge(sd_bus_message_appendv(m, types, ap), 0);
        va_end(ap);
        ck_assert_int_ge(sd_bus_call_async(bus, NULL, m, on_flight_reply, f, 60 * 1000 * 1000), 0);
        sd_bus_message_unref(m);
        f->sent++;
}

static void flight_wait(struct flight *f)
{
        long end = now_ms() + 60000;

        for (size_t i = 0; i < ELEMENTSOF(f->conns); i++)
                ck_assert_int_ge(sd_bus_flush(f->conns[i]), 0);
        while (f->done < f->sent) {
                struct pollfd p[ELEMENTSOF(f->conns)];
                for (size_t i = 0; i < ELEMENTSOF(f->conns); i++) {
                        while (sd_bus_process(f->conns[i], NULL) > 0)
                                ;
                        p[i] = (struct pollfd){.fd = sd_bus_get_fd(f->conns[i]), .events = POLLIN};
                }
                if (f->done >= f->sent)
                        break;
                ck_assert_msg(now_ms() < end, "only %u of %u calls answered", f->done, f->sent);
                (void)poll(p, ELEMENTSOF(f->conns), 200);
        }
}

static void flight_close(struct flight *f)
{
        for (size_t i = 0; i < ELEMENTSOF(f->conns); i++)
                sd_bus_flush_close_unref(f->conns[i]);
}

/* Every device object agrees with sysfs and state.json; nothing is in flight. */
static void assert_consistent(struct harness *h)
{
        _cleanup_free_ char *list = list_devices(h, false);
        json_object *st = read_state(h), *a = NULL;
        _cleanup_free_ char *path = NULL;
        DIR *d;
        struct dirent *de;
        unsigned in_sys = 0, listed = 0;

        ck_assert_uint_eq(state_count(st, "operations"), 0);
        /* every active mdev in sysfs is listed as active, and the other way round */
        ck_assert_int_ge(asprintf(&path, "%s/bus/mdev/devices", harness_sys(h)), 0);
        d = opendir(path);
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                in_sys++;
                ck_assert_msg(strstr(list, de->d_name), "%s is in sysfs but not listed:\n%s", de->d_name,
                              list);
                ck_assert_int_eq(dev_prop_b(h, de->d_name, "Active"), 1);
        }
        closedir(d);
        for (const char *l = list; *l; l = strchrnul(l, '\n') + (*strchrnul(l, '\n') ? 1 : 0)) {
                listed++;
                ck_assert_msg(strstr(l, " active\n") == strchrnul(l, '\n') - 7, "not settled: %.*s",
                              (int)(strchrnul(l, '\n') - l), l);
        }
        ck_assert_uint_eq(in_sys, listed);
        /* what state.json owns exists */
        if (json_object_object_get_ex(st, "devices", &a))
                for (size_t i = 0; i < json_object_array_length(a); i++) {
                        json_object *u = NULL;
                        ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, i), "uuid", &u));
                        ck_assert_msg(mdev_in_sysfs(h, json_object_get_string(u)),
                                      "state.json owns %s, which is gone", json_object_get_string(u));
                }
        json_object_put(st);
}

/* Types sharing one pool (mtty's ports): racers on both never over-commit it. */
START_TEST(test_concurrent_shared_pool)
{
        struct harness *h = start_host();
        struct flight f;
        char uuid[37];
        long ports1, ports2;
        unsigned n1 = 0, n2 = 0;

        spawn_daemon(h);
        sim(h, "capacity mtty mtty-1 9"); /* 9 free ports: mtty-2 (2 ports each) shows 4 */
        flight_open(h, &f);
        for (int i = 0; i < 40; i++) {
                snprintf(uuid, sizeof(uuid), "5ea2ed00-0000-4000-8000-%012d", i);
                flight_call(&f, "Create", "sssa(ss)a{sv}", "mtty", i % 2 ? "mtty-2" : "mtty-1", uuid, 0, 0);
        }
        flight_wait(&f);
        ck_assert_msg(flight_count(&f, "ok") + flight_count(&f, MDP_ERROR_NO_CAPACITY) == 40,
                      "other errors: %s", f.last_other);
        for (int i = 0; i < 40; i++) {
                snprintf(uuid, sizeof(uuid), "5ea2ed00-0000-4000-8000-%012d", i);
                if (mdev_in_sysfs(h, uuid))
                        *(i % 2 ? &n2 : &n1) += 1;
        }
        ck_assert_uint_eq(n1 + n2, flight_count(&f, "ok"));
        ck_assert_int_le(n1 + 2 * n2, 9);
        /* the pool is used up as far as it goes: a free port is left only when mtty-2 lost */
        ports1 = sys_read_long(h, "class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances");
        ports2 = sys_read_long(h, "class/mdev_bus/mtty/mdev_supported_types/mtty-2/available_instances");
        ck_assert_int_eq(ports1, 9 - (long)(n1 + 2 * n2));
        ck_assert_int_eq(ports1, 0);
        ck_assert_int_eq(ports2, 0);
        fprintf(stderr, "check_daemon: shared pool of 9 ports: %u mtty-1 + %u mtty-2, %u NoCapacity\n", n1,
                n2, flight_count(&f, MDP_ERROR_NO_CAPACITY));
        assert_consistent(h);
        flight_close(&f);
        harness_stop(h);
}
END_TEST

/* A parent unregisters while starts and creates on it are in flight, one of them waiting for
 * a device that never appears (start timeout 60 s): every call ends promptly, either started
 * before the parent went or NoSuchParent naming it; nothing is left behind. */
START_TEST(test_parent_gone_with_queued_creates)
{
        struct harness *h = start_host();
        struct flight f;
        char uuid[37];

        spawn_daemon_full(h, "60000", NULL);
        flight_open(h, &f);
        /* the first create hangs (the device never appears), the rest queue behind it */
        sim(h, "fault ghost-create 1 mtty");
        for (int i = 0; i < 12; i++) {
                snprintf(uuid, sizeof(uuid), "9a7e9000-0000-4000-8000-%012d", i);
                if (i % 3 == 0) {
                        sd_bus_message_unref(
                                call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", uuid, 0, 0, 0));
                        flight_call(&f, "Start", "ss", uuid, "mtty");
                } else
                        flight_call(&f, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", uuid, 0, 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(f.conns); i++)
                ck_assert_int_ge(sd_bus_flush(f.conns[i]), 0);
        {
                long end = now_ms() + WAIT_MS;
                _cleanup_free_ char *writes = NULL;
                while (!writes || !strstr(writes, "create")) {
                        free(writes);
                        writes = sim_out(h, "writes");
                        ck_assert_msg(now_ms() < end, "no create write");
                        usleep(20 * 1000);
                }
        }
        sim(h, "unregister mtty");
        flight_wait(&f); /* asserts when a call is still unanswered after 60 s */
        ck_assert_uint_eq(f.done, 12);
        ck_assert_msg(flight_count(&f, "ok") + flight_count(&f, MDP_ERROR_NO_SUCH_PARENT) == 12,
                      "ok %u, NoSuchParent %u, other: %s", flight_count(&f, "ok"),
                      flight_count(&f, MDP_ERROR_NO_SUCH_PARENT), f.last_other);
        ck_assert_uint_ge(flight_count(&f, MDP_ERROR_NO_SUCH_PARENT), 1);
        {
                _cleanup_free_ char *last =
                        dev_prop_s(h, "9a7e9000-0000-4000-8000-000000000000", "LastError");
                ck_assert_msg(last && strstr(last, "unregistered") && strstr(last, "mtty"),
                              "LastError \"%s\"", last);
        }
        for (int i = 0; i < 12; i++) {
                snprintf(uuid, sizeof(uuid), "9a7e9000-0000-4000-8000-%012d", i);
                if (i % 3 == 0)
                        assert_dev_s(h, uuid, "State", "inactive");
                else
                        ck_assert(!dev_exists(h, uuid));
        }
        assert_consistent(h);
        /* back, and working */
        sim(h, "fault clear");
        sim(h, "register mtty");
        {
                long end = now_ms() + WAIT_MS;
                while (!sys_exists(h, "class/mdev_bus/mtty"))
                        ck_assert(now_ms() < end);
        }
        start(h, "9a7e9000-0000-4000-8000-000000000000");
        flight_close(&f);
        harness_stop(h);
}
END_TEST

/* A storm of every lifecycle call on a few devices from several clients, a parent going and
 * coming back in the middle: every call is answered, the daemon stays up, and afterwards the
 * model, sysfs and state.json agree. */
START_TEST(test_storm)
{
        struct harness *h = start_host();
        struct flight f;
        char uuids[6][37];
        unsigned seed = 12345;
        pid_t d;

        d = spawn_daemon(h);
        flight_open(h, &f);
        for (int i = 0; i < 6; i++) {
                snprintf(uuids[i], sizeof(uuids[i]), "5708a000-0000-4000-8000-%012d", i);
                if (i < 3)
                        define(h, i == 0 ? "mdpy" : "mtty", i == 0 ? "mdpy-vga" : "mtty-1", uuids[i],
                               i == 1);
        }
        for (int round = 0; round < 6; round++) {
                for (int k = 0; k < 30; k++) {
                        const char *u = uuids[(seed = seed * 1103515245 + 12345) % 6];
                        switch ((seed >> 8) % 7) {
                        case 0:
                        case 1:
                                flight_call(&f, "Start", "ss", u, "");
                                break;
                        case 2:
                                flight_call(&f, "Stop", "s", u);
                                break;
                        case 3:
                                flight_call(&f, "Create", "sssa(ss)a{sv}", "mtty", "mtty-2", u, 0, 0);
                                break;
                        case 4:
                                flight_call(&f, "Remove", "s", u);
                                break;
                        case 5:
                                flight_call(&f, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", u, 0, 0, 0);
                                break;
                        default:
                                flight_call(&f, "Undefine", "ss", u, "");
                        }
                }
                if (round == 2)
                        sim(h, "unregister mtty");
                if (round == 3)
                        sim(h, "register mtty");
                if (round == 4)
                        sim(h, "fault fail-create EIO 3");
                for (size_t i = 0; i < ELEMENTSOF(f.conns); i++)
                        ck_assert_int_ge(sd_bus_flush(f.conns[i]), 0);
        }
        flight_wait(&f);
        fprintf(stderr, "check_daemon: storm: %u calls answered (%u ok)\n", f.done, flight_count(&f, "ok"));
        sim(h, "fault clear");
        assert_alive(h, d);
        assert_consistent(h);
        /* definitions on disk are exactly the Defined objects */
        for (int i = 0; i < 6; i++) {
                bool file = def_exists(h, "mtty", uuids[i]) || def_exists(h, "mdpy", uuids[i]);
                ck_assert_int_eq(dev_prop_b(h, uuids[i], "Defined") == 1, file);
        }
        /* and a restart sees the same */
        {
                _cleanup_free_ char *before = list_devices(h, true), *after = NULL;
                harness_kill(h, d, SIGTERM, WAIT_MS);
                spawn_daemon(h);
                after = list_devices(h, true);
                ck_assert_str_eq(after, before);
                assert_consistent(h);
        }
        flight_close(&f);
        harness_stop(h);
}
END_TEST

/* ---- a PCI parent (a generated host shaped like a real kernel's) -------------------------- */

/* tests/tools/gen-fake-sysfs.py --kernel-like: one i915-GVTg-like PCI parent 0000:00:02.0
 * with 60 mdevs, the first 40 defined in /etc/mdevctl.d (auto) and 20 more definitions of
 * devices that are not running. A PCI parent's unregistration leaves its device in sysfs:
 * only the change MDEV_STATE=unregistered tells (TESTING.md layer 7 §4.2). */
START_TEST(test_pci_parent_generated_host)
{
        _cleanup_free_ char *dir = test_mkdtemp("gen"), *cmd = NULL, *host = NULL, *list = NULL,
                            *ppath = parent_path("0000:00:02.0"), *pci = NULL;
        struct harness *h;
        unsigned active = 0, defined = 0, mdevctl_owned = 0;
        struct harness_watch *removed;
        pid_t d;

        ck_assert_int_ge(asprintf(&cmd,
                                  "env -u LD_PRELOAD python3 '%s/tests/tools/gen-fake-sysfs.py' '%s/host' "
                                  "--layout single "
                                  "--active 40 --defined 60 --start manual --kernel-like >/dev/null",
                                  test_srcdir(), dir),
                         0);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_ge(asprintf(&host, "%s/host", dir), 0);
        h = harness_start(&(struct harness_opts){.sysfs = host, .sysfs_move = true});
        {
                long t0 = now_ms();
                d = spawn_daemon(h);
                free(list_devices(h, true));
                fprintf(stderr,
                        "check_daemon: generated host: bus name and ListDevices answered %ld ms after "
                        "spawn\n",
                        now_ms() - t0);
        }
        removed = harness_watch_signal(h, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                       "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved");

        list = list_devices(h, false);
        for (const char *l = list; (l = strchr(l, '\n')); l++)
                active++;
        mdevctl_owned = 0;
        for (const char *l = list; (l = strstr(l, " mdevctl active\n")); l++)
                mdevctl_owned++;
        list = mfree(list);
        list = list_devices(h, true);
        for (const char *l = list; (l = strchr(l, '\n')); l++)
                defined++;
        ck_assert_uint_eq(active, 40);
        ck_assert_uint_eq(mdevctl_owned, 40); /* running and defined: mdevctl's */
        ck_assert_uint_eq(defined, 60);
        ck_assert_int_ge(sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, ppath, MDP_IFACE_PARENT,
                                                    "PciAddress", NULL, &pci),
                         0);
        ck_assert_str_eq(pci, "0000:00:02.0");

        /* the lifecycle on a PCI parent */
        {
                sd_bus_message *reply =
                        call_ok(h, "Create", "sssa(ss)a{sv}", "0000:00:02.0", "i915-GVTg_V5_8", "", 0, 0);
                const char *u;
                ck_assert_int_ge(sd_bus_message_read(reply, "s", &u), 0);
                ck_assert(mdev_in_sysfs(h, u));
                sd_bus_message_unref(call_ok(h, "Remove", "s", u));
                sd_bus_message_unref(reply);
        }
        /* a defined, inactive one (uuids 40..59 are not running) */
        {
                char *first = NULL;
                const char *l = strstr(list, " 0 1 ");
                ck_assert_ptr_nonnull(l);
                while (l > list && l[-1] != '\n')
                        l--;
                first = strndup(l, 36);
                start(h, first);
                assert_dev_s(h, first, "Owner", "mdevpasid");
                stop(h, first);
                free(first);
        }

        /* the PCI parent unregisters: its device stays, the parent object and its mdevs go */
        sim(h, "unregister 0000:00:02.0");
        sd_bus_message_unref(wait_signal_arg0(removed, "InterfacesRemoved", ppath));
        {
                long end = now_ms() + WAIT_MS;
                char *l2 = NULL;
                for (;;) {
                        l2 = list_devices(h, false);
                        if (!*l2)
                                break;
                        ck_assert_msg(now_ms() < end, "still listed as active:\n%s", l2);
                        free(l2);
                        usleep(50 * 1000);
                }
                free(l2);
        }
        ck_assert(sys_exists(h, "devices/pci0000:00/0000:00:02.0"));
        list = mfree(list);
        list = list_devices(h, true);
        defined = 0;
        for (const char *l = list; (l = strchr(l, '\n')); l++)
                defined++;
        ck_assert_uint_eq(defined, 60); /* definitions stay */
        assert_consistent(h);
        sim(h, "register 0000:00:02.0");
        {
                long end = now_ms() + WAIT_MS;
                sd_bus_error e = SD_BUS_ERROR_NULL;
                char *v = NULL;
                while (sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, ppath, MDP_IFACE_PARENT,
                                                  "Name", &e, &v) < 0) {
                        sd_bus_error_free(&e);
                        ck_assert_msg(now_ms() < end, "the parent did not come back");
                        usleep(50 * 1000);
                }
                free(v);
        }
        create(h, "0000:00:02.0", "i915-GVTg_V5_8", U1);
        assert_alive(h, d);
        harness_watch_free(removed);
        harness_stop(h);
        test_rm_rf(dir);
}
END_TEST

/* Attributes are written in order after the device bound (the sim gives mtty-1's new mdevs
 * vfio_ap-like writable attributes; repeated names are how vfio_ap assigns several). */
START_TEST(test_attributes_in_order)
{
        struct harness *h = start_host();
        _cleanup_free_ char *writes = NULL, *v = NULL;
        const char *c, *a1, *a2, *a3;

        spawn_daemon(h);
        sim(h, "attrs mtty mtty-1 assign_adapter assign_domain");
        sd_bus_message_unref(call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U1, 0, 3,
                                     "assign_adapter", "5", "assign_domain", "6", "assign_adapter", "7", 0));
        sim(h, "writes clear");
        start(h, U1);
        writes = sim_out(h, "writes");
        c = strstr(writes, "mtty-1/create");
        a1 = strstr(writes, U1 "/assign_adapter");
        a2 = strstr(writes, U1 "/assign_domain");
        a3 = a1 ? strstr(a1 + 1, U1 "/assign_adapter") : NULL;
        ck_assert_msg(c && a1 && a2 && a3 && c < a1 && a1 < a2 && a2 < a3, "writes:\n%s", writes);
        v = test_read(harness_sys(h), "bus/mdev/devices/" U1 "/assign_adapter");
        ck_assert_msg(v && strncmp(v, "7", 1) == 0, "%s", v);
        v = mfree(v);
        v = test_read(harness_sys(h), "bus/mdev/devices/" U1 "/assign_domain");
        ck_assert_msg(v && strncmp(v, "6", 1) == 0, "%s", v);
        assert_dev_s(h, U1, "State", "active");
        /* a transient device with attributes */
        writes = mfree(writes);
        sim(h, "writes clear");
        sd_bus_message_unref(call_ok(h, "Create", "sssa(ss)a{sv}", "mtty", "mtty-1", U2, 2, "assign_domain",
                                     "1", "assign_adapter", "2", 0));
        writes = sim_out(h, "writes");
        a2 = strstr(writes, U2 "/assign_domain");
        a1 = strstr(writes, U2 "/assign_adapter");
        ck_assert_msg(a1 && a2 && a2 < a1, "writes:\n%s", writes);
        harness_stop(h);
}
END_TEST

/* Snapshot: the sections asked for and nothing else, the same records as ListParents and
 * ListTypes (ListDevices: at every list_devices()), attributes in order, and a bad section
 * named in the error. */
START_TEST(test_snapshot)
{
        struct harness *h = start_host();
        _cleanup_free_ char *all = NULL, *parents = NULL, *types = NULL, *lp = NULL, *lt = NULL, *err = NULL;
        _cleanup_free_ char *devs = NULL;
        sd_bus_message *reply;
        const char *name, *devpath, *driver, *subsystem, *pci, *iommu, *parent, *id, *tname, *desc, *api,
                *k;
        int32_t group;
        int64_t avail;
        size_t len = 0;
        FILE *f;

        spawn_daemon(h);
        sim(h, "attrs mtty mtty-1 assign_adapter assign_domain");
        sd_bus_message_unref(call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U1, 0, 3,
                                     "assign_adapter", "5", "assign_domain", "6", "assign_adapter", "7", 0));
        start(h, U1);
        devs = snapshot_text(h, (const char *const[]){"devices", NULL});
        ck_assert_msg(strstr(devs, "D|" U1 "|mtty|mtty-1|1|1|manual|") &&
                              strstr(devs, "A|assign_adapter|5\nA|assign_domain|6\nA|assign_adapter|7\n"),
                      "%s", devs);
        /* none: all four sections, in the contract's order */
        all = snapshot_text(h, (const char *const[]){NULL});
        ck_assert_msg(all[0] == 'P' && strstr(all, "\nT|") && strstr(all, "\nD|") && strstr(all, "\nd|") &&
                              strstr(all, "\nT|") < strstr(all, "\nD|") &&
                              strstr(all, "\nD|") < strstr(all, "\nd|"),
                      "%s", all);
        parents = snapshot_text(h, (const char *const[]){"parents", NULL});
        types = snapshot_text(h, (const char *const[]){"types", NULL});
        ck_assert_msg(!strstr(parents, "T|") && !strstr(parents, "D|") && !strstr(types, "P|"), "%s%s", parents,
                      types);

        /* the same records as ListParents (with the family the Iommus property gives) and
         * ListTypes */
        {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *iommus = NULL;
                char names[8][64], families[8][16];
                size_t n_iommus = 0;
                const char *in, *fam;

                ck_assert_int_ge(sd_bus_get_property(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                     MDP_IFACE_MANAGER, "Iommus", &e, &iommus, "a(ssa{ss})"),
                                 0);
                ck_assert_int_ge(sd_bus_message_enter_container(iommus, 'a', "(ssa{ss})"), 0);
                while (n_iommus < 8 && sd_bus_message_enter_container(iommus, 'r', "ssa{ss}") > 0) {
                        ck_assert_int_ge(sd_bus_message_read(iommus, "ss", &in, &fam), 0);
                        snprintf(names[n_iommus], sizeof(names[0]), "%s", in);
                        snprintf(families[n_iommus++], sizeof(families[0]), "%s", fam);
                        ck_assert_int_ge(sd_bus_message_skip(iommus, "a{ss}"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(iommus), 0);
                }
                sd_bus_message_unref(iommus);
                reply = call_ok(h, "ListParents", "");
                f = open_memstream(&lp, &len);
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(ssssssi)"), 0);
                while (sd_bus_message_read(reply, "(ssssssi)", &name, &devpath, &driver, &subsystem, &pci,
                                           &iommu, &group) > 0) {
                        fam = *iommu ? NULL : "none";
                        for (size_t i = 0; i < n_iommus && !fam; i++)
                                if (strcmp(names[i], iommu) == 0)
                                        fam = families[i];
                        ck_assert_msg(fam, "parent %s: IOMMU %s is not in Iommus", name, iommu);
                        fprintf(f, "P|%s|%s|%s|%s|%s|%s|%s|%d\n", name, devpath, driver, subsystem, pci,
                                iommu, fam, group);
                }
                fclose(f);
                sd_bus_message_unref(reply);
        }
        ck_assert_str_eq(parents, lp);

        reply = call_ok(h, "ListTypes", "s", "");
        len = 0;
        f = open_memstream(&lt, &len);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(sssssxa{sv})"), 0);
        while (sd_bus_message_enter_container(reply, 'r', "sssssxa{sv}") > 0) {
                const char *class = "", *basis = "", *error = "", *v;

                ck_assert_int_ge(sd_bus_message_read(reply, "sssssx", &parent, &id, &tname, &desc, &api, &avail),
                                 0);
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{sv}"), 0);
                while (sd_bus_message_read(reply, "{sv}", &k, "s", &v) > 0) {
                        if (strcmp(k, "class") == 0)
                                class = v;
                        else if (strcmp(k, "class_basis") == 0)
                                basis = v;
                        else if (strcmp(k, "error") == 0)
                                error = v;
                }
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                fprintf(f, "T|%s|%s|%s|%s|%s|%" PRId64 "|%s|%s|%s\n", parent, id, tname, desc, api, avail, class,
                        basis, error);
        }
        fclose(f);
        sd_bus_message_unref(reply);
        ck_assert_str_eq(types, lt);

        /* the daemon keeps answers while only reads come (daemon/bus-manager.c): a device
         * another tool creates, a uevent and no call of ours, must show in the next one */
        {
                _cleanup_free_ char *path = device_path(U2), *before = NULL, *again = NULL, *after = NULL;
                _cleanup_free_ char *types_after = NULL, *ppath = parent_path("mtty");
                struct harness_watch *added = harness_watch_signal(h, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                                   "org.freedesktop.DBus.ObjectManager",
                                                                   "InterfacesAdded");
                struct harness_watch *changed = harness_watch_signal(h, MDP_BUS_NAME, ppath,
                                                                     "org.freedesktop.DBus.Properties",
                                                                     "PropertiesChanged");

                before = snapshot_text(h, (const char *const[]){"devices", "types", NULL});
                again = snapshot_text(h, (const char *const[]){"devices", "types", NULL});
                ck_assert_str_eq(before, again);
                ck_assert(!strstr(before, U2));
                sim(h, "create mtty mtty-2 " U2);
                sd_bus_message_unref(wait_signal_arg0(added, "InterfacesAdded", path));
                after = snapshot_text(h, (const char *const[]){"devices", "types", NULL});
                ck_assert_msg(strstr(after, "D|" U2 "|mtty|mtty-2|1|0|manual|foreign|"), "%s", after);
                /* and the types' available instances moved with it */
                sd_bus_message_unref(wait_signal_arg0(changed, "PropertiesChanged", MDP_IFACE_PARENT));
                types_after = snapshot_text(h, (const char *const[]){"types", NULL});
                ck_assert_msg(strcmp(types_after, types) != 0, "%s", types_after);
                assert_snapshot_matches_list(h, false);
                harness_watch_free(added);
                harness_watch_free(changed);
        }

        /* a section nobody knows is refused, by name; nothing else is sent */
        err = call_err(h, SD_BUS_ERROR_INVALID_ARGS, "Snapshot", "as", 2, "devices", "gadgets");
        ck_assert_msg(strstr(err, "\"gadgets\"") && strstr(err, "definitions"), "%s", err);
        harness_stop(h);
}
END_TEST

/* Reload, Undefine and Modify while operations are in flight (a start waiting for a device
 * that never appears, a removal blocked by a VFIO user): the operations still end the way
 * they would have, and nothing is left half-done. */
START_TEST(test_changes_during_operations)
{
        struct harness *h = start_host();
        struct pending st = {0}, sp = {0};
        sd_bus_slot *s1 = NULL, *s2 = NULL;
        sd_bus *bus;
        pid_t d;

        d = spawn_daemon_full(h, "3000", NULL);
        bus = harness_bus(h);
        define(h, "mtty", "mtty-1", U1, false);
        define(h, "mtty", "mtty-1", U2, false);
        start(h, U2);
        sim(h, "fault ghost-create 1 " U1);
        ck_assert_int_ge(sd_bus_call_method_async(bus, &s1, MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                                  "Start", on_pending_reply, &st, "ss", U1, ""),
                         0);
        sim(h, "hold " U2);
        ck_assert_int_ge(sd_bus_call_method_async(bus, &s2, MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                                  "Stop", on_pending_reply, &sp, "s", U2),
                         0);
        wait_dev_s(h, U1, "State", "starting");
        wait_sim_removing(h, U2);

        /* meanwhile: a reload, the starting device's definition removed, the other's changed */
        sd_bus_message_unref(call_ok(h, "Reload", ""));
        ck_assert_int_eq(kill(d, SIGHUP), 0);
        sd_bus_message_unref(call_ok(h, "Undefine", "ss", U1, ""));
        modify(h, U2, "Start", "s", "auto");
        assert_dev_s(h, U1, "State", "starting");
        assert_dev_s(h, U2, "State", "stopping");

        wait_pending(bus, &st);
        ck_assert_str_eq(st.name, MDP_ERROR_TIMEOUT);
        wait_pending(bus, &sp);
        ck_assert_str_eq(sp.name, MDP_ERROR_BUSY);
        sd_bus_slot_unref(s1);
        sd_bus_slot_unref(s2);
        /* U1: neither defined nor active any more: its object goes */
        wait_dev_s(h, U1, "State", NULL);
        ck_assert(!def_exists(h, "mtty", U1));
        /* U2: its removal completes when the holder lets go; the modified definition stays */
        sim(h, "release " U2);
        wait_dev_s(h, U2, "State", "inactive");
        ck_assert_int_eq(dev_prop_b(h, U2, "Autostart"), 1);
        {
                _cleanup_free_ char *f = def_file(h, "mtty", U2);
                ck_assert_str_eq(
                        f, "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
        }
        assert_consistent(h);
        assert_alive(h, d);
        harness_stop(h);
}
END_TEST

static Suite *daemon_suite(void)
{
        Suite *s = suite_create("daemon");
        TCase *tc = tcase_create("integration");

        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_introspection);
        tcase_add_test(tc, test_define_start_stop_undefine);
        tcase_add_test(tc, test_transient_create_remove);
        tcase_add_test(tc, test_autostart_late_parent);
        tcase_add_test(tc, test_autostart_once_per_registration);
        tcase_add_test(tc, test_autostart_progress);
        tcase_add_test(tc, test_cli_start_parent_mdevs);
        tcase_add_test(tc, test_parent_unregisters_with_live_mdevs);
        tcase_add_test(tc, test_capacity_and_duplicates);
        tcase_add_test(tc, test_concurrent_capacity);
        tcase_add_test(tc, test_kill9_mid_start);
        tcase_add_test(tc, test_malformed_definition);
        tcase_add_test(tc, test_mdevctl_reads_daemon_files);
        tcase_add_test(tc, test_blocked_remove);
        tcase_add_test(tc, test_kernel_misbehaviour);
        tcase_add_test(tc, test_ready_reload_term);
        tcase_add_test(tc, test_modify_and_undefine_running);
        tcase_add_test(tc, test_invalid_arguments);
        tcase_add_test(tc, test_describe);
        tcase_add_test(tc, test_hotplug_by_others);
        tcase_add_test(tc, test_sigterm_with_blocked_remove);
        tcase_add_test(tc, test_kill9_mid_stop);
        tcase_add_test(tc, test_reload_bad_config);
        tcase_add_test(tc, test_concurrent_shared_pool);
        tcase_add_test(tc, test_parent_gone_with_queued_creates);
        tcase_add_test(tc, test_storm);
        tcase_add_test(tc, test_attributes_in_order);
        tcase_add_test(tc, test_snapshot);
        tcase_add_test(tc, test_changes_during_operations);
        suite_add_tcase(s, tc);

        /* CK_RUN_CASE=generated runs it alone */
        tc = tcase_create("generated");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_pci_parent_generated_host);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(daemon_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
