/* licgate-agent: holds this machine's share of a cluster license's seats in
 * etcd and hands it to openvpn (docs/cluster.md, man licgate-agent). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "config.h"
#include "fs.h"
#include "thread.h"

#define PROGRAM "licgate-agent"

static const char usage_text[] =
    "usage: " PROGRAM " [--config FILE] [--once]\n"
    "\n"
    "Holds this machine's share of a cluster license's seats in etcd and hands\n"
    "it to the pool's openvpn over its control socket (docs/cluster.md).\n"
    "  -c, --config FILE  the plugin's config (default " LICGATE_SYSCONFDIR
    "/licgate/licgate.conf):\n"
    "                     pool, control-socket, state-dir and the cluster-* keys\n"
    "      --once         one round, then exit (for tests and scripts)\n"
    "  -h, --help         this text\n"
    "Stops on SIGTERM or SIGINT: the lease is left to run out, so an agent\n"
    "restarted within cluster-lease seconds takes back the seats it held.\n";

static int load_config(const char *path, struct gate_config *cfg)
{
    char *text = NULL, err[512];
    size_t len = 0;
    int r;

    config_defaults(cfg);
    r = fs_read_config(path, CONFIG_FILE_MAX, &text, &len, err, sizeof(err));
    if (r != 0) {
        if (err[0] == '\0')
            snprintf(err, sizeof(err), "%s: %s", path, strerror(-r));
        fprintf(stderr, PROGRAM ": %s\n", err);
        return r;
    }
    r = config_parse_text(text, len, path, cfg, err, sizeof(err));
    free(text);
    if (r != 0)
        fprintf(stderr, PROGRAM ": %s\n", err);
    return r;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = LICGATE_SYSCONFDIR "/licgate/licgate.conf";
    struct gate_config cfg;
    struct agent *a;
    char err[512];
    bool once = false;
    int opt, sig = 0;

    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'o':
            once = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_SUCCESS;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, PROGRAM ": unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (load_config(config, &cfg) != 0)
        return EXIT_FAILURE;
    if (agent_open(&cfg, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return EXIT_FAILURE;
    }
    signal_block_stops();
    fprintf(stderr, PROGRAM ": pool '%s', etcd %s\n", cfg.pool, cfg.cluster_etcd);
    do {
        agent_tick(a);
        if (!once)
            sig = signal_wait(agent_interval_ms(a));
    } while (!once && (sig == 0 || sig == SIGHUP));
    if (sig != 0)
        fprintf(stderr, PROGRAM ": signal %d: stopping\n", sig);
    agent_close(a);
    return EXIT_SUCCESS;
}
