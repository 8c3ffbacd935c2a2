#include "thread.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

int thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    int r;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -r;
}

int wake_init(struct wake *w)
{
    w->fd[0] = w->fd[1] = -1;
    if (pipe2(w->fd, O_CLOEXEC | O_NONBLOCK) != 0)
        return -errno;
    return 0;
}

void wake_signal(struct wake *w)
{
    if (write(w->fd[1], "x", 1) != 1) {
        /* full: a wake-up is pending already */
    }
}

bool wake_drain(struct wake *w)
{
    char buf[64];
    bool woken = false;

    while (read(w->fd[0], buf, sizeof(buf)) > 0)
        woken = true;
    return woken;
}

bool wake_wait(struct wake *w, int timeout_ms)
{
    struct pollfd p = {.fd = w->fd[0], .events = POLLIN};

    if (poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms) > 0)
        return wake_drain(w);
    return false;
}

void wake_close(struct wake *w)
{
    if (w->fd[0] >= 0)
        close(w->fd[0]);
    if (w->fd[1] >= 0)
        close(w->fd[1]);
    w->fd[0] = w->fd[1] = -1;
}

int signal_block_stops(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int signal_wait(int timeout_ms)
{
    struct timespec ts = {.tv_sec = timeout_ms / 1000,
                          .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    do
        sig = sigtimedwait(&set, NULL, &ts);
    while (sig < 0 && errno == EINTR);
    return sig > 0 ? sig : 0;
}

int host_name(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0)
        return -errno;
    buf[len - 1] = '\0';
    return 0;
}
