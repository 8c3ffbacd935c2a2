/* Built with -DLICGATE_TEST_SEAMS, -Wl,--wrap=netlink_links and
 * -Wl,--wrap=fs_read_bounded: the links come from fake_links[], the files
 * from a temp dir, and a read can be made to fail with a chosen errno. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* glibc's <net/if.h> before the kernel's headers, or IFF_* clash. */
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "crypto.h"
#include "fingerprint.h"
#include "fs.h"
#include "license.h"
#include "netlink.h"
#include "unit_fixture.h"

#define MACHINE_ID  "0123456789abcdef0123456789abcdef\n"
#define DMI_UUID    "4C4C4544-0042-3510-8052-B4C04F4B4E32\n"
#define KEY_A       "LG-2026-000001"
#define KEY_B       "LG-2026-000002"
#define VERIFY_FAIL "License error: machine properties validation failed: verify fail: "

/* ------------------------------------------------------------ the fakes */

#define FAKE_LINKS_MAX 80
static struct netlink_link fake_links[FAKE_LINKS_MAX];
static size_t fake_nlinks;
static int fake_links_error;
static size_t fake_links_calls;

int __wrap_netlink_links(struct netlink_link *out, size_t max, size_t *count);
int __wrap_netlink_links(struct netlink_link *out, size_t max, size_t *count)
{
    fake_links_calls++;
    *count = 0;
    if (fake_links_error != 0)
        return fake_links_error;
    if (fake_nlinks > max) {
        *count = fake_nlinks;
        return -E2BIG;
    }
    memcpy(out, fake_links, fake_nlinks * sizeof(*out));
    *count = fake_nlinks;
    return 0;
}

static const char *fs_fail_path;
static int fs_fail_error;

int __real_fs_read_bounded(const char *path, size_t max, char **out, size_t *len);
int __wrap_fs_read_bounded(const char *path, size_t max, char **out, size_t *len);
int __wrap_fs_read_bounded(const char *path, size_t max, char **out, size_t *len)
{
    if (fs_fail_path != NULL && strcmp(path, fs_fail_path) == 0) {
        *out = NULL;
        *len = 0;
        return fs_fail_error;
    }
    return __real_fs_read_bounded(path, max, out, len);
}

static void add_link(const char *name, const char *kind, unsigned short type, unsigned flags,
                     const char *addr, const char *perm)
{
    struct netlink_link *l = &fake_links[fake_nlinks];
    unsigned b[6];

    assert_true(fake_nlinks < FAKE_LINKS_MAX);
    memset(l, 0, sizeof(*l));
    l->ifindex = (int)fake_nlinks + 1;
    snprintf(l->name, sizeof(l->name), "%s", name);
    snprintf(l->kind, sizeof(l->kind), "%s", kind);
    l->type = type;
    l->flags = flags;
    if (addr != NULL) {
        assert_int_equal(
            sscanf(addr, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]), 6);
        for (int i = 0; i < 6; i++)
            l->addr[i] = (uint8_t)b[i];
        l->addr_len = 6;
    }
    if (perm != NULL) {
        assert_int_equal(
            sscanf(perm, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]), 6);
        for (int i = 0; i < 6; i++)
            l->perm_addr[i] = (uint8_t)b[i];
        l->perm_addr_len = 6;
    }
    fake_nlinks++;
}

static struct netlink_link *find_link(const char *name)
{
    for (size_t i = 0; i < fake_nlinks; i++) {
        if (strcmp(fake_links[i].name, name) == 0)
            return &fake_links[i];
    }
    fail_msg("no fake link %s", name);
    abort(); /* fail_msg() does not return */
}

static void remove_link(const char *name)
{
    struct netlink_link *l = find_link(name);
    size_t i = (size_t)(l - fake_links);

    memmove(&fake_links[i], &fake_links[i + 1], (fake_nlinks - i - 1) * sizeof(*l));
    fake_nlinks--;
}

/* ------------------------------------------------------------ the machine */

struct fixture {
    char dir[64];
    char machine_id[96];
    char dmi_uuid[96];
};

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* lo, two physical NICs, and the virtual links a typical host has. */
static int machine_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    if (unit_tmpdir_make(fx->dir, sizeof(fx->dir), "test_fingerprint") != 0) {
        free(fx);
        return -1;
    }
    snprintf(fx->machine_id, sizeof(fx->machine_id), "%s/machine-id", fx->dir);
    snprintf(fx->dmi_uuid, sizeof(fx->dmi_uuid), "%s/product_uuid", fx->dir);
    write_text(fx->machine_id, MACHINE_ID);
    write_text(fx->dmi_uuid, DMI_UUID);
    fingerprint_set_paths_for_tests(fx->machine_id, fx->dmi_uuid);

    fake_nlinks = 0;
    fake_links_error = 0;
    fake_links_calls = 0;
    fs_fail_path = NULL;
    fs_fail_error = 0;
    add_link("lo", "", ARPHRD_LOOPBACK, IFF_LOOPBACK | IFF_UP, "00:00:00:00:00:00", NULL);
    add_link("eth1", "", ARPHRD_ETHER, IFF_UP, "00:11:22:33:44:66", "00:11:22:33:44:66");
    add_link("eth0", "", ARPHRD_ETHER, IFF_UP, "00:11:22:33:44:55", "00:11:22:33:44:55");
    add_link("docker0", "bridge", ARPHRD_ETHER, IFF_UP, "02:42:ac:11:00:01", NULL);
    add_link("veth1a2b", "veth", ARPHRD_ETHER, IFF_UP, "9e:00:11:22:33:44", NULL);
    add_link("tun0", "tun", ARPHRD_NONE, IFF_UP, NULL, NULL);
    add_link("wg0", "wireguard", ARPHRD_NONE, IFF_UP, NULL, NULL);
    *state = fx;
    return 0;
}

static int machine_teardown(void **state)
{
    struct fixture *fx = *state;

    fingerprint_set_paths_for_tests(NULL, NULL);
    if (unit_tmpdir_remove(fx->dir) != 0)
        return -1;
    free(fx);
    return 0;
}

static void read_ok(struct fingerprint *fp)
{
    assert_int_equal(fingerprint_read(fp), 0);
}

/* The license the vendor would sign for this machine as it is now. */
static void activate(struct license *lic, enum binding_rule rule, unsigned tolerance,
                     const char *key_id)
{
    struct fingerprint fp;

    memset(lic, 0, sizeof(*lic));
    snprintf(lic->key_id, sizeof(lic->key_id), "%s", key_id);
    lic->seats = 10;
    lic->binding_rule = rule;
    lic->binding_tolerance = tolerance;
    read_ok(&fp);
    assert_int_equal(fingerprint_digests_for_key(&fp, key_id, lic->components,
                                                 LICENSE_MAX_COMPONENTS, &lic->ncomponents),
                     0);
    fingerprint_clear(&fp);
}

/* Matches lic against the machine as it is now; returns the result and
 * leaves the reason in why. */
static int match_now(const struct license *lic, char *why, size_t whylen)
{
    struct fingerprint fp;
    int ret;

    read_ok(&fp);
    ret = fingerprint_match(lic, &fp, why, whylen);
    fingerprint_clear(&fp);
    return ret;
}

static void sha256_text(const char *text, uint8_t out[32])
{
    assert_int_equal(crypto_sha256(text, strlen(text), out), 0);
}

/* ------------------------------------------------------------ reading */

static void fingerprint_read__typical_host__components_in_order(void **state)
{
    struct fingerprint fp;
    uint8_t want[32];

    read_ok(&fp);
    assert_int_equal(fp.count, 4);
    assert_int_equal(fp.nics_found, 2);
    assert_int_equal(fp.machine_id_source, FINGERPRINT_SOURCE_OK);
    assert_int_equal(fp.dmi_uuid_source, FINGERPRINT_SOURCE_OK);
    assert_int_equal(fp.components[0].type, COMPONENT_MACHINE_ID);
    assert_string_equal(fp.components[0].label, "machine-id");
    assert_int_equal(fp.components[1].type, COMPONENT_DMI_UUID);
    assert_string_equal(fp.components[1].label, "dmi-uuid");
    /* Sorted by address, not by the kernel's order. */
    assert_string_equal(fp.components[2].label, "nic eth0");
    assert_string_equal(fp.components[3].label, "nic eth1");

    sha256_text("0123456789abcdef0123456789abcdef", want);
    assert_memory_equal(fp.components[0].raw_digest, want, 32);
    sha256_text("4c4c4544-0042-3510-8052-b4c04f4b4e32", want);
    assert_memory_equal(fp.components[1].raw_digest, want, 32);
    sha256_text("00:11:22:33:44:55", want);
    assert_memory_equal(fp.components[2].raw_digest, want, 32);
    fingerprint_clear(&fp);
}

static void fingerprint_read__virtual_and_odd_links__skipped(void **state)
{
    struct fingerprint fp;
    static const char *const kinds[] = {"veth",   "bridge",  "tun",         "dummy", "bond",
                                        "vlan",   "macvlan", "ipvlan",      "vxlan", "geneve",
                                        "gretap", "team",    "anything-new"};

    fake_nlinks = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        add_link(kinds[i], kinds[i], ARPHRD_ETHER, IFF_UP, "00:16:3e:00:00:01", NULL);
    add_link("lo", "", ARPHRD_ETHER, IFF_LOOPBACK, "00:16:3e:00:00:02", NULL);
    add_link("ib0", "", ARPHRD_INFINIBAND, IFF_UP, NULL, NULL);
    add_link("zero0", "", ARPHRD_ETHER, IFF_UP, "00:00:00:00:00:00", NULL);
    add_link("mcast0", "", ARPHRD_ETHER, IFF_UP, "01:00:5e:00:00:01", NULL);
    add_link("bcast0", "", ARPHRD_ETHER, IFF_UP, "ff:ff:ff:ff:ff:ff", NULL);
    add_link("noaddr0", "", ARPHRD_ETHER, IFF_UP, NULL, NULL);
    add_link("gce0", "", ARPHRD_ETHER, IFF_UP, "42:01:0a:80:00:02", NULL);

    read_ok(&fp);
    assert_int_equal(fp.nics_found, 1);
    assert_int_equal(fp.count, 3);
    /* A locally administered address is kept: clouds hand those out. */
    assert_string_equal(fp.components[2].label, "nic gce0");
    fingerprint_clear(&fp);
}

static void fingerprint_read__permanent_address__preferred_over_current(void **state)
{
    struct fingerprint before, after;

    read_ok(&before);
    /* A bond slave or a spoofed address changes only the current one. */
    find_link("eth0")->addr[5] = 0x99;
    read_ok(&after);
    assert_memory_equal(before.components, after.components, sizeof(before.components));

    find_link("eth0")->perm_addr_len = 0;
    fingerprint_clear(&after);
    read_ok(&after);
    assert_memory_not_equal(before.components[2].raw_digest, after.components[2].raw_digest, 32);
    fingerprint_clear(&before);
    fingerprint_clear(&after);
}

static void fingerprint_read__same_address_twice__counted_once(void **state)
{
    struct fingerprint fp;

    add_link("eth9", "", ARPHRD_ETHER, IFF_UP, "00:11:22:33:44:55", "00:11:22:33:44:55");
    read_ok(&fp);
    assert_int_equal(fp.nics_found, 2);
    assert_int_equal(fp.count, 4);
    fingerprint_clear(&fp);
}

static void fingerprint_read__more_nics_than_fit__lowest_kept(void **state)
{
    struct fingerprint fp;
    char name[16], mac[24];

    fake_nlinks = 0;
    for (int i = 20; i > 0; i--) {
        snprintf(name, sizeof(name), "en%d", i);
        snprintf(mac, sizeof(mac), "00:1b:21:00:00:%02x", i);
        add_link(name, "", ARPHRD_ETHER, IFF_UP, mac, mac);
    }
    read_ok(&fp);
    assert_int_equal(fp.nics_found, 20);
    assert_int_equal(fp.count, LICENSE_MAX_COMPONENTS);
    assert_string_equal(fp.components[2].label, "nic en1");
    assert_string_equal(fp.components[LICENSE_MAX_COMPONENTS - 1].label, "nic en14");
    fingerprint_clear(&fp);
}

static void fingerprint_read__many_links__dump_retried_larger(void **state)
{
    struct fingerprint fp;

    /* A container host: more veths than the first dump has room for. */
    while (fake_nlinks < FAKE_LINKS_MAX)
        add_link("veth", "veth", ARPHRD_ETHER, IFF_UP, "9e:00:00:00:00:01", NULL);
    read_ok(&fp);
    assert_int_equal(fake_links_calls, 2);
    assert_int_equal(fp.nics_found, 2);
    fingerprint_clear(&fp);
}

static void fingerprint_read__netlink_fails__error_and_cleared(void **state)
{
    struct fingerprint fp, zero;

    memset(&zero, 0, sizeof(zero));
    memset(&fp, 0xa5, sizeof(fp));
    fake_links_error = -EBADMSG;
    assert_int_equal(fingerprint_read(&fp), -EBADMSG);
    assert_memory_equal(&fp, &zero, sizeof(fp));
}

static void fingerprint_read__machine_id_missing__left_out_absent(void **state)
{
    struct fixture *fx = *state;
    struct fingerprint fp;

    assert_int_equal(unlink(fx->machine_id), 0);
    read_ok(&fp);
    assert_int_equal(fp.machine_id_source, FINGERPRINT_SOURCE_ABSENT);
    assert_int_equal(fp.count, 3);
    assert_int_equal(fp.components[0].type, COMPONENT_DMI_UUID);
    fingerprint_clear(&fp);
}

static void fingerprint_read__machine_id_unset__absent(void **state)
{
    struct fixture *fx = *state;
    static const char *const unset[] = {"", "uninitialized\n"};
    struct fingerprint fp;

    for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++) {
        write_text(fx->machine_id, unset[i]);
        read_ok(&fp);
        assert_int_equal(fp.machine_id_source, FINGERPRINT_SOURCE_ABSENT);
        assert_int_not_equal(fp.components[0].type, COMPONENT_MACHINE_ID);
        fingerprint_clear(&fp);
    }
}

static void fingerprint_read__machine_id_malformed__left_out_malformed(void **state)
{
    struct fixture *fx = *state;
    static const char *const bad[] = {
        "0123456789ABCDEF0123456789ABCDEF\n",  /* uppercase */
        "0123456789abcdef0123456789abcdef",    /* no newline */
        "0123456789abcdef0123456789abcde\n",   /* 31 digits */
        "0123456789abcdef0123456789abcdef0\n", /* 33 digits */
        "0123456789abcdef0123456789abcdef\n\n", "0123456789abcdeg0123456789abcdef\n",
        "00000000000000000000000000000000\n",   " 123456789abcdef0123456789abcdef\n",
    };
    struct fingerprint fp;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(fx->machine_id, bad[i]);
        read_ok(&fp);
        assert_int_equal(fp.machine_id_source, FINGERPRINT_SOURCE_MALFORMED);
        assert_int_equal(fp.count, 3);
        fingerprint_clear(&fp);
    }
}

static void fingerprint_read__machine_id_symlink__malformed(void **state)
{
    struct fixture *fx = *state;
    char target[96];
    struct fingerprint fp;

    snprintf(target, sizeof(target), "%s/real-machine-id", fx->dir);
    write_text(target, MACHINE_ID);
    assert_int_equal(unlink(fx->machine_id), 0);
    assert_int_equal(symlink(target, fx->machine_id), 0);
    read_ok(&fp);
    assert_int_equal(fp.machine_id_source, FINGERPRINT_SOURCE_MALFORMED);
    fingerprint_clear(&fp);
}

static void fingerprint_read__dmi_uuid_case__normalized_lowercase(void **state)
{
    struct fixture *fx = *state;
    struct fingerprint upper, lower;

    read_ok(&upper);
    write_text(fx->dmi_uuid, "4c4c4544-0042-3510-8052-b4c04f4b4e32\n");
    read_ok(&lower);
    assert_memory_equal(upper.components[1].raw_digest, lower.components[1].raw_digest, 32);
    /* Without the newline sysfs adds, too. */
    fingerprint_clear(&lower);
    write_text(fx->dmi_uuid, "4c4c4544-0042-3510-8052-b4c04f4b4e32");
    read_ok(&lower);
    assert_memory_equal(upper.components[1].raw_digest, lower.components[1].raw_digest, 32);
    fingerprint_clear(&upper);
    fingerprint_clear(&lower);
}

static void fingerprint_read__dmi_uuid_missing__not_an_error(void **state)
{
    struct fixture *fx = *state;
    struct fingerprint fp;

    assert_int_equal(unlink(fx->dmi_uuid), 0);
    read_ok(&fp);
    assert_int_equal(fp.dmi_uuid_source, FINGERPRINT_SOURCE_ABSENT);
    assert_int_equal(fp.count, 3);
    assert_int_equal(fp.components[1].type, COMPONENT_NIC);
    fingerprint_clear(&fp);
}

static void fingerprint_read__dmi_uuid_unset_or_malformed__left_out(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *text;
        enum fingerprint_source src;
    } cases[] = {
        {"00000000-0000-0000-0000-000000000000\n", FINGERPRINT_SOURCE_ABSENT},
        {"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF\n", FINGERPRINT_SOURCE_ABSENT},
        {"4c4c4544004235108052b4c04f4b4e32\n", FINGERPRINT_SOURCE_MALFORMED},
        {"4c4c4544-0042-3510-8052-b4c04f4b4e3\n", FINGERPRINT_SOURCE_MALFORMED},
        {"4c4c4544-0042-3510-8052-b4c04f4b4e3g\n", FINGERPRINT_SOURCE_MALFORMED},
        {"4c4c4544+0042-3510-8052-b4c04f4b4e32\n", FINGERPRINT_SOURCE_MALFORMED},
        {"\n", FINGERPRINT_SOURCE_MALFORMED},
    };
    struct fingerprint fp;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_text(fx->dmi_uuid, cases[i].text);
        read_ok(&fp);
        assert_int_equal(fp.dmi_uuid_source, cases[i].src);
        assert_int_equal(fp.count, 3);
        fingerprint_clear(&fp);
    }
}

static void fingerprint_read__dmi_uuid_permission_denied__unreadable(void **state)
{
    struct fixture *fx = *state;
    struct fingerprint fp;

    fs_fail_path = fx->dmi_uuid;
    fs_fail_error = -EACCES;
    read_ok(&fp);
    assert_int_equal(fp.dmi_uuid_source, FINGERPRINT_SOURCE_UNREADABLE);
    assert_int_equal(fp.count, 3);
    fingerprint_clear(&fp);
}

static void fingerprint_read__io_error__hard_error_and_cleared(void **state)
{
    struct fixture *fx = *state;
    struct fingerprint fp, zero;

    memset(&zero, 0, sizeof(zero));
    fs_fail_path = fx->machine_id;
    fs_fail_error = -EIO;
    assert_int_equal(fingerprint_read(&fp), -EIO);
    assert_memory_equal(&fp, &zero, sizeof(fp));
}

static void fingerprint_clear__after_read__values_wiped(void **state)
{
    struct fingerprint fp, zero;

    memset(&zero, 0, sizeof(zero));
    read_ok(&fp);
    assert_string_equal(fp.values[0], "0123456789abcdef0123456789abcdef");
    fingerprint_clear(&fp);
    assert_memory_equal(&fp, &zero, sizeof(fp));
}

/* ------------------------------------------------------------ salting */

static void fingerprint_digests_for_key__two_keys__unlinkable(void **state)
{
    struct fingerprint fp;
    struct binding_component a[LICENSE_MAX_COMPONENTS], b[LICENSE_MAX_COMPONENTS],
        again[LICENSE_MAX_COMPONENTS];
    size_t na, nb, nagain;

    read_ok(&fp);
    assert_int_equal(fingerprint_digests_for_key(&fp, KEY_A, a, LICENSE_MAX_COMPONENTS, &na), 0);
    assert_int_equal(fingerprint_digests_for_key(&fp, KEY_B, b, LICENSE_MAX_COMPONENTS, &nb), 0);
    assert_int_equal(
        fingerprint_digests_for_key(&fp, KEY_A, again, LICENSE_MAX_COMPONENTS, &nagain), 0);
    assert_int_equal(na, 4);
    assert_int_equal(nb, 4);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].type, fp.components[i].type);
        assert_memory_not_equal(a[i].digest, b[i].digest, 32);
        assert_memory_not_equal(a[i].digest, fp.components[i].raw_digest, 32);
        assert_memory_equal(a[i].digest, again[i].digest, 32);
    }
    fingerprint_clear(&fp);
}

static void fingerprint_digests_for_key__construction__as_documented(void **state)
{
    static const char input[] = "licgate-fingerprint-v1\0" KEY_A "\0"
                                "machine-id\0"
                                "0123456789abcdef0123456789abcdef";
    struct fingerprint fp;
    struct binding_component out[LICENSE_MAX_COMPONENTS];
    uint8_t want[32];
    size_t n;

    read_ok(&fp);
    assert_int_equal(fingerprint_digests_for_key(&fp, KEY_A, out, LICENSE_MAX_COMPONENTS, &n), 0);
    assert_int_equal(crypto_sha256(input, sizeof(input) - 1, want), 0);
    assert_memory_equal(out[0].digest, want, 32);
    fingerprint_clear(&fp);
}

static void fingerprint_digests_for_key__bad_arguments__rejected_and_zeroed(void **state)
{
    struct fingerprint fp;
    struct binding_component out[LICENSE_MAX_COMPONENTS], zero[LICENSE_MAX_COMPONENTS];
    char long_key[LICENSE_KEY_ID_MAX + 2];
    size_t n = 99;

    memset(zero, 0, sizeof(zero));
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    read_ok(&fp);
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(fingerprint_digests_for_key(&fp, "", out, LICENSE_MAX_COMPONENTS, &n),
                     -EINVAL);
    assert_int_equal(n, 0);
    assert_memory_equal(out, zero, sizeof(out));
    assert_int_equal(fingerprint_digests_for_key(&fp, long_key, out, LICENSE_MAX_COMPONENTS, &n),
                     -EINVAL);
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(fingerprint_digests_for_key(&fp, KEY_A, out, 3, &n), -ENOSPC);
    assert_memory_equal(out, zero, 3 * sizeof(out[0]));
    fingerprint_clear(&fp);
}

/* ------------------------------------------------------------ matching */

static void fingerprint_match__rule_none__always_matches(void **state)
{
    struct license lic;
    struct fingerprint fp;
    char why[FINGERPRINT_WHY_MAX] = "stale";

    memset(&lic, 0, sizeof(lic));
    snprintf(lic.key_id, sizeof(lic.key_id), KEY_A);
    lic.binding_rule = BINDING_NONE;
    fake_nlinks = 0;
    read_ok(&fp);
    assert_int_equal(fingerprint_match(&lic, &fp, why, sizeof(why)), 1);
    assert_string_equal(why, "");
    fingerprint_clear(&fp);
}

static void fingerprint_match__same_machine__every_rule_matches(void **state)
{
    static const struct {
        enum binding_rule rule;
        unsigned tolerance;
    } rules[] = {{BINDING_ALL, 0}, {BINDING_ALL_BUT, 1}, {BINDING_MACHINE_ID_ONLY, 0}};
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        activate(&lic, rules[i].rule, rules[i].tolerance, KEY_A);
        assert_int_equal(match_now(&lic, why, sizeof(why)), 1);
        assert_string_equal(why, "");
    }
}

static void fingerprint_match__machine_id_changed__differs(void **state)
{
    struct fixture *fx = *state;
    struct license lic;
    char why[FINGERPRINT_WHY_MAX], line[FINGERPRINT_WHY_MAX + 80];

    activate(&lic, BINDING_ALL, 0, KEY_A);
    write_text(fx->machine_id, "fedcba9876543210fedcba9876543210\n");
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "machine-id differs");
    snprintf(line, sizeof(line), VERIFY_FAIL "%s", why);
    assert_string_equal(line, "License error: machine properties validation failed: "
                              "verify fail: machine-id differs");
}

static void fingerprint_match__machine_id_missing_or_malformed__missing(void **state)
{
    struct fixture *fx = *state;
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    activate(&lic, BINDING_ALL, 0, KEY_A);
    write_text(fx->machine_id, "0123456789ABCDEF0123456789ABCDEF\n");
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "machine-id missing (malformed)");
    assert_int_equal(unlink(fx->machine_id), 0);
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "machine-id missing");
}

static void fingerprint_match__dmi_uuid_changed_or_missing__reported(void **state)
{
    struct fixture *fx = *state;
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    activate(&lic, BINDING_ALL, 0, KEY_A);
    write_text(fx->dmi_uuid, "4c4c4544-0042-3510-8052-b4c04f4b4e33\n");
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "dmi-uuid differs");

    fs_fail_path = fx->dmi_uuid;
    fs_fail_error = -EACCES;
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "dmi-uuid missing (unreadable)");

    fs_fail_path = NULL;
    assert_int_equal(unlink(fx->dmi_uuid), 0);
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "dmi-uuid missing");
}

static void fingerprint_match__dmi_uuid_appears_unbound__ignored(void **state)
{
    struct fixture *fx = *state;
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    assert_int_equal(unlink(fx->dmi_uuid), 0);
    activate(&lic, BINDING_ALL, 0, KEY_A);
    write_text(fx->dmi_uuid, DMI_UUID);
    assert_int_equal(match_now(&lic, why, sizeof(why)), 1);
    assert_string_equal(why, "");
}

static void fingerprint_match__nic_added__fails_under_all_only(void **state)
{
    struct license all, all_but;
    char why[FINGERPRINT_WHY_MAX];

    activate(&all, BINDING_ALL, 0, KEY_A);
    activate(&all_but, BINDING_ALL_BUT, 1, KEY_A);
    add_link("eth2", "", ARPHRD_ETHER, IFF_UP, "00:11:22:33:44:77", "00:11:22:33:44:77");
    assert_int_equal(match_now(&all, why, sizeof(why)), 0);
    assert_string_equal(why, "nic count 2 expected, 3 found; nic eth2 not in license");
    assert_int_equal(match_now(&all_but, why, sizeof(why)), 1);
    assert_string_equal(why, "");
}

static void fingerprint_match__nic_removed__count_reported(void **state)
{
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    activate(&lic, BINDING_ALL, 0, KEY_A);
    remove_link("eth1");
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "nic count 2 expected, 1 found; 1 of 2 licensed nics not found");
}

static void fingerprint_match__one_nic_replaced__passes_only_under_all_but_1(void **state)
{
    struct license all, all_but;
    char why[FINGERPRINT_WHY_MAX];
    uint8_t mac[6] = {0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc};

    activate(&all, BINDING_ALL, 0, KEY_A);
    activate(&all_but, BINDING_ALL_BUT, 1, KEY_A);
    memcpy(find_link("eth1")->perm_addr, mac, 6);
    memcpy(find_link("eth1")->addr, mac, 6);

    assert_int_equal(match_now(&all, why, sizeof(why)), 0);
    assert_string_equal(why, "1 of 2 licensed nics not found; nic eth1 not in license");
    assert_int_equal(match_now(&all_but, why, sizeof(why)), 1);
    /* On a match, why names what was tolerated. */
    assert_string_equal(why, "1 of 2 licensed nics not found");
}

static void fingerprint_match__two_differences__fail_all_but_1(void **state)
{
    struct fixture *fx = *state;
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    activate(&lic, BINDING_ALL_BUT, 1, KEY_A);
    find_link("eth1")->perm_addr[5] = 0x01;
    write_text(fx->dmi_uuid, "11111111-2222-3333-4444-555555555555\n");
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "dmi-uuid differs; 1 of 2 licensed nics not found; "
                             "2 differences, all-but-1 tolerates 1");
}

static void fingerprint_match__clone_with_other_nics__fails_under_all(void **state)
{
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    activate(&lic, BINDING_ALL, 0, KEY_A);
    /* Same disk image (machine-id), same hypervisor template UUID, new NICs. */
    find_link("eth0")->perm_addr[3] = 0x99;
    find_link("eth1")->perm_addr[3] = 0x99;
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(
        why, "2 of 2 licensed nics not found; nic eth0 not in license; nic eth1 not in license");
}

static void fingerprint_match__machine_id_only__ignores_nics_and_dmi(void **state)
{
    struct fixture *fx = *state;
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    activate(&lic, BINDING_MACHINE_ID_ONLY, 0, KEY_A);
    fake_nlinks = 0;
    add_link("eth0", "", ARPHRD_ETHER, IFF_UP, "0a:58:0a:f4:00:05", NULL);
    write_text(fx->dmi_uuid, "11111111-2222-3333-4444-555555555555\n");
    assert_int_equal(match_now(&lic, why, sizeof(why)), 1);
    assert_string_equal(why, "");

    write_text(fx->machine_id, "fedcba9876543210fedcba9876543210\n");
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "machine-id differs");
}

static void fingerprint_match__license_of_other_key__salt_differs(void **state)
{
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    activate(&lic, BINDING_ALL, 0, KEY_A);
    /* Digests computed for KEY_A do not verify under KEY_B's salt. */
    snprintf(lic.key_id, sizeof(lic.key_id), KEY_B);
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "machine-id differs; dmi-uuid differs; "
                             "2 of 2 licensed nics not found; nic eth0 not in license; "
                             "nic eth1 not in license");
}

static void fingerprint_match__malformed_license__mismatch(void **state)
{
    struct license lic;
    char why[FINGERPRINT_WHY_MAX];

    activate(&lic, BINDING_ALL, 0, KEY_A);
    lic.binding_rule = (enum binding_rule)42;
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "unknown binding rule");

    activate(&lic, BINDING_ALL, 0, KEY_A);
    lic.ncomponents = 0;
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "license binds no components");
}

static void fingerprint_match__small_why__truncated_terminated(void **state)
{
    struct license lic;
    char why[12];
    struct fingerprint fp;

    activate(&lic, BINDING_ALL, 0, KEY_B);
    snprintf(lic.key_id, sizeof(lic.key_id), KEY_A);
    assert_int_equal(match_now(&lic, why, sizeof(why)), 0);
    assert_string_equal(why, "machine-id ");
    read_ok(&fp);
    assert_int_equal(fingerprint_match(&lic, &fp, NULL, 0), 0);
    fingerprint_clear(&fp);
}

/* ------------------------------------------------------------ the netlink parser */

struct msg {
    uint8_t b[1024];
    size_t len;
    uint16_t type;
};

static void msg_start(struct msg *m, uint16_t type, const void *family, size_t family_len)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->len = NLMSG_HDRLEN;
    memcpy(m->b + m->len, family, family_len);
    m->len += NLMSG_ALIGN(family_len);
}

static void msg_start_link(struct msg *m, int ifindex, unsigned short type)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_type = type, .ifi_index = ifindex};

    msg_start(m, RTM_NEWLINK, &ifi, sizeof(ifi));
}

static size_t msg_put(struct msg *m, uint16_t type, const void *data, size_t len)
{
    struct nlattr nla = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};
    size_t at = m->len;

    assert_true(m->len + NLA_ALIGN(NLA_HDRLEN + len) <= sizeof(m->b));
    memcpy(m->b + m->len, &nla, sizeof(nla));
    if (len > 0)
        memcpy(m->b + m->len + NLA_HDRLEN, data, len);
    m->len += NLA_ALIGN(NLA_HDRLEN + len);
    return at;
}

static void msg_put_str(struct msg *m, uint16_t type, const char *s)
{
    msg_put(m, type, s, strlen(s) + 1);
}

static void msg_nest_end(struct msg *m, size_t at)
{
    uint16_t len = (uint16_t)(m->len - at);

    memcpy(m->b + at, &len, sizeof(len));
}

/* Writes the header; returns the message length. */
static size_t msg_end(struct msg *m)
{
    struct nlmsghdr h = {.nlmsg_len = (uint32_t)m->len, .nlmsg_type = m->type};

    memcpy(m->b, &h, sizeof(h));
    return m->len;
}

static const uint8_t mac_a[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

static void msg_typical_link(struct msg *m)
{
    size_t info;

    msg_start_link(m, 2, ARPHRD_ETHER);
    msg_put_str(m, IFLA_IFNAME, "eth0");
    msg_put(m, IFLA_MTU, "\xdc\x05\x00\x00", 4);
    msg_put(m, IFLA_ADDRESS, mac_b, 6);
    msg_put(m, IFLA_PERM_ADDRESS, mac_a, 6);
    info = msg_put(m, IFLA_LINKINFO | NLA_F_NESTED, NULL, 0);
    msg_put_str(m, IFLA_INFO_KIND, "veth");
    msg_nest_end(m, info);
}

static void expect_bad_link(struct msg *m, size_t len)
{
    struct netlink_link out, zero;

    memset(&zero, 0, sizeof(zero));
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(netlink_parse_link_msg(m->b, len, &out), -EBADMSG);
    assert_memory_equal(&out, &zero, sizeof(out));
}

static void netlink_parse_link_msg__typical__all_fields(void **state)
{
    struct msg m;
    struct netlink_link out;
    size_t len;

    msg_typical_link(&m);
    len = msg_end(&m);
    assert_int_equal(netlink_parse_link_msg(m.b, len, &out), 0);
    assert_int_equal(out.ifindex, 2);
    assert_int_equal(out.type, ARPHRD_ETHER);
    assert_string_equal(out.name, "eth0");
    assert_string_equal(out.kind, "veth");
    assert_int_equal(out.addr_len, 6);
    assert_memory_equal(out.addr, mac_b, 6);
    assert_int_equal(out.perm_addr_len, 6);
    assert_memory_equal(out.perm_addr, mac_a, 6);
}

static void netlink_parse_link_msg__no_optional_attributes__empty_fields(void **state)
{
    struct msg m;
    struct netlink_link out;
    size_t len;

    msg_start_link(&m, 7, ARPHRD_NONE);
    msg_put_str(&m, IFLA_IFNAME, "wg0");
    len = msg_end(&m);
    assert_int_equal(netlink_parse_link_msg(m.b, len, &out), 0);
    assert_string_equal(out.kind, "");
    assert_int_equal(out.addr_len, 0);
    assert_int_equal(out.perm_addr_len, 0);
}

static void netlink_parse_link_msg__last_padding_missing__accepted(void **state)
{
    struct msg m;
    struct netlink_link out;
    size_t len;

    msg_start_link(&m, 2, ARPHRD_ETHER);
    msg_put_str(&m, IFLA_IFNAME, "eth0");
    msg_put(&m, IFLA_ADDRESS, mac_a, 6);
    m.len -= 2; /* 6 bytes of address padded to 8 */
    len = msg_end(&m);
    assert_int_equal(netlink_parse_link_msg(m.b, len, &out), 0);
    assert_memory_equal(out.addr, mac_a, 6);
}

static void netlink_parse_link_msg__truncated__rejected(void **state)
{
    struct msg m;
    size_t len;

    msg_typical_link(&m);
    len = msg_end(&m);
    /* Every cut: the header says len, fewer bytes are there. */
    for (size_t cut = 0; cut < len; cut++)
        expect_bad_link(&m, cut);
    /* Or the header agrees with the cut: a cut between attributes (or in
     * the last one's padding) is a shorter valid message, any other cut
     * leaves an attribute running past the end. */
    for (size_t cut = 0; cut < len; cut++) {
        struct msg t = m;
        struct netlink_link out;
        int ret;

        t.len = cut;
        msg_end(&t);
        ret = netlink_parse_link_msg(t.b, cut, &out);
        assert_true(ret == 0 || ret == -EBADMSG);
    }
    /* Cut two bytes into the permanent address: the attribute overruns. */
    {
        struct msg t = m;
        size_t cut = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg)) + 8 + 8 + 12 + 4 + 2;

        t.len = cut;
        msg_end(&t);
        expect_bad_link(&t, cut);
    }
}

static void netlink_parse_link_msg__trailing_bytes__rejected(void **state)
{
    struct msg m;
    size_t len;

    msg_typical_link(&m);
    len = msg_end(&m);
    expect_bad_link(&m, len + 4);
    /* An attribute run that ends in 1..3 stray bytes. */
    m.len += 3;
    len = msg_end(&m);
    expect_bad_link(&m, len);
}

static void netlink_parse_link_msg__bad_header__rejected(void **state)
{
    struct msg m;
    size_t len;

    msg_typical_link(&m);
    m.type = RTM_NEWADDR;
    len = msg_end(&m);
    expect_bad_link(&m, len);

    msg_start_link(&m, 0, ARPHRD_ETHER);
    msg_put_str(&m, IFLA_IFNAME, "eth0");
    len = msg_end(&m);
    expect_bad_link(&m, len);

    msg_start_link(&m, 3, ARPHRD_ETHER);
    m.len = NLMSG_HDRLEN + 8; /* half an ifinfomsg */
    len = msg_end(&m);
    expect_bad_link(&m, len);
}

static void netlink_parse_link_msg__attribute_length_field__checked(void **state)
{
    struct msg m;
    size_t len, at;
    uint16_t bad;

    msg_start_link(&m, 2, ARPHRD_ETHER);
    msg_put_str(&m, IFLA_IFNAME, "eth0");
    at = msg_put(&m, IFLA_ADDRESS, mac_a, 6);
    len = msg_end(&m);
    bad = 3; /* shorter than the attribute header */
    memcpy(m.b + at, &bad, 2);
    expect_bad_link(&m, len);
    bad = 200; /* past the message */
    memcpy(m.b + at, &bad, 2);
    expect_bad_link(&m, len);
}

static void netlink_parse_link_msg__ether_mac_not_6_bytes__rejected(void **state)
{
    static const uint8_t mac7[7] = {0, 1, 2, 3, 4, 5, 6};
    struct msg m;
    size_t len;

    for (int which = 0; which < 2; which++) {
        uint16_t attr = which == 0 ? IFLA_ADDRESS : IFLA_PERM_ADDRESS;

        for (size_t n = 1; n <= sizeof(mac7); n++) {
            if (n == 6)
                continue;
            msg_start_link(&m, 2, ARPHRD_ETHER);
            msg_put_str(&m, IFLA_IFNAME, "eth0");
            msg_put(&m, attr, mac7, n);
            len = msg_end(&m);
            expect_bad_link(&m, len);
        }
        msg_start_link(&m, 2, ARPHRD_ETHER);
        msg_put_str(&m, IFLA_IFNAME, "eth0");
        msg_put(&m, attr, NULL, 0);
        len = msg_end(&m);
        expect_bad_link(&m, len);
    }
}

static void netlink_parse_link_msg__other_types_addresses__bounded(void **state)
{
    uint8_t addr[NETLINK_ADDR_MAX + 1];
    struct msg m;
    struct netlink_link out;
    size_t len;

    memset(addr, 0x42, sizeof(addr));
    msg_start_link(&m, 5, ARPHRD_INFINIBAND);
    msg_put_str(&m, IFLA_IFNAME, "ib0");
    msg_put(&m, IFLA_ADDRESS, addr, 20);
    len = msg_end(&m);
    assert_int_equal(netlink_parse_link_msg(m.b, len, &out), 0);
    assert_int_equal(out.addr_len, 20);

    msg_start_link(&m, 5, ARPHRD_INFINIBAND);
    msg_put_str(&m, IFLA_IFNAME, "ib0");
    msg_put(&m, IFLA_ADDRESS, addr, NETLINK_ADDR_MAX + 1);
    len = msg_end(&m);
    expect_bad_link(&m, len);
}

static void netlink_parse_link_msg__bad_names__rejected(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
    } names[] = {
        {"0123456789abcdef", 17}, /* 16 characters and the NUL: over IFNAMSIZ */
        {"eth0", 4},              /* no NUL */
        {"et\0h0", 6},            /* inner NUL */
        {"", 1},                  /* empty */
        {"", 0},
    };
    struct msg m;
    size_t len;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        msg_start_link(&m, 2, ARPHRD_ETHER);
        msg_put(&m, IFLA_IFNAME, names[i].bytes, names[i].len);
        len = msg_end(&m);
        expect_bad_link(&m, len);
    }
    /* No name at all. */
    msg_start_link(&m, 2, ARPHRD_ETHER);
    msg_put(&m, IFLA_ADDRESS, mac_a, 6);
    len = msg_end(&m);
    expect_bad_link(&m, len);
}

static void netlink_parse_link_msg__longest_name__accepted(void **state)
{
    struct msg m;
    struct netlink_link out;
    size_t len;

    msg_start_link(&m, 2, ARPHRD_ETHER);
    msg_put_str(&m, IFLA_IFNAME, "0123456789abcde");
    len = msg_end(&m);
    assert_int_equal(netlink_parse_link_msg(m.b, len, &out), 0);
    assert_string_equal(out.name, "0123456789abcde");
}

static void netlink_parse_link_msg__bad_kind__rejected(void **state)
{
    char kind[NETLINK_KIND_MAX + 1];
    struct msg m;
    size_t len, info;

    memset(kind, 'k', sizeof(kind) - 1);
    kind[sizeof(kind) - 1] = '\0';
    msg_start_link(&m, 2, ARPHRD_ETHER);
    msg_put_str(&m, IFLA_IFNAME, "k0");
    info = msg_put(&m, IFLA_LINKINFO, NULL, 0);
    msg_put_str(&m, IFLA_INFO_KIND, kind); /* 33 bytes with the NUL */
    msg_nest_end(&m, info);
    len = msg_end(&m);
    expect_bad_link(&m, len);

    msg_start_link(&m, 2, ARPHRD_ETHER);
    msg_put_str(&m, IFLA_IFNAME, "k0");
    info = msg_put(&m, IFLA_LINKINFO, NULL, 0);
    msg_put(&m, IFLA_INFO_KIND, "veth", 4);
    msg_nest_end(&m, info);
    len = msg_end(&m);
    expect_bad_link(&m, len);

    /* A nested attribute running past its nest. */
    msg_start_link(&m, 2, ARPHRD_ETHER);
    msg_put_str(&m, IFLA_IFNAME, "k0");
    info = msg_put(&m, IFLA_LINKINFO, NULL, 0);
    msg_put_str(&m, IFLA_INFO_KIND, "veth");
    msg_nest_end(&m, info);
    m.b[info] = (uint8_t)(m.b[info] - 4);
    len = msg_end(&m);
    expect_bad_link(&m, len);
}

static void netlink_parse_link_msg__repeated_attribute__rejected(void **state)
{
    struct msg m;
    size_t len;

    msg_start_link(&m, 2, ARPHRD_ETHER);
    msg_put_str(&m, IFLA_IFNAME, "eth0");
    msg_put(&m, IFLA_PERM_ADDRESS, mac_a, 6);
    msg_put(&m, IFLA_PERM_ADDRESS, mac_b, 6);
    len = msg_end(&m);
    expect_bad_link(&m, len);
}

static void msg_start_addr(struct msg *m, uint8_t family)
{
    struct ifaddrmsg ifa = {.ifa_family = family, .ifa_prefixlen = 24, .ifa_index = 3};

    msg_start(m, RTM_NEWADDR, &ifa, sizeof(ifa));
}

static void netlink_parse_addr_msg__ipv4_peer__local_address(void **state)
{
    static const uint8_t local[4] = {10, 8, 0, 1}, peer[4] = {10, 8, 0, 2};
    struct msg m;
    struct netlink_addr out;
    size_t len;

    msg_start_addr(&m, AF_INET);
    msg_put(&m, IFA_ADDRESS, peer, 4);
    msg_put(&m, IFA_LOCAL, local, 4);
    msg_put_str(&m, IFA_LABEL, "tun0");
    len = msg_end(&m);
    assert_int_equal(netlink_parse_addr_msg(m.b, len, &out), 0);
    assert_int_equal(out.family, AF_INET);
    assert_int_equal(out.ifindex, 3);
    assert_int_equal(out.addr_len, 4);
    assert_memory_equal(out.addr, local, 4);
}

static void netlink_parse_addr_msg__ipv6__address(void **state)
{
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7};
    struct msg m;
    struct netlink_addr out;
    size_t len;

    msg_start_addr(&m, AF_INET6);
    msg_put(&m, IFA_ADDRESS, a6, 16);
    len = msg_end(&m);
    assert_int_equal(netlink_parse_addr_msg(m.b, len, &out), 0);
    assert_int_equal(out.addr_len, 16);
    assert_memory_equal(out.addr, a6, 16);
}

static void netlink_parse_addr_msg__wrong_lengths__rejected(void **state)
{
    static const uint8_t bytes[16] = {1, 2, 3, 4, 5};
    struct msg m;
    struct netlink_addr out, zero;
    size_t len;

    memset(&zero, 0, sizeof(zero));
    msg_start_addr(&m, AF_INET);
    msg_put(&m, IFA_LOCAL, bytes, 5);
    len = msg_end(&m);
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(netlink_parse_addr_msg(m.b, len, &out), -EBADMSG);
    assert_memory_equal(&out, &zero, sizeof(out));

    msg_start_addr(&m, AF_INET6);
    msg_put(&m, IFA_ADDRESS, bytes, 4);
    len = msg_end(&m);
    assert_int_equal(netlink_parse_addr_msg(m.b, len, &out), -EBADMSG);

    msg_start_addr(&m, AF_INET);
    msg_put(&m, IFA_LOCAL, bytes, 4);
    msg_put(&m, IFA_LOCAL, bytes, 4);
    len = msg_end(&m);
    assert_int_equal(netlink_parse_addr_msg(m.b, len, &out), -EBADMSG);

    msg_start_addr(&m, AF_INET);
    len = msg_end(&m);
    assert_int_equal(netlink_parse_addr_msg(m.b, len - 1, &out), -EBADMSG);
}

static void netlink_parse_addr_msg__other_family__no_address(void **state)
{
    static const uint8_t bytes[5] = {1, 2, 3, 4, 5};
    struct msg m;
    struct netlink_addr out;
    size_t len;

    msg_start_addr(&m, AF_PACKET);
    msg_put(&m, IFA_ADDRESS, bytes, 5);
    len = msg_end(&m);
    assert_int_equal(netlink_parse_addr_msg(m.b, len, &out), 0);
    assert_int_equal(out.addr_len, 0);
}

#define MT(name) cmocka_unit_test_setup_teardown(name, machine_setup, machine_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        MT(fingerprint_read__typical_host__components_in_order),
        MT(fingerprint_read__virtual_and_odd_links__skipped),
        MT(fingerprint_read__permanent_address__preferred_over_current),
        MT(fingerprint_read__same_address_twice__counted_once),
        MT(fingerprint_read__more_nics_than_fit__lowest_kept),
        MT(fingerprint_read__many_links__dump_retried_larger),
        MT(fingerprint_read__netlink_fails__error_and_cleared),
        MT(fingerprint_read__machine_id_missing__left_out_absent),
        MT(fingerprint_read__machine_id_unset__absent),
        MT(fingerprint_read__machine_id_malformed__left_out_malformed),
        MT(fingerprint_read__machine_id_symlink__malformed),
        MT(fingerprint_read__dmi_uuid_case__normalized_lowercase),
        MT(fingerprint_read__dmi_uuid_missing__not_an_error),
        MT(fingerprint_read__dmi_uuid_unset_or_malformed__left_out),
        MT(fingerprint_read__dmi_uuid_permission_denied__unreadable),
        MT(fingerprint_read__io_error__hard_error_and_cleared),
        MT(fingerprint_clear__after_read__values_wiped),
        MT(fingerprint_digests_for_key__two_keys__unlinkable),
        MT(fingerprint_digests_for_key__construction__as_documented),
        MT(fingerprint_digests_for_key__bad_arguments__rejected_and_zeroed),
        MT(fingerprint_match__rule_none__always_matches),
        MT(fingerprint_match__same_machine__every_rule_matches),
        MT(fingerprint_match__machine_id_changed__differs),
        MT(fingerprint_match__machine_id_missing_or_malformed__missing),
        MT(fingerprint_match__dmi_uuid_changed_or_missing__reported),
        MT(fingerprint_match__dmi_uuid_appears_unbound__ignored),
        MT(fingerprint_match__nic_added__fails_under_all_only),
        MT(fingerprint_match__nic_removed__count_reported),
        MT(fingerprint_match__one_nic_replaced__passes_only_under_all_but_1),
        MT(fingerprint_match__two_differences__fail_all_but_1),
        MT(fingerprint_match__clone_with_other_nics__fails_under_all),
        MT(fingerprint_match__machine_id_only__ignores_nics_and_dmi),
        MT(fingerprint_match__license_of_other_key__salt_differs),
        MT(fingerprint_match__malformed_license__mismatch),
        MT(fingerprint_match__small_why__truncated_terminated),
        cmocka_unit_test(netlink_parse_link_msg__typical__all_fields),
        cmocka_unit_test(netlink_parse_link_msg__no_optional_attributes__empty_fields),
        cmocka_unit_test(netlink_parse_link_msg__last_padding_missing__accepted),
        cmocka_unit_test(netlink_parse_link_msg__truncated__rejected),
        cmocka_unit_test(netlink_parse_link_msg__trailing_bytes__rejected),
        cmocka_unit_test(netlink_parse_link_msg__bad_header__rejected),
        cmocka_unit_test(netlink_parse_link_msg__attribute_length_field__checked),
        cmocka_unit_test(netlink_parse_link_msg__ether_mac_not_6_bytes__rejected),
        cmocka_unit_test(netlink_parse_link_msg__other_types_addresses__bounded),
        cmocka_unit_test(netlink_parse_link_msg__bad_names__rejected),
        cmocka_unit_test(netlink_parse_link_msg__longest_name__accepted),
        cmocka_unit_test(netlink_parse_link_msg__bad_kind__rejected),
        cmocka_unit_test(netlink_parse_link_msg__repeated_attribute__rejected),
        cmocka_unit_test(netlink_parse_addr_msg__ipv4_peer__local_address),
        cmocka_unit_test(netlink_parse_addr_msg__ipv6__address),
        cmocka_unit_test(netlink_parse_addr_msg__wrong_lengths__rejected),
        cmocka_unit_test(netlink_parse_addr_msg__other_family__no_address),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
