/* Clocks. The wall clock decides license validity; it is cheap (vDSO). */
#ifndef LICGATE_CLOCK_H
#define LICGATE_CLOCK_H

#include <stdint.h>

/* Seconds since the epoch from the system wall clock. Never fails. */
int64_t clock_wall_now(void);

/* Coarse wall clock for the admission path: same epoch, a few ms resolution. */
int64_t clock_wall_coarse(void);

#endif
