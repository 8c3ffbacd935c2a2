#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

/* comm is at most 16 bytes, so a stat line stays well below this. */
#define PROC_STAT_MAX        2048
#define PROC_STARTTIME_FIELD 22
#define PROC_MAPS_MAX        (4u << 20)

int proc_exists(pid_t pid)
{
    if (kill(pid, 0) == 0 || errno == EPERM)
        return 1;
    return 0;
}

static int proc_read_stat(pid_t pid, char *buf, size_t buflen, size_t *len)
{
    char path[64];
    size_t used = 0;
    ssize_t n;
    int fd, r = 0;

    *len = 0;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        r = -errno;
        /* A missing entry only means "gone" if the kernel agrees: /proc may be absent
         * (chroot) or hide other users' processes. */
        if (r == -ENOENT)
            r = proc_exists(pid) ? -EACCES : -ESRCH;
        goto out;
    }
    for (;;) {
        if (buflen - 1 - used == 0) {
            r = -EPROTO;
            goto out;
        }
        n = read(fd, buf + used, buflen - 1 - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* The process exited between open and read. */
            r = errno == ESRCH ? -ESRCH : -errno;
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    *len = used;
out:
    if (fd >= 0)
        close(fd);
    return r;
}

static int parse_u64(const char *s, size_t len, uint64_t *v)
{
    uint64_t acc = 0;
    size_t i;

    *v = 0;
    if (len == 0 || len > 20)
        return -EPROTO;
    for (i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return -EPROTO;
        d = (unsigned)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return -EPROTO;
        acc = acc * 10 + d;
    }
    *v = acc;
    return 0;
}

/* Fields after comm are separated by single spaces; comm itself may hold anything, including
 * ") ", so parsing starts after the last ')'. */
static int proc_parse_stat(const char *buf, size_t len, char *state, uint64_t *start)
{
    const char *p, *end = buf + len;
    const char *tok;
    unsigned field = 3;
    int r;

    *state = '\0';
    *start = 0;
    for (p = end; p > buf && p[-1] != ')'; p--)
        ;
    if (p == buf || end - p < 2 || p[0] != ' ')
        return -EPROTO;
    p--;
    p += 2;
    *state = *p;
    for (;;) {
        tok = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        if (field == PROC_STARTTIME_FIELD) {
            r = parse_u64(tok, (size_t)(p - tok), start);
            if (r < 0)
                *state = '\0';
            return r;
        }
        if (p >= end || *p != ' ')
            return -EPROTO;
        p++;
        field++;
    }
}

static int proc_stat(pid_t pid, char *state, uint64_t *start)
{
    char buf[PROC_STAT_MAX];
    size_t len;
    int r;

    *state = '\0';
    *start = 0;
    if (pid <= 0)
        return -EINVAL;
    r = proc_read_stat(pid, buf, sizeof(buf), &len);
    if (r < 0)
        return r;
    return proc_parse_stat(buf, len, state, start);
}

int proc_start_time(pid_t pid, uint64_t *start)
{
    char state;

    return proc_stat(pid, &state, start);
}

int proc_alive(pid_t pid, uint64_t start)
{
    uint64_t actual;
    char state;
    int r;

    if (pid <= 0)
        return 0;
    r = proc_stat(pid, &state, &actual);
    if (r == -ESRCH)
        return 0;
    if (r < 0)
        return proc_exists(pid);
    /* A zombie holds no tunnels; its seats are free to take back. */
    if (state == 'Z' || state == 'X')
        return 0;
    if (start == 0 || actual != start)
        return 0;
    return 1;
}

pid_t proc_self_pid(void)
{
    return getpid();
}

int proc_self(pid_t *pid, uint64_t *start)
{
    *pid = getpid();
    if (proc_start_time(*pid, start) < 0 || *start == 0)
        return -ENOENT;
    return 0;
}

/* Whether one /proc/PID/maps line names path as its file (the last field). */
static bool maps_line_names(const char *line, size_t len, const char *path, size_t plen)
{
    return len >= plen + 1 && memcmp(line + len - plen, path, plen) == 0 &&
           line[len - plen - 1] == ' ';
}

int proc_find_mapping(const char *path, pid_t *pid)
{
    size_t plen = strlen(path);
    struct dirent *de;
    pid_t self = getpid();
    DIR *dir;
    int found = 0;

    *pid = 0;
    dir = opendir("/proc");
    if (dir == NULL)
        return -errno;
    while (!found && (de = readdir(dir)) != NULL) {
        char file[64], *text = NULL, *line, *nl, *end;
        size_t len = 0;
        char *stop;
        long n = strtol(de->d_name, &stop, 10);

        if (*stop != '\0' || n <= 0 || n > INT32_MAX || (pid_t)n == self)
            continue;
        snprintf(file, sizeof(file), "/proc/%ld/maps", n);
        if (fs_read_bounded(file, PROC_MAPS_MAX, &text, &len) < 0)
            continue;
        end = text + len;
        for (line = text; line < end && !found; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(end - line));
            if (nl == NULL)
                nl = end;
            if (maps_line_names(line, (size_t)(nl - line), path, plen)) {
                *pid = (pid_t)n;
                found = 1;
            }
        }
        free(text);
    }
    closedir(dir);
    return found;
}

int proc_find_mapping_in(const char *comm, const char *needle, pid_t *pid)
{
    size_t clen = strlen(comm);
    struct dirent *de;
    bool unreadable = false;
    DIR *dir;
    int found = 0;

    *pid = 0;
    dir = opendir("/proc");
    if (dir == NULL)
        return -errno;
    while (!found && (de = readdir(dir)) != NULL) {
        char file[64], *text = NULL, *stop;
        size_t len = 0;
        long n = strtol(de->d_name, &stop, 10);

        if (*stop != '\0' || n <= 0 || n > INT32_MAX)
            continue;
        snprintf(file, sizeof(file), "/proc/%ld/comm", n);
        if (fs_read_bounded(file, 64, &text, &len) < 0)
            continue;
        if (len != clen + 1 || memcmp(text, comm, clen) != 0 || text[clen] != '\n') {
            free(text);
            continue;
        }
        free(text);
        snprintf(file, sizeof(file), "/proc/%ld/maps", n);
        if (fs_read_bounded(file, PROC_MAPS_MAX, &text, &len) < 0) {
            unreadable = true;
            continue;
        }
        if (strstr(text, needle) != NULL) {
            *pid = (pid_t)n;
            found = 1;
        }
        free(text);
    }
    closedir(dir);
    return found ? 1 : unreadable ? -EACCES : 0;
}
