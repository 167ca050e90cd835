/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One fuzz target per parser. Each fuzz-<name>.c defines its entry with FUZZ_TARGET(name):
 * built with clang and -fsanitize=fuzzer (configure --enable-fuzzing) it is libFuzzer's
 * LLVMFuzzerTestOneInput; otherwise it is mdp_fuzz_<name>(), which check_fuzz_replay.c runs
 * on every file of tests/fuzz/corpus/<name>/ in `make check` (plain, ASan and valgrind). */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/macro.h"

#ifdef MDP_LIBFUZZER
#define FUZZ_TARGET(name)                                                                                   \
        int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                       \
        int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name)                                                                                   \
        int mdp_fuzz_##name(const uint8_t *data, size_t size);                                              \
        int mdp_fuzz_##name(const uint8_t *data, size_t size)
#endif

/* A property of the parser did not hold (a round trip differs, a result is out of range):
 * abort so libFuzzer saves the input and the replay test fails. */
#define FUZZ_ASSERT(expr)                                                                                   \
        do {                                                                                                \
                if (!(expr)) {                                                                              \
                        fuzz_assert_failed(#expr, __FILE__, __LINE__);                                      \
                }                                                                                           \
        } while (0)
_Noreturn void fuzz_assert_failed(const char *expr, const char *file, int line);

/* A NUL-terminated copy of the input (parsers of C strings). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Splits the input at separator bytes into at most max pieces, each NUL-terminated; the
 * last piece takes the rest. Returns the number of pieces; free(*ret_buf) afterwards. */
size_t fuzz_split(const uint8_t *data, size_t size, char sep, char **pieces, size_t max, char **ret_buf);

/* A private directory for targets that must go through files (config loaders, sysfs
 * attributes); created once per process, removed at exit. */
const char *fuzz_tmpdir(void);
/* Writes size bytes to dir/name (creating dir), replacing what was there. */
void fuzz_write_file(const char *dir, const char *name, const void *data, size_t size);
