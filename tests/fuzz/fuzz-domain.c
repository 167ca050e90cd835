/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt domain-XML reader (lib/domain-xml.c, libxml2), which the hook runs on whatever
 * libvirtd passes it. The parsed domain is then read the way the planner reads it. */
#include <string.h>

#include "domain-xml.h"
#include "fuzz.h"

FUZZ_TARGET(domain)
{
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = NULL;
        _cleanup_free_ char *err = NULL;

        if (mdp_domain_parse((const char *)data, size, &d, &err) < 0) {
                FUZZ_ASSERT(err);
                return 0;
        }
        (void)mdp_domain_arch(d);
        (void)mdp_domain_has_units(d);
        for (size_t i = 0; i < d->n_mdevs; i++)
                FUZZ_ASSERT(d->mdevs[i].uuid[0] == '\0' || mdp_uuid_is_canonical(d->mdevs[i].uuid));
        for (size_t i = 0; i < d->n_pcis; i++)
                FUZZ_ASSERT(strlen(d->pcis[i].address) == 12);
        for (size_t i = 0; i < d->n_iommus; i++) {
                FUZZ_ASSERT((unsigned)d->iommus[i].model < _MDP_DOMAIN_IOMMU_MODEL_MAX);
                FUZZ_ASSERT(mdp_domain_iommu_model_to_string(d->iommus[i].model));
                for (size_t j = 0; j < d->iommus[i].n_driver_attrs; j++)
                        FUZZ_ASSERT(d->iommus[i].driver_attrs[j].name && d->iommus[i].driver_attrs[j].value);
        }
        for (size_t i = 0; i < d->n_warnings; i++)
                FUZZ_ASSERT(d->warnings[i]);
        FUZZ_ASSERT(!d->warnings || !d->warnings[d->n_warnings]);
        return 0;
}
