/* licgatectl usage: the plugin's daily record of seats in use (the control
 * command `usage DAYS`, docs/control-protocol.md) read into a fixed array,
 * summed up, judged in one line and drawn as a table. No I/O but the FILE *
 * it is given, so unit tests call every function directly. Int functions
 * return 0 or -errno; on error err holds one line saying why. */
#ifndef LICGATE_TOOLS_CTL_USAGE_H
#define LICGATE_TOOLS_CTL_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#define CTL_USAGE_DAYS_DEFAULT 30
#define CTL_USAGE_DAYS_MAX     400
#define CTL_USAGE_DAY_SECONDS  86400
/* A day's counters are believed up to this (a million a second), so that
 * the sums over CTL_USAGE_DAYS_MAX days cannot overflow. */
#define CTL_USAGE_COUNT_MAX   INT64_C(86400000000)
#define CTL_USAGE_LIMIT_MAX   INT64_C(4294967295) /* the plugin keeps seat counts in 32 bits */
#define CTL_USAGE_POOL_MAX    128                 /* bytes of the cleaned pool name, NUL included */
#define CTL_USAGE_BAR_CELLS   30                  /* the width of a terminal bar */
#define CTL_USAGE_VERDICT_MAX 512

/* One UTC day of the record. */
struct ctl_usage_day {
    char date[11];          /* YYYY-MM-DD */
    int64_t start;          /* its midnight, seconds since the epoch */
    int64_t hours;          /* hours recorded, 1..24 */
    int64_t peak;           /* most sessions in use at once */
    int64_t limit;          /* the highest limit in force */
    int64_t hours_at_limit; /* 0..hours */
    int64_t admissions, refused_limit, refused_capacity;
    bool evaluation; /* evaluation mode at some time that day */
    bool changed;    /* the limit or the set of licenses changed */
};

struct ctl_usage {
    char pool[CTL_USAGE_POOL_MAX]; /* clean text */
    int64_t now;                   /* the plugin's clock when it answered */
    int64_t days_asked;            /* the DAYS of the request */
    size_t ndays;
    struct ctl_usage_day days[CTL_USAGE_DAYS_MAX]; /* oldest first */
};

/* What the days add up to. peak_day indexes the day with the highest peak
 * (the latest of equal ones), meaningful when ndays > 0. */
struct ctl_usage_summary {
    size_t ndays, peak_day;
    int64_t peak, max_limit, last_limit;
    size_t days_at_limit, days_refused, days_evaluation;
    int64_t admitted, refused, refused_capacity;
};

/* Reads the answer to `usage days_asked` (1..CTL_USAGE_DAYS_MAX) into *u.
 * Checks every field's type and range: pool a string, now a time after
 * 1970 and before 10000, days an array of at most days_asked objects in
 * strictly increasing order, each with a real date whose midnight is its
 * start, within the days asked and not after now, hours 1..24, peak
 * 0..SEAT_POOL_CAPACITY_MAX, limit 0..CTL_USAGE_LIMIT_MAX, hours_at_limit
 * 0..hours, counters 0..CTL_USAGE_COUNT_MAX, evaluation and changed
 * booleans. 0, or -EBADMSG with err naming the field and the value ("field
 * 'days[2].hours' is 25, not 1..24"), or -EINVAL for days_asked out of
 * range; *u emptied. */
int ctl_usage_parse(json_object *resp, int64_t days_asked, struct ctl_usage *u, char *err,
                    size_t errlen);

/* Sums up u->days. */
void ctl_usage_summarize(const struct ctl_usage *u, struct ctl_usage_summary *s);

/* The one-line verdict, without a newline, into buf (always NUL-terminated,
 * cut at len), its clauses joined by "; ":
 * - "peak P of L seats on DATE" (the highest peak, the latest of equal
 *   ones, and that day's limit), then "the limit is now N seats" when the
 *   last day's limit differs; "no session on any of the N days recorded
 *   (limit L seats)" when the peak is 0 on every day;
 * - "the limit was reached on X of N days recorded" or "the limit was never
 *   reached in N days recorded";
 * - "R refused on D days", with "(C at the pool's capacity)" or "(all at
 *   the pool's capacity, not the limit)", or "nobody was refused";
 * - "evaluation mode on E of N days" or "on every day recorded";
 * a single day says "on the one day recorded"; no day at all says "nothing
 * recorded in the last N days" ("today" for 1). */
void ctl_usage_verdict(const struct ctl_usage *u, char *buf, size_t len);

/* The table, one row per day (DATE, PEAK, LIMIT, AT LIMIT as hours at the
 * limit of hours recorded, ADMITTED, REFUSED, NOTE), with bars a USE column
 * of CTL_USAGE_BAR_CELLS cells: U+2588 blocks for the peak, scaled to the
 * largest limit or peak shown, and U+2502 where the day's limit is (U+2503
 * when the peak reaches it). Then a blank line and the verdict. Writes to
 * out only when all is well: 0 or -ENOMEM. */
int ctl_usage_render(const struct ctl_usage *u, bool bars, FILE *out);

/* The bar of one day into buf (at least CTL_USAGE_BAR_CELLS * 3 + 1
 * bytes), scaled to scale seats (at least 1). */
void ctl_usage_bar(const struct ctl_usage_day *d, int64_t scale, char *buf, size_t len);

#endif
