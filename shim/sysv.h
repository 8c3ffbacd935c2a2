/* System V shared-memory segments: the machine's shared state. A segment has a
 * fixed size, so no one can shrink it under a mapping (a file can be truncated
 * and fault every process that maps it), and it has no name in any directory,
 * so no other user can pre-create, replace or unlink it: it is found by its id
 * and believed only after its creator, mode and size are checked. The only
 * module that maps shared memory. Int functions return 0 or -errno. */
#ifndef LICGATE_SYSV_H
#define LICGATE_SYSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Who gets a new segment: uid/gid are applied when set (IPC_SET, root only);
 * mode is 0600, or 0660 with a group. */
struct sysv_owner {
    uid_t uid;
    gid_t gid;
    bool set_uid, set_gid;
};

/* Whose segments to believe: one created by root, by our euid or by one of
 * uids[0..nuids), granting nothing to other users. Its group is whatever its
 * creator (or root) gave it: pools of one machine may name different
 * group= values, and only a segment's owner or root can change it. */
struct sysv_trust {
    uid_t uids[2];
    size_t nuids;
};

struct sysv_segment {
    int id;
    void *base;
    size_t size;
};

struct sysv_info {
    int id;
    size_t size;
    uid_t uid, cuid;
    gid_t gid;
    mode_t mode;  /* permission bits */
    bool removed; /* marked for removal: gone when the last process detaches */
    uint64_t nattch;
};

/* Creates a segment of size bytes owned as asked, maps it read-write and, with
 * remove_at_last_detach, marks it for removal at once, so that it lives
 * exactly as long as some process has it attached. The memory is zeroed. On
 * failure nothing is left behind and *out is zeroed; err says why. */
int sysv_create(size_t size, const struct sysv_owner *owner, bool remove_at_last_detach,
                struct sysv_segment *out, char *err, size_t errlen);

/* Maps segment id read-write after checking it against trust and size (exact).
 * A segment of another creator or one that grants access to other users is
 * -EPERM, one of another size -EMSGSIZE (nothing mapped); a segment that is
 * gone is -ENOENT.
 * err names the id and the reason. */
int sysv_attach(int id, size_t size, const struct sysv_trust *trust, struct sysv_segment *out,
                char *err, size_t errlen);

/* Whether info passes trust (the checks sysv_attach makes); why gets the
 * reason when not. */
bool sysv_trusted(const struct sysv_info *info, const struct sysv_trust *trust, char *why,
                  size_t whylen);

/* The kernel's view of segment id now. -ENOENT once it is gone. */
int sysv_stat(int id, struct sysv_info *info);

/* Gives segment id to owner (root only) with the mode that goes with it. */
int sysv_set_owner(int id, const struct sysv_owner *owner);

/* Takes every permission of other users off segment id (its owner or root). */
int sysv_restrict(int id);

/* Marks segment id for removal at its last detach. */
int sysv_mark_removed(int id);

/* The ids of the segments of exactly size bytes that trust accepts, from
 * /proc/sysvipc/shm, in increasing id order; free with free(). More than
 * max is -E2BIG. No /proc is -ENOENT. */
int sysv_list(size_t size, const struct sysv_trust *trust, size_t max, int **ids, size_t *n);

/* Unmaps the segment and zeroes *seg; safe on a zeroed one. The segment itself
 * stays unless it was marked for removal and this was its last mapping. */
void sysv_detach(struct sysv_segment *seg);

#endif
