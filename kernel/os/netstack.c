/* kernel/os/netstack.c - the unikernel's network stack: lwIP (NO_SYS) on the virtio-net device, brought up from the boot config; the poll and hlt-wait loop every blocking socket call uses. */
#include <stdio.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

static struct netif nif;
static int up;
static int have_nic; /* up without a NIC: a pod's loopback only */

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

static err_t nif_init(struct netif *n)
{
	n->name[0] = 'e';
	n->name[1] = 'n';
	n->output = etharp_output;
	n->linkoutput = linkoutput;
	n->hwaddr_len = 6;
	vnet_mac(n->hwaddr);
	int mtu = kumo_bootcfg.net.mtu;
	n->mtu = (u16_t)(mtu > 0 && mtu < vnet_mtu() ? mtu : vnet_mtu());
	if (n->mtu > 1500)
		n->mtu = 1500; /* rx buffers hold one 1514-byte frame */
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

int net_is_up(void) { return up; }

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
	sched_idle_hook = net_poll; /* loopback frames and lwIP's timers move while idle */
	/* Announce ourselves so the host's neighbour cache learns us without asking. */
	etharp_gratuitous(&nif);
	klog("net: %s virtio-net %02x:%02x:%02x:%02x:%02x:%02x, %u.%u.%u.%u/%d mtu %u", vnet_transport(),
	     nif.hwaddr[0], nif.hwaddr[1], nif.hwaddr[2], nif.hwaddr[3], nif.hwaddr[4], nif.hwaddr[5],
	     c->addr[0], c->addr[1], c->addr[2], c->addr[3], c->prefix, nif.mtu);
}

void net_poll(void)
{
	if (!up)
		return;
	kumo_net_irq_pending = 0;
	if (have_nic)
		vnet_poll(&nif);
	netif_poll_all(); /* loopback */
	sys_check_timeouts();
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
	/* An interrupt after this check and before the wait still ends the wait: the
	 * scheduler counts interrupts since this thread last woke. Other threads run
	 * meanwhile; lwIP's callbacks kick the waiters when data moved (plat_net.c). */
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
}
