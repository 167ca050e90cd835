/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macro.h"
#include "worker.h"

/* One pipe per process, never closed: a thread that outlives its worker (the daemon is
 * exiting while a remove blocks) must never write into an fd number that was reused. */
static int completion_pipe[2] = {-1, -1};
static pthread_once_t pipe_once = PTHREAD_ONCE_INIT;
static int pipe_error;
static struct work *in_flight_head; /* keeps running items reachable */
static unsigned next_generation = 1;

struct worker {
        sd_event_source *source;
        unsigned generation;
        unsigned n_in_flight;
};

static void pipe_init(void)
{
        if (pipe2(completion_pipe, O_CLOEXEC) < 0) {
                pipe_error = -errno;
                return;
        }
        /* The loop reads until empty; the threads' writes stay blocking (8 bytes, atomic). */
        if (fcntl(completion_pipe[0], F_SETFL, O_NONBLOCK) < 0)
                pipe_error = -errno;
}

static void in_flight_remove(struct work *w)
{
        if (w->in_flight_prev)
                w->in_flight_prev->in_flight_next = w->in_flight_next;
        else if (in_flight_head == w)
                in_flight_head = w->in_flight_next;
        if (w->in_flight_next)
                w->in_flight_next->in_flight_prev = w->in_flight_prev;
        w->in_flight_next = w->in_flight_prev = NULL;
}

static int on_completion(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct worker *wk = userdata;

        for (;;) {
                struct work *w;
                ssize_t n = read(fd, &w, sizeof(w));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n != (ssize_t)sizeof(w))
                        break;
                /* An item of an earlier worker in this process (tests): its owner is gone. */
                if (w->generation != wk->generation)
                        continue;
                in_flight_remove(w);
                wk->n_in_flight--;
                w->done(w);
        }
        return 0;
}

int worker_new(sd_event *event, struct worker **ret)
{
        _cleanup_free_ struct worker *wk = NULL;
        int r;

        pthread_once(&pipe_once, pipe_init);
        if (pipe_error < 0)
                return pipe_error;
        wk = calloc(1, sizeof(*wk));
        if (!wk)
                return -ENOMEM;
        wk->generation = next_generation++;
        r = sd_event_add_io(event, &wk->source, completion_pipe[0], EPOLLIN, on_completion, wk);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(wk->source, "worker-completion");
        *ret = TAKE_PTR(wk);
        return 0;
}

struct worker *worker_free(struct worker *wk)
{
        if (!wk)
                return NULL;
        sd_event_source_disable_unref(wk->source);
        free(wk);
        return NULL;
}

static void *thread_main(void *arg)
{
        struct work *w = arg;
        ssize_t n;

        w->run(w);
        do
                n = write(completion_pipe[1], &w, sizeof(w));
        while (n < 0 && errno == EINTR);
        return NULL;
}

int worker_submit(struct worker *wk, struct work *w)
{
        pthread_attr_t attr;
        sigset_t all, old;
        pthread_t t;
        int r;

        w->generation = wk->generation;
        w->in_flight_prev = NULL;
        w->in_flight_next = in_flight_head;
        if (in_flight_head)
                in_flight_head->in_flight_prev = w;
        in_flight_head = w;
        wk->n_in_flight++;

        r = pthread_attr_init(&attr);
        if (r == 0) {
                (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                (void)pthread_attr_setstacksize(&attr, 256 * 1024);
                /* Signals belong to the loop (sd-event signalfd): threads block them all. */
                sigfillset(&all);
                pthread_sigmask(SIG_BLOCK, &all, &old);
                r = pthread_create(&t, &attr, thread_main, w);
                pthread_sigmask(SIG_SETMASK, &old, NULL);
                pthread_attr_destroy(&attr);
        }
        if (r != 0) {
                in_flight_remove(w);
                wk->n_in_flight--;
                return log_error_errno(-r, "Cannot start a worker thread: %m");
        }
        return 0;
}

unsigned worker_in_flight(const struct worker *wk)
{
        return wk ? wk->n_in_flight : 0;
}
