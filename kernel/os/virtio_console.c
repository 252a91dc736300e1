/* kernel/os/virtio_console.c - the pod's control channel: the receive side of a virtio-console device's port 0 (kernel/pod_abi.h), as a byte stream the supervisor reads. */
#include <stdio.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/pod.h"
#include "kernel/os/virtio.h"

#define RX_BUFS 16
#define RX_BUF_SIZE (64u << 10) /* an object of a few hundred KiB arrives in a few rounds */

static struct {
	struct virtio_dev dev;
	struct virtq rx;              /* receiveq of port 0 (queue 0) */
	uint8_t *bufs;                /* RX_BUFS * RX_BUF_SIZE, physically contiguous */
	int have;                     /* a device was started */
	/* the used buffer being consumed */
	int cur;                      /* its descriptor, -1: none */
	uint32_t cur_len, cur_off;
} vc = {.cur = -1};
int vcons_irq;

static void post(uint16_t id)
{
	vc.rx.desc[id] = (struct virtq_desc){.addr = (uintptr_t)(vc.bufs + (size_t)id * RX_BUF_SIZE),
					     .len = RX_BUF_SIZE, .flags = VIRTQ_DESC_F_WRITE};
	virtq_push(&vc.rx, id);
}

static int start_one(struct virtio_dev *d, void *ctx)
{
	char *err = ctx;
	vc.dev = *d;
	/* MSI-X is set up before the queues (PCI), the IOAPIC route after (MMIO). */
	int irq = d->pci ? virtio_route_irq(&vc.dev, WAKE_VECTOR) : 0;
	uint64_t f;
	/* No feature: one port (no MULTIPORT), no size or emergency write. */
	if (virtio_negotiate(&vc.dev, 0, &f, err, 160) < 0)
		return -1;
	if (virtio_queue_setup(&vc.dev, &vc.rx, 0, RX_BUFS, err, 160) < 0) {
		virtio_fail(&vc.dev);
		return -1;
	}
	vc.bufs = page_alloc((size_t)RX_BUFS * RX_BUF_SIZE / PAGE_SIZE);
	if (!vc.bufs) {
		virtio_fail(&vc.dev);
		snprintf(err, 160, "virtio-console: no memory for receive buffers");
		return -1;
	}
	for (uint16_t i = 0; i < vc.rx.size; i++)
		post(i);
	/* Without an interrupt the supervisor still reads on its periodic wake-ups. */
	if (!d->pci)
		irq = virtio_route_irq(&vc.dev, WAKE_VECTOR);
	if (irq < 0)
		klog("virtio-console: no interrupt: the control channel is polled");
	virtio_driver_ok(&vc.dev);
	virtq_notify(&vc.dev, &vc.rx);
	vc.have = 1;
	vcons_irq = irq == 0;
	return 0;
}

int vcons_init(char *err, size_t errcap)
{
	char e[160] = "";
	int rc = virtio_probe(VIRTIO_ID_CONSOLE, start_one, e);
	if (rc < 0) {
		snprintf(err, errcap, "%s", e);
		return -1;
	}
	return vc.have;
}

size_t vcons_read(uint8_t *buf, size_t cap)
{
	if (!vc.have)
		return 0;
	virtio_irq_ack(&vc.dev);
	size_t n = 0, posted = 0;
	while (n < cap) {
		if (vc.cur < 0) {
			if (!virtq_has_used(&vc.rx))
				break;
			struct virtq_used_elem e = virtq_pop(&vc.rx);
			if (e.id >= vc.rx.size)
				break; /* a broken device: stop reading rather than trust it */
			vc.cur = (int)e.id;
			vc.cur_len = e.len > RX_BUF_SIZE ? RX_BUF_SIZE : e.len;
			vc.cur_off = 0;
		}
		size_t k = vc.cur_len - vc.cur_off;
		if (k > cap - n)
			k = cap - n;
		memcpy(buf + n, vc.bufs + (size_t)vc.cur * RX_BUF_SIZE + vc.cur_off, k);
		n += k;
		vc.cur_off += (uint32_t)k;
		if (vc.cur_off == vc.cur_len) {
			post((uint16_t)vc.cur);
			posted++;
			vc.cur = -1;
		}
	}
	if (posted)
		virtq_notify(&vc.dev, &vc.rx);
	return n;
}
