/* Lowercase hexadecimal, the one form licenses, requests and the ledger
 * write digests and ids in. */
#ifndef LICGATE_HEX_H
#define LICGATE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes the 2 * n lowercase digits of in[0..n) and a NUL into out
 * (2 * n + 1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);

/* Decodes exactly 2 * n lowercase digits of s[0..slen) into out[0..n):
 * 0, or -EINVAL for another length or any other character (out is then
 * partly written). */
int hex_decode(const char *s, size_t slen, uint8_t *out, size_t n);

#endif
