/* `licgatectl fingerprint`: this machine's binding components, read locally. */
#ifndef LICGATE_CTL_FINGERPRINT_H
#define LICGATE_CTL_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether rule is a binding rule a license accepts (all, all-but-N,
 * machine-id-only, each optionally with "+virtual"), judged by the license
 * parser itself. 0, or -EINVAL with a plain one-line reason in err that lists
 * the valid rules. */
int ctl_fingerprint_rule_check(const char *rule, char *err, size_t errlen);

/* Reads the components and prints their names and digests (never the raw
 * values) to out, as a table or as JSON. With key_id, also the binding line a
 * license for that key would carry under rule (e.g. "all"): the digests
 * salted for that key. rule must pass ctl_fingerprint_rule_check (else
 * -EINVAL before anything is read). An all-but-N rule that this machine has
 * too few components for is -EINVAL saying so. Returns 0, or -errno with a
 * one-line reason in err. */
int ctl_fingerprint(FILE *out, bool json, const char *key_id, const char *rule, char *err,
                    size_t errlen);

#endif
