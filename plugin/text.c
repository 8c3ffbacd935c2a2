#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s[0..len) (RFC 3629: no overlong forms, no
 * surrogates, nothing beyond U+10FFFF), or 0 when the byte there starts none. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* beyond U+10FFFF */
    if (len < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return need;
}

size_t text_utf8_prefix(const char *s, size_t len, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    if (len <= max)
        return len; /* no cut: where the sequences end does not matter */
    while (i < len) {
        size_t n = utf8_sequence(u + i, len - i);

        if (n == 0)
            n = 1;
        if (i + n > max)
            break;
        i += n;
    }
    return i;
}

/* C1 controls are U+0080..U+009F: in UTF-8, 0xc2 0x80..0x9f. */
static bool is_control(const unsigned char *s, size_t n, unsigned flags)
{
    if (n == 1)
        return (s[0] < 0x20 || s[0] == 0x7f) &&
               !((flags & TEXT_KEEP_NEWLINES) && (s[0] == '\n' || s[0] == '\t'));
    return n == 2 && s[0] == 0xc2 && s[1] <= 0x9f;
}

size_t text_clean(const char *s, size_t len, char *out, size_t outlen, unsigned flags)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, j = 0;

    if (outlen == 0)
        return 0;
    while (i < len && u[i] != '\0') {
        size_t n = utf8_sequence(u + i, len - i);
        char piece[5];
        size_t plen;

        if (n == 0) {
            snprintf(piece, sizeof(piece), "\\x%02X", u[i]);
            plen = 4;
            n = 1;
        } else if (is_control(u + i, n, flags)) {
            piece[0] = '?';
            plen = 1;
        } else {
            memcpy(piece, u + i, n);
            plen = n;
        }
        if (outlen - 1 - j < plen)
            break;
        memcpy(out + j, piece, plen);
        j += plen;
        i += n;
    }
    out[j] = '\0';
    return j;
}

char *text_clean_dup(const char *s, unsigned flags)
{
    size_t len = strlen(s);
    char *out;

    if (len > (SIZE_MAX - 1) / 4)
        return NULL;
    out = malloc(4 * len + 1);
    if (out != NULL)
        text_clean(s, len, out, 4 * len + 1, flags);
    return out;
}

bool text_is_clean(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(u + i, len - i);

        if (n == 0 || u[i] == '\0' || is_control(u + i, n, 0))
            return false;
        i += n;
    }
    return true;
}
