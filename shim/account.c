#include "account.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

int account_user(const char *name, uid_t *uid)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    int r;

    r = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
    if (r != 0)
        return -r;
    if (found == NULL)
        return -ENOENT;
    *uid = found->pw_uid;
    return 0;
}

int account_group(const char *name, gid_t *gid)
{
    struct group gr, *found = NULL;
    char buf[4096];
    int r;

    r = getgrnam_r(name, &gr, buf, sizeof(buf), &found);
    if (r != 0)
        return -r;
    if (found == NULL)
        return -ENOENT;
    *gid = found->gr_gid;
    return 0;
}

uid_t account_euid(void)
{
    return geteuid();
}

uid_t account_uid(void)
{
    return getuid();
}
