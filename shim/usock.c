#include "usock.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errbuf.h"

/* 0 or -errno. Only root can give files away; an unprivileged re-open
 * (after SIGHUP) keeps what the setgid directory gives it. */
static int owner_apply_path(const char *path, const struct usock_owner *owner)
{
    if (geteuid() != 0 || !(owner->set_uid || owner->set_gid))
        return 0;
    if (lchown(path, owner->set_uid ? owner->uid : (uid_t)-1,
               owner->set_gid ? owner->gid : (gid_t)-1) != 0)
        return -errno;
    return 0;
}

int usock_prepare_dir(const char *dir, const struct usock_owner *owner, char *err, size_t errlen)
{
    mode_t mode = owner->set_gid ? 02750 : 0700;
    struct stat st;
    int r;

    if (mkdir(dir, mode) == 0) {
        /* mkdir honours the umask and may drop setgid: set the mode exactly.
         * Root without CAP_CHOWN, CAP_FOWNER or CAP_FSETID (a unit's
         * CapabilityBoundingSet) fails here or silently loses the setgid
         * bit; a directory the runtime user cannot use is no use. */
        r = owner_apply_path(dir, owner);
        if (r == 0 && chmod(dir, mode) != 0)
            r = -errno;
        if (r == 0 && (lstat(dir, &st) != 0 || (st.st_mode & 07777) != mode))
            r = -EPERM;
        if (r < 0) {
            rmdir(dir);
            errbuf_set(err, errlen,
                       "%s: cannot give it to the runtime user and group (%s): openvpn needs "
                       "CAP_CHOWN, CAP_FOWNER and CAP_FSETID at start-up",
                       dir, strerror(-r));
            return r;
        }
    } else if (errno != EEXIST) {
        r = -errno;
        errbuf_set(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        return r;
    }
    /* An existing directory is left as it is (several pools may share it);
     * it only has to be safe. */
    if (lstat(dir, &st) != 0) {
        r = -errno;
        errbuf_set(err, errlen, "%s: %s", dir, strerror(errno));
        return r;
    }
    if (!S_ISDIR(st.st_mode)) {
        errbuf_set(err, errlen, "%s: not a directory", dir);
        return -ENOTDIR;
    }
    /* The same for root as for anyone: a directory another user owns is one where that user
     * can replace the socket and answer for licgate. */
    if (st.st_uid != 0 && st.st_uid != geteuid() && !(owner->set_uid && st.st_uid == owner->uid)) {
        errbuf_set(err, errlen, "%s: owned by uid %u, not by root or the runtime user", dir,
                   (unsigned)st.st_uid);
        return -EPERM;
    }
    if (st.st_mode & (S_IWOTH | S_IWGRP)) {
        errbuf_set(err, errlen, "%s: writable by other users (mode %04o)", dir,
                   (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    return 0;
}

/* chmod of the socket just bound, never of what a symlink put in its place
 * points to (the directory may belong to the unprivileged runtime user). */
static int chmod_socket(const char *path, mode_t mode)
{
    char proc[64];
    struct stat st;
    int fd, r = 0;

    fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0)
        r = -errno;
    else if (!S_ISSOCK(st.st_mode))
        r = -EEXIST;
    else {
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (chmod(proc, mode) != 0)
            r = -errno;
    }
    close(fd);
    return r;
}

int usock_listen(const char *path, const struct usock_owner *owner, int *fd, char *err,
                 size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int s, r;

    *fd = -1;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        errbuf_set(err, errlen, "%s: path too long for a socket", path);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            errbuf_set(err, errlen, "%s: exists and is not a socket", path);
            return -EEXIST;
        }
        unlink(path);
    }
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        r = -errno;
        errbuf_set(err, errlen, "socket: %s", strerror(errno));
        return r;
    }
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        r = -errno;
        errbuf_set(err, errlen, "bind %s: %s", path, strerror(errno));
        goto fail;
    }
    /* Nobody can connect before listen(): fix owner and mode first. */
    r = owner_apply_path(path, owner);
    if (r == 0)
        r = chmod_socket(path, owner->set_gid ? 0660 : 0600);
    if (r < 0) {
        errbuf_set(err, errlen, "chown/chmod %s: %s", path, strerror(-r));
        unlink(path);
        goto fail;
    }
    if (listen(s, 64) != 0) {
        r = -errno;
        errbuf_set(err, errlen, "listen %s: %s", path, strerror(errno));
        unlink(path);
        goto fail;
    }
    *fd = s;
    return 0;
fail:
    close(s);
    return r;
}

int usock_accept(int listen_fd, int *fd)
{
    int s = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    *fd = -1;
    if (s < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    *fd = s;
    return 0;
}

int usock_peer(int fd, uid_t *uid, gid_t *gid, pid_t *pid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return -errno;
    if (len != sizeof(cred))
        return -EPROTO;
    *uid = cred.uid;
    *gid = cred.gid;
    *pid = cred.pid;
    return 0;
}

int usock_uid_in_group(uid_t uid, gid_t gid)
{
    struct passwd pw, *found = NULL;
    gid_t groups[256];
    int ngroups = (int)(sizeof(groups) / sizeof(groups[0]));
    char buf[4096];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || found == NULL)
        return 0;
    if (found->pw_gid == gid)
        return 1;
    if (getgrouplist(found->pw_name, found->pw_gid, groups, &ngroups) < 0)
        ngroups = (int)(sizeof(groups) / sizeof(groups[0]));
    for (int i = 0; i < ngroups; i++) {
        if (groups[i] == gid)
            return 1;
    }
    return 0;
}

int usock_lock_try(const char *path, const struct usock_owner *owner, int *fd)
{
    int f, r;

    *fd = -1;
    f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, owner->set_gid ? 0660 : 0600);
    if (f < 0)
        return -errno;
    r = owner_apply_path(path, owner);
    if (r < 0) {
        close(f);
        return r;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        r = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
        close(f);
        return r;
    }
    *fd = f;
    return 0;
}

long usock_read(int fd, void *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

    if (n < 0)
        return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
    return (long)n;
}

long usock_write(int fd, const void *buf, size_t len)
{
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n < 0)
        return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
    return (long)n;
}

int usock_poll(struct pollfd *fds, size_t n, int timeout_ms)
{
    int r = poll(fds, n, timeout_ms);

    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    return r;
}

void usock_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

int usock_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
    const char *p = buf;
    int64_t start = clock_monotonic_ms();

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int64_t left = timeout_ms - (clock_monotonic_ms() - start);
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return -errno;
    }
    return 0;
}

int usock_path_id(const char *path, struct usock_id *id)
{
    struct stat st;

    memset(id, 0, sizeof(*id));
    if (lstat(path, &st) != 0)
        return -errno;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    return 0;
}

int usock_fd_id(int fd, struct usock_id *id)
{
    struct stat st;

    memset(id, 0, sizeof(*id));
    if (fstat(fd, &st) != 0)
        return -errno;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    return 0;
}

void usock_unlink_if(const char *path, const struct usock_id *id)
{
    struct usock_id now;

    if (usock_path_id(path, &now) == 0 && now.dev == id->dev && now.ino == id->ino)
        unlink(path);
}

static int remaining(int64_t deadline)
{
    int64_t left = deadline - clock_monotonic_ms();

    return left > 0 ? (int)left : 0;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;

    do {
        n = poll(&p, 1, remaining(deadline));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

static int client_connect(const char *path, int64_t deadline, int *fd)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int ms = remaining(deadline);
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    int s, err;

    *fd = -1;
    if (strlen(path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    /* A blocking AF_UNIX connect waits for room in the backlog at most SO_SNDTIMEO, then fails
     * with EAGAIN. */
    if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(s, (const struct sockaddr *)&addr, sizeof(addr)) != 0) {
        err = errno == EAGAIN || errno == EINPROGRESS ? ETIMEDOUT : errno;
        close(s);
        return -err;
    }
    if (fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK) != 0) {
        err = errno;
        close(s);
        return -err;
    }
    *fd = s;
    return 0;
}

static int client_send(int fd, const char *request, int64_t deadline)
{
    size_t len = strlen(request), sent = 0;

    while (sent < len) {
        ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        int rc;

        if (n >= 0) {
            sent += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0)
            return rc;
    }
    return 0;
}

#define USOCK_READ_CHUNK 65536

static int client_read(int fd, int64_t deadline, size_t max, char **buf, size_t *len)
{
    char *data = NULL;
    size_t used = 0, cap = 0;
    int rc;

    for (;;) {
        ssize_t n;

        if (cap - used < USOCK_READ_CHUNK && cap <= max) {
            size_t newcap = cap ? cap * 2 : USOCK_READ_CHUNK;
            char *p;

            if (newcap > max + USOCK_READ_CHUNK)
                newcap = max + USOCK_READ_CHUNK;
            p = realloc(data, newcap);
            if (!p) {
                rc = -ENOMEM;
                goto fail;
            }
            data = p;
            cap = newcap;
        }
        n = recv(fd, data + used, cap - used, 0);
        if (n > 0) {
            used += (size_t)n;
            if (used > max)
                break;
            continue;
        }
        if (n == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            rc = -errno;
            goto fail;
        }
        if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
            goto fail;
    }
    *buf = data;
    *len = used;
    return 0;
fail:
    free(data);
    return rc;
}

int usock_request(const char *path, const char *request, int timeout_ms, size_t max, char **resp,
                  size_t *len, enum usock_stage *stage)
{
    int64_t deadline = clock_monotonic_ms() + timeout_ms;
    int fd, rc;

    *resp = NULL;
    *len = 0;
    *stage = USOCK_CONNECT;
    rc = client_connect(path, deadline, &fd);
    if (rc < 0)
        return rc;
    *stage = USOCK_SEND;
    rc = client_send(fd, request, deadline);
    /* A server that refuses may answer and close before reading the request: its answer is
     * still there to read. */
    if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
        close(fd);
        return rc;
    }
    *stage = USOCK_READ;
    rc = client_read(fd, deadline, max, resp, len);
    close(fd);
    return rc;
}
