/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevpasidd: the mediated-device host service (DESIGN.md §3). Everything but option
 * parsing lives in libmdevpasidd (manager.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manager.h"
#include "util/log.h"
#include "util/parse.h"

static struct manager_options arg_options;

static void help(void)
{
        printf("Usage: mdevpasidd [OPTIONS]\n\n"
               "The mdevpasid daemon: manages VFIO mediated devices for the org.mdevpasid1 D-Bus API.\n\n"
               "  -h --help                     Show this help\n"
               "     --version                  Show the version\n"
               "     --log-level=LEVEL          err, warning, notice, info (default) or debug\n"
               "     --start-timeout=MS         Wait this long for a created mdev to bind (default %u)\n"
               "     --stop-timeout=MS          Report Busy when a removal blocks this long (default %u)\n"
               "     --autostart-attempts=N     Tries per autostart device and registration (default %u)\n"
               "     --autostart-delay=MS       First autostart retry delay, doubling (default %u)\n"
               "Defaults come from /etc/mdevpasid/mdevpasid.conf; options given here override it.\n\n"
               "Environment: MDEVPASID_ROOT re-roots /sys, /dev, /proc, /etc and /var/lib (tests);\n"
               "MDEVPASID_LOG_LEVEL sets the log level.\n",
               arg_options.start_timeout_ms, arg_options.stop_timeout_ms, arg_options.autostart_attempts,
               arg_options.autostart_delay_ms);
}

static int parse_ms(const char *opt, const char *value, unsigned min, unsigned *ret)
{
        unsigned v;

        if (safe_atou(value, &v) < 0 || v < min) {
                fprintf(stderr,
                        "mdevpasidd: invalid value \"%s\" for %s: expected a whole number of at least %u.\n",
                        value, opt, min);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* <0 error, 0 exit now, >0 run. */
static int parse_argv(int argc, char *argv[])
{
        enum {
                ARG_VERSION = 0x100,
                ARG_LOG_LEVEL,
                ARG_START_TIMEOUT,
                ARG_STOP_TIMEOUT,
                ARG_AUTOSTART_ATTEMPTS,
                ARG_AUTOSTART_DELAY,
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"log-level", required_argument, NULL, ARG_LOG_LEVEL},
                {"start-timeout", required_argument, NULL, ARG_START_TIMEOUT},
                {"stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT},
                {"autostart-attempts", required_argument, NULL, ARG_AUTOSTART_ATTEMPTS},
                {"autostart-delay", required_argument, NULL, ARG_AUTOSTART_DELAY},
                {},
        };
        static const char *const levels[] = {"emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug"};
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mdevpasidd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_LOG_LEVEL: {
                        int level = -1;
                        for (int i = 0; i < (int)ELEMENTSOF(levels); i++)
                                if (streq(optarg, levels[i]))
                                        level = i;
                        if (level < 0) {
                                fprintf(stderr,
                                        "mdevpasidd: invalid log level \"%s\": expected err, warning, "
                                        "notice, info or debug.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(level);
                        arg_options.log_level = level;
                        arg_options.set |= OPT_LOG_LEVEL;
                        break;
                }
                case ARG_START_TIMEOUT:
                        if (parse_ms("--start-timeout", optarg, 1, &arg_options.start_timeout_ms) < 0)
                                return -EINVAL;
                        arg_options.set |= OPT_START_TIMEOUT;
                        break;
                case ARG_STOP_TIMEOUT:
                        if (parse_ms("--stop-timeout", optarg, 1, &arg_options.stop_timeout_ms) < 0)
                                return -EINVAL;
                        arg_options.set |= OPT_STOP_TIMEOUT;
                        break;
                case ARG_AUTOSTART_ATTEMPTS:
                        if (parse_ms("--autostart-attempts", optarg, 1, &arg_options.autostart_attempts) < 0)
                                return -EINVAL;
                        arg_options.set |= OPT_AUTOSTART_ATTEMPTS;
                        break;
                case ARG_AUTOSTART_DELAY:
                        if (parse_ms("--autostart-delay", optarg, 1, &arg_options.autostart_delay_ms) < 0)
                                return -EINVAL;
                        arg_options.set |= OPT_AUTOSTART_DELAY;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "mdevpasidd: unexpected argument \"%s\"; see --help.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[])
{
        _cleanup_(manager_freep) struct manager *m = NULL;
        sigset_t mask;
        int r;

        log_setup("mdevpasidd");
        manager_options_default(&arg_options);
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        /* sd-event takes the signals through a signalfd; worker threads inherit this mask. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        umask(0022);

        r = manager_new(&arg_options, &m);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the daemon: %m");
                return EXIT_FAILURE;
        }
        r = manager_startup(m);
        if (r < 0) {
                log_error_errno(r, "Start-up failed: %m");
                return EXIT_FAILURE;
        }
        r = manager_run(m);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
