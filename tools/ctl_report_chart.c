/* The report's chart; see ctl_report_chart.h. */
#include <inttypes.h>
#include <string.h>

#include "ctl_report.h"
#include "ctl_report_chart.h"
#include "license.h"

#define MARKS_MAX 24 /* license dates drawn in the chart; more are listed below it */

/* The chart's frame, in SVG user units, and what it spans. */
#define CHART_W     960
#define CHART_H     340
#define DATE_HALF_W 32 /* half a "YYYY-MM-DD" at 11 px */
struct chart {
    double left, right, top, bottom;
    int64_t t0, t1;      /* seconds since the epoch at left and right */
    int64_t ytop, ystep; /* seats at the top, between grid lines */
};

/* "YYYY-MM-DD" of t into buf (11 bytes), "?" outside years 0..9999. */
static void day_text(int64_t t, char *buf, size_t len)
{
    char stamp[LICENSE_TIME_BUFSIZE];

    if (license_format_time(t, stamp, sizeof(stamp)) != 0)
        snprintf(buf, len, "?");
    else
        snprintf(buf, len, "%.10s", stamp);
}

/* The smallest of 1, 2, 5 times a power of ten that is at least v. */
static int64_t nice_step(int64_t v)
{
    int64_t k = 1;

    while (k <= v / 10)
        k *= 10;
    return v <= k ? k : v <= 2 * k ? 2 * k : v <= 5 * k ? 5 * k : 10 * k;
}

static void chart_setup(struct chart *c, const struct ctl_usage *u)
{
    struct ctl_usage_summary s;
    int64_t today = u->now - u->now % CTL_USAGE_DAY_SECONDS, span, ahead, vmax;

    ctl_usage_summarize(u, &s);
    c->left = 56;
    c->right = CHART_W - 16;
    c->top = 16;
    c->bottom = CHART_H - 64;
    c->t0 = u->ndays ? u->days[0].start : today - 29 * CTL_USAGE_DAY_SECONDS;
    span = (today - c->t0) / CTL_USAGE_DAY_SECONDS + 1;
    /* A look ahead, so that an end of support or lease that comes soon shows. */
    ahead = span / 4 < 7 ? 7 : span / 4 > 60 ? 60 : span / 4;
    c->t1 = today + (1 + ahead) * CTL_USAGE_DAY_SECONDS;
    vmax = s.max_limit > s.peak ? s.max_limit : s.peak;
    c->ystep = nice_step(vmax / 4 > 0 ? (vmax + 3) / 4 : 1);
    c->ytop = (vmax / c->ystep + 1) * c->ystep; /* headroom for the refusal marks */
}

static double chart_x(const struct chart *c, int64_t t)
{
    return c->left + (double)(t - c->t0) * (c->right - c->left) / (double)(c->t1 - c->t0);
}

static double chart_y(const struct chart *c, int64_t v)
{
    return c->bottom - (double)v * (c->bottom - c->top) / (double)c->ytop;
}

static void chart_axes(FILE *out, const struct chart *c, int64_t now)
{
    static const int64_t steps[] = {1, 2, 7, 14, 28, 56, 91, 182, 364};
    int64_t days = (c->t1 - c->t0) / CTL_USAGE_DAY_SECONDS, step;
    char date[16];

    for (int64_t y = 0; y <= c->ytop; y += c->ystep)
        fprintf(out,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%" PRId64 "</text>\n",
                c->left, chart_y(c, y), c->right, chart_y(c, y), c->left - 6, chart_y(c, y) + 4, y);
    size_t k = 0;

    /* At most about 8 dates, at a step a reader counts in. */
    while (k + 1 < sizeof(steps) / sizeof(steps[0]) && days / steps[k] > 8)
        k++;
    step = steps[k];
    for (int64_t t = c->t0; t < c->t1; t += step * CTL_USAGE_DAY_SECONDS) {
        fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                chart_x(c, t), c->bottom, chart_x(c, t), c->bottom + 5);
        if (chart_x(c, t) + DATE_HALF_W > CHART_W) { /* the date would be cut at the edge */
            fputc('\n', out);
            continue;
        }
        day_text(t, date, sizeof(date));
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                chart_x(c, t), c->bottom + 18, date);
    }
    fprintf(out,
            "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
            "<line class=\"now\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">now</text>\n"
            "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">"
            "seats</text>\n",
            c->left, c->bottom, c->right, c->bottom, c->left, c->top, c->left, c->bottom,
            chart_x(c, now), c->top, chart_x(c, now), c->bottom, chart_x(c, now), c->top - 4,
            (c->top + c->bottom) / 2, (c->top + c->bottom) / 2);
}

/* Evaluation shading first, then the bars, the refusal and change marks. */
static void chart_days(FILE *out, const struct chart *c, const struct ctl_usage *u)
{
    double w = chart_x(c, c->t0 + CTL_USAGE_DAY_SECONDS) - c->left;

    for (size_t i = 0; i < u->ndays; i++)
        if (u->days[i].evaluation)
            fprintf(out,
                    "<rect class=\"evaluation\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\"/>\n",
                    chart_x(c, u->days[i].start), c->top, w, c->bottom - c->top);
    for (size_t i = 0; i < u->ndays; i++) {
        const struct ctl_usage_day *d = &u->days[i];
        double x = chart_x(c, d->start), y = chart_y(c, d->peak), mid = x + w / 2;
        int64_t refused = d->refused_limit + d->refused_capacity;

        fprintf(out,
                "<rect class=\"peak\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                "<title>%s: peak %" PRId64 " of %" PRId64 "</title></rect>\n",
                x + w * 0.1, y, w * 0.8 > 0.5 ? w * 0.8 : 0.5, c->bottom - y, d->date, d->peak,
                d->limit);
        if (refused > 0)
            fprintf(out,
                    "<path class=\"refused\" d=\"M%.1f %.1fh8l-4 7z\"><title>%s: %" PRId64
                    " refused</title></path>\n",
                    mid - 4, (y < c->top + 12 ? c->top + 12 : y) - 10, d->date, refused);
        if (d->changed)
            fprintf(out,
                    "<path class=\"changed\" d=\"M%.1f %.1fl4 4-4 4-4-4z\"><title>%s: license "
                    "changed</title></path>\n",
                    mid, c->bottom + 22, d->date);
    }
}

/* The limit as a step line, broken where days are missing. */
static void chart_limit(FILE *out, const struct chart *c, const struct ctl_usage *u)
{
    if (u->ndays == 0)
        return;
    fputs("<path class=\"limit\" d=\"", out);
    for (size_t i = 0; i < u->ndays; i++) {
        const struct ctl_usage_day *d = &u->days[i];
        double y = chart_y(c, d->limit), end = chart_x(c, d->start + CTL_USAGE_DAY_SECONDS);

        if (i > 0 && u->days[i - 1].start + CTL_USAGE_DAY_SECONDS == d->start)
            fprintf(out, "V%.1fH%.1f", y, end);
        else
            fprintf(out, "%sM%.1f %.1fH%.1f", i ? " " : "", chart_x(c, d->start), y, end);
    }
    fputs("\"><title>limit</title></path>\n", out);
}

static const char *const date_names[] = {"support ends", "lease ends", "sunset"};

static const char *license_date(const struct ctl_report_license *l, size_t which)
{
    return which == 0 ? l->support_until : which == 1 ? l->lease_not_after : l->sunset;
}

/* A perpetual license counts on after its support ends. */
static const char *perpetual_note(const struct ctl_report_license *l, size_t which)
{
    return which == 0 && l->perpetual ? " (perpetual: it still counts)" : "";
}

/* The licenses' dates: with draw, those within the chart (MARKS_MAX at
 * most) as labelled lines; without, the others as a list. */
static void chart_dates(FILE *out, const struct chart *c, const struct ctl_report_licenses *l,
                        bool draw)
{
    size_t drawn = 0, listed = 0;

    for (size_t i = 0; i < l->n; i++) {
        for (size_t which = 0; which < 3; which++) {
            const char *text = license_date(&l->v[i], which);
            int64_t t;
            bool inside = text && license_parse_time(text, strlen(text), &t) == 0 && t >= c->t0 &&
                          t <= c->t1 && drawn < MARKS_MAX;

            if (!text)
                continue;
            drawn += inside;
            if (draw && inside) {
                double x = chart_x(c, t);

                fprintf(out,
                        "<line class=\"date\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                        "<text class=\"date-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                        "transform=\"rotate(-90 %.1f %.1f)\">%s%s: ",
                        x, c->top, x, c->bottom, x + 11, c->top + 2, x + 11, c->top + 2,
                        date_names[which], perpetual_note(&l->v[i], which));
                ctl_html_text(out, l->v[i].file);
                fputs("</text>\n", out);
            } else if (!draw && !inside) {
                fputs(listed++ ? "" : "<p>License dates outside the chart:</p>\n<ul>\n", out);
                fprintf(out, "<li>%s%s ", date_names[which], perpetual_note(&l->v[i], which));
                ctl_html_text(out, text);
                fputs(" (", out);
                ctl_html_text(out, l->v[i].file);
                fputs(")</li>\n", out);
            }
        }
    }
    if (listed)
        fputs("</ul>\n", out);
}

/* The keys carry a class of their own, so that class="peak" and the like
 * count the data alone. */
static void chart_legend(FILE *out)
{
    double y = CHART_H - 14;

    fprintf(out,
            "<g class=\"legend\">"
            "<rect class=\"key peak\" x=\"56\" y=\"%.1f\" width=\"12\" height=\"10\"/>"
            "<text x=\"74\" y=\"%.1f\">daily peak</text>"
            "<path class=\"key limit\" d=\"M170 %.1fh18\"/><text x=\"194\" y=\"%.1f\">limit</text>"
            "<path class=\"key refused\" d=\"M250 %.1fh8l-4 7z\"/>"
            "<text x=\"264\" y=\"%.1f\">refusals</text>"
            "<rect class=\"key evaluation\" x=\"340\" y=\"%.1f\" width=\"12\" height=\"10\"/>"
            "<text x=\"358\" y=\"%.1f\">evaluation mode</text>"
            "<path class=\"key changed\" d=\"M474 %.1fl4 4-4 4-4-4z\"/>"
            "<text x=\"484\" y=\"%.1f\">license changed</text>"
            "<path class=\"key date\" d=\"M600 %.1fv12\"/>"
            "<text x=\"608\" y=\"%.1f\">support end, lease end, sunset</text></g>\n",
            y - 9, y, y - 4, y, y - 8, y, y - 9, y, y - 8, y, y - 10, y);
}

void ctl_report_chart(FILE *out, const struct ctl_usage *u, const struct ctl_report_licenses *l)
{
    struct chart c;

    chart_setup(&c, u);
    fputs("<h2>Daily peak against the limit</h2>\n", out);
    fprintf(out,
            "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"daily peak of seats in use "
            "against the limit\">\n",
            CHART_W, CHART_H);
    chart_axes(out, &c, u->now);
    chart_days(out, &c, u);
    chart_limit(out, &c, u);
    chart_dates(out, &c, l, true);
    chart_legend(out);
    fputs("</svg>\n", out);
    if (u->ndays == 0)
        fputs("<p>Nothing recorded yet.</p>\n", out);
    chart_dates(out, &c, l, false);
}
