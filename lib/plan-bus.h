/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A plan (lib/engine.h) on the bus: the a{sv} that Manager.PlanVm and Manager.AttachVm
 * return (conf/org.mdevpasid1.xml). The daemon appends it; clients (the CLI, the libvirt
 * hook) read it back into a struct mdp_plan and render it with mdp_plan_format_text() /
 * mdp_plan_to_json(), so a plan prints the same whether it was computed locally or by the
 * daemon.
 *
 * Keys (the contract): "Vm" s, "Strategy" s, "Reason" s ("" when none), "RefusedBy" s,
 * "GuestMode" s, "GuestBasis" s, "KernelBackend" s, "Qemu" as, "LibvirtXml" s,
 * "Explanation" as, "PolicyFiles" as, "Units" a(sssssas) (unit, kind, strategy, reason,
 * parent, explanation lines: the rules, then the unknowns), "Pasids" a(su) (unit, PASID).
 * Extra keys, so the read side rebuilds the plan exactly: "Arch" s, "ViommuModel" s and
 * "UnitDetails" a(ssu) (per unit in order: vIOMMU model, kernel backend, how many of the
 * trailing explanation lines are unknowns). A reader skips keys it does not know and
 * accepts a dictionary without the extra keys (every unit line is then a rule). */

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "engine.h"

struct mdp_plan_pasid {
        const char *unit; /* mdev UUID */
        uint32_t pasid;
};

/* What the bus form carries beyond struct mdp_plan. */
struct mdp_plan_bus_extra {
        const char *const *parents; /* per unit in plan order (NULL entries: ""); NULL: all "" */
        const struct mdp_plan_pasid *pasids;
        size_t n_pasids;
};

/* Appends the a{sv}. extra may be NULL (parents "", no PASIDs). */
int mdp_plan_bus_append(sd_bus_message *m, const struct mdp_plan *plan);
int mdp_plan_bus_append_full(sd_bus_message *m, const struct mdp_plan *plan,
                             const struct mdp_plan_bus_extra *extra);

/* The read side's extras, one allocation: free() it. */
struct mdp_plan_bus_info {
        size_t n_units;
        const char **parents; /* n_units entries, "" when the daemon did not know */
        size_t n_pasids;
        struct mdp_plan_pasid *pasids;
};

/* Reads the a{sv} at the current position into a new plan (free with mdp_plan_free()).
 * -EBADMSG when a known key has the wrong type or a name (strategy, reason, ...) is not
 * one this version knows; -ENOMEM. ret_info may be NULL. */
int mdp_plan_bus_read(sd_bus_message *m, struct mdp_plan **ret);
int mdp_plan_bus_read_full(sd_bus_message *m, struct mdp_plan **ret, struct mdp_plan_bus_info **ret_info);
