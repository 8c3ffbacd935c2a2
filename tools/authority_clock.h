/* The authority's notion of now. */
#ifndef LICGATE_TOOLS_AUTHORITY_CLOCK_H
#define LICGATE_TOOLS_AUTHORITY_CLOCK_H

#include <stdint.h>

/* Seconds since the epoch. Only in a build with LICGATE_TEST_SEAMS
 * (licgate-authority-test), LICGATE_AUTHORITY_NOW=<unix seconds> in the
 * environment overrides the system clock, so tests can step past a sunset or
 * a support end without sleeping. */
int64_t authority_now(void);

#endif
