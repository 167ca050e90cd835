/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include <stddef.h>
#include <sys/types.h>

/* Reads a small attribute (sysfs, procfs) relative to dirfd (AT_FDCWD for absolute paths)
 * into buf, NUL-terminated, trailing newlines removed. A file that does not fit in buf is
 * -E2BIG rather than silently truncated. Returns the length or a negative errno. */
ssize_t read_attr(int dirfd, const char *path, char *buf, size_t size);

/* The same, allocating; max bounds what is accepted. */
int read_attr_alloc(int dirfd, const char *path, size_t max, char **ret);

/* Reads a whole regular file of at most max bytes (config and definition files). -EFBIG when
 * larger. *ret is NUL-terminated; *ret_size (optional) excludes the NUL. */
int read_full_file(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);

/* Reads at most size bytes of a binary file (PCI config space). Returns bytes read. */
ssize_t read_binary_file(int dirfd, const char *path, void *buf, size_t size);

/* Writes value to an existing attribute with a single write(): never creates a file
 * (sysfs attributes always exist), truncates like fopen("w") so file-backed fakes behave
 * like sysfs, and returns the kernel's errno (-EEXIST, -ENOSPC, ...) unchanged. */
int write_attr(int dirfd, const char *path, const char *value);

/* Replaces path atomically: temp file in the same directory, write, fsync, rename, fsync of
 * the directory. On failure the old file is intact and no temp file is left behind. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);
/* A process killed between write_file_atomic()'s temporary file and its rename leaves
 * ".#<name>.XXXXXX" next to the target. Removes those in the directory dirfd whose <name>
 * is_target() accepts; only for a caller that knows no write of its own is running. Returns
 * how many it removed, or a negative errno. */
int remove_atomic_leftovers(int dirfd, bool (*is_target)(const char *name));

/* readlinkat() into a malloc'd string. */
int readlinkat_malloc(int dirfd, const char *path, char **ret);

/* Last component of a path (no allocation; path must not end in '/'). */
const char *path_basename(const char *path);

/* mkdir -p with the given mode for each created component. */
int mkdir_p(const char *path, mode_t mode);
