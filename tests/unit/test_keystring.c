/* Key strings: generation, canonical form, and that the check character
 * catches every single-character change and every neighbour swap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keystring.h"

#define SAMPLE_KEYS 300

/* Positions of the 16 key characters in "LG-XXXX-XXXX-XXXX-XXXX". */
static size_t char_pos(size_t i)
{
    return 3 + i + i / 4;
}

static void generate__many__canonical_and_valid(void **state)
{
    (void)state;
    for (int n = 0; n < SAMPLE_KEYS; n++) {
        char key[KEYSTRING_BUFSIZE], again[KEYSTRING_BUFSIZE];

        assert_int_equal(keystring_generate(key), 0);
        assert_int_equal(strlen(key), KEYSTRING_LEN);
        assert_memory_equal(key, "LG-", 3);
        assert_int_equal(keystring_canonicalize(key, again, NULL, 0), 0);
        assert_string_equal(key, again);
    }
}

static void generate__many__never_a_zero_next_to_z(void **state)
{
    (void)state;
    for (int n = 0; n < 5000; n++) {
        char key[KEYSTRING_BUFSIZE];

        assert_int_equal(keystring_generate(key), 0);
        for (size_t i = 0; i + 1 < KEYSTRING_CHARS; i++) {
            char a = key[char_pos(i)], b = key[char_pos(i + 1)];
            assert_false((a == '0' && b == 'Z') || (a == 'Z' && b == '0'));
        }
    }
}

static void canonicalize__every_single_change__check_mismatch(void **state)
{
    (void)state;
    for (int n = 0; n < SAMPLE_KEYS; n++) {
        char key[KEYSTRING_BUFSIZE], out[KEYSTRING_BUFSIZE], why[128];

        assert_int_equal(keystring_generate(key), 0);
        for (size_t i = 0; i < KEYSTRING_CHARS; i++) {
            for (const char *c = KEYSTRING_ALPHABET; *c != '\0'; c++) {
                char typo[KEYSTRING_BUFSIZE];

                if (*c == key[char_pos(i)])
                    continue;
                memcpy(typo, key, sizeof(typo));
                typo[char_pos(i)] = *c;
                assert_int_equal(keystring_canonicalize(typo, out, why, sizeof(why)), -EBADMSG);
                assert_string_equal(why, "not a valid key (check character mismatch: a typo?)");
                assert_string_equal(out, "");
            }
        }
    }
}

static void canonicalize__every_neighbour_swap__check_mismatch(void **state)
{
    (void)state;
    for (int n = 0; n < SAMPLE_KEYS * 10; n++) {
        char key[KEYSTRING_BUFSIZE], out[KEYSTRING_BUFSIZE];

        assert_int_equal(keystring_generate(key), 0);
        for (size_t i = 0; i + 1 < KEYSTRING_CHARS; i++) {
            char swapped[KEYSTRING_BUFSIZE];
            size_t a = char_pos(i), b = char_pos(i + 1);

            if (key[a] == key[b])
                continue; /* swapping equal neighbours changes nothing */
            memcpy(swapped, key, sizeof(swapped));
            swapped[a] = key[b];
            swapped[b] = key[a];
            assert_int_equal(keystring_canonicalize(swapped, out, NULL, 0), -EBADMSG);
        }
    }
}

/* Why the generator avoids '0' next to 'Z': Luhn mod 32 cannot see that swap. */
static void compose__zero_next_to_z__swap_is_invisible_to_luhn(void **state)
{
    char key[KEYSTRING_BUFSIZE], swapped[KEYSTRING_BUFSIZE], out[KEYSTRING_BUFSIZE];

    (void)state;
    assert_int_equal(keystring_compose("0Z3456789ABCDEF", key), 0);
    memcpy(swapped, key, sizeof(swapped));
    swapped[3] = 'Z';
    swapped[4] = '0';
    assert_int_equal(keystring_canonicalize(swapped, out, NULL, 0), 0);
}

static void canonicalize__lowercase_spaces_no_hyphens__canonical(void **state)
{
    char key[KEYSTRING_BUFSIZE], loose[64], out[KEYSTRING_BUFSIZE];
    size_t o = 0;

    (void)state;
    assert_int_equal(keystring_generate(key), 0);
    for (size_t i = 0; key[i] != '\0'; i++) {
        if (key[i] == '-') {
            loose[o++] = ' ';
            continue;
        }
        loose[o++] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] - 'A' + 'a' : key[i]);
    }
    loose[o] = '\0';
    assert_int_equal(keystring_canonicalize(loose, out, NULL, 0), 0);
    assert_string_equal(out, key);
    /* Without the LG prefix too. */
    assert_int_equal(keystring_canonicalize(key + 3, out, NULL, 0), 0);
    assert_string_equal(out, key);
}

static void canonicalize__i_l_o__read_as_one_and_zero(void **state)
{
    char key[KEYSTRING_BUFSIZE], typed[KEYSTRING_BUFSIZE], out[KEYSTRING_BUFSIZE];

    (void)state;
    assert_int_equal(keystring_compose("1100123456789AB", key), 0);
    memcpy(typed, key, sizeof(typed));
    typed[3] = 'I';
    typed[4] = 'l';
    typed[5] = 'O';
    typed[6] = 'o';
    assert_int_equal(keystring_canonicalize(typed, out, NULL, 0), 0);
    assert_string_equal(out, key);
}

static void canonicalize__bad_shapes__invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "LG-",
        "LG-1234-5678-9ABC-DEF",
        "LG-1234-5678-9ABC-DEFGH",
        "XX-1234-5678-9ABC-DEFG",
        "LG-1234-5678-9ABC-DEFU",
        "LG-1234-5678-9ABC-DEF!",
        "LG-1234-5678-9ABC-DEF\x80",
        "LG-1234-5678-9ABC-DEFG-1234-5678-9ABC-DEFG-1234-5678-9ABC-DEFG-1234-5678-9ABC-DEFG",
    };
    char out[KEYSTRING_BUFSIZE], why[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(keystring_canonicalize(bad[i], out, why, sizeof(why)), -EINVAL);
        assert_string_equal(out, "");
        assert_non_null(strstr(why, "not a valid key ("));
    }
    assert_int_equal(keystring_canonicalize("LG-1234-5678-9ABC-DEFU", out, why, sizeof(why)),
                     -EINVAL);
    assert_string_equal(why, "not a valid key ('U' is not a key character)");
}

static void check_char__outside_alphabet__nul(void **state)
{
    (void)state;
    assert_int_equal(keystring_check_char("ABCU", 4), '\0');
    assert_int_not_equal(keystring_check_char("ABCD", 4), '\0');
    assert_int_equal(keystring_compose("ABCDEFGHIJKLMNO", (char[KEYSTRING_BUFSIZE]){0}), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generate__many__canonical_and_valid),
        cmocka_unit_test(generate__many__never_a_zero_next_to_z),
        cmocka_unit_test(canonicalize__every_single_change__check_mismatch),
        cmocka_unit_test(canonicalize__every_neighbour_swap__check_mismatch),
        cmocka_unit_test(compose__zero_next_to_z__swap_is_invisible_to_luhn),
        cmocka_unit_test(canonicalize__lowercase_spaces_no_hyphens__canonical),
        cmocka_unit_test(canonicalize__i_l_o__read_as_one_and_zero),
        cmocka_unit_test(canonicalize__bad_shapes__invalid),
        cmocka_unit_test(check_char__outside_alphabet__nul),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
