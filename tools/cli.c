#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

const char *cli_program = "licgate";

void cli_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cli_program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cli_program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", cli_program);
    return EXIT_USAGE;
}
