/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may call what: one table from method to polkit action; a method that is not in the
 * table is denied (STYLE.md "D-Bus"). Until the polkit check lands, only root (the
 * caller's uid as the bus reports it) may call a method with an action; methods without an
 * action are open to everyone. */
#include <errno.h>
#include <string.h>

#include "manager.h"
#include "mdp-names.h"
#include "util/macro.h"

struct method_action {
        const char *member;
        const char *action; /* NULL: open to everyone */
};

static const struct method_action table[] = {
        {"ListParents", NULL},
        {"ListTypes", NULL},
        {"ListDevices", NULL},
        {"Describe", NULL},
        {"Define", MDP_ACTION_MANAGE_DEVICES},
        {"Undefine", MDP_ACTION_MANAGE_DEVICES},
        {"Modify", MDP_ACTION_MANAGE_DEVICES},
        {"Start", MDP_ACTION_MANAGE_DEVICES},
        {"Stop", MDP_ACTION_MANAGE_DEVICES},
        {"Create", MDP_ACTION_MANAGE_DEVICES},
        {"Remove", MDP_ACTION_MANAGE_DEVICES},
        {"Reload", MDP_ACTION_RELOAD},
};

int authz_check(struct manager *m, sd_bus_message *message, sd_bus_error *error)
{
        const char *member = sd_bus_message_get_member(message);
        const struct method_action *entry = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq_ptr(member, table[i].member))
                        entry = &table[i];
        if (!entry)
                return sd_bus_error_setf(error, MDP_ERROR_NOT_AUTHORIZED,
                                         "Method %s is not in mdevpasidd's authorization table: denied.",
                                         strna(member));
        if (!entry->action)
                return 1;
        /* Same uid as the daemon (root): the bus reports the caller's uid, not /proc. */
        r = sd_bus_query_sender_privilege(message, -1);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Cannot determine who called %s: %s", member,
                                               strerror(-r));
        if (r == 0)
                return sd_bus_error_setf(
                        error, MDP_ERROR_NOT_AUTHORIZED,
                        "Not authorized to call %s (action %s): only root may change mdevs.", member,
                        entry->action);
        return 1;
}
