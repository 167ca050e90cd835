/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plan: how a VM's units would have their DMA translated, why, and what to configure
 * (IOMMU-SPEC.md §6). The units come from the command line (--viommu MODE UNIT...) or from a
 * libvirt domain (--domain NAME), the facts from the host model (MDEVPASID_ROOT applies),
 * the rules from the vendor profiles and /etc/mdevpasid, the decision from the engine.
 *
 * Two halves, so the daemon can take over the second: building a struct plan_query (options,
 * the domain read through libvirt) and turning a query into a struct mdp_plan. plan_local()
 * is the second half without the daemon; a plan_daemon() asking org.mdevpasid1's PlanVm
 * belongs next to it, tried first, with plan_local() as the fallback when the daemon is not
 * running. Printing never knows which one answered. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain-libvirt.h"
#include "domain-xml.h"
#include "engine.h"
#include "host.h"
#include "mdp-names.h"
#include "output.h"
#include "plan-input.h"
#include "plan.h"
#include "policy.h"
#include "profile.h"
#include "client.h"
#include "plan-bus.h"
#include "source.h"
#include "util/fileio.h"
#include "util/log.h"
#include "verbs.h"

static void print_conf_warnings(const char *what, const struct mdp_conf_messages *msgs)
{
        for (size_t i = 0; i < msgs->n_warnings; i++)
                log_warning("warning: %s: %s", what, msgs->warnings[i]);
}

/* A bad profile or policy file changes decisions (a type's class, a VMM capability), so
 * the CLI refuses to plan rather than plan with half the rules (issue 3: "one bad policy
 * file never silently changes a decision"). */
static int conf_error(int r, const char *what, const struct mdp_conf_messages *msgs)
{
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        return log_error_errno(r, "cannot load the %s, so no plan: %s; fix or remove the file", what,
                               msgs->error ? msgs->error : strerror(-r));
}

/* A KVM guest runs on the host's architecture, so without a domain that says otherwise the
 * host's is the guest's: it decides which vIOMMU models exist (intel and amd are x86 only,
 * §4.4). Unknown when /proc does not say; the engine then offers virtio-iommu only. */
static enum mdp_arch host_arch(struct mdp_ctx *ctx, char **ret_name)
{
        _cleanup_free_ char *s = NULL;
        int fd = mdp_ctx_base_fd(ctx, MDP_PATH_PROC);
        int r;

        *ret_name = NULL;
        if (fd < 0 || read_attr_alloc(fd, "sys/kernel/arch", 64, &s) < 0 || isempty(s))
                return MDP_ARCH_UNKNOWN;
        r = mdp_arch_from_string(s);
        *ret_name = TAKE_PTR(s);
        return r < 0 ? MDP_ARCH_OTHER : (enum mdp_arch)r;
}

static int host_error(struct mdp_ctx *ctx, int r)
{
        const char *root = mdp_ctx_get_root(ctx);

        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r == -ENOENT && !isempty(root))
                return log_error_errno(r,
                                       "cannot read the host: %s/sys does not exist; "
                                       "point MDEVPASID_ROOT at a directory that holds a sys/ tree",
                                       root);
        return log_error_errno(r, "cannot read the host's sysfs: %m");
}

/* Without the daemon nobody knows what other VMs hold: the SMMUv3 sharing facts stay
 * unknown, and the plan explains them as such. */
int plan_local(const struct plan_query *q, struct mdp_plan **ret)
{
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *profiles = NULL;
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *policy = NULL;
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_(mdp_plan_input_freep) struct mdp_plan_input *in = NULL;
        _cleanup_free_ char *err = NULL, *arch = NULL, *basis = NULL;
        struct mdp_conf_messages msgs = {0};
        struct mdp_vm_policy vp = {0};
        struct mdp_plan_host_context hc = {0};
        struct mdp_plan_request *req;
        const char *host_err;
        int r;

        r = mdp_ctx_new(&ctx);
        if (r == -EINVAL)
                return log_error_errno(r,
                                       "MDEVPASID_ROOT=%s is not an absolute path; "
                                       "set it to the directory that holds the sys/ tree",
                                       strna(getenv(MDP_ENV_ROOT)));
        if (r < 0)
                return log_error_errno(r, "cannot set up the library context: %m");
        mdp_ctx_set_log_fn(ctx, log_ctx_callback, NULL);

        /* Profiles first: they classify the mdevs the scan reads (IOMMU-SPEC.md §1.4). */
        r = mdp_profiles_load(ctx, &profiles, &msgs);
        print_conf_warnings("vendor profiles", &msgs);
        if (r < 0) {
                r = conf_error(r, "vendor profiles", &msgs);
                mdp_conf_messages_done(&msgs);
                return r;
        }
        mdp_conf_messages_done(&msgs);
        mdp_ctx_set_classifier(ctx, mdp_profiles_classify, profiles);

        r = mdp_policy_load(ctx, &policy, &msgs);
        print_conf_warnings("policy", &msgs);
        if (r < 0) {
                r = conf_error(r, "policy", &msgs);
                mdp_conf_messages_done(&msgs);
                return r;
        }
        mdp_conf_messages_done(&msgs);

        r = mdp_host_scan(ctx, &host);
        if (r < 0)
                return host_error(ctx, r);
        host_err = mdp_host_error(host);
        if (host_err)
                log_warning("warning: %s", host_err);

        hc.profiles = profiles;
        r = mdp_plan_input_new(host, q->vm, q->units, q->n_units, &hc, &in, &err);
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : "cannot gather the units' host facts");

        r = mdp_policy_resolve_vm(policy, q->vm, q->domain ? &q->domain->policy : NULL, &vp);
        if (r < 0)
                return log_error_errno(r, "cannot resolve the policy for VM %s: %m", q->vm);
        for (size_t i = 0; i < vp.n_warnings; i++)
                log_warning("warning: policy for VM %s: %s", q->vm, vp.warnings[i]);
        for (size_t i = 0; i < vp.n_sources; i++)
                log_debug("policy for VM %s: %s", q->vm, vp.sources[i]);

        req = mdp_plan_input_request(in);
        mdp_policy_fill_request(policy, &vp, q->domain, req);
        if (!q->domain) {
                req->guest = q->guest;
                req->arch = host_arch(ctx, &arch);
                if (arch && asprintf(&basis, "%s; guest architecture %s, the host's (/proc/sys/kernel/arch)",
                                     q->guest_basis, arch) < 0)
                        basis = NULL;
                req->guest_basis = basis ? basis : q->guest_basis;
        }
        /* The engine copies what it keeps: the plan outlives the input, policy and host. */
        r = mdp_engine_plan(req, ret);
        mdp_vm_policy_done(&vp);
        if (r == -EINVAL) {
                char buf[512];
                (void)mdp_plan_request_validate(req, buf, sizeof(buf));
                return log_error_errno(r, "internal error: the engine rejected the request: %s", buf);
        }
        if (r < 0)
                return log_error_errno(r, "cannot plan: %m");
        return 0;
}

static int print_plan(const struct mdp_plan *plan)
{
        int r;

        fflush(stderr);
        if (arg_json != JSON_OFF) {
                json_object *o = NULL;

                r = mdp_plan_to_json(plan, &o);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
                return json_print(o);
        } else {
                _cleanup_free_ char *text = NULL;

                r = mdp_plan_format_text(plan, &text);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
                fputs(text, stdout);
                return 0;
        }
}

int cli_domain_read(struct mdp_domain **ret, char **ret_xml)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = NULL;
        _cleanup_free_ char *err = NULL, *xml = NULL;
        int r;

        r = mdp_domain_read_libvirt_xml(arg_connect, arg_domain, &d, &xml, &err);
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r == -ENOENT)
                return log_error_errno(r, "%s; check the name with 'virsh%s%s list --all'", strna(err),
                                       arg_connect ? " -c " : "", strempty(arg_connect));
        if (r < 0)
                return log_error_errno(r, "domain %s: %s", arg_domain, err ? err : strerror(-r));
        for (size_t i = 0; i < d->n_warnings; i++)
                log_warning("warning: domain %s: %s", d->name, d->warnings[i]);
        if (!mdp_domain_has_units(d))
                return log_error_errno(-ENOENT,
                                       "domain %s has no mdev or PCI hostdevs, so there is nothing to plan; "
                                       "add a <hostdev> or name units with --viommu MODE UNIT...",
                                       d->name);
        *ret = TAKE_PTR(d);
        if (ret_xml)
                *ret_xml = TAKE_PTR(xml);
        return 0;
}

/* --domain: the units are the domain's mdev and PCI hostdevs, the guest mode is what its
 * <iommu> and <mdevpasid:policy> say (the domain reader derives it and says how). */
static int query_from_domain(struct mdp_domain **ret_domain, char **ret_xml, char ***ret_units, size_t *ret_n)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = NULL;
        char **units;
        size_t n = 0;
        int r;

        r = cli_domain_read(&d, ret_xml);
        if (r < 0)
                return r;
        units = calloc(d->n_mdevs + d->n_pcis, sizeof(char *));
        if (!units)
                return log_error_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < d->n_mdevs; i++)
                units[n++] = d->mdevs[i].uuid;
        for (size_t i = 0; i < d->n_pcis; i++)
                units[n++] = d->pcis[i].address;
        *ret_units = units;
        *ret_n = n;
        *ret_domain = TAKE_PTR(d);
        return 0;
}

/* The vIOMMU models a plan's vIOMMU is written as in libvirt XML. */
static bool viommu_is_model(enum mdp_viommu v, enum mdp_domain_iommu_model m)
{
        switch (v) {
        case MDP_VIOMMU_INTEL:
        case MDP_VIOMMU_INTEL_NESTED:
                return m == MDP_DOMAIN_IOMMU_INTEL;
        case MDP_VIOMMU_VIRTIO:
                return m == MDP_DOMAIN_IOMMU_VIRTIO;
        case MDP_VIOMMU_AMD:
        case MDP_VIOMMU_AMD_NESTED:
                return m == MDP_DOMAIN_IOMMU_AMD;
        case MDP_VIOMMU_SMMUV3_ACCEL:
                return m == MDP_DOMAIN_IOMMU_SMMUV3;
        default:
                return false;
        }
}

/* The engine picks the vIOMMU the strategy needs (§6.4 step 11); the domain may already
 * name another one. The plan is still the answer, but the administrator has to change the
 * domain for it, so say so rather than let the libvirt XML look like a restatement. */
static void note_viommu_mismatch(const struct mdp_plan *plan, const struct mdp_domain *d)
{
        if (!d || d->n_iommus == 0 || plan->strategy == MDP_STRATEGY_REFUSED ||
            plan->viommu == MDP_VIOMMU_NONE)
                return;
        for (size_t i = 0; i < d->n_iommus; i++)
                if (viommu_is_model(plan->viommu, d->iommus[i].model))
                        return;
        log_warning("warning: domain %s has <iommu model='%s'>, but the plan runs under the %s "
                    "vIOMMU: change the domain's <iommu> as the plan's libvirt XML shows",
                    d->name, mdp_domain_iommu_model_to_string(d->iommus[0].model),
                    mdp_viommu_to_string(plan->viommu));
}

/* Manager.PlanVm for the query: 1 and a plan; 0 when the daemon is not to be asked (or
 * has no PlanVm): plan locally; negative (logged) when it failed. The daemon's refusal
 * is a plan like a local one. */
static int plan_daemon(const struct plan_query *q, struct mdp_plan **ret)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *why;
        int r;

        /* A domain's plan rests on its XML (architecture, <mdevpasid:policy>): the daemon
         * gets the XML itself ("DomainXml") and derives units and mode as plan_local does. */
        if (q->domain && !q->domain_xml)
                return 0;
        r = cli_daemon_for_read(&bus, &why);
        if (r <= 0)
                return r;
        r = mdp_client_new_call(bus, NULL, NULL, "PlanVm", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", q->vm);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && q->domain)
                r = sd_bus_message_append(m, "{sv}", "DomainXml", "s", q->domain_xml);
        else if (r >= 0) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Units");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                for (size_t i = 0; r >= 0 && i < q->n_units; i++)
                        r = sd_bus_message_append(m, "s", q->units[i]);
                for (int k = 0; r >= 0 && k < 3; k++)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && !q->domain)
                r = sd_bus_message_append(m, "{sv}", "Viommu", "s", mdp_guest_mode_to_string(q->guest));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        r = mdp_client_send(bus, m, MDP_CLIENT_TIMEOUT_READ_USEC, &e, &reply);
        if (r < 0) {
                if (sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.UnknownMethod") &&
                    arg_source != CLI_SOURCE_DAEMON) {
                        sd_bus_error_free(&e);
                        log_notice("note: this mdevpasidd has no PlanVm; planning from sysfs");
                        return 0;
                }
                return cli_call_failed(&e, r, "plan VM");
        }
        r = mdp_plan_bus_read(reply, ret);
        if (r < 0)
                return log_error_errno(
                        r, "mdevpasidd's plan does not have the expected shape (%m); is it the same "
                           "version as mdevpasidctl?");
        return 1;
}

int verb_plan(int argc, char **argv)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *domain = NULL;
        _cleanup_(mdp_plan_freep) struct mdp_plan *plan = NULL;
        _cleanup_free_ char **domain_units = NULL;
        _cleanup_free_ char *basis = NULL, *domain_xml = NULL;
        struct plan_query q = {0};
        int r;

        if (arg_domain && arg_viommu)
                return usage_error("--domain and --viommu exclude each other: the domain's <iommu> "
                                   "says the guest mode");
        if (arg_domain && arg_vm)
                return usage_error("--domain and --vm exclude each other: the domain's name is the VM's");
        if (arg_domain && argc > 0)
                return usage_error("unexpected argument \"%s\": with --domain the units are the "
                                   "domain's hostdevs",
                                   argv[0]);
        if (arg_connect && !arg_domain)
                return usage_error("--connect needs --domain");
        if (!arg_domain && !arg_viommu)
                return usage_error("needs --viommu MODE and units, or --domain NAME");

        if (arg_domain) {
                if (isempty(arg_domain))
                        return usage_error("--domain needs a domain name");
                r = query_from_domain(&domain, &domain_xml, &domain_units, &q.n_units);
                if (r < 0)
                        return r;
                q.vm = domain->name;
                q.domain_xml = domain_xml;
                q.units = (const char *const *)domain_units;
                q.domain = domain;
        } else {
                r = mdp_guest_mode_from_string(arg_viommu);
                if (r < 0)
                        return usage_error("--viommu %s: expected none, nopasid, pasid or svsa", arg_viommu);
                if (argc == 0)
                        return usage_error("needs at least one UNIT (an mdev UUID or a PCI address "
                                           "such as 0000:01:00.1)");
                if (arg_vm && isempty(arg_vm))
                        return usage_error("--vm needs a VM name");
                q.guest = (enum mdp_guest_mode)r;
                if (asprintf(&basis, "--viommu %s", arg_viommu) < 0) {
                        basis = NULL;
                        return log_error_errno(-ENOMEM, "out of memory");
                }
                q.guest_basis = basis;
                q.vm = arg_vm ? arg_vm : PLAN_DEFAULT_VM;
                q.units = (const char *const *)argv;
                q.n_units = (size_t)argc;
        }

        /* The daemon plans with what it knows beyond sysfs (the units other VMs hold, the
         * PASID spaces); without it, or from a daemon that predates PlanVm, plan here. */
        r = plan_daemon(&q, &plan);
        if (r < 0)
                return r;
        if (r > 0) {
                note_viommu_mismatch(plan, q.domain);
                return print_plan(plan);
        }
        r = plan_local(&q, &plan);
        if (r < 0)
                return r;
        note_viommu_mismatch(plan, q.domain);
        return print_plan(plan);
}
