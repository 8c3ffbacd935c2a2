/* `licgatectl fingerprint`: this machine's binding components, read locally. */
#ifndef LICGATE_CTL_FINGERPRINT_H
#define LICGATE_CTL_FINGERPRINT_H

#include <stdbool.h>
#include <stdio.h>

/* Reads the components and prints their names and digests (never the raw
 * values) to out, as a table or as JSON. With key_id, also the binding line a
 * license for that key would carry under rule (e.g. "all"): the digests
 * salted for that key. Returns 0, or -errno with a one-line reason in err. */
int ctl_fingerprint(FILE *out, bool json, const char *key_id, const char *rule, char *err,
                    size_t errlen);

#endif
