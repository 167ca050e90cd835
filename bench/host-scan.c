/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Times the host model on the tree under $MDEVPASID_ROOT (or the real host):
 *   bench/host-scan [PARTS] [REPEAT]
 * PARTS: all (default), mdevs, parents, groups, pci. Prints the best and median wall and
 * CPU (user+sys) time over REPEAT runs (default 5), the record counts, and the peak RSS.
 * On a loaded machine the CPU time is the steadier number. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "host.h"
#include "util/macro.h"

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int double_compare(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        const char *what = argc > 1 ? argv[1] : "all";
        int repeat = argc > 2 ? atoi(argv[2]) : 5;
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        unsigned parts;
        double t[64], c[64];
        size_t n_parents = 0, n_mdevs = 0, n_groups = 0, n_pci = 0;
        struct rusage ru;
        int r;

        if (streq(what, "all"))
                parts = MDP_SCAN_ALL;
        else if (streq(what, "mdevs"))
                parts = MDP_SCAN_MDEVS;
        else if (streq(what, "parents"))
                parts = MDP_SCAN_PARENTS;
        else if (streq(what, "groups"))
                parts = MDP_SCAN_GROUPS;
        else if (streq(what, "pci"))
                parts = MDP_SCAN_PCI | MDP_SCAN_PCI_CONFIG;
        else {
                fprintf(stderr, "usage: %s [all|mdevs|parents|groups|pci] [REPEAT]\n", argv[0]);
                return 2;
        }
        if (repeat < 1 || repeat > (int)ELEMENTSOF(t))
                repeat = 5;
        r = mdp_ctx_new(&ctx);
        if (r < 0) {
                fprintf(stderr, "context: %s\n", strerror(-r));
                return 1;
        }
        for (int i = 0; i < repeat; i++) {
                _cleanup_(mdp_host_unrefp) struct mdp_host *h = NULL;
                double t0 = now_ms(), c0 = cpu_ms();

                r = mdp_host_scan_parts(ctx, parts, &h);
                t[i] = now_ms() - t0;
                c[i] = cpu_ms() - c0;
                if (r < 0) {
                        fprintf(stderr, "scan: %s\n", strerror(-r));
                        return 1;
                }
                mdp_host_parents(h, &n_parents);
                mdp_host_mdevs(h, &n_mdevs);
                mdp_host_groups(h, &n_groups);
                mdp_host_pci_devices(h, &n_pci);
        }
        qsort(t, (size_t)repeat, sizeof(double), double_compare);
        qsort(c, (size_t)repeat, sizeof(double), double_compare);
        getrusage(RUSAGE_SELF, &ru);
        printf("scan %s: wall best %.1f ms, median %.1f ms; CPU best %.1f ms, median %.1f ms (%d runs); "
               "parents %zu mdevs %zu groups %zu pci %zu; maxrss %ld KiB\n",
               what, t[0], t[repeat / 2], c[0], c[repeat / 2], repeat, n_parents, n_mdevs, n_groups, n_pci,
               ru.ru_maxrss);
        return 0;
}
