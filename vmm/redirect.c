/* vmm/redirect.c - the VM takes over the pod's CNI interface: what the guest must copy
 * from it (MAC, MTU, on-link prefix) and the two-way tc redirect between it and the
 * tap (ingress qdisc + u32 match-all + mirred egress redirect, as Kata's tcfilter
 * model), over netlink in the calling thread's namespace. u32 rather than matchall:
 * kernels without CONFIG_NET_CLS_MATCHALL exist (this development machine's). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>
#include <netlink/route/tc.h>
#include <string.h>

#include "podnet.h"

#define INGRESS_HANDLE TC_HANDLE(0xffffU, 0)

static int ifindex_of(const char *name, kumo_error_t *err)
{
	unsigned idx = if_nametoindex(name);
	if (!idx)
		return kumo_error(err, KUMO_E_NOT_FOUND, "link `%s` does not exist", name);
	return (int)idx;
}

int vmm_link_facts(const char *name, struct vmm_link_facts *out, kumo_error_t *err)
{
	struct nl_sock *sk = vmm_nl_open(err);
	if (!sk)
		return kumo_error_wrap(err, "link `%s`", name);
	struct rtnl_link *link = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, name, &link);
	if (rc < 0) {
		nl_socket_free(sk);
		return kumo_error(err, rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? KUMO_E_NOT_FOUND
										     : KUMO_E_IO,
				  "link `%s`: %s", name, nl_geterror(rc));
	}
	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(link);
	out->mtu = rtnl_link_get_mtu(link);
	struct nl_addr *a = rtnl_link_get_addr(link);
	rc = 0;
	if (!a || nl_addr_get_len(a) != 6)
		rc = kumo_error(err, KUMO_E_INVALID, "link `%s` has no Ethernet address", name);
	else
		memcpy(out->mac, nl_addr_get_binary_addr(a), 6);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return rc;
}

int vmm_onlink_prefix(const char *ifname, const char *addr, unsigned prefix, unsigned *out,
		      kumo_error_t *err)
{
	struct in_addr ia;
	if (inet_pton(AF_INET, addr, &ia) != 1 || prefix > 32)
		return kumo_error(err, KUMO_E_INVALID, "`%s/%u` is not an IPv4 address/prefix", addr,
				  prefix);
	*out = 32;
	if (prefix == 32)
		return 0;
	int ifindex = ifindex_of(ifname, err);
	if (ifindex < 0)
		return -1;
	uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
	uint32_t subnet = ia.s_addr & mask;
	struct nl_sock *sk = vmm_nl_open(err);
	if (!sk)
		return kumo_error_wrap(err, "routes of `%s`", ifname);
	struct nl_cache *cache = NULL;
	int rc = rtnl_route_alloc_cache(sk, AF_INET, 0, &cache);
	if (rc < 0) {
		nl_socket_free(sk);
		return kumo_error(err, KUMO_E_IO, "routes of `%s`: %s", ifname, nl_geterror(rc));
	}
	/* The connected route: dst subnet/prefix in the main table, on ifname, no gateway. */
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !dst ||
		    nl_addr_get_prefixlen(dst) != prefix || nl_addr_get_len(dst) != 4 ||
		    rtnl_route_get_nnexthops(r) != 1)
			continue;
		uint32_t d;
		memcpy(&d, nl_addr_get_binary_addr(dst), 4);
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
		if ((d & mask) == subnet && rtnl_route_nh_get_ifindex(nh) == ifindex &&
		    !rtnl_route_nh_get_gateway(nh)) {
			*out = prefix;
			break;
		}
	}
	nl_cache_free(cache);
	nl_socket_free(sk);
	return 0;
}

/* Deletes the ingress qdisc of ifindex; 0 also when there is none. */
static int del_ingress(struct nl_sock *sk, int ifindex, const char *name, kumo_error_t *err)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
	int rc = rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NOADDR && rc != -NLE_INVAL &&
	    rc != -NLE_NODEV)
		return kumo_error(err, KUMO_E_IO, "`%s`: delete the ingress qdisc: %s", name,
				  nl_geterror(rc));
	return 0;
}

/* Ingress qdisc on from_idx, then one u32 filter matching every frame whose action
 * redirects it to the egress of to_idx. */
static int redirect_one(struct nl_sock *sk, int from_idx, const char *from, int to_idx,
			const char *to, kumo_error_t *err)
{
	if (del_ingress(sk, from_idx, from, err) < 0)
		return -1;
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	rtnl_tc_set_ifindex(TC_CAST(q), from_idx);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
	int rc = rtnl_tc_set_kind(TC_CAST(q), "ingress");
	if (rc == 0)
		rc = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	if (rc < 0)
		return kumo_error(err, KUMO_E_IO, "`%s`: add an ingress qdisc: %s", from, nl_geterror(rc));

	struct rtnl_act *act = rtnl_act_alloc();
	struct rtnl_cls *cls = rtnl_cls_alloc();
	rc = rtnl_tc_set_kind(TC_CAST(act), "mirred");
	if (rc == 0) {
		rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
		rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
		rtnl_mirred_set_ifindex(act, (uint32_t)to_idx);
		rtnl_tc_set_ifindex(TC_CAST(cls), from_idx);
		rtnl_tc_set_parent(TC_CAST(cls), INGRESS_HANDLE);
		rc = rtnl_tc_set_kind(TC_CAST(cls), "u32");
	}
	if (rc == 0) {
		rtnl_cls_set_protocol(cls, ETH_P_ALL);
		rtnl_cls_set_prio(cls, 1);
		/* One key with mask 0 matches every frame (`match u8 0 0`). */
		rc = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
	}
	if (rc == 0)
		rc = rtnl_u32_set_cls_terminal(cls);
	if (rc == 0)
		rc = rtnl_u32_add_action(cls, act);
	if (rc == 0)
		rc = rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_act_put(act);
	rtnl_cls_put(cls);
	if (rc < 0)
		return kumo_error(err, KUMO_E_IO, "`%s`: add the filter redirecting to `%s`: %s", from, to,
				  nl_geterror(rc));
	return 0;
}

int vmm_redirect_install(const char *a, const char *b, kumo_error_t *err)
{
	int ia = ifindex_of(a, err);
	int ib = ia < 0 ? -1 : ifindex_of(b, err);
	if (ib < 0)
		return kumo_error_wrap(err, "redirect between `%s` and `%s`", a, b);
	struct nl_sock *sk = vmm_nl_open(err);
	if (!sk)
		return kumo_error_wrap(err, "redirect between `%s` and `%s`", a, b);
	int rc = redirect_one(sk, ia, a, ib, b, err);
	if (rc == 0)
		rc = redirect_one(sk, ib, b, ia, a, err);
	nl_socket_free(sk);
	return rc < 0 ? kumo_error_wrap(err, "redirect between `%s` and `%s`", a, b) : 0;
}

int vmm_redirect_remove(const char *a, const char *b, kumo_error_t *err)
{
	struct nl_sock *sk = vmm_nl_open(err);
	if (!sk)
		return -1;
	int rc = 0;
	const char *names[2] = {a, b};
	for (int i = 0; i < 2 && rc == 0; i++) {
		unsigned idx = if_nametoindex(names[i]);
		if (idx)
			rc = del_ingress(sk, (int)idx, names[i], err);
	}
	nl_socket_free(sk);
	return rc;
}

bool vmm_redirect_active(const char *name, const char *to)
{
	unsigned from_idx = if_nametoindex(name), to_idx = if_nametoindex(to);
	if (!from_idx || !to_idx)
		return false;
	kumo_error_t err = NULL;
	struct nl_sock *sk = vmm_nl_open(&err);
	kumo_error_free(&err);
	if (!sk)
		return false;
	struct nl_cache *cache = NULL;
	bool found = false;
	if (rtnl_cls_alloc_cache(sk, (int)from_idx, INGRESS_HANDLE, &cache) == 0) {
		for (struct nl_object *o = nl_cache_get_first(cache); o && !found; o = nl_cache_get_next(o)) {
			struct rtnl_cls *c = (struct rtnl_cls *)o;
			const char *kind = rtnl_tc_get_kind(TC_CAST(c));
			if (!kind || strcmp(kind, "u32") != 0)
				continue;
			for (struct rtnl_act *a = rtnl_u32_get_action(c); a; a = rtnl_act_next(a)) {
				const char *ak = rtnl_tc_get_kind(TC_CAST(a));
				if (ak && strcmp(ak, "mirred") == 0 &&
				    rtnl_mirred_get_action(a) == TCA_EGRESS_REDIR &&
				    rtnl_mirred_get_ifindex(a) == to_idx)
					found = true;
			}
		}
		nl_cache_free(cache);
	}
	nl_socket_free(sk);
	return found;
}
