/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every fixed name of the product, spelled once: bus names, object paths, interfaces,
 * error names, polkit actions, environment variables, host paths and sysfs attribute
 * names (DESIGN.md §4, IOMMU-SPEC.md §1.1). */

/* D-Bus */
#define MDP_BUS_NAME "org.mdevpasid1"
#define MDP_OBJECT_ROOT "/org/mdevpasid1"
#define MDP_OBJECT_PARENTS MDP_OBJECT_ROOT "/parent"
#define MDP_OBJECT_DEVICES MDP_OBJECT_ROOT "/device"
#define MDP_OBJECT_VMS MDP_OBJECT_ROOT "/vm"
#define MDP_IFACE_MANAGER "org.mdevpasid1.Manager"
#define MDP_IFACE_PARENT "org.mdevpasid1.Parent"
#define MDP_IFACE_DEVICE "org.mdevpasid1.Device"
#define MDP_IFACE_VM "org.mdevpasid1.Vm"

#define MDP_ERROR_PREFIX "org.mdevpasid1.Error."
#define MDP_ERROR_NO_SUCH_PARENT MDP_ERROR_PREFIX "NoSuchParent"
#define MDP_ERROR_NO_SUCH_TYPE MDP_ERROR_PREFIX "NoSuchType"
#define MDP_ERROR_NO_SUCH_DEVICE MDP_ERROR_PREFIX "NoSuchDevice"
#define MDP_ERROR_NO_SUCH_VM MDP_ERROR_PREFIX "NoSuchVm"
#define MDP_ERROR_NO_CAPACITY MDP_ERROR_PREFIX "NoCapacity"
#define MDP_ERROR_ALREADY_EXISTS MDP_ERROR_PREFIX "AlreadyExists"
#define MDP_ERROR_BUSY MDP_ERROR_PREFIX "Busy"
#define MDP_ERROR_REFUSED MDP_ERROR_PREFIX "Refused"
#define MDP_ERROR_INVALID_CONFIG MDP_ERROR_PREFIX "InvalidConfig"
#define MDP_ERROR_NOT_AUTHORIZED MDP_ERROR_PREFIX "NotAuthorized"
#define MDP_ERROR_TIMEOUT MDP_ERROR_PREFIX "Timeout"
#define MDP_ERROR_KERNEL MDP_ERROR_PREFIX "KernelError"
/* the standard error for a malformed argument (a bad UUID or name) */
#define MDP_ERROR_INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"

/* polkit actions (DESIGN.md §4) */
#define MDP_ACTION_MANAGE_DEVICES "org.mdevpasid1.manage-devices"
#define MDP_ACTION_ASSIGN_VM "org.mdevpasid1.assign-vm"
#define MDP_ACTION_ALLOCATE_PASID "org.mdevpasid1.allocate-pasid"
#define MDP_ACTION_RELOAD "org.mdevpasid1.reload"

/* Environment variables (documented in README.md, "Testing") */
#define MDP_ENV_ROOT "MDEVPASID_ROOT"       /* re-roots every host path */
#define MDP_ENV_DATADIR "MDEVPASID_DATADIR" /* shipped data (profiles) instead of $(pkgdatadir) */
#define MDP_ENV_LOG_LEVEL "MDEVPASID_LOG_LEVEL"

/* Host paths, before MDEVPASID_ROOT is applied */
#define MDP_HOST_SYSFS "/sys"
#define MDP_HOST_DEV "/dev"
#define MDP_HOST_PROC "/proc"
#define MDP_HOST_MDEVCTL_DIR "/etc/mdevctl.d"
#define MDP_HOST_CONF_DIR "/etc/mdevpasid"
#define MDP_HOST_STATE_DIR "/var/lib/mdevpasid"
#define MDP_HOST_RUNTIME_DIR "/run/mdevpasid"
#define MDP_HOST_BOOT "/boot"

/* In the runtime dir: mdevpasidd holds an exclusive flock() on it while it runs, so a
 * reader can tell without the bus that no daemon runs (lib/client.c). */
#define MDP_DAEMON_LOCK_FILE "mdevpasidd.lock"
/* sd-bus's system bus when DBUS_SYSTEM_BUS_ADDRESS is not set */
#define MDP_SYSTEM_BUS_DEFAULT_ADDRESS "unix:path=/run/dbus/system_bus_socket"

#define MDP_CONF_FILE "mdevpasid.conf"
#define MDP_POLICY_SUBDIR "policy.d"
#define MDP_PROFILES_SUBDIR "profiles"
#define MDP_STATE_FILE "state.json"

/* sysfs, relative to the sysfs root (IOMMU-SPEC.md §1.1, §2) */
#define MDP_SYSFS_MDEV_BUS "class/mdev_bus"
#define MDP_SYSFS_MDEV_DEVICES "bus/mdev/devices"
#define MDP_SYSFS_IOMMU_CLASS "class/iommu"
#define MDP_SYSFS_IOMMU_GROUPS "kernel/iommu_groups"
#define MDP_SYSFS_PCI_DEVICES "bus/pci/devices"
#define MDP_SYSFS_VFIO_DEV_CLASS "class/vfio-dev"
#define MDP_SYSFS_SUPPORTED_TYPES "mdev_supported_types"
#define MDP_ATTR_CREATE "create"
#define MDP_ATTR_REMOVE "remove"
#define MDP_ATTR_NAME "name"
#define MDP_ATTR_DESCRIPTION "description"
#define MDP_ATTR_DEVICE_API "device_api"
#define MDP_ATTR_AVAILABLE_INSTANCES "available_instances"
#define MDP_ATTR_TYPE_DEVICES "devices"
#define MDP_LINK_MDEV_TYPE "mdev_type"
#define MDP_LINK_IOMMU_GROUP "iommu_group"
#define MDP_LINK_IOMMU "iommu"
#define MDP_LINK_DRIVER "driver"
#define MDP_LINK_SUBSYSTEM "subsystem"
#define MDP_GROUP_NAME_NOIOMMU "vfio-noiommu" /* IOMMU-SPEC.md §1.4 */
