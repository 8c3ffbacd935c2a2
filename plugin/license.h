/* The license model: parse and verify signed license documents, produce them
 * (authority side), and evaluate their time state. The document format is
 * specified in docs/license-format.md. Int functions return 0 or -errno. */
#ifndef LICGATE_PLUGIN_LICENSE_H
#define LICGATE_PLUGIN_LICENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LICENSE_MAX_TEXT       (64 * 1024)
#define LICENSE_KEY_ID_MAX     64
#define LICENSE_CUSTOMER_MAX   128
#define LICENSE_MAX_COMPONENTS 16
/* How far in the future an issue date may lie before a license is not yet
 * valid, so a vendor clock slightly ahead of the customer's does not matter. */
#define LICENSE_CLOCK_SKEW 300
/* "YYYY-MM-DDTHH:MM:SSZ" plus NUL. */
#define LICENSE_TIME_BUFSIZE 21

struct issuer_key {
    uint8_t pub[32];
};

/* standard: counts its seats where it is bound; failover: counts only on the node holding
 * failover-vip; cluster: its seats are shared by the nodes of a cluster through etcd, and a node
 * counts only the seats its agent holds (docs/cluster.md). */
enum license_kind { LICENSE_KIND_STANDARD, LICENSE_KIND_FAILOVER, LICENSE_KIND_CLUSTER };
enum binding_rule { BINDING_NONE, BINDING_ALL, BINDING_ALL_BUT, BINDING_MACHINE_ID_ONLY };
enum component_type { COMPONENT_MACHINE_ID, COMPONENT_DMI_UUID, COMPONENT_NIC };

struct binding_component {
    enum component_type type;
    uint8_t digest[32];
};

struct license {
    char key_id[LICENSE_KEY_ID_MAX + 1];
    char customer[LICENSE_CUSTOMER_MAX + 1];
    uint32_t seats;
    enum license_kind kind;
    char primary_key[LICENSE_KEY_ID_MAX + 1]; /* "" when none */
    int64_t issued, support_until;
    bool perpetual;
    int64_t lease_not_after;  /* 0 = none */
    int64_t sunset;           /* 0 = none */
    char installation_id[33]; /* "" when none */
    enum binding_rule binding_rule;
    unsigned binding_tolerance; /* N of all-but-N */
    bool binding_virtual;       /* rule "+virtual": virtual links (veth, bridge...) count as NICs */
    size_t ncomponents;
    struct binding_component components[LICENSE_MAX_COMPONENTS];
    uint8_t issuer_id[8];
};

enum license_state {
    LICENSE_ACTIVE,
    LICENSE_EXPIRED,
    LICENSE_LEASE_OVER,
    LICENSE_NOT_YET_VALID,
    LICENSE_SUNSET
};

/* The issuer id of a key: the first 8 bytes of SHA-256 of the raw 32-byte
 * public key. id is zeroed on failure. */
int license_issuer_id(const struct issuer_key *key, uint8_t id[8]);

/* Parses and verifies the license document text (len bytes, need not be
 * NUL-terminated) against the trusted keys. Order: armor, signature line,
 * strict base64, Ed25519 over "licgate-license-v1\0" || payload with each key
 * until one verifies, then the fields, then that the issuer field names the
 * key that verified. A rejected document is -EBADMSG with a one-line reason
 * (no newline) in err, e.g. "bad signature", "unknown issuer (no trusted key
 * verifies it)", "field 'seats': '0' out of range 1..1000000", "trailing data
 * after END line", "line 5: expected field 'seats'". Other failures are
 * -ENOMEM / -EIO with a reason too. out is all zero unless 0 is returned.
 * err may be NULL when errlen is 0. */
int license_parse_verify(const char *text, size_t len, const struct issuer_key *keys, size_t nkeys,
                         struct license *out, char *err, size_t errlen);

/* The time state at effective time now, checked in this order:
 * NOT_YET_VALID if issued > now + LICENSE_CLOCK_SKEW; EXPIRED if !perpetual
 * and now >= support_until; LEASE_OVER if lease_not_after and now >=
 * lease_not_after; SUNSET if sunset and now >= sunset; else ACTIVE. why gets
 * the reason ("support ended 2026-11-28T00:00:00Z", "lease ended ...",
 * "issued in the future (...)", "sunset reached ...") or "" when active. */
enum license_state license_evaluate(const struct license *lic, int64_t now, char *why,
                                    size_t whylen);

/* The earliest time after now at which license_evaluate() can answer
 * differently, or INT64_MAX when it never will. */
int64_t license_next_change(const struct license *lic, int64_t now);

/* "active", "expired", "lease-over", "not-yet-valid", "sunset"; "unknown"
 * for a value outside the enum. */
const char *license_state_name(enum license_state state);

/* Formats t as YYYY-MM-DDTHH:MM:SSZ. len must be >= LICENSE_TIME_BUFSIZE
 * (-ENOSPC); t must lie in years 0000..9999 (-ERANGE). buf is "" on failure. */
int license_format_time(int64_t t, char *buf, size_t len);

/* Parses exactly len bytes of YYYY-MM-DDTHH:MM:SSZ (len must be 20) with
 * real calendar ranges (no 24:00:00, no leap second, no Feb 30), years
 * 1971..2199. -EINVAL otherwise, *out is 0 then. */
int license_parse_time(const char *s, size_t len, int64_t *out);

/* Parses a binding in the document's syntax ("none", "all machine-id=<hex> nic=<hex>",
 * "all-but-1 ...", "machine-id-only machine-id=<hex>") into lic's binding fields. Returns 0,
 * or -EINVAL with a reason in err (lic unchanged). */
int license_parse_binding(const char *text, struct license *lic, char *err, size_t errlen);

/* The document's name of a component type: "machine-id", "dmi-uuid", "nic" ("?" for
 * anything else). */
const char *license_component_name(enum component_type type);

/* The type a name of len bytes stands for: 0, or -EINVAL for an unknown name. */
int license_component_type(const char *name, size_t len, enum component_type *type);

/* "standard", "failover", "cluster" ("?" for anything else). */
const char *license_kind_name(enum license_kind kind);

/* The kind a name of len bytes stands for: 0, or -EINVAL for an unknown name. */
int license_kind_from_name(const char *name, size_t len, enum license_kind *kind);

#endif
