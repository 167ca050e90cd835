/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PCI extended capability walk over a config-space image (IOMMU-SPEC.md §3): pure. */

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* config is what reading the device's sysfs "config" returned, size its length:
 * 4096 = PCIe, walk from 0x100 with loop and bounds guards; 256 = conventional PCI, no
 * extended capabilities; less (64 for unprivileged readers) = every extended capability
 * unknown (IOMMU-SPEC.md §3.1). */
void mdp_pci_caps_parse(const uint8_t *config, size_t size, struct mdp_pci_caps *ret);
