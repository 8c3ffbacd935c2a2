#include "ctl_fingerprint.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "errbuf.h"
#include "fingerprint.h"
#include "hex.h"
#include "license.h"

static const char *source_name(enum fingerprint_source s)
{
    switch (s) {
    case FINGERPRINT_SOURCE_OK:
        return "ok";
    case FINGERPRINT_SOURCE_ABSENT:
        return "absent";
    case FINGERPRINT_SOURCE_UNREADABLE:
        return "unreadable";
    default:
        return "malformed";
    }
}

/* The license parser is the one judge of a rule: it is asked with a binding
 * that has enough distinct components for any rule it accepts (a machine-id
 * and LICENSE_MAX_COMPONENTS - 1 NICs), so only the rule can make it fail.
 * probe gets the parsed rule. */
static int rule_parse(const char *rule, struct license *probe)
{
    char line[LICENSE_MAX_COMPONENTS * 80 + 64];
    size_t used;

    memset(probe, 0, sizeof(*probe));
    if (strlen(rule) > 32 || strchr(rule, ' ') != NULL)
        return -EINVAL;
    used = (size_t)snprintf(line, sizeof(line), "%s machine-id=%064x", rule, 0);
    for (unsigned i = 1; i < LICENSE_MAX_COMPONENTS && used < sizeof(line); i++)
        used += (size_t)snprintf(line + used, sizeof(line) - used, " nic=%064x", i);
    if (used >= sizeof(line) || license_parse_binding(line, probe, NULL, 0) != 0)
        return -EINVAL;
    return 0;
}

int ctl_fingerprint_rule_check(const char *rule, char *err, size_t errlen)
{
    struct license probe;
    unsigned max = 0;
    char n[32];

    if (rule_parse(rule, &probe) == 0)
        return 0;
    /* the largest N of all-but-N, from the parser rather than a copy of its limit */
    do
        snprintf(n, sizeof(n), "all-but-%u", max + 1);
    while (rule_parse(n, &probe) == 0 && ++max < 100);
    errbuf_set(err, errlen,
               "'%.64s' is not a binding rule: all, all-but-N (N from 1 to %u) or machine-id-only, "
               "each optionally followed by +virtual (e.g. all-but-1+virtual)",
               rule, max);
    return -EINVAL;
}

/* The binding line for key_id: "<rule> machine-id=<hex> ... nic=<hex>". */
static int binding_line(const struct fingerprint *fp, const char *key_id, const char *rule,
                        const struct license *parsed, char *buf, size_t len, char *err,
                        size_t errlen)
{
    struct binding_component comps[LICENSE_MAX_COMPONENTS];
    struct license check;
    size_t n = 0, used, machine_ids = 0;
    char h[65];
    int r;

    r = fingerprint_digests_for_key(fp, key_id, comps, LICENSE_MAX_COMPONENTS, &n);
    if (r < 0) {
        errbuf_set(err, errlen, "cannot compute the digests: %s", strerror(-r));
        return r;
    }
    for (size_t i = 0; i < n; i++)
        machine_ids += comps[i].type == COMPONENT_MACHINE_ID;
    if (n == 0) {
        errbuf_set(err, errlen, "this machine has no binding components%s",
                   parsed->binding_virtual ? ""
                                           : " (no machine-id and no physical NIC: +virtual?)");
        return -ENODEV;
    }
    if (parsed->binding_rule == BINDING_ALL_BUT && parsed->binding_tolerance >= n) {
        errbuf_set(err, errlen,
                   "rule %s tolerates %u mismatches, but this machine has %zu binding %s: use a "
                   "smaller N or all",
                   rule, parsed->binding_tolerance, n, n == 1 ? "component" : "components");
        return -EINVAL;
    }
    if (parsed->binding_rule == BINDING_MACHINE_ID_ONLY && machine_ids == 0) {
        errbuf_set(err, errlen, "rule %s: this machine has no readable machine-id", rule);
        return -EINVAL;
    }
    used = (size_t)snprintf(buf, len, "%s", rule);
    for (size_t i = 0; i < n && used < len; i++) {
        hex_encode(comps[i].digest, sizeof(comps[i].digest), h);
        used += (size_t)snprintf(buf + used, len - used, " %s=%s",
                                 license_component_name(comps[i].type), h);
    }
    memset(&check, 0, sizeof(check));
    if (used >= len || license_parse_binding(buf, &check, err, errlen) != 0)
        return -EINVAL;
    return 0;
}

/* The components and their sources as JSON; with key_id, its binding line. */
static void print_json(FILE *out, const struct fingerprint *fp, const char *key_id,
                       const char *line)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    char h[65];

    for (size_t i = 0; i < fp->count; i++) {
        json_object *c = json_object_new_object();
        hex_encode(fp->components[i].raw_digest, 32, h);
        json_object_object_add(c, "component", json_object_new_string(fp->components[i].label));
        json_object_object_add(c, "sha256", json_object_new_string(h));
        json_object_array_add(list, c);
    }
    json_object_object_add(o, "components", list);
    json_object_object_add(o, "machine_id",
                           json_object_new_string(source_name(fp->machine_id_source)));
    json_object_object_add(o, "dmi_uuid", json_object_new_string(source_name(fp->dmi_uuid_source)));
    json_object_object_add(o, "nics_found", json_object_new_int64((int64_t)fp->nics_found));
    if (key_id != NULL) {
        json_object_object_add(o, "key_id", json_object_new_string(key_id));
        json_object_object_add(o, "binding", json_object_new_string(line));
    }
    fprintf(out, "%s\n",
            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

/* The components as a table, what is missing; with key_id, its binding line. */
static void print_text(FILE *out, const struct fingerprint *fp, const char *key_id,
                       const char *line)
{
    char h[65];

    fprintf(out, "%-16s  %s\n", "COMPONENT", "SHA-256 OF THE VALUE");
    for (size_t i = 0; i < fp->count; i++) {
        hex_encode(fp->components[i].raw_digest, 32, h);
        fprintf(out, "%-16s  %s\n", fp->components[i].label, h);
    }
    if (fp->machine_id_source != FINGERPRINT_SOURCE_OK)
        fprintf(out, "machine-id: %s\n", source_name(fp->machine_id_source));
    if (fp->dmi_uuid_source != FINGERPRINT_SOURCE_OK)
        fprintf(out, "dmi-uuid: %s\n", source_name(fp->dmi_uuid_source));
    if (fp->nics_found == 0)
        fprintf(out, "no physical network interface found\n");
    if (key_id != NULL)
        fprintf(out, "\nbinding for key %s:\n%s\n", key_id, line);
}

int ctl_fingerprint(FILE *out, bool json, const char *key_id, const char *rule, char *err,
                    size_t errlen)
{
    struct fingerprint fp;
    struct license parsed;
    char line[LICENSE_MAX_COMPONENTS * 80 + 64];
    int r;

    memset(&fp, 0, sizeof(fp));
    if ((r = ctl_fingerprint_rule_check(rule, err, errlen)) < 0)
        return r;
    rule_parse(rule, &parsed);
    r = parsed.binding_virtual ? fingerprint_read_virtual(&fp) : fingerprint_read(&fp);
    if (r < 0) {
        errbuf_set(err, errlen, "cannot read this machine's properties: %s", strerror(-r));
        goto out;
    }
    if (key_id != NULL) {
        r = binding_line(&fp, key_id, rule, &parsed, line, sizeof(line), err, errlen);
        if (r < 0)
            goto out;
    }
    if (json)
        print_json(out, &fp, key_id, line);
    else
        print_text(out, &fp, key_id, line);
    r = ferror(out) ? -EIO : 0;
    if (r < 0)
        errbuf_set(err, errlen, "write error");
out:
    fingerprint_clear(&fp);
    return r;
}
