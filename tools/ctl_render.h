/* licgatectl's pure half: validating a control-protocol response (see
 * docs/control-protocol.md) and rendering it for a human. No I/O but the
 * FILE * it is given, so unit tests can call every function directly. Int
 * functions return 0 or -errno; on error err holds one line saying why
 * (without a trailing newline, never containing a control byte). */
#ifndef LICGATE_TOOLS_CTL_RENDER_H
#define LICGATE_TOOLS_CTL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#define CTL_PROTOCOL_VERSION 1
#define CTL_RESPONSE_MAX     (16u * 1024 * 1024) /* bytes, the final newline included */

/* Validates one response of len bytes (buf need not be NUL-terminated): at
 * most CTL_RESPONSE_MAX bytes, one line of valid UTF-8 holding one JSON
 * object and nothing else, ended by '\n'; "protocol" an integer equal to
 * CTL_PROTOCOL_VERSION; "ok" a boolean; when ok is false, "error" a string.
 * Returns 0 and hands the caller the object in *out (free it with
 * json_object_put) when ok is true. Otherwise *out is NULL and:
 * -EMSGSIZE  len exceeds CTL_RESPONSE_MAX;
 * -EBADMSG   anything else malformed (err says what);
 * -EPROTONOSUPPORT  another protocol version: err is "server speaks protocol
 *            N, licgatectl speaks 1";
 * -EREMOTEIO the server refused: err is its "error" text, sanitized. */
int ctl_parse_response(const char *buf, size_t len, json_object **out, char *err, size_t errlen);

/* The human rendering of a successful response to one command. Each checks
 * every field it uses (type, and integers non-negative) and writes its text
 * to out only when all are well-formed: on -EBADMSG (err names the field)
 * or -ENOMEM nothing has been written. Strings from the server are printed as
 * clean text (text_clean_dup, text.h). Absent or null optional fields of a
 * license are shown as "-". status shows "next change: AT: limit N -> M
 * seats" when next_change is an object, nothing when it is null or absent
 * (an older plugin). */
int ctl_render_status(json_object *resp, FILE *out, char *err, size_t errlen);
int ctl_render_sessions(json_object *resp, FILE *out, char *err, size_t errlen);
int ctl_render_licenses(json_object *resp, FILE *out, char *err, size_t errlen);
int ctl_render_reload(json_object *resp, FILE *out, char *err, size_t errlen);
int ctl_render_metrics(json_object *resp, FILE *out, char *err, size_t errlen);
int ctl_render_version(json_object *resp, FILE *out, char *err, size_t errlen);

/* Typed members of an answer, for the renderers of other files, with the
 * errors of ctl_render_*: "field 'days[3].hours' is missing", "... is a
 * string, not an integer", "... is 25, not 1..24". prefix is "" or e.g.
 * "days[3].". 0, or -EBADMSG with err. ctl_field_member: *v the member of
 * that type, NULL when it is absent or null and nullable. ctl_field_int: an
 * integer in min..max; with present NULL it must be there, else it may be
 * absent or null (*present false, *n 0). ctl_field_string: *s borrowed from
 * obj, NULL when absent or null and nullable. ctl_field_bool: as
 * ctl_field_int. ctl_field_element: element i of array key must be an
 * object; prefix receives "key[i].". */
int ctl_field_member(json_object *obj, const char *prefix, const char *key, json_type type,
                     bool nullable, json_object **v, char *err, size_t errlen);
int ctl_field_int(json_object *obj, const char *prefix, const char *key, int64_t min, int64_t max,
                  int64_t *n, bool *present, char *err, size_t errlen);
int ctl_field_string(json_object *obj, const char *prefix, const char *key, bool nullable,
                     const char **s, char *err, size_t errlen);
int ctl_field_bool(json_object *obj, const char *prefix, const char *key, bool *b, bool *present,
                   char *err, size_t errlen);
int ctl_field_element(json_object *array, const char *key, size_t i, json_object **elem,
                      char *prefix, size_t prefixlen, char *err, size_t errlen);

/* Rows of cells, printed with every column as wide as its widest cell (one
 * column per code point), two spaces between columns and no padding after
 * the last. Set ncols and headers, add rows, print, free. */
struct ctl_table {
    size_t ncols;
    const char *const *headers;
    char **cells; /* nrows * ncols */
    size_t nrows, caprows;
};

/* Adds a row of ncols values, each copied as clean text (text_clean_dup); a
 * NULL value is shown as "-". 0, or -ENOMEM with the table unchanged. */
int ctl_table_add(struct ctl_table *t, const char *const *values);

/* Prints the headers and the rows to out: 0 or -ENOMEM (nothing written). */
int ctl_table_print(const struct ctl_table *t, FILE *out);

/* Frees the rows; the table is empty and may be filled again. */
void ctl_table_free(struct ctl_table *t);

/* Whether command is one licgatectl knows (status, sessions, licenses,
 * reload, metrics, version). */
bool ctl_command_known(const char *command);

/* ctl_render_<command>; -ENOENT for a command ctl_command_known rejects. */
int ctl_render(const char *command, json_object *resp, FILE *out, char *err, size_t errlen);

#endif
