/* License key strings: LG-XXXX-XXXX-XXXX-XXXX, 16 characters of Crockford's
 * base32 alphabet (no I L O U), 15 random and a Luhn mod 32 check character
 * (docs/activation-api.md), shared by the authority and licgatectl. Int
 * functions return 0 or -errno. */
#ifndef LICGATE_TOOLS_KEYSTRING_H
#define LICGATE_TOOLS_KEYSTRING_H

#include <stddef.h>

#define KEYSTRING_ALPHABET "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#define KEYSTRING_CHARS    16 /* without "LG" and hyphens, check character included */
#define KEYSTRING_LEN      22 /* "LG-XXXX-XXXX-XXXX-XXXX" */
#define KEYSTRING_BUFSIZE  23

/* The Luhn mod 32 check character for the n characters at body (each from
 * KEYSTRING_ALPHABET), or '\0' when one of them is not. */
char keystring_check_char(const char *body, size_t n);

/* Makes a new canonical key from 75 random bits (crypto_random). Luhn mod 32
 * misses exactly one kind of neighbour swap, '0' next to 'Z' (their doubled
 * and plain values coincide), so a key with such a pair is never handed out:
 * every single-character change and every neighbour swap of a generated key
 * fails the check. out is "" on failure (-EIO). */
int keystring_generate(char out[KEYSTRING_BUFSIZE]);

/* Builds the canonical key from 15 body characters (from the alphabet) and
 * their check character. -EINVAL (out "") when a character is not. */
int keystring_compose(const char body[15], char out[KEYSTRING_BUFSIZE]);

/* Turns what a person typed into the canonical key: case-insensitive, 'I'
 * and 'L' read as '1', 'O' as '0', hyphens and spaces ignored, the "LG"
 * prefix optional. -EINVAL when it is not shaped like a key ("not a valid key
 * (...)" in why), -EBADMSG when the check character does not match ("not a
 * valid key (check character mismatch: a typo?)"). out is "" on failure. why
 * may be NULL when whylen is 0. */
int keystring_canonicalize(const char *in, char out[KEYSTRING_BUFSIZE], char *why, size_t whylen);

#endif
