/* A line built by appending to a fixed buffer: the admission path's decision lines and
 * client addresses, made without printf's machinery (the format parser, locale, stdio's
 * string stream), whose cost differs from one C library and CPU to the next. What does not
 * fit is cut; the buffer is always NUL-terminated. Not UTF-8 aware: the caller cleans or
 * cuts text where that matters. */
#ifndef LICGATE_LINE_H
#define LICGATE_LINE_H

#include <stddef.h>
#include <stdint.h>

struct line {
    char *buf;
    size_t len; /* bytes written, without the NUL */
    size_t cap; /* the buffer's size, > 0 */
};

static inline void line_init(struct line *l, char *buf, size_t cap)
{
    l->buf = buf;
    l->len = 0;
    l->cap = cap;
    buf[0] = '\0';
}

static inline void line_char(struct line *l, char c)
{
    if (l->len + 1 >= l->cap)
        return;
    l->buf[l->len++] = c;
    l->buf[l->len] = '\0';
}

static inline void line_str(struct line *l, const char *s)
{
    while (*s != '\0' && l->len + 1 < l->cap)
        l->buf[l->len++] = *s++;
    l->buf[l->len] = '\0';
}

static inline void line_u32(struct line *l, uint32_t v)
{
    char digits[10];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        line_char(l, digits[--n]);
}

#endif
