/* kernel/os/pod.c - the pod supervisor (kernel/pod_abi.h): READY, the control channel's commands (framing, CRC-32, resync, dedup by seq), the containers' lifecycle on their own threads, stops with a grace period, the end of the pod. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9fs.h"
#include "kernel/os/pod.h"
#include "kernel/os/ramfs.h"
#include "kernel/rt/rt_platform.h"


uint32_t pod_instances;
static struct container *cts[KUMO_POD_MAX_CID + 1];
static uint64_t last_seq;          /* highest seq executed */
static char boot_id[17];
static uint64_t mem_budget;        /* bytes for containers' memory limits */
static uint64_t mem_reserved;      /* sum of the limits of existing containers */
static struct kthread *self;       /* the supervisor's thread */
static int shutting_down;          /* the power button: stop everything, then power off */

/* ---- CRC-32 (IEEE 802.3, reflected, as zlib's crc32) ---- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* crc = crc32_update(0, ...) for the first bytes, as zlib's crc32(crc, buf, len). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- the receive side of the channel: frames into messages ---- */

static struct {
	uint8_t hdr[sizeof(struct kumo_pod_msg)];
	size_t hlen;                /* header bytes held */
	uint64_t skipped;           /* bytes dropped while looking for a header */
	/* the frame being read */
	int in_frame;               /* its header was valid: reading its payload */
	struct kumo_pod_msg f;      /* its header */
	uint32_t frag_len, frag_got, frag_crc;
	int frame_bad;              /* it continues no message: its payload is skipped */
	/* the message being assembled */
	int have_msg;
	struct kumo_pod_msg m;      /* its first frame's header */
	char *json;                 /* json_len + 1 bytes (NUL-terminated), or NULL */
	uint8_t *blob;              /* blob_len bytes, or NULL */
	int discard;                /* no memory for the body: read it, keep nothing */
	uint64_t got, want;         /* body bytes received in whole frames, expected */
	uint64_t hdr_tsc;           /* when its first header arrived */
	uint64_t done_tsc;          /* when its last byte arrived */
} rx;

static int header_ok(const struct kumo_pod_msg *m, const uint8_t *raw)
{
	uint64_t total = (uint64_t)m->json_len + m->blob_len;
	return m->magic == KUMO_POD_MSG_MAGIC && m->version == KUMO_POD_MSG_VERSION &&
	       m->json_len <= KUMO_POD_JSON_MAX && m->blob_len <= KUMO_POD_BLOB_MAX &&
	       (m->frag_off < total || (total == 0 && m->frag_off == 0)) &&
	       m->hdr_crc == crc32_update(0, raw, offsetof(struct kumo_pod_msg, hdr_crc));
}

static void drop_msg(const char *why)
{
	if (why)
		podrec_json(KUMO_POD_REC_ERROR, rx.m.cid, rx.m.seq,
			    "{\"error\": \"message seq %llu: %s: dropped\"}", (unsigned long long)rx.m.seq,
			    why);
	free(rx.json);
	free(rx.blob);
	rx.json = NULL;
	rx.blob = NULL;
	rx.have_msg = rx.discard = 0;
}

static void execute(const struct kumo_pod_msg *m, const char *json, uint8_t *blob);

/* A valid header arrived: its frame starts or continues a message, or is skipped. */
static void frame_start(void)
{
	const struct kumo_pod_msg *f = &rx.f;
	uint64_t total = (uint64_t)f->json_len + f->blob_len;
	rx.frag_len = (uint32_t)(total - f->frag_off < KUMO_POD_FRAG_MAX ? total - f->frag_off
									  : KUMO_POD_FRAG_MAX);
	rx.frag_got = 0;
	rx.frag_crc = 0;
	rx.frame_bad = 0;
	if (f->frag_off == 0) {
		if (rx.have_msg)
			drop_msg("incomplete (a new message began)");
		rx.have_msg = 1;
		rx.m = *f;
		rx.got = 0;
		rx.want = total;
		rx.hdr_tsc = rdtsc();
		rx.json = malloc((size_t)f->json_len + 1);
		rx.blob = f->blob_len ? malloc(f->blob_len) : NULL;
		rx.discard = !rx.json || (f->blob_len && !rx.blob);
		if (rx.json)
			rx.json[f->json_len] = 0;
	} else if (!rx.have_msg || f->seq != rx.m.seq || f->type != rx.m.type || f->cid != rx.m.cid ||
		   f->json_len != rx.m.json_len || f->blob_len != rx.m.blob_len || f->frag_off != rx.got) {
		if (rx.have_msg)
			drop_msg("a frame out of order");
		rx.frame_bad = 1;
	}
	rx.in_frame = 1;
}

static void frame_done(void)
{
	rx.in_frame = 0;
	rx.hlen = 0;
	if (rx.frame_bad)
		return;
	if (rx.frag_crc != rx.f.frag_crc) {
		drop_msg("frame checksum mismatch");
		return;
	}
	rx.got += rx.frag_len;
	if (rx.got < rx.want)
		return;
	if (rx.discard) {
		drop_msg("out of memory for its body");
		return;
	}
	rx.done_tsc = rdtsc();
	struct kumo_pod_msg m = rx.m;
	char *json = rx.json;
	uint8_t *blob = rx.blob;
	rx.json = NULL;
	rx.blob = NULL;
	rx.have_msg = 0;
	execute(&m, json, blob);
	free(json);
	free(blob);
}

static void feed(const uint8_t *p, size_t n)
{
	while (n) {
		if (!rx.in_frame) {
			size_t k = sizeof(rx.hdr) - rx.hlen;
			if (k > n)
				k = n;
			memcpy(rx.hdr + rx.hlen, p, k);
			rx.hlen += k;
			p += k;
			n -= k;
			if (rx.hlen < sizeof(rx.hdr))
				return;
			memcpy(&rx.f, rx.hdr, sizeof(rx.f));
			if (!header_ok(&rx.f, rx.hdr)) {
				memmove(rx.hdr, rx.hdr + 1, sizeof(rx.hdr) - 1);
				rx.hlen--;
				rx.skipped++;
				continue;
			}
			if (rx.skipped) {
				podrec_json(KUMO_POD_REC_ERROR, 0, 0,
					    "{\"error\": \"resync: skipped %llu bytes before a valid header\"}",
					    (unsigned long long)rx.skipped);
				rx.skipped = 0;
			}
			frame_start();
			if (rx.frag_len == 0)
				frame_done();
			continue;
		}
		uint32_t k = rx.frag_len - rx.frag_got;
		if (k > n)
			k = (uint32_t)n;
		rx.frag_crc = crc32_update(rx.frag_crc, p, k);
		if (!rx.frame_bad && !rx.discard) {
			/* The part of the body at [off, off + k) in the JSON, the rest in the blob. */
			uint64_t off = rx.got + rx.frag_got;
			uint64_t in_json = off < rx.m.json_len ? rx.m.json_len - off : 0;
			if (in_json > k)
				in_json = k;
			memcpy(rx.json + off, p, (size_t)in_json);
			if (k > in_json)
				memcpy(rx.blob + (off + in_json - rx.m.json_len), p + in_json,
				       (size_t)(k - in_json));
		}
		rx.frag_got += k;
		p += k;
		n -= k;
		if (rx.frag_got == rx.frag_len)
			frame_done();
	}
}

/* ---- ACKs ---- */

static void ack_ok(const struct kumo_pod_msg *m, const char *extra)
{
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq, "{\"ok\": true%s%s}", extra ? ", " : "",
		    extra ? extra : "");
}

static void ack_err(const struct kumo_pod_msg *m, const char *msg)
{
	char e[600];
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq, "{\"ok\": false, \"error\": \"%s\"}",
		    pod_json_escape(e, sizeof(e), msg));
}

/* ---- commands ---- */

static uint64_t us(uint64_t ticks)
{
	return clock_tsc_to_ns(ticks) / 1000;
}

struct container *pod_container(uint32_t cid)
{
	return cid >= 1 && cid <= KUMO_POD_MAX_CID ? cts[cid] : NULL;
}

const char *pod_new_boot_id(void)
{
	uint8_t id[8];
	random_get(id, sizeof(id));
	for (int i = 0; i < 8; i++)
		snprintf(boot_id + 2 * i, 3, "%02x", id[i]);
	return boot_id;
}

static struct container *lookup(const struct kumo_pod_msg *m)
{
	if (m->cid < 1 || m->cid > KUMO_POD_MAX_CID) {
		char e[80];
		snprintf(e, sizeof(e), "container handle %u is not in 1..%u", m->cid, KUMO_POD_MAX_CID);
		ack_err(m, e);
		return NULL;
	}
	if (!cts[m->cid]) {
		char e[64];
		snprintf(e, sizeof(e), "no container %u", m->cid);
		ack_err(m, e);
		return NULL;
	}
	return cts[m->cid];
}

/* Links the object and makes c CREATED in slot cid; err on failure (c released). */
static int create_from(struct container *c, uint32_t cid, const uint8_t *obj, size_t len,
		       uint64_t *link_us, char *err, size_t errcap)
{
	c->cid = cid;
	if (c->memory_limit > mem_budget - mem_reserved) {
		snprintf(err, errcap, "memory limit %llu MiB does not fit: %llu MiB of the VM's "
			 "memory for containers are left", (unsigned long long)(c->memory_limit >> 20),
			 (unsigned long long)((mem_budget - mem_reserved) >> 20));
		return -1;
	}
	uint64_t t0 = rdtsc();
	if (kimage_link(obj, len, &c->img, err, errcap) < 0)
		return -1;
	*link_us = us(rdtsc() - t0);
	c->module = c->img->module;
	if (container_check_preopens(c, err, errcap) < 0 || container_bind(c, err, errcap) < 0)
		return -1;
	c->state = CT_CREATED;
	c->stop_deadline_ns = UINT64_MAX;
	mem_reserved += c->memory_limit;
	cts[cid] = c;
	klog("pod: container %u `%s` created (%zu-byte object, %zu-byte image, linked in %llu us)",
	     cid, c->name ? c->name : "", c->img->object_bytes, c->img->len,
	     (unsigned long long)*link_us);
	return 0;
}

static void cmd_create(const struct kumo_pod_msg *m, const char *json, uint8_t *blob)
{
	char err[400];
	if (m->cid < 1 || m->cid > KUMO_POD_MAX_CID) {
		snprintf(err, sizeof(err), "container handle %u is not in 1..%u", m->cid, KUMO_POD_MAX_CID);
		ack_err(m, err);
		return;
	}
	if (cts[m->cid]) {
		snprintf(err, sizeof(err), "container %u exists", m->cid);
		ack_err(m, err);
		return;
	}
	struct container *c = calloc(1, sizeof(*c));
	if (!c) {
		ack_err(m, "out of memory for a container");
		return;
	}
	uint8_t *obj = blob;
	size_t len = m->blob_len;
	uint64_t read_us = 0, link_us = 0;
	int from_share = 0;
	if (container_configure(c, json ? json : "{}", err, sizeof(err)) < 0)
		goto fail;
	/* "object": {"share", "path"} instead of the blob. */
	cJSON *root = cJSON_Parse(json ? json : "{}");
	const cJSON *o = root ? cJSON_GetObjectItemCaseSensitive(root, "object") : NULL;
	if (o) {
		const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "share");
		const cJSON *pa = cJSON_GetObjectItemCaseSensitive(o, "path");
		if (!cJSON_IsString(sh) || !cJSON_IsString(pa) || m->blob_len) {
			snprintf(err, sizeof(err), "config: `object` needs `share` and `path`, and no blob");
			cJSON_Delete(root);
			goto fail;
		}
		uint64_t t0 = rdtsc();
		int rc = container_read_share_file(sh->valuestring, pa->valuestring, &obj, &len, err,
						   sizeof(err));
		read_us = us(rdtsc() - t0);
		cJSON_Delete(root);
		if (rc < 0)
			goto fail;
		from_share = 1;
	} else {
		cJSON_Delete(root);
		if (!len) {
			snprintf(err, sizeof(err), "no object: the blob is empty and the config names none");
			goto fail;
		}
	}
	int rc = create_from(c, m->cid, obj, len, &link_us, err, sizeof(err));
	if (from_share)
		free(obj);
	if (rc < 0)
		goto fail;
	char extra[200];
	snprintf(extra, sizeof(extra), "\"transfer_us\": %llu, \"read_us\": %llu, \"link_us\": %llu, "
		 "\"object_bytes\": %zu, \"image_bytes\": %zu",
		 (unsigned long long)us(rx.done_tsc - rx.hdr_tsc), (unsigned long long)read_us,
		 (unsigned long long)link_us, len, c->img->len);
	ack_ok(m, extra);
	return;
fail:
	container_release(c);
	free(c);
	ack_err(m, err);
}

static void container_thread(void *arg)
{
	container_run(arg);
}

/* Starts a new instance of c; 0, or -1 with err. */
static int start(struct container *c, uint64_t seq, uint64_t arrived_tsc, char *err, size_t errcap)
{
	if (c->state == CT_RUNNING) {
		snprintf(err, errcap, "container %u is running", c->cid);
		return -1;
	}
	c->start_seq = seq;
	c->start_tsc = arrived_tsc;
	c->stop_deadline_ns = UINT64_MAX;
	struct kthread *t = kthread_create(container_thread, c, c->stack_size);
	if (!t) {
		snprintf(err, errcap, "no thread slot or memory for a %llu-byte stack",
			 (unsigned long long)c->stack_size);
		return -1;
	}
	t->owner = c;
	t->joiner = self;
	c->thread = t;
	c->instance = ++pod_instances;
	c->state = CT_RUNNING;
	return 0;
}

static void cmd_start(const struct kumo_pod_msg *m)
{
	struct container *c = lookup(m);
	char err[160], extra[40];
	if (!c)
		return;
	if (start(c, m->seq, rx.hdr_tsc, err, sizeof(err)) < 0) {
		ack_err(m, err);
		return;
	}
	snprintf(extra, sizeof(extra), "\"instance\": %u", c->instance);
	ack_ok(m, extra);
}

static void cmd_stop(const struct kumo_pod_msg *m, const char *json)
{
	struct container *c = lookup(m);
	if (!c)
		return;
	uint64_t grace = KUMO_POD_DEFAULT_GRACE_MS;
	cJSON *root = json ? cJSON_Parse(json) : NULL;
	const cJSON *g = root ? cJSON_GetObjectItemCaseSensitive(root, "grace_ms") : NULL;
	if (g && (!cJSON_IsNumber(g) || g->valuedouble < 0)) {
		cJSON_Delete(root);
		ack_err(m, "config: `grace_ms` is not a number of milliseconds");
		return;
	}
	if (g)
		grace = (uint64_t)g->valuedouble;
	cJSON_Delete(root);
	if (c->state == CT_RUNNING && c->thread->stop != KSTOP_KILL) {
		c->thread->stop = KSTOP_TERM; /* a waiting instance wakes and ends at once */
		c->stop_deadline_ns = clock_monotonic_ns() + grace * 1000000ull;
	}
	ack_ok(m, NULL);
}

static void cmd_kill(const struct kumo_pod_msg *m)
{
	struct container *c = lookup(m);
	if (!c)
		return;
	if (c->state == CT_RUNNING)
		c->thread->stop = KSTOP_KILL;
	ack_ok(m, NULL);
}

static void cmd_remove(const struct kumo_pod_msg *m)
{
	struct container *c = lookup(m);
	if (!c)
		return;
	if (c->state == CT_RUNNING) {
		char err[64];
		snprintf(err, sizeof(err), "container %u is running", c->cid);
		ack_err(m, err);
		return;
	}
	mem_reserved -= c->memory_limit;
	cts[m->cid] = NULL;
	klog("pod: container %u `%s` removed", m->cid, c->name ? c->name : "");
	container_release(c);
	free(c);
	ack_ok(m, NULL);
}

static const char *state_name(enum ct_state s)
{
	return s == CT_RUNNING ? "running" : s == CT_EXITED ? "exited" : "created";
}

static void cmd_info(const struct kumo_pod_msg *m)
{
	static char buf[3800];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "\"boot_id\": \"%s\", \"uptime_us\": %llu, "
				    "\"instances\": %u, \"switches\": %llu, \"heap_bytes\": %llu, "
				    "\"free_bytes\": %llu, \"containers\": [",
				    boot_id, (unsigned long long)(clock_monotonic_ns() / 1000),
				    pod_instances, (unsigned long long)sched_switch_count(),
				    (unsigned long long)heap_bytes_in_use(),
				    (unsigned long long)(page_free_count() * PAGE_SIZE));
	int first = 1;
	for (uint32_t i = 1; i <= KUMO_POD_MAX_CID && n < sizeof(buf) - 300; i++) {
		struct container *c = cts[i];
		if (!c)
			continue;
		char name[100];
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "%s{\"cid\": %u, \"name\": \"%s\", \"state\": \"%s\", \"instance\": %u, "
				      "\"status\": %d, \"preemptions\": %llu}", first ? "" : ", ", i,
				      pod_json_escape(name, sizeof(name), c->name), state_name(c->state),
				      c->instance, c->state == CT_EXITED ? c->exit_status : -1,
				      (unsigned long long)(c->preemptions +
							   (c->thread ? c->thread->preemptions : 0)));
		first = 0;
	}
	snprintf(buf + n, sizeof(buf) - n, "]");
	ack_ok(m, buf);
}

static void cmd_ping(const struct kumo_pod_msg *m, const char *json)
{
	char extra[300], nonce[80] = "";
	cJSON *root = json ? cJSON_Parse(json) : NULL;
	const cJSON *nn = root ? cJSON_GetObjectItemCaseSensitive(root, "nonce") : NULL;
	if (cJSON_IsString(nn))
		pod_json_escape(nonce, sizeof(nonce), nn->valuestring);
	cJSON_Delete(root);
	snprintf(extra, sizeof(extra), "\"nonce\": \"%s\", \"boot_id\": \"%s\", \"uptime_us\": %llu",
		 nonce, boot_id, (unsigned long long)(clock_monotonic_ns() / 1000));
	ack_ok(m, extra);
}

static void reap(void);

static void execute(const struct kumo_pod_msg *m, const char *json, uint8_t *blob)
{
	reap(); /* instances that ended are EXITED before any command sees them */
	if (m->type == KUMO_POD_MSG_PING && m->seq == 0) {
		cmd_ping(m, json);
		return;
	}
	if (m->seq == 0) {
		ack_err(m, "seq 0 is for PING only");
		return;
	}
	if (m->seq <= last_seq) {
		podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq, "{\"dup\": true}");
		return;
	}
	last_seq = m->seq;
	if (pod_snap_refuses(m)) /* pod_snap.c: no CREATE while the shares are quiesced */
		return;
	switch (m->type) {
	case KUMO_POD_MSG_PING:
		cmd_ping(m, json);
		break;
	case KUMO_POD_MSG_QUIESCE:
	case KUMO_POD_MSG_RESUME:
	case KUMO_POD_MSG_REINIT:
		pod_snap_command(m, json); /* pod_snap.c */
		break;
	case KUMO_POD_MSG_CREATE:
		cmd_create(m, json, blob);
		break;
	case KUMO_POD_MSG_START:
		cmd_start(m);
		break;
	case KUMO_POD_MSG_STOP:
		cmd_stop(m, json);
		break;
	case KUMO_POD_MSG_KILL:
		cmd_kill(m);
		break;
	case KUMO_POD_MSG_REMOVE:
		cmd_remove(m);
		break;
	case KUMO_POD_MSG_INFO:
		cmd_info(m);
		break;
	case KUMO_POD_MSG_STDIN:
	case KUMO_POD_MSG_CLOSE_STDIN: {
		struct container *c = lookup(m);
		if (c)
			pod_stdin_command(c, m, blob);
		break;
	}
	case KUMO_POD_MSG_EXEC:
		ack_err(m, "not supported: a command runs as a container of its own (CREATE, START)");
		break;
	default: {
		char e[48];
		snprintf(e, sizeof(e), "unknown command %u", m->type);
		ack_err(m, e);
	}
	}
}

/* ---- the containers' ends ---- */

static void reap(void)
{
	uint64_t now = clock_monotonic_ns();
	for (uint32_t i = 1; i <= KUMO_POD_MAX_CID; i++) {
		struct container *c = cts[i];
		if (!c || c->state != CT_RUNNING)
			continue;
		if (c->thread->state == KT_DEAD) {
			c->preemptions += c->thread->preemptions;
			kthread_free(c->thread);
			c->thread = NULL;
			c->state = CT_EXITED;
			klog("pod: container %u instance %u ended: %s %d (%s)", i, c->instance,
			     c->exit_kind, c->exit_status, c->exit_msg);
			continue;
		}
		if (now >= c->stop_deadline_ns && c->thread->stop != KSTOP_KILL) {
			klog("pod: container %u did not stop within its grace period: killed", i);
			c->thread->stop = KSTOP_KILL;
		}
	}
}

static uint64_t next_deadline(void)
{
	uint64_t next = UINT64_MAX;
	for (uint32_t i = 1; i <= KUMO_POD_MAX_CID; i++)
		if (cts[i] && cts[i]->state == CT_RUNNING && cts[i]->stop_deadline_ns < next)
			next = cts[i]->stop_deadline_ns;
	return next;
}

/* The power button in pod mode: stop every instance (default grace), then power off. */
static void shutdown_step(void)
{
	if (!shutting_down) {
		shutting_down = 1;
		klog("pod: stop requested by the host (ACPI power button): stopping every container");
		for (uint32_t i = 1; i <= KUMO_POD_MAX_CID; i++)
			if (cts[i] && cts[i]->state == CT_RUNNING) {
				cts[i]->thread->stop = KSTOP_TERM;
				cts[i]->stop_deadline_ns = clock_monotonic_ns() +
							   KUMO_POD_DEFAULT_GRACE_MS * 1000000ull;
			}
	}
	for (uint32_t i = 1; i <= KUMO_POD_MAX_CID; i++)
		if (cts[i] && cts[i]->state == CT_RUNNING)
			return;
	kexit(0);
}

/* ---- the object in the initrd: container 1, from the boot config ---- */

static char **copy_strv(char **v, int n, int extra)
{
	char **d = calloc((size_t)n + (size_t)extra + 1, sizeof(char *));
	for (int i = 0; d && i < n; i++) {
		size_t l = strlen(v[i]) + 1;
		if ((d[i] = malloc(l)))
			memcpy(d[i], v[i], l);
	}
	return d;
}

static void preload(void)
{
	const struct kumo_bootcfg *b = &kumo_bootcfg;
	struct container *c = calloc(1, sizeof(*c));
	char err[400];
	uint64_t link_us = 0;
	if (!c)
		panic("out of memory for the preloaded container");
	c->name = malloc(4);
	if (c->name)
		memcpy(c->name, "app", 4);
	c->argc = b->argc;
	c->argv = copy_strv(b->argv, b->argc, 0);
	c->envc = b->envc;
	c->envp = copy_strv(b->envp, b->envc, 3);
	c->nlisten = b->net.nlisten;
	c->listen = copy_strv(b->net.listen, b->net.nlisten, 0);
	c->stack_size = b->stack_size;
	c->npreopens = b->npreopens;
	c->preopens = calloc((size_t)b->npreopens + 1, sizeof(*c->preopens));
	if (!c->argv || !c->envp || !c->listen || !c->preopens)
		panic("out of memory for the preloaded container");
	for (int i = 0; i < b->npreopens; i++) {
		const struct kumo_preopen *p = &b->preopens[i];
		struct ct_preopen *q = &c->preopens[i];
		char *pair[] = {(char *)p->guest, (char *)(p->share ? p->share : p->path)};
		char **one = copy_strv(pair, 2, 0);
		if (!one)
			panic("out of memory for the preloaded container");
		q->guest = one[0];
		if (p->share)
			q->share = one[1];
		else
			q->path = one[1];
		q->readonly = p->readonly;
		free(one);
	}
	if (create_from(c, 1, b->object, b->object_size, &link_us, err, sizeof(err)) < 0)
		panic("boot config: the initrd's object: %s", err);
}

/* ---- the supervisor ---- */

int pod_main(void)
{
	const struct kumo_bootcfg *b = &kumo_bootcfg;
	char err[200];
	kumo_pod_mode = 1;
	self = kthread_current();
	crc_init();
	pod_new_boot_id();
	if (ramfs_init(b->rootfs, b->rootfs_size, err, sizeof(err)) < 0)
		panic("boot config: %s", err);
	/* The pod's own tree: the initrd rootfs plus its "mounts" (shared by every
	 * container that preopens a path of it). */
	for (int i = 0; i < b->nmounts; i++) {
		struct p9mount *m;
		if (p9fs_mount(b->mounts[i].share, b->mounts[i].entry, b->mounts[i].readonly != 0, &m,
			       err, sizeof(err)) < 0)
			panic("boot config: %s", err);
		int rc = ramfs_mount(b->mounts[i].path, m);
		if (rc < 0)
			panic("boot config: share `%s`: cannot mount it at `%s` (wasi errno %d)",
			      b->mounts[i].share, b->mounts[i].path, -rc);
	}
	int control = vcons_init(err, sizeof(err));
	if (control < 0)
		panic("control channel: %s", err);
	uint64_t free_bytes = page_free_count() * PAGE_SIZE;
	mem_budget = free_bytes > KUMO_POD_KERNEL_RESERVE ? free_bytes - KUMO_POD_KERNEL_RESERVE : 0;
	if (b->object)
		preload();
	podrec_json(KUMO_POD_REC_READY, 0, 0,
		    "{\"boot_id\": \"%s\", \"abi\": %d, \"control\": %s, \"max_cid\": %u, "
		    "\"memory_bytes\": %llu, \"boot_us\": %llu%s}",
		    boot_id, KUMO_BOOT_ABI_VERSION, control ? "true" : "false", KUMO_POD_MAX_CID,
		    (unsigned long long)mem_budget,
		    (unsigned long long)(clock_tsc_to_ns(rdtsc() - kumo_boot_tsc) / 1000),
		    b->object ? ", \"preloaded\": 1" : "");
	klog("pod `%s` ready: control channel %s, %llu MiB for containers",
	     b->pod_name ? b->pod_name : "", control ? (vcons_irq ? "on" : "polled") : "absent",
	     (unsigned long long)(mem_budget >> 20));
	static uint8_t buf[64 << 10];
	for (;;) {
		size_t n;
		while ((n = vcons_read(buf, sizeof(buf))) > 0)
			feed(buf, n);
		reap();
		if (kumo_stop_pending)
			shutdown_step();
		uint64_t next = next_deadline();
		if (control && !vcons_irq) {
			uint64_t poll = clock_monotonic_ns() + 2000000ull;
			if (poll < next)
				next = poll;
		}
		sched_wait(KWAKE_IRQ | KWAKE_EVENT, next);
	}
}
