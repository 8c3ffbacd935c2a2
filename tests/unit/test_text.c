/* Text that crosses a boundary: valid UTF-8, no controls, cut between characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void text_utf8_prefix__multibyte_at_the_edge__cut_before_it(void **state)
{
    const char *a32 = "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"; /* 64 bytes */

    (void)state;
    assert_int_equal(strlen(a32), 64);
    assert_int_equal(text_utf8_prefix(a32, 64, 63), 62);
    assert_int_equal(text_utf8_prefix(a32, 64, 64), 64);
    assert_int_equal(text_utf8_prefix("a\xe2\x82\xac", 4, 3), 1); /* a + € */
    assert_int_equal(text_utf8_prefix("ab\xff", 3, 3), 3);        /* a stray byte is one char */
}

static void text_clean__invalid_bytes__escaped(void **state)
{
    char out[64];

    (void)state;
    /* Latin-1 "Müller" */
    text_clean("M\xfcller", 6, out, sizeof(out), 0);
    assert_string_equal(out, "M\\xFCller");
    /* an overlong '/', a surrogate, a truncated sequence */
    text_clean("\xc0\xaf|\xed\xa0\x80|\xe2\x82", 9, out, sizeof(out), 0);
    assert_string_equal(out, "\\xC0\\xAF|\\xED\\xA0\\x80|\\xE2\\x82");
    assert_true(text_is_clean(out, strlen(out)));
    assert_false(text_is_clean("M\xfcller", 6));
}

static void text_clean__controls__question_marks_newlines_kept_when_asked(void **state)
{
    char out[64];

    (void)state;
    text_clean("a\x1b[31mb\x7f\xc2\x9b", 10, out, sizeof(out), 0);
    assert_string_equal(out, "a?[31mb??");
    text_clean("one\ntwo\tthree\r", 14, out, sizeof(out), TEXT_KEEP_NEWLINES);
    assert_string_equal(out, "one\ntwo\tthree?");
    text_clean("one\ntwo", 7, out, sizeof(out), 0);
    assert_string_equal(out, "one?two");
    assert_true(text_is_clean("Ä€𝄞 plain", strlen("Ä€𝄞 plain")));
}

static void text_clean__small_buffer__never_cuts_a_character_or_escape(void **state)
{
    char out[6];

    (void)state;
    assert_int_equal(text_clean("ÄÄÄ", 6, out, sizeof(out), 0), 4);
    assert_string_equal(out, "ÄÄ");
    assert_int_equal(text_clean("a\xff\xff", 3, out, sizeof(out), 0), 5);
    assert_string_equal(out, "a\\xFF");
    assert_int_equal(text_clean("x", 1, out, 1, 0), 0);
    assert_string_equal(out, "");
}

static void text_clean_dup__worst_case__fits(void **state)
{
    char *s = text_clean_dup("\xff\xfe\xfd", 0);

    (void)state;
    assert_non_null(s);
    assert_string_equal(s, "\\xFF\\xFE\\xFD");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_utf8_prefix__multibyte_at_the_edge__cut_before_it),
        cmocka_unit_test(text_clean__invalid_bytes__escaped),
        cmocka_unit_test(text_clean__controls__question_marks_newlines_kept_when_asked),
        cmocka_unit_test(text_clean__small_buffer__never_cuts_a_character_or_escape),
        cmocka_unit_test(text_clean_dup__worst_case__fits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
