/* A process's place on the machine with real System V segments, each test in an IPC namespace
 * of its own (root only: skipped otherwise), against the segments and files another user could
 * make. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "machine.h"
#include "registry_layout.h"
#include "sysv.h"

static const struct machine_identity nobody_id = {0};

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0 || unshare(CLONE_NEWIPC) != 0)
        skip();
    return 0;
}

static struct machine *attach(const char *pool)
{
    struct machine *m = NULL;
    char err[512];
    int r = machine_attach(LICGATE_RUNDIR, pool, 8, "/etc/licgate/licenses", &nobody_id, 100, &m,
                           err, sizeof(err));

    if (r != 0)
        fail_msg("machine_attach: %s", err);
    return m;
}

/* Runs fn in a child process and returns its exit status. */
static int in_child(int (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    int ws;

    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 100;
}

static int child_same_segments(void *arg)
{
    const int *want = arg;
    struct machine *m = NULL;
    int reg, pool;

    if (machine_attach(LICGATE_RUNDIR, "p", 16, "/etc/licgate/licenses", &nobody_id, 100, &m, NULL,
                       0) != 0)
        return 1;
    machine_ids(m, &reg, &pool);
    machine_detach(m);
    return reg == want[0] && pool == want[1] ? 0 : 2;
}

static void machine_attach__second_process__finds_the_same_segments(void **state)
{
    struct machine *m = attach("p");
    struct sysv_info info;
    int ids[2];

    (void)state;
    machine_ids(m, &ids[0], &ids[1]);
    assert_true(ids[0] >= 0 && ids[1] >= 0 && ids[0] != ids[1]);
    assert_int_equal(in_child(child_same_segments, ids), 0);
    machine_detach(m);
    /* the pool goes with its last process; the registry stays */
    assert_int_equal(sysv_stat(ids[1], &info), -ENOENT);
    assert_int_equal(sysv_stat(ids[0], &info), 0);
    assert_int_equal(info.mode & 0007, 0);
}

/* Another user's segments of the registry's size, one of them a valid registry, open to all. */
static int child_forge_as_nobody(void *arg)
{
    struct passwd *pw = getpwnam("nobody");
    int *ids = arg, id;
    void *base;

    if (pw == NULL || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        return 1;
    for (int i = 0; i < 2; i++) {
        id = shmget(IPC_PRIVATE, registry_region_size(), IPC_CREAT | 0666);
        base = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
        if (base == (void *)-1 || registry_init_region(base, registry_region_size()) != 0)
            return 2;
        ids[i] = id;
    }
    return 0;
}

static void machine_attach__another_users_registry__never_used(void **state)
{
    int *forged =
        mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct machine *m;
    int reg, pool;

    (void)state;
    assert_int_equal(in_child(child_forge_as_nobody, forged), 0);
    m = attach("p");
    machine_ids(m, &reg, &pool);
    assert_int_not_equal(reg, forged[0]);
    assert_int_not_equal(reg, forged[1]);
    machine_detach(m);
    munmap(forged, 2 * sizeof(int));
}

static void machine_attach__registry_marked_removed__still_the_one(void **state)
{
    struct machine *m = attach("p");
    int ids[2];

    (void)state;
    machine_ids(m, &ids[0], &ids[1]);
    assert_int_equal(sysv_mark_removed(ids[0]), 0); /* ipcrm while openvpn runs */
    assert_int_equal(in_child(child_same_segments, ids), 0);
    machine_detach(m);
}

static void machine_attach__older_layout_still_mapped__refused(void **state)
{
    const char *path = "/dev/shm/licgate.lgtest-old";
    struct machine *m = NULL;
    char err[512] = "";
    int fd, ready[2];
    pid_t holder;

    (void)state;
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    assert_int_equal(pipe(ready), 0);
    holder = fork();
    assert_true(holder >= 0);
    if (holder == 0) {
        if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
            _exit(1);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    close(fd);
    assert_int_equal(read(ready[0], err, 1), 1);
    assert_int_equal(machine_attach(LICGATE_RUNDIR, "lgtest-old", 8, "/etc/licgate/licenses",
                                    &nobody_id, 100, &m, err, sizeof(err)),
                     -EBUSY);
    assert_null(m);
    assert_non_null(strstr(err, "still runs an older licgate on /dev/shm/licgate.lgtest-old"));
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    unlink(path);
    close(ready[0]);
    close(ready[1]);
    m = attach("lgtest-old"); /* once it is gone, the pool starts */
    machine_detach(m);
}

static void machine_check__segment_opened_to_all__closed_again_and_said(void **state)
{
    struct machine *m = attach("p");
    struct machine_check mc;
    struct sysv_info info;
    struct shmid_ds ds;
    int reg, pool;

    (void)state;
    machine_ids(m, &reg, &pool);
    machine_check(m, 100, &mc);
    assert_false(mc.perms_changed || mc.self_reregistered || mc.pool_republished);
    assert_int_equal(shmctl(pool, IPC_STAT, &ds), 0);
    ds.shm_perm.mode = 0666;
    assert_int_equal(shmctl(pool, IPC_SET, &ds), 0);
    machine_check(m, 100, &mc);
    assert_true(mc.perms_changed);
    assert_int_equal(sysv_stat(pool, &info), 0);
    assert_int_equal(info.mode & 0007, 0);
    machine_detach(m);
}

static void machine_attach__registry_of_another_release_in_use__refused(void **state)
{
    struct machine *m = NULL;
    struct reg_header *hdr;
    char err[512] = "";
    int id, reg, pool;
    pid_t holder;

    (void)state;
    id = shmget(IPC_PRIVATE, registry_region_size(), IPC_CREAT | 0600);
    assert_true(id >= 0);
    hdr = shmat(id, NULL, 0);
    assert_true(hdr != (void *)-1);
    assert_int_equal(registry_init_region(hdr, registry_region_size()), 0);
    hdr->version = REG_LAYOUT_VERSION + 1;
    holder = fork(); /* a process of that release, still attached */
    assert_true(holder >= 0);
    if (holder == 0) {
        pause();
        _exit(0);
    }
    shmdt(hdr);
    assert_int_equal(machine_attach(LICGATE_RUNDIR, "p", 8, "/etc/licgate/licenses", &nobody_id,
                                    100, &m, err, sizeof(err)),
                     -EPROTO);
    assert_null(m);
    assert_non_null(strstr(err, "layout version 2, this build speaks 1"));
    assert_non_null(strstr(err, "another licgate release"));
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    /* nobody uses it any more: a registry of this layout is made beside it */
    m = attach("p");
    machine_ids(m, &reg, &pool);
    assert_int_not_equal(reg, id);
    machine_detach(m);
    shmctl(id, IPC_RMID, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(machine_attach__second_process__finds_the_same_segments, setup),
        cmocka_unit_test_setup(machine_attach__another_users_registry__never_used, setup),
        cmocka_unit_test_setup(machine_attach__registry_marked_removed__still_the_one, setup),
        cmocka_unit_test_setup(machine_attach__older_layout_still_mapped__refused, setup),
        cmocka_unit_test_setup(machine_check__segment_opened_to_all__closed_again_and_said, setup),
        cmocka_unit_test_setup(machine_attach__registry_of_another_release_in_use__refused, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
