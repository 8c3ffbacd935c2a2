/* Local accounts: the runtime identity openvpn drops to (--user/--group). */
#ifndef LICGATE_ACCOUNT_H
#define LICGATE_ACCOUNT_H

#include <sys/types.h>

/* Looks up a user name (or decimal uid) in the account database. Returns 0,
 * -ENOENT when there is no such user, or another -errno. *uid is set only on
 * success. */
int account_user(const char *name, uid_t *uid);

/* The same for a group name (or decimal gid). */
int account_group(const char *name, gid_t *gid);

/* This process's effective uid. */
uid_t account_euid(void);

/* This process's real uid (who ran it). */
uid_t account_uid(void);

#endif
