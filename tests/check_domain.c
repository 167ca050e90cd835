/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain-XML reader: fixture domains (tests/fixtures/domains), hostile XML (XXE, entity
 * expansion, depth, size), every error message, and the same domains read back through
 * libvirt's test driver (TESTING.md §D). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "domain-libvirt.h"
#include "domain-xml.h"
#include "test-help.h"
#include "util/macro.h"

static char *fixture_text(const char *name)
{
        _cleanup_free_ char *rel = NULL;
        char *text;

        ck_assert_int_ge(asprintf(&rel, "tests/fixtures/domains/%s", name), 0);
        text = test_read(test_srcdir(), rel);
        ck_assert_msg(text, "fixture %s missing", rel);
        return text;
}

static struct mdp_domain *parse_ok(const char *text)
{
        struct mdp_domain *d = NULL;
        char *error = NULL;
        int r = mdp_domain_parse(text, strlen(text), &d, &error);

        ck_assert_msg(r == 0, "parse failed (%d): %s", r, strna(error));
        ck_assert_ptr_null(error);
        return d;
}

static struct mdp_domain *fixture(const char *name)
{
        _cleanup_free_ char *text = fixture_text(name);
        return parse_ok(text);
}

/* Parses expecting failure; returns the malloc'd error. */
static char *parse_fails(const char *text, size_t len, int expected)
{
        struct mdp_domain *d = NULL;
        char *error = NULL;
        int r = mdp_domain_parse(text, len, &d, &error);

        ck_assert_int_eq(r, expected);
        ck_assert_ptr_null(d);
        ck_assert_ptr_nonnull(error);
        return error;
}

static bool has_warning(const struct mdp_domain *d, const char *a, const char *b)
{
        for (size_t i = 0; i < d->n_warnings; i++)
                if (strstr(d->warnings[i], a) && (!b || strstr(d->warnings[i], b)))
                        return true;
        return false;
}

START_TEST(test_intel)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = fixture("intel.xml");
        const struct mdp_domain_iommu *io;

        ck_assert_str_eq(d->name, "vm-intel");
        ck_assert_str_eq(d->uuid, "6f2a1c1e-4b7d-4c1a-9d55-0a1b2c3d4e01");
        ck_assert_str_eq(d->arch, "x86_64");
        ck_assert_int_eq(mdp_domain_arch(d), MDP_ARCH_X86_64);
        ck_assert_str_eq(d->machine, "q35");
        ck_assert_str_eq(d->ioapic_driver, "qemu");
        ck_assert_uint_eq(d->n_mdevs, 1);
        /* Canonical lowercase, as sysfs names it. */
        ck_assert_str_eq(d->mdevs[0].uuid, "c2177883-f1bb-47f0-914d-32a22e3a8804");
        ck_assert_str_eq(d->mdevs[0].model, "vfio-pci");
        ck_assert_uint_eq(d->mdevs[0].line, 18);
        ck_assert_uint_eq(d->n_pcis, 1);
        ck_assert_str_eq(d->pcis[0].address, "0000:06:00.0");
        ck_assert(d->pcis[0].managed);
        ck_assert(!d->pcis[0].from_interface);
        ck_assert_uint_eq(d->n_iommus, 1);
        io = &d->iommus[0];
        ck_assert_int_eq(io->model, MDP_DOMAIN_IOMMU_INTEL);
        ck_assert_str_eq(mdp_domain_iommu_model_to_string(io->model), "intel");
        ck_assert_int_eq(io->intremap, MDP_YES);
        ck_assert_int_eq(io->caching_mode, MDP_YES);
        ck_assert_int_eq(io->eim, MDP_YES);
        ck_assert_int_eq(io->iotlb, MDP_YES);
        ck_assert_int_eq(io->aw_bits, 48);
        ck_assert_int_eq(io->dma_translation, MDP_UNKNOWN);
        ck_assert_int_eq(io->svm, MDP_UNKNOWN);
        ck_assert_int_eq(io->pasid_bits, -1);
        ck_assert_uint_eq(io->n_driver_attrs, 5);
        ck_assert_str_eq(io->driver_attrs[4].name, "aw_bits");
        ck_assert_str_eq(io->driver_attrs[4].value, "48");
        for (size_t i = 0; i < io->n_driver_attrs; i++)
                ck_assert(io->driver_attrs[i].known);
        ck_assert(d->policy.present);
        ck_assert_int_eq(d->policy.guest_pasid, MDP_DOMAIN_GUEST_PASID_YES);
        ck_assert_int_eq(d->policy.prefer, MDP_PREFER_NEST);
        ck_assert_int_eq(d->policy.allow_experimental, MDP_UNKNOWN);
        ck_assert_int_eq(d->policy.pasid_quota, -1);
        ck_assert_int_eq(d->guest_mode, MDP_GUEST_PASID);
        ck_assert_str_eq(d->guest_mode_basis, "<iommu model='intel'> and metadata guest-pasid='yes' ⇒ pasid");
        ck_assert_uint_eq(d->n_warnings, 0);
        ck_assert(mdp_domain_has_units(d));
}
END_TEST

START_TEST(test_smmuv3)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = fixture("smmuv3.xml");

        ck_assert_int_eq(mdp_domain_arch(d), MDP_ARCH_AARCH64);
        ck_assert_uint_eq(d->n_mdevs, 2);
        ck_assert_str_eq(d->mdevs[1].uuid, "29a5d629-5236-452f-9c1b-1e3b31a976cc");
        ck_assert_uint_eq(d->n_pcis, 1);
        ck_assert_str_eq(d->pcis[0].address, "0002:81:1f.7");
        ck_assert(!d->pcis[0].managed);
        ck_assert_uint_eq(d->n_iommus, 1);
        ck_assert_int_eq(d->iommus[0].model, MDP_DOMAIN_IOMMU_SMMUV3);
        ck_assert_uint_eq(d->iommus[0].n_driver_attrs, 0);
        ck_assert_ptr_null(d->ioapic_driver);
        ck_assert_int_eq(d->guest_mode, MDP_GUEST_NOPASID);
        ck_assert_str_eq(d->guest_mode_basis, "<iommu model='smmuv3'> and metadata guest-pasid='no' ⇒ nopasid");
        ck_assert_uint_eq(d->n_warnings, 0);
}
END_TEST

START_TEST(test_virtio)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = fixture("virtio.xml");

        ck_assert_uint_eq(d->n_mdevs, 0);
        /* The USB hostdev is not ours; the VF NIC is a PCI unit. */
        ck_assert_uint_eq(d->n_pcis, 2);
        ck_assert_str_eq(d->pcis[0].address, "0000:3b:02.1");
        ck_assert_str_eq(d->pcis[1].address, "0000:3b:10.3");
        ck_assert(d->pcis[1].from_interface);
        ck_assert(d->pcis[1].managed);
        ck_assert_int_eq(d->iommus[0].model, MDP_DOMAIN_IOMMU_VIRTIO);
        ck_assert(!d->policy.present);
        ck_assert_int_eq(d->guest_mode, MDP_GUEST_NOPASID);
        ck_assert_str_eq(d->guest_mode_basis, "<iommu model='virtio'> and no mdevpasid metadata ⇒ nopasid");
}
END_TEST

START_TEST(test_no_viommu)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = fixture("none.xml");

        ck_assert_uint_eq(d->n_mdevs, 1);
        ck_assert_uint_eq(d->n_iommus, 0);
        ck_assert_int_eq(d->guest_mode, MDP_GUEST_NONE);
        ck_assert_str_eq(d->guest_mode_basis,
                         "no <iommu> element ⇒ none (metadata guest-pasid='yes' ignored: the guest has no vIOMMU)");
        ck_assert_uint_eq(d->n_warnings, 1);
        ck_assert(has_warning(d, "domain XML line 7: <mdevpasid:policy guest-pasid='yes'> but the domain has no <iommu>",
                              "add an <iommu> element or drop the attribute"));
}
END_TEST

START_TEST(test_no_hostdevs)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = fixture("nohostdevs.xml");

        ck_assert(!mdp_domain_has_units(d));
        ck_assert_int_eq(d->guest_mode, MDP_GUEST_NOPASID);
        ck_assert_uint_eq(d->n_warnings, 0);
}
END_TEST

START_TEST(test_metadata_policy)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = fixture("metadata-policy.xml");
        const struct mdp_domain_policy *p = &d->policy;

        ck_assert(p->present);
        ck_assert_uint_eq(p->line, 9); /* where the start tag ends */
        ck_assert_int_eq(p->guest_pasid, MDP_DOMAIN_GUEST_PASID_SVSA);
        ck_assert_int_eq(p->prefer, MDP_PREFER_SHADOW);
        ck_assert_int_eq(p->allow_experimental, MDP_YES);
        ck_assert_int_eq(p->migration_required, MDP_YES);
        ck_assert_int_eq(p->pasid_quota, 32);
        ck_assert_int_eq(d->guest_mode, MDP_GUEST_SVSA);
        ck_assert_str_eq(d->guest_mode_basis, "<iommu model='intel'> and metadata guest-pasid='svsa' ⇒ svsa");
        ck_assert_uint_eq(d->n_warnings, 1);
        ck_assert(has_warning(d, "<mdevpasid:policy colour='blue'>: unknown attribute, ignored", "guest-pasid"));
}
END_TEST

START_TEST(test_proposed_and_unknown_driver_attrs)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = fixture("intel-proposed-attrs.xml");
        const struct mdp_domain_iommu *io = &d->iommus[0];

        ck_assert_int_eq(io->scalable_mode, MDP_YES);
        ck_assert_int_eq(io->fsts, MDP_YES);
        ck_assert_int_eq(io->pasid_bits, 20);
        ck_assert_int_eq(io->dma_translation, MDP_YES);
        ck_assert_uint_eq(io->n_driver_attrs, 6);
        ck_assert_str_eq(io->driver_attrs[5].name, "colour");
        ck_assert_str_eq(io->driver_attrs[5].value, "blue");
        ck_assert(!io->driver_attrs[5].known);
        ck_assert(has_warning(d, "<iommu model='intel'><driver colour='blue'>: attribute unknown to mdevpasid",
                              "kept but not used in decisions"));
        /* The vIOMMU exposes PASIDs, so the guest can use them. */
        ck_assert_int_eq(d->guest_mode, MDP_GUEST_PASID);
        ck_assert_str_eq(d->guest_mode_basis,
                         "<iommu model='intel'> with <driver pasid_bits='20'> and no mdevpasid metadata ⇒ pasid");
        ck_assert_str_eq(d->uuid, "");
        ck_assert_int_eq(mdp_domain_arch(d), MDP_ARCH_UNKNOWN);
}
END_TEST

START_TEST(test_dma_translation_off)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = fixture("intel-dma-translation-off.xml");

        /* libvirt's base-0 numbers: "1" is bus 1. */
        ck_assert_str_eq(d->pcis[0].address, "0000:01:00.0");
        ck_assert(!d->pcis[0].managed);
        ck_assert_int_eq(d->guest_mode, MDP_GUEST_NONE);
        ck_assert_str_eq(d->guest_mode_basis,
                         "<iommu model='intel'> with <driver dma_translation='off'> remaps interrupts only ⇒ none");
}
END_TEST

/* Guest mode: the XML and the metadata together, the higher wins. */
START_TEST(test_guest_mode_combinations)
{
        static const struct {
                const char *driver, *metadata;
                enum mdp_guest_mode mode;
                const char *basis;
        } cases[] = {
                { "", "", MDP_GUEST_NOPASID, "<iommu model='intel'> and no mdevpasid metadata ⇒ nopasid" },
                { "", "prefer='shadow'", MDP_GUEST_NOPASID,
                  "<iommu model='intel'> and metadata without guest-pasid ⇒ nopasid" },
                { "", "guest-pasid='no'", MDP_GUEST_NOPASID,
                  "<iommu model='intel'> and metadata guest-pasid='no' ⇒ nopasid" },
                { "", "guest-pasid='svsa'", MDP_GUEST_SVSA, "<iommu model='intel'> and metadata guest-pasid='svsa' ⇒ svsa" },
                { "svm='on'", "guest-pasid='no'", MDP_GUEST_SVSA,
                  "<iommu model='intel'> with <driver svm='on'> and metadata guest-pasid='no' ⇒ svsa (the vIOMMU "
                  "exposes more than guest-pasid='no' says; the guest can use it)" },
                { "pasid_bits='8'", "guest-pasid='svsa'", MDP_GUEST_SVSA,
                  "<iommu model='intel'> with <driver pasid_bits='8'> and metadata guest-pasid='svsa' ⇒ svsa" },
                { "pasid_bits='0'", "", MDP_GUEST_NOPASID, "<iommu model='intel'> and no mdevpasid metadata ⇒ nopasid" },
                { "dma_translation='off'", "guest-pasid='yes'", MDP_GUEST_NONE,
                  "<iommu model='intel'> with <driver dma_translation='off'> remaps interrupts only ⇒ none" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *xml = NULL;
                _cleanup_(mdp_domain_freep) struct mdp_domain *d = NULL;

                ck_assert_int_ge(asprintf(&xml,
                                          "<domain><name>g</name><metadata>%s%s%s</metadata><devices>"
                                          "<iommu model='intel'><driver %s/></iommu></devices></domain>",
                                          *cases[i].metadata ? "<p:policy xmlns:p='" MDP_POLICY_XMLNS "' " : "",
                                          cases[i].metadata, *cases[i].metadata ? "/>" : "", cases[i].driver),
                                 0);
                d = parse_ok(xml);
                ck_assert_msg(d->guest_mode == cases[i].mode, "case %zu: mode %s", i,
                              mdp_guest_mode_to_string(d->guest_mode));
                ck_assert_str_eq(d->guest_mode_basis, cases[i].basis);
        }
}
END_TEST

START_TEST(test_fixture_errors)
{
        static const struct {
                const char *file, *expect;
        } cases[] = {
                { "malformed.xml", "domain XML line 7: malformed XML: Opening and ending tag mismatch: source line 5 "
                                   "and hostdev" },
                { "unknown-iommu-model.xml", "domain XML line 4: <iommu model='bogus'>: unknown vIOMMU model: "
                                             "expected 'intel', 'smmuv3', 'virtio' or 'amd'" },
                { "mdev-no-uuid.xml", "domain XML line 7: <hostdev type='mdev'> (hostdev #2) has no <source><address "
                                      "uuid='...'/>: add the mdev's UUID" },
                { "pci-out-of-range.xml", "domain XML line 4: <hostdev type='pci'> <source><address slot='0x20'>: out "
                                          "of range (0 to 0x1f)" },
                { "xxe.xml", "domain XML line 2: a DOCTYPE (DTD) declaration is not accepted in domain XML" },
                { "billion-laughs.xml", "a DOCTYPE (DTD) declaration is not accepted" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = fixture_text(cases[i].file), *err = NULL;

                err = parse_fails(text, strlen(text), -EINVAL);
                ck_assert_msg(strstr(err, cases[i].expect), "%s: got \"%s\"", cases[i].file, err);
                ck_assert_ptr_null(strstr(err, "root:"));
        }
}
END_TEST

static const struct {
        const char *xml, *expect;
} bad_xml[] = {
        { "<domain><name>a</name><devices><iommu/></devices></domain>",
          "<iommu> has no model attribute: add model='intel', 'smmuv3', 'virtio' or 'amd'" },
        { "<domain><name>a</name><devices><hostdev mode='subsystem'/></devices></domain>",
          "<hostdev> #1 has no type attribute" },
        { "<domain><name>a</name><devices><hostdev type='mdev' model='vfio-pci'><source><address uuid='xyz'/>"
          "</source></hostdev></devices></domain>",
          "<address uuid='xyz'>: not a UUID" },
        { "<domain><name>a</name><devices><hostdev type='mdev'><source><address "
          "uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev></devices></domain>",
          "for c2177883-f1bb-47f0-914d-32a22e3a8804 has no model attribute: add model='vfio-pci'" },
        { "<domain><name>a</name><devices><hostdev type='mdev' model='vfio-mdev'><source><address "
          "uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev></devices></domain>",
          "<hostdev type='mdev' model='vfio-mdev'> for c2177883-f1bb-47f0-914d-32a22e3a8804: unknown model" },
        { "<domain><name>a</name><devices>\n"
          "<hostdev type='mdev' model='vfio-pci'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/>"
          "</source></hostdev>\n"
          "<hostdev type='mdev' model='vfio-pci'><source><address uuid='C2177883-F1BB-47F0-914D-32A22E3A8804'/>"
          "</source></hostdev></devices></domain>",
          "line 3: mdev c2177883-f1bb-47f0-914d-32a22e3a8804 is listed twice (first at line 2): remove one" },
        { "<domain><name>a</name><devices>"
          "<hostdev type='pci'><source><address domain='0' bus='6' slot='0' function='0'/></source></hostdev>"
          "<interface type='hostdev'><source><address type='pci' bus='0x06' slot='0x00' function='0x0'/></source>"
          "</interface></devices></domain>",
          "PCI device 0000:06:00.0 is listed twice" },
        { "<domain><name>a</name><devices><hostdev type='pci'><source><address bus='0x06' function='0'/></source>"
          "</hostdev></devices></domain>",
          "<hostdev type='pci'> <source><address>: slot is missing: add slot='0x..'" },
        { "<domain><name>a</name><devices><hostdev type='pci'><source/></hostdev></devices></domain>",
          "<hostdev type='pci'> has no <source><address domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>" },
        { "<domain><name>a</name><devices><hostdev type='pci'><source><address domain='0x10000' bus='0' slot='0' "
          "function='0'/></source></hostdev></devices></domain>",
          "<address domain='0x10000'>: out of range (0 to 0xffff)" },
        { "<domain><name>a</name><devices><hostdev type='pci'><source><address bus='0x100' slot='0' "
          "function='0'/></source></hostdev></devices></domain>",
          "<address bus='0x100'>: out of range (0 to 0xff)" },
        { "<domain><name>a</name><devices><hostdev type='pci'><source><address bus='1' slot='0' "
          "function='8'/></source></hostdev></devices></domain>",
          "<address function='8'>: out of range (0 to 0x7)" },
        { "<domain><name>a</name><devices><hostdev type='pci'><source><address bus='-1' slot='0' "
          "function='0'/></source></hostdev></devices></domain>",
          "<address bus='-1'>: not a number" },
        { "<domain><name>a</name><devices><hostdev type='pci' managed='true'><source><address bus='1' slot='0' "
          "function='0'/></source></hostdev></devices></domain>",
          "managed='true': expected 'yes' or 'no'" },
        { "<domain><name>a</name><devices><interface type='hostdev'><source><address type='usb' bus='1' "
          "port='1'/></source></interface></devices></domain>",
          "<interface type='hostdev'> <source><address type='usb'>: expected type='pci'" },
        { "<domain><name>a</name><devices><iommu model='intel'><driver caching_mode='yes'/></iommu></devices>"
          "</domain>",
          "<iommu model='intel'><driver caching_mode='yes': expected 'on' or 'off'" },
        { "<domain><name>a</name><devices><iommu model='intel'><driver pasid_bits='21'/></iommu></devices>"
          "</domain>",
          "<iommu model='intel'><driver pasid_bits='21': expected a number from 0 to 20" },
        { "<vm><name>a</name></vm>", "the root element is <vm>, expected <domain>" },
        { "<domain><devices/></domain>", "<domain> has no <name>: add the VM's name" },
        { "<domain><name>  </name></domain>", "<domain> has no <name>" },
        { "<domain><name>a</name><uuid>not-a-uuid</uuid></domain>", "<uuid>not-a-uuid</uuid>: not a UUID" },
        { "<domain><name>a</name><metadata><p:policy xmlns:p='" MDP_POLICY_XMLNS "' guest-pasid='maybe'/>"
          "</metadata></domain>",
          "<mdevpasid:policy guest-pasid='maybe': expected 'no', 'yes' or 'svsa'" },
        { "<domain><name>a</name><metadata><p:policy xmlns:p='" MDP_POLICY_XMLNS "' prefer='fast'/></metadata>"
          "</domain>",
          "<mdevpasid:policy prefer='fast': expected 'nest' or 'shadow'" },
        { "<domain><name>a</name><metadata><p:policy xmlns:p='" MDP_POLICY_XMLNS "' allow-experimental='on'/>"
          "</metadata></domain>",
          "<mdevpasid:policy allow-experimental='on': expected 'yes' or 'no'" },
        { "<domain><name>a</name><metadata><p:policy xmlns:p='" MDP_POLICY_XMLNS "' pasid-quota='1048577'/>"
          "</metadata></domain>",
          "<mdevpasid:policy pasid-quota='1048577': expected a number of PASIDs from 0 to 1048576" },
        { "<domain><name>a</name><metadata>\n<p:policy xmlns:p='" MDP_POLICY_XMLNS "'/>\n"
          "<q:policy xmlns:q='" MDP_POLICY_XMLNS "'/></metadata></domain>",
          "line 3: a second <mdevpasid:policy> element (the first is at line 2): keep one" },
        { "<domain><name>a</name><name>&undefined;</name></domain>", "malformed XML: Entity 'undefined' not defined" },
        { "<domain><name>a</name>", "malformed XML: Premature end of data in tag domain line 1" },
        { "not xml at all", "domain XML line 1: malformed XML: Start tag expected" },
};

START_TEST(test_bad_xml)
{
        _cleanup_free_ char *err = parse_fails(bad_xml[_i].xml, strlen(bad_xml[_i].xml), -EINVAL);

        ck_assert_msg(strstr(err, bad_xml[_i].expect), "case %d: \"%s\" not in \"%s\"", _i, bad_xml[_i].expect, err);
        ck_assert(startswith(err, "domain XML"));
}
END_TEST

START_TEST(test_limits)
{
        const size_t depth = 10000;
        _cleanup_free_ char *deep = malloc(depth * 7 + 64), *big = NULL, *err = NULL;
        char *p = deep;

        /* 10000 levels: refused at the limit by the SAX guard, no recursion blow-up. */
        p += sprintf(p, "<domain><name>a</name>");
        for (size_t i = 0; i < depth; i++)
                p += sprintf(p, "<a>");
        for (size_t i = 0; i < depth; i++)
                p += sprintf(p, "</a>");
        sprintf(p, "</domain>");
        err = parse_fails(deep, strlen(deep), -EINVAL);
        ck_assert_msg(strstr(err, "elements nested deeper than 64 levels"), "%s", err);
        free(TAKE_PTR(err));

        /* Over 4 MiB: refused before parsing. */
        big = malloc(MDP_DOMAIN_XML_MAX + 2);
        memset(big, ' ', MDP_DOMAIN_XML_MAX + 1);
        big[MDP_DOMAIN_XML_MAX + 1] = '\0';
        err = parse_fails(big, MDP_DOMAIN_XML_MAX + 1, -EFBIG);
        ck_assert_str_eq(err, "domain XML: larger than 4 MiB, the limit for a domain");
        free(TAKE_PTR(err));

        err = parse_fails("", 0, -EINVAL);
        ck_assert_str_eq(err, "domain XML: empty input");
        free(TAKE_PTR(err));
        err = parse_fails("<domain>\0</domain>", 18, -EINVAL);
        ck_assert_str_eq(err, "domain XML: contains a NUL byte: not an XML text");
        free(TAKE_PTR(err));
        /* Without ret_error the code alone comes back. */
        {
                struct mdp_domain *d = NULL;
                ck_assert_int_eq(mdp_domain_parse("<x/>", 4, &d, NULL), -EINVAL);
                ck_assert_ptr_null(d);
        }
}
END_TEST

/* An external entity must not even be opened: inotify watches the target file. */
static bool file_was_opened(int ifd)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        struct pollfd pfd = { .fd = ifd, .events = POLLIN };
        bool opened = false;

        while (poll(&pfd, 1, 0) > 0) {
                ssize_t n = read(ifd, buf, sizeof(buf));
                for (char *p = buf; n > 0 && p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;
                        if (ev->mask & (IN_OPEN | IN_ACCESS))
                                opened = true;
                        p += sizeof(*ev) + ev->len;
                }
                if (n <= 0)
                        break;
        }
        return opened;
}

START_TEST(test_xxe_never_reads_the_file)
{
        _cleanup_free_ char *root = test_mkdtemp("xxe"), *secret = NULL, *xml = NULL, *err = NULL;
        _cleanup_close_ int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        static const char *const templates[] = {
                /* external general entity in content */
                "<?xml version='1.0'?>\n<!DOCTYPE domain [ <!ENTITY x SYSTEM 'file://%s'> ]>\n"
                "<domain><name>&x;</name></domain>",
                /* external parameter entity (out-of-band XXE) */
                "<!DOCTYPE domain [ <!ENTITY %% p SYSTEM 'file://%s'> %%p; ]><domain><name>a</name></domain>",
                /* external DTD */
                "<!DOCTYPE domain SYSTEM 'file://%s'><domain><name>a</name></domain>",
                /* XInclude is not processed either */
                "<domain xmlns:xi='http://www.w3.org/2001/XInclude'><name>a</name>"
                "<xi:include href='file://%s' parse='text'/></domain>",
        };
        int fd;

        ck_assert_int_ge(ifd, 0);
        ck_assert_int_ge(asprintf(&secret, "%s/secret", root), 0);
        test_write(root, "secret", "TOP-SECRET\n");
        ck_assert_int_ge(inotify_add_watch(ifd, secret, IN_OPEN | IN_ACCESS), 0);
        /* The watch works: opening the file is seen. */
        fd = open(secret, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert(file_was_opened(ifd));

        for (size_t i = 0; i < ELEMENTSOF(templates); i++) {
                struct mdp_domain *d = NULL;
                int r;

                free(xml);
                free(err);
                err = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                ck_assert_int_ge(asprintf(&xml, templates[i], secret), 0);
#pragma GCC diagnostic pop
                r = mdp_domain_parse(xml, strlen(xml), &d, &err);
                ck_assert_msg(!file_was_opened(ifd), "case %zu opened %s", i, secret);
                if (i < 3) {
                        ck_assert_int_eq(r, -EINVAL);
                        ck_assert_msg(strstr(err, "DOCTYPE (DTD) declaration is not accepted"), "%s", err);
                        ck_assert_ptr_null(strstr(err, "TOP-SECRET"));
                } else {
                        ck_assert_int_eq(r, 0);
                        ck_assert_str_eq(d->name, "a");
                        mdp_domain_free(d);
                }
        }
        test_rm_rf(root);
}
END_TEST

/* ---- through libvirt's test driver ---- */

static const char *const libvirt_fixtures[] = { "intel.xml", "smmuv3.xml", "virtio.xml",
                                                "none.xml",  "nohostdevs.xml", "metadata-policy.xml" };

/* test:///<abs path> with a node XML wrapping the fixtures (TESTING.md §D). */
static char *make_node(char **ret_dir)
{
        char *dir = test_mkdtemp("lv"), *uri = NULL;
        FILE *f;
        _cleanup_free_ char *path = NULL;

        ck_assert_int_ge(asprintf(&path, "%s/node.xml", dir), 0);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("<node>\n", f);
        for (size_t i = 0; i < ELEMENTSOF(libvirt_fixtures); i++) {
                _cleanup_free_ char *text = fixture_text(libvirt_fixtures[i]);
                fputs(text, f);
        }
        fputs("</node>\n", f);
        fclose(f);
        ck_assert_int_ge(asprintf(&uri, "test://%s", path), 0);
        *ret_dir = dir;
        return uri;
}

static void assert_same_domain(const struct mdp_domain *a, const struct mdp_domain *b)
{
        ck_assert_str_eq(a->name, b->name);
        ck_assert_str_eq(a->uuid, b->uuid);
        ck_assert_uint_eq(a->n_mdevs, b->n_mdevs);
        for (size_t i = 0; i < a->n_mdevs; i++) {
                ck_assert_str_eq(a->mdevs[i].uuid, b->mdevs[i].uuid);
                ck_assert_str_eq(a->mdevs[i].model, b->mdevs[i].model);
        }
        /* libvirt formats <interface> before <hostdev>: compare as sets. */
        ck_assert_uint_eq(a->n_pcis, b->n_pcis);
        for (size_t i = 0; i < a->n_pcis; i++) {
                bool found = false;
                for (size_t j = 0; j < b->n_pcis; j++)
                        if (streq(a->pcis[i].address, b->pcis[j].address)) {
                                found = true;
                                ck_assert_int_eq(a->pcis[i].managed, b->pcis[j].managed);
                                ck_assert_int_eq(a->pcis[i].from_interface, b->pcis[j].from_interface);
                        }
                ck_assert_msg(found, "%s: PCI %s lost", a->name, a->pcis[i].address);
        }
        ck_assert_uint_eq(a->n_iommus, b->n_iommus);
        for (size_t i = 0; i < a->n_iommus; i++) {
                ck_assert_int_eq(a->iommus[i].model, b->iommus[i].model);
                ck_assert_int_eq(a->iommus[i].intremap, b->iommus[i].intremap);
                ck_assert_int_eq(a->iommus[i].caching_mode, b->iommus[i].caching_mode);
                ck_assert_int_eq(a->iommus[i].eim, b->iommus[i].eim);
                ck_assert_int_eq(a->iommus[i].iotlb, b->iommus[i].iotlb);
                ck_assert_int_eq(a->iommus[i].aw_bits, b->iommus[i].aw_bits);
        }
        ck_assert_str_eq(strna(a->ioapic_driver), strna(b->ioapic_driver));
        ck_assert_str_eq(strna(a->arch), strna(b->arch));
        ck_assert_int_eq(a->policy.present, b->policy.present);
        ck_assert_int_eq(a->policy.guest_pasid, b->policy.guest_pasid);
        ck_assert_int_eq(a->policy.prefer, b->policy.prefer);
        ck_assert_int_eq(a->policy.allow_experimental, b->policy.allow_experimental);
        ck_assert_int_eq(a->policy.pasid_quota, b->policy.pasid_quota);
        ck_assert_int_eq(a->guest_mode, b->guest_mode);
        ck_assert_str_eq(a->guest_mode_basis, b->guest_mode_basis);
        ck_assert_uint_eq(a->n_warnings, b->n_warnings);
}

START_TEST(test_libvirt_test_driver)
{
        _cleanup_free_ char *dir = NULL, *uri = make_node(&dir);

        for (size_t i = 0; i < ELEMENTSOF(libvirt_fixtures); i++) {
                _cleanup_(mdp_domain_freep) struct mdp_domain *direct = fixture(libvirt_fixtures[i]);
                _cleanup_(mdp_domain_freep) struct mdp_domain *via = NULL;
                _cleanup_free_ char *err = NULL;
                int r = mdp_domain_read_libvirt(uri, direct->name, &via, &err);

                ck_assert_msg(r == 0, "%s: %d %s", libvirt_fixtures[i], r, strna(err));
                assert_same_domain(direct, via);
        }
        test_rm_rf(dir);
}
END_TEST

START_TEST(test_libvirt_quirks)
{
        _cleanup_free_ char *dir = NULL, *uri = make_node(&dir), *path = NULL, *node = NULL, *err = NULL;
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = NULL;

        /* libvirt adds managed='no' to mdev hostdevs and lowercases UUIDs; the reader does not
         * care about the first and does the second itself. */
        ck_assert_int_eq(mdp_domain_read_libvirt(uri, "vm-intel", &d, &err), 0);
        ck_assert_str_eq(d->mdevs[0].uuid, "c2177883-f1bb-47f0-914d-32a22e3a8804");
        d = mdp_domain_free(d);

        /* libvirt 9.0 refuses intremap without the split I/O APIC (TESTING.md §D). The reader
         * only warns: it reads, libvirt validates. */
        ck_assert_int_ge(asprintf(&path, "%s/bad.xml", dir), 0);
        node = fixture_text("nohostdevs.xml");
        {
                char *f = strstr(node, "<ioapic driver='qemu'/>");
                memset(f, ' ', strlen("<ioapic driver='qemu'/>"));
        }
        d = parse_ok(node);
        ck_assert(has_warning(d, "needs <features><ioapic driver='qemu'/></features>", NULL));
        d = mdp_domain_free(d);
        {
                _cleanup_free_ char *wrapped = NULL, *bad_uri = NULL;
                ck_assert_int_ge(asprintf(&wrapped, "<node>%s</node>", node), 0);
                test_write(dir, "bad.xml", wrapped);
                ck_assert_int_ge(asprintf(&bad_uri, "test://%s", path), 0);
                ck_assert_int_eq(mdp_domain_read_libvirt(bad_uri, "vm-nohostdevs", &d, &err), -ECONNREFUSED);
                ck_assert_msg(strstr(err, "IOMMU interrupt remapping requires split I/O APIC"), "%s", err);
                ck_assert_msg(strstr(err, "cannot connect to libvirt at test://"), "%s", err);
                free(TAKE_PTR(err));
        }

        /* libvirt 9.0 does not know model='amd' (11.5.0 added it): its test driver refuses the
         * node. The reader accepts it, for newer libvirt and for the hook. */
        {
                static const char amd[] = "<domain type='kvm'><name>vm-amd</name><memory>524288</memory>"
                                          "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
                                          "<iommu model='amd'><driver xtsup='on' passthrough='off'/></iommu>"
                                          "</devices></domain>";
                _cleanup_free_ char *wrapped = NULL, *amd_uri = NULL;

                d = parse_ok(amd);
                ck_assert_int_eq(d->iommus[0].model, MDP_DOMAIN_IOMMU_AMD);
                ck_assert_int_eq(d->iommus[0].xtsup, MDP_YES);
                ck_assert_int_eq(d->iommus[0].passthrough, MDP_NO);
                ck_assert_uint_eq(d->n_warnings, 0);
                d = mdp_domain_free(d);
                ck_assert_int_ge(asprintf(&wrapped, "<node>%s</node>", amd), 0);
                test_write(dir, "amd.xml", wrapped);
                ck_assert_int_ge(asprintf(&amd_uri, "test://%s/amd.xml", dir), 0);
                if (mdp_domain_read_libvirt(amd_uri, "vm-amd", &d, &err) == 0) {
                        /* a libvirt that knows it reads it back the same */
                        ck_assert_int_eq(d->iommus[0].model, MDP_DOMAIN_IOMMU_AMD);
                        d = mdp_domain_free(d);
                } else
                        ck_assert_msg(strstr(err, "Invalid value for attribute 'model' in element 'iommu'"), "%s", err);
                free(TAKE_PTR(err));
        }

        /* Errors name the URI and the domain. */
        ck_assert_int_eq(mdp_domain_read_libvirt(uri, "no-such-vm", &d, &err), -ENOENT);
        ck_assert_ptr_null(d);
        ck_assert_msg(startswith(err, "no domain named 'no-such-vm' at test://"), "%s", err);
        free(TAKE_PTR(err));
        ck_assert_int_eq(mdp_domain_read_libvirt("test:///nonexistent/node.xml", "x", &d, &err), -ECONNREFUSED);
        ck_assert_msg(strstr(err, "test:///nonexistent/node.xml"), "%s", err);
        free(TAKE_PTR(err));
        ck_assert_int_eq(mdp_domain_read_libvirt(uri, "", &d, &err), -EINVAL);
        test_rm_rf(dir);
}
END_TEST

static Suite *domain_suite(void)
{
        Suite *s = suite_create("domain");
        TCase *tc = tcase_create("parse");
        TCase *lv = tcase_create("libvirt");

        tcase_add_test(tc, test_intel);
        tcase_add_test(tc, test_smmuv3);
        tcase_add_test(tc, test_virtio);
        tcase_add_test(tc, test_no_viommu);
        tcase_add_test(tc, test_no_hostdevs);
        tcase_add_test(tc, test_metadata_policy);
        tcase_add_test(tc, test_proposed_and_unknown_driver_attrs);
        tcase_add_test(tc, test_dma_translation_off);
        tcase_add_test(tc, test_guest_mode_combinations);
        tcase_add_test(tc, test_fixture_errors);
        tcase_add_loop_test(tc, test_bad_xml, 0, ELEMENTSOF(bad_xml));
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_xxe_never_reads_the_file);
        suite_add_tcase(s, tc);
        tcase_add_test(lv, test_libvirt_test_driver);
        tcase_add_test(lv, test_libvirt_quirks);
        suite_add_tcase(s, lv);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(domain_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
