/* Thin adapter over OpenSSL 3 EVP: Ed25519, SHA-256, base64, PEM key files.
 * This is the only place in licgate that includes <openssl/...>.
 * Every int function returns 0 or -errno. Private key bytes passed in are
 * never retained; callers wipe their own copies with crypto_wipe(). */
#ifndef LICGATE_SHIM_CRYPTO_H
#define LICGATE_SHIM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_ED25519_KEY_LEN 32
#define CRYPTO_ED25519_SIG_LEN 64
#define CRYPTO_SHA256_LEN      32

/* Base64 text length (without NUL) of n input bytes. */
#define CRYPTO_BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* Generates a fresh Ed25519 key pair. On failure both outputs are zeroed.
 * -EIO on an OpenSSL failure, -ENOMEM on allocation failure. */
int crypto_ed25519_keygen(uint8_t priv[32], uint8_t pub[32]);

/* Derives the public key of a raw 32-byte private key. pub is zeroed on
 * failure. */
int crypto_ed25519_public_from_private(const uint8_t priv[32], uint8_t pub[32]);

/* Signs msg (len bytes, len may be 0) with the raw private key. sig is zeroed
 * on failure. */
int crypto_ed25519_sign(const uint8_t priv[32], const void *msg, size_t len, uint8_t sig[64]);

/* Verifies sig over msg. Returns 0 when valid, -EBADMSG when the signature
 * does not verify (including malformed signatures or public keys), and any
 * other -errno (-EIO, -ENOMEM) when the check itself could not run. Leaves
 * the OpenSSL error queue empty. */
int crypto_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
                          const uint8_t sig[64]);

/* SHA-256 of data. out is zeroed on failure. */
int crypto_sha256(const void *data, size_t len, uint8_t out[32]);

/* Standard base64 with padding, no newlines, NUL-terminated. outsize must be
 * at least CRYPTO_BASE64_LEN(len) + 1, else -ENOSPC. */
int crypto_base64_encode(const uint8_t *in, size_t len, char *out, size_t outsize);

/* Decodes in (inlen bytes, need not be NUL-terminated) into exactly outlen
 * bytes, accepting only the one canonical encoding: the length must be
 * CRYPTO_BASE64_LEN(outlen), padding exact, unused bits zero, no whitespace.
 * Anything else is -EBADMSG and out is zeroed. */
int crypto_base64_decode_exact(const char *in, size_t inlen, uint8_t *out, size_t outlen);

/* Reads an Ed25519 private key from a PKCS#8 PEM file. -ENOENT etc. from
 * open(2), -EBADMSG when the file is not an Ed25519 private key PEM. priv is
 * zeroed on failure. */
int crypto_ed25519_read_private_pem(const char *path, uint8_t priv[32]);

/* Writes a PKCS#8 PEM private key, mode 0600. Truncates an existing regular
 * file; refuses to follow a symlink at path (-ELOOP). */
int crypto_ed25519_write_private_pem(const char *path, const uint8_t priv[32]);

/* Reads an Ed25519 SubjectPublicKeyInfo PEM file ("BEGIN PUBLIC KEY").
 * -EBADMSG when it is not one. pub is zeroed on failure. */
int crypto_ed25519_read_public_pem(const char *path, uint8_t pub[32]);

/* Writes a SubjectPublicKeyInfo PEM public key, mode 0644, O_NOFOLLOW. */
int crypto_ed25519_write_public_pem(const char *path, const uint8_t pub[32]);

/* Fills buf with len bytes from the system's CSPRNG. 0 or -EIO. */
int crypto_random(void *buf, size_t len);

/* Overwrites len bytes at p with zeros in a way the compiler keeps. */
void crypto_wipe(void *p, size_t len);

#endif
