/* Stress harness (issue 6): P processes each load the real plugin through the
 * ABI on one pool and run clients through TLS_VERIFY, CLIENT_CONNECT_V2 and
 * CLIENT_DISCONNECT (or the destructor alone) with random holds, while the
 * parent kill -9s random participants and starts replacements, and reloads a
 * lower license limit through the control socket half way. An independent
 * checker in shared memory asserts after every admission that the sessions
 * held never exceed the limit in force, and at the end that the pool's
 * in-use equals the sessions the checker knows (zero leaks).
 *
 * Participant 0 serves the control socket and is never killed; the others
 * run with control-socket=none. The limit only goes down for admissions that
 * start after the reload answered: such an admission must leave at most the
 * new limit held; one that started earlier may see the old limit. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "ovpn_env.h"
#include "plugin_abi.h"
#include "config.h"
#include "machine.h"
#include "pool.h"

#define MAX_BITS     64 /* one bit of the holders word per (process, client) */
#define MAX_PARTS    16
#define HOLD_MAX_NS  200000
#define PART_OPENING 1
#define PART_RUNNING 2
#define PART_PARKED  3
#define PART_DONE    4

enum phase { PHASE_BEFORE, PHASE_RELOADING, PHASE_AFTER };
enum command { CMD_RUN, CMD_PARK, CMD_FINISH };

struct part {
    atomic_int state;
    atomic_int pid;
};

struct shared {
    atomic_uint_fast64_t holders; /* bit p*clients+k: client k of participant p holds a seat */
    atomic_int phase;
    atomic_int command;
    atomic_ulong ops;
    atomic_ulong admitted;
    atomic_ulong refused;
    atomic_ulong violations;
    atomic_uint max_holders;
    atomic_uint max_limit; /* the limit in force when max_holders was seen */
    atomic_flag msg_taken;
    char msg[512];
    struct part parts[MAX_PARTS];
};

struct options {
    const char *plugin;
    const char *before, *after; /* license files: limit_before / limit_after seats */
    unsigned limit_before, limit_after;
    unsigned procs, clients, kills, capacity;
    double seconds;
    unsigned long iterations;
    uint64_t seed;
};

static struct shared *sh;
static struct options opt;
static char workdir[] = "/tmp/licgate-stress.XXXXXX";
static char pool_name[SEAT_POOL_NAME_MAX + 1];
static char licdir[128], sockpath[128];

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
    va_list ap;

    atomic_fetch_add(&sh->violations, 1);
    if (atomic_flag_test_and_set(&sh->msg_taken))
        return;
    va_start(ap, fmt);
    vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
    va_end(ap);
}

static void record_max(unsigned h, unsigned limit)
{
    unsigned m = atomic_load(&sh->max_holders);

    while (h > m && !atomic_compare_exchange_weak(&sh->max_holders, &m, h))
        ;
    if (h > m)
        atomic_store(&sh->max_limit, limit);
}

/* ---------------------------------------------------------- participants */

struct client {
    struct plugin_client pc;
    bool live;        /* constructed */
    uint64_t release; /* when a held session ends, or a refused client retries */
};

static void part_release(const struct plugin_instance *pi, struct client *c, uint64_t bit,
                         const struct ovpn_env *env, uint64_t *rng)
{
    /* The checker forgets the session before the plugin gives the seat back. */
    atomic_fetch_and(&sh->holders, ~bit);
    /* openvpn does not always call CLIENT_DISCONNECT; the destructor must release then. */
    if (bench_rand(rng) % 4 != 0)
        plugin_client_disconnect(pi, &c->pc, env);
    plugin_client_free(pi, &c->pc);
    c->live = false;
    atomic_fetch_add(&sh->ops, 1);
}

static int participant(unsigned p)
{
    struct part *me = &sh->parts[p];
    const char *args[8];
    char a_dir[160], a_pool[64], a_cap[32], a_sock[160], a_state[180];
    struct plugin_so so;
    struct plugin_instance pi;
    struct client clients[MAX_BITS];
    struct ovpn_env *env = malloc(opt.clients * sizeof(*env));
    uint64_t rng = opt.seed ^ ((uint64_t)getpid() << 32) ^ p;
    unsigned long it = 0;
    unsigned limit_any = opt.limit_before > opt.limit_after ? opt.limit_before : opt.limit_after;

    memset(clients, 0, sizeof(clients));
    snprintf(a_dir, sizeof(a_dir), "license-dir=%s", licdir);
    snprintf(a_pool, sizeof(a_pool), "pool=%s", pool_name);
    snprintf(a_cap, sizeof(a_cap), "capacity=%u", opt.capacity);
    snprintf(a_sock, sizeof(a_sock), "control-socket=%s", p == 0 ? sockpath : "none");
    /* never the installed default: tests must not write outside their temp dir */
    snprintf(a_state, sizeof(a_state), "state-dir=%s/state", licdir);
    args[0] = a_dir;
    args[1] = a_pool;
    args[2] = a_cap;
    args[3] = a_sock;
    args[4] = a_state;
    args[5] = NULL;
    if (env == NULL || plugin_so_load(&so, opt.plugin) < 0)
        return 1;
    for (unsigned k = 0; k < opt.clients; k++)
        ovpn_env_build(&env[k], p * 1000 + k);
    if (plugin_open(&so, opt.plugin, args, &pi) < 0) {
        violation("participant %u (pid %d): the plugin did not open", p, (int)getpid());
        return 1;
    }
    atomic_store(&me->state, PART_RUNNING);
    while (atomic_load(&sh->command) == CMD_RUN && (opt.iterations == 0 || it < opt.iterations)) {
        unsigned k = (unsigned)(bench_rand(&rng) % opt.clients);
        uint64_t bit = 1ull << (p * opt.clients + k);
        struct client *c = &clients[k];

        it++;
        if (bench_now_ns() < c->release)
            continue;
        if (c->live) {
            part_release(&pi, c, bit, &env[k], &rng);
            continue;
        }
        int phase = atomic_load(&sh->phase);

        plugin_client_new(&pi, &c->pc);
        c->live = true;
        if (!plugin_client_connect(&pi, &c->pc, &env[k])) {
            plugin_client_free(&pi, &c->pc);
            c->live = false;
            atomic_fetch_add(&sh->refused, 1);
            atomic_fetch_add(&sh->ops, 1);
            c->release = bench_now_ns() + bench_rand(&rng) % (HOLD_MAX_NS + 1); /* backoff */
            continue;
        }
        uint64_t before = atomic_fetch_or(&sh->holders, bit);
        unsigned h = (unsigned)__builtin_popcountll(before | bit);
        unsigned bound = phase == PHASE_AFTER ? opt.limit_after : limit_any;

        if (before & bit)
            violation("participant %u client %u: admitted twice", p, k);
        if (h > bound)
            violation("%u sessions held, limit %u (participant %u, admission started %s the "
                      "reload)",
                      h, bound, p, phase == PHASE_AFTER ? "after" : "before");
        record_max(h, phase == PHASE_AFTER ? opt.limit_after : opt.limit_before);
        atomic_fetch_add(&sh->admitted, 1);
        atomic_fetch_add(&sh->ops, 1);
        c->release = bench_now_ns() + bench_rand(&rng) % (HOLD_MAX_NS + 1);
    }
    /* Park holding what is held, so the parent can compare the pool with the checker. */
    atomic_store(&me->state, PART_PARKED);
    while (atomic_load(&sh->command) != CMD_FINISH)
        usleep(1000);
    for (unsigned k = 0; k < opt.clients; k++) {
        if (clients[k].live)
            part_release(&pi, &clients[k], 1ull << (p * opt.clients + k), &env[k], &rng);
    }
    plugin_close(&pi);
    plugin_so_unload(&so);
    free(env);
    atomic_store(&me->state, PART_DONE);
    return 0;
}

/* ---------------------------------------------------------------- parent */

static pid_t spawn(unsigned p)
{
    pid_t pid;

    atomic_store(&sh->parts[p].state, PART_OPENING);
    pid = fork();
    if (pid == 0)
        _exit(participant(p));
    atomic_store(&sh->parts[p].pid, (int)pid);
    return pid;
}

static void wait_opened(pid_t *pids)
{
    for (int i = 0; i < 5000; i++) {
        bool opening = false;

        for (unsigned p = 0; p < opt.procs; p++) {
            if (pids[p] > 0 && atomic_load(&sh->parts[p].state) == PART_OPENING)
                opening = true;
        }
        if (!opening)
            return;
        usleep(1000);
    }
    violation("a participant did not finish opening the plugin within 5 s");
}

/* SIGSTOP, so the checker can forget the victim's sessions while it cannot
 * change them, then SIGKILL: the plugin sees a process that died anywhere. */
static int kill_participant(pid_t *pids, unsigned p)
{
    uint64_t mask = (opt.clients == 64 ? ~0ull : ((1ull << opt.clients) - 1)) << (p * opt.clients);
    int status;

    if (kill(pids[p], SIGSTOP) < 0 || waitpid(pids[p], &status, WUNTRACED) < 0)
        return -1;
    if (WIFSTOPPED(status)) {
        atomic_fetch_and(&sh->holders, ~mask);
        kill(pids[p], SIGKILL);
        waitpid(pids[p], &status, 0);
    }
    pids[p] = -1;
    return 0;
}

static int control_reload(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char resp[2048];
    size_t used = 0;
    ssize_t k;
    int fd, r = -1;

    memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
    for (int tries = 0; tries < 300; tries++) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        if (fd >= 0)
            close(fd);
        fd = -1;
        usleep(10000);
    }
    if (fd < 0)
        return -1;
    if (write(fd, "reload\n", 7) == 7) {
        while (used + 1 < sizeof(resp) && (k = read(fd, resp + used, sizeof(resp) - 1 - used)) > 0)
            used += (size_t)k;
        resp[used] = '\0';
        r = strstr(resp, "\"ok\":true") != NULL ? 0 : -1;
        if (r < 0)
            violation("reload over %s failed: %s", sockpath, resp);
    }
    close(fd);
    return r;
}

static int copy_file(const char *from, const char *to)
{
    char buf[8192];
    ssize_t n;
    int in = open(from, O_RDONLY | O_CLOEXEC), out, r = 0;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n)
            r = -1;
    }
    close(in);
    close(out);
    return n < 0 ? -1 : r;
}

/* The pool as every process sees it, against what the checker knows. */
/* The checker's own attachment: held from before the first participant to the end, so the
 * pool's segment (and its counters) lives through the whole run. */
static struct machine *checker;

static int check_attach(void)
{
    struct machine_identity id = {0};
    char err[512];

    if (machine_attach(LICGATE_RUNDIR, pool_name, opt.capacity, licdir, &id, time(NULL), &checker,
                       err, sizeof(err)) < 0) {
        fprintf(stderr, "stress: cannot attach the pool: %s\n", err);
        return -1;
    }
    return 0;
}

static int check_pool(const char *when, unsigned expect, struct seat_pool_status *st)
{
    struct seat_pool *pool = machine_pool(checker);

    seat_pool_reclaim_dead(pool); /* the killed participants' seats */
    seat_pool_snapshot(pool, st);
    if (st->in_use != expect)
        violation("%s: pool in_use %u, the checker knows %u live sessions: %s", when, st->in_use,
                  expect, st->in_use > expect ? "leaked seats" : "lost count");
    else if (st->free_slots != st->capacity - st->in_use)
        violation("%s: %u free slots + %u in use != capacity %u: leaked slots", when,
                  st->free_slots, st->in_use, st->capacity);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: stress --plugin SO --before LIC --limit-before N --after LIC --limit-after M\n"
            "              [--procs P] [--clients K] [--seconds S] [--iterations T] [--kills N]\n"
            "              [--capacity C] [--seed X] [-v]\n"
            "P processes (P*K <= 64) run K clients each for S seconds (or T operations each);\n"
            "N random kill -9; licenses switch from LIC (N seats) to LIC (M seats) half way.\n");
}

static int parse(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"plugin", required_argument, NULL, 'p'},
        {"before", required_argument, NULL, 'b'},
        {"after", required_argument, NULL, 'a'},
        {"limit-before", required_argument, NULL, 'B'},
        {"limit-after", required_argument, NULL, 'A'},
        {"procs", required_argument, NULL, 'P'},
        {"clients", required_argument, NULL, 'K'},
        {"seconds", required_argument, NULL, 's'},
        {"iterations", required_argument, NULL, 'n'},
        {"kills", required_argument, NULL, 'k'},
        {"capacity", required_argument, NULL, 'c'},
        {"seed", required_argument, NULL, 'S'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opt = (struct options){.procs = 4, .clients = 8, .seconds = 3, .kills = 3, .capacity = 64};
    opt.seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            opt.plugin = optarg;
            break;
        case 'b':
            opt.before = optarg;
            break;
        case 'a':
            opt.after = optarg;
            break;
        case 'B':
            opt.limit_before = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'A':
            opt.limit_after = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'P':
            opt.procs = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'K':
            opt.clients = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            opt.seconds = strtod(optarg, NULL);
            break;
        case 'n':
            opt.iterations = strtoul(optarg, NULL, 10);
            break;
        case 'k':
            opt.kills = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'c':
            opt.capacity = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'S':
            opt.seed = strtoull(optarg, NULL, 0);
            break;
        case 'v':
            plugin_log_verbose = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (opt.plugin == NULL || opt.before == NULL || opt.after == NULL || opt.limit_before == 0 ||
        opt.limit_after == 0 || opt.procs == 0 || opt.procs > MAX_PARTS || opt.clients == 0 ||
        opt.procs * opt.clients > MAX_BITS || opt.seconds <= 0 || opt.capacity == 0)
        return -1;
    if (opt.seed == 0)
        opt.seed = 1;
    return 0;
}

int main(int argc, char **argv)
{
    pid_t pids[MAX_PARTS];
    struct seat_pool_status live, end;
    unsigned kills = 0, reloads = 0, next_kill = 0;
    uint64_t rng, start, deadline, reload_at;
    char path[256];
    int status, rc = 0;

    if (parse(argc, argv) < 0) {
        usage(stderr);
        return 2;
    }
    rng = opt.seed;
    sh = bench_shared_alloc(sizeof(*sh));
    if (sh == NULL || mkdtemp(workdir) == NULL) {
        perror("stress: setup");
        return 1;
    }
    /* Unique per run; the pool's segment goes with its last process. */
    snprintf(pool_name, sizeof(pool_name), "stress%ld-%u", (long)getpid(),
             (unsigned)(opt.seed % 100000));
    snprintf(licdir, sizeof(licdir), "%s/licenses", workdir);
    snprintf(sockpath, sizeof(sockpath), "%s/run/ctl.sock", workdir);
    snprintf(path, sizeof(path), "%s/licenses/stress.lic", workdir);
    if (mkdir(licdir, 0755) < 0 || copy_file(opt.before, path) < 0) {
        fprintf(stderr, "stress: cannot install %s in %s\n", opt.before, licdir);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/after.lic", workdir);
    if (copy_file(opt.after, path) < 0) {
        fprintf(stderr, "stress: cannot read %s\n", opt.after);
        return 1;
    }
    if (check_attach() < 0)
        return 1;
    atomic_store(&sh->phase, PHASE_BEFORE);
    atomic_store(&sh->command, CMD_RUN);

    start = bench_now_ns();
    deadline = start + (uint64_t)(opt.seconds * 1e9);
    reload_at = start + (deadline - start) / 2;
    if (opt.procs < 2)
        opt.kills = 0; /* participant 0 serves the control socket and is never killed */
    for (unsigned p = 0; p < opt.procs; p++)
        pids[p] = spawn(p);

    while (bench_now_ns() < deadline && atomic_load(&sh->violations) == 0) {
        uint64_t now = bench_now_ns();

        for (unsigned p = 0; p < opt.procs; p++) {
            if (pids[p] > 0 && waitpid(pids[p], &status, WNOHANG) == pids[p]) {
                if (opt.iterations == 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                    violation("participant %u (pid %d) died on its own", p, (int)pids[p]);
                pids[p] = -1;
            }
        }
        /* kills spread evenly over the first 90% of the run */
        if (next_kill < opt.kills && now >= start + (uint64_t)((double)(deadline - start) * 0.9 *
                                                               (next_kill + 1) / (opt.kills + 1))) {
            unsigned p = 1 + (unsigned)(bench_rand(&rng) % (opt.procs - 1));

            /* jitter, so the victim is anywhere in its loop */
            usleep((useconds_t)(bench_rand(&rng) % 3000));
            if (pids[p] > 0 && atomic_load(&sh->parts[p].state) == PART_RUNNING &&
                kill_participant(pids, p) == 0) {
                kills++;
                pids[p] = spawn(p);
            }
            next_kill++;
        }
        if (reloads == 0 && now >= reload_at) {
            char from[256], to[256];

            /* No participant may be reading the directory while it changes. */
            wait_opened(pids);
            atomic_store(&sh->phase, PHASE_RELOADING);
            snprintf(from, sizeof(from), "%s/after.lic", workdir);
            snprintf(to, sizeof(to), "%s/stress.lic", licdir);
            if (rename(from, to) < 0 || control_reload() < 0) {
                violation("reload failed");
                break;
            }
            atomic_store(&sh->phase, PHASE_AFTER);
            reloads++;
        }
        usleep(1000);
    }

    /* Park everyone holding what they hold and compare the pool with the checker. */
    wait_opened(pids);
    atomic_store(&sh->command, CMD_PARK);
    for (int i = 0; i < 10000; i++) {
        bool busy = false;

        for (unsigned p = 0; p < opt.procs; p++) {
            if (pids[p] > 0 && atomic_load(&sh->parts[p].state) != PART_PARKED)
                busy = true;
        }
        if (!busy)
            break;
        usleep(1000);
    }
    unsigned known = (unsigned)__builtin_popcountll(atomic_load(&sh->holders));
    check_pool("while parked", known, &live);
    atomic_store(&sh->command, CMD_FINISH);
    for (unsigned p = 0; p < opt.procs; p++) {
        if (pids[p] > 0 &&
            (waitpid(pids[p], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
            violation("participant %u did not finish cleanly", p);
    }
    check_pool("after every participant closed", 0, &end);
    if (end.admissions != end.releases + end.reclaimed)
        violation("pool counters: %llu admissions, %llu releases, %llu reclaimed",
                  (unsigned long long)end.admissions, (unsigned long long)end.releases,
                  (unsigned long long)end.reclaimed);

    machine_detach(checker); /* the last process: the pool's segment goes */
    snprintf(path, sizeof(path), "rm -rf '%s'", workdir);
    if (system(path) != 0)
        fprintf(stderr, "stress: could not remove %s\n", workdir);

    unsigned long leaks = live.in_use > known ? live.in_use - known : 0;
    leaks += end.in_use;
    printf("stress: %lu operations, %u processes, %u kills, %u reloads, max holders %u/limit %u, "
           "leaks %lu (admitted %lu, refused %lu, reclaimed %llu, parked live %u, seed %llu)\n",
           atomic_load(&sh->ops), opt.procs, kills, reloads, atomic_load(&sh->max_holders),
           atomic_load(&sh->max_limit), leaks, atomic_load(&sh->admitted),
           atomic_load(&sh->refused), (unsigned long long)end.reclaimed, known,
           (unsigned long long)opt.seed);
    if (reloads == 0)
        violation("the reload never happened");
    if (atomic_load(&sh->violations) != 0) {
        fprintf(stderr, "stress: FAIL: %lu violations; first: %s\n", atomic_load(&sh->violations),
                sh->msg);
        rc = 1;
    }
    return rc;
}
