/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The context's fields, for library code only. */

#include "ctx.h"

struct mdp_ctx {
        int n_ref;
        char *root;    /* "" or an absolute path without trailing '/' */
        char *datadir; /* shipped data: profiles */
        int base_fds[_MDP_PATH_BASE_MAX]; /* lazily opened O_PATH fds, -1 until then */
        mdp_log_fn log_fn;
        void *log_userdata;
        int log_priority;
        mdp_classify_fn classify_fn; /* vendor profiles; NULL: everything emulated */
        void *classify_userdata;
};
