/* Key strings; see keystring.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "errbuf.h"
#include "keystring.h"

#define KEYSTRING_RADIX 32
#define KEYSTRING_BODY  (KEYSTRING_CHARS - 1)
/* Accept at most this many key characters before deciding the shape. */
#define KEYSTRING_INPUT_MAX 64

static int code_point(char c)
{
    const char *p;

    if (c == '\0')
        return -1;
    p = strchr(KEYSTRING_ALPHABET, c);
    return p != NULL ? (int)(p - KEYSTRING_ALPHABET) : -1;
}

/* Luhn mod N: from the right, every second code point (starting with the
 * rightmost when computing a check character) is doubled and its base-N
 * digits summed. */
static int luhn_sum(const char *s, size_t n, int first_factor, int *sum)
{
    int factor = first_factor, total = 0;

    for (size_t i = n; i-- > 0;) {
        int cp = code_point(s[i]);
        int addend;

        if (cp < 0)
            return -EINVAL;
        addend = factor * cp;
        factor = factor == 2 ? 1 : 2;
        total += addend / KEYSTRING_RADIX + addend % KEYSTRING_RADIX;
    }
    *sum = total;
    return 0;
}

char keystring_check_char(const char *body, size_t n)
{
    int sum;

    if (luhn_sum(body, n, 2, &sum) != 0)
        return '\0';
    return KEYSTRING_ALPHABET[(KEYSTRING_RADIX - sum % KEYSTRING_RADIX) % KEYSTRING_RADIX];
}

static void format_key(const char chars[KEYSTRING_CHARS], char out[KEYSTRING_BUFSIZE])
{
    size_t o = 0;

    out[o++] = 'L';
    out[o++] = 'G';
    for (size_t i = 0; i < KEYSTRING_CHARS; i++) {
        if (i % 4 == 0)
            out[o++] = '-';
        out[o++] = chars[i];
    }
    out[o] = '\0';
}

int keystring_compose(const char body[15], char out[KEYSTRING_BUFSIZE])
{
    char chars[KEYSTRING_CHARS];
    char check = keystring_check_char(body, KEYSTRING_BODY);

    out[0] = '\0';
    if (check == '\0')
        return -EINVAL;
    memcpy(chars, body, KEYSTRING_BODY);
    chars[KEYSTRING_BODY] = check;
    format_key(chars, out);
    return 0;
}

static bool has_blind_swap(const char chars[KEYSTRING_CHARS])
{
    for (size_t i = 0; i + 1 < KEYSTRING_CHARS; i++) {
        if ((chars[i] == '0' && chars[i + 1] == 'Z') || (chars[i] == 'Z' && chars[i + 1] == '0'))
            return true;
    }
    return false;
}

int keystring_generate(char out[KEYSTRING_BUFSIZE])
{
    uint8_t random[KEYSTRING_BODY];
    char chars[KEYSTRING_CHARS];

    out[0] = '\0';
    do {
        int r = crypto_random(random, sizeof(random));

        if (r != 0)
            return r;
        /* 256 is a multiple of 32: the low five bits are uniform. */
        for (size_t i = 0; i < KEYSTRING_BODY; i++)
            chars[i] = KEYSTRING_ALPHABET[random[i] % KEYSTRING_RADIX];
        chars[KEYSTRING_BODY] = keystring_check_char(chars, KEYSTRING_BODY);
    } while (has_blind_swap(chars));
    format_key(chars, out);
    return 0;
}

static int shape_error(char *why, size_t whylen, const char *detail)
{
    return errbuf_fail(why, whylen, -EINVAL, "not a valid key (%s)", detail);
}

int keystring_canonicalize(const char *in, char out[KEYSTRING_BUFSIZE], char *why, size_t whylen)
{
    char chars[KEYSTRING_INPUT_MAX];
    size_t n = 0, start = 0;
    int sum;

    out[0] = '\0';
    errbuf_set(why, whylen, "%s", "");
    for (const char *p = in; *p != '\0'; p++) {
        char c = *p;

        if (c == '-' || c == ' ')
            continue;
        if (n == sizeof(chars))
            return shape_error(why, whylen, "too long");
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        chars[n++] = c;
    }
    if (n == KEYSTRING_CHARS + 2 && chars[0] == 'L' && chars[1] == 'G')
        start = 2;
    else if (n != KEYSTRING_CHARS)
        return shape_error(why, whylen, "expected LG- and 16 characters");
    for (size_t i = start; i < n; i++) {
        char c = chars[i];

        if (c == 'I' || c == 'L')
            c = '1';
        else if (c == 'O')
            c = '0';
        if (code_point(c) < 0) {
            char detail[64];

            if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                snprintf(detail, sizeof(detail), "'%c' is not a key character", c);
            else
                snprintf(detail, sizeof(detail), "byte 0x%02x is not a key character",
                         (unsigned char)c);
            return shape_error(why, whylen, detail);
        }
        chars[i] = c;
    }
    if (luhn_sum(chars + start, KEYSTRING_CHARS, 1, &sum) != 0 || sum % KEYSTRING_RADIX != 0) {
        return errbuf_fail(why, whylen, -EBADMSG,
                           "not a valid key (check character mismatch: a typo?)");
    }
    format_key(chars + start, out);
    return 0;
}
