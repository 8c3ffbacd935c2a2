/* The license document's format, shared by the parser (license.c,
 * license_fields.c) and the signer (license_sign.c): not for other callers. */
#ifndef LICGATE_LICENSE_FORMAT_H
#define LICGATE_LICENSE_FORMAT_H

#include <stddef.h>

#include "crypto.h"
#include "license.h"

/* sizeof includes the NUL, which is part of the signed domain prefix. */
#define SIGNATURE_DOMAIN     "licgate-license-v1"
#define SIGNATURE_DOMAIN_LEN sizeof(SIGNATURE_DOMAIN)

#define ARMOR_BEGIN       "-----BEGIN LICGATE LICENSE-----"
#define ARMOR_END         "-----END LICGATE LICENSE-----"
#define SIGNATURE_PREFIX  "signature: "
#define SIGNATURE_B64_LEN CRYPTO_BASE64_LEN(64)
#define PAYLOAD_MAX       4096

/* Parses the payload's fields, in order, from "format" to "issuer": 0, or
 * -EBADMSG with "line N: ..." or "field 'NAME': ..." in err (line numbers
 * count from first_line). *out is zeroed unless 0 is returned. */
int license_parse_fields(const char *payload, size_t payload_len, unsigned first_line,
                         struct license *out, char *err, size_t errlen);

#endif
