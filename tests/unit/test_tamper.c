/* Tamper proof for signed licenses: every single-bit flip, every truncation and a sample of
 * one-byte insertions of a license with every field set is either rejected or accepted with
 * exactly the original meaning. */
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

#include "crypto.h"
#include "license.h"
#include "license_sign.h"
#include "unit_fixture.h"

#define DAY 86400
/* 2026-11-29T00:00:00Z */
#define T0 1795910400LL

static uint8_t issuer_priv[32];
static struct issuer_key issuer;
static char *original_doc;
static size_t original_len;
static struct license original;

struct tally {
    size_t variants, accepted;
};

static void digest_of(const char *what, uint8_t digest[32])
{
    assert_int_equal(crypto_sha256(what, strlen(what), digest), 0);
}

/* A license with no field left at its default: failover with a primary key, perpetual, lease,
 * sunset, installation id and a binding rule with a component of every type. */
static void full_license(struct license *lic)
{
    static const struct {
        enum component_type type;
        const char *source;
    } components[] = {
        {COMPONENT_MACHINE_ID, "machine-id"},
        {COMPONENT_DMI_UUID, "dmi-uuid"},
        {COMPONENT_NIC, "nic eth0"},
        {COMPONENT_NIC, "nic eth1"},
    };

    memset(lic, 0, sizeof(*lic));
    strcpy(lic->key_id, "LG-TAMP-7KQ2-MX4P");
    strcpy(lic->customer, "Tamper Proof GmbH & Co. KG");
    lic->seats = 250;
    lic->kind = LICENSE_KIND_FAILOVER;
    strcpy(lic->primary_key, "LG-PRIM-9TZD-0001");
    lic->issued = T0;
    lic->support_until = T0 + 3 * 365 * DAY;
    lic->perpetual = true;
    lic->lease_not_after = T0 + 30 * DAY;
    lic->sunset = T0 + 400 * DAY + 3661;
    strcpy(lic->installation_id, "0123456789abcdef0123456789abcdef");
    lic->binding_rule = BINDING_ALL_BUT;
    lic->binding_tolerance = 1;
    lic->ncomponents = sizeof(components) / sizeof(components[0]);
    for (size_t i = 0; i < lic->ncomponents; i++) {
        lic->components[i].type = components[i].type;
        digest_of(components[i].source, lic->components[i].digest);
    }
}

static bool same_meaning(const struct license *a, const struct license *b)
{
    if (strcmp(a->key_id, b->key_id) != 0 || strcmp(a->customer, b->customer) != 0 ||
        a->seats != b->seats || a->kind != b->kind || strcmp(a->primary_key, b->primary_key) != 0 ||
        a->issued != b->issued || a->support_until != b->support_until ||
        a->perpetual != b->perpetual || a->lease_not_after != b->lease_not_after ||
        a->sunset != b->sunset || strcmp(a->installation_id, b->installation_id) != 0 ||
        a->binding_rule != b->binding_rule || a->binding_tolerance != b->binding_tolerance ||
        a->ncomponents != b->ncomponents ||
        memcmp(a->issuer_id, b->issuer_id, sizeof(a->issuer_id)) != 0)
        return false;
    for (size_t i = 0; i < a->ncomponents; i++) {
        if (a->components[i].type != b->components[i].type ||
            memcmp(a->components[i].digest, b->components[i].digest,
                   sizeof(a->components[i].digest)) != 0)
            return false;
    }
    return true;
}

/* Parses one variant (a copy of exactly len bytes, so an overread is caught by the sanitizers)
 * and asserts that it is rejected cleanly or means exactly the original. */
static void check_variant(const char *text, size_t len, struct tally *tally, const char *what,
                          size_t where)
{
    struct license out;
    char err[256], *copy;
    int r;

    copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    memset(&out, 0xAA, sizeof(out));
    r = license_parse_verify(copy, len, &issuer, 1, &out, err, sizeof(err));
    free(copy);
    tally->variants++;
    if (r == 0) {
        tally->accepted++;
        if (!same_meaning(&out, &original))
            fail_msg("%s at %zu accepted with a different meaning", what, where);
        return;
    }
    if (r != -EBADMSG)
        fail_msg("%s at %zu: %d, expected -EBADMSG", what, where, r);
    if (!unit_all_zero(&out, sizeof(out)))
        fail_msg("%s at %zu rejected but the output is not zeroed", what, where);
    if (err[0] == '\0')
        fail_msg("%s at %zu rejected without a reason", what, where);
}

static int license_setup(void **state)
{
    struct license lic;
    char err[256];

    (void)state;
    if (crypto_ed25519_keygen(issuer_priv, issuer.pub) != 0)
        return -1;
    full_license(&lic);
    if (license_sign(&lic, issuer_priv, &original_doc, &original_len) != 0)
        return -1;
    if (license_parse_verify(original_doc, original_len, &issuer, 1, &original, err, sizeof(err)) !=
        0)
        return -1;
    return 0;
}

static int license_teardown(void **state)
{
    (void)state;
    crypto_wipe(issuer_priv, sizeof(issuer_priv));
    free(original_doc);
    original_doc = NULL;
    return 0;
}

static void license_sign__every_field_set__parses_to_the_same_license(void **state)
{
    struct license lic;

    (void)state;
    full_license(&lic);
    assert_int_equal(license_issuer_id(&issuer, lic.issuer_id), 0);
    assert_true(same_meaning(&lic, &original));
    assert_int_equal(original.binding_rule, BINDING_ALL_BUT);
    assert_int_equal(original.ncomponents, 4);
    assert_true(original.sunset != 0 && original.lease_not_after != 0 && original.perpetual);
}

static void license_parse_verify__every_bit_flipped__rejected_or_same_meaning(void **state)
{
    struct tally tally = {0, 0};
    char *variant = malloc(original_len);

    (void)state;
    assert_non_null(variant);
    for (size_t i = 0; i < original_len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(variant, original_doc, original_len);
            variant[i] = (char)(variant[i] ^ (1u << bit));
            check_variant(variant, original_len, &tally, "bit flip", i * 8 + bit);
        }
    }
    free(variant);
    print_message("bit flips: %zu variants of a %zu-byte license, %zu accepted (same meaning)\n",
                  tally.variants, original_len, tally.accepted);
    assert_int_equal(tally.variants, original_len * 8);
}

static void license_parse_verify__every_truncation__rejected_or_same_meaning(void **state)
{
    struct tally tally = {0, 0};

    (void)state;
    for (size_t len = 0; len < original_len; len++)
        check_variant(original_doc, len, &tally, "truncation", len);
    print_message("truncations: %zu variants, %zu accepted (same meaning)\n", tally.variants,
                  tally.accepted);
    /* Only the final newline may go: the END line need not end in one. */
    assert_true(tally.accepted <= 1);
}

static void license_parse_verify__byte_inserted__rejected_or_same_meaning(void **state)
{
    static const char inserts[] = {'\n', ' ', '0', 'a', 'A', '=', '-', ':', '\0', '\t', '\x80'};
    struct tally tally = {0, 0};
    char *variant = malloc(original_len + 1);

    (void)state;
    assert_non_null(variant);
    /* Every position up to and including the end, with a stride that still lands in every
     * line, and every position of the last 40 bytes (signature and END line). */
    for (size_t pos = 0; pos <= original_len; pos++) {
        if (pos % 3 != 0 && pos + 40 < original_len)
            continue;
        for (size_t k = 0; k < sizeof(inserts); k++) {
            memcpy(variant, original_doc, pos);
            variant[pos] = inserts[k];
            memcpy(variant + pos + 1, original_doc + pos, original_len - pos);
            check_variant(variant, original_len + 1, &tally, "insertion", pos);
        }
    }
    free(variant);
    print_message("insertions: %zu variants, %zu accepted (same meaning)\n", tally.variants,
                  tally.accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(license_sign__every_field_set__parses_to_the_same_license),
        cmocka_unit_test(license_parse_verify__every_bit_flipped__rejected_or_same_meaning),
        cmocka_unit_test(license_parse_verify__every_truncation__rejected_or_same_meaning),
        cmocka_unit_test(license_parse_verify__byte_inserted__rejected_or_same_meaning),
    };

    return cmocka_run_group_tests(tests, license_setup, license_teardown);
}
