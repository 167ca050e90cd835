/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The wire between the simulated host (mdp-kernel-sim), the write shim preloaded into the
 * programs under test (sim-shim.c) and the control clients (sim-client.c). Both sockets
 * live in <testbed>/sim/ and are SOCK_SEQPACKET: one message per request, one per answer,
 * one connection per request (so any number of threads can write at once). */

#include <stdint.h>

#define SIM_SUBDIR "sim"
#define SIM_KERNEL_SOCKET "kernel.sock" /* shim -> sim: "this process wrote X to sysfs file P" */
#define SIM_CTL_SOCKET "ctl.sock"       /* control: tests, the CLI form, the README demo */
#define SIM_PID_FILE "pid"
#define SIM_ENV_FILE "env"
#define SIM_LOG_FILE "log"

/* A sysfs store never takes more than a page (kernfs truncates longer writes). */
#define SIM_MAX_STORE 4096

#define SIM_WRITE_MAGIC 0x4d445057u /* "MDPW" */
#define SIM_REPLY_MAGIC 0x4d445052u /* "MDPR" */

/* Request: header, then path_len bytes of path (relative to <testbed>/sys, no NUL; it may end
 * in " (deleted)" when the file was removed under an open descriptor), then data_len bytes. */
struct sim_write_request {
        uint32_t magic;
        uint32_t path_len;
        uint32_t data_len;
        uint32_t pid; /* the writer, for the write log */
};

/* Answer: error = 0 and result = bytes taken, or error = an errno for write() to return. */
struct sim_write_reply {
        uint32_t magic;
        int32_t error;
        int64_t result;
};

/* Control: the request is argv joined by NUL bytes (no trailing NUL needed); the answer is text,
 * "OK\n" or "ERR <ERRNO-NAME> <message>\n", followed by the command's output lines. */
#define SIM_CTL_MAX 65536
