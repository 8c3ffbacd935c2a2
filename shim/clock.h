/* Clocks. The wall clock decides license validity; it is cheap (vDSO). */
#ifndef LICGATE_CLOCK_H
#define LICGATE_CLOCK_H

#include <stdint.h>

/* Seconds since the epoch from the system wall clock. Never fails. */
int64_t clock_wall_now(void);

/* Coarse wall clock for the admission path: same epoch, a few ms resolution. */
int64_t clock_wall_coarse(void);

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and intervals, immune to a
 * wall clock set back or forth. */
int64_t clock_monotonic_ms(void);

/* CLOCK_MONOTONIC_COARSE in milliseconds, for the admission path: the same clock, read
 * without the vDSO's cycle counter, behind the true time by at most one tick (4 ms at
 * HZ=250). */
int64_t clock_monotonic_coarse_ms(void);

/* Sleeps ms milliseconds (a signal may end it early). */
void clock_sleep_ms(unsigned ms);

#endif
