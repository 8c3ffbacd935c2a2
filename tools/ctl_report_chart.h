/* The report's chart: the daily peak against the limit as inline SVG, for
 * ctl_report_html. */
#ifndef LICGATE_TOOLS_CTL_REPORT_CHART_H
#define LICGATE_TOOLS_CTL_REPORT_CHART_H

#include <stdio.h>

#include "ctl_report.h"
#include "ctl_usage.h"

/* Writes a heading, the <svg> (described with ctl_report_html) and a list of
 * the license dates it does not show to out. The time axis runs from the
 * first day recorded (or 30 days back when none is) past u->now by a quarter
 * of that span (7 to 60 days), so that an end that comes soon shows. */
void ctl_report_chart(FILE *out, const struct ctl_usage *u, const struct ctl_report_licenses *l);

#endif
