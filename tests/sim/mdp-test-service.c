/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A trivial system-bus service for the harness's own tests: owns the name given as argv[1]
 * on the bus of DBUS_SYSTEM_BUS_ADDRESS and answers, at /org/mdevpasid1/Test:
 *   Echo(s) -> s; GetEnv(s name) -> s value ("" if unset);
 *   WriteFile(s path, s data) -> i errno (0 on success): open(O_WRONLY|O_TRUNC) + write(),
 *     as the daemon writes sysfs, so a test sees the shim at work in a spawned process;
 *   Emit(s) emits the signal Pinged(s); Quit().
 * Exits 0 on SIGTERM or Quit. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#define TEST_PATH "/org/mdevpasid1/Test"
#define TEST_IFACE "org.mdevpasid1.Test"

static int method_echo(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *s;
        int r = sd_bus_message_read(m, "s", &s);
        return r < 0 ? r : sd_bus_reply_method_return(m, "s", s);
}

static int method_get_env(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *name, *v;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        v = getenv(name);
        return sd_bus_reply_method_return(m, "s", v ? v : "");
}

static int method_write_file(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *path, *data;
        int r = sd_bus_message_read(m, "ss", &path, &data), fd, e = 0;

        if (r < 0)
                return r;
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                e = errno;
        else if (write(fd, data, strlen(data)) < 0)
                e = errno;
        if (fd >= 0)
                close(fd);
        return sd_bus_reply_method_return(m, "i", e);
}

static int method_emit(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *s;
        int r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        r = sd_bus_emit_signal(sd_bus_message_get_bus(m), TEST_PATH, TEST_IFACE, "Pinged", "s", s);
        return r < 0 ? r : sd_bus_reply_method_return(m, "");
}

static int method_quit(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        sd_event_exit(userdata, 0);
        return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Echo", "s", "s", method_echo, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("GetEnv", "s", "s", method_get_env, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("WriteFile", "ss", "i", method_write_file, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Emit", "s", "", method_emit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Quit", "", "", method_quit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("Pinged", "s", 0),
        SD_BUS_VTABLE_END,
};

int main(int argc, char **argv)
{
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        sigset_t ss;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s BUS-NAME\n", argv[0]);
                return 2;
        }
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        if ((r = sd_event_default(&event)) < 0 || (r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL)) < 0 || (r = sd_bus_open_system(&bus)) < 0 ||
            (r = sd_bus_add_object_vtable(bus, NULL, TEST_PATH, TEST_IFACE, vtable, event)) < 0 ||
            (r = sd_bus_request_name(bus, argv[1], 0)) < 0 || (r = sd_bus_attach_event(bus, event, 0)) < 0) {
                fprintf(stderr, "mdp-test-service: %s\n", strerror(-r));
                sd_bus_flush_close_unref(bus);
                sd_event_unref(event);
                return 1;
        }
        r = sd_event_loop(event);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}
