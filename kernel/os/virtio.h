/* kernel/os/virtio.h - the virtio transport shared by the kernel's virtio drivers
 * (virtio_net.c, virtio_9p.c): finding devices of one type on virtio-mmio (microvm:
 * the kernel command line's virtio_mmio.device= entries, then the DSDT) and on PCI
 * (pc/q35, bus 0-3), status and feature negotiation, split virtqueues, notification
 * and interrupt routing.
 *
 * Transports: virtio-mmio version 2 (virtio 1.x) and version 1 (QEMU's default legacy
 * interface), virtio-pci modern (capabilities, MSI-X; a transitional device is driven
 * through its modern interface). Memory handed to a device must be identity-mapped
 * kernel memory (page_alloc, the heap): the device sees physical addresses.
 *
 * Single-threaded like the rest of the kernel: no locking. Errors: -1 with a message
 * in err naming the device; probe callbacks return 0 (claimed, stop), 1 (not this
 * one, go on) or -1 (error, stop).
 */
#ifndef KUMO_VIRTIO_H
#define KUMO_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

/* Device types (virtio 1.x, 5 "Device Types"). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_9P 9

/* Feature bits the transport knows about. */
#define VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_VERSION_1 (1ull << 32)

/* Ring flags: the device asks for no notifications (used->flags), the driver for no
 * interrupts (avail->flags). Hints only: either side may still send one. */
#define VIRTQ_USED_F_NO_NOTIFY 1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Descriptor flags. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4

struct virtq_desc {
	uint64_t addr;  /* physical address of the buffer */
	uint32_t len;   /* bytes */
	uint16_t flags; /* VIRTQ_DESC_F_* */
	uint16_t next;  /* the next descriptor when F_NEXT */
};
struct virtq_avail {
	uint16_t flags, idx;
	uint16_t ring[];
};
struct virtq_used_elem {
	uint32_t id, len; /* head descriptor of the chain; bytes the device wrote */
};
struct virtq_used {
	uint16_t flags, idx;
	struct virtq_used_elem ring[];
};

/* One split virtqueue. */
struct virtq {
	uint16_t index;            /* queue number on the device */
	uint16_t size;             /* descriptors (a power of two) */
	struct virtq_desc *desc;   /* size entries */
	struct virtq_avail *avail; /* driver -> device */
	struct virtq_used *used;   /* device -> driver */
	uint16_t last_used;        /* used->idx already consumed */
	uintptr_t notify;          /* where to write the queue's notification */
	int kick;                  /* buffers made available since the last notify */
	uint64_t notified;         /* notifications written to the device */
	uint64_t suppressed;       /* notifications skipped: the device asked for none */
};

/* One device found by virtio_probe. Filled by the probe; the driver keeps a copy. */
struct virtio_dev {
	uint32_t type;          /* VIRTIO_ID_* */
	int pci;                /* 1: virtio-pci, 0: virtio-mmio */
	int legacy;             /* virtio-mmio version 1 (QEMU's default) */
	uintptr_t mmio;         /* MMIO register base */
	uint32_t gsi;           /* MMIO: the interrupt line's GSI */
	int bus, dev, fn;       /* PCI address */
	uintptr_t common;       /* PCI: virtio_pci_common_cfg */
	uintptr_t isr;          /* PCI: the ISR status byte (0: none) */
	uintptr_t devcfg;       /* PCI: device configuration */
	uintptr_t notify_base;  /* PCI: notification area */
	uint32_t notify_mul;    /* PCI: notify_off_multiplier */
	int msix;               /* PCI: MSI-X capability offset, 0: none */
	int msix_on;            /* PCI: the queues signal MSI-X vector 0 */
};

/* Calls fn for every device of `type`: virtio-mmio transports first (command line,
 * then DSDT), then PCI. Returns the first result <= 0 of fn, or 1 when no call
 * claimed a device. */
typedef int (*virtio_probe_fn)(struct virtio_dev *d, void *ctx);
int virtio_probe(uint32_t type, virtio_probe_fn fn, void *ctx);

/* Resets the device and negotiates: offers want (VIRTIO_F_VERSION_1 is added for a
 * modern transport) masked by what the device has; *agreed receives the result.
 * A modern device that refuses, or one without VERSION_1, is an error. */
int virtio_negotiate(struct virtio_dev *d, uint64_t want, uint64_t *agreed, char *err,
		     size_t errcap);
/* Sets up queue `index` with at most max_size descriptors (rings in fresh pages; the
 * caller fills the descriptors). On PCI with MSI-X on, the queue signals vector 0. */
int virtio_queue_setup(struct virtio_dev *d, struct virtq *q, uint16_t index, uint16_t max_size,
		       char *err, size_t errcap);
/* DRIVER_OK: the device may use the queues from now on. */
void virtio_driver_ok(struct virtio_dev *d);
/* Marks the device FAILED (a driver that gives it up). */
void virtio_fail(struct virtio_dev *d);
/* A byte of the device configuration space. */
uint8_t virtio_cfg8(struct virtio_dev *d, uint32_t off);
/* Routes the device's interrupt to `vector` on this CPU: the IOAPIC for MMIO, MSI-X
 * entry 0 for PCI (before virtio_queue_setup). 0, or -1 when it cannot (the driver
 * then has to poll). */
int virtio_route_irq(struct virtio_dev *d, uint8_t vector);
/* Acknowledges the device's interrupt (MMIO: the interrupt status register, so the
 * next completion raises a new edge; PCI: reads the ISR byte). Returns the status. */
uint32_t virtio_irq_ack(struct virtio_dev *d);

/* Puts the chain starting at descriptor id on the avail ring (not yet notified). */
void virtq_push(struct virtq *q, uint16_t id);
/* Tells the device about what virtq_push added, unless the device said it does not
 * want to hear (VIRTQ_USED_F_NO_NOTIFY: it is processing the queue already and will
 * see the new buffers). */
void virtq_notify(struct virtio_dev *d, struct virtq *q);
/* Asks the device not to interrupt for this queue (on = 1) or to interrupt again
 * (on = 0). After turning interrupts back on, check virtq_has_used once more: a chain
 * returned before the device saw the change raised no interrupt. */
void virtq_suppress_irq(struct virtq *q, int on);
/* Whether the device returned a chain not yet consumed. */
static inline int virtq_has_used(const struct virtq *q)
{
	return *(volatile const uint16_t *)&q->used->idx != q->last_used;
}
/* The next returned chain (call after virtq_has_used). */
struct virtq_used_elem virtq_pop(struct virtq *q);

#endif /* KUMO_VIRTIO_H */
