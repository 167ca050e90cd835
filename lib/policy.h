/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The operator's configuration (docs/policy.md):
 *  - /etc/mdevpasid/mdevpasid.conf: how the daemon and the hook behave (timeouts, autostart
 *    retries, what the hook does when the daemon does not answer);
 *  - /etc/mdevpasid/policy.d/NAME.json: rules for the strategy engine (IOMMU-SPEC.md §6.2
 *    vmm and policy): prefer nest or shadow, experimental cells, migration, what the host's
 *    VMM supports, per-VM overrides by name glob, per-VM and per-parent PASID quotas and
 *    reserved PASID ranges.
 *
 * Loading is all or nothing: one bad file fails the load with an error naming the file, the
 * key and what was expected, so a typo never silently changes a decision (the daemon keeps
 * its previous policy, the CLI refuses to plan). A successful load records the files it used.
 *
 * Precedence (deterministic):
 *  1. Built-in defaults: prefer nest, nothing experimental, migration not required, every
 *     VMM capability unknown (treated as absent), per-VM PASID quota 64, no parent quota.
 *  2. policy.d files in file-name order (strcmp); for a setting several files give, the
 *     later file wins, and differing values are reported as a conflict warning.
 *     Reserved PASID ranges accumulate (a later file never un-reserves).
 *  3. The VM's domain metadata (<mdevpasid:policy>) may replace "prefer", but only narrow
 *     the rest: allow-experimental only turns it off, migration-required only turns it
 *     on, pasid-quota only lowers the quota. A request that would widen is ignored with a
 *     warning: whoever writes the domain XML does not own the host.
 *  4. "vms" rules whose glob matches the VM name, in file order then array order; each
 *     replaces what it sets, a later matching rule wins over an earlier one (conflict
 *     warning), and a per-VM rule beats the metadata's "prefer".
 *  Parents: every "parents" rule whose glob matches applies; the last quota wins
 *  (conflict warning); reserved ranges are the union of the global ones, the matching
 *  rules' and the vendor profile's. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ctx.h"
#include "domain-xml.h"
#include "engine.h"
#include "profile.h"
#include "util/macro.h"

#define MDP_QUOTA_UNLIMITED UINT32_MAX
#define MDP_POLICY_DEFAULT_VM_PASID_QUOTA 64U /* [J] */

/* What the hook does when the daemon does not answer in time, or is not there. */
enum mdp_hook_fallback {
        MDP_HOOK_VETO,  /* "veto": the VM does not start, with a clear line on stderr */
        MDP_HOOK_ALLOW, /* "allow": the VM starts, the pass is logged */
};

/* mdevpasid.conf; absent keys keep the defaults of mdp_daemon_config_init(). */
struct mdp_daemon_config {
        unsigned start_timeout_ms;  /* devices.start_timeout_ms: create until add+bind (10000) */
        unsigned remove_timeout_ms; /* devices.remove_timeout_ms: a remove blocked by a VFIO user (10000) */
        bool autostart;             /* autostart.enabled (true) */
        unsigned autostart_attempts;          /* autostart.attempts, first try included (3) */
        unsigned autostart_retry_interval_ms; /* autostart.retry_interval_ms, doubled each retry (2000) */
        unsigned hook_timeout_ms;             /* hook.timeout_ms: the whole D-Bus call (30000) */
        enum mdp_hook_fallback hook_on_timeout;     /* hook.on_timeout ("veto") */
        enum mdp_hook_fallback hook_on_unavailable; /* hook.on_daemon_unavailable ("veto") */
        int log_level; /* "log_level": syslog priority, "info" (6) */
};
void mdp_daemon_config_init(struct mdp_daemon_config *c);

struct mdp_policy;

/* Only mdevpasid.conf (defaults when absent): for the hook, whose timeout must not depend
 * on the rule files parsing. *ret is untouched on failure. */
int mdp_daemon_config_load(struct mdp_ctx *ctx, struct mdp_daemon_config *ret, struct mdp_conf_messages *msgs);

/* Reads mdevpasid.conf (optional: defaults when absent) and policy.d. */
int mdp_policy_load(struct mdp_ctx *ctx, struct mdp_policy **ret, struct mdp_conf_messages *msgs);
/* The built-in defaults alone, no files (for callers that run without /etc). */
int mdp_policy_new_default(struct mdp_policy **ret);
struct mdp_policy *mdp_policy_ref(struct mdp_policy *p);
struct mdp_policy *mdp_policy_unref(struct mdp_policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_policy *, mdp_policy_unref)

const struct mdp_daemon_config *mdp_policy_daemon_config(const struct mdp_policy *p);
/* The files the load used, in the order applied: mdevpasid.conf (when present), then
 * policy.d. Suitable for mdp_plan_request.policy_files. */
const char *const *mdp_policy_files(const struct mdp_policy *p, size_t *ret_n);

/* The policy for one VM, mapped onto the engine's options. */
struct mdp_vm_policy {
        struct mdp_engine_options options;
        uint32_t pasid_quota; /* guest PASIDs the VM may hold in total (+pv strategies) */
        /* Where each setting that is not a built-in default came from, one line each:
         * "prefer = shadow (/etc/mdevpasid/policy.d/20-db.json vms[0], match \"db-*\")". */
        char **sources;
        size_t n_sources;
        /* Conflicts between matching rules, metadata requests that were narrowed away. */
        char **warnings;
        size_t n_warnings;
};
/* metadata may be NULL (no domain XML). */
int mdp_policy_resolve_vm(const struct mdp_policy *p, const char *vm, const struct mdp_domain_policy *metadata,
                          struct mdp_vm_policy *ret);
void mdp_vm_policy_done(struct mdp_vm_policy *v);

/* Fills the policy part of a plan request: options from v, policy_files from p and, when
 * d is given, vm, guest, guest_basis and arch from the domain (IOMMU-SPEC.md §6.2).
 * Everything is borrowed: p, v and d must outlive the request. */
void mdp_policy_fill_request(const struct mdp_policy *p, const struct mdp_vm_policy *v, const struct mdp_domain *d,
                             struct mdp_plan_request *req);

/* The policy for one parent's PASID space (issue 5's allocator). */
struct mdp_parent_policy {
        uint32_t pasid_quota; /* PASIDs the parent may hand out in total; MDP_QUOTA_UNLIMITED */
        struct mdp_pasid_range *reserved; /* never handed out: sorted, merged */
        size_t n_reserved;
        char **sources;
        size_t n_sources;
        char **warnings;
        size_t n_warnings;
};
/* profile_rule (may be NULL) adds the vendor's reserved ranges. */
int mdp_policy_resolve_parent(const struct mdp_policy *p, const char *parent,
                              const struct mdp_profile_rule *profile_rule, struct mdp_parent_policy *ret);
void mdp_parent_policy_done(struct mdp_parent_policy *pp);
