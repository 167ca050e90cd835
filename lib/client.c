/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-errors.h"
#include "client.h"
#include "ctx.h"
#include "mdp-names.h"
#include "util/strbuf.h"

int mdp_client_open(sd_bus **ret)
{
        sd_bus *bus = NULL;
        int r;

        r = mdp_bus_errors_register();
        if (r < 0)
                return r;
        /* sd_bus_open_system() honours DBUS_SYSTEM_BUS_ADDRESS: the tests' and the demo's
         * private bus. */
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        *ret = bus;
        return 0;
}

static int name_has_owner(sd_bus *bus)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int has = 0, r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &e, &reply, "s", MDP_BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return r < 0 ? r : has;
}

static int name_activatable(sd_bus *bus)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *name;
        int found = 0, r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "ListActivatableNames", &e, &reply, NULL);
        sd_bus_error_free(&e);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "s");
        while (r >= 0 && (r = sd_bus_message_read(reply, "s", &name)) > 0)
                if (streq(name, MDP_BUS_NAME))
                        found = 1;
        sd_bus_message_unref(reply);
        return r < 0 ? r : found;
}

enum mdp_client_daemon mdp_client_daemon_state(sd_bus *bus)
{
        if (!bus)
                return MDP_CLIENT_NO_BUS;
        if (name_has_owner(bus) > 0)
                return MDP_CLIENT_RUNNING;
        if (name_activatable(bus) > 0)
                return MDP_CLIENT_ACTIVATABLE;
        return MDP_CLIENT_ABSENT;
}

/* The socket of a bus address that is exactly "unix:path=P" (no other key, no alternative
 * after ';', no %-escape), else NULL: anything else is left to sd-bus. */
static const char *plain_unix_path(const char *address)
{
        const char *p = startswith(address, "unix:path=");

        if (!p || isempty(p) || strpbrk(p, ",;%"))
                return NULL;
        return p;
}

int mdp_client_daemon_state_offline(const struct mdp_ctx *ctx)
{
        const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS"), *socket_path;
        _cleanup_free_ char *lock = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;

        socket_path = plain_unix_path(isempty(address) ? MDP_SYSTEM_BUS_DEFAULT_ADDRESS : address);
        if (socket_path && stat(socket_path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR))
                return MDP_CLIENT_NO_BUS;
        /* The daemon holds LOCK_EX for its whole life (daemon/manager.c); the kernel drops it
         * when the daemon exits, however it exits. A shared lock we can take means nobody
         * holds it. A daemon between taking the lock and owning its bus name is "running"
         * here, and the bus then says it is not, as before. */
        lock = mdp_path(ctx, MDP_PATH_RUNTIME, MDP_DAEMON_LOCK_FILE);
        if (!lock)
                return -EAGAIN;
        fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? MDP_CLIENT_ABSENT : -EAGAIN;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return -EAGAIN; /* EWOULDBLOCK: a daemon runs; anything else: ask the bus */
        (void)flock(fd, LOCK_UN);
        return MDP_CLIENT_ABSENT;
}

const char *mdp_client_daemon_state_message(enum mdp_client_daemon state)
{
        switch (state) {
        case MDP_CLIENT_NO_BUS:
                return "the D-Bus system bus cannot be reached, so mdevpasidd cannot be asked; "
                       "start the bus (systemctl start dbus), then " MDP_CLIENT_START_HINT;
        case MDP_CLIENT_ABSENT:
                return "mdevpasidd is not running (nobody owns " MDP_BUS_NAME
                       " on the system bus); " MDP_CLIENT_START_HINT;
        default:
                return "mdevpasidd is available";
        }
}

int mdp_client_new_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                        sd_bus_message **ret)
{
        return sd_bus_message_new_method_call(bus, ret, MDP_BUS_NAME, path ? path : MDP_OBJECT_ROOT,
                                              interface ? interface : MDP_IFACE_MANAGER, member);
}

int mdp_client_send(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, sd_bus_error *error,
                    sd_bus_message **reply)
{
        return sd_bus_call(bus, m, timeout_usec ? timeout_usec : MDP_CLIENT_TIMEOUT_READ_USEC, error, reply);
}

int mdp_client_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                    uint64_t timeout_usec, sd_bus_error *error, sd_bus_message **reply, const char *types,
                    ...)
{
        sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = mdp_client_new_call(bus, path, interface, member, &m);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0) {
                        sd_bus_message_unref(m);
                        return r;
                }
        }
        r = mdp_client_send(bus, m, timeout_usec, error, reply);
        sd_bus_message_unref(m);
        return r;
}

struct hint {
        const char *name;
        const char *fix;
};

/* What to do about each kind of error. The daemon's messages name the object; these add
 * the remedy for the kinds whose fix is the same whatever the object. */
static const struct hint hints[] = {
        {MDP_ERROR_NOT_AUTHORIZED,
         "run the command as root, or ask an administrator to grant the polkit action"},
        {MDP_ERROR_TIMEOUT, "the kernel did not finish in time; see \"journalctl -u mdevpasidd\" and retry"},
        {MDP_ERROR_KERNEL,
         "see \"journalctl -u mdevpasidd\" and the kernel log (dmesg) for the driver's reason"},
        {"org.freedesktop.DBus.Error.AccessDenied",
         "the bus policy refused the call: run the command as root (the policy is in "
         "/usr/share/dbus-1/system.d/org.mdevpasid1.conf)"},
        {"org.freedesktop.DBus.Error.ServiceUnknown", MDP_CLIENT_START_HINT},
        {"org.freedesktop.DBus.Error.NameHasNoOwner", MDP_CLIENT_START_HINT},
        {"org.freedesktop.DBus.Error.NoReply",
         "mdevpasidd did not answer in time; check it with \"systemctl status mdevpasidd\""},
        {"org.freedesktop.DBus.Error.Timeout",
         "mdevpasidd did not answer in time; check it with \"systemctl status mdevpasidd\""},
        {"org.freedesktop.DBus.Error.UnknownMethod",
         "this mdevpasidd is older than mdevpasidctl; update and restart it"},
};

const char *mdp_client_error_hint(const char *name)
{
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(hints); i++)
                if (streq(hints[i].name, name))
                        return hints[i].fix;
        return NULL;
}

/* Messages of bus-level errors are the bus's own English ("The name is not activatable");
 * these say what it means for us. */
static const char *bus_error_sentence(const char *name)
{
        if (streq_ptr(name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
            streq_ptr(name, "org.freedesktop.DBus.Error.NameHasNoOwner"))
                return "mdevpasidd is not running";
        if (streq_ptr(name, "org.freedesktop.DBus.Error.NoReply") ||
            streq_ptr(name, "org.freedesktop.DBus.Error.Timeout"))
                return "mdevpasidd did not answer";
        if (streq_ptr(name, "org.freedesktop.DBus.Error.Disconnected"))
                return "the connection to the system bus was lost";
        return NULL;
}

/* A sentence without the errno's number: strerror() alone, lower-cased start. */
static void append_errno(struct strbuf *sb, int r)
{
        const char *s = strerror(r < 0 ? -r : r);

        if (s && *s >= 'A' && *s <= 'Z' && s[1] >= 'a' && s[1] <= 'z') {
                char c = (char)(*s - 'A' + 'a');
                strbuf_appendn(sb, &c, 1);
                strbuf_append(sb, s + 1);
        } else
                strbuf_append(sb, strna(s));
}

char *mdp_client_error_message(const sd_bus_error *error, int r, const char *what)
{
        struct strbuf sb = {0};
        const char *name = error && sd_bus_error_is_set(error) ? error->name : NULL;
        const char *msg = error && !isempty(error->message) ? error->message : NULL;
        const char *fix = mdp_client_error_hint(name), *bus_sentence = bus_error_sentence(name);

        /* The daemon's own sentences name the object already ("Cannot start mdev U (type T
         * on parent P): ..."): no second "cannot start mdev U" in front of them. */
        if (what &&
            !(msg && name && (startswith(name, MDP_ERROR_PREFIX) || streq(name, MDP_ERROR_INVALID_ARGS))))
                strbuf_printf(&sb, "cannot %s: ", what);
        if (bus_sentence)
                strbuf_append(&sb, bus_sentence);
        else if (msg) {
                size_t len = strlen(msg);
                /* The daemon's sentences end with a period; the fix follows after "; ". */
                strbuf_appendn(&sb, msg, fix && len > 0 && msg[len - 1] == '.' ? len - 1 : len);
        } else if (r == -ETIMEDOUT) {
                strbuf_append(&sb, "mdevpasidd did not answer in time");
                fix = "check it with \"systemctl status mdevpasidd\"";
        } else if (r == -ENOENT || r == -ECONNREFUSED) {
                strbuf_append(&sb, "the D-Bus system bus cannot be reached");
                fix = "start it (systemctl start dbus), then " MDP_CLIENT_START_HINT;
        } else
                append_errno(&sb, r);
        if (fix)
                strbuf_printf(&sb, "; %s", fix);
        return strbuf_steal(&sb);
}

int mdp_client_object_path(const char *prefix, const char *id, char **ret)
{
        return sd_bus_path_encode(prefix, id, ret);
}
