/* What every licgate command-line tool says on failure: one line on stderr
 * prefixed with the program's name; exit 1 for failures, 2 for usage. And the
 * one rule for a number on the command line. */
#ifndef LICGATE_CLI_H
#define LICGATE_CLI_H

#define EXIT_USAGE 2

/* The program name the messages start with; set once in main. */
extern const char *cli_program;

/* "PROGRAM: <message>\n" on stderr. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "PROGRAM: <message>\nTry 'PROGRAM --help'.\n" on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A whole decimal integer in min..max (a sign allowed, nothing after it):
 * 0 and *out, or -EINVAL and *out 0. */
int cli_parse_integer(const char *text, long long min, long long max, long long *out);

#endif
