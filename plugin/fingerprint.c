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
