/* See authority_clock.h. */
#include <stdlib.h>
#include <time.h>

#include "authority_clock.h"

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
    return (int64_t)time(NULL);
}
