/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replays every file of every fuzz corpus (tests/fuzz/corpus/<target>/: the seeds and each
 * input the fuzzer ever crashed on) through the target's entry, built with the ordinary
 * compiler: `make check` runs it plainly, under ASan+UBSan and under valgrind, so a fixed
 * crash stays fixed without clang. One Check test per target; the log names each file
 * before it runs, so a crash names it. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "targets.h"
#include "test-help.h"
#include "util/fileio.h"
#include "util/macro.h"

struct target {
        const char *name;
        int (*fn)(const uint8_t *data, size_t size);
};

#define MDP_FUZZ_ENTRY(name) {#name, mdp_fuzz_##name},
static const struct target targets[] = {MDP_FUZZ_TARGETS(MDP_FUZZ_ENTRY)};

struct input {
        const struct target *target;
        char *path;
};

static struct input *inputs;
static size_t n_inputs;

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The corpus folder's files in name order (the same order on every machine). */
static void collect(const struct target *t)
{
        char dir[4096];
        char **names = NULL;
        size_t n = 0;
        DIR *d;
        struct dirent *de;

        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", test_srcdir(), t->name);
        d = opendir(dir);
        if (!d) {
                fprintf(stderr, "fuzz replay: no corpus %s\n", dir);
                exit(EXIT_FAILURE);
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                names = realloc(names, (n + 1) * sizeof(*names));
                if (!names || !(names[n] = strdup(de->d_name)))
                        abort();
                n++;
        }
        closedir(d);
        qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i < n; i++) {
                inputs = realloc(inputs, (n_inputs + 1) * sizeof(*inputs));
                if (!inputs || asprintf(&inputs[n_inputs].path, "%s/%s", dir, names[i]) < 0)
                        abort();
                inputs[n_inputs++].target = t;
                free(names[i]);
        }
        free(names);
}

static void replay_one(const struct input *in)
{
        _cleanup_free_ char *file = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r;

        r = read_full_file(AT_FDCWD, in->path, 16 * 1024 * 1024, &file, &size);
        ck_assert_msg(r >= 0, "cannot read %s", in->path);
        /* Exactly size bytes on the heap, no NUL after them, as libFuzzer passes them: ASan
         * then sees a parser that reads past its input. */
        data = malloc(size ? size : 1);
        ck_assert_ptr_nonnull(data);
        memcpy(data, file, size);
        ck_assert_int_eq(in->target->fn(data, size), 0);
}

/* One test per target, over every file of its corpus. */
START_TEST(test_replay)
{
        const struct target *t = &targets[_i];
        size_t n = 0;

        for (size_t i = 0; i < n_inputs; i++) {
                if (inputs[i].target != t)
                        continue;
                /* In the log, so a crash (a signal, an ASan report) names the file. */
                fprintf(stderr, "replay %s %s\n", t->name, inputs[i].path);
                replay_one(&inputs[i]);
                n++;
        }
        ck_assert_msg(n > 0, "the corpus of %s is empty", t->name);
        fprintf(stderr, "replayed %zu inputs through %s\n", n, t->name);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("fuzz-replay");
        SRunner *sr;
        TCase *tc;
        int failed;

        for (size_t i = 0; i < ELEMENTSOF(targets); i++)
                collect(&targets[i]);
        tc = tcase_create("replay");
        tcase_add_loop_test(tc, test_replay, 0, (int)ELEMENTSOF(targets));
        tcase_set_timeout(tc, 300);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        for (size_t i = 0; i < n_inputs; i++)
                free(inputs[i].path);
        free(inputs);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
