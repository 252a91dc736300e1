/* kernel/os/virtio_net.c - virtio-net over MMIO (microvm; virtio 1.x or QEMU's default legacy interface) or PCI (pc/q35, virtio 1.x): split rings, interrupt-driven, rx buffers lent to lwIP in place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

#define VIRTIO_F_VERSION_1 (1ull << 32)
#define VIRTIO_NET_F_MTU (1ull << 3)
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define DESC_F_NEXT 1
#define DESC_F_INDIRECT 4
#define TX_SEGS 16 /* entries of a tx slot's indirect table: header + 15 pbufs */
#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_FAILED 128
#define DESC_F_WRITE 2

#define QSIZE_MAX 128 /* descriptors (= buffers) per queue */
#define BUF_SIZE 2048 /* one frame (1514) + the 12-byte header fits */
#define HDR_MAX 12    /* struct virtio_net_hdr with num_buffers (VERSION_1); legacy: 10 */
#define HDR_LEN nic.hdr_len

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct vavail {
	uint16_t flags, idx;
	uint16_t ring[];
};
struct vused_elem {
	uint32_t id, len;
};
struct vused {
	uint16_t flags, idx;
	struct vused_elem ring[];
};

struct vq {
	uint16_t index, size;
	struct vdesc *desc;
	struct vavail *avail;
	struct vused *used;
	uint16_t last_used;
	uintptr_t notify;   /* PCI: the queue's notify address; MMIO: QueueNotify */
	uint8_t *bufs;      /* size * BUF_SIZE */
	int kick;           /* buffers added since the last notify */
};

/* A received buffer lent to lwIP: freed back onto the rx ring. */
struct rxbuf {
	struct pbuf_custom pc;
	uint16_t id;
};

static struct {
	int found;
	int pci;
	int legacy;                     /* virtio-mmio version 1 (QEMU's default) */
	uint32_t hdr_len;               /* 12, or 10 for a legacy device */
	uintptr_t mmio;                 /* MMIO register base */
	uintptr_t common, isr, devcfg;  /* PCI capability windows */
	uintptr_t notify_base;
	uint32_t notify_mul;
	uint8_t mac[6];
	uint16_t mtu;
	struct vq rx, tx;
	struct rxbuf *rxb;
	int lent;                       /* rx buffers held by lwIP */
	uint16_t tx_free[QSIZE_MAX];    /* free tx descriptor ids */
	int ntx_free;
	int indirect;                   /* zero-copy tx through indirect tables */
	struct vdesc *tx_tables;        /* TX_SEGS entries per tx slot */
	struct pbuf *tx_pbuf[QSIZE_MAX]; /* held until the device is done */
} nic;

static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mfence(void) { __asm__ volatile("mfence" ::: "memory"); }

/* ---- transport: MMIO registers (virtio-mmio version 2) ---- */
#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEV_FEATURES 0x010
#define MMIO_DEV_FEATURES_SEL 0x014
#define MMIO_DRV_FEATURES 0x020
#define MMIO_DRV_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_GUEST_PAGE_SIZE 0x028 /* legacy */
#define MMIO_QUEUE_ALIGN 0x03c      /* legacy */
#define MMIO_QUEUE_PFN 0x040        /* legacy */
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INT_STATUS 0x060
#define MMIO_INT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080
#define MMIO_QUEUE_DRIVER 0x090
#define MMIO_QUEUE_DEVICE 0x0a0
#define MMIO_CONFIG 0x100

/* ---- transport: PCI common configuration (virtio_pci_common_cfg) ---- */
#define PC_DFSELECT 0x00
#define PC_DF 0x04
#define PC_GFSELECT 0x08
#define PC_GF 0x0c
#define PC_MSIX_CONFIG 0x10
#define PC_STATUS 0x14
#define PC_Q_SELECT 0x16
#define PC_Q_SIZE 0x18
#define PC_Q_MSIX 0x1a
#define PC_Q_ENABLE 0x1c
#define PC_Q_NOFF 0x1e
#define PC_Q_DESC 0x20
#define PC_Q_DRIVER 0x28
#define PC_Q_DEVICE 0x30

static uint8_t get_status(void)
{
	return nic.pci ? mmio_read8(nic.common + PC_STATUS) : (uint8_t)mmio_read32(nic.mmio + MMIO_STATUS);
}

static void set_status(uint8_t s)
{
	if (nic.pci)
		mmio_write8(nic.common + PC_STATUS, s);
	else
		mmio_write32(nic.mmio + MMIO_STATUS, s);
}

static uint64_t dev_features(void)
{
	uint64_t f = 0;
	for (uint32_t i = 0; i < 2; i++) {
		if (nic.pci) {
			mmio_write32(nic.common + PC_DFSELECT, i);
			f |= (uint64_t)mmio_read32(nic.common + PC_DF) << (32 * i);
		} else {
			mmio_write32(nic.mmio + MMIO_DEV_FEATURES_SEL, i);
			f |= (uint64_t)mmio_read32(nic.mmio + MMIO_DEV_FEATURES) << (32 * i);
		}
	}
	return f;
}

static void drv_features(uint64_t f)
{
	for (uint32_t i = 0; i < 2; i++) {
		if (nic.pci) {
			mmio_write32(nic.common + PC_GFSELECT, i);
			mmio_write32(nic.common + PC_GF, (uint32_t)(f >> (32 * i)));
		} else {
			mmio_write32(nic.mmio + MMIO_DRV_FEATURES_SEL, i);
			mmio_write32(nic.mmio + MMIO_DRV_FEATURES, (uint32_t)(f >> (32 * i)));
		}
	}
}

static uint8_t cfg8(int off)
{
	return nic.pci ? mmio_read8(nic.devcfg + off) : mmio_read8(nic.mmio + MMIO_CONFIG + off);
}

/* Allocates and registers queue `index`; 0 or -1. */
static int queue_setup(struct vq *q, uint16_t index, char *err, size_t errcap)
{
	uint32_t max;
	if (nic.pci) {
		mmio_write16(nic.common + PC_Q_SELECT, index);
		max = mmio_read16(nic.common + PC_Q_SIZE);
	} else {
		mmio_write32(nic.mmio + MMIO_QUEUE_SEL, index);
		max = mmio_read32(nic.mmio + MMIO_QUEUE_NUM_MAX);
	}
	if (max == 0) {
		snprintf(err, errcap, "virtio-net: queue %u does not exist", index);
		return -1;
	}
	uint16_t size = max < QSIZE_MAX ? (uint16_t)max : QSIZE_MAX;
	/* Rings in one page run: descriptors, then avail, then used (4-byte aligned). */
	size_t dlen = 16u * size, alen = 6 + 2u * size, ulen = 6 + 8u * size;
	size_t uoff = (dlen + alen + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); /* legacy: page-aligned */
	size_t pages = (uoff + ulen + PAGE_SIZE - 1) / PAGE_SIZE;
	uint8_t *ring = page_alloc(pages);
	uint8_t *bufs = page_alloc((size_t)size * BUF_SIZE / PAGE_SIZE);
	if (!ring || !bufs) {
		snprintf(err, errcap, "virtio-net: no memory for queue %u", index);
		return -1;
	}
	q->index = index;
	q->size = size;
	q->desc = (struct vdesc *)ring;
	q->avail = (struct vavail *)(ring + dlen);
	q->used = (struct vused *)(ring + uoff);
	q->bufs = bufs;
	for (uint16_t i = 0; i < size; i++) {
		q->desc[i].addr = (uintptr_t)(bufs + (size_t)i * BUF_SIZE);
		q->desc[i].len = BUF_SIZE;
	}
	if (nic.pci) {
		mmio_write16(nic.common + PC_Q_SIZE, size);
		*(volatile uint64_t *)(nic.common + PC_Q_DESC) = (uintptr_t)q->desc;
		*(volatile uint64_t *)(nic.common + PC_Q_DRIVER) = (uintptr_t)q->avail;
		*(volatile uint64_t *)(nic.common + PC_Q_DEVICE) = (uintptr_t)q->used;
		mmio_write16(nic.common + PC_Q_MSIX, 0);
		if (mmio_read16(nic.common + PC_Q_MSIX) != 0)
			klog("virtio-net: queue %u has no MSI-X vector", index);
		q->notify = nic.notify_base + (uintptr_t)mmio_read16(nic.common + PC_Q_NOFF) * nic.notify_mul;
		mmio_write16(nic.common + PC_Q_ENABLE, 1);
	} else if (nic.legacy) {
		mmio_write32(nic.mmio + MMIO_QUEUE_NUM, size);
		mmio_write32(nic.mmio + MMIO_QUEUE_ALIGN, PAGE_SIZE);
		mmio_write32(nic.mmio + MMIO_QUEUE_PFN, (uint32_t)((uintptr_t)ring / PAGE_SIZE));
		q->notify = nic.mmio + MMIO_QUEUE_NOTIFY;
	} else {
		mmio_write32(nic.mmio + MMIO_QUEUE_NUM, size);
		mmio_write32(nic.mmio + MMIO_QUEUE_DESC, (uint32_t)(uintptr_t)q->desc);
		mmio_write32(nic.mmio + MMIO_QUEUE_DESC + 4, (uint32_t)((uintptr_t)q->desc >> 32));
		mmio_write32(nic.mmio + MMIO_QUEUE_DRIVER, (uint32_t)(uintptr_t)q->avail);
		mmio_write32(nic.mmio + MMIO_QUEUE_DRIVER + 4, (uint32_t)((uintptr_t)q->avail >> 32));
		mmio_write32(nic.mmio + MMIO_QUEUE_DEVICE, (uint32_t)(uintptr_t)q->used);
		mmio_write32(nic.mmio + MMIO_QUEUE_DEVICE + 4, (uint32_t)((uintptr_t)q->used >> 32));
		mmio_write32(nic.mmio + MMIO_QUEUE_READY, 1);
		q->notify = nic.mmio + MMIO_QUEUE_NOTIFY;
	}
	return 0;
}

static void notify(struct vq *q)
{
	mfence();
	if (nic.pci)
		mmio_write16(q->notify, q->index);
	else
		mmio_write32(q->notify, q->index);
	q->kick = 0;
}

/* Puts descriptor id on the avail ring (not yet notified). */
static void avail_push(struct vq *q, uint16_t id)
{
	uint16_t i = q->avail->idx;
	q->avail->ring[i % q->size] = id;
	barrier();
	q->avail->idx = (uint16_t)(i + 1);
	q->kick++;
}

static void rx_post(uint16_t id)
{
	nic.rx.desc[id].len = BUF_SIZE;
	nic.rx.desc[id].flags = DESC_F_WRITE;
	avail_push(&nic.rx, id);
}

static void rx_custom_free(struct pbuf *p)
{
	struct rxbuf *b = (struct rxbuf *)p;
	nic.lent--;
	rx_post(b->id);
}

static int device_setup(uint64_t want_f, const uint8_t *want, char *err, size_t errcap);

/* Negotiates features and sets up both queues on a device whose registers are set. */
static int device_start(const uint8_t *want, char *err, size_t errcap)
{
	set_status(0); /* reset */
	while (get_status() != 0)
		__asm__ volatile("pause");
	set_status(ST_ACK);
	set_status(ST_ACK | ST_DRIVER);
	uint64_t f = dev_features();
	nic.hdr_len = nic.legacy ? 10 : 12;
	if (nic.legacy) {
		/* Legacy virtio-mmio: 32 feature bits, no FEATURES_OK, page-frame queues. */
		uint64_t lf = f & (VIRTIO_NET_F_MAC | VIRTIO_F_INDIRECT_DESC);
		mmio_write32(nic.mmio + MMIO_DRV_FEATURES_SEL, 0);
		mmio_write32(nic.mmio + MMIO_DRV_FEATURES, (uint32_t)lf);
		mmio_write32(nic.mmio + MMIO_GUEST_PAGE_SIZE, PAGE_SIZE);
		return device_setup(lf, want, err, errcap);
	}
	if (!(f & VIRTIO_F_VERSION_1)) {
		set_status(ST_FAILED);
		snprintf(err, errcap, "virtio-net: the device is legacy-only (QEMU: "
			  "-global virtio-mmio.force-legacy=false, or disable-legacy=on for PCI)");
		return -1;
	}
	uint64_t want_f = VIRTIO_F_VERSION_1 |
			  (f & (VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU | VIRTIO_F_INDIRECT_DESC));
	drv_features(want_f);
	set_status(ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(get_status() & ST_FEATURES_OK)) {
		set_status(ST_FAILED);
		snprintf(err, errcap, "virtio-net: the device refused features %#llx",
			  (unsigned long long)want_f);
		return -1;
	}
	return device_setup(want_f, want, err, errcap);
}

/* MAC, MTU, queues, DRIVER_OK, once features are agreed. */
static int device_setup(uint64_t want_f, const uint8_t *want, char *err, size_t errcap)
{
	uint8_t st = get_status();
	for (int i = 0; i < 6; i++)
		nic.mac[i] = (want_f & VIRTIO_NET_F_MAC) ? cfg8(i) : 0;
	if (!(want_f & VIRTIO_NET_F_MAC)) {
		uint8_t r[6];
		random_get(r, sizeof(r));
		nic.mac[0] = 0x52, nic.mac[1] = 0x54, nic.mac[2] = 0x00;
		memcpy(nic.mac + 3, r, 3);
	}
	if (want && memcmp(want, nic.mac, 6) != 0) {
		set_status(ST_FAILED);
		return 1; /* not the NIC we are looking for */
	}
	nic.mtu = (want_f & VIRTIO_NET_F_MTU) ? (uint16_t)(cfg8(10) | cfg8(11) << 8) : 1500;
	if (queue_setup(&nic.rx, 0, err, errcap) < 0 || queue_setup(&nic.tx, 1, err, errcap) < 0) {
		set_status(ST_FAILED);
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
	if (want_f & VIRTIO_F_INDIRECT_DESC) {
		size_t bytes = (size_t)nic.tx.size * TX_SEGS * sizeof(struct vdesc);
		nic.tx_tables = page_alloc((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
		nic.indirect = nic.tx_tables != NULL;
	}
	set_status(st | ST_DRIVER_OK);
	notify(&nic.rx);
	return 0;
}

/* Parses a number with an optional 0x prefix and K/M/G suffix. */
static uint64_t parse_num(const char **sp)
{
	char *end;
	uint64_t v = strtoull(*sp, &end, 0);
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		v <<= 30, end++;
	*sp = end;
	return v;
}

/* One virtio-mmio transport: 0 when it is our NIC (started), 1 when not, -1 on error. */
static int mmio_try(uint64_t base, uint32_t gsi, const uint8_t *want, char *err, size_t errcap)
{
	if (vm_map_mmio(base, 4096) < 0)
		return 1;
	uintptr_t r = (uintptr_t)base;
	if (mmio_read32(r + MMIO_MAGIC) != 0x74726976u || mmio_read32(r + MMIO_DEVICE_ID) != 1)
		return 1;
	nic.pci = 0;
	nic.mmio = r;
	nic.legacy = mmio_read32(r + MMIO_VERSION) < 2;
	int rc = device_start(want, err, errcap);
	if (rc != 0)
		return rc;
	if (ioapic_route(gsi, NET_VECTOR) < 0)
		klog("virtio-net: no IOAPIC for gsi %u: the NIC is polled on timer ticks", gsi);
	return 0;
}

/* virtio-mmio transports: virtio_mmio.device=<size>@<base>:<irq> entries of the
 * command line (microvm without ACPI), then the DSDT's (microvm with ACPI). */
static int probe_mmio(const uint8_t *want, char *err, size_t errcap)
{
	static const char key[] = "virtio_mmio.device=";
	const char *s = kumo_bootcfg.cmdline;
	while ((s = strstr(s, key)) != NULL) {
		s += sizeof(key) - 1;
		(void)parse_num(&s);
		if (*s++ != '@')
			continue;
		uint64_t base = parse_num(&s);
		if (*s++ != ':')
			continue;
		uint64_t irq = parse_num(&s);
		int rc = mmio_try(base, ioapic_gsi_of_isa((uint32_t)irq), want, err, errcap);
		if (rc <= 0)
			return rc;
	}
	uint64_t bases[32];
	uint32_t irqs[32];
	int n = acpi_virtio_mmio(bases, irqs, 32);
	for (int i = 0; i < n; i++) {
		int rc = mmio_try(bases[i], irqs[i], want, err, errcap);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

static int pci_try(int bus, int dev, int fn, const uint8_t *want, char *err, size_t errcap)
{
	uint32_t id = pci_read32(bus, dev, fn, 0);
	uint16_t vendor = (uint16_t)id, device = (uint16_t)(id >> 16);
	if (vendor != 0x1af4 || (device != 0x1041 && device != 0x1000))
		return 1;
	if (device == 0x1000 && pci_read16(bus, dev, fn, 0x2e) != 1)
		return 1; /* transitional: subsystem id 1 = network */
	if (!(pci_read16(bus, dev, fn, 0x06) & 0x10))
		return 1; /* no capability list */
	uintptr_t common = 0, isr = 0, devcfg = 0, notify = 0;
	uint32_t mul = 0;
	int msix = 0;
	for (int cap = pci_read8(bus, dev, fn, 0x34) & 0xfc, n = 0; cap && n < 48;
	     cap = pci_read8(bus, dev, fn, cap + 1) & 0xfc, n++) {
		uint8_t cid = pci_read8(bus, dev, fn, cap);
		if (cid == 0x11) {
			msix = cap;
			continue;
		}
		if (cid != 0x09)
			continue;
		uint8_t type = pci_read8(bus, dev, fn, cap + 3), bar = pci_read8(bus, dev, fn, cap + 4);
		uint32_t off = pci_read32(bus, dev, fn, cap + 8);
		uint64_t base = pci_bar(bus, dev, fn, bar);
		if (!base)
			continue;
		uintptr_t a = (uintptr_t)(base + off);
		if (type == 1 && !common)
			common = a;
		else if (type == 2 && !notify) {
			notify = a;
			mul = pci_read32(bus, dev, fn, cap + 16);
		} else if (type == 3 && !isr)
			isr = a;
		else if (type == 4 && !devcfg)
			devcfg = a;
	}
	if (!common || !notify || !devcfg) {
		snprintf(err, errcap, "virtio-net at pci %02x:%02x.%x has no modern (virtio 1.x) "
			  "capabilities (QEMU: disable-modern=off)", bus, dev, fn);
		return -1;
	}
	/* Memory space and bus mastering on, INTx off. */
	pci_write16(bus, dev, fn, 0x04, (uint16_t)(pci_read16(bus, dev, fn, 0x04) | 0x406));
	if (msix) {
		uint32_t tbl = pci_read32(bus, dev, fn, msix + 4);
		uint64_t tb = pci_bar(bus, dev, fn, (int)(tbl & 7));
		if (tb) {
			uintptr_t e = (uintptr_t)(tb + (tbl & ~7u));
			mmio_write32(e + 0, 0xfee00000u | lapic_id() << 12);
			mmio_write32(e + 4, 0);
			mmio_write32(e + 8, NET_VECTOR);
			mmio_write32(e + 12, 0);
			uint16_t ctl = pci_read16(bus, dev, fn, msix + 2);
			pci_write16(bus, dev, fn, msix + 2, (uint16_t)((ctl | 0x8000) & ~0x4000));
		}
	} else {
		klog("virtio-net: no MSI-X: the NIC is polled on timer ticks");
	}
	nic.pci = 1;
	nic.legacy = 0;
	nic.common = common;
	nic.isr = isr;
	nic.devcfg = devcfg;
	nic.notify_base = notify;
	nic.notify_mul = mul;
	mmio_write16(common + PC_MSIX_CONFIG, 0xffff);
	return device_start(want, err, errcap);
}

static int probe_pci(const uint8_t *want, char *err, size_t errcap)
{
	if (pci_read32(0, 0, 0, 0) == 0xffffffffu)
		return 1; /* no PCI bus (microvm) */
	for (int bus = 0; bus < 4; bus++)
		for (int dev = 0; dev < 32; dev++)
			for (int fn = 0; fn < 8; fn++) {
				if (pci_read16(bus, dev, fn, 0) == 0xffff) {
					if (fn == 0)
						break;
					continue;
				}
				int rc = pci_try(bus, dev, fn, want, err, errcap);
				if (rc <= 0)
					return rc;
				if (fn == 0 && !(pci_read8(bus, dev, 0, 0x0e) & 0x80))
					break;
			}
	return 1;
}

int vnet_init(const uint8_t *want, char *err, size_t errcap)
{
	int rc = probe_mmio(want, err, errcap);
	if (rc > 0)
		rc = probe_pci(want, err, errcap);
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
uint16_t vnet_mtu(void) { return nic.mtu ? nic.mtu : 1500; }
const char *vnet_transport(void) { return nic.pci ? "pci" : "mmio"; }

/* Takes back the tx descriptors the device is done with. */
static void tx_reclaim(void)
{
	struct vq *q = &nic.tx;
	while (q->last_used != q->used->idx) {
		barrier();
		uint32_t id = q->used->ring[q->last_used % q->size].id;
		q->last_used++;
		if (id < q->size) {
			if (nic.tx_pbuf[id]) {
				pbuf_free(nic.tx_pbuf[id]);
				nic.tx_pbuf[id] = NULL;
			}
			nic.tx_free[nic.ntx_free++] = (uint16_t)id;
		}
	}
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
	if (p->tot_len > BUF_SIZE - HDR_LEN)
		return ERR_BUF;
	uint16_t id = nic.tx_free[--nic.ntx_free];
	uint8_t *b = (uint8_t *)(uintptr_t)(nic.tx.bufs + (size_t)id * BUF_SIZE);
	if (nic.indirect) {
		/* Zero-copy: the device reads the pbufs in place (identity-mapped kernel
		 * memory); lwIP does not touch a segment whose pbuf we still hold. */
		struct vdesc *t = nic.tx_tables + (size_t)id * TX_SEGS;
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
			t[k - 1].flags = DESC_F_NEXT;
			k++;
		}
		if (!q) {
			memset(b, 0, HDR_LEN);
			t[0].addr = (uintptr_t)b;
			t[0].len = HDR_LEN;
			t[k - 1].flags = 0;
			pbuf_ref(p);
			nic.tx_pbuf[id] = p;
			nic.tx.desc[id].addr = (uintptr_t)t;
			nic.tx.desc[id].len = (uint32_t)(k * sizeof(struct vdesc));
			nic.tx.desc[id].flags = DESC_F_INDIRECT;
			avail_push(&nic.tx, id);
			notify(&nic.tx);
			LINK_STATS_INC(link.xmit);
			return ERR_OK;
		}
	}
	memset(b, 0, HDR_LEN);
	pbuf_copy_partial(p, b + HDR_LEN, p->tot_len, 0);
	nic.tx.desc[id].addr = (uintptr_t)b;
	nic.tx.desc[id].len = HDR_LEN + p->tot_len;
	nic.tx.desc[id].flags = 0;
	avail_push(&nic.tx, id);
	notify(&nic.tx);
	LINK_STATS_INC(link.xmit);
	return ERR_OK;
}

void vnet_poll(struct netif *nif)
{
	if (!nic.found)
		return;
	/* Acknowledge first: what arrives while we drain raises a new edge. */
	if (!nic.pci) {
		uint32_t st = mmio_read32(nic.mmio + MMIO_INT_STATUS);
		if (st)
			mmio_write32(nic.mmio + MMIO_INT_ACK, st);
	} else if (nic.isr) {
		(void)mmio_read8(nic.isr);
	}
	tx_reclaim();
	struct vq *q = &nic.rx;
	while (q->last_used != q->used->idx) {
		barrier();
		struct vused_elem e = q->used->ring[q->last_used % q->size];
		q->last_used++;
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
		if (nif->input(p, nif) != ERR_OK)
			pbuf_free(p);
	}
	if (q->kick)
		notify(q);
}
