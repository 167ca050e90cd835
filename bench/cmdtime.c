/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Times commands against a baseline in the same run:
 *
 *   bench/cmdtime [-n RUNS] [-w WARMUP] [-t SECONDS] [-l JSON-FIELDS] [-j FILE] -c 'NAME=CMDLINE'...
 *
 * The first -c is the baseline. CMDLINE is split on spaces; leading VAR=value words are set
 * in the command's environment (no shell, no env(1): nothing but the command is timed).
 * The commands run interleaved (base, a, b, base, a, b, ...) so that load from other work on
 * the machine hits all of them alike; each run's wall time (fork to wait4) and peak RSS
 * (wait4's ru_maxrss) are kept. One untimed run per command first counts its output lines
 * (a sanity check: both tools listed the same devices). stdin and stderr are /dev/null.
 * -t caps the time spent on the timed runs (at least 3 runs each).
 *
 * Prints one table row per command and, with -j, appends one JSON object per command (a
 * line) to FILE; -l adds fields to each, e.g. -l '"layout":"single","size":100'. Ratios are
 * baseline median / command median: > 1 means faster (or leaner) than the baseline. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"

#define MAX_CMDS 16
#define MAX_RUNS 1000

extern char **environ;

struct cmd {
        char *name;
        char **argv, **envp;
        double wall[MAX_RUNS], rss[MAX_RUNS];
        size_t n;
        long lines;
        int exit_code;
};

static char **split_env(const char *cmdline, char ***ret_envp)
{
        char *copy = strdup(cmdline), *save = NULL;
        char **argv = calloc(strlen(cmdline) / 2 + 2, sizeof(char *));
        size_t n_env = 0, argc = 0;
        char **envp;

        for (char **e = environ; *e; e++)
                n_env++;
        envp = calloc(n_env + strlen(cmdline) / 2 + 2, sizeof(char *));
        if (!copy || !argv || !envp)
                abort();
        n_env = 0;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (argc == 0 && strchr(w, '=') && w[0] != '=') {
                        envp[n_env++] = w;
                        continue;
                }
                argv[argc++] = w;
        }
        /* the environment, minus what the command line sets */
        for (char **e = environ; *e; e++) {
                bool overridden = false;
                size_t l = strcspn(*e, "=");
                for (size_t i = 0; envp[i]; i++)
                        overridden = overridden || (strncmp(envp[i], *e, l + 1) == 0);
                if (!overridden)
                        envp[n_env++] = *e;
        }
        *ret_envp = envp;
        return argv;
}

/* One run: wall ms and peak RSS KiB; with count_fd, stdout goes there instead of /dev/null. */
static int run_once(struct cmd *c, int out_fd, double *ret_wall, double *ret_rss)
{
        posix_spawn_file_actions_t fa;
        struct rusage ru;
        double t0;
        pid_t pid;
        int status, r;

        posix_spawn_file_actions_init(&fa);
        if (out_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        else
                posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        t0 = bench_now_ms();
        r = posix_spawnp(&pid, c->argv[0], &fa, NULL, c->argv, c->envp);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                fprintf(stderr, "cmdtime: cannot run %s: %s\n", c->argv[0], strerror(r));
                return -r;
        }
        if (wait4(pid, &status, 0, &ru) < 0)
                return -errno;
        *ret_wall = bench_now_ms() - t0;
        *ret_rss = (double)ru.ru_maxrss;
        c->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

static long count_lines(struct cmd *c)
{
        FILE *f = tmpfile();
        double w, rss;
        long lines = 0;
        int ch;

        if (!f || run_once(c, fileno(f), &w, &rss) < 0)
                return -1;
        rewind(f);
        while ((ch = getc(f)) != EOF)
                lines += ch == '\n';
        fclose(f);
        return lines;
}

static void usage(void)
{
        printf("bench/cmdtime [-n RUNS] [-w WARMUP] [-t SECONDS] [-l JSON-FIELDS] [-j FILE] -c "
               "'NAME=CMDLINE'...\n"
               "The first -c is the baseline; ratios are baseline median / command median.\n");
}

int main(int argc, char **argv)
{
        struct cmd *cmds = calloc(MAX_CMDS, sizeof(struct cmd));
        const char *json_path = NULL, *label = NULL;
        int runs = 20, warmup = 2, n_cmds = 0, c;
        double budget_ms = 60000, t_start;
        FILE *json = NULL;

        while ((c = getopt(argc, argv, "hn:w:t:l:j:c:")) >= 0)
                switch (c) {
                case 'n':
                        runs = atoi(optarg);
                        break;
                case 'w':
                        warmup = atoi(optarg);
                        break;
                case 't':
                        budget_ms = atof(optarg) * 1e3;
                        break;
                case 'l':
                        label = optarg;
                        break;
                case 'j':
                        json_path = optarg;
                        break;
                case 'c': {
                        const char *eq = strchr(optarg, '=');
                        if (!eq || n_cmds == MAX_CMDS) {
                                usage();
                                return 2;
                        }
                        cmds[n_cmds].name = strndup(optarg, (size_t)(eq - optarg));
                        cmds[n_cmds].argv = split_env(eq + 1, &cmds[n_cmds].envp);
                        if (!cmds[n_cmds].argv[0]) {
                                usage();
                                return 2;
                        }
                        n_cmds++;
                        break;
                }
                case 'h':
                        usage();
                        return 0;
                default:
                        usage();
                        return 2;
                }
        if (n_cmds == 0 || runs < 1) {
                usage();
                return 2;
        }
        if (runs > MAX_RUNS)
                runs = MAX_RUNS;

        for (int i = 0; i < n_cmds; i++) {
                cmds[i].lines = count_lines(&cmds[i]);
                for (int k = 0; k < warmup; k++) {
                        double w, rss;
                        run_once(&cmds[i], -1, &w, &rss);
                }
        }
        t_start = bench_now_ms();
        for (int k = 0; k < runs; k++) {
                if (k >= 3 && bench_now_ms() - t_start > budget_ms)
                        break;
                for (int i = 0; i < n_cmds; i++) {
                        struct cmd *x = &cmds[i];
                        if (run_once(x, -1, &x->wall[x->n], &x->rss[x->n]) < 0)
                                return 1;
                        x->n++;
                }
        }
        if (json_path) {
                json = fopen(json_path, "ae");
                if (!json) {
                        fprintf(stderr, "cmdtime: cannot open %s: %m\n", json_path);
                        return 1;
                }
        }
        {
                struct bench_stats base_w = {0}, base_r = {0};

                for (int i = 0; i < n_cmds; i++) {
                        struct cmd *x = &cmds[i];
                        struct bench_stats w = bench_stats(x->wall, x->n), r = bench_stats(x->rss, x->n);
                        double ratio_w, ratio_r;

                        if (i == 0) {
                                base_w = w;
                                base_r = r;
                        }
                        ratio_w = w.median > 0 ? base_w.median / w.median : 0;
                        ratio_r = r.median > 0 ? base_r.median / r.median : 0;
                        printf("  %-24s %9.2f ms [%8.2f-%8.2f] %8.0f KiB  lines %6ld  exit %d  x%.2f time "
                               "x%.2f rss%s\n",
                               x->name, w.median, w.p25, w.p75, r.max, x->lines, x->exit_code, ratio_w,
                               ratio_r, i == 0 ? " (baseline)" : "");
                        if (json)
                                fprintf(json,
                                        "{%s%s\"bench\":\"cmd\",\"name\":\"%s\",\"baseline\":\"%s\","
                                        "\"runs\":%zu,"
                                        "\"wall_ms\":{\"median\":%.3f,\"p25\":%.3f,\"p75\":%.3f,\"min\":%."
                                        "3f,"
                                        "\"max\":%.3f},\"rss_kib\":{\"median\":%.0f,\"max\":%.0f},\"lines\":"
                                        "%ld,"
                                        "\"exit\":%d,\"speedup\":%.3f,\"rss_ratio\":%.3f}\n",
                                        label ? label : "", label ? "," : "", x->name, cmds[0].name, x->n,
                                        w.median, w.p25, w.p75, w.min, w.max, r.median, r.max, x->lines,
                                        x->exit_code, ratio_w, ratio_r);
                }
        }
        if (json)
                fclose(json);
        return 0;
}
