/* The benchmark host: loads the real openvpn-plugin-licgate.so through the
 * plugin ABI and times what openvpn would call, next to the physical floor (a
 * bare compare-and-swap on a shared-memory counter) and the do-it-yourself
 * alternative (a client-connect script under flock). Prints one line per
 * distribution:
 *
 *   RESULT <name> n=<samples> median=<ns> p99=<ns> p999=<ns> mean=<ns> max=<ns>
 *
 * scripts/bench runs it and builds the report; see --help. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
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

#define MAX_PROCS 16

struct options {
    const char *mode;
    const char *plugin;
    const char *args[PLUGIN_ARGS_MAX + 1];
    size_t nargs;
    const char *script;
    const char *socket;
    const char *label;
    unsigned procs;
    unsigned long iterations;
    unsigned long warmup;
    unsigned long held;
    unsigned long grant; /* hooks: a cluster grant set over --socket first (cluster mode) */
    bool no_stats;       /* hooks: no percentiles (a profile of the plugin, not of sorting) */
};

/* Start line for the measuring processes. */
struct start_line {
    atomic_uint ready;
    atomic_uint go;
    atomic_uint failed;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: plugin_host [-v] MODE [options]\n"
               "modes:\n"
               "  hooks   --plugin SO --arg K=V... [--procs P] [--iterations N] [--held H]\n"
               "          admit+release through the ABI (TLS_VERIFY depth 1 and 0,\n"
               "          CLIENT_CONNECT_V2, CLIENT_DISCONNECT), constructor, destructor,\n"
               "          P processes on one pool, H sessions held in the pool meanwhile;\n"
               "          --socket PATH --cluster-grant G: a cluster license's grant of G\n"
               "          seats set over the control socket first (cluster mode);\n"
               "          --no-stats skips the percentiles (for perf record)\n"
               "  floor   [--procs P] [--iterations N]   bare CAS admit+release in shm\n"
               "  clock   [--iterations N]   two back-to-back clock reads (timing overhead)\n"
               "  script  --script FILE [--iterations N]  client-connect + client-disconnect\n"
               "          script, forked and executed as openvpn does\n"
               "  open    --plugin SO --arg K=V... [--iterations N]  open_v3 + close_v1\n"
               "  reload  --plugin SO --arg K=V... --socket PATH [--iterations N]\n"
               "          'reload' over the control socket (arguments must enable it)\n"
               "options: --label NAME prefixes the RESULT names; --warmup N; -v prints the\n"
               "plugin's log lines\n");
}

static void print_result(const struct options *o, const char *name, uint32_t *v, size_t n)
{
    struct bench_stats st;

    bench_stats(v, n, &st);
    printf("RESULT %s%s%s n=%zu median=%llu p99=%llu p999=%llu mean=%.0f max=%llu\n",
           o->label != NULL ? o->label : "", o->label != NULL ? "." : "", name, st.n,
           (unsigned long long)st.median, (unsigned long long)st.p99, (unsigned long long)st.p999,
           st.mean, (unsigned long long)st.max);
    fflush(stdout);
}

static uint32_t clamp_ns(uint64_t ns)
{
    return ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int wait_start(struct start_line *sl)
{
    atomic_fetch_add(&sl->ready, 1);
    while (atomic_load(&sl->go) == 0) {
        if (atomic_load(&sl->failed) != 0)
            return -1;
        sched_yield();
    }
    return 0;
}

/* Forks `procs` children running fn(i); releases them together once all are
 * ready. Returns 0 if every child exited 0. */
static int run_procs(unsigned procs, struct start_line *sl, int (*fn)(unsigned, void *), void *arg)
{
    pid_t pids[MAX_PROCS];
    int status, bad = 0;

    for (unsigned i = 0; i < procs; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            atomic_store(&sl->failed, 1);
            procs = i;
            bad = 1;
            break;
        }
        if (pids[i] == 0)
            _exit(fn(i, arg) == 0 ? 0 : 1);
    }
    while (!bad && atomic_load(&sl->ready) < procs) {
        for (unsigned i = 0; i < procs; i++) {
            if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                fprintf(stderr, "plugin_host: process %u exited during setup\n", i);
                atomic_store(&sl->failed, 1);
                pids[i] = -1;
                bad = 1;
            }
        }
        usleep(1000);
    }
    atomic_store(&sl->go, 1);
    for (unsigned i = 0; i < procs; i++) {
        if (pids[i] < 0)
            continue;
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bad = 1;
    }
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------------ hooks */

struct hooks_run {
    const struct options *o;
    struct plugin_so so;
    struct start_line *sl;
    uint32_t *admit_release; /* procs x iterations */
    uint32_t *ctor;
    uint32_t *dtor;
    atomic_ulong *refused;
};

static int control_request(const char *path, const char *req, char *resp, size_t len);

/* Sets a cluster grant of o->grant seats for an hour, as licgate-agent would. */
static int set_grant(const struct options *o)
{
    struct timespec ts;
    char line[96], resp[512];

    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(line, sizeof(line), "cluster-grant %lu %lld\n", o->grant,
             (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 3600 * 1000);
    resp[0] = '\0';
    /* the control thread may not listen yet right after open */
    for (int i = 0; o->socket != NULL && i < 200; i++) {
        if (control_request(o->socket, line, resp, sizeof(resp)) == 0)
            return 0;
        if (resp[0] != '\0')
            break;
        usleep(10000);
    }
    fprintf(stderr, "plugin_host: cluster-grant refused: %s\n", resp[0] ? resp : "no answer");
    return -1;
}

static int hooks_child(unsigned idx, void *arg)
{
    struct hooks_run *run = arg;
    const struct options *o = run->o;
    struct plugin_instance pi;
    struct plugin_client c, *held = NULL;
    struct ovpn_env *env = malloc(sizeof(*env));
    unsigned long held_n = idx == 0 ? o->held : 0, refused = 0;
    size_t base = (size_t)idx * o->iterations;
    int rc = -1;

    if (env == NULL || plugin_open(&run->so, o->plugin, o->args, &pi) < 0) {
        fprintf(stderr, "plugin_host: process %u: the plugin did not open\n", idx);
        atomic_store(&run->sl->failed, 1);
        free(env);
        return -1;
    }
    if (idx == 0 && o->grant > 0 && set_grant(o) < 0) {
        atomic_store(&run->sl->failed, 1);
        goto out;
    }
    /* Process 0 fills the pool with held sessions first, each its own client. */
    if (held_n > 0 && (held = calloc(held_n, sizeof(*held))) == NULL)
        goto out;
    for (unsigned long i = 0; i < held_n; i++) {
        if (ovpn_env_build(env, 100000 + (unsigned)i) < 0)
            goto out;
        plugin_client_new(&pi, &held[i]);
        if (!plugin_client_connect(&pi, &held[i], env)) {
            fprintf(stderr, "plugin_host: held session %lu refused (limit too low?)\n", i);
            atomic_store(&run->sl->failed, 1);
            goto out;
        }
    }
    if (ovpn_env_build(env, idx) < 0)
        goto out;
    for (unsigned long i = 0; i < o->warmup; i++) {
        plugin_client_new(&pi, &c);
        if (plugin_client_connect(&pi, &c, env))
            plugin_client_disconnect(&pi, &c, env);
        plugin_client_free(&pi, &c);
    }
    if (wait_start(run->sl) < 0)
        goto out;
    for (unsigned long i = 0; i < o->iterations; i++) {
        uint64_t t0, t1, t2, t3;

        t0 = bench_now_ns();
        plugin_client_new(&pi, &c);
        t1 = bench_now_ns();
        if (plugin_client_connect(&pi, &c, env))
            plugin_client_disconnect(&pi, &c, env);
        else
            refused++;
        t2 = bench_now_ns();
        plugin_client_free(&pi, &c);
        t3 = bench_now_ns();
        run->ctor[base + i] = clamp_ns(t1 - t0);
        run->admit_release[base + i] = clamp_ns(t2 - t1);
        run->dtor[base + i] = clamp_ns(t3 - t2);
    }
    rc = 0;
out:
    atomic_fetch_add(run->refused, refused);
    for (unsigned long i = 0; held != NULL && i < held_n; i++) {
        if (held[i].ctx != NULL) {
            if (held[i].admitted)
                plugin_client_disconnect(&pi, &held[i], env);
            plugin_client_free(&pi, &held[i]);
        }
    }
    free(held);
    plugin_close(&pi);
    free(env);
    return rc;
}

static int mode_hooks(const struct options *o)
{
    struct hooks_run run = {.o = o};
    size_t n = (size_t)o->procs * o->iterations;
    size_t bytes = 3 * n * sizeof(uint32_t) + sizeof(struct start_line) + sizeof(atomic_ulong);
    char *mem;
    char name[64];
    int r;

    if (o->plugin == NULL) {
        fprintf(stderr, "plugin_host hooks: --plugin is required\n");
        return 2;
    }
    if (plugin_so_load(&run.so, o->plugin) < 0)
        return 1;
    mem = bench_shared_alloc(bytes);
    if (mem == NULL)
        return 1;
    run.sl = (struct start_line *)mem;
    run.refused = (atomic_ulong *)(mem + sizeof(struct start_line));
    run.admit_release = (uint32_t *)(mem + sizeof(struct start_line) + sizeof(atomic_ulong));
    run.ctor = run.admit_release + n;
    run.dtor = run.ctor + n;
    r = run_procs(o->procs, run.sl, hooks_child, &run);
    if (r == 0 && atomic_load(run.refused) != 0) {
        fprintf(stderr, "plugin_host hooks: %lu admissions refused (limit too low)\n",
                atomic_load(run.refused));
        r = -1;
    }
    if (r == 0 && !o->no_stats) {
        snprintf(name, sizeof(name), "admit_release");
        print_result(o, name, run.admit_release, n);
        print_result(o, "constructor", run.ctor, n);
        print_result(o, "destructor", run.dtor, n);
    }
    bench_shared_free(mem, bytes);
    plugin_so_unload(&run.so);
    return r == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ floor */

struct floor_run {
    const struct options *o;
    struct start_line *sl;
    atomic_uint *counter; /* in a shm_open object, like the pool */
    uint32_t *samples;
};

/* What any seat pool must do at least: a limit-checked CAS increment and a
 * decrement of one shared word. */
static int floor_child(unsigned idx, void *arg)
{
    struct floor_run *run = arg;
    const struct options *o = run->o;
    const unsigned limit = 1000000;
    size_t base = (size_t)idx * o->iterations;

    if (wait_start(run->sl) < 0)
        return -1;
    for (unsigned long i = 0; i < o->iterations + o->warmup; i++) {
        uint64_t t0 = bench_now_ns();
        unsigned n = atomic_load_explicit(run->counter, memory_order_relaxed);

        while (n < limit &&
               !atomic_compare_exchange_weak_explicit(run->counter, &n, n + 1, memory_order_acq_rel,
                                                      memory_order_relaxed))
            ;
        atomic_fetch_sub_explicit(run->counter, 1, memory_order_acq_rel);
        uint64_t t1 = bench_now_ns();
        if (i >= o->warmup)
            run->samples[base + i - o->warmup] = clamp_ns(t1 - t0);
    }
    return 0;
}

static int mode_floor(const struct options *o)
{
    struct floor_run run = {.o = o};
    size_t n = (size_t)o->procs * o->iterations;
    size_t bytes = n * sizeof(uint32_t) + sizeof(struct start_line);
    char shm_name[64];
    char *mem;
    int fd, r = -1;

    snprintf(shm_name, sizeof(shm_name), "/licgate-bench-floor.%ld", (long)getpid());
    fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ftruncate(fd, 4096) < 0) {
        perror("shm_open");
        return 1;
    }
    run.counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    shm_unlink(shm_name);
    if (run.counter == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    mem = bench_shared_alloc(bytes);
    if (mem != NULL) {
        run.sl = (struct start_line *)mem;
        run.samples = (uint32_t *)(mem + sizeof(struct start_line));
        r = run_procs(o->procs, run.sl, floor_child, &run);
        if (r == 0)
            print_result(o, "admit_release", run.samples, n);
        bench_shared_free(mem, bytes);
    }
    munmap(run.counter, 4096);
    return r == 0 ? 0 : 1;
}

/* ----------------------------------------------------------------- script */

/* openvpn 2.6 runs a client-connect script as fork + execve(script,
 * {script, tmpfile}, env), where env is the client's environment plus any
 * `setenv` from the config, and waits for it. */
static int run_script(const char *script, const char *const *envp, const char *arg)
{
    pid_t pid;
    int status;

    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        char *const argv[] = {(char *)script, (char *)arg, NULL};

        execve(script, argv, (char *const *)envp);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int mode_script(const struct options *o)
{
    struct ovpn_env *env = malloc(sizeof(*env));
    const char *cc[OVPN_ENV_MAX + 4], *cd[OVPN_ENV_MAX + 4];
    char dir[] = "/tmp/licgate-bench-script.XXXXXX";
    char dirvar[64], path[128];
    uint32_t *samples;
    size_t n = 0;
    int r = 1;

    if (o->script == NULL || env == NULL || ovpn_env_build(env, 1) < 0 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "plugin_host script: --script is required\n");
        free(env);
        return 2;
    }
    samples = calloc(o->iterations, sizeof(*samples));
    /* `setenv GATE_DIR ...` and `setenv GATE_MAX ...` in the server config */
    snprintf(dirvar, sizeof(dirvar), "GATE_DIR=%s", dir);
    for (size_t k = 0; k < env->count[OVPN_ENV_CLIENT_CONNECT]; k++)
        cc[n++] = env->envp[OVPN_ENV_CLIENT_CONNECT][k];
    cc[n++] = dirvar;
    cc[n++] = "GATE_MAX=100";
    cc[n] = NULL;
    n = 0;
    for (size_t k = 0; k < env->count[OVPN_ENV_CLIENT_DISCONNECT]; k++)
        cd[n++] = env->envp[OVPN_ENV_CLIENT_DISCONNECT][k];
    cd[n++] = dirvar;
    cd[n++] = "GATE_MAX=100";
    cd[n] = NULL;
    snprintf(path, sizeof(path), "%s/client-connect.conf", dir);
    for (unsigned long i = 0; samples != NULL && i < o->iterations + o->warmup; i++) {
        uint64_t t0 = bench_now_ns();
        int a = run_script(o->script, cc, path);
        int b = run_script(o->script, cd, path);
        uint64_t t1 = bench_now_ns();

        if (a != 0 || b != 0) {
            fprintf(stderr, "plugin_host script: %s exited %d/%d\n", o->script, a, b);
            goto out;
        }
        if (i >= o->warmup)
            samples[i - o->warmup] = clamp_ns(t1 - t0);
    }
    if (samples != NULL) {
        print_result(o, "admit_release", samples, o->iterations);
        r = 0;
    }
out:
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    if (system(path) != 0)
        fprintf(stderr, "plugin_host script: could not remove %s\n", dir);
    free(samples);
    free(env);
    return r;
}

/* ------------------------------------------------------------ open, reload */

static int mode_open(const struct options *o)
{
    struct plugin_so so;
    struct plugin_instance pi;
    uint32_t *samples = calloc(o->iterations, sizeof(*samples));
    int r = 1;

    if (o->plugin == NULL || samples == NULL || plugin_so_load(&so, o->plugin) < 0) {
        free(samples);
        return 2;
    }
    for (unsigned long i = 0; i < o->iterations + o->warmup; i++) {
        uint64_t t0 = bench_now_ns();

        if (plugin_open(&so, o->plugin, o->args, &pi) < 0) {
            fprintf(stderr, "plugin_host open: the plugin did not open (-v shows why)\n");
            goto out;
        }
        uint64_t t1 = bench_now_ns();
        plugin_close(&pi);
        if (i >= o->warmup)
            samples[i - o->warmup] = clamp_ns(t1 - t0);
    }
    print_result(o, "open", samples, o->iterations);
    r = 0;
out:
    plugin_so_unload(&so);
    free(samples);
    return r;
}

/* One request on the control socket; 0 if the answer says "ok":true. */
static int control_request(const char *path, const char *req, char *resp, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t used = 0;
    ssize_t k;
    int fd, r = -1;

    resp[0] = '\0';
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto out;
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        goto out;
    while (used + 1 < len && (k = read(fd, resp + used, len - 1 - used)) > 0)
        used += (size_t)k;
    resp[used] = '\0';
    r = strstr(resp, "\"ok\":true") != NULL ? 0 : -1;
out:
    close(fd);
    return r;
}

static int mode_reload(const struct options *o)
{
    struct plugin_so so;
    struct plugin_instance pi;
    uint32_t *samples = calloc(o->iterations, sizeof(*samples));
    char resp[4096];
    int r = 1;

    if (o->plugin == NULL || o->socket == NULL || samples == NULL ||
        plugin_so_load(&so, o->plugin) < 0) {
        free(samples);
        return 2;
    }
    if (plugin_open(&so, o->plugin, o->args, &pi) < 0) {
        fprintf(stderr, "plugin_host reload: the plugin did not open (-v shows why)\n");
        goto out_so;
    }
    /* The control thread takes the socket's lock and listens shortly after open. */
    for (int i = 0; i < 500 && control_request(o->socket, "version\n", resp, sizeof(resp)) < 0; i++)
        usleep(10000);
    for (unsigned long i = 0; i < o->iterations + o->warmup; i++) {
        uint64_t t0 = bench_now_ns();

        if (control_request(o->socket, "reload\n", resp, sizeof(resp)) < 0) {
            fprintf(stderr, "plugin_host reload: %s\n", resp[0] ? resp : "no answer");
            goto out;
        }
        uint64_t t1 = bench_now_ns();
        if (i >= o->warmup)
            samples[i - o->warmup] = clamp_ns(t1 - t0);
    }
    print_result(o, "reload", samples, o->iterations);
    r = 0;
out:
    plugin_close(&pi);
out_so:
    plugin_so_unload(&so);
    free(samples);
    return r;
}

/* Two back-to-back clock reads: the timing overhead inside every sample. */
static int mode_clock(const struct options *o)
{
    uint32_t *samples = calloc(o->iterations, sizeof(*samples));

    if (samples == NULL)
        return 1;
    for (unsigned long i = 0; i < o->iterations; i++) {
        uint64_t t0 = bench_now_ns();
        uint64_t t1 = bench_now_ns();

        samples[i] = clamp_ns(t1 - t0);
    }
    print_result(o, "clock", samples, o->iterations);
    free(samples);
    return 0;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"plugin", required_argument, NULL, 'p'}, {"arg", required_argument, NULL, 'a'},
        {"procs", required_argument, NULL, 'P'},  {"iterations", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'w'}, {"held", required_argument, NULL, 'H'},
        {"script", required_argument, NULL, 's'}, {"socket", required_argument, NULL, 'S'},
        {"label", required_argument, NULL, 'l'},  {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},      {"cluster-grant", required_argument, NULL, 'G'},
        {"no-stats", no_argument, NULL, 'N'},     {NULL, 0, NULL, 0},
    };
    struct options o = {.procs = 1, .iterations = 100000, .warmup = 1000};
    int c;

    while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'v':
            plugin_log_verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    o.mode = argv[optind];
    optind++;
    while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o.plugin = optarg;
            break;
        case 'a':
            if (o.nargs >= PLUGIN_ARGS_MAX) {
                fprintf(stderr, "plugin_host: at most %d --arg\n", PLUGIN_ARGS_MAX);
                return 2;
            }
            o.args[o.nargs++] = optarg;
            break;
        case 'P':
            o.procs = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'n':
            o.iterations = strtoul(optarg, NULL, 10);
            break;
        case 'w':
            o.warmup = strtoul(optarg, NULL, 10);
            break;
        case 'H':
            o.held = strtoul(optarg, NULL, 10);
            break;
        case 's':
            o.script = optarg;
            break;
        case 'S':
            o.socket = optarg;
            break;
        case 'l':
            o.label = optarg;
            break;
        case 'G':
            o.grant = strtoul(optarg, NULL, 10);
            break;
        case 'N':
            o.no_stats = true;
            break;
        case 'v':
            plugin_log_verbose = true;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o.procs == 0 || o.procs > MAX_PROCS || o.iterations == 0) {
        fprintf(stderr, "plugin_host: --procs must be 1..%d and --iterations positive\n",
                MAX_PROCS);
        return 2;
    }
    if (strcmp(o.mode, "hooks") == 0)
        return mode_hooks(&o);
    if (strcmp(o.mode, "clock") == 0)
        return mode_clock(&o);
    if (strcmp(o.mode, "floor") == 0)
        return mode_floor(&o);
    if (strcmp(o.mode, "script") == 0)
        return mode_script(&o);
    if (strcmp(o.mode, "open") == 0)
        return mode_open(&o);
    if (strcmp(o.mode, "reload") == 0)
        return mode_reload(&o);
    usage(stderr);
    return 2;
}
