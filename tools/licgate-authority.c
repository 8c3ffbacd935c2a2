/* licgate-authority: the vendor side. Issuer keys, the ledger of license
 * keys and their lifecycle (docs/authority.md), the HTTPS activation server
 * and offline activation (docs/activation-api.md), and `sign` for hand-made
 * documents. Exit 0 on success, 1 on failure or refusal, 2 on usage errors;
 * every error is one line on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authority_cli.h"
#include "authority_commands.h"
#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"keygen", authority_cmd_keygen},
    {"sign", authority_cmd_sign},
    {"init", authority_cmd_init},
    {"issue", authority_cmd_issue},
    {"extend", authority_cmd_key},
    {"split", authority_cmd_split},
    {"refund", authority_cmd_key},
    {"replace", authority_cmd_key},
    {"failover-key", authority_cmd_key},
    {"show", authority_cmd_show},
    {"list", authority_cmd_list},
    {"audit", authority_cmd_audit},
    {"serve", authority_cmd_serve},
    {"activate-offline", authority_cmd_activate_offline},
#ifdef LICGATE_TEST_SEAMS
    {"make-request", authority_cmd_make_request},
#endif
};

int main(int argc, char **argv)
{
    cli_program = AUTHORITY_PROGRAM;
    if (argc < 2)
        return cli_usage_error("missing command");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        authority_usage();
        return EXIT_SUCCESS;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    return cli_usage_error("unknown command '%s'", argv[1]);
}
