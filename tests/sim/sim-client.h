/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Client of mdp-kernel-sim's control socket (<testbed>/sim/ctl.sock). Plain C, no glib:
 * linked into the harness, the Check programs and the sim's own "ctl" command.
 * Commands and their output are documented in tests/sim/README.md. */

/* Sends one command (argv, NULL-terminated) to the simulated host of testbed dir and waits
 * for its answer for at most timeout_ms (negative: no limit; "remove" and "unregister" wait
 * while a device is held). Returns 0 when the sim answered OK, the sim's -errno when it
 * refused (its message in *ret_output), or a transport -errno (ENOENT/ECONNREFUSED: no sim,
 * ETIMEDOUT; *ret_output is then left NULL). *ret_output (optional, malloc'd) receives the
 * output text, or the sim's message when it refused. */
int sim_client_call(const char *dir, int timeout_ms, char *const argv[], char **ret_output);

/* Same, with the command given as one string split at spaces ("hold <uuid>"). */
int sim_client_callf(const char *dir, int timeout_ms, char **ret_output, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Waits until the sim of dir answers "ping" (up to timeout_ms); 0 or -ETIMEDOUT. */
int sim_client_wait_ready(const char *dir, int timeout_ms);
