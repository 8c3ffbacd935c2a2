/* Text that crosses a boundary (the control socket, a terminal, a log line quoting a value):
 * made valid UTF-8 without control characters, cut only between characters. The one home of
 * that rule: the plugin, licgatectl and the authority all use it. */
#ifndef LICGATE_TEXT_H
#define LICGATE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The length in bytes of the longest prefix of s[0..len) that is at most max bytes and does
 * not end inside a UTF-8 sequence (a byte that is not part of a valid sequence counts as one
 * character). */
size_t text_utf8_prefix(const char *s, size_t len, size_t max);

enum text_flags {
    TEXT_KEEP_NEWLINES = 1, /* \n and \t pass; every other control character is replaced */
};

/* Writes s[0..len) into out (outlen > 0, always NUL-terminated) as valid UTF-8: a byte that
 * is not part of a valid sequence (overlong, surrogate, beyond U+10FFFF, truncated) becomes
 * the four characters "\xNN"; C0 controls, DEL and C1 controls become '?'; a NUL ends the
 * text. Output that does not fit is cut between characters, never inside a sequence or an
 * escape. Returns the bytes written, without the NUL. */
size_t text_clean(const char *s, size_t len, char *out, size_t outlen, unsigned flags);

/* text_clean of the NUL-terminated s into a malloc'd string that always fits; NULL when out
 * of memory. */
char *text_clean_dup(const char *s, unsigned flags);

/* Whether s[0..len) is valid UTF-8 without control characters (what text_clean leaves as
 * it is). */
bool text_is_clean(const char *s, size_t len);

#endif
