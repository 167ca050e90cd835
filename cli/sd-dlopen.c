/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevpasidctl does not link libsystemd: it loads it with dlopen() the first time it talks
 * to the bus. Linking it cost every run about 0.5 ms of start-up (libsystemd brings
 * libgcrypt, liblzma, libzstd, liblz4, libcap, libgpg-error), which made "mdevpasidctl
 * list" without a daemon slower than "mdevctl list" (issue 6, bench/README.md); a read
 * that finds no daemon (cli/source.c: cli_daemon_for_read()) never loads it.
 *
 * This file defines, for the CLI only, the sd_* functions the CLI and the lib/ code it
 * links call (lib/client.c, lib/bus-errors.c, lib/plan-bus.c, lib/util/log.c): each one
 * forwards to the loaded library's. The call sites and the headers stay as they are, and an
 * sd_* function missing here is a link error of cli/mdevpasidctl (there is no -lsystemd on
 * its link line), never a crash. The daemon, the libvirt hook, tests and benches link
 * libsystemd as before. Variadic functions forward to their va_list variants (all in
 * libsystemd >= 246, configure's minimum).
 *
 * When the library cannot be loaded: the calls that start bus work (sd_bus_open_system(),
 * sd_event_default(), sd_bus_error_add_map()) fail with -ENOPKG after one error that names
 * the library and its package, so a read falls back to sysfs and a change fails; frees and
 * unrefs of nothing do nothing; sd_journal_sendv() (with location) fails without loading it (lib/util/log.c
 * then writes to stderr); any other call (nothing reaches one without a bus) ends the
 * program with that error and exit status 1. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "sd-dlopen.h"
#include "util/log.h"

#define LIBSYSTEMD_SONAME  "libsystemd.so.0"
#define LIBSYSTEMD_PACKAGE "libsystemd0"

#define SD_FUNCTIONS(X)                                                                                     \
        X(sd_bus_add_match)                                                                                 \
        X(sd_bus_attach_event)                                                                              \
        X(sd_bus_call)                                                                                      \
        X(sd_bus_call_methodv)                                                                              \
        X(sd_bus_detach_event)                                                                              \
        X(sd_bus_error_add_map)                                                                             \
        X(sd_bus_error_free)                                                                                \
        X(sd_bus_error_has_name)                                                                            \
        X(sd_bus_error_is_set)                                                                              \
        X(sd_bus_error_set)                                                                                 \
        X(sd_bus_flush_close_unref)                                                                         \
        X(sd_bus_get_property)                                                                              \
        X(sd_bus_get_property_string)                                                                       \
        X(sd_bus_get_property_strv)                                                                         \
        X(sd_bus_match_signal)                                                                              \
        X(sd_bus_message_appendv)                                                                           \
        X(sd_bus_message_append_array)                                                                      \
        X(sd_bus_message_append_basic)                                                                      \
        X(sd_bus_message_at_end)                                                                            \
        X(sd_bus_message_close_container)                                                                   \
        X(sd_bus_message_enter_container)                                                                   \
        X(sd_bus_message_exit_container)                                                                    \
        X(sd_bus_message_get_path)                                                                          \
        X(sd_bus_message_new_method_call)                                                                   \
        X(sd_bus_message_open_container)                                                                    \
        X(sd_bus_message_peek_type)                                                                         \
        X(sd_bus_message_readv)                                                                             \
        X(sd_bus_message_read_array)                                                                        \
        X(sd_bus_message_read_basic)                                                                        \
        X(sd_bus_message_read_strv)                                                                         \
        X(sd_bus_message_ref)                                                                               \
        X(sd_bus_message_skip)                                                                              \
        X(sd_bus_message_unref)                                                                             \
        X(sd_bus_open_system)                                                                               \
        X(sd_bus_path_decode)                                                                               \
        X(sd_bus_path_encode)                                                                               \
        X(sd_bus_set_allow_interactive_authorization)                                                       \
        X(sd_event_add_signal)                                                                              \
        X(sd_event_default)                                                                                 \
        X(sd_event_exit)                                                                                    \
        X(sd_event_loop)                                                                                    \
        X(sd_event_source_get_event)                                                                        \
        X(sd_event_unref)                                                                                   \
        X(sd_journal_sendv_with_location)

static struct {
        void *handle;
        int error; /* the failed load's -ENOPKG, reported once */
#define FIELD(name) typeof(name) *name;
        SD_FUNCTIONS(FIELD)
#undef FIELD
} sd;

bool cli_sd_loaded(void)
{
        return sd.handle;
}

int cli_sd_load(void)
{
        const char *missing = NULL;
        void *h;

        if (sd.handle)
                return 0;
        if (sd.error)
                return sd.error;
        /* RTLD_LAZY, as when it was linked: binding all of libsystemd's and its libraries'
         * functions up front was a third of a `list`'s instructions. The sd_* functions we
         * call are all looked up below, so a missing one is still found here. */
        h = dlopen(LIBSYSTEMD_SONAME, RTLD_LAZY | RTLD_LOCAL);
        if (!h) {
                const char *e = dlerror();
                sd.error = -ENOPKG;
                log_error("cannot load %s (%s): mdevpasidctl needs it to talk to mdevpasidd over D-Bus; "
                          "install it (Debian: %s)",
                          LIBSYSTEMD_SONAME, e ? e : "not found", LIBSYSTEMD_PACKAGE);
                return sd.error;
        }
#define SYM(name)                                                                                           \
        if (!missing && !(*(void **)&sd.name = dlsym(h, #name)))                                            \
                missing = #name;
        SD_FUNCTIONS(SYM)
#undef SYM
        if (missing) {
                dlclose(h);
                sd = (typeof(sd)){.error = -ENOPKG};
                log_error("cannot use %s: it has no %s (libsystemd older than 246?): mdevpasidctl needs it "
                          "to talk to mdevpasidd over D-Bus; install a newer one (Debian: %s)",
                          LIBSYSTEMD_SONAME, missing, LIBSYSTEMD_PACKAGE);
                return sd.error;
        }
        sd.handle = h;
        return 0;
}

/* For calls that only make sense once bus work has started (a bus, a message, an event
 * loop exist, so the library is loaded): the library or exit 1. */
static typeof(sd) *need(void)
{
        if (cli_sd_load() < 0)
                exit(EXIT_FAILURE);
        return &sd;
}

#define FORWARD(ret, name, params, args)                                                                    \
        ret name params                                                                                     \
        {                                                                                                   \
                return need()->name args;                                                                   \
        }

/* Where bus work starts: -ENOPKG (reported once) when the library is missing. */
#define ENTRY(name, params, args)                                                                           \
        int name params                                                                                     \
        {                                                                                                   \
                int r = cli_sd_load();                                                                      \
                return r < 0 ? r : sd.name args;                                                            \
        }

ENTRY(sd_bus_open_system, (sd_bus * *ret), (ret))
ENTRY(sd_event_default, (sd_event * *ret), (ret))
ENTRY(sd_bus_error_add_map, (const sd_bus_error_map *map), (map))

/* Frees and unrefs: with the library not loaded no object exists, so there is nothing to
 * free (they run from cleanup handlers of code that may not have touched the bus). */
void sd_bus_error_free(sd_bus_error *e)
{
        if (sd.handle)
                sd.sd_bus_error_free(e);
}

sd_bus *sd_bus_flush_close_unref(sd_bus *bus)
{
        return sd.handle ? sd.sd_bus_flush_close_unref(bus) : NULL;
}

sd_bus_message *sd_bus_message_unref(sd_bus_message *m)
{
        return sd.handle ? sd.sd_bus_message_unref(m) : NULL;
}

sd_event *sd_event_unref(sd_event *e)
{
        return sd.handle ? sd.sd_event_unref(e) : NULL;
}

/* An error only libsystemd sets is unset while it is not loaded; one set by hand
 * (SD_BUS_ERROR_MAKE_CONST) has a name: the library's own definition of "set". */
int sd_bus_error_is_set(const sd_bus_error *e)
{
        if (sd.handle)
                return sd.sd_bus_error_is_set(e);
        return e && e->name;
}

int sd_bus_error_has_name(const sd_bus_error *e, const char *name)
{
        if (sd.handle)
                return sd.sd_bus_error_has_name(e, name);
        return e && e->name && name && strcmp(e->name, name) == 0;
}

/* Logging never loads the library (lib/util/log.c falls back to stderr). */
/* (lib/util/log.c's sd_journal_sendv() is this, with the location, in sd-journal.h.) */
int sd_journal_sendv_with_location(const char *file, const char *line, const char *func,
                                   const struct iovec *iov, int n)
{
        return sd.handle ? sd.sd_journal_sendv_with_location(file, line, func, iov, n) : -ENOPKG;
}

int sd_bus_call_method(sd_bus *bus, const char *destination, const char *path, const char *interface,
                       const char *member, sd_bus_error *ret_error, sd_bus_message **reply,
                       const char *types, ...)
{
        va_list ap;
        int r;

        va_start(ap, types);
        r = need()->sd_bus_call_methodv(bus, destination, path, interface, member, ret_error, reply, types,
                                        ap);
        va_end(ap);
        return r;
}

int sd_bus_message_append(sd_bus_message *m, const char *types, ...)
{
        va_list ap;
        int r;

        va_start(ap, types);
        r = need()->sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        return r;
}

int sd_bus_message_read(sd_bus_message *m, const char *types, ...)
{
        va_list ap;
        int r;

        va_start(ap, types);
        r = need()->sd_bus_message_readv(m, types, ap);
        va_end(ap);
        return r;
}

FORWARD(int, sd_bus_add_match,
        (sd_bus * bus, sd_bus_slot **slot, const char *match, sd_bus_message_handler_t callback,
         void *userdata),
        (bus, slot, match, callback, userdata))
FORWARD(int, sd_bus_attach_event, (sd_bus * bus, sd_event *e, int priority), (bus, e, priority))
FORWARD(int, sd_bus_call,
        (sd_bus * bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error, sd_bus_message **reply),
        (bus, m, usec, ret_error, reply))
FORWARD(int, sd_bus_call_methodv,
        (sd_bus * bus, const char *destination, const char *path, const char *interface, const char *member,
         sd_bus_error *ret_error, sd_bus_message **reply, const char *types, va_list ap),
        (bus, destination, path, interface, member, ret_error, reply, types, ap))
FORWARD(int, sd_bus_detach_event, (sd_bus * bus), (bus))
FORWARD(int, sd_bus_error_set, (sd_bus_error * e, const char *name, const char *message), (e, name, message))
FORWARD(int, sd_bus_get_property,
        (sd_bus * bus, const char *destination, const char *path, const char *interface, const char *member,
         sd_bus_error *ret_error, sd_bus_message **reply, const char *type),
        (bus, destination, path, interface, member, ret_error, reply, type))
FORWARD(int, sd_bus_get_property_string,
        (sd_bus * bus, const char *destination, const char *path, const char *interface, const char *member,
         sd_bus_error *ret_error, char **ret),
        (bus, destination, path, interface, member, ret_error, ret))
FORWARD(int, sd_bus_get_property_strv,
        (sd_bus * bus, const char *destination, const char *path, const char *interface, const char *member,
         sd_bus_error *ret_error, char ***ret),
        (bus, destination, path, interface, member, ret_error, ret))
FORWARD(int, sd_bus_match_signal,
        (sd_bus * bus, sd_bus_slot **ret, const char *sender, const char *path, const char *interface,
         const char *member, sd_bus_message_handler_t callback, void *userdata),
        (bus, ret, sender, path, interface, member, callback, userdata))
FORWARD(int, sd_bus_message_appendv, (sd_bus_message * m, const char *types, va_list ap), (m, types, ap))
FORWARD(int, sd_bus_message_append_array, (sd_bus_message * m, char type, const void *ptr, size_t size),
        (m, type, ptr, size))
FORWARD(int, sd_bus_message_append_basic, (sd_bus_message * m, char type, const void *p), (m, type, p))
FORWARD(int, sd_bus_message_at_end, (sd_bus_message * m, int complete), (m, complete))
FORWARD(int, sd_bus_message_close_container, (sd_bus_message * m), (m))
FORWARD(int, sd_bus_message_enter_container, (sd_bus_message * m, char type, const char *contents),
        (m, type, contents))
FORWARD(int, sd_bus_message_exit_container, (sd_bus_message * m), (m))
FORWARD(const char *, sd_bus_message_get_path, (sd_bus_message * m), (m))
FORWARD(int, sd_bus_message_new_method_call,
        (sd_bus * bus, sd_bus_message **m, const char *destination, const char *path, const char *interface,
         const char *member),
        (bus, m, destination, path, interface, member))
FORWARD(int, sd_bus_message_open_container, (sd_bus_message * m, char type, const char *contents),
        (m, type, contents))
FORWARD(int, sd_bus_message_peek_type, (sd_bus_message * m, char *type, const char **contents),
        (m, type, contents))
FORWARD(int, sd_bus_message_readv, (sd_bus_message * m, const char *types, va_list ap), (m, types, ap))
FORWARD(int, sd_bus_message_read_array, (sd_bus_message * m, char type, const void **ptr, size_t *size),
        (m, type, ptr, size))
FORWARD(int, sd_bus_message_read_basic, (sd_bus_message * m, char type, void *p), (m, type, p))
FORWARD(int, sd_bus_message_read_strv, (sd_bus_message * m, char ***l), (m, l))
FORWARD(sd_bus_message *, sd_bus_message_ref, (sd_bus_message * m), (m))
FORWARD(int, sd_bus_message_skip, (sd_bus_message * m, const char *types), (m, types))
FORWARD(int, sd_bus_path_decode, (const char *path, const char *prefix, char **ret_external_id),
        (path, prefix, ret_external_id))
FORWARD(int, sd_bus_path_encode, (const char *prefix, const char *external_id, char **ret_path),
        (prefix, external_id, ret_path))
FORWARD(int, sd_bus_set_allow_interactive_authorization, (sd_bus * bus, int b), (bus, b))
FORWARD(int, sd_event_add_signal,
        (sd_event * e, sd_event_source **s, int sig, sd_event_signal_handler_t callback, void *userdata),
        (e, s, sig, callback, userdata))
FORWARD(int, sd_event_exit, (sd_event * e, int code), (e, code))
FORWARD(int, sd_event_loop, (sd_event * e), (e))
FORWARD(sd_event *, sd_event_source_get_event, (sd_event_source * s), (s))
