/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Planning for the CLI (cli/verb-plan.c), for any verb that needs a plan: build a struct
 * plan_query, then ask plan_local() (this host's sysfs, vendor profiles and policy files,
 * without the daemon). A daemon-backed plan_daemon() (Manager.PlanVm, read back with
 * lib/plan-bus.h) belongs next to it, with the same query and the same result. */

#include <stddef.h>

#include "domain-xml.h"
#include "engine.h"

/* What to plan. Everything is borrowed from the caller. */
struct plan_query {
        const char *vm; /* the VM's name: --vm, the domain's name, or PLAN_DEFAULT_VM */
        enum mdp_guest_mode guest;
        const char *guest_basis;  /* how the mode was derived, for the explanation */
        const char *const *units; /* mdev UUIDs and PCI addresses */
        size_t n_units;
        const struct mdp_domain *domain; /* guest mode, arch and <mdevpasid:policy>; NULL: the
                                          * fields above, with the host's architecture */
        const char *domain_xml; /* the domain's XML as libvirt gave it, for the daemon's
                                 * "DomainXml"; set with domain */
};

/* Per-VM policy rules match on the name; without --vm only "*" matches this one. */
#define PLAN_DEFAULT_VM "unnamed-vm"

/* The plan for q. Errors are logged with the object and the fix (unknown unit, a policy or
 * profile file that does not load, an unreadable host); returns 0 and a plan, which may be
 * refused (a decision, not an error), or a negative errno. */
int plan_local(const struct plan_query *q, struct mdp_plan **ret);

/* --domain NAME [-c URI] (arg_domain, arg_connect): the domain read over a read-only libvirt
 * connection, its warnings logged, and its XML text. Errors are logged with the fix; a
 * domain without mdev or PCI hostdevs is -ENOENT. */
int cli_domain_read(struct mdp_domain **ret, char **ret_xml);
