/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevctl's verbs that change something: define, undefine, modify, start, stop (and the
 * hidden start-parent-mdevs udev runs). Same options and exit codes as mdevctl 1.2.0
 * (MDEVCTL.md §1.1, §4: 0 ok, 1 failed, 2 usage), but every change goes through mdevpasidd,
 * which serialises it against autostart and hotplug and keeps /etc/mdevctl.d in mdevctl's
 * format. Without the daemon these verbs fail and say how to start it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "definition.h"
#include "mdp-names.h"
#include "output.h"
#include "source.h"
#include "util/fileio.h"
#include "util/log.h"
#include "verbs.h"

const char *arg_type;
const char *arg_jsonfile;
bool arg_auto, arg_manual, arg_live, arg_delattr;
const char *arg_addattr, *arg_value;
long arg_index = -1;
bool arg_index_set;

/* A failed call: one sentence naming the object, from the daemon's error (lib/client.h). */
/* The whole of a file that may be a pipe (/dev/stdin from libvirt), up to the size of a
 * definition file. */
static int read_stream(const char *path, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(MDP_DEFINITION_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, MDP_DEFINITION_FILE_MAX + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > MDP_DEFINITION_FILE_MAX)
                        return -EFBIG;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* --jsonfile: mdevctl's definition JSON (MDEVCTL.md §2.1), "-" or /dev/stdin allowed. */
static int read_jsonfile(const char *parent, struct mdp_definition **ret)
{
        _cleanup_free_ char *text = NULL, *err = NULL;
        const char *path = streq(arg_jsonfile, "-") ? "/dev/stdin" : arg_jsonfile;
        size_t len = 0;
        int r;

        r = read_stream(path, &text, &len);
        if (r < 0)
                return log_error_errno(r,
                                       "cannot read --jsonfile %s: %m; give a readable file with mdevctl's "
                                       "JSON ({\"mdev_type\": ..., \"start\": ..., \"attrs\": [...]})",
                                       arg_jsonfile);
        /* The parser checks the parent and UUID too: placeholders when they come later. */
        r = mdp_definition_parse(parent ? parent : "parent",
                                 arg_uuid[0] ? arg_uuid : "00000000-0000-0000-0000-000000000000", text, len,
                                 ret, &err);
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r < 0)
                return log_error_errno(r, "--jsonfile %s: %s", arg_jsonfile, strna(err));
        return 0;
}

static int append_attrs(sd_bus_message *m, const struct mdp_definition *def)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && def && i < def->n_attrs; i++)
                r = sd_bus_message_append(m, "(ss)", def->attrs[i].name, def->attrs[i].value);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int open_daemon(sd_bus **ret)
{
        /* A mutation may start the daemon through D-Bus activation. */
        return cli_daemon_open(true, ret);
}

int verb_define(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(mdp_definition_freep) struct mdp_definition *def = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *uuid;
        int r;

        if (!arg_uuid[0] && !arg_parent)
                return usage_error("needs --uuid or --parent");
        if (arg_jsonfile && (arg_type || arg_auto))
                return usage_error("--jsonfile gives the type and start mode: leave out --type and --auto");
        if (arg_jsonfile) {
                r = read_jsonfile(arg_parent, &def);
                if (r < 0)
                        return r;
        }
        r = open_daemon(&bus);
        if (r < 0)
                return r;
        r = mdp_client_new_call(bus, NULL, NULL, "Define", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sssb", strempty(arg_parent),
                                          def ? def->type : strempty(arg_type), arg_uuid,
                                          def ? def->autostart : arg_auto);
        if (r >= 0)
                r = append_attrs(m, def);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        r = mdp_client_send(bus, m, MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, &reply);
        if (r < 0)
                return cli_call_failed(&e, r, "define mdev %s%s%s", arg_uuid[0] ? arg_uuid : "(new UUID)",
                                   arg_parent ? " on " : "", strempty(arg_parent));
        r = sd_bus_message_read(reply, "s", &uuid);
        if (r < 0)
                return log_error_errno(r, "mdevpasidd's answer to Define has no UUID");
        /* mdevctl prints the UUID it generated; libvirt reads it from stdout. */
        if (!arg_uuid[0])
                printf("%s\n", uuid);
        return 0;
}

int verb_undefine(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (!arg_uuid[0])
                return usage_error("needs --uuid");
        r = open_daemon(&bus);
        if (r < 0)
                return r;
        r = mdp_client_call(bus, NULL, NULL, "Undefine", MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, NULL, "ss",
                            arg_uuid, strempty(arg_parent));
        if (r < 0)
                return cli_call_failed(&e, r, "undefine mdev %s", arg_uuid);
        return 0;
}

int verb_modify(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(mdp_definition_freep) struct mdp_definition *def = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (!arg_uuid[0])
                return usage_error("needs --uuid");
        if (arg_auto && arg_manual)
                return usage_error("--auto and --manual exclude each other");
        if (arg_addattr && !arg_value)
                return usage_error("--addattr needs --value");
        if (arg_value && !arg_addattr)
                return usage_error("--value goes with --addattr");
        if (arg_addattr && arg_delattr)
                return usage_error("--addattr and --delattr exclude each other; run modify twice");
        if (arg_index_set && !arg_addattr && !arg_delattr)
                return usage_error("--index goes with --addattr or --delattr");
        if (arg_jsonfile && (arg_type || arg_auto || arg_manual || arg_addattr || arg_delattr))
                return usage_error("--jsonfile replaces the whole definition: leave out the other changes");
        if (arg_live) {
                log_error(
                        "cannot modify mdev %s --live: mdevpasidd does not change a running device's "
                        "attributes; modify the definition (without --live), then stop and start the device",
                        arg_uuid);
                return -EOPNOTSUPP;
        }
        if (arg_jsonfile) {
                r = read_jsonfile(arg_parent, &def);
                if (r < 0)
                        return r;
        }
        r = open_daemon(&bus);
        if (r < 0)
                return r;
        r = mdp_client_new_call(bus, NULL, NULL, "Modify", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", arg_uuid, strempty(arg_parent));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && (arg_type || def))
                r = sd_bus_message_append(m, "{sv}", "Type", "s", def ? def->type : arg_type);
        if (r >= 0 && (arg_auto || arg_manual || def))
                r = sd_bus_message_append(m, "{sv}", "Start", "s",
                                          (def ? def->autostart : arg_auto) ? "auto" : "manual");
        if (r >= 0 && def) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Attrs");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "a(ss)");
                if (r >= 0)
                        r = append_attrs(m, def);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && arg_delattr)
                r = sd_bus_message_append(m, "{sv}", "DelAttr", "i",
                                          (int32_t)(arg_index_set ? arg_index : -1));
        if (r >= 0 && arg_addattr)
                r = sd_bus_message_append(m, "{sv}", "AddAttr", "(ssi)", arg_addattr, arg_value,
                                          (int32_t)(arg_index_set ? arg_index : -1));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        r = mdp_client_send(bus, m, MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, NULL);
        if (r < 0)
                return cli_call_failed(&e, r, "modify mdev %s", arg_uuid);
        return 0;
}

int verb_start(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(mdp_definition_freep) struct mdp_definition *def = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *uuid;
        int r;

        if (!arg_uuid[0] && !arg_parent)
                return usage_error("needs --uuid or --parent (with --type or --jsonfile)");
        if ((arg_type || arg_jsonfile) && !arg_parent)
                return usage_error("--type and --jsonfile start a new device: they need --parent");
        if (arg_type && arg_jsonfile)
                return usage_error("--jsonfile gives the type: leave out --type");
        if (!arg_uuid[0] && !arg_type && !arg_jsonfile) {
                log_error("cannot start a device on %s: it is insufficiently specified; give --type TYPE (a "
                          "new "
                          "device) or --uuid UUID (a defined one)",
                          arg_parent);
                return -EINVAL;
        }
        if (arg_jsonfile) {
                r = read_jsonfile(arg_parent, &def);
                if (r < 0)
                        return r;
        }
        r = open_daemon(&bus);
        if (r < 0)
                return r;
        if (!arg_type && !def) {
                /* A defined device (mdevctl: "start -u U [-p P]"). */
                r = mdp_client_call(bus, NULL, NULL, "Start", MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, NULL, "ss",
                                    arg_uuid, strempty(arg_parent));
                if (r < 0)
                        return cli_call_failed(&e, r, "start mdev %s", arg_uuid);
                return 0;
        }
        /* A transient device from -p -t or --jsonfile (mdevctl: "start -p P -t T [-u U]"). */
        r = mdp_client_new_call(bus, NULL, NULL, "Create", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", arg_parent, def ? def->type : arg_type, arg_uuid);
        if (r >= 0)
                r = append_attrs(m, def);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        r = mdp_client_send(bus, m, MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, &reply);
        if (r < 0)
                return cli_call_failed(&e, r, "start a %s mdev %son %s", def ? def->type : arg_type,
                                   arg_uuid[0] ? arg_uuid : "", arg_parent);
        r = sd_bus_message_read(reply, "s", &uuid);
        if (r < 0)
                return log_error_errno(r, "mdevpasidd's answer to Create has no UUID");
        if (!arg_uuid[0])
                printf("%s\n", uuid);
        return 0;
}

int verb_stop(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (!arg_uuid[0])
                return usage_error("needs --uuid");
        r = open_daemon(&bus);
        if (r < 0)
                return r;
        r = mdp_client_call(bus, NULL, NULL, "Stop", MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, NULL, "s",
                            arg_uuid);
        if (r < 0)
                return cli_call_failed(&e, r, "stop mdev %s", arg_uuid);
        return 0;
}

/* Progress of a long operation on stderr, only on a terminal: "[3/40] starting UUID". */
struct progress {
        bool tty;
        size_t total, done;
};

static void progress_step(struct progress *p, const char *what, const char *object)
{
        if (!p->tty)
                return;
        fprintf(stderr, "\r\033[K[%zu/%zu] %s %s", p->done + 1, p->total, what, object);
        fflush(stderr);
}

static void progress_end(struct progress *p)
{
        if (p->tty && p->total > 0)
                fputs("\r\033[K", stderr);
}

/* mdevctl's hidden "start-parent-mdevs PARENT" (what its udev rule runs): every auto
 * definition of the parent that is not running. Failures are reported and the others
 * still start; unlike mdevctl, the exit status is 1 when one failed. */
int verb_start_parent_mdevs(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(cli_source_freep) struct cli_source *src = NULL;
        const struct cli_device *defs;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct progress p = {.tty = isatty(STDERR_FILENO) && !getenv("NO_COLOR")};
        size_t n_defs, failed = 0;
        int r;

        r = open_daemon(&bus);
        if (r < 0)
                return r;
        /* The daemon's definitions of this parent, as `list --defined -p` reads them. */
        r = cli_source_dbus_new(TAKE_PTR(bus), 0, &src);
        if (r < 0)
                return r;
        r = cli_source_devices(src, &(struct cli_device_query){.defined = true, .parent = argv[0]}, &defs,
                               &n_defs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_defs; i++)
                p.total += !defs[i].active && defs[i].autostart;
        for (size_t i = 0; i < n_defs; i++) {
                if (defs[i].active || !defs[i].autostart)
                        continue;
                progress_step(&p, "starting", defs[i].uuid);
                p.done++;
                r = mdp_client_call(src->bus, NULL, NULL, "Start", MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, NULL,
                                    "ss", defs[i].uuid, argv[0]);
                if (r < 0) {
                        progress_end(&p);
                        (void)cli_call_failed(&e, r, "start mdev %s on %s", defs[i].uuid, argv[0]);
                        failed++;
                }
        }
        progress_end(&p);
        if (failed > 0)
                return log_error_errno(-EIO, "%zu of %zu auto-start device%s on %s did not start", failed,
                                       p.total, p.total == 1 ? "" : "s", argv[0]);
        return 0;
}
