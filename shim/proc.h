/* Process identity from /proc: a (pid, start time) pair names one process for its whole life,
 * unlike a bare pid, which the kernel reuses. */
#ifndef LICGATE_PROC_H
#define LICGATE_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Reads the start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) of `pid` into
 * *start. Returns 0, -EINVAL for pid <= 0, -ESRCH if no such process exists, -EACCES if the
 * process exists but its /proc entry is hidden (hidepid) or /proc is not mounted, -EPROTO if the
 * stat line cannot be parsed, or another -errno from reading /proc. *start is 0 on failure. */
int proc_start_time(pid_t pid, uint64_t *start);

/* Returns 1 if a process `pid` started at `start` is alive, 0 if it is gone: it does not exist,
 * is a zombie, or the pid now belongs to a process with another start time. A start time of 0
 * names no process: every registrant reads its own from /proc (proc_self), so 0 is a forgery or
 * a bug, never "any process with that pid". When /proc cannot tell (hidden) it falls back to
 * kill(pid, 0) and errs on the side of "alive": a seat is never reclaimed from a process that
 * may still be running. */
int proc_alive(pid_t pid, uint64_t start);

/* Whether any process has this pid now (kill(pid, 0)): for a lock holder, whose start time is
 * not recorded. */
int proc_exists(pid_t pid);

/* This process's pid. */
pid_t proc_self_pid(void);

/* This process: its pid and its start time. -ENOENT with no readable /proc (a chroot without
 * it): then no process on the machine could tell it from a dead one. */
int proc_self(pid_t *pid, uint64_t *start);

/* The first process other than this one whose memory maps `path` (from /proc/PID/maps; only
 * the processes this one may inspect), in *pid. Returns 1 when found, 0 when not, or -errno
 * when /proc cannot be read at all. */
int proc_find_mapping(const char *path, pid_t *pid);

/* The first process named comm (its /proc/PID/comm) whose memory maps a file whose path
 * contains needle: 1 and *pid; 0 when there is none; -EACCES when none was found but such a
 * process could not be inspected (another user's, without root). */
int proc_find_mapping_in(const char *comm, const char *needle, pid_t *pid);

#endif
