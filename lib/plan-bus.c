/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A plan as the a{sv} of Manager.PlanVm / AttachVm, both directions (plan-bus.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"
#include "plan-bus.h"

/* ---- append ---- */

static int append_s(sd_bus_message *m, const char *key, const char *value)
{
        return sd_bus_message_append(m, "{sv}", key, "s", value ? value : "");
}

static int append_lines(sd_bus_message *m, const char *const *v, size_t n, const char *const *more,
                        size_t n_more)
{
        int r = sd_bus_message_open_container(m, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n + n_more; i++) {
                r = sd_bus_message_append_basic(m, 's', i < n ? v[i] : more[i - n]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int append_as(sd_bus_message *m, const char *key, const char *const *v, size_t n)
{
        int r;

        if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
            (r = sd_bus_message_append_basic(m, 's', key)) < 0 ||
            (r = sd_bus_message_open_container(m, 'v', "as")) < 0 ||
            (r = append_lines(m, v, n, NULL, 0)) < 0 || (r = sd_bus_message_close_container(m)) < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static const char *reason_or_empty(enum mdp_reason r)
{
        return r == MDP_REASON_NONE ? "" : mdp_reason_to_string(r);
}

static int open_key(sd_bus_message *m, const char *key, const char *sig)
{
        int r;

        if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
            (r = sd_bus_message_append_basic(m, 's', key)) < 0)
                return r;
        return sd_bus_message_open_container(m, 'v', sig);
}

static int close_key(sd_bus_message *m)
{
        int r = sd_bus_message_close_container(m);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_units(sd_bus_message *m, const struct mdp_plan *plan,
                        const struct mdp_plan_bus_extra *extra)
{
        int r;

        if ((r = open_key(m, "Units", "a(sssssas)")) < 0 ||
            (r = sd_bus_message_open_container(m, 'a', "(sssssas)")) < 0)
                return r;
        for (size_t i = 0; i < plan->n_units; i++) {
                const struct mdp_unit_plan *u = &plan->units[i];
                const char *parent = extra && extra->parents && extra->parents[i] ? extra->parents[i] : "";

                if ((r = sd_bus_message_open_container(m, 'r', "sssssas")) < 0 ||
                    (r = sd_bus_message_append(m, "sssss", u->unit, mdp_unit_kind_to_string(u->kind),
                                               mdp_strategy_to_string(u->strategy),
                                               reason_or_empty(u->reason), parent)) < 0 ||
                    (r = append_lines(m, u->explanation, u->n_explanation, u->unknowns, u->n_unknowns)) <
                            0 ||
                    (r = sd_bus_message_close_container(m)) < 0)
                        return r;
        }
        if ((r = sd_bus_message_close_container(m)) < 0)
                return r;
        r = close_key(m);
        if (r < 0)
                return r;

        if ((r = open_key(m, "UnitDetails", "a(ssu)")) < 0 ||
            (r = sd_bus_message_open_container(m, 'a', "(ssu)")) < 0)
                return r;
        for (size_t i = 0; i < plan->n_units; i++) {
                const struct mdp_unit_plan *u = &plan->units[i];
                r = sd_bus_message_append(m, "(ssu)", mdp_viommu_to_string(u->viommu),
                                          mdp_kernel_backend_to_string(u->backend), (uint32_t)u->n_unknowns);
                if (r < 0)
                        return r;
        }
        if ((r = sd_bus_message_close_container(m)) < 0)
                return r;
        return close_key(m);
}

static int append_pasids(sd_bus_message *m, const struct mdp_plan_bus_extra *extra)
{
        int r;

        if ((r = open_key(m, "Pasids", "a(su)")) < 0 ||
            (r = sd_bus_message_open_container(m, 'a', "(su)")) < 0)
                return r;
        for (size_t i = 0; extra && i < extra->n_pasids; i++) {
                r = sd_bus_message_append(m, "(su)", extra->pasids[i].unit ? extra->pasids[i].unit : "",
                                          extra->pasids[i].pasid);
                if (r < 0)
                        return r;
        }
        if ((r = sd_bus_message_close_container(m)) < 0)
                return r;
        return close_key(m);
}

_public_ int mdp_plan_bus_append_full(sd_bus_message *m, const struct mdp_plan *plan,
                                      const struct mdp_plan_bus_extra *extra)
{
        int r;

        if (!m || !plan)
                return -EINVAL;
        if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
            (r = append_s(m, "Vm", plan->vm)) < 0 ||
            (r = append_s(m, "Strategy", mdp_strategy_to_string(plan->strategy))) < 0 ||
            (r = append_s(m, "Reason", reason_or_empty(plan->reason))) < 0 ||
            (r = append_s(m, "RefusedBy", plan->refused_by)) < 0 ||
            (r = append_s(m, "GuestMode", mdp_guest_mode_to_string(plan->guest))) < 0 ||
            (r = append_s(m, "GuestBasis", plan->guest_basis)) < 0 ||
            (r = append_s(m, "KernelBackend", mdp_kernel_backend_to_string(plan->backend))) < 0 ||
            (r = append_as(m, "Qemu", plan->qemu, plan->n_qemu)) < 0 ||
            (r = append_s(m, "LibvirtXml", plan->libvirt_xml)) < 0 ||
            (r = append_as(m, "Explanation", plan->explanation, plan->n_explanation)) < 0 ||
            (r = append_as(m, "PolicyFiles", plan->policy_files, plan->n_policy_files)) < 0 ||
            (r = append_units(m, plan, extra)) < 0 || (r = append_pasids(m, extra)) < 0 ||
            (r = append_s(m, "Arch", mdp_arch_to_string(plan->arch))) < 0 ||
            (r = append_s(m, "ViommuModel", mdp_viommu_to_string(plan->viommu))) < 0)
                return r;
        return sd_bus_message_close_container(m);
}

_public_ int mdp_plan_bus_append(sd_bus_message *m, const struct mdp_plan *plan)
{
        return mdp_plan_bus_append_full(m, plan, NULL);
}

/* ---- read ---- */

struct raw_unit {
        const char *unit, *kind, *strategy, *reason, *parent;
        struct strvec lines;
};

struct raw_detail {
        const char *viommu, *backend;
        uint32_t n_unknowns;
};

struct reader {
        sd_bus_message *m;
        struct arena *a;
        struct raw_unit *units;
        size_t n_units;
        struct raw_detail *details;
        size_t n_details;
        struct mdp_plan_pasid *pasids;
        size_t n_pasids;
};

static void reader_done(struct reader *rd)
{
        free(rd->units);
        free(rd->details);
        free(rd->pasids);
}

/* sd-bus says -ENXIO for a value of another type: for our caller that is a bad message. */
static int bad(int r)
{
        return r == -ENOMEM ? r : -EBADMSG;
}

static int read_s(struct reader *rd, const char **ret)
{
        const char *s;
        int r = sd_bus_message_read(rd->m, "v", "s", &s);
        if (r < 0)
                return bad(r);
        *ret = arena_strdup(rd->a, s);
        return 0;
}

static int read_lines(struct reader *rd, struct strvec *sv)
{
        const char *s;
        int r = sd_bus_message_enter_container(rd->m, 'a', "s");
        if (r < 0)
                return bad(r);
        while ((r = sd_bus_message_read_basic(rd->m, 's', &s)) > 0)
                strvec_push(rd->a, sv, arena_strdup(rd->a, s));
        if (r < 0)
                return bad(r);
        r = sd_bus_message_exit_container(rd->m);
        return r < 0 ? bad(r) : 0;
}

static int read_as(struct reader *rd, struct strvec *sv)
{
        int r = sd_bus_message_enter_container(rd->m, 'v', "as");
        if (r < 0)
                return bad(r);
        r = read_lines(rd, sv);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(rd->m);
        return r < 0 ? bad(r) : 0;
}

static int read_units(struct reader *rd)
{
        size_t cap = 0;
        int r;

        if ((r = sd_bus_message_enter_container(rd->m, 'v', "a(sssssas)")) < 0 ||
            (r = sd_bus_message_enter_container(rd->m, 'a', "(sssssas)")) < 0)
                return bad(r);
        while ((r = sd_bus_message_enter_container(rd->m, 'r', "sssssas")) > 0) {
                const char *f[5];
                struct raw_unit *u;

                if (rd->n_units == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        void *p = realloc(rd->units, ncap * sizeof(*rd->units));
                        if (!p)
                                return -ENOMEM;
                        rd->units = p;
                        cap = ncap;
                }
                u = &rd->units[rd->n_units++];
                *u = (struct raw_unit){};
                r = sd_bus_message_read(rd->m, "sssss", &f[0], &f[1], &f[2], &f[3], &f[4]);
                if (r < 0)
                        return bad(r);
                u->unit = arena_strdup(rd->a, f[0]);
                u->kind = arena_strdup(rd->a, f[1]);
                u->strategy = arena_strdup(rd->a, f[2]);
                u->reason = arena_strdup(rd->a, f[3]);
                u->parent = arena_strdup(rd->a, f[4]);
                if ((r = read_lines(rd, &u->lines)) < 0)
                        return r;
                if ((r = sd_bus_message_exit_container(rd->m)) < 0)
                        return bad(r);
        }
        if (r < 0)
                return bad(r);
        if ((r = sd_bus_message_exit_container(rd->m)) < 0 || (r = sd_bus_message_exit_container(rd->m)) < 0)
                return bad(r);
        return 0;
}

static int read_details(struct reader *rd)
{
        size_t cap = 0;
        int r;

        if ((r = sd_bus_message_enter_container(rd->m, 'v', "a(ssu)")) < 0 ||
            (r = sd_bus_message_enter_container(rd->m, 'a', "(ssu)")) < 0)
                return bad(r);
        for (;;) {
                const char *v, *b;
                uint32_t n;

                r = sd_bus_message_read(rd->m, "(ssu)", &v, &b, &n);
                if (r < 0)
                        return bad(r);
                if (r == 0)
                        break;
                if (rd->n_details == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        void *p = realloc(rd->details, ncap * sizeof(*rd->details));
                        if (!p)
                                return -ENOMEM;
                        rd->details = p;
                        cap = ncap;
                }
                rd->details[rd->n_details++] = (struct raw_detail){.viommu = arena_strdup(rd->a, v),
                                                                   .backend = arena_strdup(rd->a, b),
                                                                   .n_unknowns = n};
        }
        if ((r = sd_bus_message_exit_container(rd->m)) < 0 || (r = sd_bus_message_exit_container(rd->m)) < 0)
                return bad(r);
        return 0;
}

static int read_pasids(struct reader *rd)
{
        size_t cap = 0;
        int r;

        if ((r = sd_bus_message_enter_container(rd->m, 'v', "a(su)")) < 0 ||
            (r = sd_bus_message_enter_container(rd->m, 'a', "(su)")) < 0)
                return bad(r);
        for (;;) {
                const char *u;
                uint32_t pasid;

                r = sd_bus_message_read(rd->m, "(su)", &u, &pasid);
                if (r < 0)
                        return bad(r);
                if (r == 0)
                        break;
                if (rd->n_pasids == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        void *p = realloc(rd->pasids, ncap * sizeof(*rd->pasids));
                        if (!p)
                                return -ENOMEM;
                        rd->pasids = p;
                        cap = ncap;
                }
                rd->pasids[rd->n_pasids++] =
                        (struct mdp_plan_pasid){.unit = arena_strdup(rd->a, u), .pasid = pasid};
        }
        if ((r = sd_bus_message_exit_container(rd->m)) < 0 || (r = sd_bus_message_exit_container(rd->m)) < 0)
                return bad(r);
        return 0;
}

/* "" means absent for the optional strings. */
static const char *nonempty(const char *s)
{
        return s && *s ? s : NULL;
}

static int parse_name(int (*from_string)(const char *), const char *s, int dflt, int *ret)
{
        int v;

        if (!s) {
                *ret = dflt;
                return 0;
        }
        v = from_string(s);
        if (v < 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int parse_reason(const char *s, enum mdp_reason *ret)
{
        int v;

        if (!s || !*s) {
                *ret = MDP_REASON_NONE;
                return 0;
        }
        v = mdp_reason_from_string(s);
        if (v < 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int build_units(struct reader *rd, struct mdp_plan *p)
{
        struct mdp_unit_plan *units;

        if (!rd->n_units)
                return 0;
        units = arena_alloc(rd->a, rd->n_units * sizeof(*units));
        if (!units)
                return -ENOMEM;
        memset(units, 0, rd->n_units * sizeof(*units));
        for (size_t i = 0; i < rd->n_units; i++) {
                const struct raw_unit *ru = &rd->units[i];
                const struct raw_detail *d = i < rd->n_details ? &rd->details[i] : NULL;
                struct mdp_unit_plan *u = &units[i];
                size_t n_unknowns = d ? d->n_unknowns : 0;
                int v, r;

                u->unit = ru->unit;
                if ((r = parse_name(mdp_unit_kind_from_string, ru->kind, MDP_UNIT_PF, &v)) < 0)
                        return r;
                u->kind = v;
                if ((r = parse_name(mdp_strategy_from_string, ru->strategy, MDP_STRATEGY_REFUSED, &v)) < 0)
                        return r;
                u->strategy = v;
                if ((r = parse_reason(ru->reason, &u->reason)) < 0)
                        return r;
                if (d) {
                        if ((r = parse_name(mdp_viommu_from_string, d->viommu, MDP_VIOMMU_NONE, &v)) < 0)
                                return r;
                        u->viommu = v;
                        if ((r = parse_name(mdp_kernel_backend_from_string, d->backend, MDP_BACKEND_NONE,
                                            &v)) < 0)
                                return r;
                        u->backend = v;
                }
                if (n_unknowns > ru->lines.n)
                        return -EBADMSG;
                u->explanation = ru->lines.v;
                u->n_explanation = ru->lines.n - n_unknowns;
                u->unknowns = ru->lines.v ? ru->lines.v + u->n_explanation : NULL;
                u->n_unknowns = n_unknowns;
        }
        p->units = units;
        p->n_units = rd->n_units;
        return 0;
}

static int make_info(struct reader *rd, struct mdp_plan_bus_info **ret)
{
        struct mdp_plan_bus_info *info;
        size_t size =
                sizeof(*info) + rd->n_units * sizeof(char *) + rd->n_pasids * sizeof(struct mdp_plan_pasid);

        info = calloc(1, size);
        if (!info)
                return -ENOMEM;
        info->n_units = rd->n_units;
        info->parents = (const char **)(info + 1);
        for (size_t i = 0; i < rd->n_units; i++)
                info->parents[i] = rd->units[i].parent;
        info->n_pasids = rd->n_pasids;
        info->pasids = (struct mdp_plan_pasid *)(info->parents + rd->n_units);
        if (rd->n_pasids)
                memcpy(info->pasids, rd->pasids, rd->n_pasids * sizeof(*rd->pasids));
        *ret = info;
        return 0;
}

_public_ int mdp_plan_bus_read_full(sd_bus_message *m, struct mdp_plan **ret,
                                    struct mdp_plan_bus_info **ret_info)
{
        struct plan_impl *impl;
        _cleanup_(mdp_plan_freep) struct mdp_plan *plan = NULL;
        struct reader rd = {.m = m};
        const char *strategy = NULL, *reason = NULL, *guest = NULL, *backend = NULL, *arch = NULL,
                   *viommu = NULL, *refused_by = NULL, *guest_basis = NULL, *libvirt_xml = NULL;
        struct strvec qemu = {}, expl = {}, files = {};
        bool have_vm = false;
        int v, r;

        if (!m || !ret)
                return -EINVAL;
        impl = calloc(1, sizeof(*impl));
        if (!impl)
                return -ENOMEM;
        plan = &impl->pub;
        rd.a = &impl->arena;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0) {
                r = bad(r);
                goto out;
        }
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read_basic(m, 's', &key);
                if (r < 0) {
                        r = bad(r);
                        goto out;
                }
                if (streq(key, "Vm")) {
                        r = read_s(&rd, &plan->vm);
                        have_vm = true;
                } else if (streq(key, "Strategy"))
                        r = read_s(&rd, &strategy);
                else if (streq(key, "Reason"))
                        r = read_s(&rd, &reason);
                else if (streq(key, "RefusedBy"))
                        r = read_s(&rd, &refused_by);
                else if (streq(key, "GuestMode"))
                        r = read_s(&rd, &guest);
                else if (streq(key, "GuestBasis"))
                        r = read_s(&rd, &guest_basis);
                else if (streq(key, "KernelBackend"))
                        r = read_s(&rd, &backend);
                else if (streq(key, "LibvirtXml"))
                        r = read_s(&rd, &libvirt_xml);
                else if (streq(key, "Arch"))
                        r = read_s(&rd, &arch);
                else if (streq(key, "ViommuModel"))
                        r = read_s(&rd, &viommu);
                else if (streq(key, "Qemu"))
                        r = read_as(&rd, &qemu);
                else if (streq(key, "Explanation"))
                        r = read_as(&rd, &expl);
                else if (streq(key, "PolicyFiles"))
                        r = read_as(&rd, &files);
                else if (streq(key, "Units"))
                        r = read_units(&rd);
                else if (streq(key, "UnitDetails"))
                        r = read_details(&rd);
                else if (streq(key, "Pasids"))
                        r = read_pasids(&rd);
                else
                        r = sd_bus_message_skip(m, "v") < 0 ? -EBADMSG : 0;
                if (r < 0)
                        goto out;
                r = sd_bus_message_exit_container(m);
                if (r < 0) {
                        r = bad(r);
                        goto out;
                }
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0) {
                r = bad(r);
                goto out;
        }
        /* A plan without its VM or strategy is not a plan. */
        if (!have_vm || !strategy) {
                r = -EBADMSG;
                goto out;
        }

        if ((r = parse_name(mdp_strategy_from_string, strategy, MDP_STRATEGY_REFUSED, &v)) < 0)
                goto out;
        plan->strategy = v;
        if ((r = parse_reason(reason, &plan->reason)) < 0)
                goto out;
        if ((r = parse_name(mdp_guest_mode_from_string, guest, MDP_GUEST_NONE, &v)) < 0)
                goto out;
        plan->guest = v;
        if ((r = parse_name(mdp_kernel_backend_from_string, backend, MDP_BACKEND_NONE, &v)) < 0)
                goto out;
        plan->backend = v;
        if ((r = parse_name(mdp_arch_from_string, arch, MDP_ARCH_UNKNOWN, &v)) < 0)
                goto out;
        plan->arch = v;
        if ((r = parse_name(mdp_viommu_from_string, viommu, MDP_VIOMMU_NONE, &v)) < 0)
                goto out;
        plan->viommu = v;
        plan->refused_by = nonempty(refused_by);
        plan->guest_basis = nonempty(guest_basis);
        plan->libvirt_xml = nonempty(libvirt_xml);
        plan->qemu = qemu.v;
        plan->n_qemu = qemu.n;
        plan->explanation = expl.v;
        plan->n_explanation = expl.n;
        plan->policy_files = files.v;
        plan->n_policy_files = files.n;
        if ((r = build_units(&rd, plan)) < 0)
                goto out;
        if (impl->arena.oom) {
                r = -ENOMEM;
                goto out;
        }
        if (ret_info && (r = make_info(&rd, ret_info)) < 0)
                goto out;
        *ret = TAKE_PTR(plan);
        r = 0;
out:
        reader_done(&rd);
        return r;
}

_public_ int mdp_plan_bus_read(sd_bus_message *m, struct mdp_plan **ret)
{
        return mdp_plan_bus_read_full(m, ret, NULL);
}
