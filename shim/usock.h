/* Unix stream sockets for the control channel, the directory that holds them,
 * peer credentials and the leadership lock. */
#ifndef LICGATE_USOCK_H
#define LICGATE_USOCK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Who gets the directory and the files in it: uid/gid applied only when set
 * and only where we are allowed to (root). */
struct usock_owner {
    uid_t uid;
    gid_t gid;
    bool set_uid, set_gid;
};

/* Makes sure dir exists and is safe. A new one is created 2750 (0700 without
 * a group), owned as asked, setgid so files made in it later, even by an
 * unprivileged process, inherit the group. An existing one is left as it is
 * (pools may share it) but must be a directory that neither its group nor
 * other users may write, owned by root, this process's user or owner->uid,
 * whoever the caller is (root too); else -EPERM with a reason. Returns 0 or
 * -errno with err set. */
int usock_prepare_dir(const char *dir, const struct usock_owner *owner, char *err, size_t errlen);

/* Binds and listens on path (a stale socket file is replaced), mode 0660
 * (0600 without a group), owned as asked where allowed. The fd is
 * non-blocking and close-on-exec. Returns 0 or -errno with err set. */
int usock_listen(const char *path, const struct usock_owner *owner, int *fd, char *err,
                 size_t errlen);

/* accept4 with non-blocking and close-on-exec. 0, -EAGAIN, or -errno. */
int usock_accept(int listen_fd, int *fd);

/* The peer's credentials, from the kernel (SO_PEERCRED). */
int usock_peer(int fd, uid_t *uid, gid_t *gid, pid_t *pid);

/* 1 when uid's primary group or one of its supplementary groups is gid, 0
 * when not (or the user is unknown). */
int usock_uid_in_group(uid_t uid, gid_t gid);

/* Opens (creating 0660) the lock file and tries an exclusive flock without
 * waiting. 0 = held (*fd keeps it; closing releases it), -EWOULDBLOCK =
 * another process holds it, other -errno on failure. */
int usock_lock_try(const char *path, const struct usock_owner *owner, int *fd);

/* Which file a path or an open descriptor is: its device and inode. */
struct usock_id {
    dev_t dev;
    ino_t ino;
};

/* The file at path now (not following a final symlink): 0, or -errno (-ENOENT when gone). */
int usock_path_id(const char *path, struct usock_id *id);

/* The file an open descriptor (the lock file's) is. 0 or -errno. */
int usock_fd_id(int fd, struct usock_id *id);

/* Removes the socket at path only if it is still the one named by id (a successor may have
 * bound a new one there after the directory was replaced). */
void usock_unlink_if(const char *path, const struct usock_id *id);

/* One non-blocking read: bytes read (0 at end of input), -EAGAIN, or -errno. */
long usock_read(int fd, void *buf, size_t len);

/* One non-blocking write: bytes written, -EAGAIN when the peer's buffer is
 * full, or -errno (-EPIPE once it closed; never a SIGPIPE). */
long usock_write(int fd, const void *buf, size_t len);

/* poll(2) over the server's descriptors; a signal is 0 (nothing ready). */
int usock_poll(struct pollfd *fds, size_t n, int timeout_ms);

/* Closes fd; -1 is a no-op. */
void usock_close(int fd);

/* Where usock_request failed. */
enum usock_stage { USOCK_CONNECT, USOCK_SEND, USOCK_READ };

/* One request and its answer over the Unix stream socket at path, the client
 * side of the control protocol: connects (waiting for room in a full backlog
 * until the deadline), sends request, and reads until the server closes or
 * more than max bytes arrived, all within timeout_ms. A server that answers
 * and closes before reading the request is still read. Returns 0 with
 * *resp (malloc'd, not NUL-terminated; the caller frees) and *len, or -errno
 * with *stage saying where: -ENOENT, -ECONNREFUSED, -EACCES ... at connect,
 * -ETIMEDOUT at any stage. */
int usock_request(const char *path, const char *request, int timeout_ms, size_t max, char **resp,
                  size_t *len, enum usock_stage *stage);

/* Writes all of buf within timeout_ms (the fd may be non-blocking).
 * 0, -ETIMEDOUT, or -errno. */
int usock_write_all(int fd, const void *buf, size_t len, int timeout_ms);

#endif
