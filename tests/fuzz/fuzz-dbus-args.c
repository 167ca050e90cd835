/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's D-Bus argument validation (daemon/bus-validate.c), the code between a
 * caller's message and anything being touched. Messages are built with sd-bus on an
 * unconnected socket pair (sd-bus needs a bus object to make a message; nothing is sent)
 * and read back the way the method handlers read them.
 * Input: byte 0 picks the check, the rest is split at NUL bytes (a D-Bus string has none):
 *   0: each piece as UUID, parent name, type name, and with the next piece as an attribute;
 *   1: Modify's a{sv} of changes: key, a selector for the variant's type, then its values;
 *   2: an a(ss) attribute list of name/value pairs;
 *   3: an a{sv} of options for a method that takes none;
 *   byte 0 from 0xf0: PlanVm/AttachVm's (s name, a{sv} request): the name, then key, a
 *   selector for the variant's type and its values (Units as, Viommu s, DomainXml s). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-validate.h"
#include "host.h"
#include "mdev-backend.h"
#include "fuzz.h"

#define MAX_PIECES 64

static sd_bus *bus;

static sd_bus *get_bus(void)
{
        int fds[2];

        if (bus)
                return bus;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                abort();
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
                abort();
        /* fds[1] stays open so the socket is not reset; the process owns both. */
        return bus;
}

static sd_bus_message *new_call(void)
{
        sd_bus_message *m = NULL;

        if (sd_bus_message_new_method_call(get_bus(), &m, "org.mdevpasid1", "/org/mdevpasid1",
                                           "org.mdevpasid1.Manager", "Modify") < 0)
                abort();
        return m;
}

/* Seals and rewinds the message so it reads like a received one; false when sd-bus itself
 * refused what was appended (invalid UTF-8 and the like never reach the daemon). */
static bool finish(sd_bus_message *m, int r)
{
        static uint64_t cookie;

        if (r < 0)
                return false;
        if (sd_bus_message_seal(m, ++cookie, 0) < 0)
                return false;
        return sd_bus_message_rewind(m, true) >= 0;
}

static void check_strings(char **p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                char uuid[MDP_UUID_STRING_MAX];
                bool allow_empty = i % 2;
                int r;

                r = parse_uuid(p[i], allow_empty, uuid, &error);
                FUZZ_ASSERT(r < 0 ? sd_bus_error_is_set(&error)
                                  : uuid[0] == '\0' || mdp_uuid_is_canonical(uuid));
                sd_bus_error_free(&error);
                r = check_parent_name(p[i], allow_empty, &error);
                FUZZ_ASSERT((r < 0) == sd_bus_error_is_set(&error));
                /* Nothing that names another directory gets through (the path traversal rule). */
                if (r == 0 && p[i][0])
                        FUZZ_ASSERT(!strchr(p[i], '/') && strcmp(p[i], ".") != 0 && strcmp(p[i], "..") != 0);
                sd_bus_error_free(&error);
                r = check_type_name(p[i], allow_empty, &error);
                FUZZ_ASSERT((r < 0) == sd_bus_error_is_set(&error));
                sd_bus_error_free(&error);
                r = check_vm_name(p[i], &error);
                FUZZ_ASSERT((r < 0) == sd_bus_error_is_set(&error));
                if (r == 0)
                        FUZZ_ASSERT(p[i][0] && !strchr(p[i], '/') && strlen(p[i]) <= MDP_VM_NAME_MAX);
                sd_bus_error_free(&error);
                r = parse_unit_id(p[i], uuid, &error);
                FUZZ_ASSERT(r < 0 ? sd_bus_error_is_set(&error)
                                  : mdp_uuid_is_canonical(uuid) || strlen(uuid) == strlen("0000:00:00.0"));
                sd_bus_error_free(&error);
                r = check_attr(p[i], i + 1 < n ? p[i + 1] : "", &error);
                FUZZ_ASSERT((r < 0) == sd_bus_error_is_set(&error));
                if (r == 0)
                        FUZZ_ASSERT(!strchr(p[i], '/') && strcmp(p[i], "remove") != 0);
                sd_bus_error_free(&error);
        }
}

static int append_attrs(sd_bus_message *m, char **p, size_t n, size_t *i, size_t count)
{
        int r = sd_bus_message_open_container(m, 'a', "(ss)");

        for (size_t k = 0; r >= 0 && k < count && *i + 1 < n; k++, *i += 2)
                r = sd_bus_message_append(m, "(ss)", p[*i], p[*i + 1]);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static void check_changes(char **p, size_t n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call();
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct changes c = {0};
        size_t i = 0;
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        while (r >= 0 && i + 1 < n) {
                const char *key = p[i++];
                unsigned sel = (unsigned char)p[i++][0];

                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", key);
                if (r < 0)
                        break;
                switch (sel % 6) {
                case 0:
                        r = sd_bus_message_append(m, "v", "s", i < n ? p[i++] : "");
                        break;
                case 1:
                        r = sd_bus_message_append(m, "v", "i",
                                                  i < n ? (int32_t)strtol(p[i++], NULL, 0) : -1);
                        break;
                case 2:
                        r = sd_bus_message_open_container(m, 'v', "a(ss)");
                        if (r >= 0)
                                r = append_attrs(m, p, n, &i, sel / 6 % 4);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                case 3:
                        if (i + 1 < n) {
                                r = sd_bus_message_append(m, "v", "(ssi)", p[i], p[i + 1],
                                                          (int32_t)(sel / 6) - 8);
                                i += 2;
                        } else
                                r = sd_bus_message_append(m, "v", "(ssi)", "", "", 0);
                        break;
                case 4:
                        r = sd_bus_message_append(m, "v", "as", 1, i < n ? p[i++] : "");
                        break;
                default:
                        r = sd_bus_message_append(m, "v", "u", (uint32_t)sel);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (!finish(m, r))
                return;
        r = read_changes(m, &c, &error);
        if (r >= 0) {
                for (size_t k = 0; k < c.attrs.n; k++)
                        FUZZ_ASSERT(mdp_mdev_attr_name_is_valid(c.attrs.attrs[k].name));
                FUZZ_ASSERT(!c.type || mdp_sysfs_name_is_valid(c.type));
                FUZZ_ASSERT(!c.start || strcmp(c.start, "auto") == 0 || strcmp(c.start, "manual") == 0);
        }
        changes_done(&c);
        sd_bus_error_free(&error);
}

static void check_attr_list(char **p, size_t n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call();
        sd_bus_error error = SD_BUS_ERROR_NULL;
        struct attr_list l = {0};
        size_t i = 0;

        if (!finish(m, append_attrs(m, p, n, &i, n)))
                return;
        if (read_attrs(m, &l, &error) >= 0)
                for (size_t k = 0; k < l.n; k++)
                        FUZZ_ASSERT(mdp_mdev_attr_name_is_valid(l.attrs[k].name) &&
                                    strlen(l.attrs[k].value) <= MDP_ATTR_VALUE_MAX);
        attr_list_done(&l);
        sd_bus_error_free(&error);
}

static void check_no_options(char **p, size_t n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call();
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(m, "{sv}", p[i], "s", p[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (!finish(m, r))
                return;
        r = read_no_options(m, "Start", &error);
        /* Any key at all is refused. */
        FUZZ_ASSERT(n == 0 ? r >= 0 : r < 0 && sd_bus_error_is_set(&error));
        sd_bus_error_free(&error);
}

static void check_vm_request(char **p, size_t n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call();
        sd_bus_error error = SD_BUS_ERROR_NULL;
        size_t i = 1;
        int r;

        r = sd_bus_message_append(m, "s", p[0]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        while (r >= 0 && i + 1 < n) {
                const char *key = p[i++];
                unsigned sel = (unsigned char)p[i++][0];

                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", key);
                if (r < 0)
                        break;
                switch (sel % 4) {
                case 0:
                        r = sd_bus_message_append(m, "v", "s", i < n ? p[i++] : "");
                        break;
                case 1:
                        r = sd_bus_message_open_container(m, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_open_container(m, 'a', "s");
                        for (unsigned k = 0; r >= 0 && k < sel / 4 % 8 && i < n; k++)
                                r = sd_bus_message_append(m, "s", p[i++]);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                case 2:
                        r = sd_bus_message_append(m, "v", "u", (uint32_t)sel);
                        break;
                default:
                        r = sd_bus_message_append(m, "v", "as", 0);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (!finish(m, r))
                return;
        r = vms_check_request(m, &error);
        FUZZ_ASSERT(r >= 0 || sd_bus_error_is_set(&error) || r == -ENXIO || r == -EBADMSG || r == -EINVAL);
        if (r >= 0)
                FUZZ_ASSERT(!sd_bus_error_is_set(&error));
        sd_bus_error_free(&error);
}

FUZZ_TARGET(dbus_args)
{
        _cleanup_free_ char *buf = NULL;
        char *p[MAX_PIECES];
        size_t n;

        if (size < 1)
                return 0;
        n = fuzz_split(data + 1, size - 1, '\0', p, MAX_PIECES, &buf);
        if (data[0] >= 0xf0) {
                check_vm_request(p, n);
                return 0;
        }
        switch (data[0] % 4) {
        case 0:
                check_strings(p, n);
                break;
        case 1:
                check_changes(p, n);
                break;
        case 2:
                check_attr_list(p, n);
                break;
        default:
                check_no_options(p, n - (size == 1)); /* no bytes: no keys */
        }
        return 0;
}
