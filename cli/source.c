/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client.h"
#include "ctx.h"
#include "mdp-names.h"
#include "source.h"
#include "util/log.h"

enum cli_source_pref arg_source = CLI_SOURCE_AUTO;
bool arg_quiet_fallback;

int cli_source_pref_from_string(const char *s, enum cli_source_pref *ret)
{
        if (streq(s, "auto"))
                *ret = CLI_SOURCE_AUTO;
        else if (streq(s, "daemon"))
                *ret = CLI_SOURCE_DAEMON;
        else if (streq(s, "sysfs"))
                *ret = CLI_SOURCE_SYSFS;
        else
                return -EINVAL;
        return 0;
}

int cli_daemon_open(bool activate, sd_bus **ret)
{
        sd_bus *bus = NULL;
        enum mdp_client_daemon state;
        int r;

        r = mdp_client_open(&bus);
        state = r < 0 ? MDP_CLIENT_NO_BUS : mdp_client_daemon_state(bus);
        if (state == MDP_CLIENT_RUNNING || (activate && state == MDP_CLIENT_ACTIVATABLE)) {
                /* Mutating calls: on a terminal, let polkit ask for a password (the shipped
                 * actions are auth_admin_keep) instead of refusing with "authenticate
                 * first"; scripts and the libvirt hook never block on a prompt. */
                if (isatty(STDIN_FILENO))
                        (void)sd_bus_set_allow_interactive_authorization(bus, true);
                *ret = bus;
                return 0;
        }
        sd_bus_flush_close_unref(bus);
        *ret = NULL;
        return log_error_errno(-ENOTCONN, "%s %s", arg_verb_name(), mdp_client_daemon_state_message(state));
}

#define NOT_ASKED_ROOT                                                                                      \
        "mdevpasidd was not asked: MDEVPASID_ROOT names a tree the system bus's daemon does not serve "     \
        "(set DBUS_SYSTEM_BUS_ADDRESS to the bus of a daemon that does)"

/* Before the bus: when the daemon certainly cannot answer (no bus socket, or no mdevpasidd
 * holding its lock in the runtime dir), a read goes to sysfs without loading libsystemd
 * (cli/sd-dlopen.c), which alone costs about 0.5 ms, as much as the whole of "mdevctl list"
 * on a small host (issue 6). Only for --source=auto: --source=daemon goes the full way, so
 * its error stays the bus's own. The rule is in mdevpasidctl(8), "--source". */
static int daemon_state_offline(void)
{
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;

        if (mdp_ctx_new(&ctx) < 0)
                return -EAGAIN; /* an invalid MDEVPASID_ROOT: the sysfs source reports it */
        return mdp_client_daemon_state_offline(ctx);
}

int cli_daemon_for_read(sd_bus **ret, const char **ret_why)
{
        sd_bus *bus = NULL;
        enum mdp_client_daemon state = MDP_CLIENT_NO_BUS;
        int r;

        *ret = NULL;
        *ret_why = NULL;
        if (arg_source == CLI_SOURCE_SYSFS)
                return 0;
        if (arg_source == CLI_SOURCE_AUTO && getenv(MDP_ENV_ROOT) && !getenv("DBUS_SYSTEM_BUS_ADDRESS")) {
                /* A tree was named, and the host's daemon reads the host: not that tree. */
                *ret_why = NOT_ASKED_ROOT;
                return 0;
        }
        r = arg_source == CLI_SOURCE_AUTO ? daemon_state_offline() : -EAGAIN;
        if (r >= 0)
                state = r;
        else {
                r = mdp_client_open(&bus);
                if (r >= 0)
                        state = mdp_client_daemon_state(bus);
        }
        if (state == MDP_CLIENT_RUNNING) {
                *ret = bus;
                return 1;
        }
        sd_bus_flush_close_unref(bus);
        if (arg_source == CLI_SOURCE_DAEMON)
                return log_error_errno(-ENOTCONN, "%s %s", arg_verb_name(),
                                       mdp_client_daemon_state_message(state));
        if (!arg_quiet_fallback)
                log_notice("note: %s; reading sysfs directly (what only the daemon knows, such as device "
                           "state, "
                           "owner and last error, is not shown)",
                           state == MDP_CLIENT_NO_BUS ? "the D-Bus system bus cannot be reached"
                                                      : "mdevpasidd is not running");
        *ret_why = mdp_client_daemon_state_message(state);
        return 0;
}

int cli_source_open(unsigned flags, struct cli_source **ret)
{
        sd_bus *bus = NULL;
        const char *why = NULL;
        int r;

        r = cli_daemon_for_read(&bus, &why);
        if (r < 0)
                return r;
        if (r > 0) {
                r = cli_source_dbus_new(bus, flags, ret);
                if (r < 0)
                        sd_bus_flush_close_unref(bus);
                return r;
        }
        r = cli_source_sysfs_new(flags, ret);
        if (r >= 0)
                (*ret)->why_sysfs = why;
        return r;
}

struct cli_source *cli_source_free(struct cli_source *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_warnings; i++)
                free(s->warnings[i]);
        free(s->warnings);
        for (size_t i = 0; i < s->n_allocs; i++)
                free(s->allocs[i]);
        free(s->allocs);
        s->ops->free(s);
        return NULL;
}

int cli_call_failed(sd_bus_error *e, int r, const char *fmt, ...)
{
        _cleanup_free_ char *what = NULL, *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        va_end(ap);
        msg = mdp_client_error_message(e, r, what);
        fflush(stdout);
        log_error("%s", msg ? msg : "out of memory");
        sd_bus_error_free(e);
        return r < 0 ? r : -EIO;
}

void *cli_source_keep(struct cli_source *s, void *p)
{
        void **a;

        if (!p)
                return NULL;
        a = realloc(s->allocs, (s->n_allocs + 1) * sizeof(void *));
        if (!a) {
                free(p);
                return NULL;
        }
        s->allocs = a;
        s->allocs[s->n_allocs++] = p;
        return p;
}

int cli_source_warn(struct cli_source *s, const char *fmt, ...)
{
        char **w, *msg;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        w = realloc(s->warnings, (s->n_warnings + 1) * sizeof(char *));
        if (!w) {
                free(msg);
                return -ENOMEM;
        }
        s->warnings = w;
        s->warnings[s->n_warnings++] = msg;
        return 0;
}

void cli_source_flush_warnings_quiet(struct cli_source *s)
{
        for (size_t i = 0; i < s->n_warnings; i++)
                free(s->warnings[i]);
        s->n_warnings = 0;
}

void cli_source_flush_warnings(struct cli_source *s)
{
        /* stdout may hold output for the same objects: keep the order a person sees. */
        fflush(stdout);
        for (size_t i = 0; i < s->n_warnings; i++) {
                log_warning("warning: %s", s->warnings[i]);
                free(s->warnings[i]);
        }
        s->n_warnings = 0;
}
