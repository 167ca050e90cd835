/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration a plan emits (IOMMU-SPEC.md §6.5): QEMU arguments in command-line order
 * and a libvirt XML fragment. Property names follow the VMM capabilities the operator
 * asserted (§4.4: new spelling when asserted, else the experimental x- one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"

struct emit {
        struct plan_impl *p;
        struct arena *a;
        const struct mdp_plan_request *req;
        struct strvec qemu;
        struct strvec *notes;
        struct strvec xml; /* pieces, joined at the end */
};

static void xml_cat(struct emit *e, const char *fmt, ...) _printf_(2, 3);
static void xml_cat(struct emit *e, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        strvec_push(e->a, &e->xml, arena_vprintf(e->a, fmt, ap));
        va_end(ap);
}

static char *join(struct arena *a, const struct strvec *v)
{
        size_t total = 1;
        char *s, *o;

        for (size_t i = 0; i < v->n; i++)
                total += strlen(v->v[i]);
        s = o = arena_alloc(a, total);
        if (!s)
                return NULL;
        for (size_t i = 0; i < v->n; i++) {
                size_t l = strlen(v->v[i]);
                memcpy(o, v->v[i], l);
                o += l;
        }
        *o = '\0';
        return s;
}

static void qemu_arg(struct emit *e, const char *fmt, ...) _printf_(2, 3);
static void qemu_arg(struct emit *e, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        strvec_push(e->a, &e->qemu, arena_vprintf(e->a, fmt, ap));
        va_end(ap);
}

static void note(struct emit *e, const char *s)
{
        strvec_push(e->a, e->notes, arena_strdup(e->a, s));
}

static bool vmm(const struct emit *e, enum mdp_vmm_cap c)
{
        return e->req->options.vmm[c] == MDP_YES;
}

/* The guest address width: QEMU's aw-bits must not exceed the host's MGAW (39 or 48). 0
 * when no VT-d unit tells. */
static unsigned intel_aw_bits(const struct emit *e)
{
        unsigned aw = 0;

        for (size_t i = 0; i < e->req->n_units; i++) {
                const struct mdp_iommu_caps *c = &e->req->units[i].iommu;
                unsigned w;

                if (c->family != MDP_IOMMU_VTD)
                        continue;
                if (c->mgaw == 0)
                        return 0;
                w = c->mgaw >= 48 ? 48 : c->mgaw >= 39 ? 39 : 0;
                if (w == 0)
                        return 0;
                if (aw == 0 || w < aw)
                        aw = w;
        }
        return aw;
}

/* min(device PASID width, IOMMU PASID width) over the units, 0 when any is unknown. */
static unsigned pasid_width(const struct emit *e)
{
        unsigned w = 0;

        for (size_t i = 0; i < e->req->n_units; i++) {
                const struct mdp_unit_input *u = &e->req->units[i];
                unsigned d = u->pci.pasid_width, h = u->iommu.pasid_width, m;

                if (!d || !h)
                        return 0;
                m = d < h ? d : h;
                if (!w || m < w)
                        w = m;
        }
        return w;
}

static bool all_units(const struct emit *e, bool (*pred)(const struct mdp_unit_input *u))
{
        for (size_t i = 0; i < e->req->n_units; i++)
                if (!pred(&e->req->units[i]))
                        return false;
        return true;
}

static bool has_fl1gp(const struct mdp_unit_input *u)
{
        return u->iommu.family != MDP_IOMMU_VTD || u->iommu.fl1gp == MDP_YES;
}

static bool has_ats(const struct mdp_unit_input *u)
{
        return u->iommu.ats == MDP_YES && u->pci.ats == MDP_YES;
}

static void emit_viommu(struct emit *e, enum mdp_viommu v)
{
        enum mdp_guest_mode g = e->req->guest;
        bool pasids = g == MDP_GUEST_PASID || g == MDP_GUEST_SVSA;
        unsigned aw = intel_aw_bits(e), w = pasid_width(e);
        char awq[24] = "", awx[24] = "", pasid[32] = "", ssid[24] = "", ssidx[24] = "";

        if (aw) {
                snprintf(awq, sizeof(awq), ",aw-bits=%u", aw);
                snprintf(awx, sizeof(awx), " aw_bits='%u'", aw);
        }
        switch (v) {
        case MDP_VIOMMU_INTEL:
                qemu_arg(e, "-device intel-iommu,caching-mode=on,intremap=on,eim=on%s", awq);
                xml_cat(e,
                        "<features>\n  <ioapic driver='qemu'/>\n</features>\n<devices>\n"
                        "  <iommu model='intel'>\n"
                        "    <driver caching_mode='on' intremap='on' eim='on'%s/>\n  </iommu>\n",
                        awx);
                note(e, "§6.5: caching-mode=on lets QEMU shadow the guest's VT-d tables; intremap needs the "
                        "split "
                        "irqchip (-machine kernel-irqchip=split, libvirt <ioapic driver='qemu'/>); the "
                        "intel-iommu device comes before the vfio devices");
                if (!aw)
                        note(e, "§6.5: host MGAW unknown: aw-bits left at QEMU's default; it must not "
                                "exceed the "
                                "host's address width");
                break;
        case MDP_VIOMMU_INTEL_NESTED:
                if (pasids) {
                        if (vmm(e, MDP_VMM_INTEL_IOMMU_PASID_BITS) && w)
                                snprintf(pasid, sizeof(pasid), ",pasid-bits=%u", w);
                        else if (vmm(e, MDP_VMM_INTEL_IOMMU_X_PASID_MODE))
                                snprintf(pasid, sizeof(pasid), ",x-pasid-mode=on");
                        else
                                note(e,
                                     "§4.4: PASID width unknown: set pasid-bits to min(device, host) PASID "
                                     "width");
                }
                qemu_arg(e, "-device intel-iommu,%s=on,%s=on,fs1gp=%s%s%s%s",
                         vmm(e, MDP_VMM_INTEL_IOMMU_SCALABLE_MODE) ? "scalable-mode" : "x-scalable-mode",
                         vmm(e, MDP_VMM_INTEL_IOMMU_FSTS) ? "fsts" : "x-flts",
                         all_units(e, has_fl1gp) ? "on" : "off", awq, pasid,
                         g == MDP_GUEST_SVSA ? ",device-iotlb=on,svm=on" : "");
                xml_cat(e,
                        "<!-- libvirt has no XML for VT-d nesting (scalable mode, first stage: "
                        "IOMMU-SPEC.md "
                        "§5.1 [U]).\n     Run the QEMU arguments of this plan, or pass the intel-iommu "
                        "device through\n     <qemu:commandline> or a qemu:override together with the "
                        "iommufd "
                        "backend\n     (<iommufd enabled='yes'/>, <driver iommufd='yes'/> where supported "
                        "[U]). -->\n<devices>\n");
                note(e, "§6.5 NEST (VT-d): the VMM builds a NEST_PARENT HWPT and VTD_S1 nested HWPTs; the "
                        "vfio-pci devices sit on PCIe root ports, not behind a PCI bridge (§4.4); fs1gp "
                        "follows "
                        "the host's cap FL1GP");
                if (!aw)
                        note(e, "§6.5: host MGAW unknown: aw-bits left at QEMU's default; it must not "
                                "exceed the "
                                "host's address width");
                break;
        case MDP_VIOMMU_VIRTIO:
                qemu_arg(e, "-device virtio-iommu-pci");
                xml_cat(e, "<devices>\n  <iommu model='virtio'/>\n");
                note(e,
                     "§6.5: virtio-iommu shadows through MAP/UNMAP notifiers; libvirt model='virtio' needs "
                     "libvirt ≥ 8.3.0");
                break;
        case MDP_VIOMMU_AMD:
                qemu_arg(e, "-device amd-iommu,dma-remap=on");
                xml_cat(e, "<!-- amd-iommu dma-remap=on: no libvirt attribute is known (IOMMU-SPEC.md §5.1 "
                           "[U]);\n"
                           "     add it with a qemu:override of the amd-iommu device. -->\n"
                           "<devices>\n  <iommu model='amd'/>\n");
                note(e, "§4.4: amd-iommu dma-remap for VFIO shadowing is unverified [U]");
                break;
        case MDP_VIOMMU_AMD_NESTED:
                qemu_arg(e, "-device amd-iommu");
                xml_cat(e,
                        "<!-- AMD nesting has no libvirt XML and no upstream QEMU property (IOMMU-SPEC.md "
                        "§2.3 [U]);\n     configure the operator-asserted VMM option (amd-iommu.nest). -->\n"
                        "<devices>\n");
                note(e,
                     "§2.3: AMD nesting is operator-asserted (kernel amd_nest probe, vmm amd-iommu.nest); "
                     "the VMM option is not upstream [U]");
                break;
        case MDP_VIOMMU_SMMUV3_ACCEL:
                if (pasids && w) {
                        snprintf(ssid, sizeof(ssid), ",ssidsize=%u", w);
                        snprintf(ssidx, sizeof(ssidx), " ssidsize='%u'", w);
                }
                qemu_arg(e, "-device arm-smmuv3,primary-bus=pcie.0,accel=on%s%s",
                         all_units(e, has_ats) ? ",ats=on" : "", ssid);
                xml_cat(e,
                        "<!-- accel needs libvirt with SMMUv3 accel attributes (~12.x, IOMMU-SPEC.md §5.1 "
                        "[U]) -->\n<devices>\n  <iommu model='smmuv3'>\n"
                        "    <driver pciBus='0' accel='on'%s%s/>\n  </iommu>\n",
                        all_units(e, has_ats) ? " ats='on'" : "", ssidx);
                note(e,
                     "§6.5 NEST (SMMUv3): stage-2 NEST_PARENT HWPT, vIOMMU, vDEVICE and nested HWPTs; the "
                     "vfio-pci devices go on the arm-smmuv3's root complex (pcie.0); accel=on blocks "
                     "migration");
                if (pasids && !w)
                        note(e, "§4.4: PASID width unknown: set ssidsize to min(device, host) PASID width");
                break;
        default:
                xml_cat(e, "<devices>\n");
                break;
        }
}

static void emit_unit(struct emit *e, const struct mdp_unit_input *u, bool iommufd)
{
        const char *fd = iommufd ? ",iommufd=iommufd0" : "";
        unsigned d, b, s, f;

        if (u->kind == MDP_UNIT_PF || u->kind == MDP_UNIT_VF) {
                qemu_arg(e, "-device vfio-pci,host=%s%s", u->id, fd);
                if (!engine_parse_pci_address(u->id, &d, &b, &s, &f))
                        return; /* validated before */
                {
                        static const char hex[] = "0123456789abcdef";
                        char dom[5] = {hex[(d >> 12) & 15], hex[(d >> 8) & 15], hex[(d >> 4) & 15],
                                       hex[d & 15]};
                        char bus[3] = {hex[(b >> 4) & 15], hex[b & 15]};
                        char slot[3] = {hex[(s >> 4) & 15], hex[s & 15]};
                        char fn[2] = {hex[f & 7]};
                        xml_cat(e,
                                "  <hostdev mode='subsystem' type='pci' managed='yes'>\n    <source>\n"
                                "      <address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/>\n"
                                "    </source>\n  </hostdev>\n",
                                dom, bus, slot, fn);
                }
                return;
        }
        qemu_arg(e, "-device %s,sysfsdev=/sys/bus/mdev/devices/%s%s",
                 u->device_api ? u->device_api : "vfio-pci", u->id, fd);
        xml_cat(e,
                "  <hostdev mode='subsystem' type='mdev' model='%s'>\n    <source>\n"
                "      <address uuid='%s'/>\n    </source>\n  </hostdev>\n",
                u->device_api ? u->device_api : "vfio-pci", u->id);
}

void engine_emit_config(struct plan_impl *p, const struct config_input *in, struct strvec *vm_expl)
{
        struct mdp_plan *plan = &p->pub;
        struct emit e = {.p = p, .a = &p->arena, .req = in->req, .notes = vm_expl};
        bool iommufd = plan->backend == MDP_BACKEND_IOMMUFD_IOAS ||
                       plan->backend == MDP_BACKEND_IOMMUFD_NESTED_HWPT;
        bool pmdev_direct_noted = false;

        if (plan->viommu == MDP_VIOMMU_INTEL)
                qemu_arg(&e, "-machine q35,kernel-irqchip=split");
        if (iommufd)
                qemu_arg(&e, "-object iommufd,id=iommufd0");
        if (plan->strategy == MDP_STRATEGY_NEST_PV || plan->strategy == MDP_STRATEGY_SHADOW_PV) {
                xml_cat(&e,
                        "<!-- PV PASID allocation has no upstream QEMU option or libvirt XML (IOMMU-SPEC.md "
                        "§6.6):\n     configure the operator-asserted stack (pv-pasid-alloc). -->\n");
                note(&e, "§6.6: +pv: no upstream PV PASID channel exists; the plan relies on the "
                         "operator-asserted pv-pasid-alloc stack in the VMM and the guest");
        }
        emit_viommu(&e, plan->viommu);
        for (size_t i = 0; i < in->req->n_units; i++) {
                const struct mdp_unit_input *u = &in->req->units[i];
                if (u->kind == MDP_UNIT_PMDEV && plan->strategy == MDP_STRATEGY_DIRECT &&
                    !pmdev_direct_noted) {
                        pmdev_direct_noted = true;
                        note(&e, "§6.5 DIRECT (PMDEV): the vendor path attaches the mdev's PASID on the "
                                 "parent to "
                                 "the VM's GPA→HPA domain");
                }
                emit_unit(&e, u, iommufd);
        }
        xml_cat(&e, "</devices>\n");
        if (plan->strategy == MDP_STRATEGY_SHADOW || plan->strategy == MDP_STRATEGY_SHADOW_PV)
                note(&e,
                     "§6.5: shadowing costs a trap plus a pin or unpin for every guest map: slow when the "
                     "guest maps DMA dynamically [J]");
        plan->qemu = e.qemu.v;
        plan->n_qemu = e.qemu.n;
        plan->libvirt_xml = join(e.a, &e.xml);
}
