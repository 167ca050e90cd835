/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The domain-XML reader (libxml2), shared by `mdevpasidctl plan --domain` and the libvirt
 * hook. Pure: it parses a string and never calls libvirt, because the hook runs while
 * libvirtd waits for it (ECOSYSTEM.md §1.4). Reading a domain through libvirt is
 * lib/domain-libvirt.h, a separate library the hook does not link.
 *
 * What it reads (IOMMU-SPEC.md §5, ECOSYSTEM.md §2): the name and UUID, <os><type arch=
 * machine=>, mdev hostdevs, PCI hostdevs (and <interface type='hostdev'>), every <iommu>
 * with every <driver> attribute, <features><ioapic driver=>, and the per-VM policy in
 * <metadata><mdevpasid:policy xmlns:mdevpasid="https://mdevpasid.org/xmlns/policy/1"/>.
 * From those it derives the guest vIOMMU mode and a sentence saying how.
 *
 * Hostile input is expected (the hook reads whatever is on stdin): no network, no DTD, no
 * entity declarations (a DOCTYPE is refused outright, so no XXE and no entity expansion),
 * at most MDP_DOMAIN_XML_MAX bytes and MDP_DOMAIN_XML_MAX_DEPTH levels of elements. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "types.h"
#include "util/macro.h"
#include "util/uuid.h"

#define MDP_DOMAIN_XML_MAX (4 * 1024 * 1024)
#define MDP_DOMAIN_XML_MAX_DEPTH 64
#define MDP_POLICY_XMLNS "https://mdevpasid.org/xmlns/policy/1"
#define MDP_POLICY_XML_ELEMENT "policy"

/* <hostdev mode='subsystem' type='mdev' model='...'><source><address uuid='...'/> (§5.2) */
struct mdp_domain_mdev {
        char uuid[MDP_UUID_STRING_MAX]; /* canonical (lowercase) */
        char *model;                    /* "vfio-pci", "vfio-ccw", "vfio-ap": the type's device_api */
        unsigned line;
};

/* <hostdev type='pci'> or <interface type='hostdev'> with a PCI source address */
struct mdp_domain_pci {
        char address[16]; /* canonical "0000:06:00.0" */
        bool managed;
        bool from_interface; /* <interface type='hostdev'> (an SR-IOV VF NIC) */
        unsigned line;
};

enum mdp_domain_iommu_model {
        MDP_DOMAIN_IOMMU_INTEL,  /* since libvirt 2.1.0 */
        MDP_DOMAIN_IOMMU_SMMUV3, /* 5.5.0 */
        MDP_DOMAIN_IOMMU_VIRTIO, /* 8.3.0 */
        MDP_DOMAIN_IOMMU_AMD,    /* 11.5.0 */
        _MDP_DOMAIN_IOMMU_MODEL_MAX,
};
const char *mdp_domain_iommu_model_to_string(enum mdp_domain_iommu_model m);

/* A <driver> attribute as written. known: the reader understands it (typed below). */
struct mdp_xml_attr {
        char *name;
        char *value;
        bool known;
};

/* <iommu model=...><driver .../></iommu> (§5.1, ECOSYSTEM.md §2.2). on/off attributes are
 * unknown when absent; numbers are -1 when absent. */
struct mdp_domain_iommu {
        enum mdp_domain_iommu_model model;
        /* intel (libvirt 3.4.0–10.7.0) */
        enum mdp_tristate intremap, caching_mode, eim, iotlb, dma_translation;
        int aw_bits;
        /* intel, proposed upstream, not merged [U] (§5.1): read when present */
        enum mdp_tristate scalable_mode, fsts, svm;
        int pasid_bits;
        /* amd (11.5.0) */
        enum mdp_tristate passthrough, xtsup;
        /* smmuv3: pciBus (11.10.0); accel, ats, ril, ssidsize, oas, cmdqv posted [U] */
        int pci_bus;
        enum mdp_tristate accel, ats, ril, cmdqv;
        int ssidsize, oas;
        struct mdp_xml_attr *driver_attrs; /* every attribute, in document order */
        size_t n_driver_attrs;
        unsigned line;
};

/* The guest's use of PASIDs as the metadata states it. */
enum mdp_domain_guest_pasid {
        MDP_DOMAIN_GUEST_PASID_UNSET = -1,
        MDP_DOMAIN_GUEST_PASID_NO,   /* "no" */
        MDP_DOMAIN_GUEST_PASID_YES,  /* "yes": PASIDs on pinned DMA domains (G2) */
        MDP_DOMAIN_GUEST_PASID_SVSA, /* "svsa": shared virtual addressing, with I/O page faults (G3) */
};

/* <mdevpasid:policy guest-pasid= prefer= allow-experimental= migration-required=
 * pasid-quota=/> (docs/policy.md). Everything unset when absent. */
struct mdp_domain_policy {
        bool present;
        enum mdp_domain_guest_pasid guest_pasid;
        int prefer;                            /* enum mdp_prefer, -1 unset */
        enum mdp_tristate allow_experimental;  /* can only narrow the host policy */
        enum mdp_tristate migration_required;  /* can only add the requirement */
        int64_t pasid_quota;                   /* -1 unset; can only lower the host quota */
        unsigned line;
};

struct mdp_domain {
        char *name;
        char uuid[MDP_UUID_STRING_MAX]; /* "" when the XML has none */
        char *arch;                     /* <os><type arch=...>; NULL when absent */
        char *machine;                  /* <os><type machine=...>; NULL when absent */
        char *ioapic_driver;            /* <features><ioapic driver=...>; NULL when absent */
        struct mdp_domain_mdev *mdevs;
        size_t n_mdevs;
        struct mdp_domain_pci *pcis;
        size_t n_pcis;
        struct mdp_domain_iommu *iommus; /* usually 0 or 1; smmuv3 may have several */
        size_t n_iommus;
        struct mdp_domain_policy policy;
        enum mdp_guest_mode guest_mode;
        char *guest_mode_basis; /* "no <iommu> element ⇒ none", ... */
        char **warnings;        /* NULL-terminated; NULL when none */
        size_t n_warnings;
};

/* Parses len bytes of domain XML. 0 and a new domain, or -EINVAL (bad XML, or XML that
 * names things wrongly) with one malloc'd sentence in *ret_error naming the element or
 * attribute, its line and the fix; -EFBIG for input over MDP_DOMAIN_XML_MAX; -ENOMEM. */
int mdp_domain_parse(const char *xml, size_t len, struct mdp_domain **ret, char **ret_error);
struct mdp_domain *mdp_domain_free(struct mdp_domain *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_domain *, mdp_domain_free)

/* The engine's arch from <os><type arch=...>. */
enum mdp_arch mdp_domain_arch(const struct mdp_domain *d);
/* True when the domain has nothing for mdevpasid to do: no mdev and no PCI hostdevs (the
 * hook then exits at once, issue 7). */
bool mdp_domain_has_units(const struct mdp_domain *d);
