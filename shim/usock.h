/* Unix stream sockets for the control channel, the directory that holds them,
 * peer credentials and the leadership lock. */
#ifndef LICGATE_USOCK_H
#define LICGATE_USOCK_H

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
 * (pools may share it) but must be a directory not writable by other users
 * and, for an unprivileged caller, owned by root, itself or owner->uid; else
 * -EPERM with a reason. Returns 0 or -errno with err set. */
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

/* Writes all of buf within timeout_ms (the fd may be non-blocking).
 * 0, -ETIMEDOUT, or -errno. */
int usock_write_all(int fd, const void *buf, size_t len, int timeout_ms);

#endif
