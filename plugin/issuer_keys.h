/* The issuer public keys this build trusts, compiled in by configure
 * (--with-issuer-key) or, in a development build, the public development key. */
#ifndef LICGATE_ISSUER_KEYS_H
#define LICGATE_ISSUER_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "license.h"

extern const struct issuer_key licgate_issuer_keys[];
extern const size_t licgate_issuer_keys_count;
/* True when no release key was given: every status and log says so. */
extern const bool licgate_issuer_development;

#endif
