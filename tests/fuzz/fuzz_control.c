/* libFuzzer target for control_parse_request, fed the way the control thread feeds it: growing
 * prefixes of what a client sent, without eof, until the parser stops asking for more, then
 * the whole buffer. The first input byte holds eof (bit 0) and the number of split points
 * (bits 1-3); that many bytes follow, each a split offset; the rest is the request.
 *
 * Properties: a decision reached on a prefix agrees with the decision on the whole buffer
 * (an error stays an error; a command is the whole request unless the client sent more after
 * the newline); a valid whole request is never decided differently in pieces; with eof the
 * parser never asks for more; -EAGAIN only for a short, clean line without a newline; every
 * error has a one-line reason. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"

#define MAX_SPLITS 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
    int r;
    enum control_command cmd;
    char err[128];
};

static void parse(const char *buf, size_t len, bool eof, struct outcome *o)
{
    char *copy = malloc(len > 0 ? len : 1); /* exact size, so ASan sees any overread */

    if (copy == NULL)
        abort();
    memcpy(copy, buf, len);
    memset(o, 0, sizeof(*o));
    o->cmd = (enum control_command)(-1);
    o->r = control_parse_request(copy, len, eof, &o->cmd, o->err, sizeof(o->err));
    free(copy);
    if (o->r != 0 && o->r != -EAGAIN && o->r != -EBADMSG)
        abort();
    if (o->r == -EBADMSG && (o->err[0] == '\0' || strchr(o->err, '\n') != NULL))
        abort();
    if (o->r == 0 &&
        (o->cmd < CONTROL_STATUS || o->cmd > CONTROL_USAGE || control_command_name(o->cmd) == NULL))
        abort();
    if (o->r == -EAGAIN) {
        if (eof || memchr(buf, '\n', len) != NULL || len > CONTROL_REQUEST_MAX)
            abort();
    }
}

static int compare_offsets(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t splits[MAX_SPLITS], nsplits, len, i;
    struct outcome whole, piece;
    const char *buf;
    bool eof;

    if (size == 0)
        return 0;
    eof = data[0] & 1;
    nsplits = (size_t)(data[0] >> 1) & 7;
    if (size - 1 < nsplits)
        return 0;
    buf = (const char *)data + 1 + nsplits;
    len = size - 1 - nsplits;
    for (i = 0; i < nsplits; i++)
        splits[i] = data[1 + i] % (len + 1);
    qsort(splits, nsplits, sizeof(splits[0]), compare_offsets);

    parse(buf, len, eof, &whole);
    if (eof && whole.r == -EAGAIN)
        abort();

    for (i = 0; i < nsplits; i++) {
        size_t cut = splits[i];

        parse(buf, cut, false, &piece);
        if (piece.r == -EAGAIN)
            continue;
        /* The thread would decide here, on a prefix. */
        if (piece.r == -EBADMSG && whole.r != -EBADMSG)
            abort();
        if (piece.r == 0) {
            if (cut == len && (whole.r != 0 || whole.cmd != piece.cmd))
                abort();
            if (cut < len && whole.r != -EBADMSG)
                abort(); /* the whole carries data after the newline */
        }
        return 0;
    }
    /* Only eof may change the outcome of the same bytes, and only from -EAGAIN. */
    parse(buf, len, !eof, &piece);
    if (piece.r != whole.r && piece.r != -EAGAIN && whole.r != -EAGAIN)
        abort();
    if (piece.r == whole.r && piece.r == 0 && piece.cmd != whole.cmd)
        abort();
    return 0;
}
