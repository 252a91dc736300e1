/* kernel/os/lwip/lwipopts.h - lwIP's configuration for the unikernel: NO_SYS raw API,
 * IPv4 + TCP + UDP + DNS, buffers from the kernel heap, sized for a 32 MiB guest. */
#ifndef KUMO_LWIPOPTS_H
#define KUMO_LWIPOPTS_H

#define NO_SYS 1
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define SYS_LIGHTWEIGHT_PROT 0 /* one CPU, lwIP never runs in an interrupt handler */
#define LWIP_TIMERS 1

#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_TCP 1
#define LWIP_UDP 1
#define LWIP_DNS 1
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_NETIF_HOSTNAME 1
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_HAVE_LOOPIF 1
#define LWIP_LOOPBACK_MAX_PBUFS 64
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define LWIP_SUPPORT_CUSTOM_PBUF 1 /* rx buffers handed to lwIP in place */
#define LWIP_RAND() ((u32_t)kumo_lwip_rand())

/* Memory: the lwIP heap is the kernel heap (malloc), pools are static. Segments of
 * up to 64 KiB are whole pages there: no zeroing, lwIP fills them. */
#define MEM_LIBC_MALLOC 1
#define mem_clib_malloc malloc_uninit
#define MEM_ALIGNMENT 8
#define MEMP_MEM_MALLOC 0
#define MEMP_NUM_TCP_PCB 320        /* 200 concurrent connections + TIME_WAIT */
#define MEMP_NUM_TCP_PCB_LISTEN 16
#define MEMP_NUM_UDP_PCB 16
#define MEMP_NUM_TCP_SEG 2048
#define MEMP_NUM_PBUF 1024
#define MEMP_NUM_REASSDATA 8
#define MEMP_NUM_FRAG_PBUF 32
#define MEMP_NUM_ARP_QUEUE 32
#define PBUF_POOL_SIZE 32
#define LWIP_DISABLE_TCP_SANITY_CHECKS 1 /* rx pbufs are custom or heap, not the pool */
#define ARP_TABLE_SIZE 16
#define ARP_QUEUEING 1

/* TCP. Window scaling on (TCP_RCV_SCALE 0: our receive window stays <= 64 KiB) so
 * the peer's window can exceed 64 KiB: segments of up to NET_TSO_SEG (kos.h) go out
 * whole when the device does TSO (net.c), and a 64 KiB response fits the send buffer
 * in one write. */
#define TCP_MSS 1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 0
#define TCP_WND (44 * TCP_MSS)
#define TCP_SND_BUF (64 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_SNDLOWAT (TCP_SND_BUF / 4)
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 128
#define TCP_OVERSIZE TCP_MSS
#define LWIP_TCP_KEEPALIVE 1
#define TCP_QUEUE_OOSEQ 1
#define SO_REUSE 1

#define DNS_TABLE_SIZE 8
#define DNS_MAX_SERVERS 2
#define DNS_MAX_NAME_LENGTH 256
#define DNS_MAX_RETRIES 4

#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define MEM_STATS 1
#define MEMP_STATS 1
#define LINK_STATS 1
#define ETHARP_STATS 0
#define IP_STATS 0
#define IPFRAG_STATS 0
#define ICMP_STATS 0
#define UDP_STATS 0
#define TCP_STATS 0
#define SYS_STATS 0

#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_UDP 1
#define CHECKSUM_CHECK_TCP 1
#define LWIP_CHKSUM_ALGORITHM 3
/* Per netif: with a device that sums TCP (virtio-net CSUM), lwIP leaves the TCP
 * checksum to it (net.c); so no summing while tcp_write copies either. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define LWIP_CHECKSUM_ON_COPY 0

/* Our own TCP segments looped back to our address: summed there (net.c). */
#define LWIP_HOOK_IP4_INPUT(p, inp) kumo_ip4_input_hook(p, inp)

#ifndef __ASSEMBLER__
#include <stdint.h>
uint32_t kumo_lwip_rand(void);
struct pbuf;
struct netif;
int kumo_ip4_input_hook(struct pbuf *p, struct netif *inp);
#include <stddef.h>
void *malloc_uninit(size_t n);
#endif

#endif /* KUMO_LWIPOPTS_H */
