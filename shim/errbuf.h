/* The one-line error buffer every module writes its reason into. */
#ifndef LICGATE_ERRBUF_H
#define LICGATE_ERRBUF_H

#include <stddef.h>

/* Formats the reason into err (always NUL-terminated, truncated to errlen).
 * A NULL err or a zero errlen is allowed: nothing is written. */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* errbuf_set, then returns ret: for "return errbuf_fail(err, errlen, -EINVAL, ...)". */
int errbuf_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
