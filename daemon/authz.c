/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may call what (DESIGN.md §5, ECOSYSTEM.md §3.5): one table from method to polkit
 * action. A method that is not in the table is denied, read methods included (the bus
 * filter below enforces it for every method of our interfaces, so a new method nobody
 * classified cannot be called). Methods without an action are open to everyone; for the
 * others, root (the caller's euid as the bus reports it) passes at once and everyone else
 * is asked of polkit, asynchronously:
 *
 *   handler -> authz_check(): no answer yet -> CheckAuthorization sent, the handler returns
 *   1 without replying (the event loop stays free for other callers);
 *   polkit answers -> on_polkit_reply() records the answer and puts the same call back in
 *   the bus's read queue (sd_bus_enqueue_for_read);
 *   handler runs again -> authz_check() finds the recorded answer: 1 (proceed) or an error.
 *
 * Handlers validate their arguments and change nothing before authz_check(), so running
 * them twice is harmless. polkit not running means denied for everyone but root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager.h"
#include "mdp-names.h"
#include "util/log.h"
#include "util/macro.h"

#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_OBJECT   "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_IFACE    "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorization flags: polkit may ask the user for a password (an agent). */
#define POLKIT_ALLOW_USER_INTERACTION 1u

struct method_action {
        const char *member;
        const char *action; /* NULL: open to everyone */
};

/* The only place that says who may call what. Keep it sorted by interface area; every
 * method of conf/org.mdevpasid1.xml needs a row (tests/check_daemon_unit checks the
 * vtables against it). */
static const struct method_action table[] = {
        /* org.mdevpasid1.Manager: reading */
        {"ListParents", NULL},
        {"ListTypes", NULL},
        {"ListDevices", NULL},
        {"Snapshot", NULL},
        {"Describe", NULL},
        /* org.mdevpasid1.Manager: mdevs */
        {"Define", MDP_ACTION_MANAGE_DEVICES},
        {"Undefine", MDP_ACTION_MANAGE_DEVICES},
        {"Modify", MDP_ACTION_MANAGE_DEVICES},
        {"Start", MDP_ACTION_MANAGE_DEVICES},
        {"Stop", MDP_ACTION_MANAGE_DEVICES},
        {"Create", MDP_ACTION_MANAGE_DEVICES},
        {"Remove", MDP_ACTION_MANAGE_DEVICES},
        /* org.mdevpasid1.Manager: the daemon */
        {"Reload", MDP_ACTION_RELOAD},
        {"PlanVm", NULL},
        {"ListVms", NULL},
        {"AttachVm", MDP_ACTION_ASSIGN_VM},
        {"DetachVm", MDP_ACTION_ASSIGN_VM},
        {"AllocatePasids", MDP_ACTION_ALLOCATE_PASID},
        {"FreePasids", MDP_ACTION_ALLOCATE_PASID},
};

struct authz_query {
        struct authz_query *next;
        struct manager *manager;
        sd_bus_message *request; /* the parked method call (a reference) */
        sd_bus_slot *slot;       /* the CheckAuthorization call while it runs */
        const char *action;
        bool decided;
        bool authorized;
        char *denial; /* the sentence for the caller when denied */
        uid_t uid;    /* the caller's, (uid_t)-1 when not known */
};

/* Checks waiting for polkit at once, per caller uid and in all. Each is a parked call and a
 * call of ours to polkit; dbus-daemon lets one connection wait for at most 128 replies
 * (max_replies_per_connection on the system bus), so without a bound one user's flood
 * would use them all up and everyone else's checks would fail. */
#define AUTHZ_MAX_PENDING_PER_UID 16
#define AUTHZ_MAX_PENDING 96

int authz_lookup(const char *member, const char **ret_action)
{
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq_ptr(member, table[i].member)) {
                        if (ret_action)
                                *ret_action = table[i].action;
                        return 1;
                }
        return 0;
}

static struct authz_query *query_free(struct authz_query *q)
{
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->denial);
        free(q);
        return NULL;
}

static void query_unlink(struct authz_query *q)
{
        for (struct authz_query **p = &q->manager->authz_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        return;
                }
}

void authz_free_all(struct manager *m)
{
        while (m->authz_queries) {
                struct authz_query *q = m->authz_queries;
                m->authz_queries = q->next;
                query_free(q);
        }
}

/* "uid 65534" for sentences; best effort. */
static void caller_uid(sd_bus_message *msg, char buf[static 32])
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;

        snprintf(buf, 32, "the caller");
        if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds) >= 0 &&
            sd_bus_creds_get_euid(creds, &uid) >= 0)
                snprintf(buf, 32, "uid %u", (unsigned)uid);
}

static int deny(struct authz_query *q, const char *why)
{
        char who[32];

        caller_uid(q->request, who);
        free(q->denial);
        if (asprintf(&q->denial,
                     "Not authorized to call %s: it needs the polkit action %s, and %s. Ask an "
                     "administrator to grant %s to %s (a rule in /etc/polkit-1/rules.d), or call it "
                     "as root.",
                     strna(sd_bus_message_get_member(q->request)), q->action, why, q->action, who) < 0)
                q->denial = NULL;
        q->authorized = false;
        return 0;
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        struct authz_query *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->decided = true;
        if (e) {
                /* Not running, or the bus failed to start it (activation: Spawn.*). */
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                           SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED) ||
                    startswith(e->name, "org.freedesktop.DBus.Error.Spawn.")) {
                        log_info("polkit is not available (%s) to authorize %s for %s: denied.", e->name,
                                 q->action, strna(sd_bus_message_get_sender(q->request)));
                        deny(q, "polkit (" POLKIT_BUS_NAME ") is not running to grant it; without polkit "
                                "only root may");
                } else {
                        _cleanup_free_ char *why = NULL;
                        log_warning("polkit failed to check %s: %s: %s", q->action, e->name,
                                    strna(e->message));
                        if (asprintf(&why, "polkit failed to check it (%s: %s)", e->name,
                                     strna(e->message)) < 0)
                                why = NULL;
                        deny(q, why ? why : "polkit failed to check it");
                }
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        log_warning("polkit sent an unexpected answer for %s: %s", q->action, strerror(-r));
                        deny(q, "polkit's answer could not be read");
                } else if (authorized) {
                        q->authorized = true;
                } else if (challenge) {
                        deny(q, "polkit wants the caller to authenticate first (call again allowing "
                                "interactive authorization, with a polkit agent running)");
                } else {
                        deny(q, "polkit does not grant it to the caller");
                }
        }
        /* Dispatch the parked call again: its handler finds the answer. */
        r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_error_errno(r, "Cannot resume the call %s after polkit answered: %m",
                                strna(sd_bus_message_get_member(q->request)));
                (void)sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_FAILED,
                                                 "mdevpasidd could not resume the call after polkit "
                                                 "answered: %s.",
                                                 strerror(-r));
                query_unlink(q);
                query_free(q);
        }
        return 0;
}

static int start_query(struct manager *m, sd_bus_message *msg, const char *action, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        struct authz_query *q;
        const char *sender = sd_bus_message_get_sender(msg);
        uint32_t flags = 0;
        int r;

        if (!sender)
                return sd_bus_error_setf(error, MDP_ERROR_NOT_AUTHORIZED,
                                         "Not authorized to call %s: the call has no sender to ask polkit "
                                         "about (action %s).",
                                         strna(sd_bus_message_get_member(msg)), action);
        if (sd_bus_message_get_allow_interactive_authorization(msg) > 0)
                flags |= POLKIT_ALLOW_USER_INTERACTION;
        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(msg), &call, POLKIT_BUS_NAME,
                                           POLKIT_OBJECT, POLKIT_IFACE, "CheckAuthorization");
        if (r >= 0)
                /* subject: the caller's unique bus name (no pid/start-time race) */
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                          sender, action, 1, MDP_BUS_NAME ".method",
                                          sd_bus_message_get_member(msg), flags, "");
        if (r < 0)
                return r;
        {
                _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
                unsigned same_uid = 0, all = 0;
                uid_t uid = (uid_t)-1;

                if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds) < 0 ||
                    sd_bus_creds_get_euid(creds, &uid) < 0)
                        uid = (uid_t)-1;
                for (struct authz_query *p = m->authz_queries; p; p = p->next)
                        if (!p->decided) {
                                all++;
                                same_uid += p->uid == uid;
                        }
                if (same_uid >= AUTHZ_MAX_PENDING_PER_UID || all >= AUTHZ_MAX_PENDING)
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                "Too many calls are waiting for polkit's answer (%u of this user's, %u in all; "
                                "at most %u and %u): %s was not checked. Wait for the answers to the calls "
                                "already made, then call again.",
                                same_uid, all, AUTHZ_MAX_PENDING_PER_UID, AUTHZ_MAX_PENDING,
                                strna(sd_bus_message_get_member(msg)));
                q = calloc(1, sizeof(*q));
                if (!q)
                        return -ENOMEM;
                q->uid = uid;
        }
        q->manager = m;
        q->action = action;
        q->request = sd_bus_message_ref(msg);
        /* polkit's own timeout covers an interactive prompt; 0 is sd-bus's default (25 s). */
        r = sd_bus_call_async(sd_bus_message_get_bus(msg), &q->slot, call, on_polkit_reply, q,
                              flags & POLKIT_ALLOW_USER_INTERACTION ? UINT64_MAX : 0);
        if (r < 0) {
                query_free(q);
                return sd_bus_error_setf(error, MDP_ERROR_NOT_AUTHORIZED,
                                         "Not authorized to call %s: polkit cannot be asked about %s (%s); "
                                         "without polkit only root may call it.",
                                         strna(sd_bus_message_get_member(msg)), action, strerror(-r));
        }
        q->next = m->authz_queries;
        m->authz_queries = q;
        return 0;
}

int authz_check(struct manager *m, sd_bus_message *message, sd_bus_error *error)
{
        const char *member = sd_bus_message_get_member(message), *action = NULL;
        struct authz_query *q;
        int r;

        r = authz_lookup(member, &action);
        if (r <= 0)
                return sd_bus_error_setf(error, MDP_ERROR_NOT_AUTHORIZED,
                                         "Method %s is not in mdevpasidd's authorization table: denied.",
                                         strna(member));
        if (!action)
                return 1;

        for (q = m->authz_queries; q; q = q->next)
                if (q->request == message)
                        break;
        if (q) {
                if (!q->decided)
                        return 0; /* still waiting (a spurious dispatch) */
                query_unlink(q);
                if (q->authorized) {
                        query_free(q);
                        return 1;
                }
                r = sd_bus_error_setf(error, MDP_ERROR_NOT_AUTHORIZED, "%s",
                                      q->denial ? q->denial : "Not authorized by polkit.");
                query_free(q);
                return r;
        }

        /* Root short-circuit: the caller's euid equals ours (the bus's credentials). */
        r = sd_bus_query_sender_privilege(message, -1);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Cannot determine who called %s: %s",
                                               strna(member), strerror(-r));
        if (r > 0)
                return 1;
        r = start_query(m, message, action, error);
        return r < 0 ? r : 0;
}

/* Every method call on our interfaces passes here before its handler: one that is not in
 * the table is refused even if its handler forgot to call authz_check(). */
static int authz_filter(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        const char *member = sd_bus_message_get_member(msg), *interface = sd_bus_message_get_interface(msg);

        /* Only our own interfaces go through the table; the standard ones (Properties,
         * Introspectable, ObjectManager, Peer) are read-only here (no writable property). A
         * call without an interface reaches a mutating handler only through authz_check(). */
        if (!sd_bus_message_is_method_call(msg, NULL, NULL) || !interface ||
            !startswith(interface, MDP_BUS_NAME "."))
                return 0;
        if (authz_lookup(member, NULL) > 0)
                return 0;
        (void)sd_bus_reply_method_errorf(msg, MDP_ERROR_NOT_AUTHORIZED,
                                         "Method %s.%s is not in mdevpasidd's authorization table: denied.",
                                         strna(sd_bus_message_get_interface(msg)), strna(member));
        return 1;
}

int authz_install(struct manager *m)
{
        return sd_bus_add_filter(m->bus, NULL, authz_filter, m);
}
