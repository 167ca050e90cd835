/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for polkitd on the test's private system bus (what is faked: the whole
 * authority; no rules, no agents, no sessions). Owns org.freedesktop.PolicyKit1 and answers
 * org.freedesktop.PolicyKit1.Authority.CheckAuthorization((sa{sv})sa{ss}us) -> (bba{ss}) at
 * /org/freedesktop/PolicyKit1/Authority:
 *   authorized when the action is listed in MDP_STUB_POLKIT_ALLOW (comma-separated, "*" for
 *   all) and the subject is a "system-bus-name" (the kind mdevpasidd must send);
 *   a challenge (false, true) when the action is listed in MDP_STUB_POLKIT_CHALLENGE;
 *   held without an answer, when the action is listed in MDP_STUB_POLKIT_HOLD, until
 *   Release() is called (a slow polkit, without timing anything).
 * Control, on org.mdevpasid1.Test.Polkit at the same path:
 *   Queries() -> (u asked, u held, as log): log lines "ACTION KIND:NAME FLAGS";
 *   Release() answers every held query (as the rules say, ignoring the hold).
 * Exits 0 on SIGTERM. */

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define AUTHORITY_PATH  "/org/freedesktop/PolicyKit1/Authority"
#define AUTHORITY_IFACE "org.freedesktop.PolicyKit1.Authority"
#define CONTROL_IFACE   "org.mdevpasid1.Test.Polkit"

struct query {
        sd_bus_message *call;
        char *action;
        bool bus_name_subject;
};

static unsigned n_asked;
static char **log_lines;
static size_t n_log;
static struct query *held;
static size_t n_held;

static bool listed(const char *env, const char *action)
{
        const char *list = getenv(env);
        size_t len = strlen(action);

        if (!list)
                return false;
        for (const char *p = list; *p;) {
                const char *end = strchr(p, ',');
                size_t n = end ? (size_t)(end - p) : strlen(p);
                if ((n == 1 && p[0] == '*') || (n == len && strncmp(p, action, n) == 0))
                        return true;
                p += n + (end ? 1 : 0);
        }
        return false;
}

static int answer(sd_bus_message *call, const char *action, bool bus_name_subject)
{
        bool yes = bus_name_subject && listed("MDP_STUB_POLKIT_ALLOW", action);
        bool challenge = !yes && listed("MDP_STUB_POLKIT_CHALLENGE", action);

        return sd_bus_reply_method_return(call, "(bba{ss})", yes, challenge, 0);
}

static int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *kind, *key, *action, *cancel, *name = "";
        uint32_t flags;
        char *line;
        int r;

        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &kind);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "name") == 0)
                        r = sd_bus_message_read(m, "v", "s", &name);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &action);
        if (r >= 0)
                r = sd_bus_message_skip(m, "a{ss}");
        if (r >= 0)
                r = sd_bus_message_read(m, "us", &flags, &cancel);
        if (r < 0)
                return r;
        n_asked++;
        if (asprintf(&line, "%s %s:%s %u", action, kind, name, flags) >= 0) {
                char **nl = realloc(log_lines, (n_log + 1) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                log_lines = nl;
                log_lines[n_log++] = line;
        }
        if (listed("MDP_STUB_POLKIT_HOLD", action)) {
                struct query *nh = realloc(held, (n_held + 1) * sizeof(*nh));
                if (!nh)
                        return -ENOMEM;
                held = nh;
                held[n_held++] = (struct query){
                        .call = sd_bus_message_ref(m),
                        .action = strdup(action),
                        .bus_name_subject = strcmp(kind, "system-bus-name") == 0,
                };
                return 1;
        }
        return answer(m, action, strcmp(kind, "system-bus-name") == 0);
}

static int method_queries(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "uu", n_asked, (uint32_t)n_held);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < n_log; i++)
                r = sd_bus_message_append(reply, "s", log_lines[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        for (size_t i = 0; i < n_held; i++) {
                (void)answer(held[i].call, held[i].action, held[i].bus_name_subject);
                sd_bus_message_unref(held[i].call);
                free(held[i].action);
        }
        free(held);
        held = NULL;
        n_held = 0;
        return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable authority_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Queries", "", "uuas", method_queries, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Release", "", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int main(void)
{
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, AUTHORITY_PATH, AUTHORITY_IFACE, authority_vtable,
                                             NULL);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, AUTHORITY_PATH, CONTROL_IFACE, control_vtable, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r >= 0)
                r = sd_event_loop(event);
        if (r < 0)
                fprintf(stderr, "authz-polkit-stub: %s\n", strerror(-r));
        for (size_t i = 0; i < n_held; i++) {
                sd_bus_message_unref(held[i].call);
                free(held[i].action);
        }
        free(held);
        for (size_t i = 0; i < n_log; i++)
                free(log_lines[i]);
        free(log_lines);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}
