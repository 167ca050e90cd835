/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the Check programs: temporary trees, fixture unpacking, small file
 * builders. Everything is created under /tmp with short names (TESTING.md §G). */

#include <stdbool.h>

#include "ctx.h"

/* A new empty directory /tmp/mdp-<tag>.XXXXXX (aborts the test on failure). */
char *test_mkdtemp(const char *tag);
/* Unpacks tests/fixtures/real-kernel/<variant>/sysfs-fixture.tar.gz into a new temporary
 * root and returns it: the tree is at <root>/sys. */
char *test_unpack_fixture(const char *variant);
void test_rm_rf(const char *path);
/* A context rooted at root (asserts success). */
struct mdp_ctx *test_ctx(const char *root);

/* Builders relative to root; parents are created as needed. */
void test_write(const char *root, const char *relpath, const char *content);

/* In an unpacked arm64-6.12-smmuv3 capture: the PCI function 0000:00:02.0 (behind the
 * SMMUv3) made an mdev parent bound to "example_vdcm", with one type "example_vdcm-wq" and a
 * PASID capability of 20 bits in its config space: the shape of a Scalable-IOV parent
 * (IOMMU-SPEC.md §1.4-§1.5), which no real driver registers. check_assign and
 * check_cli_pasid run on it. */
#define TEST_SIOV_PF     "0000:00:02.0"
#define TEST_SIOV_PF_DIR "sys/devices/platform/4010000000.pcie/pci0000:00/0000:00:02.0"
#define TEST_SIOV_TYPE   "example_vdcm-wq"
void test_make_siov_parent(const char *root);
void test_symlink(const char *root, const char *relpath, const char *target);
void test_mkdir(const char *root, const char *relpath);
/* Reads a file relative to root into a malloc'd string (NULL if missing). */
char *test_read(const char *root, const char *relpath);
bool test_exists(const char *root, const char *relpath);
/* A description of every entry under root (path, type, mode, size, mtime, link target,
 * content hash), sorted: equal before and after an operation means nothing was written,
 * created or removed. malloc'd. */
char *test_tree_fingerprint(const char *root);
/* The source tree, for fixtures. */
const char *test_srcdir(void);
