/* libFuzzer target for usage_parse: the input is a usage record's text. On failure the log is
 * unchanged and the reason a non-empty line; on success the rows are on the hour, strictly
 * increasing, at most USAGE_HOURS_MAX, and usage_format writes text that parses back to them. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct usage_hour *a, const struct usage_hour *b)
{
    return a->hour == b->hour && a->peak == b->peak && a->limit == b->limit &&
           a->admissions == b->admissions && a->refused_limit == b->refused_limit &&
           a->refused_capacity == b->refused_capacity && a->flags == b->flags;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct usage_log log = {0}, back = {0};
    size_t skipped = 0, len = 0;
    char err[160], *text, *again;
    struct usage_day days[8];
    int r;

    if (size > USAGE_FILE_MAX + 1)
        return 0;
    text = malloc(size > 0 ? size : 1); /* exact size, so ASan sees any overread */
    if (text == NULL)
        abort();
    memcpy(text, data, size);
    err[0] = '\0';
    r = usage_parse(text, size, &log, &skipped, err, sizeof(err));
    free(text);
    if (r != 0) {
        if (r != -EBADMSG || err[0] == '\0' || log.n != 0 || log.rows != NULL)
            abort();
        return 0;
    }
    if (log.n > USAGE_HOURS_MAX)
        abort();
    for (size_t i = 0; i < log.n; i++)
        if (log.rows[i].hour % 3600 != 0 || (i > 0 && log.rows[i].hour <= log.rows[i - 1].hour))
            abort();
    again = usage_format(&log, &len);
    if (again == NULL || usage_parse(again, len, &back, &skipped, err, sizeof(err)) != 0 ||
        skipped != 0 || back.n != log.n)
        abort();
    for (size_t i = 0; i < log.n; i++)
        if (!same(&log.rows[i], &back.rows[i]))
            abort();
    if (log.n > 0 && usage_days(&log, log.rows[log.n - 1].hour, 400, days, 8) > 8)
        abort();
    free(again);
    usage_free(&log);
    usage_free(&back);
    return 0;
}
