#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "license_set.h"
#include "license_sign.h"
#include "crypto.h"
#include "unit_fixture.h"

#define DAY 86400
/* 2026-11-29T00:00:00Z */
#define T0 1795910400LL

struct fixture_dir {
    char path[64];
};

static int dir_setup(void **state)
{
    struct fixture_dir *dir = calloc(1, sizeof(*dir));

    if (dir == NULL)
        return -1;
    if (unit_tmpdir_make(dir->path, sizeof(dir->path), "test_license_set") != 0) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int dir_teardown(void **state)
{
    struct fixture_dir *dir = *state;

    if (unit_tmpdir_remove(dir->path) != 0)
        return -1;
    free(dir);
    return 0;
}

static void make_license(struct license *lic, const char *key_id, uint32_t seats)
{
    memset(lic, 0, sizeof(*lic));
    snprintf(lic->key_id, sizeof(lic->key_id), "%s", key_id);
    strcpy(lic->customer, "Example Corp");
    lic->seats = seats;
    lic->issued = T0;
    lic->support_until = T0 + 365 * DAY;
    lic->lease_not_after = T0 + 30 * DAY;
}

static void write_license(const struct fixture_dir *dir, const char *name,
                          const struct license *lic, const uint8_t priv[32])
{
    char *doc;
    size_t len;

    assert_int_equal(license_sign(lic, priv, &doc, &len), 0);
    unit_write_file(dir->path, name, doc, len);
    free(doc);
}

static const struct license_entry *find_entry(const struct license_set *set, const char *file)
{
    size_t i;

    for (i = 0; i < set->count; i++) {
        if (strcmp(set->entries[i].file, file) == 0)
            break;
    }
    assert_true(i < set->count);
    return &set->entries[i];
}

static void license_set_load__mixed_directory__good_ones_count(void **state)
{
    const struct fixture_dir *dir = *state;
    struct license lic;
    struct license_set set;
    const struct license_entry *entry;
    char *big, *doc, path[256];
    size_t len;

    make_license(&lic, "LG-AAAA-0003", 3);
    write_license(dir, "a.lic", &lic, trusted_priv);
    make_license(&lic, "LG-BBBB-0002", 2);
    write_license(dir, "b.lic", &lic, trusted_priv);
    make_license(&lic, "LG-AAAA-0003", 3);
    write_license(dir, "c-duplicate.lic", &lic, trusted_priv);
    make_license(&lic, "LG-DDDD-0005", 5);
    write_license(dir, "d-foreign.lic", &lic, foreign_priv);
    make_license(&lic, "LG-EEEE-0007", 7);
    lic.support_until = T0 - DAY;
    write_license(dir, "e-expired.lic", &lic, trusted_priv);
    make_license(&lic, "LG-FFFF-0011", 11);
    lic.kind = LICENSE_KIND_FAILOVER;
    strcpy(lic.primary_key, "LG-ZZZZ-0099");
    write_license(dir, "f-failover.lic", &lic, trusted_priv);
    make_license(&lic, "LG-GGGG-0013", 13);
    lic.binding_rule = BINDING_ALL;
    lic.ncomponents = 1;
    lic.components[0].type = COMPONENT_MACHINE_ID;
    write_license(dir, "g-bound.lic", &lic, trusted_priv);

    make_license(&lic, "LG-HHHH-0017", 17);
    assert_int_equal(license_sign(&lic, trusted_priv, &doc, &len), 0);
    *strstr(doc, "seats: 17") = 'S';
    unit_write_file(dir->path, "h-tampered.lic", doc, len);
    big = malloc(LICENSE_MAX_TEXT + 1);
    assert_non_null(big);
    memset(big, 'x', LICENSE_MAX_TEXT + 1);
    memcpy(big, doc, len);
    unit_write_file(dir->path, "i-oversized.lic", big, LICENSE_MAX_TEXT + 1);
    unit_write_file(dir->path, "j-empty.lic", "", 0);
    unit_write_file(dir->path, "notes.txt", doc, len);
    make_license(&lic, "LG-KKKK-0019", 19);
    write_license(dir, ".hidden.lic", &lic, trusted_priv);
    snprintf(path, sizeof(path), "%s/k-link.lic", dir->path);
    assert_int_equal(symlink("a.lic", path), 0);
    snprintf(path, sizeof(path), "%s/l-dir.lic", dir->path);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/m-fifo.lic", dir->path);
    assert_int_equal(mkfifo(path, 0600), 0); /* must not block the load */
    free(big);
    free(doc);

    assert_int_equal(license_set_load(dir->path, &trusted_key, 1, T0, &set), 0);
    assert_int_equal(set.count, 13);
    for (size_t i = 1; i < set.count; i++)
        assert_true(strcmp(set.entries[i - 1].file, set.entries[i].file) < 0);

    /* skipped, each with a reason the log and status can show */
    entry = find_entry(&set, "k-link.lic");
    assert_int_equal(entry->loaded, 0);
    assert_string_equal(entry->reason, "not a regular file (a symbolic link): licenses are read "
                                       "from regular files only");
    entry = find_entry(&set, "l-dir.lic");
    assert_int_equal(entry->loaded, 0);
    assert_non_null(strstr(entry->reason, "not a regular file (a directory"));
    entry = find_entry(&set, "m-fifo.lic");
    assert_int_equal(entry->loaded, 0);
    assert_non_null(strstr(entry->reason, "not a regular file"));

    entry = find_entry(&set, "a.lic");
    assert_int_equal(entry->loaded, 1);
    assert_int_equal(entry->state, LICENSE_ACTIVE);
    assert_string_equal(entry->reason, "");
    assert_string_equal(entry->lic.key_id, "LG-AAAA-0003");
    entry = find_entry(&set, "b.lic");
    assert_int_equal(entry->loaded, 1);
    assert_int_equal(entry->lic.seats, 2);
    entry = find_entry(&set, "c-duplicate.lic");
    assert_int_equal(entry->loaded, 0);
    assert_string_equal(entry->reason, "duplicate of key LG-AAAA-0003 in a.lic");
    entry = find_entry(&set, "d-foreign.lic");
    assert_int_equal(entry->loaded, 0);
    assert_string_equal(entry->reason, "unknown issuer (no trusted key verifies it)");
    entry = find_entry(&set, "e-expired.lic");
    assert_int_equal(entry->loaded, 1);
    assert_int_equal(entry->state, LICENSE_EXPIRED);
    assert_string_equal(entry->reason, "support ended 2026-11-28T00:00:00Z");
    entry = find_entry(&set, "f-failover.lic");
    assert_int_equal(entry->loaded, 1);
    assert_int_equal(entry->state, LICENSE_ACTIVE);
    assert_non_null(strstr(entry->reason, "failover-vip is not set in licgate.conf"));
    assert_string_equal(license_entry_state(entry), "standby");
    entry = find_entry(&set, "g-bound.lic");
    assert_int_equal(entry->loaded, 1);
    /* never checked against a machine: it does not count */
    assert_string_equal(entry->reason,
                        "machine properties validation failed: verify fail: not checked");
    assert_string_equal(license_entry_state(entry), "machine-mismatch");
    entry = find_entry(&set, "h-tampered.lic");
    assert_int_equal(entry->loaded, 0);
    assert_string_equal(entry->reason, "bad signature");
    entry = find_entry(&set, "i-oversized.lic");
    assert_int_equal(entry->loaded, 0);
    assert_string_equal(entry->reason, "file larger than 65536 bytes");
    entry = find_entry(&set, "j-empty.lic");
    assert_int_equal(entry->loaded, 0);
    assert_string_equal(entry->reason, "line 1: expected '-----BEGIN LICGATE LICENSE-----'");

    assert_int_equal(license_set_seats(&set), 5);
    assert_int_equal(license_set_next_change(&set, T0), T0 + 30 * DAY);

    license_set_evaluate(&set, T0 + 30 * DAY);
    assert_int_equal(license_set_seats(&set), 0);
    entry = find_entry(&set, "a.lic");
    assert_int_equal(entry->state, LICENSE_LEASE_OVER);
    assert_string_equal(entry->reason, "lease ended 2026-12-29T00:00:00Z");
    license_set_evaluate(&set, T0);
    assert_int_equal(license_set_seats(&set), 5);
    assert_string_equal(find_entry(&set, "a.lic")->reason, "");

    license_set_free(&set);
    assert_null(set.entries);
    assert_int_equal(set.count, 0);
}

static void license_set_load__missing_dir__enoent_empty_set(void **state)
{
    const struct fixture_dir *dir = *state;
    struct license_set set = {.entries = (void *)1, .count = 9};
    char path[256];

    snprintf(path, sizeof(path), "%s/does-not-exist", dir->path);
    assert_int_equal(license_set_load(path, &trusted_key, 1, T0, &set), -ENOENT);
    assert_null(set.entries);
    assert_int_equal(set.count, 0);
    assert_int_equal(license_set_seats(&set), 0);
    assert_int_equal(license_set_next_change(&set, T0), INT64_MAX);
    license_set_free(&set);
}

static void license_set_load__empty_dir__empty_set(void **state)
{
    const struct fixture_dir *dir = *state;
    struct license_set set;

    unit_write_file(dir->path, "README", "x", 1);
    assert_int_equal(license_set_load(dir->path, &trusted_key, 1, T0, &set), 0);
    assert_int_equal(set.count, 0);
    license_set_free(&set);
}

static void license_set_load__not_a_directory__enotdir(void **state)
{
    const struct fixture_dir *dir = *state;
    struct license_set set;
    char path[256];

    unit_write_file(dir->path, "plain", "x", 1);
    snprintf(path, sizeof(path), "%s/plain", dir->path);
    assert_int_equal(license_set_load(path, &trusted_key, 1, T0, &set), -ENOTDIR);
    assert_null(set.entries);
    assert_int_equal(set.count, 0);
}

static void license_set_load__too_many_files__first_by_name_read_rest_counted(void **state)
{
    const struct fixture_dir *dir = *state;
    struct license_set set;
    char name[32];

    /* written in reverse, so the directory's order is not the answer */
    for (int i = LICENSE_SET_MAX_FILES + 4; i >= 0; i--) {
        snprintf(name, sizeof(name), "%04d.lic", i);
        unit_write_file(dir->path, name, "x", 1);
    }
    assert_int_equal(license_set_load(dir->path, &trusted_key, 1, T0, &set), 0);
    assert_int_equal(set.count, LICENSE_SET_MAX_FILES);
    assert_int_equal(set.skipped, 5);
    assert_string_equal(set.entries[0].file, "0000.lic");
    assert_string_equal(set.entries[LICENSE_SET_MAX_FILES - 1].file, "1023.lic");
    license_set_free(&set);
}

static int check_second_matches(const struct license *lic, void *arg, char *why, size_t len)
{
    if (strcmp(lic->key_id, arg) == 0)
        return 1;
    snprintf(why, len, "nic count 2 expected, 1 found");
    return 0;
}

/* Binding and the failover role decide which active licenses count. */
static void license_set_bind__mismatch_and_standby__do_not_count(void **state)
{
    struct license_entry e[3];
    struct license_set set = {.entries = e, .count = 3};

    (void)state;
    memset(e, 0, sizeof(e));
    for (size_t i = 0; i < 3; i++) {
        e[i].loaded = 1;
        e[i].lic.seats = 10u << i;
        e[i].lic.issued = T0 - DAY;
        e[i].lic.support_until = T0 + 365 * DAY;
        e[i].lic.binding_rule = BINDING_ALL;
        snprintf(e[i].lic.key_id, sizeof(e[i].lic.key_id), "LG-K-%zu", i);
    }
    e[2].lic.kind = LICENSE_KIND_FAILOVER;
    e[2].lic.binding_rule = BINDING_NONE;
    e[2].binding_ok = true;
    char match_key[] = "LG-K-1";

    license_set_bind(&set, check_second_matches, match_key);
    license_set_evaluate(&set, T0);
    assert_string_equal(license_entry_state(&e[0]), "machine-mismatch");
    assert_string_equal(e[0].reason, "machine properties validation failed: verify fail: nic "
                                     "count 2 expected, 1 found");
    assert_string_equal(license_entry_state(&e[1]), "active");
    assert_string_equal(license_entry_state(&e[2]), "standby");
    assert_string_equal(e[2].reason, "failover-vip is not set in licgate.conf: a failover "
                                     "license counts only on the node that holds that address");
    assert_int_equal(license_set_seats(&set), 20);
    set.failover_set = true;
    license_set_evaluate(&set, T0);
    assert_string_equal(e[2].reason, "this node does not hold the failover address");
    set.failover_active = true;
    license_set_evaluate(&set, T0);
    assert_string_equal(license_entry_state(&e[2]), "active");
    assert_int_equal(license_set_seats(&set), 60);
}

/* A failover key never counts on the machine of its primary (Q24): neither
 * beside it in the set nor where another pool counts it. */
static void license_set_evaluate__failover_beside_primary__does_not_count(void **state)
{
    struct license_entry e[2];
    struct license_set set = {
        .entries = e, .count = 2, .failover_set = true, .failover_active = true};

    (void)state;
    memset(e, 0, sizeof(e));
    for (size_t i = 0; i < 2; i++) {
        e[i].loaded = 1;
        e[i].binding_ok = true;
        e[i].lic.seats = 10;
        e[i].lic.issued = T0 - DAY;
        e[i].lic.support_until = T0 + 365 * DAY;
        snprintf(e[i].lic.key_id, sizeof(e[i].lic.key_id), "LG-K-%zu", i);
    }
    e[1].lic.kind = LICENSE_KIND_FAILOVER;
    snprintf(e[1].lic.primary_key, sizeof(e[1].lic.primary_key), "LG-K-0");
    license_set_evaluate(&set, T0);
    assert_string_equal(license_entry_state(&e[1]), "beside-primary");
    assert_non_null(strstr(e[1].reason, "its primary key LG-K-0 is on this machine"));
    assert_int_equal(license_set_seats(&set), 10);
    /* the primary bound to another machine is not here */
    e[0].binding_ok = false;
    license_set_evaluate(&set, T0);
    assert_string_equal(license_entry_state(&e[1]), "active");
    assert_int_equal(license_set_seats(&set), 10);
    /* a pool on this machine counts the primary */
    e[1].primary_claimed = true;
    license_set_evaluate(&set, T0);
    assert_string_equal(license_entry_state(&e[1]), "beside-primary");
    assert_int_equal(license_set_seats(&set), 0);
}

static void license_set_seats__huge_sum__saturates(void **state)
{
    struct license_entry entries[5];
    struct license_set set = {.entries = entries, .count = 5};

    (void)state;
    memset(entries, 0, sizeof(entries));
    for (size_t i = 0; i < 5; i++) {
        entries[i].loaded = 1;
        entries[i].state = LICENSE_ACTIVE;
        entries[i].binding_ok = true;
        entries[i].lic.seats = 1000000000u;
    }
    assert_int_equal(license_set_seats(&set), UINT32_MAX);
    set.count = 4;
    assert_int_equal(license_set_seats(&set), 4000000000u);
}

static void license_set_next_change__several__earliest(void **state)
{
    struct license_entry entries[3];
    struct license_set set = {.entries = entries, .count = 3};

    (void)state;
    memset(entries, 0, sizeof(entries));
    make_license(&entries[0].lic, "LG-0001", 1);
    make_license(&entries[1].lic, "LG-0002", 1);
    make_license(&entries[2].lic, "LG-0003", 1);
    entries[0].loaded = 1;
    entries[1].loaded = 1;
    entries[1].lic.sunset = T0 + 3 * DAY;
    entries[2].lic.sunset = T0 + DAY; /* not loaded: ignored */
    assert_int_equal(license_set_next_change(&set, T0), T0 + 3 * DAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(license_set_load__mixed_directory__good_ones_count,
                                        dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(license_set_load__missing_dir__enoent_empty_set, dir_setup,
                                        dir_teardown),
        cmocka_unit_test_setup_teardown(license_set_load__empty_dir__empty_set, dir_setup,
                                        dir_teardown),
        cmocka_unit_test_setup_teardown(license_set_load__not_a_directory__enotdir, dir_setup,
                                        dir_teardown),
        cmocka_unit_test_setup_teardown(
            license_set_load__too_many_files__first_by_name_read_rest_counted, dir_setup,
            dir_teardown),
        cmocka_unit_test(license_set_seats__huge_sum__saturates),
        cmocka_unit_test(license_set_bind__mismatch_and_standby__do_not_count),
        cmocka_unit_test(license_set_evaluate__failover_beside_primary__does_not_count),
        cmocka_unit_test(license_set_next_change__several__earliest),
    };

    return cmocka_run_group_tests(tests, unit_keys_setup, unit_keys_teardown);
}
