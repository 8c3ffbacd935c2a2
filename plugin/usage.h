/* The usage record: per hour, the most seats in use at once, the limit, and the admissions and
 * refusals, for an admin deciding how many seats to buy (licgatectl usage, licgatectl report).
 * The process serving a pool's control socket keeps it (gate_usage.c) in
 * state-dir/pools/<pool>/usage, a text file of at most USAGE_HOURS_MAX rows:
 *
 *   licgate-usage 1
 *   HOUR PEAK LIMIT ADMISSIONS REFUSED-LIMIT REFUSED-CAPACITY FLAGS
 *
 * HOUR is the hour's start in seconds since the epoch (a multiple of 3600, strictly increasing
 * from row to row), FLAGS "-" or any of 'e' (evaluation mode during the hour) and 'c' (the
 * limit or the licenses changed during the hour). A last line
 *
 *   base TOKEN ADMISSIONS REFUSED-LIMIT REFUSED-CAPACITY
 *
 * names the pool segment (its random token, 32 hex digits) and its counters as far as the
 * rows count them, so that the next process to keep the record goes on from there: nothing
 * counted twice, nothing lost, whichever process stops. This file is pure: no I/O, no
 * clock. */
#ifndef LICGATE_USAGE_H
#define LICGATE_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USAGE_DAYS_MAX  400
#define USAGE_HOURS_MAX (24 * (USAGE_DAYS_MAX + 1))
#define USAGE_FILE_MAX  (USAGE_HOURS_MAX * 112 + 192) /* bytes a well-formed file can need */
#define USAGE_VALUE_MAX 1000000000000000000ull        /* no counter is read above this */

enum usage_flags {
    USAGE_EVALUATION = 1,
    USAGE_CHANGED = 2,
};

struct usage_hour {
    int64_t hour; /* start of the hour, seconds since the epoch */
    uint32_t peak;
    uint32_t limit;
    uint64_t admissions;
    uint64_t refused_limit;
    uint64_t refused_capacity;
    unsigned flags; /* enum usage_flags */
};

#define USAGE_TOKEN_HEX 32

/* How far the rows count a pool segment's counters. */
struct usage_base {
    char token[USAGE_TOKEN_HEX + 1]; /* "" = none */
    uint64_t admissions, refused_limit, refused_capacity;
};

struct usage_log {
    struct usage_hour *rows; /* oldest first, hours strictly increasing */
    size_t n;
    struct usage_base base;
};

/* One UTC day of the record. */
struct usage_day {
    int64_t start;           /* midnight UTC, seconds since the epoch */
    unsigned hours;          /* hours recorded */
    uint32_t peak;           /* the most sessions at once */
    uint32_t limit;          /* the highest limit in force */
    unsigned hours_at_limit; /* hours whose peak reached their limit */
    uint64_t admissions, refused_limit, refused_capacity;
    unsigned flags; /* of any hour */
};

/* Reads a usage file into *log (replaced only on success). Rows that do not parse, that are out
 * of range or out of order are skipped and counted in *skipped; only the newest
 * USAGE_HOURS_MAX are kept. A text that is not a usage file (no header, or more than
 * USAGE_FILE_MAX bytes) is -EBADMSG with a one-line reason in err; -ENOMEM. */
int usage_parse(const char *text, size_t len, struct usage_log *log, size_t *skipped, char *err,
                size_t errlen);

/* The file's text for *log (malloc'd, NUL-terminated, length in *len); NULL when out of
 * memory. usage_parse reads it back to the same rows. */
char *usage_format(const struct usage_log *log, size_t *len);

/* Adds what an interval of hour h->hour saw: the peak and limit are raised, the counters added,
 * the flags joined. A row for a new hour is appended (the oldest dropped beyond
 * USAGE_HOURS_MAX); one for an hour older than the last is ignored (the clock never goes
 * back in the effective time). 0 or -ENOMEM. */
int usage_add(struct usage_log *log, const struct usage_hour *h);

/* Fills out[] (room for `max`) with the UTC days of the last `days` days up to `now`, oldest
 * first, days without a row left out. Returns the number filled. */
size_t usage_days(const struct usage_log *log, int64_t now, unsigned days, struct usage_day *out,
                  size_t max);

void usage_free(struct usage_log *log);

#endif
