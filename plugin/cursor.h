/* A bounded read cursor over a byte range it does not own. Every take or
 * expect either succeeds and advances, or fails with -EBADMSG and consumes
 * nothing. Returned pointers point into the underlying bytes. */
#ifndef LICGATE_PLUGIN_CURSOR_H
#define LICGATE_PLUGIN_CURSOR_H

#include <stdbool.h>
#include <stddef.h>

struct cursor {
    const char *data;
    size_t len;
    size_t used;
};

/* Starts a cursor at the first of len bytes at data. */
void cursor_init(struct cursor *c, const void *data, size_t len);

/* Bytes not yet consumed. */
size_t cursor_remaining(const struct cursor *c);

/* Pointer to the first unconsumed byte. */
const char *cursor_position(const struct cursor *c);

/* Takes n bytes. -EBADMSG if fewer remain. */
int cursor_take(struct cursor *c, size_t n, const char **out);

/* Takes one line: the bytes up to a '\n', which is required and consumed
 * but not included in *linelen. -EBADMSG if no '\n' remains. */
int cursor_take_line(struct cursor *c, const char **line, size_t *linelen);

/* Consumes the NUL-terminated literal if the bytes start with it, else
 * -EBADMSG. */
int cursor_expect(struct cursor *c, const char *literal);

/* True when the unconsumed bytes start with literal; consumes nothing. */
bool cursor_starts_with(const struct cursor *c, const char *literal);

#endif
