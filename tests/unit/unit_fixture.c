#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "unit_fixture.h"

/* Descriptors nftw may hold open while it walks a test's directory. */
#define TMPDIR_WALK_FDS 16

uint8_t trusted_priv[32], foreign_priv[32];
struct issuer_key trusted_key, foreign_key;

int unit_keys_setup(void **state)
{
    (void)state;
    if (crypto_ed25519_keygen(trusted_priv, trusted_key.pub) != 0)
        return -1;
    if (crypto_ed25519_keygen(foreign_priv, foreign_key.pub) != 0)
        return -1;
    return 0;
}

int unit_keys_teardown(void **state)
{
    (void)state;
    crypto_wipe(trusted_priv, sizeof(trusted_priv));
    crypto_wipe(foreign_priv, sizeof(foreign_priv));
    return 0;
}

int unit_tmpdir_make(char *dir, size_t size, const char *name)
{
    int n = snprintf(dir, size, "/tmp/%s.XXXXXX", name);

    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            dir[0] = '\0';
        return -ENAMETOOLONG;
    }
    if (mkdtemp(dir) == NULL) {
        int ret = -errno;

        dir[0] = '\0';
        return ret;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int unit_tmpdir_remove(const char *dir)
{
    if (nftw(dir, remove_entry, TMPDIR_WALK_FDS, FTW_DEPTH | FTW_PHYS) != 0)
        return errno != 0 ? -errno : -EIO;
    return 0;
}

void unit_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;

    assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

bool unit_all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0)
            return false;
    }
    return true;
}
