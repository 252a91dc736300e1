/* kernel/os/virtio_net.c - virtio-net over MMIO (microvm; virtio 1.x or QEMU's default legacy interface) or PCI (pc/q35, virtio 1.x): split rings, interrupts only while the kernel waits, rx buffers lent to lwIP in place, TCP checksum and segmentation offload (CSUM, GUEST_CSUM, HOST_TSO4) when the device has them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/virtio.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip.h"

#define VIRTIO_NET_F_CSUM (1ull << 0)       /* the device completes tx checksums */
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1) /* rx packets may carry partial checksums */
#define VIRTIO_NET_F_MTU (1ull << 3)
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_NET_F_HOST_TSO4 (1ull << 11) /* the device segments large TCP/IPv4 packets */

/* struct virtio_net_hdr (virtio 1.x 5.1.6): the first hdr_len bytes of every buffer. */
#define HDR_F_NEEDS_CSUM 1 /* checksum from csum_start, stored at csum_start + csum_offset */
#define HDR_F_DATA_VALID 2 /* rx: the device checked the checksum */
#define HDR_GSO_NONE 0
#define HDR_GSO_TCPV4 1
struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
};
#define TX_SEGS 16 /* entries of a tx slot's indirect table: header + 15 pbufs */

#define QSIZE_MAX 128 /* descriptors (= buffers) per queue */
#define TX_KICK_BATCH 16 /* frames queued before a notification no matter what */
#define BUF_SIZE 2048 /* one frame (1514) + the 12-byte header fits */
#define HDR_LEN nic.hdr_len

/* A received buffer lent to lwIP: freed back onto the rx ring. */
struct rxbuf {
	struct pbuf_custom pc;
	uint16_t id;
};

static struct {
	int found;
	struct virtio_dev dev;          /* the transport */
	uint32_t hdr_len;               /* 12 (struct virtio_net_hdr with num_buffers), or
					 * 10 for a legacy device */
	uint8_t mac[6];
	uint16_t mtu;
	struct virtq rx, tx;
	uint8_t *rx_bufs, *tx_bufs;     /* size * BUF_SIZE each */
	struct rxbuf *rxb;
	int lent;                       /* rx buffers held by lwIP */
	uint16_t tx_free[QSIZE_MAX];    /* free tx descriptor ids */
	int ntx_free;
	int indirect;                   /* zero-copy tx through indirect tables */
	struct virtq_desc *tx_tables;   /* TX_SEGS entries per tx slot */
	struct pbuf *tx_pbuf[QSIZE_MAX]; /* held until the device is done */
	int csum;                       /* CSUM: tx TCP checksums left to the device */
	int guest_csum;                 /* GUEST_CSUM: rx packets say what was checked */
	int tso;                        /* HOST_TSO4 (+ CSUM + indirect tables) */
	int armed;                      /* rx interrupts on (vnet_arm) */
	uint64_t arm_tsc;               /* when (kumo.netprof: the idle time) */
	struct vnet_stats st;
} nic;

/* A queue with one BUF_SIZE buffer per descriptor. */
static int queue_setup(struct virtq *q, uint16_t index, uint8_t **bufs, char *err, size_t errcap)
{
	if (virtio_queue_setup(&nic.dev, q, index, QSIZE_MAX, err, errcap) < 0)
		return -1;
	*bufs = page_alloc((size_t)q->size * BUF_SIZE / PAGE_SIZE);
	if (!*bufs) {
		snprintf(err, errcap, "virtio-net: no memory for queue %u", index);
		return -1;
	}
	for (uint16_t i = 0; i < q->size; i++) {
		q->desc[i].addr = (uintptr_t)(*bufs + (size_t)i * BUF_SIZE);
		q->desc[i].len = BUF_SIZE;
	}
	return 0;
}

static void rx_post(uint16_t id)
{
	nic.rx.desc[id].len = BUF_SIZE;
	nic.rx.desc[id].flags = VIRTQ_DESC_F_WRITE;
	virtq_push(&nic.rx, id);
}

static void rx_custom_free(struct pbuf *p)
{
	struct rxbuf *b = (struct rxbuf *)p;
	nic.lent--;
	rx_post(b->id);
}

/* MAC, MTU, queues, DRIVER_OK on a device the probe found: 0 when it is our NIC
 * (started), 1 when not (MAC mismatch), -1 on error. */
static int device_start(const uint8_t *want, char *err, size_t errcap)
{
	struct virtio_dev *d = &nic.dev;
	uint64_t f;
	uint64_t want_f = VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU | VIRTIO_F_INDIRECT_DESC;
	/* kumo.net_offload=off|csum on the kernel command line: fewer offloads (to compare). */
	const char *off = strstr(kumo_bootcfg.cmdline, "kumo.net_offload=");
	off = off ? off + sizeof("kumo.net_offload=") - 1 : "";
	if (strncmp(off, "off", 3) != 0)
		want_f |= VIRTIO_NET_F_CSUM;
	if (strncmp(off, "off", 3) != 0 && strncmp(off, "csum", 4) != 0)
		want_f |= VIRTIO_NET_F_HOST_TSO4;
	if (virtio_negotiate(d, want_f, &f, err, errcap) < 0)
		return -1;
	nic.hdr_len = d->legacy ? 10 : 12;
	for (int i = 0; i < 6; i++)
		nic.mac[i] = (f & VIRTIO_NET_F_MAC) ? virtio_cfg8(d, (uint32_t)i) : 0;
	if (!(f & VIRTIO_NET_F_MAC)) {
		uint8_t r[6];
		random_get(r, sizeof(r));
		nic.mac[0] = 0x52, nic.mac[1] = 0x54, nic.mac[2] = 0x00;
		memcpy(nic.mac + 3, r, 3);
	}
	if (want && memcmp(want, nic.mac, 6) != 0) {
		virtio_fail(d);
		return 1; /* not the NIC we are looking for */
	}
	nic.mtu = (f & VIRTIO_NET_F_MTU) ? (uint16_t)(virtio_cfg8(d, 10) | virtio_cfg8(d, 11) << 8) : 1500;
	if (queue_setup(&nic.rx, 0, &nic.rx_bufs, err, errcap) < 0 ||
	    queue_setup(&nic.tx, 1, &nic.tx_bufs, err, errcap) < 0) {
		virtio_fail(d);
		return -1;
	}
	nic.rxb = calloc(nic.rx.size, sizeof(*nic.rxb));
	if (!nic.rxb) {
		snprintf(err, errcap, "virtio-net: no memory for rx buffers");
		return -1;
	}
	for (uint16_t i = 0; i < nic.rx.size; i++) {
		nic.rxb[i].id = i;
		nic.rxb[i].pc.custom_free_function = rx_custom_free;
		rx_post(i);
	}
	nic.ntx_free = 0;
	for (uint16_t i = 0; i < nic.tx.size; i++)
		nic.tx_free[nic.ntx_free++] = i;
	if (f & VIRTIO_F_INDIRECT_DESC) {
		size_t bytes = (size_t)nic.tx.size * TX_SEGS * sizeof(struct virtq_desc);
		nic.tx_tables = page_alloc((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
		nic.indirect = nic.tx_tables != NULL;
	}
	nic.csum = (f & VIRTIO_NET_F_CSUM) != 0;
	nic.guest_csum = (f & VIRTIO_NET_F_GUEST_CSUM) != 0;
	/* A TSO packet is larger than a bounce buffer: only through indirect tables. */
	nic.tso = nic.csum && nic.indirect && (f & VIRTIO_NET_F_HOST_TSO4);
	/* Completions are found by polling; an interrupt is only wanted while the kernel
	 * sleeps (vnet_arm). */
	virtq_suppress_irq(&nic.tx, 1);
	virtq_suppress_irq(&nic.rx, 1);
	virtio_driver_ok(d);
	virtq_notify(d, &nic.rx);
	return 0;
}

/* virtio_probe callback: the first device (with the wanted MAC) is ours. */
static int probe_one(struct virtio_dev *d, void *ctx)
{
	struct { const uint8_t *want; char *err; size_t errcap; } *a = ctx;
	nic.dev = *d;
	if (d->pci && virtio_route_irq(&nic.dev, NET_VECTOR) < 0)
		klog("virtio-net: no MSI-X: the NIC is polled on timer ticks");
	int rc = device_start(a->want, a->err, a->errcap);
	if (rc != 0)
		return rc;
	if (!d->pci && virtio_route_irq(&nic.dev, NET_VECTOR) < 0)
		klog("virtio-net: no IOAPIC for gsi %u: the NIC is polled on timer ticks", d->gsi);
	return 0;
}

int vnet_init(const uint8_t *want, char *err, size_t errcap)
{
	struct { const uint8_t *want; char *err; size_t errcap; } a = { want, err, errcap };
	int rc = virtio_probe(VIRTIO_ID_NET, probe_one, &a);
	if (rc > 0) {
		if (want)
			snprintf(err, errcap, "no virtio-net device with mac %02x:%02x:%02x:%02x:%02x:%02x",
				  want[0], want[1], want[2], want[3], want[4], want[5]);
		else
			snprintf(err, errcap, "no virtio-net device (microvm: -device virtio-net-device "
				  "with the auto kernel command line; pc/q35: -device virtio-net-pci); "
				  "command line `%.80s`", kumo_bootcfg.cmdline);
		return -1;
	}
	if (rc == 0)
		nic.found = 1;
	return rc;
}

void vnet_mac(uint8_t mac[6]) { memcpy(mac, nic.mac, 6); }
int vnet_csum_offload(void) { return nic.csum; }
int vnet_tso(void) { return nic.tso; }
uint16_t vnet_mtu(void) { return nic.mtu ? nic.mtu : 1500; }
const char *vnet_transport(void) { return nic.dev.pci ? "pci" : "mmio"; }

/* Takes back the tx descriptors the device is done with. */
static void tx_reclaim(void)
{
	struct virtq *q = &nic.tx;
	while (virtq_has_used(q)) {
		uint32_t id = virtq_pop(q).id;
		if (id < q->size) {
			if (nic.tx_pbuf[id]) {
				pbuf_free(nic.tx_pbuf[id]);
				nic.tx_pbuf[id] = NULL;
			}
			nic.tx_free[nic.ntx_free++] = (uint16_t)id;
		}
	}
}

/* The header of a frame whose first `len` bytes (at e) are contiguous: for a TCP/IPv4
 * segment with checksum offload, the checksum is left to the device (NEEDS_CSUM from the
 * TCP header on; lwIP leaves the field zero on this netif, net.c) and the field gets the
 * pseudo-header sum the device starts from; a segment longer than tso_mss is handed over
 * whole for the device to cut (GSO TCPV4; the pseudo-header sum then covers the whole
 * length, as Linux's does). Anything else: a zero header, lwIP summed it all. 0, or -1
 * when the frame is TCP but its headers are not all within len. */
static int tx_header(uint8_t *e, uint32_t len, uint32_t tot_len, struct net_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (!nic.csum || len < 14 + 20 || e[12] != 0x08 || e[13] != 0x00)
		return 0;
	uint8_t *ip = e + 14;
	uint32_t ihl = (ip[0] & 0x0fu) * 4u;
	if ((ip[0] >> 4) != 4 || ip[9] != IP_PROTO_TCP)
		return 0;
	if (len < 14 + ihl + 20 || 14 + ihl + 20 > tot_len)
		return -1;
	uint8_t *th = ip + ihl;
	uint32_t thl = (th[12] >> 4) * 4u;
	uint16_t l4 = (uint16_t)(((uint32_t)ip[2] << 8 | ip[3]) - ihl);
	ip4_addr_t src, dst;
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	/* With nothing summed, lwIP returns the complement of the pseudo-header's sum. */
	uint16_t ps = (uint16_t)~inet_chksum_pseudo_partial(NULL, IP_PROTO_TCP, l4, 0, &src, &dst);
	memcpy(th + 16, &ps, 2);
	h->flags = HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)(14 + ihl);
	h->csum_offset = 16;
	uint16_t mss = net_tso_mss();
	if (nic.tso && mss && l4 > thl + mss) {
		h->gso_type = HDR_GSO_TCPV4;
		h->gso_size = mss;
		h->hdr_len = (uint16_t)(14 + ihl + thl);
		nic.st.tx_tso++;
	}
	return 0;
}

static err_t tx_frame(struct pbuf *p);

void vnet_flush(void)
{
	if (!nic.found || !nic.tx.kick)
		return;
	uint64_t t0 = prof_begin();
	virtq_notify(&nic.dev, &nic.tx);
	prof_end(NETPROF_KICK, t0);
}

/* A frame is on the ring: the device hears of it at the next vnet_flush (every kernel
 * path that sends ends with one: one notification per burst, not per frame), or now
 * when a burst has grown long. */
static void tx_queued(void)
{
	if (nic.tx.kick >= TX_KICK_BATCH)
		vnet_flush();
}

int vnet_tx(struct netif *nif, void *pv)
{
	(void)nif;
	struct pbuf *p = pv;
	if (!nic.found)
		return ERR_IF;
	if (nic.ntx_free == 0)
		tx_reclaim();
	for (int spin = 0; nic.ntx_free == 0 && spin < 100000; spin++) {
		__asm__ volatile("pause");
		tx_reclaim();
	}
	if (nic.ntx_free == 0)
		return ERR_MEM;
	uint64_t t0 = prof_begin();
	err_t rc = tx_frame(p);
	prof_end(NETPROF_TX, t0);
	return rc;
}

/* vnet_tx with a free slot: zero-copy through an indirect table, else a bounce buffer. */
static err_t tx_frame(struct pbuf *p)
{
	uint16_t id = nic.tx_free[--nic.ntx_free];
	uint8_t *b = (uint8_t *)(uintptr_t)(nic.tx_bufs + (size_t)id * BUF_SIZE);
	nic.st.tx_pkts++;
	nic.st.tx_bytes += p->tot_len;
	if (nic.indirect) {
		/* Zero-copy: the device reads the pbufs in place (identity-mapped kernel
		 * memory); lwIP does not touch a segment whose pbuf we still hold. */
		struct virtq_desc *t = nic.tx_tables + (size_t)id * TX_SEGS;
		int k = 1;
		struct pbuf *q;
		for (q = p; q && k < TX_SEGS; q = q->next) {
			if ((uintptr_t)q->payload >= (512ull << 30))
				break;
			if (q->len == 0)
				continue;
			t[k].addr = (uintptr_t)q->payload;
			t[k].len = q->len;
			t[k].flags = 0;
			t[k - 1].next = (uint16_t)k;
			t[k - 1].flags = VIRTQ_DESC_F_NEXT;
			k++;
		}
		struct net_hdr h;
		if (!q && tx_header(p->payload, p->len, p->tot_len, &h) == 0) {
			memset(b, 0, HDR_LEN);
			memcpy(b, &h, sizeof(h));
			t[0].addr = (uintptr_t)b;
			t[0].len = HDR_LEN;
			t[k - 1].flags = 0;
			pbuf_ref(p);
			nic.tx_pbuf[id] = p;
			nic.tx.desc[id].addr = (uintptr_t)t;
			nic.tx.desc[id].len = (uint32_t)(k * sizeof(struct virtq_desc));
			nic.tx.desc[id].flags = VIRTQ_DESC_F_INDIRECT;
			virtq_push(&nic.tx, id);
			tx_queued();
			LINK_STATS_INC(link.xmit);
			return ERR_OK;
		}
	}
	/* Copied into the slot's buffer: one frame at most (no TSO this way). */
	if (p->tot_len > BUF_SIZE - HDR_LEN) {
		nic.tx_free[nic.ntx_free++] = id;
		return ERR_BUF;
	}
	nic.st.tx_copied++;
	memset(b, 0, HDR_LEN);
	pbuf_copy_partial(p, b + HDR_LEN, p->tot_len, 0);
	struct net_hdr h;
	tx_header(b + HDR_LEN, p->tot_len, p->tot_len, &h);
	memcpy(b, &h, sizeof(h));
	nic.tx.desc[id].addr = (uintptr_t)b;
	nic.tx.desc[id].len = HDR_LEN + p->tot_len;
	nic.tx.desc[id].flags = 0;
	virtq_push(&nic.tx, id);
	tx_queued();
	LINK_STATS_INC(link.xmit);
	return ERR_OK;
}

int vnet_arm(void)
{
	if (!nic.found)
		return 0;
	nic.st.arms++;
	virtq_suppress_irq(&nic.rx, 0);
	/* Acknowledge what raised the line before: what arrives from now on raises a new
	 * edge. */
	virtio_irq_ack(&nic.dev);
	if (virtq_has_used(&nic.rx)) {
		virtq_suppress_irq(&nic.rx, 1);
		nic.st.arm_hits++;
		return 1;
	}
	nic.armed = 1;
	nic.arm_tsc = prof_begin();
	return 0;
}

void vnet_disarm(void)
{
	if (!nic.armed)
		return;
	nic.armed = 0;
	virtq_suppress_irq(&nic.rx, 1);
	prof_end(NETPROF_IDLE, nic.arm_tsc);
}

void vnet_stats(struct vnet_stats *out)
{
	*out = nic.st;
	out->tx_kicks = nic.tx.notified;
	out->tx_kicks_skipped = nic.tx.suppressed;
	out->rx_kicks = nic.rx.notified;
	out->rx_kicks_skipped = nic.rx.suppressed;
}

void vnet_poll(struct netif *nif)
{
	if (!nic.found)
		return;
	vnet_disarm(); /* the kernel runs: it polls */
	tx_reclaim();
	struct virtq *q = &nic.rx;
	while (virtq_has_used(q)) {
		struct virtq_used_elem e = virtq_pop(q);
		if (e.id >= q->size)
			continue;
		uint16_t id = (uint16_t)e.id;
		uint8_t *b = (uint8_t *)(uintptr_t)q->desc[id].addr;
		uint32_t len = e.len > HDR_LEN ? e.len - HDR_LEN : 0;
		if (len == 0 || len > BUF_SIZE - HDR_LEN) {
			rx_post(id);
			continue;
		}
		struct pbuf *p;
		if (nic.lent < q->size / 2) {
			/* Zero-copy: lwIP holds the buffer until it frees the pbuf. */
			p = pbuf_alloced_custom(PBUF_RAW, (u16_t)len, PBUF_REF, &nic.rxb[id].pc,
						b + HDR_LEN, BUF_SIZE - HDR_LEN);
			if (p)
				nic.lent++;
			else
				rx_post(id);
		} else {
			/* Too many buffers held (a slow reader): copy, keep the ring full. */
			p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
			if (p)
				pbuf_take(p, b + HDR_LEN, (u16_t)len);
			rx_post(id);
		}
		if (!p) {
			LINK_STATS_INC(link.memerr);
			continue;
		}
		LINK_STATS_INC(link.recv);
		nic.st.rx_pkts++;
		if (nif->input(p, nif) != ERR_OK)
			pbuf_free(p);
	}
	if (q->kick)
		virtq_notify(&nic.dev, q);
}
