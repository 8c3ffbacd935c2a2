/* The licgate-authority commands, one function each: argv[0] is the command's
 * name, the rest its arguments. Each returns the exit status: 0 on success,
 * 1 on failure or refusal, 2 on usage errors, with every error one line on
 * stderr. */
#ifndef LICGATE_TOOLS_AUTHORITY_COMMANDS_H
#define LICGATE_TOOLS_AUTHORITY_COMMANDS_H

/* The developer commands (authority_cmd_sign.c): a new issuer key pair, and a
 * license document signed by hand. */
int authority_cmd_keygen(int argc, char **argv);
int authority_cmd_sign(int argc, char **argv);

/* The key lifecycle on the ledger (authority_cmd_keys.c): init makes the
 * authority directory; extend, refund, replace and failover-key take one KEY. */
int authority_cmd_init(int argc, char **argv);
int authority_cmd_issue(int argc, char **argv);
int authority_cmd_key(int argc, char **argv);
int authority_cmd_split(int argc, char **argv);

/* Reading the ledger (authority_cmd_show.c). */
int authority_cmd_show(int argc, char **argv);
int authority_cmd_list(int argc, char **argv);
int authority_cmd_audit(int argc, char **argv);

/* Activation (authority_cmd_serve.c): the HTTPS server, and an offline
 * request file answered by hand. */
int authority_cmd_serve(int argc, char **argv);
int authority_cmd_activate_offline(int argc, char **argv);

#ifdef LICGATE_TEST_SEAMS
/* Test builds only (authority_cmd_request.c): what licgatectl sends, made
 * from given digests. */
int authority_cmd_make_request(int argc, char **argv);
#endif

#endif
