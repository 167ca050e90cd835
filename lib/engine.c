/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The strategy engine: IOMMU-SPEC.md §6.4 evaluated in order, first match wins, per unit;
 * then the VM is reconciled (§6.4 step 11) and its configuration emitted (§6.5,
 * engine-config.c). Pure: no I/O, no globals; all memory is the plan's arena. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"
#include "util/uuid.h"

/* ---- arena ---- */

#define ARENA_CHUNK 16384

static struct arena_chunk *arena_grow(struct arena *a, size_t need)
{
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        struct arena_chunk *c = malloc(sizeof(*c) + size);

        if (!c) {
                a->oom = true;
                return NULL;
        }
        c->next = a->head;
        c->size = size;
        c->used = 0;
        a->head = c;
        return c;
}

void *arena_alloc(struct arena *a, size_t size)
{
        struct arena_chunk *c = a->head;
        size_t align = _Alignof(max_align_t);
        size_t start;

        if (a->oom)
                return NULL;
        if (size == 0)
                size = 1;
        start = c ? (c->used + align - 1) & ~(align - 1) : 0;
        if (!c || start + size > c->size) {
                c = arena_grow(a, size);
                if (!c)
                        return NULL;
                start = 0;
        }
        c->used = start + size;
        return c->data + start;
}

char *arena_strdup(struct arena *a, const char *s)
{
        size_t l = strlen(s) + 1;
        char *d = arena_alloc(a, l);

        if (d)
                memcpy(d, s, l);
        return d;
}

/* Fast path for formats whose only conversion is %s (almost every explanation line):
 * lengths first, then one copy. NULL when the format has anything else. */
static char *arena_vcat(struct arena *a, const char *fmt, va_list ap)
{
        const char *args[16];
        size_t lens[16], n = 0, total = 0;
        va_list aq;
        char *out, *o;

        for (const char *f = fmt; (f = strchr(f, '%')); f += 2) {
                if (f[1] != 's' || n == ELEMENTSOF(args))
                        return NULL;
                n++;
        }
        va_copy(aq, ap);
        for (size_t i = 0; i < n; i++) {
                args[i] = va_arg(aq, const char *);
                if (!args[i])
                        args[i] = "(null)";
                lens[i] = strlen(args[i]);
                total += lens[i];
        }
        va_end(aq);
        total += strlen(fmt) - 2 * n + 1;
        out = o = arena_alloc(a, total);
        if (!out)
                return NULL;
        for (size_t i = 0;; i++) {
                const char *pct = strchr(fmt, '%');
                size_t l = pct ? (size_t)(pct - fmt) : strlen(fmt);
                memcpy(o, fmt, l);
                o += l;
                if (!pct)
                        break;
                memcpy(o, args[i], lens[i]);
                o += lens[i];
                fmt = pct + 2;
        }
        *o = '\0';
        return out;
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
        struct arena_chunk *c = a->head;
        char *fast;

        if (a->oom)
                return NULL;
        fast = arena_vcat(a, fmt, ap);
        if (fast || a->oom)
                return fast;
        c = a->head;
        size_t avail;
        va_list aq;
        int n;

        /* Format straight into the free tail of the current chunk; only a string that does
         * not fit there is formatted twice. Strings need no alignment. */
        avail = c ? c->size - c->used : 0;
        va_copy(aq, ap);
        n = vsnprintf(c ? c->data + c->used : NULL, avail, fmt, aq);
        va_end(aq);
        if (n < 0) {
                a->oom = true;
                return NULL;
        }
        if ((size_t)n < avail) {
                char *s = c->data + c->used;
                c->used += (size_t)n + 1;
                return s;
        }
        c = arena_grow(a, (size_t)n + 1);
        if (!c)
                return NULL;
        vsnprintf(c->data, (size_t)n + 1, fmt, ap);
        c->used = (size_t)n + 1;
        return c->data;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = arena_vprintf(a, fmt, ap);
        va_end(ap);
        return s;
}

void arena_done(struct arena *a)
{
        while (a->head) {
                struct arena_chunk *c = a->head;
                a->head = c->next;
                free(c);
        }
}

void strvec_push(struct arena *a, struct strvec *sv, const char *s)
{
        if (!s) {
                a->oom = true;
                return;
        }
        if (sv->n == sv->cap) {
                size_t cap = sv->cap ? sv->cap * 2 : 8;
                const char **v = arena_alloc(a, cap * sizeof(*v));
                if (!v)
                        return;
                if (sv->n)
                        memcpy(v, sv->v, sv->n * sizeof(*v));
                sv->v = v;
                sv->cap = cap;
        }
        sv->v[sv->n++] = s;
}

bool strvec_contains(const struct strvec *sv, const char *s)
{
        for (size_t i = 0; i < sv->n; i++)
                if (streq(sv->v[i], s))
                        return true;
        return false;
}

/* ---- a fixed-size text accumulator for fact lists (truncates, never overflows) ---- */

struct sbuf {
        char buf[2048];
        size_t len;
};

static void sbuf_cat(struct sbuf *b, const char *s)
{
        size_t l = strlen(s), room = sizeof(b->buf) - 1 - b->len;

        if (l > room) {
                /* a list this long is cut, visibly */
                l = room >= 3 ? room - 3 : 0;
                memcpy(b->buf + b->len, s, l);
                b->len += l;
                memcpy(b->buf + b->len, "...", sizeof(b->buf) - 1 - b->len);
                b->len = sizeof(b->buf) - 1;
                b->buf[b->len] = '\0';
                return;
        }
        memcpy(b->buf + b->len, s, l);
        b->len += l;
        b->buf[b->len] = '\0';
}

static void sbuf_item(struct sbuf *b)
{
        if (b->len)
                sbuf_cat(b, ", ");
}

/* ---- per-VM and per-unit decision state ---- */

struct vm_ctx {
        const struct mdp_plan_request *req;
        struct plan_impl *p;
        struct arena *a;
        enum mdp_arch arch;
        const char *guest_line;
        /* shadowing vIOMMUs the VMM offers on this architecture (VIOMMU_BIT set) */
        unsigned shadow_set;
        const char *shadow_line; /* "shadow feasible: ..." or "no shadow path: ..." */
        struct strvec shadow_unknowns;
        bool iommufd_path; /* kernel iommufd + vfio_cdev, vmm iommufd */
        bool backend_ok;   /* iommufd_path or a type1v2 container */
        const char *backend_line;
        struct strvec backend_unknowns;
        struct strvec expl; /* VM level */
};

struct unit_ctx {
        struct vm_ctx *vm;
        const struct mdp_unit_input *in;
        struct mdp_unit_plan *out;
        struct strvec expl, unknowns;
        const char *where_iommu; /* "dmar0" */
        const char *where_dev;   /* "device 0000:01:00.1" or "parent 0000:00:02.0" */
        const char *row;         /* §6.3 row */
        unsigned shadow_set;     /* vIOMMUs under which this unit may be shadowed (step 11) */
        enum mdp_strategy shadow_strategy;
        bool host_is_guest;
        bool decided;
};

static void rule(struct unit_ctx *u, const char *fmt, ...) _printf_(2, 3);
static void rule(struct unit_ctx *u, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        strvec_push(u->vm->a, &u->expl, arena_vprintf(u->vm->a, fmt, ap));
        va_end(ap);
}

static void unknown_add(struct arena *a, struct strvec *sv, const char *line)
{
        if (!strvec_contains(sv, line))
                strvec_push(a, sv, arena_strdup(a, line));
}

/* How an unknown fact is treated. */
enum treat {
        TREAT_ABSENT,     /* a capability that must be present */
        TREAT_NOT_ZERO,   /* a bit that must be 0 (e.g. CM): not assumed 0 */
        TREAT_NOT_VIABLE, /* a condition that must hold */
};

static const char *const treat_text[] = {
        [TREAT_ABSENT] = "treated as absent",
        [TREAT_NOT_ZERO] = "not assumed to be 0",
        [TREAT_NOT_VIABLE] = "treated as not satisfied",
};

/* A list of requirements evaluated together, so a refusal names every missing fact. */
struct check {
        struct unit_ctx *u;
        struct strvec *unknowns; /* where unknowns go (the unit's, or a VM-level list) */
        struct arena *a;
        bool ok;
        struct sbuf met, missing;
};

static void check_init(struct check *c, struct unit_ctx *u)
{
        c->u = u;
        c->unknowns = &u->unknowns;
        c->a = u->vm->a;
        c->ok = true;
        c->met.len = c->missing.len = 0;
        c->met.buf[0] = c->missing.buf[0] = '\0';
}

static const char *value_text(enum mdp_tristate v, bool bit)
{
        if (v == MDP_UNKNOWN)
                return "unknown";
        if (bit)
                return v == MDP_YES ? "1" : "0";
        return v == MDP_YES ? "yes" : "no";
}

static void fact_text(struct sbuf *b, const char *name, const char *where, enum mdp_tristate v, bool bit)
{
        sbuf_item(b);
        sbuf_cat(b, name);
        if (v == MDP_UNKNOWN)
                sbuf_cat(b, " unknown");
        else {
                sbuf_cat(b, "=");
                sbuf_cat(b, value_text(v, bit));
        }
        if (where) {
                sbuf_cat(b, " (");
                sbuf_cat(b, where);
                sbuf_cat(b, ")");
        }
}

static void note_unknown(struct check *c, const char *name, const char *where, enum treat t)
{
        char line[512];

        snprintf(line, sizeof(line), "%s%s%s%s unknown ⇒ %s", name, where ? " (" : "", where ? where : "",
                 where ? ")" : "", treat_text[t]);
        unknown_add(c->a, c->unknowns, line);
}

/* The fact must be `want` (yes for a capability, no for e.g. CM=0). */
static bool need_value(struct check *c, enum mdp_tristate v, enum mdp_tristate want, const char *name,
                       const char *where, bool bit)
{
        if (v == want) {
                fact_text(&c->met, name, where, v, bit);
                return true;
        }
        c->ok = false;
        fact_text(&c->missing, name, where, v, bit);
        if (v == MDP_UNKNOWN)
                note_unknown(c, name, where, want == MDP_YES ? TREAT_ABSENT : TREAT_NOT_ZERO);
        return false;
}

static bool need_bit(struct check *c, enum mdp_tristate v, const char *name, const char *where)
{
        return need_value(c, v, MDP_YES, name, where, true);
}

static bool need_zero_bit(struct check *c, enum mdp_tristate v, const char *name, const char *where)
{
        return need_value(c, v, MDP_NO, name, where, true);
}

static bool need_fact(struct check *c, enum mdp_tristate v, const char *name, const char *where)
{
        return need_value(c, v, MDP_YES, name, where, false);
}

/* Fact names as explanations spell them, built once per call site's needs: "kernel.<f>",
 * "vmm <cap>". */
static const char *const kernel_fact_names[_MDP_KERNEL_FEATURE_MAX] = {
        [MDP_KFEAT_IOMMUFD] = "kernel.iommufd",
        [MDP_KFEAT_VFIO_CDEV] = "kernel.vfio_cdev",
        [MDP_KFEAT_TYPE1V2] = "kernel.type1v2",
        [MDP_KFEAT_NEST_PARENT] = "kernel.nest_parent",
        [MDP_KFEAT_VTD_INVALIDATE] = "kernel.vtd_invalidate",
        [MDP_KFEAT_VIOMMU] = "kernel.viommu",
        [MDP_KFEAT_PASID_ATTACH] = "kernel.pasid_attach",
        [MDP_KFEAT_FAULT_QUEUE] = "kernel.fault_queue",
        [MDP_KFEAT_VEVENTQ] = "kernel.veventq",
        [MDP_KFEAT_PMDEV_PATH] = "kernel.pmdev_path",
        [MDP_KFEAT_AMD_NEST] = "kernel.amd_nest",
};

static const char *const vmm_fact_names[_MDP_VMM_CAP_MAX] = {
        [MDP_VMM_IOMMUFD] = "vmm iommufd",
        [MDP_VMM_INTEL_IOMMU_CACHING_MODE] = "vmm intel-iommu.caching-mode",
        [MDP_VMM_INTEL_IOMMU_SCALABLE_MODE] = "vmm intel-iommu.scalable-mode",
        [MDP_VMM_INTEL_IOMMU_X_SCALABLE_MODE] = "vmm intel-iommu.x-scalable-mode",
        [MDP_VMM_INTEL_IOMMU_FSTS] = "vmm intel-iommu.fsts",
        [MDP_VMM_INTEL_IOMMU_X_FLTS] = "vmm intel-iommu.x-flts",
        [MDP_VMM_INTEL_IOMMU_PASID_BITS] = "vmm intel-iommu.pasid-bits",
        [MDP_VMM_INTEL_IOMMU_X_PASID_MODE] = "vmm intel-iommu.x-pasid-mode",
        [MDP_VMM_INTEL_IOMMU_SVM] = "vmm intel-iommu.svm",
        [MDP_VMM_SMMUV3_ACCEL] = "vmm arm-smmuv3.accel",
        [MDP_VMM_SMMUV3_SSIDSIZE] = "vmm arm-smmuv3.ssidsize",
        [MDP_VMM_VIRTIO_IOMMU] = "vmm virtio-iommu-pci",
        [MDP_VMM_AMD_IOMMU_DMA_REMAP] = "vmm amd-iommu.dma-remap",
        [MDP_VMM_AMD_IOMMU_NEST] = "vmm amd-iommu.nest",
        [MDP_VMM_VFIO_PCI_X_VPASID_CAP_OFFSET] = "vmm vfio-pci.x-vpasid-cap-offset",
        [MDP_VMM_PASSTHROUGH_PASID] = "vmm passthrough-pasid",
        [MDP_VMM_FAULT_FORWARDING] = "vmm fault-forwarding",
        [MDP_VMM_PV_PASID_ALLOC] = "vmm pv-pasid-alloc",
};

static bool need_kernel(struct check *c, enum mdp_kernel_feature f)
{
        const struct mdp_kernel_facts *k = &c->u->vm->req->kernel;

        return need_fact(c, k->has[f], kernel_fact_names[f], k->basis[f]);
}

static bool need_vmm(struct check *c, enum mdp_vmm_cap cap)
{
        return need_fact(c, c->u->vm->req->options.vmm[cap], vmm_fact_names[cap], NULL);
}

/* Either spelling of a renamed QEMU property (§4.4). */
static enum mdp_tristate vmm_either(const struct mdp_engine_options *o, enum mdp_vmm_cap a,
                                    enum mdp_vmm_cap b)
{
        if (o->vmm[a] == MDP_YES || o->vmm[b] == MDP_YES)
                return MDP_YES;
        if (o->vmm[a] == MDP_NO && o->vmm[b] == MDP_NO)
                return MDP_NO;
        return MDP_UNKNOWN;
}

static bool need_vmm_either(struct check *c, enum mdp_vmm_cap a, enum mdp_vmm_cap b)
{
        const char *sa = mdp_vmm_cap_to_string(a), *sb = mdp_vmm_cap_to_string(b), *dot = strchr(sa, '.');
        char name[96];

        /* "intel-iommu.fsts|x-flts": the device is named once */
        if (dot && strncmp(sa, sb, (size_t)(dot - sa + 1)) == 0)
                sb += dot - sa + 1;
        snprintf(name, sizeof(name), "vmm %s|%s", sa, sb);
        return need_fact(c, vmm_either(&c->u->vm->req->options, a, b), name, NULL);
}

static bool need_policy(struct check *c, bool v, const char *name)
{
        return need_value(c, mdp_tristate_from_bool(v), MDP_YES, name, NULL, false);
}

/* ---- decisions ---- */

static const char *guest_tag(enum mdp_guest_mode g)
{
        static const char *const tags[] = {"G0", "G1", "G2", "G3"};
        return (unsigned)g < ELEMENTSOF(tags) ? tags[g] : "G?";
}

static void decide(struct unit_ctx *u, enum mdp_strategy s, enum mdp_reason r, enum mdp_viommu v)
{
        u->out->strategy = s;
        u->out->reason = r;
        u->out->viommu = s == MDP_STRATEGY_REFUSED ? MDP_VIOMMU_NONE : v;
        u->decided = true;
}

/* A refusal with the rule that fired and the facts it rests on. */
static void refuse(struct unit_ctx *u, enum mdp_reason r, const char *step, const char *why)
{
        rule(u, "%s: REFUSE(%s): %s", step, mdp_reason_to_string(r), why);
        decide(u, MDP_STRATEGY_REFUSED, r, MDP_VIOMMU_NONE);
}

static void refuse_missing(struct unit_ctx *u, enum mdp_reason r, const char *step, const char *what,
                           const struct check *c)
{
        char why[2400];

        snprintf(why, sizeof(why), "%s: missing %s", what, c->missing.buf);
        refuse(u, r, step, why);
}

static bool is_pcifn(const struct mdp_unit_input *in)
{
        return in->kind == MDP_UNIT_PF || in->kind == MDP_UNIT_VF;
}

static const char *row_of(const struct mdp_unit_input *in)
{
        const struct mdp_iommu_caps *c = &in->iommu;

        if (in->kind == MDP_UNIT_EMDEV)
                return "EMDEV · any host";
        if (c->family == MDP_IOMMU_NONE)
                return "any · no host IOMMU";
        if (in->kind == MDP_UNIT_PMDEV)
                switch (c->family) {
                case MDP_IOMMU_VTD:
                        return "PMDEV · VT-d SM + NEST";
                case MDP_IOMMU_SMMUV3:
                        return "PMDEV · SMMUv3";
                case MDP_IOMMU_AMD:
                        return "PMDEV · AMD";
                default:
                        return "PMDEV · other IOMMU (§2.1: DIRECT only)";
                }
        switch (c->family) {
        case MDP_IOMMU_VTD:
                if (c->sm_on == MDP_YES && c->nest_hw == MDP_YES && c->fsts == MDP_YES &&
                    c->ssts == MDP_YES && c->caching_mode == MDP_NO)
                        return "PF/VF · VT-d, SM on + NEST";
                return "PF/VF · VT-d, no usable nesting";
        case MDP_IOMMU_SMMUV3:
                if (c->s1p == MDP_YES && c->s2p == MDP_YES)
                        return "PF/VF · SMMUv3, S1P+S2P";
                return "PF/VF · SMMUv3, stage-2 only or no S1P";
        case MDP_IOMMU_AMD:
                return "PF/VF · AMD";
        default:
                return "PF/VF · other IOMMU (§2.1: DIRECT only)";
        }
}

static const char *cell(struct unit_ctx *u, char *buf, size_t size)
{
        enum mdp_guest_mode g = u->vm->req->guest;

        /* hot: every decision cites its cell */
        size_t l = 0;
        const char *parts[] = {"§6.3 [", u->row, "] × ", guest_tag(g)};
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                size_t pl = strlen(parts[i]);
                if (l + pl >= size)
                        pl = size - 1 - l;
                memcpy(buf + l, parts[i], pl);
                l += pl;
        }
        buf[l] = '\0';
        return buf;
}

static enum mdp_viommu nested_viommu(enum mdp_iommu_family f)
{
        switch (f) {
        case MDP_IOMMU_VTD:
                return MDP_VIOMMU_INTEL_NESTED;
        case MDP_IOMMU_SMMUV3:
                return MDP_VIOMMU_SMMUV3_ACCEL;
        case MDP_IOMMU_AMD:
                return MDP_VIOMMU_AMD_NESTED;
        default:
                return MDP_VIOMMU_NONE;
        }
}

/* The shadowing vIOMMUs in order of preference: intel-iommu caching-mode and virtio-iommu
 * are settled [F]; amd-iommu dma-remap is unverified [U] and comes last. */
static const enum mdp_viommu shadow_order[] = {MDP_VIOMMU_INTEL, MDP_VIOMMU_VIRTIO, MDP_VIOMMU_AMD};

static enum mdp_viommu first_shadow(unsigned set)
{
        for (size_t i = 0; i < ELEMENTSOF(shadow_order); i++)
                if (set & VIOMMU_BIT(shadow_order[i]))
                        return shadow_order[i];
        return MDP_VIOMMU_NONE;
}

/* §6.4 step 7 nest_feasible, per family; adds one rule line saying why or why not. */
static bool nest_feasible(struct unit_ctx *u, const char *step, bool on_pasid)
{
        const struct mdp_unit_input *in = u->in;
        const struct mdp_iommu_caps *hc = &in->iommu;
        const struct mdp_engine_options *o = &u->vm->req->options;
        const char *w = u->where_iommu;
        struct check c;
        char smw[160];

        check_init(&c, u);
        switch (hc->family) {
        case MDP_IOMMU_VTD:
                snprintf(smw, sizeof(smw), "%s%s%s", w, hc->sm_on_source ? ", " : "",
                         hc->sm_on_source ? hc->sm_on_source : "");
                need_fact(&c, hc->sm_on, "scalable mode on", smw);
                need_bit(&c, hc->nest_hw, "ecap NEST", w);
                need_bit(&c, hc->fsts, "ecap FSTS", w);
                need_bit(&c, hc->ssts, "ecap SSTS", w);
                need_zero_bit(&c, hc->caching_mode, "cap CM", w);
                need_kernel(&c, MDP_KFEAT_IOMMUFD);
                need_kernel(&c, MDP_KFEAT_VFIO_CDEV);
                need_kernel(&c, MDP_KFEAT_NEST_PARENT);
                need_kernel(&c, MDP_KFEAT_VTD_INVALIDATE);
                need_vmm(&c, MDP_VMM_IOMMUFD);
                need_vmm_either(&c, MDP_VMM_INTEL_IOMMU_SCALABLE_MODE, MDP_VMM_INTEL_IOMMU_X_SCALABLE_MODE);
                need_vmm_either(&c, MDP_VMM_INTEL_IOMMU_FSTS, MDP_VMM_INTEL_IOMMU_X_FLTS);
                /* QEMU's VT-d nesting rejects a device behind a conventional PCI bridge
                 * (§4.4). Unknown placement is not a missing capability: the emitted
                 * configuration puts the device on a PCIe root port. */
                if (in->behind_pci_bridge == MDP_YES) {
                        c.ok = false;
                        sbuf_item(&c.missing);
                        sbuf_cat(&c.missing, "device behind a conventional PCI bridge in the guest");
                } else if (in->behind_pci_bridge == MDP_UNKNOWN)
                        unknown_add(c.a, c.unknowns,
                                    "guest placement (behind a conventional PCI bridge?) unknown ⇒ the plan "
                                    "requires the device on a PCIe root port");
                break;
        case MDP_IOMMU_SMMUV3:
                need_bit(&c, hc->s1p, "IDR0 S1P", w);
                need_bit(&c, hc->s2p, "IDR0 S2P", w);
                need_kernel(&c, MDP_KFEAT_IOMMUFD);
                need_kernel(&c, MDP_KFEAT_VFIO_CDEV);
                need_kernel(&c, MDP_KFEAT_NEST_PARENT);
                need_kernel(&c, MDP_KFEAT_VIOMMU);
                need_vmm(&c, MDP_VMM_IOMMUFD);
                need_vmm(&c, MDP_VMM_SMMUV3_ACCEL);
                /* accel=on blocks migration (§4.4) */
                need_value(&c, mdp_tristate_from_bool(o->migration_required), MDP_NO,
                           "policy migration_required", NULL, false);
                break;
        case MDP_IOMMU_AMD:
                /* §2.3: absent unless probed; the posted series, VMM side [U]. */
                need_zero_bit(&c, hc->np_cache, "cap NPCACHE", w);
                need_kernel(&c, MDP_KFEAT_IOMMUFD);
                need_kernel(&c, MDP_KFEAT_VFIO_CDEV);
                need_kernel(&c, MDP_KFEAT_NEST_PARENT);
                need_kernel(&c, MDP_KFEAT_AMD_NEST);
                need_vmm(&c, MDP_VMM_IOMMUFD);
                need_vmm(&c, MDP_VMM_AMD_IOMMU_NEST);
                break;
        default:
                rule(u, "%s: nest not feasible: IOMMU family %s gets DIRECT only (§2.1) [J]", step,
                     mdp_iommu_family_to_string(hc->family));
                return false;
        }
        if (on_pasid) {
                /* A PMDEV nests on its PASID: a nested HWPT attached to a PASID (6.15)
                 * through the PMDEV path [J]. */
                need_kernel(&c, MDP_KFEAT_PASID_ATTACH);
        }
        if (c.ok)
                rule(u, "%s: nest feasible on %s: %s", step, mdp_iommu_family_to_string(hc->family),
                     c.met.buf);
        else
                rule(u, "%s: nest not feasible on %s: missing %s", step,
                     mdp_iommu_family_to_string(hc->family), c.missing.buf);
        return c.ok;
}

/* §6.4 step 7 shadow_feasible: the VM-level set, cited per unit. */
static bool shadow_feasible(struct unit_ctx *u, const char *step)
{
        struct vm_ctx *vm = u->vm;

        rule(u, "%s: %s", step, vm->shadow_line);
        for (size_t i = 0; i < vm->shadow_unknowns.n; i++)
                unknown_add(vm->a, &u->unknowns, vm->shadow_unknowns.v[i]);
        return vm->shadow_set != 0;
}

/* Choose between NEST and SHADOW by policy.prefer (default NEST [J]). */
static void choose(struct unit_ctx *u, bool nest_ok, bool shadow_ok, enum mdp_strategy nest_s,
                   enum mdp_strategy shadow_s, const char *step)
{
        const struct mdp_engine_options *o = &u->vm->req->options;
        enum mdp_viommu nv = nested_viommu(u->in->iommu.family);
        enum mdp_viommu sv = first_shadow(u->vm->shadow_set);
        char cb[160];
        bool pick_nest;

        u->shadow_set = shadow_ok ? u->vm->shadow_set : 0;
        u->shadow_strategy = shadow_s;
        if (!nest_ok && !shadow_ok) {
                refuse(u, MDP_REASON_NO_VIOMMU_PATH, step, "neither nesting nor shadowing is feasible");
                return;
        }
        pick_nest = nest_ok && (o->prefer == MDP_PREFER_NEST || !shadow_ok);
        if (pick_nest) {
                rule(u, "%s: %s under %s (%s)", cell(u, cb, sizeof(cb)), mdp_strategy_to_string(nest_s),
                     mdp_viommu_to_string(nv),
                     !shadow_ok                     ? "the only feasible path"
                     : o->prefer == MDP_PREFER_NEST ? "policy prefer=nest [J]"
                                                    : "shadowing infeasible");
                decide(u, nest_s, MDP_REASON_NONE, nv);
        } else {
                rule(u, "%s: %s under %s (%s)", cell(u, cb, sizeof(cb)), mdp_strategy_to_string(shadow_s),
                     mdp_viommu_to_string(sv), !nest_ok ? "nesting infeasible" : "policy prefer=shadow");
                decide(u, shadow_s, MDP_REASON_NONE, sv);
        }
}

/* Device (or parent) PASID capability and host PASID support (§6.4 step 8). */
static void need_pasid(struct check *c)
{
        const struct mdp_unit_input *in = c->u->in;

        need_fact(c, in->pci.pasid, "PASID capability", c->u->where_dev);
        switch (in->iommu.family) {
        case MDP_IOMMU_VTD:
                need_bit(c, in->iommu.pasid, "ecap PASID (scalable mode)", c->u->where_iommu);
                break;
        case MDP_IOMMU_SMMUV3:
                need_fact(c, in->iommu.pasid, "IDR1 SSIDSIZE>0", c->u->where_iommu);
                break;
        default:
                need_fact(c, in->iommu.pasid, "host PASID support", c->u->where_iommu);
                break;
        }
}

/* The VMM side of guest PASIDs on a nested device (§6.4 step 8). */
static void need_vmm_pasid(struct check *c)
{
        switch (c->u->in->iommu.family) {
        case MDP_IOMMU_VTD:
                need_kernel(c, MDP_KFEAT_PASID_ATTACH);
                need_vmm(c, MDP_VMM_PASSTHROUGH_PASID);
                need_vmm_either(c, MDP_VMM_INTEL_IOMMU_PASID_BITS, MDP_VMM_INTEL_IOMMU_X_PASID_MODE);
                break;
        case MDP_IOMMU_SMMUV3:
                need_vmm(c, MDP_VMM_SMMUV3_SSIDSIZE);
                need_vmm(c, MDP_VMM_VFIO_PCI_X_VPASID_CAP_OFFSET);
                break;
        default:
                break;
        }
}

/* §6.4 step 6: G3 (vSVA). */
static void step6_svsa(struct unit_ctx *u)
{
        const struct mdp_unit_input *in = u->in;
        const struct mdp_engine_options *o = &u->vm->req->options;
        enum mdp_iommu_family f = in->iommu.family;
        const char *step = "§6.4 step 6";
        struct check c;
        bool nest_ok;
        char cb[160];

        if (in->kind == MDP_UNIT_PMDEV && (f == MDP_IOMMU_SMMUV3 || f == MDP_IOMMU_AMD)) {
                refuse(u, MDP_REASON_SHADOW_STAGE1_FOR_VSVA, step,
                       "a PMDEV on this IOMMU could only shadow its stage 1, i.e. the guest's CPU page "
                       "tables (seed, §6.1)");
                return;
        }
        if (f == MDP_IOMMU_AMD) {
                refuse(u, MDP_REASON_VSVA_UNSUPPORTED, step,
                       "vSVA needs nesting, and the posted AMD nesting rejects PASID-enabled devices "
                       "(§2.3)");
                return;
        }
        if (f != MDP_IOMMU_VTD && f != MDP_IOMMU_SMMUV3) {
                refuse(u, MDP_REASON_VSVA_UNSUPPORTED, step,
                       "vSVA needs nesting; this IOMMU family gets DIRECT only (§2.1) [J]");
                return;
        }
        nest_ok = nest_feasible(u, step, in->kind == MDP_UNIT_PMDEV);
        check_init(&c, u);
        if (!nest_ok) {
                c.ok = false;
                sbuf_cat(&c.missing, "nesting");
        }
        need_pasid(&c);
        need_vmm_pasid(&c);
        if (f == MDP_IOMMU_VTD) {
                need_bit(&c, in->iommu.prs, "ecap PRS", u->where_iommu);
                need_fact(&c, in->pci.ats, "ATS capability", u->where_dev);
        } else
                need_fact(&c, in->iommu.iopf, "IDR0 PRI or stall", u->where_iommu);
        need_fact(&c, in->pci.pri, "PRI capability", u->where_dev);
        need_kernel(&c, MDP_KFEAT_FAULT_QUEUE);
        need_vmm(&c, MDP_VMM_FAULT_FORWARDING);
        if (f == MDP_IOMMU_VTD)
                need_vmm(&c, MDP_VMM_INTEL_IOMMU_SVM);
        if (!c.ok) {
                refuse_missing(u, MDP_REASON_VSVA_UNSUPPORTED, step,
                               "vSVA needs nesting and I/O page faults end to end", &c);
                return;
        }
        rule(u, "%s: vSVA chain present: %s", step, c.met.buf);
        if (in->kind == MDP_UNIT_PMDEV) {
                /* Guest PASIDs on a shared parent need PV allocation (§6.4 step 10). */
                check_init(&c, u);
                if (!need_vmm(&c, MDP_VMM_PV_PASID_ALLOC)) {
                        refuse_missing(
                                u, MDP_REASON_NO_PV_PASID, step,
                                "guest PASIDs of a PMDEV come from the parent's one PASID space (§6.6)", &c);
                        return;
                }
        }
        /* §6.3: PMDEV·VT-d × G3 and PF/VF·SMMUv3 × G3 are "REFUSE [J]": refused by default. */
        if ((in->kind == MDP_UNIT_PMDEV || f == MDP_IOMMU_SMMUV3) && !o->allow_experimental) {
                refuse(u, MDP_REASON_VSVA_UNSUPPORTED, cell(u, cb, sizeof(cb)),
                       "refused by default [J]; policy allow_experimental=no");
                return;
        }
        u->shadow_set = 0;
        rule(u, "%s: %s under %s", cell(u, cb, sizeof(cb)), in->kind == MDP_UNIT_PMDEV ? "nest+pv" : "nest",
             mdp_viommu_to_string(nested_viommu(f)));
        decide(u, in->kind == MDP_UNIT_PMDEV ? MDP_STRATEGY_NEST_PV : MDP_STRATEGY_NEST, MDP_REASON_NONE,
               nested_viommu(f));
}

/* §6.4 step 8: PF/VF, G2. */
static void step8_pcifn_pasid(struct unit_ctx *u)
{
        const char *step = "§6.4 step 8";
        enum mdp_iommu_family f = u->in->iommu.family;
        struct check c;
        bool nest_ok;
        char cb[160];

        u->shadow_set = 0; /* shadowing has no PASID path (§6.3) */
        if (f == MDP_IOMMU_AMD) {
                refuse(u, MDP_REASON_NO_PASID_NEST, step,
                       "the posted AMD nesting rejects PASID-enabled devices (§2.3, §6.3)");
                return;
        }
        if (f != MDP_IOMMU_VTD && f != MDP_IOMMU_SMMUV3) {
                refuse(u, MDP_REASON_NO_PASID_NEST, step, "this IOMMU family gets DIRECT only (§2.1) [J]");
                return;
        }
        nest_ok = nest_feasible(u, step, false);
        check_init(&c, u);
        if (!nest_ok) {
                c.ok = false;
                sbuf_cat(&c.missing, "nesting");
        }
        need_pasid(&c);
        need_vmm_pasid(&c);
        if (!c.ok) {
                refuse_missing(u, MDP_REASON_NO_PASID_NEST, step, "guest PASIDs need per-PASID nesting", &c);
                return;
        }
        rule(u,
             "%s: per-PASID nesting available: %s; guest PASID = host PASID (per-RID PASID space), no PV "
             "needed",
             step, c.met.buf);
        rule(u, "%s: nest under %s", cell(u, cb, sizeof(cb)), mdp_viommu_to_string(nested_viommu(f)));
        decide(u, MDP_STRATEGY_NEST, MDP_REASON_NONE, nested_viommu(f));
}

/* §6.4 step 9: PMDEV, G1. */
static void step9_pmdev_nopasid(struct unit_ctx *u)
{
        const struct mdp_unit_input *in = u->in;
        const struct mdp_engine_options *o = &u->vm->req->options;
        const char *step = "§6.4 step 9";
        enum mdp_iommu_family f = in->iommu.family;
        bool nest_ok, shadow_ok;
        struct check c;

        if (f == MDP_IOMMU_VTD) {
                /* Every PASID entry has its own second stage: nesting per mdev works (seed). */
                nest_ok = nest_feasible(u, step, true);
                shadow_ok = shadow_feasible(u, step);
                choose(u, nest_ok, shadow_ok, MDP_STRATEGY_NEST, MDP_STRATEGY_SHADOW, step);
                return;
        }
        if (f != MDP_IOMMU_SMMUV3 && f != MDP_IOMMU_AMD) {
                u->shadow_set = 0;
                refuse(u, MDP_REASON_NO_VIOMMU_PATH, step, "this IOMMU family gets DIRECT only (§2.1) [J]");
                return;
        }
        /* SMMUv3/AMD: one stage 2 per RID, so the parent's stage 2 cannot belong to one VM
         * unless the parent is exclusive to it and the host does no RID DMA [J]. */
        shadow_ok = shadow_feasible(u, step);
        check_init(&c, u);
        if (in->parent_exclusive == MDP_NO) {
                char what[256];
                snprintf(what, sizeof(what), "parent %s exclusive to this VM=no (VM %s holds units on it)",
                         strna(in->parent), in->other_vm ? in->other_vm : "another");
                c.ok = false;
                sbuf_cat(&c.missing, what);
        } else
                need_fact(&c, in->parent_exclusive, "parent exclusive to this VM", in->parent);
        need_value(&c, in->host_uses_rid, MDP_NO, "host uses the parent's RID", in->parent, false);
        need_policy(&c, o->allow_experimental, "policy allow_experimental");
        if (c.ok) {
                rule(u, "%s: single-VM nesting exception applies [J]: %s", step, c.met.buf);
                nest_ok = nest_feasible(u, step, true);
        } else {
                rule(u, "%s: no nesting: mdevs of one parent share its stage 2 (seed, §6.1): missing %s",
                     step, c.missing.buf);
                nest_ok = false;
        }
        choose(u, nest_ok, shadow_ok, MDP_STRATEGY_NEST, MDP_STRATEGY_SHADOW, step);
}

/* §6.4 step 10: PMDEV, G2. PV is mandatory because the parent has one PASID space. */
static void step10_pmdev_pasid(struct unit_ctx *u)
{
        const struct mdp_unit_input *in = u->in;
        const struct mdp_engine_options *o = &u->vm->req->options;
        const char *step = "§6.4 step 10";
        enum mdp_iommu_family f = in->iommu.family;
        struct check c;
        char cb[160];

        u->shadow_set = 0;
        if (f != MDP_IOMMU_VTD && f != MDP_IOMMU_SMMUV3 && f != MDP_IOMMU_AMD) {
                refuse(u, MDP_REASON_NO_PASID_NEST, step, "this IOMMU family gets DIRECT only (§2.1) [J]");
                return;
        }
        check_init(&c, u);
        need_vmm(&c, MDP_VMM_PV_PASID_ALLOC);
        if (!c.ok) {
                refuse_missing(
                        u, MDP_REASON_NO_PV_PASID, step,
                        "guest PASIDs come from the parent's one PASID space and need host allocation; "
                        "no upstream PV channel exists (§6.6)",
                        &c);
                return;
        }
        rule(u, "%s: PV PASID allocation asserted (VMM and guest): %s", step, c.met.buf);
        if (f == MDP_IOMMU_VTD) {
                bool nest_ok = nest_feasible(u, step, true);
                check_init(&c, u);
                if (!nest_ok) {
                        c.ok = false;
                        sbuf_cat(&c.missing, "nesting");
                }
                need_pasid(&c);
                if (!c.ok) {
                        refuse_missing(u, MDP_REASON_NO_PASID_NEST, step,
                                       "guest PASIDs need per-PASID nesting", &c);
                        return;
                }
                rule(u, "%s: nest+pv under %s (%s)", cell(u, cb, sizeof(cb)),
                     mdp_viommu_to_string(MDP_VIOMMU_INTEL_NESTED), c.met.buf);
                decide(u, MDP_STRATEGY_NEST_PV, MDP_REASON_NONE, MDP_VIOMMU_INTEL_NESTED);
                return;
        }
        /* SMMUv3/AMD: SHADOW_PV, the seed's "?": refused by default [J]. */
        if (!o->allow_experimental) {
                refuse(u, MDP_REASON_NO_PV_PASID, cell(u, cb, sizeof(cb)),
                       "shadow+pv is refused by default [J]; policy allow_experimental=no");
                return;
        }
        if (!shadow_feasible(u, step)) {
                refuse(u, MDP_REASON_NO_VIOMMU_PATH, step, "shadow+pv needs a shadowing vIOMMU");
                return;
        }
        u->shadow_set = u->vm->shadow_set;
        u->shadow_strategy = MDP_STRATEGY_SHADOW_PV;
        rule(u, "%s: shadow+pv under %s (policy allow_experimental=yes)", cell(u, cb, sizeof(cb)),
             mdp_viommu_to_string(first_shadow(u->vm->shadow_set)));
        decide(u, MDP_STRATEGY_SHADOW_PV, MDP_REASON_NONE, first_shadow(u->vm->shadow_set));
}

static void decide_unit(struct unit_ctx *u)
{
        const struct mdp_unit_input *in = u->in;
        const struct mdp_plan_request *req = u->vm->req;
        enum mdp_guest_mode g = req->guest;
        struct check c;
        char cb[160];

        strvec_push(u->vm->a, &u->expl, u->vm->guest_line);

        /* Step 1: group viability. */
        check_init(&c, u);
        if (in->kind == MDP_UNIT_PMDEV)
                need_fact(&c, in->parent_bound, "parent bound to its vendor driver", in->parent);
        if (in->kind == MDP_UNIT_EMDEV)
                need_fact(&c, in->has_group, "mdev IOMMU group (vfio-noiommu)", in->id);
        if (in->has_group == MDP_YES) {
                if (in->group_viable == MDP_NO) {
                        char what[256];
                        c.ok = false;
                        sbuf_item(&c.missing);
                        snprintf(what, sizeof(what),
                                 "IOMMU group %s viable=no (member %s is not assigned to VM %s)",
                                 strna(in->group),
                                 in->group_blocker ? in->group_blocker : "of another owner", req->vm);
                        sbuf_cat(&c.missing, what);
                } else if (in->group_viable == MDP_UNKNOWN) {
                        char where[64];
                        snprintf(where, sizeof(where), "group %s", strna(in->group));
                        c.ok = false;
                        fact_text(&c.missing, "IOMMU group viable", where, MDP_UNKNOWN, false);
                        note_unknown(&c, "IOMMU group viable", where, TREAT_NOT_VIABLE);
                } else {
                        char where[64];
                        snprintf(where, sizeof(where), "group %s", strna(in->group));
                        need_fact(&c, in->group_viable, "IOMMU group viable", where);
                }
        }
        if (!c.ok) {
                refuse_missing(u, MDP_REASON_GROUP_NOT_VIABLE, "§6.4 step 1",
                               "every member of the group must go to this VM", &c);
                return;
        }
        if (c.met.len)
                rule(u, "§6.4 step 1: group viable: %s", c.met.buf);

        /* Step 2: a translating IOMMU for PF/VF (and for a PMDEV's parent). */
        if (in->kind != MDP_UNIT_EMDEV) {
                check_init(&c, u);
                if (in->iommu.family == MDP_IOMMU_NONE) {
                        c.ok = false;
                        sbuf_cat(&c.missing, "iommu link");
                }
                need_fact(&c, in->has_group, "iommu_group", u->where_dev);
                if (!c.ok) {
                        refuse_missing(u, MDP_REASON_NO_HOST_IOMMU, "§6.4 step 2", "no translating IOMMU",
                                       &c);
                        return;
                }
                rule(u, "§6.4 step 2: IOMMU %s (%s)", u->where_iommu,
                     mdp_iommu_family_to_string(in->iommu.family));
        }
        /* A VFIO IOMMU backend is needed by every strategy (§6.5): iommufd or a type1v2
         * container, each confirmed, never assumed [J]. */
        for (size_t i = 0; i < u->vm->backend_unknowns.n; i++)
                unknown_add(u->vm->a, &u->unknowns, u->vm->backend_unknowns.v[i]);
        if (!u->vm->backend_ok) {
                refuse(u, MDP_REASON_NO_HOST_IOMMU, "§6.4 step 2, §6.5", u->vm->backend_line);
                return;
        }

        /* Step 3: PMDEV path. */
        if (in->kind == MDP_UNIT_PMDEV) {
                check_init(&c, u);
                if (!need_kernel(&c, MDP_KFEAT_PMDEV_PATH)) {
                        refuse_missing(
                                u, MDP_REASON_NO_PMDEV_PATH, "§6.4 step 3",
                                "no PASID-granular assignment path (none in mainline since 5.16, §1.5)", &c);
                        return;
                }
                rule(u, "§6.4 step 3: PMDEV path: %s", c.met.buf);
        }

        /* Step 4: no vIOMMU. */
        if (g == MDP_GUEST_NONE) {
                rule(u, "§6.4 step 4, %s: direct (the host maps GPA→HPA)", cell(u, cb, sizeof(cb)));
                decide(u, MDP_STRATEGY_DIRECT, MDP_REASON_NONE, MDP_VIOMMU_NONE);
                return;
        }

        /* Step 5: emulated mdevs shadow, never nest, never get PASIDs. */
        if (in->kind == MDP_UNIT_EMDEV) {
                if (g != MDP_GUEST_NOPASID) {
                        u->shadow_set = 0;
                        refuse(u, MDP_REASON_EMULATED_NO_PASID, "§6.4 step 5",
                               "an emulated mdev attaches only to an IOAS and has no PASID path (§1.4)");
                        return;
                }
                if (!shadow_feasible(u, "§6.4 step 5")) {
                        refuse(u, MDP_REASON_NO_VIOMMU_PATH, "§6.4 step 5",
                               "an emulated mdev can only be shadowed, and no shadowing vIOMMU is "
                               "available");
                        return;
                }
                u->shadow_set = u->vm->shadow_set;
                u->shadow_strategy = MDP_STRATEGY_SHADOW;
                rule(u, "%s: shadow under %s (never nest: emulated access attaches only to an IOAS)",
                     cell(u, cb, sizeof(cb)), mdp_viommu_to_string(first_shadow(u->vm->shadow_set)));
                decide(u, MDP_STRATEGY_SHADOW, MDP_REASON_NONE, first_shadow(u->vm->shadow_set));
                return;
        }

        /* Step 6: vSVA. */
        if (g == MDP_GUEST_SVSA) {
                step6_svsa(u);
                return;
        }

        if (is_pcifn(in)) {
                if (g == MDP_GUEST_NOPASID) {
                        /* Step 7. */
                        bool nest_ok, shadow_ok;
                        if (in->iommu.family != MDP_IOMMU_VTD && in->iommu.family != MDP_IOMMU_SMMUV3 &&
                            in->iommu.family != MDP_IOMMU_AMD) {
                                u->shadow_set = 0;
                                refuse(u, MDP_REASON_NO_VIOMMU_PATH, "§6.4 step 7",
                                       "this IOMMU family gets DIRECT only (§2.1) [J]");
                                return;
                        }
                        nest_ok = nest_feasible(u, "§6.4 step 7", false);
                        shadow_ok = shadow_feasible(u, "§6.4 step 7");
                        choose(u, nest_ok, shadow_ok, MDP_STRATEGY_NEST, MDP_STRATEGY_SHADOW, "§6.4 step 7");
                } else
                        step8_pcifn_pasid(u);
                return;
        }
        if (g == MDP_GUEST_NOPASID)
                step9_pmdev_nopasid(u);
        else
                step10_pmdev_pasid(u);
}

/* HOST_IS_GUEST (§6.7, §2.2): VT-d CM=1 or AMD NPCACHE; accompanies SHADOW, never refuses. */
static void host_is_guest(struct unit_ctx *u)
{
        const struct mdp_iommu_caps *hc = &u->in->iommu;

        if (u->in->kind == MDP_UNIT_EMDEV)
                return;
        if (hc->family == MDP_IOMMU_VTD && hc->caching_mode == MDP_YES)
                u->host_is_guest = true;
        else if (hc->family == MDP_IOMMU_AMD && hc->np_cache == MDP_YES)
                u->host_is_guest = true;
}

static void finish_host_is_guest(struct unit_ctx *u)
{
        enum mdp_strategy s = u->out->strategy;

        if (!u->host_is_guest)
                return;
        if (s == MDP_STRATEGY_SHADOW || s == MDP_STRATEGY_SHADOW_PV) {
                u->out->reason = MDP_REASON_HOST_IS_GUEST;
                rule(u,
                     "§6.7 HOST_IS_GUEST: %s=1 (%s): the host is itself a guest, nesting is unavailable; "
                     "shadowing instead",
                     u->in->iommu.family == MDP_IOMMU_VTD ? "cap CM" : "cap NPCACHE", u->where_iommu);
        } else
                rule(u, "§2.2: %s=1 (%s): the host is itself a guest (nested virtualisation)",
                     u->in->iommu.family == MDP_IOMMU_VTD ? "cap CM" : "cap NPCACHE", u->where_iommu);
}

/* ---- VM-level facts computed once ---- */

static enum mdp_arch derive_arch(struct vm_ctx *vm)
{
        const struct mdp_plan_request *req = vm->req;
        enum mdp_arch a = MDP_ARCH_UNKNOWN;

        if (req->arch != MDP_ARCH_UNKNOWN)
                return req->arch;
        for (size_t i = 0; i < req->n_units; i++) {
                enum mdp_arch b;
                switch (req->units[i].iommu.family) {
                case MDP_IOMMU_VTD:
                case MDP_IOMMU_AMD:
                        b = MDP_ARCH_X86_64;
                        break;
                case MDP_IOMMU_SMMUV3:
                        b = MDP_ARCH_AARCH64;
                        break;
                default:
                        continue;
                }
                if (a != MDP_ARCH_UNKNOWN && a != b)
                        return MDP_ARCH_UNKNOWN; /* contradictory: derive nothing */
                a = b;
        }
        return a;
}

static void vm_shadow_set(struct vm_ctx *vm)
{
        const struct mdp_engine_options *o = &vm->req->options;
        struct sbuf met = {}, missing = {};
        static const struct {
                enum mdp_viommu v;
                enum mdp_vmm_cap cap;
                bool x86_only;
        } models[] = {
                {MDP_VIOMMU_INTEL, MDP_VMM_INTEL_IOMMU_CACHING_MODE, true},
                {MDP_VIOMMU_VIRTIO, MDP_VMM_VIRTIO_IOMMU, false},
                {MDP_VIOMMU_AMD, MDP_VMM_AMD_IOMMU_DMA_REMAP, true},
        };

        vm->shadow_set = 0;
        for (size_t i = 0; i < ELEMENTSOF(models); i++) {
                const char *name = mdp_vmm_cap_to_string(models[i].cap);
                enum mdp_tristate v = o->vmm[models[i].cap];
                char line[160];

                if (models[i].x86_only && vm->arch != MDP_ARCH_X86_64)
                        continue;
                if (v == MDP_YES) {
                        vm->shadow_set |= VIOMMU_BIT(models[i].v);
                        sbuf_item(&met);
                        sbuf_cat(&met, "vmm ");
                        sbuf_cat(&met, name);
                        sbuf_cat(&met, "=yes");
                        continue;
                }
                sbuf_item(&missing);
                sbuf_cat(&missing, "vmm ");
                sbuf_cat(&missing, name);
                sbuf_cat(&missing, v == MDP_NO ? "=no" : " unknown");
                if (v == MDP_UNKNOWN) {
                        snprintf(line, sizeof(line), "vmm %s unknown ⇒ treated as absent", name);
                        unknown_add(vm->a, &vm->shadow_unknowns, line);
                }
        }
        const char *arch_note =
                vm->arch == MDP_ARCH_X86_64 ? ""
                : vm->arch == MDP_ARCH_AARCH64
                        ? " (Arm: only virtio-iommu shadows VFIO, the emulated vSMMUv3 cannot, §4.4)"
                        : " (not x86: only virtio-iommu is considered)";
        if (vm->arch == MDP_ARCH_UNKNOWN)
                unknown_add(vm->a, &vm->shadow_unknowns,
                            "guest architecture unknown ⇒ only virtio-iommu (any architecture) considered");
        if (vm->shadow_set)
                vm->shadow_line = arena_printf(vm->a, "shadow feasible: %s%s%s%s", met.buf,
                                               missing.len ? "; absent: " : "", missing.buf, arch_note);
        else
                vm->shadow_line =
                        arena_printf(vm->a, "shadow not feasible: missing %s%s", missing.buf, arch_note);
}

static void vm_backend(struct vm_ctx *vm)
{
        const struct mdp_kernel_facts *k = &vm->req->kernel;
        struct check c = {.a = vm->a, .unknowns = &vm->backend_unknowns, .ok = true};
        struct unit_ctx dummy = {.vm = vm};

        c.u = &dummy; /* need_kernel()/need_vmm() read the request through it */
        need_kernel(&c, MDP_KFEAT_IOMMUFD);
        need_kernel(&c, MDP_KFEAT_VFIO_CDEV);
        need_vmm(&c, MDP_VMM_IOMMUFD);
        vm->iommufd_path = c.ok;
        if (vm->iommufd_path) {
                vm->backend_ok = true;
                vm->backend_line = arena_printf(vm->a, "iommufd: %s", c.met.buf);
                return;
        }
        if (k->has[MDP_KFEAT_TYPE1V2] == MDP_YES) {
                vm->backend_ok = true;
                vm->backend_line =
                        arena_printf(vm->a,
                                     "type1v2 container: kernel.type1v2=yes%s%s%s; iommufd "
                                     "path missing %s",
                                     k->basis[MDP_KFEAT_TYPE1V2] ? " (" : "",
                                     k->basis[MDP_KFEAT_TYPE1V2] ? k->basis[MDP_KFEAT_TYPE1V2] : "",
                                     k->basis[MDP_KFEAT_TYPE1V2] ? ")" : "", c.missing.buf);
                return;
        }
        need_kernel(&c, MDP_KFEAT_TYPE1V2);
        vm->backend_ok = false;
        vm->backend_line = arena_printf(vm->a, "no VFIO IOMMU backend: missing %s", c.missing.buf);
}

/* ---- reconciliation (§6.4 step 11) ---- */

static bool nested_kind(enum mdp_viommu v)
{
        return v == MDP_VIOMMU_INTEL_NESTED || v == MDP_VIOMMU_AMD_NESTED || v == MDP_VIOMMU_SMMUV3_ACCEL;
}

static void vm_rule(struct vm_ctx *vm, const char *fmt, ...) _printf_(2, 3);
static void vm_rule(struct vm_ctx *vm, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        strvec_push(vm->a, &vm->expl, arena_vprintf(vm->a, fmt, ap));
        va_end(ap);
}

static void reconcile(struct vm_ctx *vm, struct unit_ctx *units, size_t n)
{
        struct mdp_plan *plan = &vm->p->pub;
        enum mdp_viommu first = MDP_VIOMMU_NONE;
        bool mixed = false, pv = false;
        unsigned common = ~0u;
        struct sbuf needs = {};

        for (size_t i = 0; i < n; i++)
                if (units[i].out->strategy == MDP_STRATEGY_REFUSED) {
                        plan->strategy = MDP_STRATEGY_REFUSED;
                        plan->reason = units[i].out->reason;
                        plan->refused_by = units[i].out->unit;
                        vm_rule(vm, "unit %s is refused (%s), so the VM is refused", units[i].out->unit,
                                mdp_reason_to_string(units[i].out->reason));
                        return;
                }

        for (size_t i = 0; i < n; i++) {
                enum mdp_viommu v = units[i].out->viommu;
                if (i == 0)
                        first = v;
                else if (v != first)
                        mixed = true;
                common &= units[i].shadow_set;
        }
        if (mixed) {
                enum mdp_viommu target = first_shadow(common);
                for (size_t i = 0; i < n; i++) {
                        char item[200];
                        snprintf(item, sizeof(item), "%s needs %s", units[i].out->unit,
                                 mdp_viommu_to_string(units[i].out->viommu));
                        sbuf_item(&needs);
                        sbuf_cat(&needs, item);
                }
                if (target == MDP_VIOMMU_NONE) {
                        struct sbuf culprits = {};
                        for (size_t i = 0; i < n; i++)
                                if (!units[i].shadow_set) {
                                        sbuf_item(&culprits);
                                        sbuf_cat(&culprits, units[i].out->unit);
                                }
                        plan->strategy = MDP_STRATEGY_REFUSED;
                        plan->reason = MDP_REASON_MIXED_MODES;
                        vm_rule(vm,
                                "§6.4 step 11: REFUSE(MIXED_MODES): one vIOMMU per VM, but %s; no shadowing "
                                "vIOMMU every unit allows (no shadow path: %s) [J]",
                                needs.buf, culprits.len ? culprits.buf : "none in common");
                        for (size_t i = 0; i < n; i++)
                                rule(&units[i],
                                     "§6.4 step 11: the VM is refused (MIXED_MODES): its units need "
                                     "different "
                                     "vIOMMUs (%s) and cannot all be shadowed",
                                     needs.buf);
                        return;
                }
                vm_rule(vm,
                        "§6.4 step 11: one vIOMMU per VM, but %s; every unit allows shadowing under %s: "
                        "downgraded to shadow [J]",
                        needs.buf, mdp_viommu_to_string(target));
                for (size_t i = 0; i < n; i++) {
                        struct mdp_unit_plan *o = units[i].out;
                        if (o->viommu == target && o->strategy == units[i].shadow_strategy)
                                continue;
                        rule(&units[i],
                             "§6.4 step 11: downgraded from %s under %s to %s under %s: the VM has one "
                             "vIOMMU and not every unit can %s",
                             mdp_strategy_to_string(o->strategy), mdp_viommu_to_string(o->viommu),
                             mdp_strategy_to_string(units[i].shadow_strategy), mdp_viommu_to_string(target),
                             mdp_strategy_to_string(o->strategy));
                        o->strategy = units[i].shadow_strategy;
                        o->viommu = target;
                }
                first = target;
        }
        plan->viommu = first;
        for (size_t i = 0; i < n; i++)
                if (units[i].out->strategy == MDP_STRATEGY_SHADOW_PV ||
                    units[i].out->strategy == MDP_STRATEGY_NEST_PV)
                        pv = true;
        if (first == MDP_VIOMMU_NONE)
                plan->strategy = MDP_STRATEGY_DIRECT;
        else if (nested_kind(first))
                plan->strategy = pv ? MDP_STRATEGY_NEST_PV : MDP_STRATEGY_NEST;
        else
                plan->strategy = pv ? MDP_STRATEGY_SHADOW_PV : MDP_STRATEGY_SHADOW;
        plan->reason = MDP_REASON_NONE;
}

/* ---- request validation ---- */

static bool tristate_ok(enum mdp_tristate t)
{
        return t == MDP_UNKNOWN || t == MDP_NO || t == MDP_YES;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* n hex digits at s, or -1 */
static int hexn(const char *s, size_t n)
{
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                int h = hexval(s[i]);
                if (h < 0)
                        return -1;
                v = v * 16 + h;
        }
        return v;
}

bool engine_parse_pci_address(const char *s, unsigned *domain, unsigned *bus, unsigned *slot,
                              unsigned *function)
{
        size_t l = strlen(s);
        int d = 0, b, sl, f;

        /* Exactly "DDDD:BB:SS.F" or "BB:SS.F", hex digits in either case, function 0-7. */
        if (l == 12) {
                d = hexn(s, 4);
                if (d < 0 || s[4] != ':')
                        return false;
                s += 5;
        } else if (l != 7)
                return false;
        b = hexn(s, 2);
        sl = hexn(s + 3, 2);
        if (b < 0 || s[2] != ':' || sl < 0 || sl > 0x1f || s[5] != '.' || s[6] < '0' || s[6] > '7')
                return false;
        f = s[6] - '0';
        if (domain)
                *domain = (unsigned)d;
        if (bus)
                *bus = (unsigned)b;
        if (slot)
                *slot = (unsigned)sl;
        if (function)
                *function = (unsigned)f;
        return true;
}

static int invalid(char *errbuf, size_t size, const char *fmt, ...) _printf_(3, 4);
static int invalid(char *errbuf, size_t size, const char *fmt, ...)
{
        va_list ap;

        if (errbuf && size) {
                va_start(ap, fmt);
                vsnprintf(errbuf, size, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

_public_ int mdp_plan_request_validate(const struct mdp_plan_request *req, char *errbuf, size_t size)
{
        if (!req)
                return invalid(errbuf, size, "no plan request");
        if (isempty(req->vm))
                return invalid(errbuf, size, "the plan request names no VM");
        if ((unsigned)req->guest >= _MDP_GUEST_MODE_MAX)
                return invalid(errbuf, size,
                               "VM %s: guest vIOMMU mode %d is not one of none, nopasid, pasid, svsa",
                               req->vm, (int)req->guest);
        if ((unsigned)req->arch >= _MDP_ARCH_MAX)
                return invalid(errbuf, size, "VM %s: architecture %d is not valid", req->vm, (int)req->arch);
        if ((unsigned)req->options.prefer >= _MDP_PREFER_MAX)
                return invalid(errbuf, size, "VM %s: policy prefer=%d is not nest or shadow", req->vm,
                               (int)req->options.prefer);
        for (size_t i = 0; i < _MDP_KERNEL_FEATURE_MAX; i++)
                if (!tristate_ok(req->kernel.has[i]))
                        return invalid(errbuf, size, "VM %s: kernel.%s is not yes, no or unknown", req->vm,
                                       mdp_kernel_feature_to_string(i));
        for (size_t i = 0; i < _MDP_VMM_CAP_MAX; i++)
                if (!tristate_ok(req->options.vmm[i]))
                        return invalid(errbuf, size, "VM %s: vmm %s is not yes, no or unknown", req->vm,
                                       mdp_vmm_cap_to_string(i));
        if (req->n_units == 0 || !req->units)
                return invalid(errbuf, size, "VM %s: the plan request has no units", req->vm);
        if (req->n_policy_files && !req->policy_files)
                return invalid(errbuf, size, "VM %s: policy_files is NULL with %zu entries", req->vm,
                               req->n_policy_files);
        for (size_t i = 0; i < req->n_policy_files; i++)
                if (!req->policy_files[i])
                        return invalid(errbuf, size, "VM %s: policy file %zu is NULL", req->vm, i);
        for (size_t i = 0; i < req->n_units; i++) {
                const struct mdp_unit_input *u = &req->units[i];

                if (isempty(u->id))
                        return invalid(errbuf, size, "VM %s: unit %zu has no id", req->vm, i);
                if ((unsigned)u->kind >= _MDP_UNIT_KIND_MAX)
                        return invalid(errbuf, size, "unit %s: kind %d is not pf, vf, emdev or pmdev", u->id,
                                       (int)u->kind);
                if ((unsigned)u->iommu.family >= _MDP_IOMMU_FAMILY_MAX)
                        return invalid(errbuf, size, "unit %s: IOMMU family %d is not valid", u->id,
                                       (int)u->iommu.family);
                if (!tristate_ok(u->has_group) || !tristate_ok(u->group_viable) ||
                    !tristate_ok(u->parent_bound) || !tristate_ok(u->parent_exclusive) ||
                    !tristate_ok(u->host_uses_rid) || !tristate_ok(u->behind_pci_bridge))
                        return invalid(errbuf, size,
                                       "unit %s: a group or sharing fact is not yes, no or unknown", u->id);
                if (is_pcifn(u)) {
                        if (!engine_parse_pci_address(u->id, NULL, NULL, NULL, NULL))
                                return invalid(
                                        errbuf, size,
                                        "unit %s: a PF or VF is named by its PCI address, e.g. 0000:01:00.1",
                                        u->id);
                        if (u->device_api && !streq(u->device_api, "vfio-pci"))
                                return invalid(errbuf, size,
                                               "unit %s: a PF or VF has device_api vfio-pci, not %s", u->id,
                                               u->device_api);
                } else {
                        if (!mdp_uuid_is_canonical(u->id))
                                return invalid(errbuf, size,
                                               "unit %s: an mdev is named by its canonical (lowercase) UUID",
                                               u->id);
                        if (u->device_api && !streq(u->device_api, "vfio-pci") &&
                            !streq(u->device_api, "vfio-ccw") && !streq(u->device_api, "vfio-ap"))
                                return invalid(errbuf, size,
                                               "unit %s: device_api %s is not vfio-pci, vfio-ccw or vfio-ap",
                                               u->id, u->device_api);
                }
                for (size_t j = 0; j < i; j++)
                        if (strcasecmp(req->units[j].id, u->id) == 0)
                                return invalid(errbuf, size, "VM %s: unit %s is listed twice", req->vm,
                                               u->id);
        }
        return 0;
}

/* ---- the engine ---- */

static const char *const *copy_strv(struct arena *a, const char *const *v, size_t n)
{
        const char **c;

        if (!n)
                return NULL;
        c = arena_alloc(a, n * sizeof(*c));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++)
                c[i] = arena_strdup(a, v[i]);
        return c;
}

_public_ struct mdp_plan *mdp_plan_free(struct mdp_plan *plan)
{
        struct plan_impl *p;

        if (!plan)
                return NULL;
        p = plan_impl_of(plan);
        arena_done(&p->arena);
        free(p);
        return NULL;
}

_public_ int mdp_engine_plan(const struct mdp_plan_request *req, struct mdp_plan **ret)
{
        struct plan_impl *p;
        struct mdp_plan *plan;
        struct vm_ctx vm = {};
        struct unit_ctx *units;
        struct config_input ci;
        int r;

        r = mdp_plan_request_validate(req, NULL, 0);
        if (r < 0)
                return r;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        plan = &p->pub;
        vm.req = req;
        vm.p = p;
        vm.a = &p->arena;

        plan->vm = arena_strdup(vm.a, req->vm);
        plan->guest = req->guest;
        plan->guest_basis = req->guest_basis ? arena_strdup(vm.a, req->guest_basis) : NULL;
        plan->policy_files = copy_strv(vm.a, req->policy_files, req->n_policy_files);
        plan->n_policy_files = req->n_policy_files;
        plan->n_units = req->n_units;
        plan->units = arena_alloc(vm.a, req->n_units * sizeof(*plan->units));
        units = arena_alloc(vm.a, req->n_units * sizeof(*units));
        if (!plan->units || !units)
                goto oom;

        vm.arch = derive_arch(&vm);
        plan->arch = vm.arch;
        vm.guest_line = arena_printf(vm.a, "guest vIOMMU mode %s (%s): %s", guest_tag(req->guest),
                                     mdp_guest_mode_to_string(req->guest),
                                     req->guest_basis ? req->guest_basis : "as requested");
        vm_shadow_set(&vm);
        vm_backend(&vm);

        for (size_t i = 0; i < req->n_units; i++) {
                const struct mdp_unit_input *in = &req->units[i];
                struct unit_ctx *u = &units[i];

                *u = (struct unit_ctx){.vm = &vm, .in = in, .out = &plan->units[i]};
                *u->out = (struct mdp_unit_plan){.unit = arena_strdup(vm.a, in->id), .kind = in->kind};
                u->where_iommu = in->iommu_name ? in->iommu_name : "IOMMU";
                u->where_dev = in->kind == MDP_UNIT_PF || in->kind == MDP_UNIT_VF || !in->parent
                                       ? arena_printf(vm.a, "device %s", in->id)
                                       : arena_printf(vm.a, "parent %s", in->parent);
                u->row = row_of(in);
                u->shadow_strategy = MDP_STRATEGY_SHADOW;
                host_is_guest(u);
                decide_unit(u);
        }
        reconcile(&vm, units, req->n_units);

        for (size_t i = 0; i < req->n_units; i++)
                if (plan->strategy != MDP_STRATEGY_REFUSED)
                        finish_host_is_guest(&units[i]);
        if (plan->strategy != MDP_STRATEGY_REFUSED) {
                enum mdp_kernel_backend b = nested_kind(plan->viommu) ? MDP_BACKEND_IOMMUFD_NESTED_HWPT
                                            : vm.iommufd_path         ? MDP_BACKEND_IOMMUFD_IOAS
                                                                      : MDP_BACKEND_TYPE1V2_CONTAINER;
                plan->backend = b;
                for (size_t i = 0; i < req->n_units; i++) {
                        units[i].out->backend = b;
                        if (units[i].out->reason == MDP_REASON_HOST_IS_GUEST)
                                plan->reason = MDP_REASON_HOST_IS_GUEST;
                }
                vm_rule(&vm, "§6.5 kernel backend %s: %s", mdp_kernel_backend_to_string(b),
                        b == MDP_BACKEND_IOMMUFD_NESTED_HWPT
                                ? "nesting needs iommufd (type1 nesting is gone, §4.1)"
                                : vm.backend_line);
                ci = (struct config_input){.req = req, .iommufd_path = vm.iommufd_path};
                engine_emit_config(p, &ci, &vm.expl);
        }

        for (size_t i = 0; i < req->n_units; i++) {
                struct unit_ctx *u = &units[i];
                u->out->explanation = u->expl.v;
                u->out->n_explanation = u->expl.n;
                u->out->unknowns = u->unknowns.v;
                u->out->n_unknowns = u->unknowns.n;
        }
        plan->explanation = vm.expl.v;
        plan->n_explanation = vm.expl.n;
        if (p->arena.oom)
                goto oom;
        *ret = plan;
        return 0;
oom:
        mdp_plan_free(plan);
        return -ENOMEM;
}
