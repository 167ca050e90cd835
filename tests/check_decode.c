/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the pure decoders: IOMMU registers (IOMMU-SPEC.md §2.2–§2.4) on the
 * real-kernel captures and synthesized values, the AMD features order (§2.3), and the PCI
 * extended capability walk (§3) on built and random config-space images. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu-decode.h"
#include "pci-caps.h"
#include "test-help.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/parse.h"

#define CMDLINE_SM "console=ttyS0 intel_iommu=on,sm_on panic=-1 quiet"

/* ---- helpers ---------------------------------------------------------------------------- */

static const struct mdp_reg_field *field(const struct mdp_reg_field *f, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(f[i].name, name))
                        return &f[i];
        ck_abort_msg("no field %s", name);
        return NULL;
}

#define ck_field(f, n, name, v, p)                                                                          \
        do {                                                                                                \
                const struct mdp_reg_field *_x = field(f, n, name);                                         \
                ck_assert_msg(_x->value == (v), "%s: value %llu, expected %llu", name,                      \
                              (unsigned long long)_x->value, (unsigned long long)(v));                      \
                ck_assert_msg(_x->present == (p), "%s: present %s, expected %s", name,                      \
                              mdp_tristate_to_string(_x->present), mdp_tristate_to_string(p));              \
        } while (0)

#define ck_bit(f, n, name, b) ck_field(f, n, name, (b), (b) ? MDP_YES : MDP_NO)

/* Reads a capture file of tests/fixtures/real-kernel/<variant> into a string. */
static char *capture(const char *variant, const char *file)
{
        _cleanup_free_ char *path = NULL;
        FILE *f;
        char *s;
        long l;

        ck_assert_int_ge(
                asprintf(&path, "%s/tests/fixtures/real-kernel/%s/%s", test_srcdir(), variant, file), 0);
        f = fopen(path, "re");
        ck_assert_msg(f, "capture %s missing", path);
        ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
        l = ftell(f);
        rewind(f);
        s = calloc(1, (size_t)l + 1);
        ck_assert_uint_eq(fread(s, 1, (size_t)l, f), (size_t)l);
        fclose(f);
        return s;
}

/* The value after "<key>: " up to '|' (07-sysfs-class-iommu.txt prints "path: value|"). */
static bool capture_value(const char *text, const char *key, char *buf, size_t size)
{
        const char *p = strstr(text, key);
        size_t l;

        if (!p)
                return false;
        p += strlen(key);
        l = strcspn(p, "|\n");
        ck_assert_uint_lt(l, size);
        memcpy(buf, p, l);
        buf[l] = '\0';
        return true;
}

/* Registers of the first IOMMU of a capture, as the host model would fill them, and the
 * kernel command line (line 2 of 02-kernel.txt). */
static void load_capture(const char *variant, struct mdp_iommu_regs *regs, char *cmdline, size_t size)
{
        _cleanup_free_ char *iommu = capture(variant, "07-sysfs-class-iommu.txt");
        _cleanup_free_ char *kernel = capture(variant, "02-kernel.txt");
        char buf[64];
        const char *line2 = strchr(kernel, '\n');
        const char *smmu;

        *regs = (struct mdp_iommu_regs){};
        ck_assert_ptr_nonnull(line2);
        line2++;
        ck_assert_uint_lt(strcspn(line2, "\n"), size);
        snprintf(cmdline, size, "%.*s", (int)strcspn(line2, "\n"), line2);

        if (capture_value(iommu, "/sys/class/iommu/dmar0/intel-iommu/cap: ", buf, sizeof(buf))) {
                regs->family = mdp_iommu_family_from_name("dmar0");
                regs->vtd_valid = true;
                ck_assert_int_eq(safe_atox64(buf, &regs->vtd_cap), 0);
                ck_assert(
                        capture_value(iommu, "/sys/class/iommu/dmar0/intel-iommu/ecap: ", buf, sizeof(buf)));
                ck_assert_int_eq(safe_atox64(buf, &regs->vtd_ecap), 0);
                ck_assert(capture_value(iommu, "/sys/class/iommu/dmar0/intel-iommu/version: ", buf,
                                        sizeof(buf)));
                ck_assert_int_eq(sscanf(buf, "%u:%u", &regs->vtd_version_major, &regs->vtd_version_minor),
                                 2);
                return;
        }
        smmu = strstr(iommu, "/sys/class/iommu/smmu3.");
        ck_assert_ptr_nonnull(smmu);
        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(smmu + 17, " \n"), smmu + 17);
        regs->family = mdp_iommu_family_from_name(buf);
        /* sysfs has no SMMUv3 registers (§2.4): smmu_valid stays false. */
}

struct decoded {
        struct mdp_reg_field *f;
        size_t n;
};

static void decode(const struct mdp_iommu_regs *regs, struct decoded *d)
{
        ck_assert_int_eq(mdp_iommu_decode_fields(regs, &d->f, &d->n), 0);
}

/* ---- VT-d on the real captures (TESTING.md layer 7 §4.4) ------------------------------- */

/* What QEMU 7.2's intel-iommu shows in every x86 capture: cap d2008c22260206, version 1:0. */
static void check_qemu_cap(const struct decoded *d)
{
        const struct mdp_reg_field *mgaw = field(d->f, d->n, "MGAW"), *nfr = field(d->f, d->n, "NFR");

        ck_field(d->f, d->n, "MAJOR", 1, MDP_YES);
        ck_field(d->f, d->n, "MINOR", 0, MDP_NO);
        ck_bit(d->f, d->n, "CM", 0);
        ck_assert_uint_eq(mgaw->raw, 38);
        ck_assert_uint_eq(mgaw->value, 39); /* bits */
        ck_assert_uint_eq(mgaw->lo, 16);
        ck_assert_uint_eq(mgaw->width, 6);
        ck_field(d->f, d->n, "SAGAW", 0x2, MDP_YES);
        ck_bit(d->f, d->n, "FL1GP", 0);
        ck_field(d->f, d->n, "ND", 6, MDP_YES);
        ck_field(d->f, d->n, "SLLPS", 0x3, MDP_YES);
        ck_bit(d->f, d->n, "PSI", 1);
        ck_bit(d->f, d->n, "DRD", 1);
        ck_bit(d->f, d->n, "DWD", 1);
        ck_bit(d->f, d->n, "PI", 0);
        ck_assert_uint_eq(nfr->raw, 0);
        ck_assert_uint_eq(nfr->value, 1);
        ck_field(d->f, d->n, "MAMV", 18, MDP_YES);
        ck_field(d->f, d->n, "FRO", 0x22, MDP_YES);
        /* Other ecap bits common to the three modes. */
        ck_bit(d->f, d->n, "QI", 1);
        ck_bit(d->f, d->n, "DT", 0);
        ck_bit(d->f, d->n, "IR", 1);
        ck_bit(d->f, d->n, "EIM", 0);
        ck_bit(d->f, d->n, "PT", 1);
        ck_bit(d->f, d->n, "SC", 0);
        ck_bit(d->f, d->n, "PRS", 0);
        ck_bit(d->f, d->n, "ERS", 0);
        ck_field(d->f, d->n, "IRO", 0xf, MDP_YES);
        ck_field(d->f, d->n, "MHMV", 0xf, MDP_YES);
}

static const char *const sm_variants[] = {"x86-6.1-sm", "x86-6.12-sm", "x86-custom-6.12-iommufd-sm"};

START_TEST(test_vtd_capture_scalable)
{
        struct mdp_iommu_regs regs;
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *f = NULL;
        struct decoded d;
        char cmdline[256];

        load_capture(sm_variants[_i], &regs, cmdline, sizeof(cmdline));
        ck_assert_int_eq(regs.family, MDP_IOMMU_VTD);
        ck_assert_uint_eq(regs.vtd_ecap, 0x480080f00f4aULL);
        decode(&regs, &d);
        f = d.f;
        ck_assert_str_eq(f[0].reg, "version");
        check_qemu_cap(&d);
        ck_bit(f, d.n, "SMTS", 1);
        ck_bit(f, d.n, "PASID", 0);
        ck_bit(f, d.n, "NEST", 0);
        ck_bit(f, d.n, "FSTS", 0);
        ck_bit(f, d.n, "SSTS", 1);
        ck_bit(f, d.n, "SRS", 1);
        ck_field(f, d.n, "PSS", 0, MDP_NO);

        /* The capture booted with intel_iommu=on,sm_on. */
        ck_assert_ptr_nonnull(strstr(cmdline, "intel_iommu=on,sm_on"));
        mdp_iommu_caps_from_regs(&regs, cmdline, &caps);
        ck_assert_int_eq(caps.family, MDP_IOMMU_VTD);
        ck_assert_int_eq(caps.sm_hw, MDP_YES);
        ck_assert_int_eq(caps.sm_on, MDP_YES);
        ck_assert_int_eq(caps.pasid, MDP_NO);
        ck_assert_uint_eq(caps.pasid_width, 0);
        ck_assert_int_eq(caps.nest_hw, MDP_NO);
        ck_assert_int_eq(caps.nest, MDP_NO);
        ck_assert_int_eq(caps.caching_mode, MDP_NO);
        ck_assert_int_eq(caps.fl1gp, MDP_NO);
        ck_assert_uint_eq(caps.mgaw, 39);
        ck_assert_int_eq(caps.iopf, MDP_NO);
        /* Other families' capabilities are not applicable: unknown, never no or yes. */
        ck_assert_int_eq(caps.s1p, MDP_UNKNOWN);
        ck_assert_int_eq(caps.gt, MDP_UNKNOWN);
}
END_TEST

START_TEST(test_vtd_capture_pasid)
{
        struct mdp_iommu_regs regs;
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *f = NULL;
        struct decoded d;
        char cmdline[256];

        load_capture("x86-6.12-sm-pasid", &regs, cmdline, sizeof(cmdline));
        ck_assert_uint_eq(regs.vtd_ecap, 0x490080f00f4aULL);
        decode(&regs, &d);
        f = d.f;
        check_qemu_cap(&d);
        ck_bit(f, d.n, "SMTS", 1);
        ck_bit(f, d.n, "PASID", 1);
        ck_field(f, d.n, "PSS", 0, MDP_NO);
        ck_bit(f, d.n, "NEST", 0);
        ck_bit(f, d.n, "FSTS", 0);
        mdp_iommu_caps_from_regs(&regs, cmdline, &caps);
        ck_assert_int_eq(caps.pasid, MDP_YES);
        ck_assert_uint_eq(caps.pasid_width, 1); /* PSS + 1 */
        ck_assert_int_eq(caps.nest, MDP_NO);
        ck_assert_int_eq(caps.iopf, MDP_NO); /* PRS = 0 */
}
END_TEST

START_TEST(test_vtd_capture_legacy)
{
        struct mdp_iommu_regs regs;
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *f = NULL;
        struct decoded d;
        char cmdline[256];

        load_capture("x86-6.12-legacy", &regs, cmdline, sizeof(cmdline));
        ck_assert_uint_eq(regs.vtd_ecap, 0xf00f4aULL);
        decode(&regs, &d);
        f = d.f;
        check_qemu_cap(&d);
        ck_bit(f, d.n, "SMTS", 0);
        ck_bit(f, d.n, "PASID", 0);
        ck_bit(f, d.n, "SSTS", 0);
        ck_bit(f, d.n, "SRS", 0);
        /* Whatever the command line says, no scalable-mode hardware ⇒ sm_on no. */
        mdp_iommu_caps_from_regs(&regs, CMDLINE_SM, &caps);
        ck_assert_int_eq(caps.sm_hw, MDP_NO);
        ck_assert_int_eq(caps.sm_on, MDP_NO);
        ck_assert_int_eq(caps.pasid, MDP_NO);
        ck_assert_int_eq(caps.nest, MDP_NO);
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.sm_on, MDP_NO);
        ck_assert_int_eq(caps.nest, MDP_NO);
}
END_TEST

START_TEST(test_smmuv3_capture)
{
        struct mdp_iommu_regs regs;
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *f = NULL;
        struct decoded d;
        char cmdline[256];

        load_capture("arm64-6.12-smmuv3", &regs, cmdline, sizeof(cmdline));
        ck_assert_int_eq(regs.family, MDP_IOMMU_SMMUV3);
        decode(&regs, &d);
        f = d.f;
        ck_assert_uint_ge(d.n, 30);
        for (size_t i = 0; i < d.n; i++) {
                ck_assert_msg(f[i].present == MDP_UNKNOWN, "%s/%s known without registers", f[i].reg,
                              f[i].name);
                ck_assert_uint_eq(f[i].value, 0);
        }
        ck_assert_str_eq(field(f, d.n, "SSIDSIZE")->reg, "idr1");
        ck_assert_str_eq(field(f, d.n, "S1P")->reg, "idr0");
        mdp_iommu_caps_from_regs(&regs, cmdline, &caps);
        ck_assert_int_eq(caps.family, MDP_IOMMU_SMMUV3);
        {
                const enum mdp_tristate all[] = {
                        caps.sm_hw,  caps.sm_on,    caps.nest_hw,      caps.fsts,  caps.ssts,  caps.prs,
                        caps.srs,    caps.ers,      caps.caching_mode, caps.fl1gp, caps.pasid, caps.s1p,
                        caps.s2p,    caps.pri,      caps.ats,          caps.stall, caps.gt,    caps.ppr,
                        caps.giosup, caps.np_cache, caps.nest,         caps.iopf,
                };
                for (size_t i = 0; i < ELEMENTSOF(all); i++)
                        ck_assert_msg(all[i] == MDP_UNKNOWN, "capability %zu known without registers", i);
        }
        ck_assert_uint_eq(caps.pasid_width, 0);
}
END_TEST

/* ---- VT-d synthesized ------------------------------------------------------------------- */

#define ECAP_SM     0x480080f00f4aULL
#define CAP_QEMU    0xd2008c22260206ULL
#define E(b)        (UINT64_C(1) << (b))
#define ECAP_NESTED (ECAP_SM | E(47) | E(26) | E(40) | (UINT64_C(19) << 35) | E(29))

static struct mdp_iommu_regs vtd(uint64_t cap, uint64_t ecap)
{
        return (struct mdp_iommu_regs){
                .family = MDP_IOMMU_VTD,
                .vtd_valid = true,
                .vtd_cap = cap,
                .vtd_ecap = ecap,
                .vtd_version_major = 6,
        };
}

START_TEST(test_vtd_nested)
{
        struct mdp_iommu_regs regs = vtd(CAP_QEMU, ECAP_NESTED);
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *f = NULL;
        struct decoded d;

        decode(&regs, &d);
        f = d.f;
        ck_bit(f, d.n, "FSTS", 1);
        ck_bit(f, d.n, "NEST", 1);
        ck_field(f, d.n, "PSS", 19, MDP_YES);
        ck_field(f, d.n, "MAJOR", 6, MDP_YES);

        mdp_iommu_caps_from_regs(&regs, CMDLINE_SM, &caps);
        ck_assert_int_eq(caps.nest, MDP_YES);
        ck_assert_int_eq(caps.pasid, MDP_YES);
        ck_assert_uint_eq(caps.pasid_width, 20);
        ck_assert_int_eq(caps.iopf, MDP_YES);
        ck_assert_int_eq(caps.fsts, MDP_YES);
        ck_assert_int_eq(caps.ssts, MDP_YES);

        /* CM=1: the host is a guest, no nesting. */
        regs = vtd(CAP_QEMU | E(7), ECAP_NESTED);
        mdp_iommu_caps_from_regs(&regs, CMDLINE_SM, &caps);
        ck_assert_int_eq(caps.caching_mode, MDP_YES);
        ck_assert_int_eq(caps.nest, MDP_NO);
        ck_assert_int_eq(caps.pasid, MDP_YES);

        /* Each of NEST, FSTS, SSTS is required. */
        for (unsigned b = 0; b < 3; b++) {
                const unsigned bit[] = {26, 47, 46};
                regs = vtd(CAP_QEMU, ECAP_NESTED & ~E(bit[b]));
                mdp_iommu_caps_from_regs(&regs, CMDLINE_SM, &caps);
                ck_assert_msg(caps.nest == MDP_NO, "nest without ecap bit %u", bit[b]);
        }

        /* ECS (24) and the old PASID bit (28) never drive a decision. */
        regs = vtd(CAP_QEMU, (ECAP_SM | E(24) | E(28) | E(47) | (UINT64_C(19) << 35)) & ~E(40));
        mdp_iommu_caps_from_regs(&regs, CMDLINE_SM, &caps);
        ck_assert_int_eq(caps.nest, MDP_NO);
        ck_assert_int_eq(caps.pasid, MDP_NO);
        ck_assert_uint_eq(caps.pasid_width, 0);
}
END_TEST

START_TEST(test_vtd_cmdline)
{
        static const struct {
                const char *cmdline;
                enum mdp_tristate sm_on;
        } cases[] = {
                {"intel_iommu=on,sm_on", MDP_YES},
                {"intel_iommu=on,sm_off", MDP_NO},
                {"intel_iommu=sm_off", MDP_NO},
                {"quiet intel_iommu=sm_on intel_iommu=sm_off", MDP_NO}, /* the last wins */
                {"intel_iommu=sm_off,sm_on", MDP_YES},
                {"intel-iommu=sm_on", MDP_YES}, /* '-' and '_' alike in names */
                {"intel_iommu=\"on,sm_on\"", MDP_YES},
                {"\"intel_iommu=sm_off\" quiet", MDP_NO},
                {"intel_iommu=off", MDP_NO},
                {"intel_iommu=sm_on,off", MDP_NO},
                {"intel_iommu=off,on,sm_on", MDP_YES},
                {"intel_iommu=on", MDP_UNKNOWN}, /* silent on scalable mode, default unknown */
                {"", MDP_UNKNOWN},
                {"root=/dev/sda1 quiet", MDP_UNKNOWN},
                {"xintel_iommu=sm_on", MDP_UNKNOWN},
                {"intel_iommu_x=sm_on", MDP_UNKNOWN},
                {"intel_iommu", MDP_UNKNOWN},
                {"quiet -- intel_iommu=sm_off", MDP_UNKNOWN}, /* after "--": init's arguments */
                {"intel_iommu=igfx_off,strict", MDP_UNKNOWN},
        };
        struct mdp_iommu_regs regs = vtd(CAP_QEMU, ECAP_NESTED);
        struct mdp_iommu_caps caps;
        char *longtok;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                mdp_iommu_caps_from_regs(&regs, cases[i].cmdline, &caps);
                ck_assert_msg(caps.sm_on == cases[i].sm_on, "\"%s\": sm_on %s, expected %s (%s)",
                              cases[i].cmdline, mdp_tristate_to_string(caps.sm_on),
                              mdp_tristate_to_string(cases[i].sm_on), caps.sm_on_source);
                ck_assert_ptr_nonnull(caps.sm_on_source);
                /* nest and pasid follow sm_on with every other bit set. */
                ck_assert_int_eq(caps.nest, cases[i].sm_on);
                ck_assert_int_eq(caps.pasid, cases[i].sm_on);
                ck_assert_uint_eq(caps.pasid_width, cases[i].sm_on == MDP_YES ? 20 : 0);
        }

        /* Command line unknown: unknown even with a known kernel default. */
        regs.vtd_sm_default_known = regs.vtd_sm_default_on = true;
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.sm_on, MDP_UNKNOWN);
        ck_assert_int_eq(caps.nest, MDP_UNKNOWN);
        ck_assert_int_eq(caps.pasid, MDP_UNKNOWN);
        ck_assert_int_eq(caps.iopf, MDP_UNKNOWN);
        ck_assert_uint_eq(caps.pasid_width, 0);
        /* A silent command line takes the known kernel default (Debian: y). */
        mdp_iommu_caps_from_regs(&regs, "quiet", &caps);
        ck_assert_int_eq(caps.sm_on, MDP_YES);
        ck_assert_ptr_nonnull(strstr(caps.sm_on_source, "=y"));
        regs.vtd_sm_default_on = false;
        mdp_iommu_caps_from_regs(&regs, "quiet", &caps);
        ck_assert_int_eq(caps.sm_on, MDP_NO);
        /* ... but the command line beats the default. */
        mdp_iommu_caps_from_regs(&regs, "intel_iommu=sm_on", &caps);
        ck_assert_int_eq(caps.sm_on, MDP_YES);

        /* An intel_iommu= token longer than the parser reads: unknown, not guessed. */
        longtok = malloc(5000);
        ck_assert_ptr_nonnull(longtok);
        strcpy(longtok, "intel_iommu=sm_off");
        memset(longtok + strlen(longtok), ',', 3000);
        strcpy(longtok + 18 + 3000, "sm_on");
        mdp_iommu_caps_from_regs(&regs, longtok, &caps);
        ck_assert_int_eq(caps.sm_on, MDP_UNKNOWN);
        /* A long unrelated token is skipped. */
        memset(longtok, 'x', 4000);
        strcpy(longtok + 4000, " intel_iommu=sm_on");
        mdp_iommu_caps_from_regs(&regs, longtok, &caps);
        ck_assert_int_eq(caps.sm_on, MDP_YES);
        free(longtok);
}
END_TEST

START_TEST(test_vtd_unknown)
{
        struct mdp_iommu_regs regs = vtd(UINT64_MAX, UINT64_MAX);
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *f = NULL;
        struct decoded d;

        regs.vtd_valid = false;
        decode(&regs, &d);
        f = d.f;
        for (size_t i = 0; i < d.n; i++)
                ck_assert_int_eq(f[i].present, MDP_UNKNOWN);
        mdp_iommu_caps_from_regs(&regs, CMDLINE_SM, &caps);
        ck_assert_int_eq(caps.sm_hw, MDP_UNKNOWN);
        ck_assert_int_eq(caps.sm_on, MDP_UNKNOWN);
        ck_assert_int_eq(caps.nest, MDP_UNKNOWN);
        ck_assert_int_eq(caps.pasid, MDP_UNKNOWN);
        ck_assert_int_eq(caps.caching_mode, MDP_UNKNOWN);
        ck_assert_uint_eq(caps.mgaw, 0);

        /* A version no kernel prints (VER_REG fields are 4 bits): version fields unknown. */
        regs = vtd(CAP_QEMU, ECAP_SM);
        regs.vtd_version_major = 16;
        free(f);
        decode(&regs, &d);
        f = d.f;
        ck_assert_int_eq(field(f, d.n, "MAJOR")->present, MDP_UNKNOWN);
        ck_assert_int_eq(field(f, d.n, "SMTS")->present, MDP_YES);

        /* No IOMMU at all: nothing to offer; an unknown family: unknown. */
        regs = (struct mdp_iommu_regs){.family = MDP_IOMMU_NONE};
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.pasid, MDP_NO);
        ck_assert_int_eq(caps.nest, MDP_NO);
        ck_assert_int_eq(caps.iopf, MDP_NO);
        regs.family = MDP_IOMMU_OTHER;
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.pasid, MDP_UNKNOWN);
        ck_assert_int_eq(caps.nest, MDP_UNKNOWN);
        free(f);
        f = NULL;
        ck_assert_int_eq(mdp_iommu_decode_fields(&regs, &f, &d.n), 0);
        ck_assert_uint_eq(d.n, 0);
        ck_assert_ptr_null(f);
}
END_TEST

/* Table consistency: within a register, fields never overlap, names are unique, and an
 * all-ones register decodes to all-ones fields. */
START_TEST(test_field_tables)
{
        static const enum mdp_iommu_family families[] = {MDP_IOMMU_VTD, MDP_IOMMU_AMD, MDP_IOMMU_SMMUV3};
        struct mdp_iommu_regs regs = {
                .vtd_valid = true,
                .vtd_cap = UINT64_MAX,
                .vtd_ecap = UINT64_MAX,
                .vtd_version_major = 0xf,
                .vtd_version_minor = 0xf,
                .amd_valid = true,
                .amd_cap = UINT32_MAX,
                .amd_efr = UINT64_MAX,
                .amd_efr2_valid = true,
                .amd_efr2 = UINT64_MAX,
                .smmu_valid = true,
                .smmu_idr = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX},
        };
        size_t expect_n[] = {56, 23, 31}; /* entries of the §2.2 (+ version), §2.3, §2.4 tables */

        for (size_t k = 0; k < ELEMENTSOF(families); k++) {
                _cleanup_free_ struct mdp_reg_field *f = NULL;
                size_t n;

                regs.family = families[k];
                ck_assert_int_eq(mdp_iommu_decode_fields(&regs, &f, &n), 0);
                ck_assert_uint_eq(n, expect_n[k]);
                for (size_t i = 0; i < n; i++) {
                        uint64_t mask = f[i].width >= 64 ? UINT64_MAX : (UINT64_C(1) << f[i].width) - 1;

                        ck_assert_uint_ge(f[i].width, 1);
                        ck_assert_uint_le(f[i].lo + f[i].width, 64);
                        ck_assert_uint_eq(f[i].raw, mask);
                        ck_assert_int_eq(f[i].present, MDP_YES);
                        ck_assert_ptr_nonnull(f[i].meaning);
                        for (size_t j = 0; j < i; j++) {
                                ck_assert_msg(!streq(f[i].name, f[j].name), "duplicate %s", f[i].name);
                                if (streq(f[i].reg, f[j].reg))
                                        ck_assert_msg(f[i].lo + f[i].width <= f[j].lo ||
                                                              f[j].lo + f[j].width <= f[i].lo,
                                                      "%s overlaps %s", f[i].name, f[j].name);
                        }
                }
        }
}
END_TEST

/* ---- AMD -------------------------------------------------------------------------------- */

/* PREF, PPR, GT, PASMAX 15, GIOSUP; EFR2 SNPAVICSUP 5. */
#define AMD_EFR  0x1000f00000013ULL
#define AMD_EFR2 0xa0ULL

START_TEST(test_amd_features_order)
{
        static const struct {
                const char *features, *release;
        } same[] = {
                {"a0:1000f00000013\n", "6.1.0-56-amd64"}, /* 6.0–6.6: EFR2:EFR */
                {"a0:1000f00000013", "6.0.0"},
                {"a0:1000f00000013", "6.6.87-generic"},
                {"1000f00000013:a0\n", "6.12.1-amd64"}, /* ≥ 6.7: EFR:EFR2 */
                {"1000f00000013:a0", "6.7"},
                {"1000f00000013:a0", "7.0.0-rc1"},
                {"1000f00000013:a0", "10.2.3"},
                {"0x1000f00000013:0xA0", "6.12"},
        };
        uint64_t efr, efr2;
        bool v2;

        for (size_t i = 0; i < ELEMENTSOF(same); i++) {
                efr = efr2 = 1;
                v2 = false;
                ck_assert_msg(mdp_amd_parse_features(same[i].features, same[i].release, &efr, &efr2, &v2) ==
                                      0,
                              "%s with %s", same[i].features, same[i].release);
                ck_assert_msg(efr == AMD_EFR && efr2 == AMD_EFR2 && v2, "%s with %s: efr %llx efr2 %llx",
                              same[i].features, same[i].release, (unsigned long long)efr,
                              (unsigned long long)efr2);
        }
        /* The order matters: the 6.12 text read as a 6.1 kernel swaps the values. */
        ck_assert_int_eq(mdp_amd_parse_features("1000f00000013:a0", "6.1.0-56-amd64", &efr, &efr2, &v2), 0);
        ck_assert_uint_eq(efr, AMD_EFR2);
        ck_assert_uint_eq(efr2, AMD_EFR);

        /* 3.17–5.19: EFR only, whatever the release. */
        efr2 = 7;
        ck_assert_int_eq(mdp_amd_parse_features("1000f00000013\n", "5.15.0-91-generic", &efr, &efr2, &v2),
                         0);
        ck_assert_uint_eq(efr, AMD_EFR);
        ck_assert(!v2);
        ck_assert_uint_eq(efr2, 0);
        ck_assert_int_eq(mdp_amd_parse_features("58f77ef22294ade", NULL, &efr, &efr2, &v2), 0);
        ck_assert_uint_eq(efr, 0x58f77ef22294adeULL);
        ck_assert(!v2);
}
END_TEST

START_TEST(test_amd_features_bad)
{
        static const char *const garbage[] = {
                "",   "\n",     "xyz",   "12:",  ":12",  "1:2:3", " 12", "12 ", "0x",   "-1",
                "+1", "12\n\n", "1\n:2", "12:g", "0x:1", "::",    ":",   "1;2", "12\t", "１２",
        };
        static const char *const ambiguous[] = {NULL, "",      "garbage",        "6",      "6.",
                                                ".7", "x6.12", "5.14.0-362.el9", "4.19.0", "99999999999.1"};
        uint64_t efr = 42, efr2 = 43;
        bool v2 = true;

        for (size_t i = 0; i < ELEMENTSOF(garbage); i++)
                ck_assert_msg(mdp_amd_parse_features(garbage[i], "6.12.1", &efr, &efr2, &v2) == -EINVAL,
                              "\"%s\" accepted", garbage[i]);
        ck_assert_int_eq(mdp_amd_parse_features(NULL, "6.12.1", &efr, &efr2, &v2), -EINVAL);
        /* Two values without a usable release: ambiguous, nothing guessed. */
        for (size_t i = 0; i < ELEMENTSOF(ambiguous); i++)
                ck_assert_msg(mdp_amd_parse_features("a0:1000f00000013", ambiguous[i], &efr, &efr2, &v2) ==
                                      -ENODATA,
                              "order guessed with release \"%s\"", strna(ambiguous[i]));
        /* Overflow. */
        ck_assert_int_eq(mdp_amd_parse_features("1ffffffffffffffff", "6.12", &efr, &efr2, &v2), -ERANGE);
        ck_assert_int_eq(mdp_amd_parse_features("1:10000000000000000", "6.12", &efr, &efr2, &v2), -ERANGE);
        ck_assert_int_eq(
                mdp_amd_parse_features("ffffffffffffffff:00000000000000000000001", "6.12", &efr, &efr2, &v2),
                0); /* leading zeros are not an overflow */
        ck_assert_uint_eq(efr, UINT64_MAX);
        ck_assert_uint_eq(efr2, 1);
        /* Outputs untouched on failure. */
        efr = 42, efr2 = 43, v2 = true;
        ck_assert_int_eq(mdp_amd_parse_features("zz", "6.12", &efr, &efr2, &v2), -EINVAL);
        ck_assert_int_eq(mdp_amd_parse_features("1:2", NULL, &efr, &efr2, &v2), -ENODATA);
        ck_assert_uint_eq(efr, 42);
        ck_assert_uint_eq(efr2, 43);
        ck_assert(v2);
}
END_TEST

START_TEST(test_kernel_release)
{
        unsigned ma = 0, mi = 0;

        ck_assert_int_eq(mdp_kernel_release_parse("6.1.0-56-amd64", &ma, &mi), 0);
        ck_assert_uint_eq(ma, 6);
        ck_assert_uint_eq(mi, 1);
        ck_assert_int_eq(mdp_kernel_release_parse("6.12.117+deb12-amd64", &ma, &mi), 0);
        ck_assert_uint_eq(mi, 12);
        ck_assert_int_eq(mdp_kernel_release_parse("6.7", &ma, &mi), 0);
        ck_assert_uint_eq(mi, 7);
        ck_assert_int_eq(mdp_kernel_release_parse("6", &ma, &mi), -EINVAL);
        ck_assert_int_eq(mdp_kernel_release_parse("v6.1", &ma, &mi), -EINVAL);
        ck_assert_int_eq(mdp_kernel_release_parse("6.-1", &ma, &mi), -EINVAL);
        ck_assert_int_eq(mdp_kernel_release_parse(NULL, &ma, &mi), -EINVAL);
        ck_assert_int_eq(mdp_kernel_release_parse("4294967297.1", &ma, &mi), -EINVAL);
        ck_assert_uint_eq(ma, 6);
}
END_TEST

START_TEST(test_amd_caps)
{
        struct mdp_iommu_regs regs = {.family = MDP_IOMMU_AMD, .amd_valid = true, .amd_cap = 0x0c000000};
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *f = NULL;
        struct decoded d;

        ck_assert_int_eq(mdp_amd_parse_features("1000f00000013:a0", "6.12.1-amd64", &regs.amd_efr,
                                                &regs.amd_efr2, &regs.amd_efr2_valid),
                         0);
        decode(&regs, &d);
        f = d.f;
        ck_bit(f, d.n, "IOTLB", 0);
        ck_bit(f, d.n, "NPCACHE", 1);
        ck_bit(f, d.n, "EFRSUP", 1);
        ck_bit(f, d.n, "PPR", 1);
        ck_bit(f, d.n, "GT", 1);
        ck_bit(f, d.n, "NX", 0);
        ck_field(f, d.n, "PASMAX", 15, MDP_YES);
        ck_bit(f, d.n, "GIOSUP", 1);
        ck_field(f, d.n, "SNPAVICSUP", 5, MDP_YES);
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.family, MDP_IOMMU_AMD);
        ck_assert_int_eq(caps.gt, MDP_YES);
        ck_assert_int_eq(caps.ppr, MDP_YES);
        ck_assert_int_eq(caps.giosup, MDP_YES);
        ck_assert_int_eq(caps.np_cache, MDP_YES);
        ck_assert_int_eq(caps.pasid, MDP_YES);
        ck_assert_uint_eq(caps.pasid_width, 16);
        ck_assert_int_eq(caps.iopf, MDP_YES);
        ck_assert_int_eq(caps.nest, MDP_UNKNOWN); /* needs the iommufd probe (§2.3) */
        ck_assert_int_eq(caps.sm_on, MDP_UNKNOWN);

        /* PASMAX 31 ⇒ capped at 16 bits; PASMAX 7 ⇒ 8 bits; no GT ⇒ no PASID. */
        regs.amd_efr = (UINT64_C(31) << 32) | 0x10;
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_uint_eq(caps.pasid_width, 16);
        regs.amd_efr = (UINT64_C(7) << 32) | 0x10;
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_uint_eq(caps.pasid_width, 8);
        regs.amd_efr = UINT64_C(7) << 32;
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.pasid, MDP_NO);
        ck_assert_uint_eq(caps.pasid_width, 0);
        ck_assert_int_eq(caps.iopf, MDP_NO);

        /* One-value format (5.x): EFR2 fields unknown. */
        regs.amd_efr2_valid = false;
        free(f);
        decode(&regs, &d);
        f = d.f;
        ck_assert_int_eq(field(f, d.n, "SNPAVICSUP")->present, MDP_UNKNOWN);
        ck_assert_int_eq(field(f, d.n, "PASMAX")->present, MDP_YES);

        regs.amd_valid = false;
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.gt, MDP_UNKNOWN);
        ck_assert_int_eq(caps.pasid, MDP_UNKNOWN);
        ck_assert_int_eq(caps.iopf, MDP_UNKNOWN);
}
END_TEST

/* ---- SMMUv3 with registers (iommufd IOMMU_GET_HW_INFO) ---------------------------------- */

START_TEST(test_smmuv3_regs)
{
        struct mdp_iommu_regs regs = {
                .family = MDP_IOMMU_SMMUV3,
                .smmu_valid = true,
                /* S2P, S1P, ATS, PRI, STALL_MODEL 1 (terminate only); SSIDSIZE 20 */
                .smmu_idr = {[0] = 0x3 | 1u << 10 | 1u << 16 | 1u << 24, [1] = 20u << 6 | 16},
        };
        struct mdp_iommu_caps caps;
        _cleanup_free_ struct mdp_reg_field *f = NULL;
        struct decoded d;

        decode(&regs, &d);
        f = d.f;
        ck_bit(f, d.n, "S2P", 1);
        ck_bit(f, d.n, "S1P", 1);
        ck_field(f, d.n, "SSIDSIZE", 20, MDP_YES);
        ck_field(f, d.n, "SIDSIZE", 16, MDP_YES);
        ck_field(f, d.n, "STALL_MODEL", 1, MDP_YES);
        ck_bit(f, d.n, "RIL", 0);
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.nest, MDP_YES);
        ck_assert_int_eq(caps.pasid, MDP_YES);
        ck_assert_uint_eq(caps.pasid_width, 20);
        ck_assert_int_eq(caps.stall, MDP_NO);
        ck_assert_int_eq(caps.iopf, MDP_YES); /* PRI */

        /* Stage 2 only, no substreams, no PRI, stall supported. */
        regs.smmu_idr[0] = 0x1;
        regs.smmu_idr[1] = 16;
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.nest, MDP_NO);
        ck_assert_int_eq(caps.pasid, MDP_NO);
        ck_assert_uint_eq(caps.pasid_width, 0);
        ck_assert_int_eq(caps.stall, MDP_YES);
        ck_assert_int_eq(caps.iopf, MDP_YES);
        regs.smmu_idr[0] = 0x1 | 1u << 24; /* terminate only, no PRI */
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.iopf, MDP_NO);
        regs.smmu_idr[0] = 0x1 | 3u << 24; /* reserved model: the kernel does not stall */
        mdp_iommu_caps_from_regs(&regs, NULL, &caps);
        ck_assert_int_eq(caps.stall, MDP_NO);
}
END_TEST

/* ---- PCI extended capabilities ---------------------------------------------------------- */

static void put16(uint8_t *c, size_t off, uint16_t v)
{
        c[off] = (uint8_t)v;
        c[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *c, size_t off, uint32_t v)
{
        put16(c, off, (uint16_t)v);
        put16(c, off + 2, (uint16_t)(v >> 16));
}

static void ext_cap(uint8_t *c, size_t off, uint16_t id, unsigned next)
{
        put32(c, off, id | 1u << 16 | (uint32_t)next << 20);
}

/* PASID(width 20, exec, priv, enabled) → ATS(enabled) → PRI(enabled) → SR-IOV → DVSEC. */
static uint8_t *chain(size_t size)
{
        uint8_t *c = calloc(1, size);

        ck_assert_ptr_nonnull(c);
        put32(c, 0, 0x12348086); /* conventional header, as a real image has */
        ext_cap(c, 0x100, 0x1b, 0x108);
        put16(c, 0x104, 20 << 8 | 0x0002 | 0x0004);
        put16(c, 0x106, 0x0001);
        ext_cap(c, 0x108, 0x0f, 0x110);
        put16(c, 0x10e, 0x8000);
        ext_cap(c, 0x110, 0x13, 0x120);
        put16(c, 0x114, 0x0001);
        ext_cap(c, 0x120, 0x10, 0x160);
        ext_cap(c, 0x160, 0x23, 0);
        put32(c, 0x164, 0x8086 | 1u << 16 | 0x10u << 20);
        put16(c, 0x168, 5);
        return c;
}

static void ck_all(const struct mdp_pci_caps *p, enum mdp_tristate t)
{
        const enum mdp_tristate all[] = {p->pasid, p->pasid_exec,  p->pasid_priv, p->pasid_enabled,
                                         p->ats,   p->ats_enabled, p->pri,        p->pri_enabled,
                                         p->sriov, p->siov_dvsec};

        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                ck_assert_msg(all[i] == t, "field %zu is %s, expected %s", i, mdp_tristate_to_string(all[i]),
                              mdp_tristate_to_string(t));
        ck_assert_uint_eq(p->pasid_width, 0);
}

START_TEST(test_pci_chain)
{
        _cleanup_free_ uint8_t *c = chain(4096);
        struct mdp_pci_caps p;

        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert_int_eq(p.extended_space, MDP_YES);
        ck_assert(!p.walk_truncated);
        ck_assert_int_eq(p.pasid, MDP_YES);
        ck_assert_uint_eq(p.pasid_width, 20);
        ck_assert_int_eq(p.pasid_exec, MDP_YES);
        ck_assert_int_eq(p.pasid_priv, MDP_YES);
        ck_assert_int_eq(p.pasid_enabled, MDP_YES);
        ck_assert_int_eq(p.ats, MDP_YES);
        ck_assert_int_eq(p.ats_enabled, MDP_YES);
        ck_assert_int_eq(p.pri, MDP_YES);
        ck_assert_int_eq(p.pri_enabled, MDP_YES);
        ck_assert_int_eq(p.sriov, MDP_YES);
        ck_assert_int_eq(p.siov_dvsec, MDP_YES);

        /* A second PASID and ATS after the DVSEC: the first instance wins, as in the kernel. */
        ext_cap(c, 0x160, 0x23, 0x180);
        ext_cap(c, 0x180, 0x1b, 0x188);
        put16(c, 0x184, 5 << 8);
        ext_cap(c, 0x188, 0x0f, 0);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert(!p.walk_truncated);
        ck_assert_uint_eq(p.pasid_width, 20);
        ck_assert_int_eq(p.pasid_exec, MDP_YES);
        ck_assert_int_eq(p.pasid_enabled, MDP_YES);
        ck_assert_int_eq(p.ats_enabled, MDP_YES);
        ext_cap(c, 0x160, 0x23, 0);

        /* Disabled, no exec/priv, another vendor's DVSEC, no SR-IOV (PRI links to DVSEC). */
        put16(c, 0x104, 8 << 8);
        put16(c, 0x106, 0);
        put16(c, 0x10e, 0x001f);
        put16(c, 0x114, 0x0002);
        ext_cap(c, 0x110, 0x13, 0x160);
        put32(c, 0x164, 0x1af4 | 0x10u << 20);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert(!p.walk_truncated);
        ck_assert_uint_eq(p.pasid_width, 8);
        ck_assert_int_eq(p.pasid_exec, MDP_NO);
        ck_assert_int_eq(p.pasid_priv, MDP_NO);
        ck_assert_int_eq(p.pasid_enabled, MDP_NO);
        ck_assert_int_eq(p.ats, MDP_YES);
        ck_assert_int_eq(p.ats_enabled, MDP_NO);
        ck_assert_int_eq(p.pri, MDP_YES);
        ck_assert_int_eq(p.pri_enabled, MDP_NO);
        ck_assert_int_eq(p.sriov, MDP_NO);
        ck_assert_int_eq(p.siov_dvsec, MDP_NO);

        /* An empty list (header 0): PCIe, nothing there. */
        memset(c + 0x100, 0, 4096 - 0x100);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert_int_eq(p.extended_space, MDP_YES);
        ck_assert(!p.walk_truncated);
        ck_all(&p, MDP_NO);

        /* A larger image is walked within the 4096 bytes of config space. */
        free(c);
        c = chain(8192);
        mdp_pci_caps_parse(c, 8192, &p);
        ck_assert_int_eq(p.pasid, MDP_YES);
        ck_assert(!p.walk_truncated);
}
END_TEST

START_TEST(test_pci_loop)
{
        _cleanup_free_ uint8_t *c = chain(4096);
        struct mdp_pci_caps p;

        /* PASID → ATS → back to PASID. */
        ext_cap(c, 0x108, 0x0f, 0x100);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert(p.walk_truncated);
        ck_assert_int_eq(p.pasid, MDP_YES);
        ck_assert_uint_eq(p.pasid_width, 20);
        ck_assert_int_eq(p.ats, MDP_YES);
        /* Not seen before the loop: unknown, not absent. */
        ck_assert_int_eq(p.pri, MDP_UNKNOWN);
        ck_assert_int_eq(p.pri_enabled, MDP_UNKNOWN);
        ck_assert_int_eq(p.sriov, MDP_UNKNOWN);
        ck_assert_int_eq(p.siov_dvsec, MDP_UNKNOWN);

        /* A capability pointing at itself. */
        ext_cap(c, 0x100, 0x1b, 0x100);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert(p.walk_truncated);
        ck_assert_int_eq(p.pasid, MDP_YES);
        ck_assert_int_eq(p.ats, MDP_UNKNOWN);

        /* next below 0x100 (but not 0): corrupt, stop. */
        ext_cap(c, 0x100, 0x1b, 0x40);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert(p.walk_truncated);
        ck_assert_int_eq(p.pasid, MDP_YES);
        ck_assert_int_eq(p.ats, MDP_UNKNOWN);
}
END_TEST

/* The kernel's guard: at most 480 entries (§3.2). */
START_TEST(test_pci_entry_limit)
{
        _cleanup_free_ uint8_t *c = calloc(1, 4096);
        struct mdp_pci_caps p;
        unsigned n = (unsigned)_i ? 481 : 480;

        /* n vendor-specific (0x0b) capabilities 4 bytes apart, the last one ending the list;
         * PASID last. */
        for (unsigned k = 0; k < n; k++) {
                unsigned off = 0x100 + 4 * k;
                ext_cap(c, off, k == n - 1 ? 0x1b : 0x0b, k == n - 1 ? 0 : off + 4);
        }
        mdp_pci_caps_parse(c, 4096, &p);
        if (n == 480) {
                ck_assert(!p.walk_truncated);
                ck_assert_int_eq(p.pasid, MDP_YES);
                ck_assert_int_eq(p.ats, MDP_NO);
        } else {
                ck_assert(p.walk_truncated);
                ck_assert_int_eq(p.pasid, MDP_UNKNOWN);
                ck_assert_int_eq(p.ats, MDP_UNKNOWN);
        }
}
END_TEST

START_TEST(test_pci_truncated)
{
        struct mdp_pci_caps p;
        uint8_t *c;

        /* A short read (512 bytes) whose list points past the end. Allocated to the exact
         * size so the sanitizer catches any read beyond it. */
        c = chain(4096);
        ext_cap(c, 0x108, 0x0f, 0x300);
        c = realloc(c, 512);
        mdp_pci_caps_parse(c, 512, &p);
        ck_assert(p.walk_truncated);
        ck_assert_int_eq(p.extended_space, MDP_YES);
        ck_assert_int_eq(p.pasid, MDP_YES);
        ck_assert_int_eq(p.ats, MDP_YES);
        ck_assert_int_eq(p.pri, MDP_UNKNOWN);
        free(c);

        /* Reads that straddle the end of a short image: 3 bytes of header, then a PASID
         * capability with half its control word. Exact-size copies for the sanitizer. */
        for (size_t size = 0x101; size <= 0x107; size++) {
                uint8_t *full = chain(4096);

                c = malloc(size);
                ck_assert_ptr_nonnull(c);
                memcpy(c, full, size);
                free(full);
                mdp_pci_caps_parse(c, size, &p);
                ck_assert(p.walk_truncated);
                ck_assert_int_eq(p.ats, MDP_UNKNOWN);
                ck_assert_int_eq(p.pasid, size < 0x104 ? MDP_UNKNOWN : MDP_YES);
                ck_assert_int_eq(p.pasid_enabled, MDP_UNKNOWN);
                ck_assert_uint_eq(p.pasid_width, 0);
                free(c);
        }

        /* A PASID header in the last dword: present, its body past the end unknown. */
        c = calloc(1, 4096);
        ext_cap(c, 0x100, 0x0f, 0xffc);
        ext_cap(c, 0xffc, 0x1b, 0);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert(!p.walk_truncated);
        ck_assert_int_eq(p.ats, MDP_YES);
        ck_assert_int_eq(p.pasid, MDP_YES);
        ck_assert_uint_eq(p.pasid_width, 0);
        ck_assert_int_eq(p.pasid_exec, MDP_UNKNOWN);
        ck_assert_int_eq(p.pasid_enabled, MDP_UNKNOWN);
        ck_assert_int_eq(p.pri, MDP_NO);
        /* The same for a DVSEC: whether it is the SIOV one is unknown. */
        ext_cap(c, 0xffc, 0x23, 0);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert_int_eq(p.siov_dvsec, MDP_UNKNOWN);
        ck_assert_int_eq(p.pasid, MDP_NO);
        free(c);
}
END_TEST

START_TEST(test_pci_all_ones)
{
        _cleanup_free_ uint8_t *c = chain(4096);
        struct mdp_pci_caps p;

        /* Device gone: the first header reads 0xffffffff. */
        put32(c, 0x100, UINT32_MAX);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert(p.walk_truncated);
        ck_assert_int_eq(p.extended_space, MDP_UNKNOWN);
        ck_all(&p, MDP_UNKNOWN);

        /* All ones in the middle of the list: what came before stands. */
        free(c);
        c = chain(4096);
        put32(c, 0x110, UINT32_MAX);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_assert(p.walk_truncated);
        ck_assert_int_eq(p.extended_space, MDP_YES);
        ck_assert_int_eq(p.pasid, MDP_YES);
        ck_assert_int_eq(p.ats, MDP_YES);
        ck_assert_int_eq(p.pri, MDP_UNKNOWN);

        /* A whole image of 0xff. */
        memset(c, 0xff, 4096);
        mdp_pci_caps_parse(c, 4096, &p);
        ck_all(&p, MDP_UNKNOWN);
}
END_TEST

START_TEST(test_pci_short_config)
{
        _cleanup_free_ uint8_t *c = chain(4096);
        struct mdp_pci_caps p;

        /* Unprivileged 64-byte read (§3.1): unknown, never absent. */
        mdp_pci_caps_parse(c, 64, &p);
        ck_assert_int_eq(p.extended_space, MDP_UNKNOWN);
        ck_all(&p, MDP_UNKNOWN);
        mdp_pci_caps_parse(c, 255, &p);
        ck_assert_int_eq(p.extended_space, MDP_UNKNOWN);
        ck_all(&p, MDP_UNKNOWN);
        mdp_pci_caps_parse(NULL, 0, &p);
        ck_assert_int_eq(p.extended_space, MDP_UNKNOWN);
        ck_all(&p, MDP_UNKNOWN);

        /* 256 bytes: conventional PCI, no extended space: absent. */
        mdp_pci_caps_parse(c, 256, &p);
        ck_assert_int_eq(p.extended_space, MDP_NO);
        ck_assert(!p.walk_truncated);
        ck_all(&p, MDP_NO);
}
END_TEST

/* Random images must neither crash nor read out of bounds nor hang, and the result stays
 * consistent. Deterministic seed; each image allocated to its exact size. */
START_TEST(test_pci_random)
{
        static const uint16_t ids[] = {0x0f, 0x10, 0x13, 0x1b, 0x23};
        unsigned seed = 0x5eed;
        size_t truncated = 0, found = 0;

        for (unsigned k = 0; k < 3000; k++) {
                size_t size = k % 7 == 0 ? (size_t)(rand_r(&seed) % 4200) : 4096;
                uint8_t *c = malloc(size ? size : 1);
                struct mdp_pci_caps p;

                ck_assert_ptr_nonnull(c);
                for (size_t i = 0; i < size; i++)
                        c[i] = (uint8_t)rand_r(&seed);
                /* Half the images get plausible headers so walks go deep. */
                if (k % 2)
                        for (size_t off = 0x100; off + 4 <= size; off += 4)
                                if (rand_r(&seed) % 3 == 0) {
                                        unsigned next = (unsigned)rand_r(&seed) % 0x1000;
                                        ext_cap(c, off, ids[rand_r(&seed) % ELEMENTSOF(ids)],
                                                rand_r(&seed) % 8 ? next : 0);
                                }
                mdp_pci_caps_parse(c, size, &p);
                ck_assert_uint_le(p.pasid_width, 31);
                if (p.pasid != MDP_YES)
                        ck_assert_uint_eq(p.pasid_width, 0);
                if (size < 256)
                        ck_assert_int_eq(p.extended_space, MDP_UNKNOWN);
                if (p.extended_space == MDP_YES && !p.walk_truncated)
                        ck_assert_int_ne(p.pasid, MDP_UNKNOWN); /* a clean walk decides */
                truncated += p.walk_truncated;
                found += p.pasid == MDP_YES || p.ats == MDP_YES;
                free(c);
        }
        /* The corpus exercised both outcomes. */
        ck_assert_uint_gt(truncated, 100);
        ck_assert_uint_gt(found, 100);
}
END_TEST

static Suite *decode_suite(void)
{
        Suite *s = suite_create("decode");
        TCase *tc = tcase_create("iommu");
        TCase *pci = tcase_create("pci");

        tcase_add_loop_test(tc, test_vtd_capture_scalable, 0, ELEMENTSOF(sm_variants));
        tcase_add_test(tc, test_vtd_capture_pasid);
        tcase_add_test(tc, test_vtd_capture_legacy);
        tcase_add_test(tc, test_smmuv3_capture);
        tcase_add_test(tc, test_vtd_nested);
        tcase_add_test(tc, test_vtd_cmdline);
        tcase_add_test(tc, test_vtd_unknown);
        tcase_add_test(tc, test_field_tables);
        tcase_add_test(tc, test_amd_features_order);
        tcase_add_test(tc, test_amd_features_bad);
        tcase_add_test(tc, test_kernel_release);
        tcase_add_test(tc, test_amd_caps);
        tcase_add_test(tc, test_smmuv3_regs);
        suite_add_tcase(s, tc);

        tcase_add_test(pci, test_pci_chain);
        tcase_add_test(pci, test_pci_loop);
        tcase_add_loop_test(pci, test_pci_entry_limit, 0, 2);
        tcase_add_test(pci, test_pci_truncated);
        tcase_add_test(pci, test_pci_all_ones);
        tcase_add_test(pci, test_pci_short_config);
        tcase_add_test(pci, test_pci_random);
        suite_add_tcase(s, pci);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(decode_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
