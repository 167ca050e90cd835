/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor: mdevpasidd's events as they happen, one line each (like udevadm monitor):
 * objects added and removed (ObjectManager's InterfacesAdded/InterfacesRemoved: parents
 * registering, devices defined or started, VMs placed), property changes
 * (PropertiesChanged) and the daemon itself coming and going (NameOwnerChanged). Runs
 * until SIGINT or SIGTERM. --json=short prints one JSON object per line instead. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "client.h"
#include "mdp-names.h"
#include "output.h"
#include "source.h"
#include "util/json.h"
#include "util/log.h"
#include "verbs.h"

/* Any D-Bus value at the current position as JSON (NULL for what JSON cannot say). */
static int read_value(sd_bus_message *m, json_object **ret)
{
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (type == 'a' || type == 'r' || type == 'v' || type == 'e') {
                bool dict = type == 'a' && contents[0] == '{';
                json_object *o = dict ? json_object_new_object() : json_object_new_array();

                r = sd_bus_message_enter_container(m, type, contents);
                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
                if (type == 'v') {
                        json_object_put(o);
                        r = read_value(m, ret);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        return r;
                }
                while ((r = sd_bus_message_at_end(m, false)) == 0) {
                        json_object *v = NULL;
                        if (dict) {
                                json_object *k = NULL;
                                const char *ec;
                                char et;
                                r = sd_bus_message_peek_type(m, &et, &ec);
                                if (r >= 0)
                                        r = sd_bus_message_enter_container(m, 'e', ec);
                                if (r >= 0)
                                        r = read_value(m, &k);
                                if (r >= 0)
                                        r = read_value(m, &v);
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(m);
                                if (r >= 0)
                                        json_object_object_add(o, k ? json_object_get_string(k) : "", v);
                                else
                                        json_object_put(v);
                                json_object_put(k);
                        } else {
                                r = read_value(m, &v);
                                if (r >= 0)
                                        json_object_array_add(o, v);
                        }
                        if (r < 0)
                                break;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
                *ret = o;
                return 0;
        }
        switch (type) {
        case 's':
        case 'o':
        case 'g': {
                const char *s;
                r = sd_bus_message_read_basic(m, type, &s);
                *ret = r >= 0 ? json_object_new_string(s) : NULL;
                return r;
        }
        case 'b': {
                int b;
                r = sd_bus_message_read_basic(m, type, &b);
                *ret = r >= 0 ? json_object_new_boolean(b) : NULL;
                return r;
        }
        case 'y': {
                uint8_t v;
                r = sd_bus_message_read_basic(m, type, &v);
                *ret = json_object_new_int(v);
                return r;
        }
        case 'n':
        case 'q':
        case 'i': {
                int32_t v = 0;
                if (type == 'i')
                        r = sd_bus_message_read_basic(m, type, &v);
                else {
                        int16_t h;
                        r = sd_bus_message_read_basic(m, type, &h);
                        v = type == 'q' ? (uint16_t)h : h;
                }
                *ret = json_object_new_int(v);
                return r;
        }
        case 'u': {
                uint32_t v;
                r = sd_bus_message_read_basic(m, type, &v);
                *ret = json_object_new_int64(v);
                return r;
        }
        case 'x':
        case 't': {
                int64_t v;
                r = sd_bus_message_read_basic(m, type, &v);
                *ret = json_object_new_int64(v);
                return r;
        }
        case 'd': {
                double v;
                r = sd_bus_message_read_basic(m, type, &v);
                *ret = json_object_new_double(v);
                return r;
        }
        default:
                *ret = NULL;
                return sd_bus_message_skip(m, (char[]){type, 0});
        }
}

/* "device 0d7e1a52-...", "parent mtty", "vm web1", "manager". */
static char *object_name(const char *path)
{
        static const struct {
                const char *prefix, *kind;
        } kinds[] = {{MDP_OBJECT_DEVICES, "device"}, {MDP_OBJECT_PARENTS, "parent"}, {MDP_OBJECT_VMS, "vm"}};
        char *id = NULL, *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (sd_bus_path_decode(path, kinds[i].prefix, &id) > 0) {
                        if (asprintf(&s, "%s %s", kinds[i].kind, id) < 0)
                                s = NULL;
                        free(id);
                        return s;
                }
        return strdup(streq(path, MDP_OBJECT_ROOT) ? "manager" : path);
}

static void timestamp(char buf[32])
{
        struct timeval tv;
        struct tm tm;

        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        snprintf(buf, 32, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (long)(tv.tv_usec / 1000));
}

/* Text: the properties an administrator reads first, key=value. */
static void print_props_text(json_object *props)
{
        static const char *const shown[] = {"Parent",    "Type",   "State",      "Active",   "Defined",
                                            "Autostart", "Driver", "IommuGroup", "Strategy", "LastError"};
        bool any = false;

        for (size_t i = 0; i < ELEMENTSOF(shown); i++) {
                json_object *v;
                if (!json_object_object_get_ex(props, shown[i], &v))
                        continue;
                if (json_object_is_type(v, json_type_string) && !*json_object_get_string(v))
                        continue;
                printf("%s%s=%s", any ? " " : " (", shown[i],
                       json_object_is_type(v, json_type_string)
                               ? json_object_get_string(v)
                               : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
                any = true;
        }
        if (any)
                printf(")");
}

static int emit(const char *event, const char *path, json_object *detail)
{
        _cleanup_free_ char *object = object_name(path);
        char ts[32];

        timestamp(ts);
        if (arg_json != JSON_OFF) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "Time", json_object_new_string(ts));
                json_object_object_add(o, "Event", json_object_new_string(event));
                json_object_object_add(o, "Object", json_str(object));
                json_object_object_add(o, "Path", json_object_new_string(path));
                json_object_object_add(o, "Details", json_object_get(detail));
                /* One line per event whatever the mode: a stream is read line by line. */
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
        } else {
                printf("%s %-8s %s", ts, event, strna(object));
                if (streq(event, "changed") && detail) {
                        json_object_object_foreach(detail, key, v)
                        {
                                /* A line per event: lists are counted, long strings cut; --json
                                 * has them whole. */
                                if (json_object_is_type(v, json_type_array))
                                        printf(" %s=(%zu item%s)", key, json_object_array_length(v),
                                               json_object_array_length(v) == 1 ? "" : "s");
                                else if (json_object_is_type(v, json_type_string))
                                        printf(" %s=%.60s%s", key, json_object_get_string(v),
                                               strlen(json_object_get_string(v)) > 60 ? "..." : "");
                                else
                                        printf(" %s=%s", key,
                                               json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
                        }
                } else if (streq(event, "added") && detail) {
                        json_object_object_foreach(detail, iface,
                                                   props) if (startswith(iface, "org.mdevpasid1."))
                                print_props_text(props);
                }
                printf("\n");
        }
        fflush(stdout);
        return 0;
}

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_json_ json_object *ifaces = NULL;
        const char *path;

        if (sd_bus_message_read(m, "o", &path) < 0 || read_value(m, &ifaces) < 0)
                return 0;
        return emit("added", path, ifaces);
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_json_ json_object *ifaces = NULL;
        const char *path;

        if (sd_bus_message_read(m, "o", &path) < 0 || read_value(m, &ifaces) < 0)
                return 0;
        return emit("removed", path, arg_json != JSON_OFF ? ifaces : NULL);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_json_ json_object *changed = NULL, *invalidated = NULL;
        const char *iface;

        if (sd_bus_message_read(m, "s", &iface) < 0 || read_value(m, &changed) < 0 ||
            read_value(m, &invalidated) < 0)
                return 0;
        if (!startswith(iface, "org.mdevpasid1."))
                return 0;
        return emit("changed", sd_bus_message_get_path(m), changed);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, MDP_BUS_NAME))
                return 0;
        return emit(isempty(new_owner) ? "daemon-stopped" : "daemon-started", MDP_OBJECT_ROOT, NULL);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int verb_monitor(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_event *event = NULL;
        sigset_t mask;
        int r;

        if (arg_json == JSON_PRETTY)
                arg_json = JSON_SHORT; /* one event per line */
        r = mdp_client_open(&bus);
        if (r < 0)
                return log_error_errno(r, "%s", mdp_client_daemon_state_message(MDP_CLIENT_NO_BUS));
        /* A shell starts background jobs with SIGINT ignored, and an ignored signal never
         * reaches a signalfd: take the default back, then block it for sd-event. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        /* Matches first, so nothing that happens after the "monitoring" line is missed. */
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                                        on_interfaces_added, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                                        on_interfaces_removed, NULL);
        if (r >= 0)
                r = sd_bus_add_match(
                        bus, NULL,
                        "type='signal',sender='" MDP_BUS_NAME "',interface='org.freedesktop.DBus."
                        "Properties',member='PropertiesChanged',path_namespace='" MDP_OBJECT_ROOT "'",
                        on_properties_changed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed,
                                        NULL);
        if (r < 0) {
                sd_event_unref(event);
                return log_error_errno(r, "cannot watch mdevpasidd's signals on the system bus: %m");
        }
        fprintf(stderr, "Monitoring %s (%s); Ctrl-C stops.\n", MDP_BUS_NAME,
                mdp_client_daemon_state(bus) == MDP_CLIENT_RUNNING ? "running" : "not running yet");
        r = sd_event_loop(event);
        sd_bus_detach_event(bus);
        sd_event_unref(event);
        return r < 0 ? log_error_errno(r, "monitoring failed: %m") : 0;
}
