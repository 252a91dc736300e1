/* kernel/os/virtio_9p.c - virtio-9p devices (one per mount tag) as 9P transports: one request in flight, a two-descriptor chain per request, the vCPU halted until the device's interrupt says the reply is there. */
#include <stdio.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9.h"
#include "kernel/os/virtio.h"
#include "kernel/os/p9fs.h"

#define VIRTIO_9P_MOUNT_TAG (1ull << 0)
#define MAX_DEVS 32
#define TAG_MAX 64
#define QSIZE 8 /* one request uses two descriptors */

struct v9p {
	struct p9_transport t;  /* first: the transport callbacks get back to us */
	struct virtio_dev dev;
	struct virtq q;
	char tag[TAG_MAX];      /* the device's mount tag */
	int irq;                /* 1: completions interrupt; 0: polled on a short timer */
};

static struct v9p devs[MAX_DEVS];
static int ndevs;
static int probed;
/* The request and reply buffers, shared by every device: the kernel makes one call at
 * a time, so two buffers serve all shares. Physically contiguous (page_alloc). */
static uint8_t *req_buf, *rep_buf;

/* Sleeps until the device returned the chain, without giving the CPU to another
 * thread: the request and reply buffers are shared by every share and thread, so one
 * call runs at a time. An interrupt after the mark ends the halt. */
static void wait_used(struct v9p *v)
{
	for (;;) {
		uint64_t mark = sched_irq_mark();
		/* Acknowledge first: a completion after this raises a new edge. */
		virtio_irq_ack(&v->dev);
		if (virtq_has_used(&v->q))
			return;
		sched_halt(mark, v->irq ? UINT64_MAX : clock_monotonic_ns() + 20000);
	}
}

static int in_flight; /* requests sent, reply not yet taken */

int v9p_in_flight(void)
{
	return in_flight;
}

static int v9p_rpc(struct p9_transport *t, uint32_t reqlen, uint32_t *replen)
{
	struct v9p *v = (struct v9p *)t;
	struct virtq *q = &v->q;
	q->desc[0] = (struct virtq_desc){ .addr = (uintptr_t)t->req, .len = reqlen,
					  .flags = VIRTQ_DESC_F_NEXT, .next = 1 };
	q->desc[1] = (struct virtq_desc){ .addr = (uintptr_t)t->rep, .len = t->cap,
					  .flags = VIRTQ_DESC_F_WRITE };
	in_flight++;
	virtq_push(q, 0);
	virtq_notify(&v->dev, q);
	wait_used(v);
	struct virtq_used_elem e = virtq_pop(q);
	in_flight--;
	if (e.id != 0 || e.len > t->cap)
		return -WASI_EIO;
	*replen = e.len;
	return 0;
}

/* virtio_probe callback: starts every virtio-9p device and records its tag. */
static int start_one(struct virtio_dev *d, void *ctx)
{
	(void)ctx;
	char err[160];
	if (ndevs == MAX_DEVS) {
		klog("virtio-9p: more than %d devices: the rest are ignored", MAX_DEVS);
		return 1;
	}
	struct v9p *v = &devs[ndevs];
	memset(v, 0, sizeof(*v));
	v->dev = *d;
	if (d->pci)
		v->irq = virtio_route_irq(&v->dev, WAKE_VECTOR) == 0;
	uint64_t f;
	if (virtio_negotiate(&v->dev, VIRTIO_9P_MOUNT_TAG, &f, err, sizeof(err)) < 0) {
		klog("%s: skipped", err);
		return 1;
	}
	if (!(f & VIRTIO_9P_MOUNT_TAG)) {
		virtio_fail(&v->dev);
		klog("virtio-9p: a device without a mount tag: skipped");
		return 1;
	}
	uint32_t len = (uint32_t)(virtio_cfg8(&v->dev, 0) | virtio_cfg8(&v->dev, 1) << 8);
	if (len == 0 || len >= TAG_MAX) {
		virtio_fail(&v->dev);
		klog("virtio-9p: mount tag of %u bytes: skipped", len);
		return 1;
	}
	for (uint32_t i = 0; i < len; i++)
		v->tag[i] = (char)virtio_cfg8(&v->dev, 2 + i);
	if (virtio_queue_setup(&v->dev, &v->q, 0, QSIZE, err, sizeof(err)) < 0) {
		virtio_fail(&v->dev);
		klog("%s: skipped", err);
		return 1;
	}
	if (!d->pci)
		v->irq = virtio_route_irq(&v->dev, WAKE_VECTOR) == 0;
	virtio_driver_ok(&v->dev);
	v->t = (struct p9_transport){ .req = req_buf, .rep = rep_buf, .cap = V9P_MSIZE,
				      .rpc = v9p_rpc };
	ndevs++;
	return 1; /* go on: every device is started */
}

int v9p_transport(const char *tag, struct p9_transport **out)
{
	if (!probed) {
		if (!req_buf)
			req_buf = page_alloc(V9P_MSIZE / PAGE_SIZE);
		if (!rep_buf)
			rep_buf = page_alloc(V9P_MSIZE / PAGE_SIZE);
		if (!req_buf || !rep_buf)
			return -WASI_ENOMEM;
		probed = 1;
		virtio_probe(VIRTIO_ID_9P, start_one, NULL);
	}
	for (int i = 0; i < ndevs; i++) {
		if (strcmp(devs[i].tag, tag) == 0) {
			if (!devs[i].irq)
				klog("virtio-9p `%s`: no interrupt: polled", tag);
			*out = &devs[i].t;
			return 0;
		}
	}
	return -WASI_ENODEV;
}

int v9p_describe(const struct p9_transport *t, char *buf, size_t cap)
{
	const struct v9p *v = (const struct v9p *)t;
	return snprintf(buf, cap, "%s%s", v->dev.pci ? "pci" : "mmio",
			v->dev.legacy ? " (legacy)" : "");
}
