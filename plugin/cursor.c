#include "cursor.h"

#include <errno.h>
#include <string.h>

void cursor_init(struct cursor *c, const void *data, size_t len)
{
    c->data = data;
    c->len = len;
    c->used = 0;
}

size_t cursor_remaining(const struct cursor *c)
{
    return c->len - c->used;
}

const char *cursor_position(const struct cursor *c)
{
    return c->data + c->used;
}

int cursor_take(struct cursor *c, size_t n, const char **out)
{
    *out = NULL;
    if (c->len - c->used < n)
        return -EBADMSG;
    *out = c->data + c->used;
    c->used += n;
    return 0;
}

int cursor_take_line(struct cursor *c, const char **line, size_t *linelen)
{
    const char *start = c->data + c->used;
    const char *newline;

    *line = NULL;
    *linelen = 0;
    if (c->len - c->used == 0)
        return -EBADMSG;
    newline = memchr(start, '\n', c->len - c->used);
    if (newline == NULL)
        return -EBADMSG;
    *line = start;
    *linelen = (size_t)(newline - start);
    c->used += *linelen + 1;
    return 0;
}

bool cursor_starts_with(const struct cursor *c, const char *literal)
{
    size_t n = strlen(literal);

    return c->len - c->used >= n && memcmp(c->data + c->used, literal, n) == 0;
}

int cursor_expect(struct cursor *c, const char *literal)
{
    if (!cursor_starts_with(c, literal))
        return -EBADMSG;
    c->used += strlen(literal);
    return 0;
}
