/* kernel/os/virtio.c - the virtio transport (virtio-mmio modern and legacy, virtio-pci modern) shared by the kernel's virtio drivers: discovery, negotiation, split queues, notification, interrupts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/virtio.h"

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_FAILED 128

/* ---- virtio-mmio registers (version 2; version 1 where marked legacy) ---- */
#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEV_FEATURES 0x010
#define MMIO_DEV_FEATURES_SEL 0x014
#define MMIO_DRV_FEATURES 0x020
#define MMIO_DRV_FEATURES_SEL 0x024
#define MMIO_GUEST_PAGE_SIZE 0x028 /* legacy */
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_ALIGN 0x03c     /* legacy */
#define MMIO_QUEUE_PFN 0x040       /* legacy */
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INT_STATUS 0x060
#define MMIO_INT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080
#define MMIO_QUEUE_DRIVER 0x090
#define MMIO_QUEUE_DEVICE 0x0a0
#define MMIO_CONFIG 0x100

/* ---- virtio-pci common configuration (virtio_pci_common_cfg) ---- */
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

static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mfence(void) { __asm__ volatile("mfence" ::: "memory"); }

static const char *type_name(uint32_t type)
{
	return type == VIRTIO_ID_NET ? "virtio-net" : type == VIRTIO_ID_9P ? "virtio-9p" : "virtio";
}

static uint8_t get_status(struct virtio_dev *d)
{
	return d->pci ? mmio_read8(d->common + PC_STATUS) : (uint8_t)mmio_read32(d->mmio + MMIO_STATUS);
}

static void set_status(struct virtio_dev *d, uint8_t s)
{
	if (d->pci)
		mmio_write8(d->common + PC_STATUS, s);
	else
		mmio_write32(d->mmio + MMIO_STATUS, s);
}

static uint64_t dev_features(struct virtio_dev *d)
{
	uint64_t f = 0;
	for (uint32_t i = 0; i < 2; i++) {
		if (d->pci) {
			mmio_write32(d->common + PC_DFSELECT, i);
			f |= (uint64_t)mmio_read32(d->common + PC_DF) << (32 * i);
		} else {
			mmio_write32(d->mmio + MMIO_DEV_FEATURES_SEL, i);
			f |= (uint64_t)mmio_read32(d->mmio + MMIO_DEV_FEATURES) << (32 * i);
		}
	}
	return f;
}

static void drv_features(struct virtio_dev *d, uint64_t f)
{
	for (uint32_t i = 0; i < 2; i++) {
		if (d->pci) {
			mmio_write32(d->common + PC_GFSELECT, i);
			mmio_write32(d->common + PC_GF, (uint32_t)(f >> (32 * i)));
		} else {
			mmio_write32(d->mmio + MMIO_DRV_FEATURES_SEL, i);
			mmio_write32(d->mmio + MMIO_DRV_FEATURES, (uint32_t)(f >> (32 * i)));
		}
	}
}

uint8_t virtio_cfg8(struct virtio_dev *d, uint32_t off)
{
	return d->pci ? mmio_read8(d->devcfg + off) : mmio_read8(d->mmio + MMIO_CONFIG + off);
}

void virtio_fail(struct virtio_dev *d)
{
	set_status(d, ST_FAILED);
}

int virtio_negotiate(struct virtio_dev *d, uint64_t want, uint64_t *agreed, char *err,
		     size_t errcap)
{
	set_status(d, 0); /* reset */
	while (get_status(d) != 0)
		__asm__ volatile("pause");
	set_status(d, ST_ACK);
	set_status(d, ST_ACK | ST_DRIVER);
	uint64_t f = dev_features(d);
	if (d->legacy) {
		/* Legacy virtio-mmio: 32 feature bits, no FEATURES_OK, page-frame queues. */
		uint64_t lf = f & want & 0xffffffffull;
		mmio_write32(d->mmio + MMIO_DRV_FEATURES_SEL, 0);
		mmio_write32(d->mmio + MMIO_DRV_FEATURES, (uint32_t)lf);
		mmio_write32(d->mmio + MMIO_GUEST_PAGE_SIZE, PAGE_SIZE);
		*agreed = lf;
		return 0;
	}
	if (!(f & VIRTIO_F_VERSION_1)) {
		set_status(d, ST_FAILED);
		snprintf(err, errcap, "%s: the device is legacy-only (QEMU: "
			  "-global virtio-mmio.force-legacy=false, or disable-legacy=on for PCI)",
			  type_name(d->type));
		return -1;
	}
	uint64_t w = VIRTIO_F_VERSION_1 | (f & want);
	drv_features(d, w);
	set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(get_status(d) & ST_FEATURES_OK)) {
		set_status(d, ST_FAILED);
		snprintf(err, errcap, "%s: the device refused features %#llx", type_name(d->type),
			  (unsigned long long)w);
		return -1;
	}
	*agreed = w;
	return 0;
}

int virtio_queue_setup(struct virtio_dev *d, struct virtq *q, uint16_t index, uint16_t max_size,
		       char *err, size_t errcap)
{
	uint32_t max;
	if (d->pci) {
		mmio_write16(d->common + PC_Q_SELECT, index);
		max = mmio_read16(d->common + PC_Q_SIZE);
	} else {
		mmio_write32(d->mmio + MMIO_QUEUE_SEL, index);
		max = mmio_read32(d->mmio + MMIO_QUEUE_NUM_MAX);
	}
	if (max == 0) {
		snprintf(err, errcap, "%s: queue %u does not exist", type_name(d->type), index);
		return -1;
	}
	uint16_t size = max < max_size ? (uint16_t)max : max_size;
	/* Rings in one page run: descriptors, then avail, then used (page-aligned, as the
	 * legacy interface requires). */
	size_t dlen = 16u * size, alen = 6 + 2u * size, ulen = 6 + 8u * size;
	size_t uoff = (dlen + alen + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	size_t pages = (uoff + ulen + PAGE_SIZE - 1) / PAGE_SIZE;
	uint8_t *ring = page_alloc(pages);
	if (!ring) {
		snprintf(err, errcap, "%s: no memory for queue %u", type_name(d->type), index);
		return -1;
	}
	memset(q, 0, sizeof(*q));
	q->index = index;
	q->size = size;
	q->desc = (struct virtq_desc *)ring;
	q->avail = (struct virtq_avail *)(ring + dlen);
	q->used = (struct virtq_used *)(ring + uoff);
	if (d->pci) {
		mmio_write16(d->common + PC_Q_SIZE, size);
		*(volatile uint64_t *)(d->common + PC_Q_DESC) = (uintptr_t)q->desc;
		*(volatile uint64_t *)(d->common + PC_Q_DRIVER) = (uintptr_t)q->avail;
		*(volatile uint64_t *)(d->common + PC_Q_DEVICE) = (uintptr_t)q->used;
		mmio_write16(d->common + PC_Q_MSIX, d->msix_on ? 0 : 0xffff);
		if (d->msix_on && mmio_read16(d->common + PC_Q_MSIX) != 0)
			klog("%s: queue %u has no MSI-X vector", type_name(d->type), index);
		q->notify = d->notify_base + (uintptr_t)mmio_read16(d->common + PC_Q_NOFF) * d->notify_mul;
		mmio_write16(d->common + PC_Q_ENABLE, 1);
	} else if (d->legacy) {
		mmio_write32(d->mmio + MMIO_QUEUE_NUM, size);
		mmio_write32(d->mmio + MMIO_QUEUE_ALIGN, PAGE_SIZE);
		mmio_write32(d->mmio + MMIO_QUEUE_PFN, (uint32_t)((uintptr_t)ring / PAGE_SIZE));
		q->notify = d->mmio + MMIO_QUEUE_NOTIFY;
	} else {
		mmio_write32(d->mmio + MMIO_QUEUE_NUM, size);
		mmio_write32(d->mmio + MMIO_QUEUE_DESC, (uint32_t)(uintptr_t)q->desc);
		mmio_write32(d->mmio + MMIO_QUEUE_DESC + 4, (uint32_t)((uintptr_t)q->desc >> 32));
		mmio_write32(d->mmio + MMIO_QUEUE_DRIVER, (uint32_t)(uintptr_t)q->avail);
		mmio_write32(d->mmio + MMIO_QUEUE_DRIVER + 4, (uint32_t)((uintptr_t)q->avail >> 32));
		mmio_write32(d->mmio + MMIO_QUEUE_DEVICE, (uint32_t)(uintptr_t)q->used);
		mmio_write32(d->mmio + MMIO_QUEUE_DEVICE + 4, (uint32_t)((uintptr_t)q->used >> 32));
		mmio_write32(d->mmio + MMIO_QUEUE_READY, 1);
		q->notify = d->mmio + MMIO_QUEUE_NOTIFY;
	}
	return 0;
}

void virtio_driver_ok(struct virtio_dev *d)
{
	set_status(d, (uint8_t)(get_status(d) | ST_DRIVER_OK));
}

void virtq_push(struct virtq *q, uint16_t id)
{
	uint16_t i = q->avail->idx;
	q->avail->ring[i % q->size] = id;
	barrier();
	q->avail->idx = (uint16_t)(i + 1);
	q->kick++;
}

void virtq_notify(struct virtio_dev *d, struct virtq *q)
{
	/* The fence orders our avail->idx store before the flags load: a device that
	 * turns notifications back on re-checks avail->idx after it (virtio 1.x
	 * 2.7.10), so one of the two sides sees the new buffers. */
	mfence();
	if (*(volatile uint16_t *)&q->used->flags & VIRTQ_USED_F_NO_NOTIFY) {
		q->kick = 0;
		q->suppressed++;
		return;
	}
	q->notified++;
	if (d->pci)
		mmio_write16(q->notify, q->index);
	else
		mmio_write32(q->notify, q->index);
	q->kick = 0;
}

void virtq_suppress_irq(struct virtq *q, int on)
{
	*(volatile uint16_t *)&q->avail->flags = on ? VIRTQ_AVAIL_F_NO_INTERRUPT : 0;
	mfence();
}

struct virtq_used_elem virtq_pop(struct virtq *q)
{
	barrier();
	struct virtq_used_elem e = q->used->ring[q->last_used % q->size];
	q->last_used++;
	return e;
}

uint32_t virtio_irq_ack(struct virtio_dev *d)
{
	if (!d->pci) {
		uint32_t st = mmio_read32(d->mmio + MMIO_INT_STATUS);
		if (st)
			mmio_write32(d->mmio + MMIO_INT_ACK, st);
		return st;
	}
	return d->isr ? mmio_read8(d->isr) : 0;
}

int virtio_route_irq(struct virtio_dev *d, uint8_t vector)
{
	if (!d->pci)
		return ioapic_route(d->gsi, vector);
	if (!d->msix)
		return -1;
	uint32_t tbl = pci_read32(d->bus, d->dev, d->fn, d->msix + 4);
	uint64_t tb = pci_bar(d->bus, d->dev, d->fn, (int)(tbl & 7));
	if (!tb)
		return -1;
	uintptr_t e = (uintptr_t)(tb + (tbl & ~7u));
	mmio_write32(e + 0, 0xfee00000u | lapic_id() << 12);
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, vector);
	mmio_write32(e + 12, 0);
	uint16_t ctl = pci_read16(d->bus, d->dev, d->fn, d->msix + 2);
	pci_write16(d->bus, d->dev, d->fn, d->msix + 2, (uint16_t)((ctl | 0x8000) & ~0x4000));
	d->msix_on = 1;
	return 0;
}

/* ---- discovery ---- */

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

/* One virtio-mmio transport: fn's result when it holds a device of `type`, else 1. */
static int mmio_try(uint64_t base, uint32_t gsi, uint32_t type, virtio_probe_fn fn, void *ctx)
{
	if (vm_map_mmio(base, 4096) < 0)
		return 1;
	uintptr_t r = (uintptr_t)base;
	if (mmio_read32(r + MMIO_MAGIC) != 0x74726976u || mmio_read32(r + MMIO_DEVICE_ID) != type)
		return 1;
	struct virtio_dev d = {
		.type = type,
		.mmio = r,
		.gsi = gsi,
		.legacy = mmio_read32(r + MMIO_VERSION) < 2,
	};
	return fn(&d, ctx);
}

static int probe_mmio(uint32_t type, virtio_probe_fn fn, void *ctx)
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
		int rc = mmio_try(base, ioapic_gsi_of_isa((uint32_t)irq), type, fn, ctx);
		if (rc <= 0)
			return rc;
	}
	uint64_t bases[32];
	uint32_t irqs[32];
	int n = acpi_virtio_mmio(bases, irqs, 32);
	for (int i = 0; i < n; i++) {
		int rc = mmio_try(bases[i], irqs[i], type, fn, ctx);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

/* One PCI function: fn's result when it is a virtio device of `type`, else 1. */
static int pci_try(int bus, int dev, int fn_no, uint32_t type, virtio_probe_fn fn, void *ctx)
{
	uint32_t id = pci_read32(bus, dev, fn_no, 0);
	uint16_t vendor = (uint16_t)id, device = (uint16_t)(id >> 16);
	if (vendor != 0x1af4)
		return 1;
	if (device != 0x1040 + type) {
		/* Transitional ids 0x1000-0x103f name the type in the subsystem id. */
		if (device < 0x1000 || device > 0x103f || pci_read16(bus, dev, fn_no, 0x2e) != type)
			return 1;
	}
	if (!(pci_read16(bus, dev, fn_no, 0x06) & 0x10))
		return 1; /* no capability list */
	struct virtio_dev d = { .type = type, .pci = 1, .bus = bus, .dev = dev, .fn = fn_no };
	for (int cap = pci_read8(bus, dev, fn_no, 0x34) & 0xfc, n = 0; cap && n < 48;
	     cap = pci_read8(bus, dev, fn_no, cap + 1) & 0xfc, n++) {
		uint8_t cid = pci_read8(bus, dev, fn_no, cap);
		if (cid == 0x11) {
			d.msix = cap;
			continue;
		}
		if (cid != 0x09)
			continue;
		uint8_t ctype = pci_read8(bus, dev, fn_no, cap + 3), bar = pci_read8(bus, dev, fn_no, cap + 4);
		uint32_t off = pci_read32(bus, dev, fn_no, cap + 8);
		uint64_t base = pci_bar(bus, dev, fn_no, bar);
		if (!base)
			continue;
		uintptr_t a = (uintptr_t)(base + off);
		if (ctype == 1 && !d.common)
			d.common = a;
		else if (ctype == 2 && !d.notify_base) {
			d.notify_base = a;
			d.notify_mul = pci_read32(bus, dev, fn_no, cap + 16);
		} else if (ctype == 3 && !d.isr)
			d.isr = a;
		else if (ctype == 4 && !d.devcfg)
			d.devcfg = a;
	}
	if (!d.common || !d.notify_base || !d.devcfg) {
		klog("%s at pci %02x:%02x.%x has no modern (virtio 1.x) capabilities (QEMU: "
		     "disable-modern=off): skipped", type_name(type), bus, dev, fn_no);
		return 1;
	}
	/* Memory space and bus mastering on, INTx off. */
	pci_write16(bus, dev, fn_no, 0x04, (uint16_t)(pci_read16(bus, dev, fn_no, 0x04) | 0x406));
	mmio_write16(d.common + PC_MSIX_CONFIG, 0xffff);
	return fn(&d, ctx);
}

static int probe_pci(uint32_t type, virtio_probe_fn fn, void *ctx)
{
	if (pci_read32(0, 0, 0, 0) == 0xffffffffu)
		return 1; /* no PCI bus (microvm) */
	for (int bus = 0; bus < 4; bus++)
		for (int dev = 0; dev < 32; dev++)
			for (int f = 0; f < 8; f++) {
				if (pci_read16(bus, dev, f, 0) == 0xffff) {
					if (f == 0)
						break;
					continue;
				}
				int rc = pci_try(bus, dev, f, type, fn, ctx);
				if (rc <= 0)
					return rc;
				if (f == 0 && !(pci_read8(bus, dev, 0, 0x0e) & 0x80))
					break;
			}
	return 1;
}

int virtio_probe(uint32_t type, virtio_probe_fn fn, void *ctx)
{
	int rc = probe_mmio(type, fn, ctx);
	return rc > 0 ? probe_pci(type, fn, ctx) : rc;
}
