#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#define ETHER_ADDR_LEN_EXACT 6
/* How often a dump the kernel marked interrupted is started again. */
#define DUMP_ATTEMPTS 3

/* A bounded walk over a run of netlink attributes. Each step either yields
 * one attribute whose header and payload lie inside the run, or fails. */
struct attr_walk {
    const uint8_t *p;
    size_t left;
};

struct attr {
    uint16_t type;
    const uint8_t *data;
    size_t len;
};

/* 1 with *a filled, 0 at the end of the run, -EBADMSG on a malformed one. */
static int attr_next(struct attr_walk *w, struct attr *a)
{
    struct nlattr nla;
    size_t step;

    if (w->left == 0)
        return 0;
    if (w->left < sizeof(nla))
        return -EBADMSG;
    memcpy(&nla, w->p, sizeof(nla));
    if (nla.nla_len < sizeof(nla) || w->left < nla.nla_len)
        return -EBADMSG;
    a->type = nla.nla_type & NLA_TYPE_MASK;
    a->data = w->p + sizeof(nla);
    a->len = nla.nla_len - sizeof(nla);
    /* The padding after the last attribute may be missing. */
    step = NLA_ALIGN((size_t)nla.nla_len);
    if (step > w->left)
        step = w->left;
    w->p += step;
    w->left -= step;
    return 1;
}

/* A NUL-terminated string attribute of 2..size bytes with no inner NUL. */
static int attr_string(const struct attr *a, char *out, size_t size)
{
    if (a->len < 2 || a->len > size)
        return -EBADMSG;
    if (a->data[a->len - 1] != '\0' || memchr(a->data, '\0', a->len - 1) != NULL)
        return -EBADMSG;
    memcpy(out, a->data, a->len);
    return 0;
}

static int attr_hwaddr(const struct attr *a, uint8_t *out, size_t *outlen)
{
    if (a->len < 1 || a->len > NETLINK_ADDR_MAX)
        return -EBADMSG;
    memcpy(out, a->data, a->len);
    *outlen = a->len;
    return 0;
}

/* Checks the netlink header of one message of exactly len bytes and returns
 * its payload (after the header) or -EBADMSG. */
static int msg_payload(const void *msg, size_t len, uint16_t type, const uint8_t **payload,
                       size_t *paylen)
{
    struct nlmsghdr h;

    if (len < NLMSG_HDRLEN)
        return -EBADMSG;
    memcpy(&h, msg, sizeof(h));
    if (h.nlmsg_len != len || h.nlmsg_type != type)
        return -EBADMSG;
    *payload = (const uint8_t *)msg + NLMSG_HDRLEN;
    *paylen = len - NLMSG_HDRLEN;
    return 0;
}

static int parse_linkinfo(const struct attr *info, struct netlink_link *out)
{
    struct attr_walk w = {info->data, info->len};
    struct attr a;
    bool seen_kind = false;
    int ret;

    while ((ret = attr_next(&w, &a)) == 1) {
        if (a.type != IFLA_INFO_KIND)
            continue;
        if (seen_kind)
            return -EBADMSG;
        seen_kind = true;
        ret = attr_string(&a, out->kind, sizeof(out->kind));
        if (ret != 0)
            return ret;
    }
    return ret;
}

int netlink_parse_link_msg(const void *msg, size_t len, struct netlink_link *out)
{
    struct ifinfomsg ifi;
    const uint8_t *payload;
    size_t paylen;
    struct attr_walk w;
    struct attr a;
    bool seen_name = false, seen_addr = false, seen_perm = false, seen_info = false;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = msg_payload(msg, len, RTM_NEWLINK, &payload, &paylen);
    if (ret != 0)
        goto out;
    ret = -EBADMSG;
    if (paylen < NLMSG_ALIGN(sizeof(ifi)))
        goto out;
    memcpy(&ifi, payload, sizeof(ifi));
    if (ifi.ifi_index <= 0)
        goto out;
    out->ifindex = ifi.ifi_index;
    out->flags = ifi.ifi_flags;
    out->type = ifi.ifi_type;

    w.p = payload + NLMSG_ALIGN(sizeof(ifi));
    w.left = paylen - NLMSG_ALIGN(sizeof(ifi));
    while ((ret = attr_next(&w, &a)) == 1) {
        bool *seen;

        switch (a.type) {
        case IFLA_IFNAME:
            seen = &seen_name;
            break;
        case IFLA_ADDRESS:
            seen = &seen_addr;
            break;
        case IFLA_PERM_ADDRESS:
            seen = &seen_perm;
            break;
        case IFLA_LINKINFO:
            seen = &seen_info;
            break;
        default:
            continue;
        }
        ret = -EBADMSG;
        if (*seen)
            goto out;
        *seen = true;
        if (a.type == IFLA_IFNAME)
            ret = attr_string(&a, out->name, sizeof(out->name));
        else if (a.type == IFLA_ADDRESS)
            ret = attr_hwaddr(&a, out->addr, &out->addr_len);
        else if (a.type == IFLA_PERM_ADDRESS)
            ret = attr_hwaddr(&a, out->perm_addr, &out->perm_addr_len);
        else
            ret = parse_linkinfo(&a, out);
        if (ret != 0)
            goto out;
    }
    if (ret != 0)
        goto out;
    ret = -EBADMSG;
    if (!seen_name)
        goto out;
    if (out->type == ARPHRD_ETHER && ((seen_addr && out->addr_len != ETHER_ADDR_LEN_EXACT) ||
                                      (seen_perm && out->perm_addr_len != ETHER_ADDR_LEN_EXACT)))
        goto out;
    ret = 0;
out:
    if (ret != 0)
        memset(out, 0, sizeof(*out));
    return ret;
}

int netlink_parse_addr_msg(const void *msg, size_t len, struct netlink_addr *out)
{
    struct ifaddrmsg ifa;
    const uint8_t *payload;
    size_t paylen, want = 0;
    struct attr_walk w;
    struct attr a;
    bool seen_local = false, seen_address = false;
    uint8_t address[16];
    int ret;

    memset(out, 0, sizeof(*out));
    ret = msg_payload(msg, len, RTM_NEWADDR, &payload, &paylen);
    if (ret != 0)
        goto out;
    ret = -EBADMSG;
    if (paylen < NLMSG_ALIGN(sizeof(ifa)))
        goto out;
    memcpy(&ifa, payload, sizeof(ifa));
    out->ifindex = (int)ifa.ifa_index;
    out->family = ifa.ifa_family;
    if (ifa.ifa_family == AF_INET)
        want = 4;
    else if (ifa.ifa_family == AF_INET6)
        want = 16;

    w.p = payload + NLMSG_ALIGN(sizeof(ifa));
    w.left = paylen - NLMSG_ALIGN(sizeof(ifa));
    while ((ret = attr_next(&w, &a)) == 1) {
        if (want == 0 || (a.type != IFA_LOCAL && a.type != IFA_ADDRESS))
            continue;
        ret = -EBADMSG;
        if (a.len != want)
            goto out;
        if (a.type == IFA_LOCAL) {
            if (seen_local)
                goto out;
            seen_local = true;
            memcpy(out->addr, a.data, want);
        } else {
            if (seen_address)
                goto out;
            seen_address = true;
            memcpy(address, a.data, want);
        }
    }
    if (ret != 0)
        goto out;
    /* IFA_LOCAL is this end of a point-to-point address; without it,
     * IFA_ADDRESS is the local address (always so for IPv6). */
    if (seen_local)
        out->addr_len = want;
    else if (seen_address) {
        memcpy(out->addr, address, want);
        out->addr_len = want;
    }
out:
    if (ret != 0)
        memset(out, 0, sizeof(*out));
    return ret;
}

/* ------------------------------------------------------------ the dumps */

static int errno_from_nl(int nlerr)
{
    switch (nlerr < 0 ? -nlerr : nlerr) {
    case NLE_NOMEM:
        return -ENOMEM;
    case NLE_PERM:
        return -EPERM;
    case NLE_DUMP_INTR:
        return -EAGAIN;
    case NLE_MSG_TRUNC:
    case NLE_MSG_TOOSHORT:
    case NLE_MSG_OVERFLOW:
    case NLE_PARSE_ERR:
        return -EBADMSG;
    case NLE_AF_NOSUPPORT:
        return -EAFNOSUPPORT;
    default:
        return -EIO;
    }
}

/* What a dump callback collects; error stops the dump. */
struct link_dump {
    struct netlink_link *out;
    size_t max, count;
    int error;
};

struct addr_dump {
    int family;
    uint8_t want[16];
    size_t want_len;
    int present;
    int error;
};

static int link_dump_valid(struct nl_msg *msg, void *arg)
{
    struct link_dump *d = arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    struct netlink_link link;
    int ret;

    ret = netlink_parse_link_msg(h, h->nlmsg_len, &link);
    if (ret != 0) {
        d->error = ret;
        return NL_STOP;
    }
    /* Past max, keep counting so the caller learns the size it needs. */
    if (d->count < d->max)
        d->out[d->count] = link;
    d->count++;
    return NL_OK;
}

static int addr_dump_valid(struct nl_msg *msg, void *arg)
{
    struct addr_dump *d = arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    struct netlink_addr addr;
    int ret;

    ret = netlink_parse_addr_msg(h, h->nlmsg_len, &addr);
    if (ret != 0) {
        d->error = ret;
        return NL_STOP;
    }
    if (addr.family == d->family && addr.addr_len == d->want_len &&
        memcmp(addr.addr, d->want, d->want_len) == 0) {
        d->present = 1;
        return NL_STOP;
    }
    return NL_OK;
}

/* Sends one dump request (type, with the family header req of reqlen bytes)
 * and feeds every reply to valid(arg). Returns the socket's error; the
 * callback reports its own through its argument. */
static int rtnl_dump(int type, void *req, size_t reqlen, nl_recvmsg_msg_cb_t valid, void *arg)
{
    struct nl_sock *sk;
    int ret;

    sk = nl_socket_alloc();
    if (sk == NULL)
        return -ENOMEM;
    ret = nl_connect(sk, NETLINK_ROUTE);
    if (ret < 0)
        goto out;
    /* Link messages with statistics outgrow a page; size each read. */
    nl_socket_enable_msg_peek(sk);
    ret = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, valid, arg);
    if (ret < 0)
        goto out;
    ret = nl_send_simple(sk, type, NLM_F_DUMP, req, reqlen);
    if (ret < 0)
        goto out;
    ret = nl_recvmsgs_default(sk);
out:
    nl_socket_free(sk);
    return ret < 0 ? errno_from_nl(ret) : 0;
}

int netlink_links(struct netlink_link *out, size_t max, size_t *count)
{
    struct link_dump d;
    int ret = -EAGAIN;

    *count = 0;
    if (out == NULL && max > 0)
        return -EINVAL;
    for (int attempt = 0; attempt < DUMP_ATTEMPTS && ret == -EAGAIN; attempt++) {
        struct ifinfomsg req = {.ifi_family = AF_UNSPEC};

        if (max > 0)
            memset(out, 0, max * sizeof(*out));
        d = (struct link_dump){.out = out, .max = max};
        ret = rtnl_dump(RTM_GETLINK, &req, sizeof(req), link_dump_valid, &d);
        if (ret == 0)
            ret = d.error;
    }
    if (ret == 0 && d.count > max)
        ret = -E2BIG;
    if (ret != 0 && max > 0)
        memset(out, 0, max * sizeof(*out));
    if (ret == 0 || ret == -E2BIG)
        *count = d.count;
    return ret;
}

int netlink_has_address(const char *addr_text, int *present)
{
    struct addr_dump d = {0};
    int ret = -EAGAIN;

    *present = 0;
    if (addr_text == NULL)
        return -EINVAL;
    if (inet_pton(AF_INET, addr_text, d.want) == 1) {
        d.family = AF_INET;
        d.want_len = 4;
    } else if (inet_pton(AF_INET6, addr_text, d.want) == 1) {
        d.family = AF_INET6;
        d.want_len = 16;
    } else {
        return -EINVAL;
    }
    for (int attempt = 0; attempt < DUMP_ATTEMPTS && ret == -EAGAIN; attempt++) {
        struct ifaddrmsg req = {.ifa_family = (uint8_t)d.family};

        d.present = 0;
        d.error = 0;
        ret = rtnl_dump(RTM_GETADDR, &req, sizeof(req), addr_dump_valid, &d);
        if (ret == 0)
            ret = d.error;
    }
    if (ret == 0)
        *present = d.present;
    return ret;
}
