/* This machine's fingerprint and its match against a license's binding.
 * Components are read separately: machine-id (/etc/machine-id), dmi-uuid
 * (/sys/class/dmi/id/product_uuid where readable) and one nic per physical
 * Ethernet interface (its permanent address, else its current one, through
 * shim/netlink.h). Each is normalized and hashed on its own; a license
 * carries per-key salted digests (see fingerprint_digests_for_key()) so
 * digests under different keys cannot be linked. Raw values never leave
 * struct fingerprint and are never logged. The rules and their limits are in
 * docs/machine-binding.md. Int functions return 0 or -errno unless said. */
#ifndef LICGATE_PLUGIN_FINGERPRINT_H
#define LICGATE_PLUGIN_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "license.h"

#define FINGERPRINT_LABEL_MAX 64
/* Longest normalized value with its NUL: a UUID, 36 characters. */
#define FINGERPRINT_VALUE_MAX 40
/* A why buffer size for fingerprint_match(); a longer list of differences
 * is cut off, still NUL-terminated. */
#define FINGERPRINT_WHY_MAX 512

/* Why a machine-id or dmi-uuid component is not in a fingerprint. */
enum fingerprint_source {
    FINGERPRINT_SOURCE_OK,
    FINGERPRINT_SOURCE_ABSENT,     /* no such file (containers, many VMs) or unset */
    FINGERPRINT_SOURCE_UNREADABLE, /* permission denied (dmi-uuid is root-only) */
    FINGERPRINT_SOURCE_MALFORMED   /* present but not valid (or a symlink) */
};

struct fingerprint_component {
    enum component_type type;
    char label[FINGERPRINT_LABEL_MAX]; /* "machine-id", "dmi-uuid", "nic eth0" */
    uint8_t raw_digest[32];            /* SHA-256 of the normalized value, never the value */
};

struct fingerprint {
    /* machine-id first, then dmi-uuid, then nics sorted by address. */
    size_t count;
    struct fingerprint_component components[LICENSE_MAX_COMPONENTS];
    enum fingerprint_source machine_id_source, dmi_uuid_source;
    /* Physical NICs found; more than fit are dropped, highest address first. */
    size_t nics_found;
    /* Set by a caller that runs unprivileged (after OpenVPN dropped root):
     * an unreadable DMI UUID is then unknown, not missing, and a license's
     * dmi-uuid component is not held against the machine. */
    bool dmi_unreadable_is_unknown;
    /* Private: the normalized value of components[i] ("0123...ef",
     * "4c4c4544-...", "52:54:00:12:34:56"). Wiped by fingerprint_clear(). */
    char values[LICENSE_MAX_COMPONENTS][FINGERPRINT_VALUE_MAX];
};

/* Reads this machine's components into fp (cleared first). A missing,
 * unreadable or malformed machine-id or dmi-uuid is not an error: the
 * component is left out and the reason kept in *_source. A NIC is a link
 * with no IFLA_INFO_KIND (every virtual kind has one: veth, bridge, tun/tap,
 * dummy, bond, vlan, macvlan, wireguard, ...), not loopback, of type
 * ARPHRD_ETHER, whose address (permanent if the kernel reports one, else
 * current) is neither all-zero nor multicast. NICs with the same address
 * count once. Beyond LICENSE_MAX_COMPONENTS the NICs with the highest
 * addresses are left out (nics_found still counts them). Errors are hard
 * ones only: -ENOMEM, a failed netlink dump, -EIO reading a file. On error
 * fp is cleared. Note dmi-uuid is mode 0400: read as root, before dropping
 * privileges, and keep the result for reloads. */
int fingerprint_read(struct fingerprint *fp);

/* The same, counting virtual links too (veth, bridge, macvlan...: any
 * Ethernet link but loopback), for licenses whose rule carries "+virtual":
 * containers and test namespaces whose only links are virtual. */
int fingerprint_read_virtual(struct fingerprint *fp);

/* Wipes fp, values included. */
void fingerprint_clear(struct fingerprint *fp);

/* The salted digests of fp's components for key_id, in fp's order:
 * SHA-256("licgate-fingerprint-v1\0" || key_id || "\0" || type name || "\0"
 * || normalized value). key_id must be 1..LICENSE_KEY_ID_MAX bytes
 * (-EINVAL); max < fp->count is -ENOSPC. On failure out[0..max) is zeroed
 * and *count is 0. */
int fingerprint_digests_for_key(const struct fingerprint *fp, const char *key_id,
                                struct binding_component *out, size_t max, size_t *count);

/* Matches fp against lic's binding. Returns 1 on a match, 0 on a mismatch,
 * or -errno when the check could not run (treat as a mismatch). Rules:
 * none: always 1. all: every license component must be found here (its
 * machine-id, its dmi-uuid, each of its nics) and this machine must have no
 * nic the license lacks. all-but-N: at most N license components may be
 * missing or differ; nics the license lacks are ignored (a replaced nic is
 * one difference). machine-id-only: only the license's machine-id counts.
 * Components this machine has but the license does not bind (a dmi-uuid
 * absent from the license) are ignored. An unknown rule or a bound license
 * without components is a mismatch. why (may be NULL if whylen is 0) gets
 * the differences joined by "; ", for
 * "License error: machine properties validation failed: verify fail: <why>":
 * "machine-id differs", "dmi-uuid missing (unreadable)",
 * "nic count 2 expected, 1 found", "1 of 2 licensed nics not found",
 * "nic eth1 not in license", and under all-but-N
 * "3 differences, all-but-2 tolerates 2". On 1, why lists the differences
 * that were tolerated, or is "". */
int fingerprint_match(const struct license *lic, const struct fingerprint *fp, char *why,
                      size_t whylen);

#ifdef LICGATE_TEST_SEAMS
/* Test builds only: read machine-id and dmi-uuid from these paths instead;
 * NULL restores the real one. A release build has no way to change them. */
void fingerprint_set_paths_for_tests(const char *machine_id_path, const char *dmi_uuid_path);
#endif

#endif
