#include "ctl_fingerprint.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "fingerprint.h"
#include "license.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

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

/* The binding line for key_id: "<rule> machine-id=<hex> ... nic=<hex>". */
static int binding_line(const struct fingerprint *fp, const char *key_id, const char *rule,
                        char *buf, size_t len, char *err, size_t errlen)
{
    struct binding_component comps[LICENSE_MAX_COMPONENTS];
    struct license check;
    size_t n = 0, used;
    char h[65];
    int r;

    r = fingerprint_digests_for_key(fp, key_id, comps, LICENSE_MAX_COMPONENTS, &n);
    if (r < 0) {
        snprintf(err, errlen, "cannot compute the digests: %s", strerror(-r));
        return r;
    }
    used = (size_t)snprintf(buf, len, "%s", rule);
    for (size_t i = 0; i < n && used < len; i++) {
        hex(comps[i].digest, sizeof(comps[i].digest), h);
        used += (size_t)snprintf(buf + used, len - used, " %s=%s",
                                 license_component_name(comps[i].type), h);
    }
    memset(&check, 0, sizeof(check));
    if (used >= len || license_parse_binding(buf, &check, err, errlen) != 0)
        return -EINVAL;
    return 0;
}

int ctl_fingerprint(FILE *out, bool json, const char *key_id, const char *rule, char *err,
                    size_t errlen)
{
    struct fingerprint fp;
    char h[65], line[LICENSE_MAX_COMPONENTS * 80 + 64];
    json_object *o = NULL, *list;
    int r;

    memset(&fp, 0, sizeof(fp));
    r = strstr(rule, "+virtual") != NULL ? fingerprint_read_virtual(&fp) : fingerprint_read(&fp);
    if (r < 0) {
        snprintf(err, errlen, "cannot read this machine's properties: %s", strerror(-r));
        goto out;
    }
    if (key_id != NULL) {
        r = binding_line(&fp, key_id, rule, line, sizeof(line), err, errlen);
        if (r < 0)
            goto out;
    }
    if (json) {
        o = json_object_new_object();
        list = json_object_new_array();
        for (size_t i = 0; i < fp.count; i++) {
            json_object *c = json_object_new_object();
            hex(fp.components[i].raw_digest, 32, h);
            json_object_object_add(c, "component", json_object_new_string(fp.components[i].label));
            json_object_object_add(c, "sha256", json_object_new_string(h));
            json_object_array_add(list, c);
        }
        json_object_object_add(o, "components", list);
        json_object_object_add(o, "machine_id",
                               json_object_new_string(source_name(fp.machine_id_source)));
        json_object_object_add(o, "dmi_uuid",
                               json_object_new_string(source_name(fp.dmi_uuid_source)));
        json_object_object_add(o, "nics_found", json_object_new_int64((int64_t)fp.nics_found));
        if (key_id != NULL) {
            json_object_object_add(o, "key_id", json_object_new_string(key_id));
            json_object_object_add(o, "binding", json_object_new_string(line));
        }
        fprintf(out, "%s\n",
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                      JSON_C_TO_STRING_SPACED |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        fprintf(out, "%-16s  %s\n", "COMPONENT", "SHA-256 OF THE VALUE");
        for (size_t i = 0; i < fp.count; i++) {
            hex(fp.components[i].raw_digest, 32, h);
            fprintf(out, "%-16s  %s\n", fp.components[i].label, h);
        }
        if (fp.machine_id_source != FINGERPRINT_SOURCE_OK)
            fprintf(out, "machine-id: %s\n", source_name(fp.machine_id_source));
        if (fp.dmi_uuid_source != FINGERPRINT_SOURCE_OK)
            fprintf(out, "dmi-uuid: %s\n", source_name(fp.dmi_uuid_source));
        if (fp.nics_found == 0)
            fprintf(out, "no physical network interface found\n");
        if (key_id != NULL)
            fprintf(out, "\nbinding for key %s:\n%s\n", key_id, line);
    }
    r = ferror(out) ? -EIO : 0;
    if (r < 0)
        snprintf(err, errlen, "write error");
out:
    fingerprint_clear(&fp);
    return r;
}
