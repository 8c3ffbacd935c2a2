/* licgatectl report: one self-contained HTML page (inline CSS and SVG, no
 * script, nothing fetched) from the answers to `usage 400`, `status` and
 * `licenses`, for an admin planning capacity or a printed file. Parsing and
 * writing are separate so that unit tests give the page any data. Int
 * functions return 0 or -errno; on error err holds one line saying why. */
#ifndef LICGATE_TOOLS_CTL_REPORT_H
#define LICGATE_TOOLS_CTL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "ctl_usage.h"
#include "license_set.h"
#include "pool.h"

/* every file of every process of a pool */
#define CTL_REPORT_LICENSES_MAX (LICENSE_SET_MAX_FILES * SEAT_POOL_MAX_PROCS)

/* What the report shows of `status`. */
struct ctl_report_status {
    int64_t in_use, limit;
    bool evaluation;
    bool has_next;    /* next_change is an object */
    char next_at[32]; /* clean text */
    int64_t next_limit;
};

/* One entry of `licenses`; every string is clean text (text.h) or NULL
 * when the answer leaves the field out or null. */
struct ctl_report_license {
    char *file, *key_id, *customer, *kind, *support_until, *lease_not_after, *sunset, *state,
        *reason;
    int64_t seats;
    bool has_seats, perpetual, counted;
};

struct ctl_report_licenses {
    int64_t limit;
    bool evaluation;
    size_t n;
    struct ctl_report_license *v;
};

/* Everything the page shows; generated is when, in seconds since the epoch. */
struct ctl_report {
    const struct ctl_usage *usage;
    const struct ctl_report_status *status;
    const struct ctl_report_licenses *licenses;
    int64_t generated;
};

/* Reads in_use, limit, evaluation and next_change (null or absent: none;
 * else at a string and limit a count) of a `status` answer. 0, or -EBADMSG
 * with err naming the field, *s cleared. */
int ctl_report_parse_status(json_object *resp, struct ctl_report_status *s, char *err,
                            size_t errlen);

/* Reads a `licenses` answer (fields as docs/control-protocol.md, at most
 * CTL_REPORT_LICENSES_MAX entries) into *l, which the caller frees with
 * ctl_report_licenses_free. 0, or -EBADMSG / -ENOMEM with err, *l empty. */
int ctl_report_parse_licenses(json_object *resp, struct ctl_report_licenses *l, char *err,
                              size_t errlen);

/* Frees what ctl_report_parse_licenses allocated; l is empty after. */
void ctl_report_licenses_free(struct ctl_report_licenses *l);

/* Writes s to out as HTML text: & < > " and ' as entities, the rest as it
 * is (s is clean text, text.h); NULL as "-". */
void ctl_html_text(FILE *out, const char *s);

/* Writes the page to out: a title with the pool and r->generated, the
 * status and the usage verdict, an SVG chart of the daily peak (one
 * class="peak" bar per day) against the limit (a class="limit" step line),
 * refusals (class="refused"), evaluation days (class="evaluation") and
 * license changes marked, and the licenses' support end, lease end and
 * sunset as labelled lines when they fall within the chart (listed below it
 * otherwise), then the licenses and the days as tables. Every string is
 * written as HTML text (& < > " ' as entities). 0, or -EIO when out
 * reports an error. */
int ctl_report_html(const struct ctl_report *r, FILE *out);

/* Whether path can be the page: 0, or -errno with err when its directory
 * does not exist ("directory /x does not exist") or is not a directory, or
 * path names a directory. */
int ctl_report_check_path(const char *path, char *err, size_t errlen);

/* Writes the page to path atomically (a temporary file in its directory,
 * renamed over path), mode 0644. A path whose directory does not exist, or
 * that names a directory, is refused before anything is written. 0, or
 * -errno with err ("directory /x does not exist"). */
int ctl_report_save(const char *path, const struct ctl_report *r, char *err, size_t errlen);

#endif
