/* See authority_clock.h. */
#include <stdio.h>
#include <stdlib.h>

#include "authority_clock.h"
#include "clock.h"

int64_t authority_now(void)
{
#ifdef LICGATE_TEST_SEAMS
    const char *text = getenv("LICGATE_AUTHORITY_NOW");

    if (text != NULL && text[0] != '\0') {
        char *end;
        long long t = strtoll(text, &end, 10);
        if (*end == '\0' && t > 0)
            return t;
    }
#endif
    return clock_wall_now();
}

const char *authority_time_text(int64_t t, char buf[LICENSE_TIME_BUFSIZE])
{
    if (license_format_time(t, buf, LICENSE_TIME_BUFSIZE) != 0)
        snprintf(buf, LICENSE_TIME_BUFSIZE, "%lld", (long long)t);
    return buf;
}
