/* What several unit tests share: the two issuers they sign with, a
 * temporary directory of their own, files written whole and a byte check.
 * Linked into every unit test (tests/unit/libunitfixture.la); nothing here
 * signs, so a test that does not make licenses needs no signing code. */
#ifndef LICGATE_UNIT_FIXTURE_H
#define LICGATE_UNIT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "license.h"

/* The issuer the tests trust and one they do not, made by unit_keys_setup. */
extern uint8_t trusted_priv[32], foreign_priv[32];
extern struct issuer_key trusted_key, foreign_key;

/* cmocka group setup: a fresh Ed25519 key pair for each issuer. Returns 0,
 * or -1 when a key cannot be made. */
int unit_keys_setup(void **state);

/* cmocka group teardown: wipes both private keys. Returns 0. */
int unit_keys_teardown(void **state);

/* Makes a new directory /tmp/NAME.XXXXXX (mode 0700) and writes its path
 * into dir (size bytes). Returns 0 or -errno; dir is "" on failure. */
int unit_tmpdir_make(char *dir, size_t size, const char *name);

/* Removes dir and everything below it; links are removed, never followed.
 * Returns 0 or -errno. */
int unit_tmpdir_remove(const char *dir);

/* Writes len bytes at data to DIR/NAME (created or truncated); fails the
 * test when it cannot. */
void unit_write_file(const char *dir, const char *name, const void *data, size_t len);

/* Whether all n bytes at p are zero. */
bool unit_all_zero(const void *p, size_t n);

#endif
