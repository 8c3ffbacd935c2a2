/* The plugin's own threads: started with every signal blocked (OpenVPN's signals are its main
 * thread's), and woken from another thread through a pipe they can poll. */
#ifndef LICGATE_THREAD_H
#define LICGATE_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Starts fn(arg) on a new thread that blocks every signal. 0 or -errno. */
int thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);

/* A wake-up a thread can poll for. */
struct wake {
    int fd[2];
};

/* 0 or -errno; w->fd[0] is the descriptor to poll (POLLIN). */
int wake_init(struct wake *w);

/* Wakes the poller; never blocks (a wake-up already pending is enough). */
void wake_signal(struct wake *w);

/* Consumes pending wake-ups; true if there was one. */
bool wake_drain(struct wake *w);

/* Waits up to timeout_ms (0: no wait) for a wake-up and consumes it: true if woken. */
bool wake_wait(struct wake *w, int timeout_ms);

void wake_close(struct wake *w);

/* For a daemon's main loop: blocks SIGTERM, SIGINT and SIGHUP in this thread (and the threads
 * it starts), so that signal_wait takes them. 0 or -errno. */
int signal_block_stops(void);

/* Waits up to timeout_ms for SIGTERM, SIGINT or SIGHUP (blocked by signal_block_stops): the
 * signal's number, or 0 when the time ran out. */
int signal_wait(int timeout_ms);

/* This machine's host name, cut at len - 1 bytes (len > 0): 0 or -errno. */
int host_name(char *buf, size_t len);

#endif
