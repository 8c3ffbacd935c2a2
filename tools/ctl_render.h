/* licgatectl's pure half: validating a control-protocol response (see
 * docs/control-protocol.md) and rendering it for a human. No I/O but the
 * FILE * it is given, so unit tests can call every function directly. Int
 * functions return 0 or -errno; on error err holds one line saying why
 * (without a trailing newline, never containing a control byte). */
#ifndef LICGATE_TOOLS_CTL_RENDER_H
#define LICGATE_TOOLS_CTL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
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

/* Whether command is one licgatectl knows (status, sessions, licenses,
 * reload, metrics, version). */
bool ctl_command_known(const char *command);

/* ctl_render_<command>; -ENOENT for a command ctl_command_known rejects. */
int ctl_render(const char *command, json_object *resp, FILE *out, char *err, size_t errlen);

#endif
