/* kernel/os/netstack.c - the unikernel's network stack: lwIP (NO_SYS) on the virtio-net device, brought up from the boot config; the poll and hlt-wait loop every blocking socket call uses. */
#include <stdio.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"

static struct netif nif;
static int up;
static int have_nic; /* up without a NIC: a pod's loopback only */
static u16_t link_mtu;  /* the link's MTU (nif.mtu is larger with TSO) */
static u16_t tso_mss;   /* TCP payload per wire segment when the device cuts, 0: no TSO */
static uint64_t up_tsc; /* TSC when the network came up (the profile's span) */
int kumo_netprof;
uint64_t kumo_netprof_ticks[NETPROF_N];

static void net_idle(void);
static void set_mtu(struct netif *n);

u32_t sys_now(void)
{
	return (u32_t)(clock_monotonic_ns() / 1000000u);
}

uint32_t kumo_lwip_rand(void)
{
	uint32_t r;
	random_get(&r, sizeof(r));
	return r;
}

void kumo_lwip_assert(const char *msg, const char *file, int line)
{
	panic("lwip assertion failed: %s (%s:%d)", msg, file, line);
}

static err_t linkoutput(struct netif *n, struct pbuf *p)
{
	return (err_t)vnet_tx(n, p);
}

/* With TSO the netif's MTU is the largest IP packet (lwIP hands big TCP segments on
 * whole); anything else longer than the link's MTU is fragmented here, as lwIP would
 * have. */
static err_t nif_output(struct netif *n, struct pbuf *p, const ip4_addr_t *dst)
{
	if (p->tot_len > link_mtu && IPH_PROTO((struct ip_hdr *)p->payload) != IP_PROTO_TCP) {
		u16_t big = n->mtu;
		n->mtu = link_mtu;
		err_t e = ip4_frag(p, n, dst); /* fragments come back through nif_output */
		n->mtu = big;
		return e;
	}
	return etharp_output(n, p, dst);
}

uint16_t net_tso_mss(void) { return tso_mss; }

void net_tcp_tso(void *pv)
{
	struct tcp_pcb *pcb = pv;
	/* Only at the link's own MSS: one the peer lowered stays (the device would cut
	 * to ours). */
	if (tso_mss && pcb->mss == tso_mss)
		pcb->mss = NET_TSO_SEG;
}

/* lwipopts.h LWIP_HOOK_IP4_INPUT: a TCP segment of ours that came back through the
 * netif's loopback (sent to our own address) carries no checksum when the device sums
 * for us: sum it, so lwIP's check (still on for what comes from the wire) passes. */
int kumo_ip4_input_hook(struct pbuf *p, struct netif *inp)
{
	if (inp != &nif || !vnet_csum_offload() || p->len < IP_HLEN)
		return 0;
	struct ip_hdr *ip = p->payload;
	if (IPH_PROTO(ip) != IP_PROTO_TCP || !ip4_addr_cmp(&ip->src, netif_ip4_addr(&nif)))
		return 0;
	u16_t hl = (u16_t)IPH_HL_BYTES(ip), len = lwip_ntohs(IPH_LEN(ip));
	if (len < hl + TCP_HLEN || len > p->tot_len || p->len < hl + TCP_HLEN)
		return 0;
	ip4_addr_t src, dst;
	ip4_addr_copy(src, ip->src);
	ip4_addr_copy(dst, ip->dest);
	struct tcp_hdr *th = (struct tcp_hdr *)((u8_t *)p->payload + hl);
	th->chksum = 0;
	pbuf_remove_header(p, hl);
	u16_t c = inet_chksum_pseudo_partial(p, IP_PROTO_TCP, (u16_t)(len - hl), (u16_t)(len - hl), &src, &dst);
	pbuf_add_header(p, hl);
	th->chksum = c;
	return 0;
}

static err_t nif_init(struct netif *n)
{
	n->name[0] = 'e';
	n->name[1] = 'n';
	n->output = nif_output;
	n->linkoutput = linkoutput;
	n->hwaddr_len = 6;
	vnet_mac(n->hwaddr);
	/* rx buffers hold one 1514-byte frame: at most 1500. TSO when our MSS is the link's
	 * (TCP_MSS is what lwIP advertises): lwIP sends segments of up to NET_TSO_SEG, the
	 * device cuts them to tso_mss. */
	set_mtu(n);
	if (vnet_csum_offload()) {
		/* The device completes our TCP checksums (virtio_net.c). */
		NETIF_SET_CHECKSUM_CTRL(n, NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP);
	}
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

int net_is_up(void) { return up; }

/* The link MTU and TSO from kumo_bootcfg.net.mtu and the device (nif_init's rule). */
static void set_mtu(struct netif *n)
{
	int mtu = kumo_bootcfg.net.mtu;
	n->mtu = (u16_t)(mtu > 0 && mtu < vnet_mtu() ? mtu : vnet_mtu());
	if (n->mtu > 1500)
		n->mtu = 1500;
	link_mtu = n->mtu;
	tso_mss = 0;
	if (vnet_tso() && link_mtu - IP_HLEN - TCP_HLEN == TCP_MSS) {
		tso_mss = TCP_MSS;
		n->mtu = 0xffff;
	}
}

int net_reconfigure(void)
{
	if (!up)
		return -1;
	/* lwIP drew them at lwip_init, before the snapshot every pod starts from. */
	tcp_init();
	udp_init();
	if (!have_nic)
		return -1;
	const struct kumo_netcfg *c = &kumo_bootcfg.net;
	if (c->has_mac)
		memcpy(nif.hwaddr, c->mac, 6);
	set_mtu(&nif);
	ip4_addr_t a, m, g;
	IP4_ADDR(&a, c->addr[0], c->addr[1], c->addr[2], c->addr[3]);
	uint32_t mask = c->prefix ? 0xffffffffu << (32 - c->prefix) : 0;
	ip4_addr_set_u32(&m, lwip_htonl(mask));
	IP4_ADDR(&g, c->gateway[0], c->gateway[1], c->gateway[2], c->gateway[3]);
	netif_set_addr(&nif, &a, &m, &g);
	if (c->hostname)
		netif_set_hostname(&nif, c->hostname);
	for (int i = 0; i < DNS_MAX_SERVERS; i++) {
		ip_addr_t d;
		if (i < c->ndns)
			IP_ADDR4(&d, c->dns[i][0], c->dns[i][1], c->dns[i][2], c->dns[i][3]);
		else
			ip_addr_set_zero(&d);
		dns_setserver((u8_t)i, &d);
	}
	etharp_gratuitous(&nif);
	net_flush();
	klog("net: reconfigured: %02x:%02x:%02x:%02x:%02x:%02x, %u.%u.%u.%u/%d mtu %u",
	     nif.hwaddr[0], nif.hwaddr[1], nif.hwaddr[2], nif.hwaddr[3], nif.hwaddr[4], nif.hwaddr[5],
	     c->addr[0], c->addr[1], c->addr[2], c->addr[3], c->prefix, nif.mtu);
	return 0;
}

void net_init(void)
{
	struct kumo_netcfg *c = &kumo_bootcfg.net;
	if (!c->present) {
		if (kumo_bootcfg.pod) {
			/* A pod's containers still reach each other on 127.0.0.1. */
			lwip_init();
			up = 1;
			sched_idle_hook = net_poll;
			klog("net: loopback only (a pod without a NIC)");
		}
		return;
	}
	char err[200];
	if (vnet_init(c->has_mac ? c->mac : NULL, err, sizeof(err)) < 0)
		panic("network: %s", err);
	kumo_netprof = strstr(kumo_bootcfg.cmdline, "kumo.netprof=1") != NULL;
	up_tsc = rdtsc();
	lwip_init();
	ip4_addr_t a, m, g;
	IP4_ADDR(&a, c->addr[0], c->addr[1], c->addr[2], c->addr[3]);
	uint32_t mask = c->prefix ? 0xffffffffu << (32 - c->prefix) : 0;
	ip4_addr_set_u32(&m, lwip_htonl(mask));
	IP4_ADDR(&g, c->gateway[0], c->gateway[1], c->gateway[2], c->gateway[3]);
	if (!netif_add(&nif, &a, &m, &g, NULL, nif_init, ethernet_input))
		panic("network: lwIP refused the interface");
	if (c->hostname)
		netif_set_hostname(&nif, c->hostname);
	netif_set_default(&nif);
	netif_set_up(&nif);
	netif_set_link_up(&nif);
	for (int i = 0; i < c->ndns && i < DNS_MAX_SERVERS; i++) {
		ip_addr_t d;
		IP_ADDR4(&d, c->dns[i][0], c->dns[i][1], c->dns[i][2], c->dns[i][3]);
		dns_setserver((u8_t)i, &d);
	}
	up = have_nic = 1;
	/* Loopback frames and lwIP's timers move while idle; the NIC may interrupt then. */
	sched_idle_hook = net_idle;
	/* Announce ourselves so the host's neighbour cache learns us without asking. */
	etharp_gratuitous(&nif);
	net_flush();
	klog("net: %s virtio-net %02x:%02x:%02x:%02x:%02x:%02x, %u.%u.%u.%u/%d mtu %u", vnet_transport(),
	     nif.hwaddr[0], nif.hwaddr[1], nif.hwaddr[2], nif.hwaddr[3], nif.hwaddr[4], nif.hwaddr[5],
	     c->addr[0], c->addr[1], c->addr[2], c->addr[3], c->prefix, nif.mtu);
}

void net_poll(void)
{
	if (!up)
		return;
	uint64_t t0 = prof_begin();
	kumo_net_irq_pending = 0;
	if (have_nic)
		vnet_poll(&nif);
	netif_poll_all(); /* loopback */
	sys_check_timeouts();
	net_flush();
	prof_end(NETPROF_POLL, t0);
}

void net_flush(void)
{
	if (have_nic)
		vnet_flush();
}

/* The scheduler's idle hook (interrupts off, nothing to run): what arrived is
 * processed, then the NIC may interrupt the hlt that follows; frames that came
 * meanwhile count as an event, so there is no hlt (the next net_poll quiets the NIC
 * again). */
static void net_idle(void)
{
	net_poll();
	if (have_nic && vnet_arm())
		sched_kick();
}

void net_wait(uint64_t deadline_ns)
{
	uint64_t now = clock_monotonic_ns();
	uint64_t until = deadline_ns;
	if (up) {
		u32_t ms = sys_timeouts_sleeptime();
		if (ms != SYS_TIMEOUTS_SLEEPTIME_INFINITE) {
			uint64_t t = now + (uint64_t)ms * 1000000u;
			if (t < until)
				until = t;
		}
	}
	if (until <= now)
		return;
	net_flush();
	/* An interrupt after this check and before the wait still ends the wait: the
	 * scheduler counts interrupts since this thread last woke. Other threads run
	 * meanwhile; lwIP's callbacks kick the waiters when data moved (plat_net.c). The
	 * NIC interrupts only once the CPU goes idle (net_idle). */
	if (!kumo_net_irq_pending)
		sched_wait(KWAKE_IRQ, until);
	kstop_check();
}

int net_usage(char *buf, size_t cap)
{
	unsigned pbuf = lwip_stats.memp[MEMP_PBUF]->used + lwip_stats.memp[MEMP_PBUF_POOL]->used;
	return snprintf(buf, cap, "heap-used=%llu lwip-mem-used=%llu pbuf-used=%u memp-tcp-pcb=%u "
			"memp-tcp-seg=%u memp-udp-pcb=%u rx=%u tx=%u",
			(unsigned long long)heap_bytes_in_use(), (unsigned long long)lwip_stats.mem.used,
			pbuf, (unsigned)lwip_stats.memp[MEMP_TCP_PCB]->used,
			(unsigned)lwip_stats.memp[MEMP_TCP_SEG]->used,
			(unsigned)lwip_stats.memp[MEMP_UDP_PCB]->used, (unsigned)lwip_stats.link.recv,
			(unsigned)lwip_stats.link.xmit);
}

void net_log_usage(void)
{
	if (!up)
		return;
	char line[300];
	net_usage(line, sizeof(line));
	klog("kumo-net: %s", line);
	if (!have_nic)
		return;
	struct vnet_stats v;
	vnet_stats(&v);
	klog("kumo-nic: tx=%llu tx-bytes=%llu tx-tso=%llu tx-copied=%llu tx-kicks=%llu "
	     "tx-kicks-skipped=%llu rx=%llu rx-kicks=%llu rx-kicks-skipped=%llu arms=%llu sleeps=%llu "
	     "offload=%s", (unsigned long long)v.tx_pkts, (unsigned long long)v.tx_bytes,
	     (unsigned long long)v.tx_tso, (unsigned long long)v.tx_copied,
	     (unsigned long long)v.tx_kicks, (unsigned long long)v.tx_kicks_skipped,
	     (unsigned long long)v.rx_pkts, (unsigned long long)v.rx_kicks,
	     (unsigned long long)v.rx_kicks_skipped, (unsigned long long)v.arms,
	     (unsigned long long)(v.arms - v.arm_hits), tso_mss ? "csum+tso" : vnet_csum_offload() ? "csum" : "none");
	if (kumo_netprof) {
		uint64_t *t = kumo_netprof_ticks;
		klog("kumo-netprof: us since up=%llu poll=%llu idle=%llu write=%llu output=%llu tx-us=%llu "
		     "kick-us=%llu recv-copy=%llu", (unsigned long long)(clock_tsc_to_ns(rdtsc() - up_tsc) / 1000),
		     (unsigned long long)(clock_tsc_to_ns(t[NETPROF_POLL]) / 1000),
		     (unsigned long long)(clock_tsc_to_ns(t[NETPROF_IDLE]) / 1000),
		     (unsigned long long)(clock_tsc_to_ns(t[NETPROF_WRITE]) / 1000),
		     (unsigned long long)(clock_tsc_to_ns(t[NETPROF_OUTPUT]) / 1000),
		     (unsigned long long)(clock_tsc_to_ns(t[NETPROF_TX]) / 1000),
		     (unsigned long long)(clock_tsc_to_ns(t[NETPROF_KICK]) / 1000),
		     (unsigned long long)(clock_tsc_to_ns(t[NETPROF_RECV]) / 1000));
	}
}
