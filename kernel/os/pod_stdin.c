/* kernel/os/pod_stdin.c - a pod container's stdin (kernel/pod_abi.h "stdin"): a bounded kernel pipe the host fills with STDIN and ends with CLOSE_STDIN, read on the container's fd 0 (blocking, others run meanwhile) and seen by poll_oneoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/os/kos.h"
#include "kernel/os/pod.h"
#include "kernel/rt/rt_platform.h"

struct kpipe {
	uint8_t *buf;   /* NULL while empty: an idle stdin holds no memory */
	size_t cap;     /* bytes allocated */
	size_t head;    /* where the unread bytes start */
	size_t len;     /* unread bytes */
	int closed;     /* CLOSE_STDIN: once len is 0, reads see end-of-file */
};

struct kpipe *kpipe_new(void)
{
	return calloc(1, sizeof(struct kpipe));
}

void kpipe_free(struct kpipe *p)
{
	if (p)
		free(p->buf);
	free(p);
}

/* Appends n bytes (the caller checked they fit under KUMO_POD_STDIN_MAX). */
static int append(struct kpipe *p, const uint8_t *b, size_t n)
{
	if (p->head + p->len + n > p->cap) {
		if (p->len && p->head)
			memmove(p->buf, p->buf + p->head, p->len);
		p->head = 0;
		if (p->len + n > p->cap) {
			size_t cap = (p->len + n + 65535) & ~(size_t)65535;
			if (cap > KUMO_POD_STDIN_MAX)
				cap = KUMO_POD_STDIN_MAX;
			uint8_t *nb = realloc(p->buf, cap);
			if (!nb)
				return -1;
			p->buf = nb;
			p->cap = cap;
		}
	}
	memcpy(p->buf + p->head + p->len, b, n);
	p->len += n;
	return 0;
}

int kpipe_read(struct kpipe *p, const struct kumo_plat_iov *iov, size_t n, size_t *done)
{
	*done = 0;
	/* A STOP or KILL of the container ends this wait (sched_wait's kstop_check). */
	while (p->len == 0 && !p->closed)
		sched_wait(KWAKE_IRQ, UINT64_MAX);
	for (size_t i = 0; i < n && p->len; i++) {
		size_t k = iov[i].len < p->len ? iov[i].len : p->len;
		memcpy(iov[i].buf, p->buf + p->head, k);
		p->head += k;
		p->len -= k;
		*done += k;
	}
	if (p->len == 0) { /* drained: give the memory back */
		free(p->buf);
		p->buf = NULL;
		p->cap = p->head = 0;
	}
	return 0;
}

void kpipe_poll(const struct kpipe *p, bool *ready, bool *hangup, uint64_t *nbytes)
{
	*ready = p->len > 0 || p->closed;
	*hangup = p->len == 0 && p->closed;
	*nbytes = p->len;
}

/* ACK {"ok": false, "error", "buffered"[, "full": true]} for m. */
static void ack_refused(const struct kumo_pod_msg *m, const struct kpipe *p, int full,
			const char *msg)
{
	char e[300];
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq,
		    "{\"ok\": false, \"error\": \"%s\", \"buffered\": %zu%s}",
		    pod_json_escape(e, sizeof(e), msg), p ? p->len : 0, full ? ", \"full\": true" : "");
}

void pod_stdin_command(struct container *c, const struct kumo_pod_msg *m, const uint8_t *blob)
{
	struct kpipe *p = c->stdin_pipe;
	char msg[240];
	if (!p) {
		snprintf(msg, sizeof(msg), "container %u was created without stdin (CREATE's "
			 "\"stdin\": true gives it one)", c->cid);
		ack_refused(m, NULL, 0, msg);
		return;
	}
	if (m->type == KUMO_POD_MSG_CLOSE_STDIN) {
		p->closed = 1;
		sched_kick(); /* a reader waiting on fd 0 sees end-of-file */
		podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq, "{\"ok\": true, \"buffered\": %zu}",
			    p->len);
		return;
	}
	if (p->closed) {
		snprintf(msg, sizeof(msg), "stdin of container %u is closed", c->cid);
		ack_refused(m, p, 0, msg);
		return;
	}
	if (m->blob_len > KUMO_POD_STDIN_MAX) {
		snprintf(msg, sizeof(msg), "%u bytes of stdin are more than a container's stdin "
			 "holds (%u)", m->blob_len, KUMO_POD_STDIN_MAX);
		ack_refused(m, p, 0, msg);
		return;
	}
	if (m->blob_len > KUMO_POD_STDIN_MAX - p->len) {
		snprintf(msg, sizeof(msg), "stdin of container %u is full: %zu bytes wait to be "
			 "read, %u more do not fit in %u; nothing was appended (send them again once "
			 "the app has read)", c->cid, p->len, m->blob_len, KUMO_POD_STDIN_MAX);
		ack_refused(m, p, 1, msg);
		return;
	}
	if (m->blob_len && append(p, blob, m->blob_len) < 0) {
		snprintf(msg, sizeof(msg), "out of memory for %u bytes of stdin", m->blob_len);
		ack_refused(m, p, 1, msg);
		return;
	}
	sched_kick(); /* a reader waiting on fd 0 (or polling it) has bytes */
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq, "{\"ok\": true, \"buffered\": %zu}", p->len);
}
