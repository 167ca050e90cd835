/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IOMMU register decoders (IOMMU-SPEC.md §2.2–§2.4). Pure: no I/O, no globals. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iommu-decode.h"
#include "util/macro.h"

enum reg_id {
        R_VERSION, /* VT-d VER_REG rebuilt from "major:minor" */
        R_CAP,
        R_ECAP,
        R_AMD_CAP,
        R_EFR,
        R_EFR2,
        R_IDR0,
        R_IDR1,
        R_IDR3,
        R_IDR5,
};

static const char *const reg_names[] = {
        [R_VERSION] = "version", [R_CAP] = "cap",   [R_ECAP] = "ecap", [R_AMD_CAP] = "cap",
        [R_EFR] = "efr",         [R_EFR2] = "efr2", [R_IDR0] = "idr0", [R_IDR1] = "idr1",
        [R_IDR3] = "idr3",       [R_IDR5] = "idr5",
};

#define PLUS_ONE 1 /* the register holds value - 1 */

struct field_def {
        uint8_t reg, lo, width, flags;
        const char *name, *meaning;
};

/* clang-format off */
#define B(r, bit, n, m)      {r, bit, 1, 0, n, m}
#define F(r, hi, lo, n, m)   {r, lo, (hi) - (lo) + 1, 0, n, m}
#define F1(r, hi, lo, n, m)  {r, lo, (hi) - (lo) + 1, PLUS_ONE, n, m}
/* clang-format on */

/* §2.2, in the spec's table order: VER_REG, ECAP_REG, CAP_REG. */
static const struct field_def vtd_fields[] = {
        F(R_VERSION, 7, 4, "MAJOR", "architecture major version"),
        F(R_VERSION, 3, 0, "MINOR", "architecture minor version"),
        B(R_ECAP, 51, "PMS", "page-request drain/priority"),
        B(R_ECAP, 49, "RPS", "RID_PASID support"),
        B(R_ECAP, 48, "SMPWC", "scalable-mode page-walk coherency"),
        B(R_ECAP, 47, "FSTS", "first-stage translation (FLTS)"),
        B(R_ECAP, 46, "SSTS", "second-stage translation (SLTS)"),
        B(R_ECAP, 45, "SLADS", "second-stage accessed/dirty"),
        B(R_ECAP, 44, "VCS", "virtual command (PV PASID allocation, unused by Linux)"),
        B(R_ECAP, 43, "SMTS", "scalable mode translation"),
        B(R_ECAP, 42, "PDS", "page drain"),
        B(R_ECAP, 41, "DIT", "device-TLB invalidation throttle"),
        B(R_ECAP, 40, "PASID", "PASID support (scalable mode)"),
        F(R_ECAP, 39, 35, "PSS", "PASID size supported (width = PSS + 1 bits)"),
        B(R_ECAP, 34, "EAFS", "extended accessed flag"),
        B(R_ECAP, 33, "NWFS", "no-write flag"),
        B(R_ECAP, 31, "SRS", "supervisor request"),
        B(R_ECAP, 30, "ERS", "execute request"),
        B(R_ECAP, 29, "PRS", "page request (I/O page faults)"),
        B(R_ECAP, 28, "OLD_PASID", "deprecated VT-d 2.x PASID bit, ignored"),
        B(R_ECAP, 27, "DIS", "deferred invalidate"),
        B(R_ECAP, 26, "NEST", "nested translation"),
        B(R_ECAP, 25, "MTS", "memory type"),
        B(R_ECAP, 24, "ECS", "extended context (VT-d 2.x, reserved since 3.0, ignored)"),
        F(R_ECAP, 23, 20, "MHMV", "max handle mask value"),
        F(R_ECAP, 17, 8, "IRO", "IOTLB register offset (x16 bytes)"),
        B(R_ECAP, 7, "SC", "snoop control"),
        B(R_ECAP, 6, "PT", "pass-through"),
        B(R_ECAP, 4, "EIM", "extended interrupt mode (x2APIC)"),
        B(R_ECAP, 3, "IR", "interrupt remapping"),
        B(R_ECAP, 2, "DT", "device-TLB (ATS)"),
        B(R_ECAP, 1, "QI", "queued invalidation"),
        B(R_ECAP, 0, "C", "page-walk coherency"),
        B(R_CAP, 63, "ESRTPS", "enhanced set-root-table-pointer"),
        B(R_CAP, 62, "ESIRTPS", "enhanced set-IR-table-pointer"),
        B(R_CAP, 61, "ECMDS", "enhanced command"),
        B(R_CAP, 60, "FL5LP", "first-stage 5-level paging"),
        B(R_CAP, 59, "PI", "posted interrupts"),
        B(R_CAP, 56, "FL1GP", "first-stage 1 GiB pages"),
        B(R_CAP, 55, "DRD", "read draining"),
        B(R_CAP, 54, "DWD", "write draining"),
        F(R_CAP, 53, 48, "MAMV", "max address mask value"),
        F1(R_CAP, 47, 40, "NFR", "number of fault-recording registers (field + 1)"),
        B(R_CAP, 39, "PSI", "page-selective invalidation"),
        F(R_CAP, 37, 34, "SLLPS", "second-stage large pages (bit 0 = 2M, bit 1 = 1G)"),
        F(R_CAP, 33, 24, "FRO", "fault-recording offset (x16 bytes)"),
        B(R_CAP, 23, "ISOCH", "isochrony"),
        B(R_CAP, 22, "ZLR", "zero-length read"),
        F1(R_CAP, 21, 16, "MGAW", "max guest address width in bits (field + 1)"),
        F(R_CAP, 12, 8, "SAGAW", "second-stage AGAW bitmap (bit 1 = 39-bit, 2 = 48-bit, 3 = 57-bit)"),
        B(R_CAP, 7, "CM", "caching mode: the host is itself a guest"),
        B(R_CAP, 6, "PHMR", "protected high-memory region"),
        B(R_CAP, 5, "PLMR", "protected low-memory region"),
        B(R_CAP, 4, "RWBF", "write-buffer flushing required"),
        B(R_CAP, 3, "AFL", "advanced fault logging"),
        F(R_CAP, 2, 0, "ND", "number of domains (2^(4 + 2*ND))"),
};

/* §2.3: the PCI capability header dword, EFR, EFR2. */
static const struct field_def amd_fields[] = {
        B(R_AMD_CAP, 24, "IOTLB", "IOTLB (ATS) support"),
        B(R_AMD_CAP, 26, "NPCACHE", "non-present entries cached (probably an emulated IOMMU)"),
        B(R_AMD_CAP, 27, "EFRSUP", "extended feature register supported"),
        B(R_EFR, 0, "PREF", "prefetch"),
        B(R_EFR, 1, "PPR", "peripheral page request (I/O page faults)"),
        B(R_EFR, 2, "X2APIC", "x2APIC"),
        B(R_EFR, 3, "NX", "no-execute"),
        B(R_EFR, 4, "GT", "guest translation (v2, per-PASID tables)"),
        B(R_EFR, 6, "IA", "invalidate-all"),
        B(R_EFR, 7, "GA", "guest virtual APIC"),
        B(R_EFR, 8, "HE", "hardware error registers"),
        B(R_EFR, 9, "PC", "performance counters"),
        F(R_EFR, 11, 10, "HATS", "host address translation size"),
        F(R_EFR, 13, 12, "GATS", "guest address translation size"),
        F(R_EFR, 15, 14, "GLX", "guest CR3 table levels"),
        B(R_EFR, 21, "GAM_VAPIC", "guest virtual APIC mode"),
        F(R_EFR, 36, 32, "PASMAX", "max PASID (width = PASMAX + 1, at most 16)"),
        B(R_EFR, 48, "GIOSUP", "guest I/O protection"),
        B(R_EFR, 49, "HASUP", "host access"),
        B(R_EFR, 50, "EPHSUP", "enhanced PPR handling"),
        B(R_EFR, 52, "HDSUP", "host dirty"),
        B(R_EFR, 63, "SNP", "SEV-SNP"),
        F(R_EFR2, 7, 5, "SNPAVICSUP", "SNP virtual APIC support"),
};

/* §2.4: only reachable through iommufd IOMMU_GET_HW_INFO; sysfs has none. */
static const struct field_def smmu_fields[] = {
        B(R_IDR0, 0, "S2P", "stage 2"),
        B(R_IDR0, 1, "S1P", "stage 1"),
        F(R_IDR0, 3, 2, "TTF", "translation table format"),
        B(R_IDR0, 4, "COHACC", "coherent access"),
        B(R_IDR0, 5, "BTM", "broadcast TLB maintenance"),
        F(R_IDR0, 7, 6, "HTTU", "hardware access/dirty update"),
        B(R_IDR0, 9, "HYP", "hypervisor stage 1"),
        B(R_IDR0, 10, "ATS", "ATS"),
        B(R_IDR0, 12, "ASID16", "16-bit ASID"),
        B(R_IDR0, 13, "MSI", "MSI"),
        B(R_IDR0, 14, "SEV", "send event"),
        B(R_IDR0, 16, "PRI", "page request interface"),
        B(R_IDR0, 18, "VMID16", "16-bit VMID"),
        B(R_IDR0, 19, "CD2L", "2-level context descriptor tables"),
        F(R_IDR0, 22, 21, "TTENDIAN", "table endianness"),
        F(R_IDR0, 25, 24, "STALL_MODEL", "0 stall+terminate, 1 terminate only, 2 stall forced"),
        F(R_IDR0, 28, 27, "ST_LVL", "stream table levels"),
        F(R_IDR1, 5, 0, "SIDSIZE", "stream ID bits"),
        F(R_IDR1, 10, 6, "SSIDSIZE", "substream ID (PASID) bits"),
        F(R_IDR1, 15, 11, "PRIQS", "PRI queue size"),
        F(R_IDR1, 20, 16, "EVTQS", "event queue size"),
        F(R_IDR1, 25, 21, "CMDQS", "command queue size"),
        B(R_IDR1, 28, "REL", "relative base pointers"),
        B(R_IDR1, 29, "QUEUES_PRESET", "fixed queue base addresses"),
        B(R_IDR1, 30, "TABLES_PRESET", "fixed table base addresses"),
        B(R_IDR3, 10, "RIL", "range invalidation"),
        F(R_IDR5, 2, 0, "OAS", "output address size"),
        B(R_IDR5, 4, "GRAN4K", "4K granule"),
        B(R_IDR5, 5, "GRAN16K", "16K granule"),
        B(R_IDR5, 6, "GRAN64K", "64K granule"),
        F(R_IDR5, 11, 10, "VAX", "virtual address extension"),
};

/* The register's value; false when it is not known. */
static bool reg_value(const struct mdp_iommu_regs *regs, enum reg_id reg, uint64_t *ret)
{
        switch (reg) {
        case R_VERSION:
                /* VER_REG fields are 4 bits: anything larger did not come from a kernel. */
                if (!regs->vtd_valid || regs->vtd_version_major > 0xf || regs->vtd_version_minor > 0xf)
                        return false;
                *ret = (uint64_t)regs->vtd_version_major << 4 | regs->vtd_version_minor;
                return true;
        case R_CAP:
                *ret = regs->vtd_cap;
                return regs->vtd_valid;
        case R_ECAP:
                *ret = regs->vtd_ecap;
                return regs->vtd_valid;
        case R_AMD_CAP:
                *ret = regs->amd_cap;
                return regs->amd_valid;
        case R_EFR:
                *ret = regs->amd_efr;
                return regs->amd_valid;
        case R_EFR2:
                *ret = regs->amd_efr2;
                return regs->amd_valid && regs->amd_efr2_valid;
        case R_IDR0:
        case R_IDR1:
        case R_IDR3:
        case R_IDR5:
                *ret = regs->smmu_idr[reg == R_IDR0 ? 0 : reg == R_IDR1 ? 1 : reg == R_IDR3 ? 3 : 5];
                return regs->smmu_valid;
        }
        return false;
}

static void decode_one(const struct mdp_iommu_regs *regs, const struct field_def *d, struct mdp_reg_field *f)
{
        uint64_t v;

        *f = (struct mdp_reg_field){
                .reg = reg_names[d->reg],
                .name = d->name,
                .lo = d->lo,
                .width = d->width,
                .present = MDP_UNKNOWN,
                .meaning = d->meaning,
        };
        if (!reg_value(regs, d->reg, &v))
                return;
        f->raw = (v >> d->lo) & (d->width >= 64 ? UINT64_MAX : (UINT64_C(1) << d->width) - 1);
        f->value = f->raw + ((d->flags & PLUS_ONE) ? 1 : 0);
        f->present = mdp_tristate_from_bool(f->value != 0);
}

static const struct field_def *family_table(enum mdp_iommu_family family, size_t *ret_n)
{
        switch (family) {
        case MDP_IOMMU_VTD:
                *ret_n = ELEMENTSOF(vtd_fields);
                return vtd_fields;
        case MDP_IOMMU_AMD:
                *ret_n = ELEMENTSOF(amd_fields);
                return amd_fields;
        case MDP_IOMMU_SMMUV3:
                *ret_n = ELEMENTSOF(smmu_fields);
                return smmu_fields;
        default:
                *ret_n = 0;
                return NULL;
        }
}

_public_ int mdp_iommu_decode_fields(const struct mdp_iommu_regs *regs, struct mdp_reg_field **ret,
                                     size_t *ret_n)
{
        struct mdp_reg_field *fields;
        const struct field_def *table;
        size_t n;

        table = family_table(regs->family, &n);
        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        fields = calloc(n, sizeof(*fields));
        if (!fields)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                decode_one(regs, &table[i], &fields[i]);
        *ret = fields;
        *ret_n = n;
        return 0;
}

/* Three-valued logic: unknown never counts as present. */
static enum mdp_tristate tri_and(enum mdp_tristate a, enum mdp_tristate b)
{
        if (a == MDP_NO || b == MDP_NO)
                return MDP_NO;
        if (a == MDP_UNKNOWN || b == MDP_UNKNOWN)
                return MDP_UNKNOWN;
        return MDP_YES;
}

static enum mdp_tristate tri_or(enum mdp_tristate a, enum mdp_tristate b)
{
        if (a == MDP_YES || b == MDP_YES)
                return MDP_YES;
        if (a == MDP_UNKNOWN || b == MDP_UNKNOWN)
                return MDP_UNKNOWN;
        return MDP_NO;
}

static enum mdp_tristate tri_not(enum mdp_tristate a)
{
        return a == MDP_UNKNOWN ? MDP_UNKNOWN : a == MDP_YES ? MDP_NO : MDP_YES;
}

static enum mdp_tristate bit(bool known, uint64_t v, unsigned b)
{
        return known ? mdp_tristate_from_bool((v >> b) & 1) : MDP_UNKNOWN;
}

static unsigned bits(uint64_t v, unsigned hi, unsigned lo)
{
        return (unsigned)((v >> lo) & ((UINT64_C(1) << (hi - lo + 1)) - 1));
}

/* The kernel's __setup parameter names treat '-' and '_' alike. */
static const char *param_value(const char *tok, size_t n, const char *name)
{
        size_t l = strlen(name);

        if (n <= l)
                return NULL;
        for (size_t i = 0; i < l; i++) {
                char a = tok[i] == '-' ? '_' : tok[i], b = name[i] == '-' ? '_' : name[i];
                if (a != b)
                        return NULL;
        }
        return tok[l] == '=' ? tok + l + 1 : NULL;
}

enum sm_cmdline {
        SM_SILENT,
        SM_ON,
        SM_OFF,
        SM_IOMMU_OFF,
        SM_UNPARSABLE,
};

/* intel_iommu= options as drivers/iommu/intel/iommu.c intel_iommu_setup() reads them:
 * comma-separated, each matched by prefix, the last one wins; "off" disables the IOMMU and
 * "on" enables it again. Tokens are split on blanks outside double quotes (the kernel's
 * next_arg()) and "--" ends the kernel's parameters. */
static enum sm_cmdline cmdline_scalable_mode(const char *cmdline)
{
        enum sm_cmdline sm = SM_SILENT;
        bool disabled = false;
        const char *p = cmdline;

        for (;;) {
                char tok[1024];
                size_t n = 0;
                bool quoted = false, too_long = false;
                const char *v;

                while (isspace((unsigned char)*p))
                        p++;
                if (!*p)
                        break;
                for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
                        if (*p == '"') {
                                quoted = !quoted;
                                continue;
                        }
                        if (n < sizeof(tok) - 1)
                                tok[n++] = *p;
                        else
                                too_long = true;
                }
                tok[n] = '\0';
                if (streq(tok, "--") && !too_long)
                        break;
                v = param_value(tok, n, "intel_iommu");
                if (!v)
                        continue;
                if (too_long)
                        return SM_UNPARSABLE;
                while (*v) {
                        if (startswith(v, "sm_on"))
                                sm = SM_ON;
                        else if (startswith(v, "sm_off"))
                                sm = SM_OFF;
                        else if (startswith(v, "on"))
                                disabled = false;
                        else if (startswith(v, "off"))
                                disabled = true;
                        v += strcspn(v, ",");
                        while (*v == ',')
                                v++;
                }
        }
        return disabled ? SM_IOMMU_OFF : sm;
}

static void vtd_caps(const struct mdp_iommu_regs *regs, const char *cmdline, struct mdp_iommu_caps *c)
{
        bool k = regs->vtd_valid;
        uint64_t cap = regs->vtd_cap, ecap = regs->vtd_ecap;
        enum mdp_tristate pasid_hw;

        c->sm_hw = bit(k, ecap, 43);
        c->nest_hw = bit(k, ecap, 26);
        c->fsts = bit(k, ecap, 47);
        c->ssts = bit(k, ecap, 46);
        c->srs = bit(k, ecap, 31);
        c->ers = bit(k, ecap, 30);
        c->prs = bit(k, ecap, 29);
        c->caching_mode = bit(k, cap, 7);
        c->fl1gp = bit(k, cap, 56);
        c->mgaw = k ? bits(cap, 21, 16) + 1 : 0;
        pasid_hw = bit(k, ecap, 40);

        /* sm_on (§2.2): sysfs shows only the hardware bit; the kernel may run a capable
         * IOMMU in legacy mode. Neither the command line nor the config known ⇒ unknown. */
        if (c->sm_hw == MDP_UNKNOWN) {
                c->sm_on = MDP_UNKNOWN;
                c->sm_on_source = "IOMMU registers unknown";
        } else if (c->sm_hw == MDP_NO) {
                c->sm_on = MDP_NO;
                c->sm_on_source = "hardware has no scalable mode (ecap SMTS=0)";
        } else if (!cmdline) {
                c->sm_on = MDP_UNKNOWN;
                c->sm_on_source = "kernel command line unknown";
        } else
                switch (cmdline_scalable_mode(cmdline)) {
                case SM_ON:
                        c->sm_on = MDP_YES;
                        c->sm_on_source = "intel_iommu=sm_on on the kernel command line";
                        break;
                case SM_OFF:
                        c->sm_on = MDP_NO;
                        c->sm_on_source = "intel_iommu=sm_off on the kernel command line";
                        break;
                case SM_IOMMU_OFF:
                        c->sm_on = MDP_NO;
                        c->sm_on_source = "intel_iommu=off on the kernel command line";
                        break;
                case SM_UNPARSABLE:
                        c->sm_on = MDP_UNKNOWN;
                        c->sm_on_source = "intel_iommu= on the kernel command line too long to read";
                        break;
                case SM_SILENT:
                        if (!regs->vtd_sm_default_known) {
                                c->sm_on = MDP_UNKNOWN;
                                c->sm_on_source = "no intel_iommu=sm_on|sm_off and the kernel's "
                                                  "CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON is unknown";
                        } else if (regs->vtd_sm_default_on) {
                                c->sm_on = MDP_YES;
                                c->sm_on_source =
                                        "kernel default (CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON=y)";
                        } else {
                                c->sm_on = MDP_NO;
                                c->sm_on_source =
                                        "kernel default (CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON=n)";
                        }
                        break;
                }

        /* pasid_ok = sm_on && PASID, width PSS + 1 (§2.2). */
        c->pasid = tri_and(c->sm_on, pasid_hw);
        c->pasid_width = c->pasid == MDP_YES ? bits(ecap, 39, 35) + 1 : 0;
        /* §2.2 nest_ok plus FSTS and SSTS [J], and CM=0 (§6.4 step 7). ECS (24) and the
         * old PASID bit (28) never drive a decision. */
        c->nest = tri_and(tri_and(tri_and(c->sm_on, c->nest_hw), tri_and(c->fsts, c->ssts)),
                          tri_not(c->caching_mode));
        /* The kernel enables its page-request queue only when pasid_supported() (scalable
         * mode and PASID) and PRS hold. */
        c->iopf = tri_and(c->pasid, c->prs);
}

static void amd_caps(const struct mdp_iommu_regs *regs, struct mdp_iommu_caps *c)
{
        bool k = regs->amd_valid;
        uint64_t efr = regs->amd_efr;

        c->gt = bit(k, efr, 4);
        c->ppr = bit(k, efr, 1);
        c->giosup = bit(k, efr, 48);
        c->np_cache = bit(k, regs->amd_cap, 26);
        /* §2.3/§3.3: width PASMAX + 1, the kernel supports at most 16 bits. */
        c->pasid = c->gt;
        c->pasid_width = c->pasid == MDP_YES ? MIN(bits(efr, 36, 32) + 1, 16u) : 0;
        /* AMD nesting is absent unless an iommufd probe finds it (§2.3): not a register fact. */
        c->nest = MDP_UNKNOWN;
        c->iopf = c->ppr;
}

static void smmu_caps(const struct mdp_iommu_regs *regs, struct mdp_iommu_caps *c)
{
        bool k = regs->smmu_valid;
        uint32_t idr0 = regs->smmu_idr[0], idr1 = regs->smmu_idr[1];
        unsigned ssid = bits(idr1, 10, 6);

        c->s2p = bit(k, idr0, 0);
        c->s1p = bit(k, idr0, 1);
        c->ats = bit(k, idr0, 10);
        c->pri = bit(k, idr0, 16);
        /* The kernel sets FEAT_STALL for models 0 and 2; 1 is terminate only, 3 reserved. */
        c->stall =
                k ? mdp_tristate_from_bool(bits(idr0, 25, 24) == 0 || bits(idr0, 25, 24) == 2) : MDP_UNKNOWN;
        c->pasid = k ? mdp_tristate_from_bool(ssid > 0) : MDP_UNKNOWN;
        c->pasid_width = c->pasid == MDP_YES ? ssid : 0;
        c->nest = tri_and(c->s1p, c->s2p);
        c->iopf = tri_or(c->pri, c->stall);
}

_public_ void mdp_iommu_caps_from_regs(const struct mdp_iommu_regs *regs, const char *cmdline,
                                       struct mdp_iommu_caps *ret)
{
        struct mdp_iommu_caps c = {
                .family = regs->family,
                .sm_on_source = "not an Intel VT-d IOMMU",
        };
        enum mdp_tristate *all[] = {
                &c.sm_hw,        &c.sm_on, &c.nest_hw, &c.fsts,     &c.ssts, &c.prs,  &c.srs, &c.ers,
                &c.caching_mode, &c.fl1gp, &c.pasid,   &c.s1p,      &c.s2p,  &c.pri,  &c.ats, &c.stall,
                &c.gt,           &c.ppr,   &c.giosup,  &c.np_cache, &c.nest, &c.iopf,
        };

        /* Not applicable to the family, or not known: unknown. */
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                *all[i] = MDP_UNKNOWN;

        switch (regs->family) {
        case MDP_IOMMU_VTD:
                vtd_caps(regs, cmdline, &c);
                break;
        case MDP_IOMMU_AMD:
                amd_caps(regs, &c);
                break;
        case MDP_IOMMU_SMMUV3:
                smmu_caps(regs, &c);
                break;
        case MDP_IOMMU_NONE:
                /* No translating IOMMU: nothing it could offer. */
                c.pasid = c.nest = c.iopf = MDP_NO;
                break;
        default:
                break;
        }
        *ret = c;
}

_public_ int mdp_kernel_release_parse(const char *release, unsigned *ret_major, unsigned *ret_minor)
{
        unsigned v[2] = {};
        const char *p = release;

        if (!p)
                return -EINVAL;
        for (int i = 0; i < 2; i++) {
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                for (; isdigit((unsigned char)*p); p++) {
                        if (v[i] > 99999)
                                return -EINVAL;
                        v[i] = v[i] * 10 + (unsigned)(*p - '0');
                }
                if (i == 0 && *p++ != '.')
                        return -EINVAL;
        }
        *ret_major = v[0];
        *ret_minor = v[1];
        return 0;
}

/* One "%llx" value in [s, e): at least one hex digit, an optional 0x, no sign. */
static int parse_hex_span(const char *s, const char *e, uint64_t *ret)
{
        uint64_t v = 0;

        if (e - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        if (s == e)
                return -EINVAL;
        for (; s < e; s++) {
                unsigned d;

                if (!isxdigit((unsigned char)*s))
                        return -EINVAL;
                d = isdigit((unsigned char)*s) ? (unsigned)(*s - '0') : (unsigned)(tolower(*s) - 'a' + 10);
                if (v >> 60)
                        return -ERANGE;
                v = v << 4 | d;
        }
        *ret = v;
        return 0;
}

_public_ int mdp_amd_parse_features(const char *features, const char *kernel_release, uint64_t *ret_efr,
                                    uint64_t *ret_efr2, bool *ret_efr2_valid)
{
        const char *end, *colon;
        uint64_t a, b;
        unsigned major, minor;
        int r;

        if (!features)
                return -EINVAL;
        end = features + strlen(features);
        if (end > features && end[-1] == '\n')
                end--;
        colon = memchr(features, ':', (size_t)(end - features));

        if (!colon) { /* 3.17–5.19: EFR only */
                r = parse_hex_span(features, end, &a);
                if (r < 0)
                        return r;
                *ret_efr = a;
                *ret_efr2 = 0;
                *ret_efr2_valid = false;
                return 0;
        }
        r = parse_hex_span(features, colon, &a);
        if (r < 0)
                return r;
        r = parse_hex_span(colon + 1, end, &b); /* a second ':' is not a hex digit */
        if (r < 0)
                return r;

        /* Two values: the order changed in 6.7. Never guess (§2.3). */
        if (mdp_kernel_release_parse(kernel_release, &major, &minor) < 0 || major < 6)
                return -ENODATA;
        if (major == 6 && minor < 7) { /* 6.0–6.6: EFR2:EFR */
                *ret_efr = b;
                *ret_efr2 = a;
        } else { /* ≥ 6.7: EFR:EFR2 */
                *ret_efr = a;
                *ret_efr2 = b;
        }
        *ret_efr2_valid = true;
        return 0;
}
