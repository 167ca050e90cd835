/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PCI extended capability walk (IOMMU-SPEC.md §3). Pure: no I/O, no globals. */
#include <string.h>

#include "pci-caps.h"
#include "util/macro.h"

#define CFG_SPACE_SIZE      256
#define CFG_SPACE_EXP_SIZE  4096
#define EXT_CAP_MAX_ENTRIES ((CFG_SPACE_EXP_SIZE - CFG_SPACE_SIZE) / 8) /* 480, §3.2 */

#define EXT_CAP_ID_ATS   0x0f
#define EXT_CAP_ID_SRIOV 0x10
#define EXT_CAP_ID_PRI   0x13
#define EXT_CAP_ID_PASID 0x1b
#define EXT_CAP_ID_DVSEC 0x23

#define DVSEC_VENDOR_INTEL  0x8086
#define DVSEC_ID_INTEL_SIOV 5 /* §1.4 hint, unverified */

struct cfg {
        const uint8_t *data;
        size_t size;
};

/* Little-endian reads byte by byte (no unaligned access); false past the end. */
static bool rd16(const struct cfg *c, size_t off, uint16_t *ret)
{
        if (off > c->size || c->size - off < 2)
                return false;
        *ret = (uint16_t)(c->data[off] | c->data[off + 1] << 8);
        return true;
}

static bool rd32(const struct cfg *c, size_t off, uint32_t *ret)
{
        if (off > c->size || c->size - off < 4)
                return false;
        *ret = (uint32_t)c->data[off] | (uint32_t)c->data[off + 1] << 8 | (uint32_t)c->data[off + 2] << 16 |
               (uint32_t)c->data[off + 3] << 24;
        return true;
}

static void set_all(struct mdp_pci_caps *p, enum mdp_tristate t)
{
        p->pasid = p->pasid_exec = p->pasid_priv = p->pasid_enabled = t;
        p->ats = p->ats_enabled = p->pri = p->pri_enabled = p->sriov = p->siov_dvsec = t;
}

/* §3.3: capability word at +4 (exec bit 1, priv bit 2, width 12:8), control at +6 (enable
 * bit 0). A body past the end leaves the details unknown. */
static void parse_pasid(const struct cfg *c, size_t pos, struct mdp_pci_caps *p)
{
        uint16_t cap, ctl;

        p->pasid = MDP_YES;
        if (!rd16(c, pos + 4, &cap) || !rd16(c, pos + 6, &ctl))
                return;
        p->pasid_width = (cap >> 8) & 0x1f;
        p->pasid_exec = mdp_tristate_from_bool(cap & 0x0002);
        p->pasid_priv = mdp_tristate_from_bool(cap & 0x0004);
        p->pasid_enabled = mdp_tristate_from_bool(ctl & 0x0001);
}

_public_ void mdp_pci_caps_parse(const uint8_t *config, size_t size, struct mdp_pci_caps *ret)
{
        struct mdp_pci_caps p = {};
        struct cfg c = {config, MIN(size, (size_t)CFG_SPACE_EXP_SIZE)};
        uint32_t visited[CFG_SPACE_EXP_SIZE / 4 / 32] = {}; /* one bit per dword */
        enum mdp_tristate dvsec_unreadable = MDP_NO;
        size_t pos = CFG_SPACE_SIZE;
        bool clean = false;

        if (!config || size < CFG_SPACE_SIZE) {
                /* Unprivileged 64-byte read (§3.1): say unknown, never absent. */
                p.extended_space = MDP_UNKNOWN;
                set_all(&p, MDP_UNKNOWN);
                *ret = p;
                return;
        }
        set_all(&p, MDP_UNKNOWN);
        if (size == CFG_SPACE_SIZE) {
                /* Conventional PCI: no extended capabilities at all. */
                p.extended_space = MDP_NO;
                set_all(&p, MDP_NO);
                *ret = p;
                return;
        }
        p.extended_space = MDP_YES;

        /* §3.2: walk from 0x100 with loop and bounds guards. */
        for (unsigned n = 0;; n++) {
                uint32_t hdr, h;
                uint16_t w;

                if (n >= EXT_CAP_MAX_ENTRIES || visited[pos / 128] & (UINT32_C(1) << (pos / 4 % 32)))
                        break; /* loop */
                visited[pos / 128] |= UINT32_C(1) << (pos / 4 % 32);
                if (!rd32(&c, pos, &hdr))
                        break; /* past the end of what was read */
                if (hdr == 0) {
                        clean = true; /* empty list */
                        break;
                }
                if (hdr == UINT32_MAX) {
                        if (pos == CFG_SPACE_SIZE)
                                p.extended_space = MDP_UNKNOWN; /* device gone or in D3cold */
                        break;
                }

                switch (hdr & 0xffff) { /* first instance wins */
                case EXT_CAP_ID_PASID:
                        if (p.pasid != MDP_YES)
                                parse_pasid(&c, pos, &p);
                        break;
                case EXT_CAP_ID_ATS: /* §3.4: control at +6, enable bit 15 */
                        if (p.ats != MDP_YES) {
                                p.ats = MDP_YES;
                                if (rd16(&c, pos + 6, &w))
                                        p.ats_enabled = mdp_tristate_from_bool(w & 0x8000);
                        }
                        break;
                case EXT_CAP_ID_PRI: /* §3.5: control at +4, enable bit 0 */
                        if (p.pri != MDP_YES) {
                                p.pri = MDP_YES;
                                if (rd16(&c, pos + 4, &w))
                                        p.pri_enabled = mdp_tristate_from_bool(w & 0x0001);
                        }
                        break;
                case EXT_CAP_ID_SRIOV:
                        p.sriov = MDP_YES;
                        break;
                case EXT_CAP_ID_DVSEC: /* header1 +4: vendor 15:0; header2 +8: id 15:0 */
                        if (!rd32(&c, pos + 4, &h) || !rd16(&c, pos + 8, &w))
                                dvsec_unreadable = MDP_UNKNOWN;
                        else if ((h & 0xffff) == DVSEC_VENDOR_INTEL && w == DVSEC_ID_INTEL_SIOV)
                                p.siov_dvsec = MDP_YES;
                        break;
                default:
                        break;
                }

                pos = (hdr >> 20) & 0xffc;
                if (pos == 0) {
                        clean = true;
                        break;
                }
                if (pos < CFG_SPACE_SIZE)
                        break; /* points back into conventional space: corrupt */
        }

        p.walk_truncated = !clean;
        if (clean) {
                /* The whole list was seen: what was not found is absent. */
                enum mdp_tristate *found[] = {&p.pasid, &p.ats, &p.pri, &p.sriov};

                for (size_t i = 0; i < ELEMENTSOF(found); i++)
                        if (*found[i] == MDP_UNKNOWN)
                                *found[i] = MDP_NO;
                if (p.pasid == MDP_NO)
                        p.pasid_exec = p.pasid_priv = p.pasid_enabled = MDP_NO;
                if (p.ats == MDP_NO)
                        p.ats_enabled = MDP_NO;
                if (p.pri == MDP_NO)
                        p.pri_enabled = MDP_NO;
                if (p.siov_dvsec == MDP_UNKNOWN)
                        p.siov_dvsec = dvsec_unreadable;
        }
        *ret = p;
}
