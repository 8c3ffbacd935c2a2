/* Read-only rtnetlink queries: the links of this network namespace and the
 * addresses they hold. This is the only place in licgate that includes
 * <netlink/...> (libnl-3 for the socket and the dump loop; the messages are
 * parsed here, attribute by attribute, with every length checked). Every int
 * function returns 0 or -errno and prints nothing. */
#ifndef LICGATE_SHIM_NETLINK_H
#define LICGATE_SHIM_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#define NETLINK_NAME_MAX 16 /* IFNAMSIZ, with the NUL */
#define NETLINK_KIND_MAX 32 /* with the NUL */
#define NETLINK_ADDR_MAX 32 /* MAX_ADDR_LEN */

struct netlink_link {
    int ifindex;                         /* > 0 */
    char name[NETLINK_NAME_MAX];         /* non-empty */
    char kind[NETLINK_KIND_MAX];         /* IFLA_INFO_KIND, "" when the link has none */
    unsigned flags;                      /* IFF_* (IFF_LOOPBACK, IFF_UP, ...) */
    unsigned short type;                 /* ARPHRD_* */
    uint8_t addr[NETLINK_ADDR_MAX];      /* IFLA_ADDRESS */
    size_t addr_len;                     /* 0 when absent */
    uint8_t perm_addr[NETLINK_ADDR_MAX]; /* IFLA_PERM_ADDRESS */
    size_t perm_addr_len;                /* 0 when absent */
};

struct netlink_addr {
    int ifindex;
    int family;       /* AF_INET or AF_INET6; anything else has addr_len 0 */
    uint8_t addr[16]; /* the local address (IFA_LOCAL, else IFA_ADDRESS) */
    size_t addr_len;  /* 4, 16, or 0 when the message carries none */
};

/* Dumps every link of the current network namespace (RTM_GETLINK) into out,
 * in the kernel's order. With more than max links it is -E2BIG and *count is
 * the number of links the dump held, so the caller can retry with a larger
 * array; out is zeroed then. A dump the kernel interrupted (links changed
 * meanwhile) is retried a few times, then -EAGAIN. A malformed message fails
 * the whole dump with -EBADMSG (a partial list would look like a missing
 * NIC). Socket failures are -errno (-ENOMEM, -EPERM, -EIO). On failure out
 * is zeroed; *count is 0 except as said for -E2BIG. */
int netlink_links(struct netlink_link *out, size_t max, size_t *count);

/* Sets *present to 1 when some interface of the current network namespace
 * holds the IPv4 or IPv6 address written in addr_text ("192.0.2.1",
 * "2001:db8::1"; no prefix length, no zone), else 0. -EINVAL when addr_text
 * is not such an address. On failure *present is 0. */
int netlink_has_address(const char *addr_text, int *present);

/* Parses one RTM_NEWLINK message: len bytes starting at its struct nlmsghdr,
 * len must equal nlmsg_len (no trailing bytes). Checks, each failing with
 * -EBADMSG and out zeroed: a whole header and struct ifinfomsg; ifindex > 0;
 * every attribute's header within the message (nested IFLA_LINKINFO too);
 * IFLA_IFNAME 2..NETLINK_NAME_MAX bytes, NUL-terminated, no inner NUL, and
 * present; IFLA_INFO_KIND likewise within NETLINK_KIND_MAX; IFLA_ADDRESS and
 * IFLA_PERM_ADDRESS 1..NETLINK_ADDR_MAX bytes, and exactly 6 for ARPHRD_ETHER;
 * no attribute it reads given twice. Other attributes are skipped. Pure: no
 * I/O, exported for the unit tests and used by netlink_links(). */
int netlink_parse_link_msg(const void *msg, size_t len, struct netlink_link *out);

/* Parses one RTM_NEWADDR message the same way (len == nlmsg_len): a whole
 * struct ifaddrmsg; for AF_INET / AF_INET6, IFA_LOCAL and IFA_ADDRESS must be
 * exactly 4 / 16 bytes and appear at most once each. Other families parse
 * with addr_len 0. -EBADMSG with out zeroed otherwise. Pure, like above. */
int netlink_parse_addr_msg(const void *msg, size_t len, struct netlink_addr *out);

#endif
