/* licgatectl report; see ctl_report.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_render.h"
#include "ctl_report.h"
#include "ctl_report_chart.h"
#include "errbuf.h"
#include "fs.h"
#include "license.h"
#include "text.h"

#define PATH_BUFLEN 4096

/* ------------------------------------------------------------------ parsing */

int ctl_report_parse_status(json_object *resp, struct ctl_report_status *s, char *err,
                            size_t errlen)
{
    json_object *next;
    const char *at;
    int rc;

    memset(s, 0, sizeof(*s));
    errbuf_set(err, errlen, "%s", "");
    if (!resp || !json_object_is_type(resp, json_type_object))
        return errbuf_fail(err, errlen, -EBADMSG, "not a JSON object");
    if ((rc = ctl_field_int(resp, "", "in_use", 0, CTL_USAGE_LIMIT_MAX, &s->in_use, NULL, err,
                            errlen)) < 0 ||
        (rc = ctl_field_int(resp, "", "limit", 0, CTL_USAGE_LIMIT_MAX, &s->limit, NULL, err,
                            errlen)) < 0 ||
        (rc = ctl_field_bool(resp, "", "evaluation", &s->evaluation, NULL, err, errlen)) < 0 ||
        (rc = ctl_field_member(resp, "", "next_change", json_type_object, true, &next, err,
                               errlen)) < 0)
        goto fail;
    if (next && ((rc = ctl_field_string(next, "next_change.", "at", false, &at, err, errlen)) < 0 ||
                 (rc = ctl_field_int(next, "next_change.", "limit", 0, CTL_USAGE_LIMIT_MAX,
                                     &s->next_limit, NULL, err, errlen)) < 0))
        goto fail;
    if (next) {
        s->has_next = true;
        text_clean(at, strlen(at), s->next_at, sizeof(s->next_at), 0);
    }
    return 0;
fail:
    memset(s, 0, sizeof(*s));
    return rc;
}

/* A clean copy of s into *out (NULL stays NULL): 0 or -ENOMEM. */
static int clean_copy(const char *s, char **out)
{
    *out = s ? text_clean_dup(s, 0) : NULL;
    return s && !*out ? -ENOMEM : 0;
}

static int parse_license(json_object *o, const char *prefix, struct ctl_report_license *l,
                         char *err, size_t errlen)
{
    static const char *const keys[] = {"file",   "key_id",        "customer",
                                       "kind",   "support_until", "lease_not_after",
                                       "sunset", "state",         "reason"};
    char **dst[] = {&l->file,   &l->key_id,        &l->customer,
                    &l->kind,   &l->support_until, &l->lease_not_after,
                    &l->sunset, &l->state,         &l->reason};
    const char *s;
    int rc;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        bool required = i == 0 || i == 7; /* file, state */

        if ((rc = ctl_field_string(o, prefix, keys[i], !required, &s, err, errlen)) < 0)
            return rc;
        if (clean_copy(s, dst[i]) < 0)
            return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    }
    if ((rc = ctl_field_int(o, prefix, "seats", 0, CTL_USAGE_LIMIT_MAX, &l->seats, &l->has_seats,
                            err, errlen)) < 0 ||
        (rc = ctl_field_bool(o, prefix, "perpetual", &l->perpetual, &(bool){false}, err, errlen)) <
            0 ||
        (rc = ctl_field_bool(o, prefix, "counted", &l->counted, NULL, err, errlen)) < 0)
        return rc;
    return 0;
}

int ctl_report_parse_licenses(json_object *resp, struct ctl_report_licenses *l, char *err,
                              size_t errlen)
{
    json_object *list, *o;
    char prefix[40];
    size_t n;
    int rc;

    memset(l, 0, sizeof(*l));
    errbuf_set(err, errlen, "%s", "");
    if (!resp || !json_object_is_type(resp, json_type_object))
        return errbuf_fail(err, errlen, -EBADMSG, "not a JSON object");
    if ((rc = ctl_field_int(resp, "", "limit", 0, CTL_USAGE_LIMIT_MAX, &l->limit, NULL, err,
                            errlen)) < 0 ||
        (rc = ctl_field_bool(resp, "", "evaluation", &l->evaluation, NULL, err, errlen)) < 0 ||
        (rc = ctl_field_member(resp, "", "licenses", json_type_array, false, &list, err, errlen)) <
            0)
        return rc;
    n = json_object_array_length(list);
    if (n > CTL_REPORT_LICENSES_MAX)
        return errbuf_fail(err, errlen, -EBADMSG, "field 'licenses' has %zu entries, more than %d",
                           n, CTL_REPORT_LICENSES_MAX);
    if (n > 0 && !(l->v = calloc(n, sizeof(*l->v))))
        return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        l->n = i + 1; /* so that a failure frees what this entry got */
        if ((rc = ctl_field_element(list, "licenses", i, &o, prefix, sizeof(prefix), err, errlen)) <
                0 ||
            (rc = parse_license(o, prefix, &l->v[i], err, errlen)) < 0) {
            ctl_report_licenses_free(l);
            return rc;
        }
    }
    return 0;
}

void ctl_report_licenses_free(struct ctl_report_licenses *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct ctl_report_license *e = &l->v[i];

        free(e->file);
        free(e->key_id);
        free(e->customer);
        free(e->kind);
        free(e->support_until);
        free(e->lease_not_after);
        free(e->sunset);
        free(e->state);
        free(e->reason);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------ HTML */

void ctl_html_text(FILE *out, const char *s)
{
    if (!s) {
        fputc('-', out);
        return;
    }
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;color:#1d1d1f;margin:2em auto;max-width:1000px;"
    "padding:0 1em}\n"
    "h1{font-size:1.5em;margin:0 0 .2em}\n"
    "h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid #ccc}\n"
    ".meta{color:#555;margin:0}\n"
    ".verdict{font-weight:600;padding:.6em .8em;background:#f3f5f8;border-left:4px solid #4a78b5}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px}\n"
    "th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #e3e3e3;vertical-align:top}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "table.kv{width:auto}table.kv th{font-weight:normal;color:#555}\n"
    "tr.refused td{color:#b21f1f}tr.evaluation{background:#fbf3d9}\n"
    "tr.total th{border-top:2px solid #555}\n"
    "svg{width:100%;height:auto;display:block}\n"
    "svg text{font:11px system-ui,sans-serif;fill:#333}\n"
    "svg .grid{stroke:#e5e5e5}svg .axis{stroke:#555}svg .now{stroke:#999;stroke-dasharray:2 3}\n"
    "svg .peak{fill:#4a78b5}svg .limit{fill:none;stroke:#222;stroke-width:2}\n"
    "svg .refused{fill:#d62728}svg .evaluation{fill:#f6e7b0}svg .changed{fill:#555}\n"
    "svg .date{stroke:#8e44ad;stroke-dasharray:4 3}\n"
    "svg text.date-label{fill:#8e44ad;paint-order:stroke;stroke:#fff;stroke-width:3px}\n"
    ".t{white-space:nowrap}\n"
    "@media print{body{margin:0;max-width:none;font-size:10pt;color:#000}\n"
    " table{font-size:8.5pt}\n"
    " .verdict{background:none;border:1px solid #000}\n"
    " h2{break-after:avoid}svg,table.kv{break-inside:avoid}\n"
    " thead{display:table-header-group}tr{break-inside:avoid}\n"
    " *{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    " @page{margin:15mm}}\n";

static void write_head(FILE *out, const struct ctl_report *r)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (license_format_time(r->generated, when, sizeof(when)) != 0)
        snprintf(when, sizeof(when), "?");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          out);
    fputs("licgate usage: pool ", out);
    ctl_html_text(out, r->usage->pool);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
    fputs("<h1>licgate usage report: pool ", out);
    ctl_html_text(out, r->usage->pool);
    fprintf(
        out,
        "</h1>\n<p class=\"meta\">Generated %s from the plugin&#39;s record of the last %" PRId64
        " days (%zu with hours recorded).</p>\n",
        when, r->usage->days_asked, r->usage->ndays);
}

static void write_status(FILE *out, const struct ctl_report *r)
{
    const struct ctl_report_status *s = r->status;
    char verdict[CTL_USAGE_VERDICT_MAX];

    fputs("<h2>Now</h2>\n<table class=\"kv\">\n", out);
    fprintf(out, "<tr><th>Seats in use</th><td>%" PRId64 " of %" PRId64 "</td></tr>\n", s->in_use,
            s->limit);
    fprintf(out, "<tr><th>Mode</th><td>%s</td></tr>\n",
            s->evaluation ? "evaluation (no valid license)" : "licensed");
    if (s->has_next) {
        fputs("<tr><th>Next change</th><td>", out);
        ctl_html_text(out, s->next_at);
        if (s->next_limit == s->limit) /* e.g. a 2-seat license ending: evaluation gives 2 */
            fprintf(out, ": a license stops counting; the limit stays %" PRId64 " %s</td></tr>\n",
                    s->limit, s->limit == 1 ? "seat" : "seats");
        else
            fprintf(out, ": limit %" PRId64 " &rarr; %" PRId64 " %s</td></tr>\n", s->limit,
                    s->next_limit, s->next_limit == 1 ? "seat" : "seats");
    }
    fputs("</table>\n<p class=\"verdict\">", out);
    ctl_usage_verdict(r->usage, verdict, sizeof(verdict));
    ctl_html_text(out, verdict);
    fputs("</p>\n", out);
}

/* ------------------------------------------------------------------ tables */

/* A cell of text; nowrap keeps a key or a time on one line. */
static void cell(FILE *out, const char *s, bool nowrap)
{
    fputs(nowrap ? "<td class=\"t\">" : "<td>", out);
    ctl_html_text(out, s);
    fputs("</td>", out);
}

/* A license's time as its day when it is midnight UTC, as licenses' times
 * are, so that the table fits a printed page. */
static void time_cell(FILE *out, const char *s)
{
    char day[11];
    size_t n = s ? strlen(s) : 0;

    if (n == 20 && strcmp(s + 10, "T00:00:00Z") == 0) {
        memcpy(day, s, 10);
        day[10] = '\0';
        s = day;
    }
    cell(out, s, true);
}

static void write_license(FILE *out, const struct ctl_report_license *e)
{
    bool not_counted = !e->counted && e->state && strcmp(e->state, "active") == 0;

    fputs("<tr>", out);
    cell(out, e->file, false);
    cell(out, e->key_id, true);
    cell(out, e->customer, false);
    if (e->has_seats)
        fprintf(out, "<td class=\"n\">%" PRId64 "</td>", e->seats);
    else
        cell(out, NULL, false);
    fputs("<td>", out);
    ctl_html_text(out, e->kind);
    fputs(e->kind && e->perpetual ? ", perpetual</td>" : "</td>", out);
    time_cell(out, e->support_until);
    time_cell(out, e->lease_not_after);
    time_cell(out, e->sunset);
    fputs("<td>", out);
    ctl_html_text(out, e->state);
    fputs(not_counted ? ", not counted</td>" : "</td>", out);
    cell(out, e->reason && e->reason[0] ? e->reason : NULL, false);
    fputs("</tr>\n", out);
}

static void write_licenses(FILE *out, const struct ctl_report_licenses *l)
{
    fputs("<h2>Licenses</h2>\n", out);
    if (l->n == 0) {
        fputs("<p>No license files.</p>\n", out);
    } else {
        fputs("<table>\n<thead><tr><th>File</th><th>Key</th><th>Customer</th>"
              "<th class=\"n\">Seats</th><th>Kind</th><th>Support until</th><th>Lease until</th>"
              "<th>Sunset</th><th>State</th><th>Reason</th></tr></thead>\n<tbody>\n",
              out);
        for (size_t i = 0; i < l->n; i++)
            write_license(out, &l->v[i]);
        fputs("</tbody>\n</table>\n", out);
    }
    fprintf(out, "<p>Limit: %" PRId64 " %s%s.</p>\n", l->limit, l->limit == 1 ? "seat" : "seats",
            l->evaluation ? " (evaluation mode)" : "");
}

/* The days, and their peak and sums in a last row. */
static void write_days(FILE *out, const struct ctl_usage *u)
{
    struct ctl_usage_summary s;

    fputs("<h2>Days</h2>\n", out);
    if (u->ndays == 0) {
        fputs("<p>Nothing recorded yet.</p>\n", out);
        return;
    }
    fputs("<table>\n<thead><tr><th>Date</th><th class=\"n\">Peak</th><th class=\"n\">Limit</th>"
          "<th class=\"n\">Hours at limit</th><th class=\"n\">Admitted</th>"
          "<th class=\"n\">Refused at limit</th><th class=\"n\">Refused at capacity</th>"
          "<th>Note</th></tr></thead>\n<tbody>\n",
          out);
    for (size_t i = 0; i < u->ndays; i++) {
        const struct ctl_usage_day *d = &u->days[i];
        bool refused = d->refused_limit + d->refused_capacity > 0;

        fprintf(out,
                "<tr%s><td class=\"t\">%s</td><td class=\"n\">%" PRId64
                "</td><td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64 " of %" PRId64
                "</td><td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64
                "</td><td class=\"n\">%" PRId64 "</td><td>%s%s%s"
                "</td></tr>\n",
                refused         ? " class=\"refused\""
                : d->evaluation ? " class=\"evaluation\""
                                : "",
                d->date, d->peak, d->limit, d->hours_at_limit, d->hours, d->admissions,
                d->refused_limit, d->refused_capacity, d->evaluation ? "evaluation" : "",
                d->evaluation && d->changed ? ", " : "", d->changed ? "license changed" : "");
    }
    ctl_usage_summarize(u, &s);
    fprintf(out,
            "<tr class=\"total\"><th>%zu day%s</th><th class=\"n\">%" PRId64
            "</th><td></td><td></td><th class=\"n\">%" PRId64 "</th><th class=\"n\">%" PRId64
            "</th><th class=\"n\">%" PRId64 "</th><td></td></tr>\n</tbody>\n</table>\n",
            s.ndays, s.ndays == 1 ? "" : "s", s.peak, s.admitted, s.refused - s.refused_capacity,
            s.refused_capacity);
}

int ctl_report_html(const struct ctl_report *r, FILE *out)
{
    write_head(out, r);
    write_status(out, r);
    ctl_report_chart(out, r->usage, r->licenses);
    write_licenses(out, r->licenses);
    write_days(out, r->usage);
    fputs("</body>\n</html>\n", out);
    return ferror(out) ? -EIO : 0;
}

/* ------------------------------------------------------------------ the file */

int ctl_report_check_path(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_BUFLEN];
    struct fs_info st;
    int r;

    if (!path[0])
        return errbuf_fail(err, errlen, -EINVAL, "empty file name");
    if (strlen(path) >= sizeof(dir))
        return errbuf_fail(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
    if (slash && !slash[1])
        return errbuf_fail(err, errlen, -EISDIR, "%s names a directory, not a file", path);
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (!dir[0])
        snprintf(dir, sizeof(dir), "/");
    r = fs_info(dir, true, &st);
    if (r == -ENOENT || r == -ENOTDIR)
        return errbuf_fail(err, errlen, -ENOENT, "directory %s does not exist", dir);
    if (r < 0)
        return errbuf_fail(err, errlen, r, "directory %s: %s", dir, strerror(-r));
    if (!S_ISDIR(st.mode))
        return errbuf_fail(err, errlen, -ENOTDIR, "%s is not a directory", dir);
    if (fs_info(path, true, &st) == 0 && S_ISDIR(st.mode))
        return errbuf_fail(err, errlen, -EISDIR, "%s is a directory, not a file", path);
    return 0;
}

int ctl_report_save(const char *path, const struct ctl_report *r, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem;
    int rc;

    errbuf_set(err, errlen, "%s", "");
    if ((rc = ctl_report_check_path(path, err, errlen)) < 0)
        return rc;
    if (!(mem = open_memstream(&text, &len)))
        return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    rc = ctl_report_html(r, mem);
    if (fclose(mem) != 0 || rc < 0)
        rc = errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    else if ((rc = fs_write_atomic(path, text, len, 0644)) < 0)
        errbuf_set(err, errlen, "cannot write %s: %s", path, strerror(-rc));
    free(text);
    return rc;
}
