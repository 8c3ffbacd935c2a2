/* The authority's clock: what time it is, and how its messages write a time. */
#ifndef LICGATE_TOOLS_AUTHORITY_CLOCK_H
#define LICGATE_TOOLS_AUTHORITY_CLOCK_H

#include <stdint.h>

#include "license.h"

/* Seconds since the epoch. Only in a build with LICGATE_TEST_SEAMS
 * (licgate-authority-test), LICGATE_AUTHORITY_NOW=<unix seconds> in the
 * environment overrides the system clock, so tests can step past a sunset or
 * a support end without sleeping. */
int64_t authority_now(void);

/* t as YYYY-MM-DDTHH:MM:SSZ in buf, or as its decimal seconds when it is
 * outside the years a license can name; returns buf. */
const char *authority_time_text(int64_t t, char buf[LICENSE_TIME_BUFSIZE]);

#endif
