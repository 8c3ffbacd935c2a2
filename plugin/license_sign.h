/* Making license documents (the authority and the tests; the plugin only
 * reads them, license.h). */
#ifndef LICGATE_LICENSE_SIGN_H
#define LICGATE_LICENSE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "license.h"

/* Checks that every field of lic can be encoded and would be accepted by
 * license_parse_verify (issuer_id is not checked). -EINVAL with a reason in
 * err, the same wording the parser uses, e.g. "field 'key-id': ...". */
int license_validate(const struct license *lic, char *err, size_t errlen);

/* Builds and signs the canonical document for lic with priv; lic->issuer_id
 * is ignored and computed from priv. The document is re-verified before it
 * is handed out. *doc is malloc'd and NUL-terminated, *len excludes the NUL;
 * the caller frees it. -EINVAL if lic does not pass license_validate(). On
 * failure *doc is NULL and *len 0. */
int license_sign(const struct license *lic, const uint8_t priv[32], char **doc, size_t *len);

#endif
