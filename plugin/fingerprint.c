#include "fingerprint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net/if.h>
#include <net/if_arp.h>

#include "crypto.h"
#include "fs.h"
#include "netlink.h"

#define MACHINE_ID_PATH "/etc/machine-id"
#define DMI_UUID_PATH   "/sys/class/dmi/id/product_uuid"
/* sysfs reports every attribute as 4096 bytes long, whatever it holds. */
#define SOURCE_READ_MAX 4096
#define MACHINE_ID_LEN  32
#define UUID_LEN        36
#define MAC_LEN         6
#define SALT_DOMAIN     "licgate-fingerprint-v1"
/* Links asked of the first dump; more when the dump says so. */
#define LINKS_FIRST_TRY 64
#define LINKS_ATTEMPTS  3

#ifdef LICGATE_TEST_SEAMS
static const char *machine_id_path = MACHINE_ID_PATH;
static const char *dmi_uuid_path = DMI_UUID_PATH;

void fingerprint_set_paths_for_tests(const char *machine_id, const char *dmi_uuid)
{
    machine_id_path = machine_id != NULL ? machine_id : MACHINE_ID_PATH;
    dmi_uuid_path = dmi_uuid != NULL ? dmi_uuid : DMI_UUID_PATH;
}
#else
static const char *const machine_id_path = MACHINE_ID_PATH;
static const char *const dmi_uuid_path = DMI_UUID_PATH;
#endif

void fingerprint_clear(struct fingerprint *fp)
{
    if (fp != NULL)
        crypto_wipe(fp, sizeof(*fp));
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int add_component(struct fingerprint *fp, enum component_type type, const char *label,
                         const char *value)
{
    struct fingerprint_component *c;
    int ret;

    if (fp->count == LICENSE_MAX_COMPONENTS)
        return -ENOSPC;
    c = &fp->components[fp->count];
    ret = crypto_sha256(value, strlen(value), c->raw_digest);
    if (ret != 0)
        return ret;
    c->type = type;
    snprintf(c->label, sizeof(c->label), "%s", label);
    snprintf(fp->values[fp->count], sizeof(fp->values[0]), "%s", value);
    fp->count++;
    return 0;
}

/* Reads path; what a failure means for the component goes to *src, and only
 * hard errors are returned. *buf is NULL unless *src is OK. */
static int read_source(const char *path, char **buf, size_t *len, enum fingerprint_source *src)
{
    int ret = fs_read_bounded(path, SOURCE_READ_MAX, buf, len);

    switch (ret) {
    case 0:
        *src = FINGERPRINT_SOURCE_OK;
        return 0;
    case -ENOENT:
    case -ENOTDIR:
        *src = FINGERPRINT_SOURCE_ABSENT;
        return 0;
    case -EACCES:
    case -EPERM:
        *src = FINGERPRINT_SOURCE_UNREADABLE;
        return 0;
    case -ELOOP:  /* a symlink: fs_read_bounded() does not follow one */
    case -EINVAL: /* not a regular file */
    case -EFBIG:
        *src = FINGERPRINT_SOURCE_MALFORMED;
        return 0;
    default:
        return ret;
    }
}

/* /etc/machine-id is exactly 32 lowercase hex digits and a newline; systemd
 * leaves it empty or "uninitialized\n" until the id is set. */
static int read_machine_id(struct fingerprint *fp)
{
    char *buf = NULL, value[MACHINE_ID_LEN + 1];
    size_t len;
    bool zero = true;
    int ret;

    ret = read_source(machine_id_path, &buf, &len, &fp->machine_id_source);
    if (ret != 0 || fp->machine_id_source != FINGERPRINT_SOURCE_OK)
        goto out;
    if (len == 0 || (len == 14 && memcmp(buf, "uninitialized\n", 14) == 0)) {
        fp->machine_id_source = FINGERPRINT_SOURCE_ABSENT;
        goto out;
    }
    fp->machine_id_source = FINGERPRINT_SOURCE_MALFORMED;
    if (len != MACHINE_ID_LEN + 1 || buf[MACHINE_ID_LEN] != '\n')
        goto out;
    for (size_t i = 0; i < MACHINE_ID_LEN; i++) {
        if (!is_lower_hex(buf[i]))
            goto out;
        zero = zero && buf[i] == '0';
    }
    if (zero)
        goto out;
    memcpy(value, buf, MACHINE_ID_LEN);
    value[MACHINE_ID_LEN] = '\0';
    ret = add_component(fp, COMPONENT_MACHINE_ID, "machine-id", value);
    crypto_wipe(value, sizeof(value));
    if (ret == 0)
        fp->machine_id_source = FINGERPRINT_SOURCE_OK;
out:
    if (buf != NULL)
        crypto_wipe(buf, len);
    free(buf);
    return ret;
}

/* product_uuid is 8-4-4-4-12 hex digits and a newline, in either case.
 * All zeros or all ones means the firmware never set one. */
static int read_dmi_uuid(struct fingerprint *fp)
{
    char *buf = NULL, value[UUID_LEN + 1];
    size_t len, n;
    bool zeros = true, ones = true;
    int ret;

    ret = read_source(dmi_uuid_path, &buf, &len, &fp->dmi_uuid_source);
    if (ret != 0 || fp->dmi_uuid_source != FINGERPRINT_SOURCE_OK)
        goto out;
    fp->dmi_uuid_source = FINGERPRINT_SOURCE_MALFORMED;
    n = len > 0 && buf[len - 1] == '\n' ? len - 1 : len;
    if (n != UUID_LEN)
        goto out;
    for (size_t i = 0; i < UUID_LEN; i++) {
        char c = buf[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                goto out;
            value[i] = c;
            continue;
        }
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!is_lower_hex(c))
            goto out;
        value[i] = c;
        zeros = zeros && c == '0';
        ones = ones && c == 'f';
    }
    value[UUID_LEN] = '\0';
    if (zeros || ones) {
        fp->dmi_uuid_source = FINGERPRINT_SOURCE_ABSENT;
        goto out;
    }
    ret = add_component(fp, COMPONENT_DMI_UUID, "dmi-uuid", value);
    if (ret == 0)
        fp->dmi_uuid_source = FINGERPRINT_SOURCE_OK;
out:
    crypto_wipe(value, sizeof(value));
    if (buf != NULL)
        crypto_wipe(buf, len);
    free(buf);
    return ret;
}

struct nic_candidate {
    char value[sizeof("00:00:00:00:00:00")];
    char name[NETLINK_NAME_MAX];
};

static int nic_candidate_cmp(const void *a, const void *b)
{
    const struct nic_candidate *x = a, *y = b;
    int c = strcmp(x->value, y->value);

    return c != 0 ? c : strcmp(x->name, y->name);
}

/* The address that identifies link as a physical NIC, or NULL when it is
 * not one. */
static const uint8_t *nic_address(const struct netlink_link *link, bool virtual_too)
{
    static const uint8_t zero[MAC_LEN];
    const uint8_t *mac;

    if ((link->kind[0] != '\0' && !virtual_too) || (link->flags & IFF_LOOPBACK) ||
        link->type != ARPHRD_ETHER)
        return NULL;
    if (link->perm_addr_len == MAC_LEN)
        mac = link->perm_addr;
    else if (link->addr_len == MAC_LEN)
        mac = link->addr;
    else
        return NULL;
    /* Multicast (and broadcast) addresses are no NIC's own. */
    if (memcmp(mac, zero, MAC_LEN) == 0 || (mac[0] & 0x01))
        return NULL;
    return mac;
}

static int read_links(struct netlink_link **links, size_t *count)
{
    struct netlink_link *buf = NULL, *grown;
    size_t cap = LINKS_FIRST_TRY, n = 0;
    int ret = -E2BIG;

    for (int attempt = 0; attempt < LINKS_ATTEMPTS && ret == -E2BIG; attempt++) {
        grown = realloc(buf, cap * sizeof(*buf));
        if (grown == NULL) {
            ret = -ENOMEM;
            break;
        }
        buf = grown;
        ret = netlink_links(buf, cap, &n);
        /* Links may appear between two dumps; leave some room. */
        if (ret == -E2BIG)
            cap = n + 16;
    }
    if (ret != 0) {
        free(buf);
        buf = NULL;
        n = 0;
    }
    *links = buf;
    *count = n;
    return ret;
}

static int read_nics(struct fingerprint *fp, bool virtual_too)
{
    struct netlink_link *links = NULL;
    struct nic_candidate *nics = NULL;
    size_t nlinks, nnics = 0;
    int ret;

    ret = read_links(&links, &nlinks);
    if (ret != 0)
        goto out;
    nics = calloc(nlinks > 0 ? nlinks : 1, sizeof(*nics));
    if (nics == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nlinks; i++) {
        const uint8_t *mac = nic_address(&links[i], virtual_too);

        if (mac == NULL)
            continue;
        snprintf(nics[nnics].value, sizeof(nics[nnics].value), "%02x:%02x:%02x:%02x:%02x:%02x",
                 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
        snprintf(nics[nnics].name, sizeof(nics[nnics].name), "%s", links[i].name);
        nnics++;
    }
    qsort(nics, nnics, sizeof(*nics), nic_candidate_cmp);
    for (size_t i = 0; i < nnics; i++) {
        char label[FINGERPRINT_LABEL_MAX];

        if (i > 0 && strcmp(nics[i].value, nics[i - 1].value) == 0)
            continue;
        fp->nics_found++;
        if (fp->count == LICENSE_MAX_COMPONENTS)
            continue;
        snprintf(label, sizeof(label), "nic %s", nics[i].name);
        ret = add_component(fp, COMPONENT_NIC, label, nics[i].value);
        if (ret != 0)
            goto out;
    }
out:
    if (nics != NULL)
        crypto_wipe(nics, nlinks * sizeof(*nics));
    free(nics);
    if (links != NULL)
        crypto_wipe(links, nlinks * sizeof(*links));
    free(links);
    return ret;
}

static int fingerprint_read_links(struct fingerprint *fp, bool virtual_too)
{
    int ret;

    fingerprint_clear(fp);
    ret = read_machine_id(fp);
    if (ret == 0)
        ret = read_dmi_uuid(fp);
    if (ret == 0)
        ret = read_nics(fp, virtual_too);
    if (ret != 0)
        fingerprint_clear(fp);
    return ret;
}

int fingerprint_read(struct fingerprint *fp)
{
    return fingerprint_read_links(fp, false);
}

int fingerprint_read_virtual(struct fingerprint *fp)
{
    return fingerprint_read_links(fp, true);
}

static int salted_digest(const char *key_id, size_t key_len, enum component_type type,
                         const char *value, uint8_t out[32])
{
    /* domain NUL key_id NUL type NUL value */
    char buf[sizeof(SALT_DOMAIN) + LICENSE_KEY_ID_MAX + 1 + 16 + FINGERPRINT_VALUE_MAX];
    const char *name = license_component_name(type);
    size_t name_len = strlen(name), value_len = strnlen(value, FINGERPRINT_VALUE_MAX);
    size_t used = 0;
    int ret;

    if (value_len == FINGERPRINT_VALUE_MAX || name_len > 16 - 1)
        return -EINVAL;
    memcpy(buf, SALT_DOMAIN, sizeof(SALT_DOMAIN));
    used += sizeof(SALT_DOMAIN);
    memcpy(buf + used, key_id, key_len);
    used += key_len;
    buf[used++] = '\0';
    memcpy(buf + used, name, name_len + 1);
    used += name_len + 1;
    memcpy(buf + used, value, value_len);
    used += value_len;
    ret = crypto_sha256(buf, used, out);
    crypto_wipe(buf, sizeof(buf));
    return ret;
}

int fingerprint_digests_for_key(const struct fingerprint *fp, const char *key_id,
                                struct binding_component *out, size_t max, size_t *count)
{
    size_t key_len;
    int ret = 0;

    *count = 0;
    if (max > 0)
        memset(out, 0, max * sizeof(*out));
    if (fp == NULL || key_id == NULL || fp->count > LICENSE_MAX_COMPONENTS)
        return -EINVAL;
    key_len = strnlen(key_id, LICENSE_KEY_ID_MAX + 1);
    if (key_len == 0 || key_len > LICENSE_KEY_ID_MAX)
        return -EINVAL;
    if (max < fp->count)
        return -ENOSPC;
    for (size_t i = 0; i < fp->count && ret == 0; i++) {
        out[i].type = fp->components[i].type;
        ret = salted_digest(key_id, key_len, fp->components[i].type, fp->values[i], out[i].digest);
    }
    if (ret != 0) {
        memset(out, 0, max * sizeof(*out));
        return ret;
    }
    *count = fp->count;
    return 0;
}

struct why_buf {
    char *buf;
    size_t len, used;
};

__attribute__((format(printf, 2, 3))) static void why_add(struct why_buf *w, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->len == 0 || w->used + 1 >= w->len)
        return;
    if (w->used > 0) {
        n = snprintf(w->buf + w->used, w->len - w->used, "; ");
        w->used += (size_t)n < w->len - w->used ? (size_t)n : w->len - w->used - 1;
    }
    va_start(ap, fmt);
    n = vsnprintf(w->buf + w->used, w->len - w->used, fmt, ap);
    va_end(ap);
    if (n < 0)
        w->buf[w->used] = '\0';
    else
        w->used += (size_t)n < w->len - w->used ? (size_t)n : w->len - w->used - 1;
}

static const char *source_note(enum fingerprint_source src)
{
    switch (src) {
    case FINGERPRINT_SOURCE_UNREADABLE:
        return " (unreadable)";
    case FINGERPRINT_SOURCE_MALFORMED:
        return " (malformed)";
    default:
        return "";
    }
}

/* Compares the license's machine-id or dmi-uuid with this machine's;
 * returns the number of differences (0 or 1). */
static size_t match_identity(const struct license *lic, const struct fingerprint *fp,
                             const struct binding_component *mine, size_t nmine,
                             enum component_type type, struct why_buf *w)
{
    enum fingerprint_source src =
        type == COMPONENT_MACHINE_ID ? fp->machine_id_source : fp->dmi_uuid_source;
    size_t diffs = 0;

    for (size_t i = 0; i < lic->ncomponents; i++) {
        const struct binding_component *want = &lic->components[i];
        bool found = false, equal = false;

        if (want->type != type)
            continue;
        for (size_t j = 0; j < nmine; j++) {
            if (mine[j].type != type)
                continue;
            found = true;
            equal = equal || memcmp(mine[j].digest, want->digest, 32) == 0;
        }
        if (!found)
            why_add(w, "%s missing%s", license_component_name(type), source_note(src));
        else if (!equal)
            why_add(w, "%s differs", license_component_name(type));
        diffs += !equal;
    }
    return diffs;
}

/* Returns the number of license nics not found here, and through *extra the
 * number of this machine's nics the license lacks. */
static size_t match_nics(const struct license *lic, const struct fingerprint *fp,
                         const struct binding_component *mine, size_t nmine, bool report_extra,
                         size_t *extra, struct why_buf *w)
{
    bool used[LICENSE_MAX_COMPONENTS] = {false};
    size_t want = 0, have = 0, found = 0;

    for (size_t j = 0; j < nmine; j++)
        have += mine[j].type == COMPONENT_NIC;
    for (size_t i = 0; i < lic->ncomponents; i++) {
        if (lic->components[i].type != COMPONENT_NIC)
            continue;
        want++;
        for (size_t j = 0; j < nmine; j++) {
            if (!used[j] && mine[j].type == COMPONENT_NIC &&
                memcmp(mine[j].digest, lic->components[i].digest, 32) == 0) {
                used[j] = true;
                found++;
                break;
            }
        }
    }
    *extra = have - found;
    if (want != have && (want > found || report_extra))
        why_add(w, "nic count %zu expected, %zu found", want, have);
    if (want > found)
        why_add(w, "%zu of %zu licensed nics not found", want - found, want);
    if (report_extra) {
        for (size_t j = 0; j < nmine; j++) {
            if (mine[j].type == COMPONENT_NIC && !used[j])
                why_add(w, "%s not in license", fp->components[j].label);
        }
    }
    return want - found;
}

int fingerprint_match(const struct license *lic, const struct fingerprint *fp, char *why,
                      size_t whylen)
{
    struct binding_component mine[LICENSE_MAX_COMPONENTS];
    struct why_buf w = {why, whylen, 0};
    size_t nmine = 0, diffs = 0, extra = 0;
    bool skip_dmi;
    int ret;

    if (why != NULL && whylen > 0)
        why[0] = '\0';
    else
        w.len = 0;
    if (lic == NULL || fp == NULL)
        return -EINVAL;
    if (lic->binding_rule == BINDING_NONE)
        return 1;
    if (lic->binding_rule != BINDING_ALL && lic->binding_rule != BINDING_ALL_BUT &&
        lic->binding_rule != BINDING_MACHINE_ID_ONLY) {
        why_add(&w, "unknown binding rule");
        return 0;
    }
    if (lic->ncomponents == 0 || lic->ncomponents > LICENSE_MAX_COMPONENTS) {
        why_add(&w, "license binds no components");
        return 0;
    }
    ret = fingerprint_digests_for_key(fp, lic->key_id, mine, LICENSE_MAX_COMPONENTS, &nmine);
    if (ret != 0)
        return ret;

    diffs += match_identity(lic, fp, mine, nmine, COMPONENT_MACHINE_ID, &w);
    skip_dmi =
        fp->dmi_unreadable_is_unknown && fp->dmi_uuid_source == FINGERPRINT_SOURCE_UNREADABLE;
    switch (lic->binding_rule) {
    case BINDING_MACHINE_ID_ONLY:
        ret = diffs == 0;
        break;
    case BINDING_ALL:
        if (!skip_dmi)
            diffs += match_identity(lic, fp, mine, nmine, COMPONENT_DMI_UUID, &w);
        diffs += match_nics(lic, fp, mine, nmine, true, &extra, &w);
        ret = diffs == 0 && extra == 0;
        break;
    default: /* BINDING_ALL_BUT */
        if (!skip_dmi)
            diffs += match_identity(lic, fp, mine, nmine, COMPONENT_DMI_UUID, &w);
        diffs += match_nics(lic, fp, mine, nmine, false, &extra, &w);
        ret = diffs <= lic->binding_tolerance;
        if (!ret)
            why_add(&w, "%zu difference%s, all-but-%u tolerates %u", diffs, diffs == 1 ? "" : "s",
                    lic->binding_tolerance, lic->binding_tolerance);
        break;
    }
    crypto_wipe(mine, sizeof(mine));
    return ret;
}
