/* tests/support/podtest.c - a host for one pod VM (kernel/pod_abi.h), driven by a script on
 * stdin, for tests/guest/run-pod-tests.sh. It boots the pod kernel through vmm/ (QEMU's
 * command line from vmm_qemu_argv, with the control channel's virtio-console), writes
 * commands on the control socket and reads the record stream from COM1's file. It is
 * also the reference for kumod's side of the boundary: command framing and CRC-32, seq
 * numbering and a journal of what was sent, the record parser, and the restart
 * procedure (`crash`: drop the connection mid-command and forget everything learnt from
 * records; `recover`: reread the records, reconnect, PING until in sync, resend what was
 * not acknowledged).
 *
 * usage: kumo-podtest --kernel ELF --dir RUN_DIR [--mem MIB] [--accel kvm|tcg]
 *                     [--share TAG=DIR[:ro]]... [--config JSON] < script
 * Script lines (one command each; `#` comments):
 *   create CID OBJECT JSON     CREATE with the object as blob ("-": none; JSON is one word)
 *   start CID | kill CID | remove CID | info
 *   stop CID GRACE_MS
 *   stdin CID TEXT             STDIN with TEXT (`_` = space, `\n` = newline)
 *   stdin-bytes CID N          STDIN with N bytes of a pattern
 *   close-stdin CID            CLOSE_STDIN
 *   wait-started CID [MS]      STARTED of CID's newest START
 *   wait-exit CID [MS]         EXIT of CID's newest START
 *   wait-out CID TEXT [MS]     CID's stdout contains TEXT (TEXT: one word, `_` = space)
 *   out CID                    CID's stdout so far
 *   boots                      KUMO-BOOT lines on COM3 (the VM's boots)
 *   junk N                     N bytes of garbage on the channel (resync)
 *   badcrc CID OBJECT JSON     a CREATE whose body checksum is wrong
 *   crash CID OBJECT JSON N    only the first N bytes of a CREATE, then the connection
 *                              closes and record-derived state is forgotten
 *   recover                    the restart procedure of kernel/pod_abi.h
 *   errors                     ERROR records so far
 *   sleep MS
 *   shutdown GRACE_MS          vmm_stop (power button, then destroy): the VM's exit
 *   quiesce | resume           QUIESCE, RESUME (with the host's realtime_ns)
 *   reinit JSON                REINIT (JSON one word)
 *   checkpoint DIR             vmm_checkpoint into DIR, the VM going on: "checkpoint: ok
 *                              N bytes" or "checkpoint: error MESSAGE"
 *   unlink PATH                removes a host file (between a quiesce and a resume)
 * Every command prints one result line (`NAME CID: ...`); the script checks them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "kernel/boot_abi.h"
#include "vmm/vmm.h"

#define MAX_CID KUMO_POD_MAX_CID
#define DEFAULT_WAIT_MS 30000

/* A command sent, kept until its ACK is seen (kumod would persist it). */
struct sent {
	uint64_t seq;
	uint8_t *bytes;  /* the whole message */
	size_t len;
	int acked;
	char *ack;       /* the ACK's JSON */
	struct sent *next;
};

struct ct {
	char *out;       /* stdout so far */
	size_t outlen;
	char *err;       /* stderr so far */
	size_t errlen;
	uint64_t start_seq;     /* newest START */
	char *started;          /* its STARTED JSON */
	char *exit;             /* its EXIT JSON */
	uint64_t start_ns;      /* when the START was sent (host clock) */
	uint64_t stop_ns;       /* when a STOP or KILL was sent after it, 0: none */
	uint64_t first_out_ns;  /* when its first STDOUT record was seen, 0: none yet */
	uint64_t started_ns, exit_ns; /* when they were seen */
};

static struct {
	const char *dir;
	char *rec_path, *sock_path, *com3_path;
	int sock;               /* control connection, -1: none */
	uint64_t next_seq;
	struct sent *journal;
	uint64_t rec_off;       /* record file bytes parsed */
	uint8_t *pending;       /* an incomplete record's bytes */
	size_t pending_len;
	int ready;
	char *ready_json;
	struct ct cts[MAX_CID + 1];
	char *errors;           /* ERROR records, one per line */
	char *pong_nonce;       /* the last PING ACK's nonce */
	struct vmm *vmm;
	struct vmm_vm *vm;
} st = {.sock = -1, .next_seq = 1};

static void die(const char *fmt, const char *a)
{
	fprintf(stderr, "podtest: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n");
	if (st.vm)
		vmm_vm_free(st.vm);
	exit(2);
}

static void append(char **buf, size_t *len, const void *p, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = 0;
}

/* ---- records ---- */

static void on_record(const struct kumo_pod_rec *h, const uint8_t *p)
{
	char *s = xmalloc(h->len + 1);
	memcpy(s, p, h->len);
	s[h->len] = 0;
	struct ct *c = h->cid <= MAX_CID ? &st.cts[h->cid] : NULL;
	switch (h->type) {
	case KUMO_POD_REC_READY:
		st.ready = 1;
		free(st.ready_json);
		st.ready_json = s;
		return;
	case KUMO_POD_REC_ACK:
		if (h->seq == 0) { /* PING: its nonce says whose */
			const char *n = strstr(s, "\"nonce\": \"");
			free(st.pong_nonce);
			st.pong_nonce = n ? strndup(n + 10, strcspn(n + 10, "\"")) : NULL;
			break;
		}
		for (struct sent *x = st.journal; x; x = x->next)
			if (x->seq == h->seq && !x->acked) {
				x->acked = 1;
				x->ack = s;
				return;
			}
		break;
	case KUMO_POD_REC_ERROR: {
		size_t n = st.errors ? strlen(st.errors) : 0;
		append(&st.errors, &n, s, h->len);
		append(&st.errors, &n, "\n", 1);
		break;
	}
	case KUMO_POD_REC_STDOUT:
		if (c) {
			append(&c->out, &c->outlen, p, h->len);
			if (!c->first_out_ns)
				c->first_out_ns = kumo_now_ns();
		}
		break;
	case KUMO_POD_REC_STDERR:
		if (c)
			append(&c->err, &c->errlen, p, h->len);
		break;
	case KUMO_POD_REC_STARTED:
		if (c && h->seq == c->start_seq) {
			free(c->started);
			c->started = s;
			c->started_ns = kumo_now_ns();
			return;
		}
		break;
	case KUMO_POD_REC_EXIT:
		if (c && h->seq == c->start_seq) {
			free(c->exit);
			c->exit = s;
			c->exit_ns = kumo_now_ns();
			return;
		}
		break;
	}
	free(s);
}

/* Parses what the record file gained since the last call. */
static void pump(void)
{
	int fd = open(st.rec_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	uint8_t buf[65536];
	ssize_t n;
	while ((n = pread(fd, buf, sizeof(buf), (off_t)st.rec_off)) > 0) {
		st.rec_off += (uint64_t)n;
		append((char **)&st.pending, &st.pending_len, buf, (size_t)n);
		size_t at = 0;
		while (st.pending_len - at >= sizeof(struct kumo_pod_rec)) {
			struct kumo_pod_rec h;
			memcpy(&h, st.pending + at, sizeof(h));
			if (h.magic != KUMO_POD_REC_MAGIC || h.len > KUMO_POD_REC_MAX)
				die("record stream broken at a header (%s)", "bad magic or length");
			if (st.pending_len - at - sizeof(h) < h.len)
				break; /* the rest is still to come */
			on_record(&h, st.pending + at + sizeof(h));
			at += sizeof(h) + h.len;
		}
		memmove(st.pending, st.pending + at, st.pending_len - at);
		st.pending_len -= at;
	}
	close(fd);
}

/* Pumps until cond() or ms pass; 1 when cond held. */
static int wait_for(int (*cond)(void *), void *arg, int ms)
{
	uint64_t end = kumo_now_ns() + (uint64_t)ms * 1000000ull;
	for (;;) {
		pump();
		if (cond(arg))
			return 1;
		if (kumo_now_ns() >= end)
			return 0;
		struct kumo_exit_record ex;
		if (st.vm && vmm_vm_exit(st.vm, &ex, NULL)) {
			pump();
			return cond(arg);
		}
		usleep(2000);
	}
}

/* ---- the channel ---- */

static void connect_channel(void)
{
	for (int tries = 0; tries < 500; tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", st.sock_path);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			st.sock = fd;
			return;
		}
		if (fd >= 0)
			close(fd);
		usleep(10000);
	}
	die("cannot connect to `%s`", st.sock_path);
}

static void send_all(const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(st.sock, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("control channel write: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
	return n ? (uint32_t)crc32(c, p, (uInt)n) : c; /* zlib: a NULL buffer resets */
}

/* A whole message as frames (kernel/pod_abi.h): each a header with its CRCs, then at
 * most KUMO_POD_FRAG_MAX bytes of JSON + blob. */
static uint8_t *frame(uint16_t type, uint64_t seq, uint32_t cid, const char *json,
		      const uint8_t *blob, size_t blob_len, size_t *len)
{
	size_t jl = json ? strlen(json) : 0, total = jl + blob_len;
	size_t nframes = total ? (total + KUMO_POD_FRAG_MAX - 1) / KUMO_POD_FRAG_MAX : 1;
	uint8_t *body = xmalloc(total + 1);
	memcpy(body, json, jl);
	memcpy(body + jl, blob, blob_len);
	*len = nframes * sizeof(struct kumo_pod_msg) + total;
	uint8_t *m = xmalloc(*len), *at = m;
	for (size_t i = 0; i < nframes; i++) {
		size_t off = i * KUMO_POD_FRAG_MAX;
		size_t n = total - off < KUMO_POD_FRAG_MAX ? total - off : KUMO_POD_FRAG_MAX;
		struct kumo_pod_msg h = {.magic = KUMO_POD_MSG_MAGIC, .version = KUMO_POD_MSG_VERSION,
					 .type = type, .seq = seq, .cid = cid, .json_len = (uint32_t)jl,
					 .blob_len = (uint32_t)blob_len, .frag_off = (uint32_t)off};
		h.frag_crc = crc(0, body + off, n);
		h.hdr_crc = crc(0, &h, offsetof(struct kumo_pod_msg, hdr_crc));
		memcpy(at, &h, sizeof(h));
		memcpy(at + sizeof(h), body + off, n);
		at += sizeof(h) + n;
	}
	free(body);
	return m;
}

/* Numbers, journals and sends a command; returns its seq. */
static uint64_t command(uint16_t type, uint32_t cid, const char *json, const uint8_t *blob,
			size_t blob_len)
{
	struct sent *x = xzalloc(sizeof(*x));
	x->seq = st.next_seq++;
	x->bytes = frame(type, x->seq, cid, json, blob, blob_len, &x->len);
	x->next = st.journal;
	st.journal = x;
	send_all(x->bytes, x->len);
	return x->seq;
}

static struct sent *journal_find(uint64_t seq)
{
	for (struct sent *x = st.journal; x; x = x->next)
		if (x->seq == seq)
			return x;
	return NULL;
}

static int acked(void *arg)
{
	struct sent *x = journal_find(*(uint64_t *)arg);
	return x && x->acked;
}

/* Sends and waits for the ACK; prints "NAME CID: ok ..." or "NAME CID: error ...". */
static void run_command(const char *name, uint16_t type, uint32_t cid, const char *json,
			const uint8_t *blob, size_t blob_len)
{
	uint64_t t0 = kumo_now_ns();
	if (type == KUMO_POD_MSG_START && cid <= MAX_CID) {
		st.cts[cid].start_ns = t0;
		st.cts[cid].stop_ns = 0;
		pump(); /* output of earlier instances is not this one's */
		st.cts[cid].first_out_ns = 0;
	}
	if ((type == KUMO_POD_MSG_STOP || type == KUMO_POD_MSG_KILL) && cid <= MAX_CID)
		st.cts[cid].stop_ns = t0;
	uint64_t seq = command(type, cid, json, blob, blob_len);
	if (type == KUMO_POD_MSG_START && cid <= MAX_CID) {
		st.cts[cid].start_seq = seq;
		free(st.cts[cid].started);
		free(st.cts[cid].exit);
		st.cts[cid].started = st.cts[cid].exit = NULL;
	}
	if (!wait_for(acked, &seq, DEFAULT_WAIT_MS)) {
		printf("%s %u: no ack\n", name, cid);
		return;
	}
	struct sent *x = journal_find(seq);
	const char *e = strstr(x->ack, "\"error\": \"");
	if (strstr(x->ack, "\"ok\": true"))
		printf("%s %u: ok %s (%.1f ms)\n", name, cid, x->ack,
		       (double)(kumo_now_ns() - t0) / 1e6);
	else if (e)
		printf("%s %u: error %.*s\n", name, cid, (int)strcspn(e + 10, "\""), e + 10);
	else
		printf("%s %u: %s\n", name, cid, x->ack);
}

static uint8_t *read_object(const char *path, size_t *len)
{
	*len = 0;
	if (!strcmp(path, "-"))
		return NULL;
	uint8_t *buf;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 256u << 20, &buf, len, &err) < 0)
		die("%s", kumo_error_msg(err));
	return buf;
}

/* ---- the restart procedure ---- */

static void forget_records(void)
{
	st.rec_off = 0;
	st.pending_len = 0;
	st.ready = 0;
	for (unsigned i = 0; i <= MAX_CID; i++) {
		struct ct *c = &st.cts[i];
		free(c->out);
		free(c->err);
		free(c->started);
		free(c->exit);
		uint64_t seq = c->start_seq; /* the journal's knowledge, which kumod persists */
		memset(c, 0, sizeof(*c));
		c->start_seq = seq;
	}
	free(st.errors);
	st.errors = NULL;
	for (struct sent *x = st.journal; x; x = x->next) {
		x->acked = 0;
		free(x->ack);
		x->ack = NULL;
	}
}

struct nonce_wait {
	const char *nonce;
};

static int nonce_seen(void *arg)
{
	struct nonce_wait *w = arg;
	return st.pong_nonce && !strcmp(st.pong_nonce, w->nonce);
}

static void cmd_recover(void)
{
	uint64_t t0 = kumo_now_ns();
	pump(); /* 1. everything the file holds (forget_records reset the cursor to 0) */
	connect_channel(); /* 2. */
	char nonce[32], json[64];
	snprintf(nonce, sizeof(nonce), "%08x%08x", (unsigned)getpid(), (unsigned)rand());
	snprintf(json, sizeof(json), "{\"nonce\": \"%s\"}", nonce);
	struct nonce_wait w = {nonce};
	int pings = 0;
	static uint8_t zeros[KUMO_POD_SYNC_BYTES];
	do { /* 3. zeros end any cut frame; then PING (seq 0) until its ACK */
		send_all(zeros, sizeof(zeros));
		size_t len;
		uint8_t *m = frame(KUMO_POD_MSG_PING, 0, 0, json, NULL, 0, &len);
		send_all(m, len);
		free(m);
		pings++;
	} while (!wait_for(nonce_seen, &w, KUMO_POD_RESYNC_MS) && pings < 30);
	pump();
	/* 4. resend, oldest first, what has no ACK in the file */
	struct sent *order[1024];
	int n = 0, resent = 0;
	for (struct sent *x = st.journal; x && n < 1024; x = x->next)
		order[n++] = x;
	for (int i = n - 1; i >= 0; i--) {
		if (order[i]->acked)
			continue;
		send_all(order[i]->bytes, order[i]->len);
		resent++;
		uint64_t seq = order[i]->seq;
		wait_for(acked, &seq, DEFAULT_WAIT_MS);
	}
	printf("recover: in sync after %d ping(s), %d command(s) resent, %.1f ms\n", pings, resent,
	       (double)(kumo_now_ns() - t0) / 1e6);
}

/* ---- the script ---- */

static int started_cond(void *arg)
{
	return st.cts[*(uint32_t *)arg].started || st.cts[*(uint32_t *)arg].exit;
}

static int exit_cond(void *arg)
{
	return st.cts[*(uint32_t *)arg].exit != NULL;
}

struct out_wait {
	uint32_t cid;
	const char *text;
};

static int out_cond(void *arg)
{
	struct out_wait *w = arg;
	return st.cts[w->cid].out && strstr(st.cts[w->cid].out, w->text);
}

static void print_escaped(const char *prefix, const char *s)
{
	printf("%s", prefix);
	for (; s && *s; s++)
		if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	printf("\n");
}

static int boots(void)
{
	uint8_t *buf;
	size_t len;
	kumo_error_t err = NULL;
	if (kumo_read_file(st.com3_path, 64u << 20, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return 0;
	}
	int n = 0;
	for (size_t i = 0; i + sizeof(KUMO_BOOT_RECORD) <= len + 1; i++)
		if ((i == 0 || buf[i - 1] == '\n') &&
		    !memcmp(buf + i, KUMO_BOOT_RECORD, sizeof(KUMO_BOOT_RECORD) - 1))
			n++;
	free(buf);
	return n;
}

static void script(void)
{
	char line[8192];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		char *w[6] = {0};
		int nw = 0;
		for (char *p = strtok(line, " \t"); p && nw < 6; p = strtok(NULL, " \t"))
			w[nw++] = p;
		const char *c = w[0];
		uint32_t cid = w[1] ? (uint32_t)strtoul(w[1], NULL, 10) : 0;
		int ms = DEFAULT_WAIT_MS;
		if (cid > MAX_CID && strcmp(c, "junk") && strcmp(c, "sleep") && strcmp(c, "shutdown"))
			die("cid `%s` out of range", w[1]);
		if (!strcmp(c, "create") && nw == 4) {
			pump(); /* what an earlier container of this handle wrote stays its own */
			free(st.cts[cid].out);
			free(st.cts[cid].err);
			st.cts[cid].out = st.cts[cid].err = NULL;
			st.cts[cid].outlen = st.cts[cid].errlen = 0;
			size_t len;
			uint8_t *obj = read_object(w[2], &len);
			run_command("create", KUMO_POD_MSG_CREATE, cid, w[3], obj, len);
			free(obj);
		} else if (!strcmp(c, "start") && nw == 2) {
			run_command("start", KUMO_POD_MSG_START, cid, NULL, NULL, 0);
		} else if (!strcmp(c, "stop") && nw == 3) {
			char json[64];
			snprintf(json, sizeof(json), "{\"grace_ms\": %s}", w[2]);
			run_command("stop", KUMO_POD_MSG_STOP, cid, json, NULL, 0);
		} else if (!strcmp(c, "stdin") && nw == 3) {
			size_t n = 0;
			for (const char *p = w[2]; *p; p++) {
				if (p[0] == '\\' && p[1] == 'n') {
					w[2][n++] = '\n';
					p++;
				} else {
					w[2][n++] = *p == '_' ? ' ' : *p;
				}
			}
			run_command("stdin", KUMO_POD_MSG_STDIN, cid, NULL, (uint8_t *)w[2], n);
		} else if (!strcmp(c, "stdin-bytes") && nw == 3) {
			size_t n = strtoul(w[2], NULL, 10);
			uint8_t *b = xmalloc(n + 1);
			for (size_t i = 0; i < n; i++)
				b[i] = (uint8_t)('a' + i % 26);
			run_command("stdin", KUMO_POD_MSG_STDIN, cid, NULL, b, n);
			free(b);
		} else if (!strcmp(c, "close-stdin") && nw == 2) {
			run_command("close-stdin", KUMO_POD_MSG_CLOSE_STDIN, cid, NULL, NULL, 0);
		} else if (!strcmp(c, "kill") && nw == 2) {
			run_command("kill", KUMO_POD_MSG_KILL, cid, NULL, NULL, 0);
		} else if (!strcmp(c, "remove") && nw == 2) {
			run_command("remove", KUMO_POD_MSG_REMOVE, cid, NULL, NULL, 0);
		} else if (!strcmp(c, "info")) {
			run_command("info", KUMO_POD_MSG_INFO, 0, NULL, NULL, 0);
		} else if (!strcmp(c, "wait-started") && nw >= 2) {
			if (w[2])
				ms = atoi(w[2]);
			struct ct *t = &st.cts[cid];
			if (!wait_for(started_cond, &cid, ms) || !t->started)
				printf("started %u: %s\n", cid, t->exit ? t->exit : "timeout");
			else
				printf("started %u: %s host_ms=%.2f\n", cid, t->started,
				       (double)(t->started_ns - t->start_ns) / 1e6);
		} else if (!strcmp(c, "wait-exit") && nw >= 2) {
			if (w[2])
				ms = atoi(w[2]);
			struct ct *t = &st.cts[cid];
			if (!wait_for(exit_cond, &cid, ms))
				printf("exit %u: timeout\n", cid);
			else if (t->stop_ns)
				printf("exit %u: %s after_ms=%.0f after_stop_ms=%.0f\n", cid, t->exit,
				       (double)(t->exit_ns - t->start_ns) / 1e6,
				       (double)(t->exit_ns - t->stop_ns) / 1e6);
			else if (t->first_out_ns)
				printf("exit %u: %s after_ms=%.0f first_out_ms=%.2f\n", cid, t->exit,
				       (double)(t->exit_ns - t->start_ns) / 1e6,
				       (double)(t->first_out_ns - t->start_ns) / 1e6);
			else
				printf("exit %u: %s after_ms=%.0f\n", cid, t->exit,
				       (double)(t->exit_ns - t->start_ns) / 1e6);
		} else if (!strcmp(c, "wait-out") && nw >= 3) {
			for (char *p = w[2]; *p; p++)
				if (*p == '_')
					*p = ' ';
			if (w[3])
				ms = atoi(w[3]);
			struct out_wait ow = {cid, w[2]};
			uint64_t t0 = kumo_now_ns();
			if (wait_for(out_cond, &ow, ms))
				printf("out %u: found `%s` (%.1f ms)\n", cid, w[2],
				       (double)(kumo_now_ns() - t0) / 1e6);
			else
				print_escaped("out: timeout, have: ", st.cts[cid].out);
		} else if (!strcmp(c, "out") && nw == 2) {
			pump();
			char prefix[32];
			snprintf(prefix, sizeof(prefix), "out %u| ", cid);
			print_escaped(prefix, st.cts[cid].out);
			snprintf(prefix, sizeof(prefix), "err %u| ", cid);
			print_escaped(prefix, st.cts[cid].err);
		} else if (!strcmp(c, "boots")) {
			printf("boots: %d\n", boots());
		} else if (!strcmp(c, "junk") && nw == 2) {
			uint8_t junk[4096];
			size_t n = strtoul(w[1], NULL, 10);
			for (size_t i = 0; i < sizeof(junk); i++)
				junk[i] = (uint8_t)(i * 131 + 7);
			for (size_t left = n; left;) {
				size_t k = left < sizeof(junk) ? left : sizeof(junk);
				send_all(junk, k);
				left -= k;
			}
			printf("junk: %zu bytes sent\n", n);
		} else if (!strcmp(c, "badcrc") && nw == 4) {
			size_t len, mlen;
			uint8_t *obj = read_object(w[2], &len);
			uint64_t seq = st.next_seq++;
			uint8_t *m = frame(KUMO_POD_MSG_CREATE, seq, cid, w[3], obj, len, &mlen);
			m[mlen - 1] ^= 0xff; /* the last frame's payload, after its CRC was computed */
			send_all(m, mlen);
			free(m);
			free(obj);
			printf("badcrc %u: seq %llu sent\n", cid, (unsigned long long)seq);
		} else if (!strcmp(c, "crash") && nw == 5) {
			size_t len;
			uint8_t *obj = read_object(w[2], &len);
			struct sent *x = xzalloc(sizeof(*x));
			x->seq = st.next_seq++;
			x->bytes = frame(KUMO_POD_MSG_CREATE, x->seq, cid, w[3], obj, len, &x->len);
			x->next = st.journal;
			st.journal = x;
			size_t cut = strtoul(w[4], NULL, 10);
			send_all(x->bytes, cut < x->len ? cut : x->len);
			close(st.sock);
			st.sock = -1;
			forget_records();
			free(obj);
			printf("crash: %zu of %zu bytes of seq %llu sent, connection closed\n",
			       cut < x->len ? cut : x->len, x->len, (unsigned long long)x->seq);
		} else if (!strcmp(c, "recover")) {
			cmd_recover();
		} else if (!strcmp(c, "errors")) {
			pump();
			print_escaped("errors: ", st.errors);
		} else if (!strcmp(c, "sleep") && nw == 2) {
			usleep((useconds_t)atoi(w[1]) * 1000);
			printf("slept\n");
		} else if (!strcmp(c, "reinit") && nw == 2) {
			run_command("reinit", KUMO_POD_MSG_REINIT, 0, w[1], NULL, 0);
		} else if (!strcmp(c, "quiesce")) {
			run_command("quiesce", KUMO_POD_MSG_QUIESCE, 0, NULL, NULL, 0);
		} else if (!strcmp(c, "resume")) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			char json[64];
			snprintf(json, sizeof(json), "{\"realtime_ns\": %lld}",
				 (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
			run_command("resume", KUMO_POD_MSG_RESUME, 0, json, NULL, 0);
		} else if (!strcmp(c, "checkpoint") && nw == 2) {
			kumo_error_t err = NULL;
			struct vmm_snapshot_stats ss;
			if (vmm_checkpoint(st.vm, w[1], true, &ss, &err) < 0) {
				printf("checkpoint: error %s\n", kumo_error_msg(err));
				kumo_error_free(&err);
			} else {
				printf("checkpoint: ok %llu bytes, paused %.1f ms\n",
				       (unsigned long long)ss.stream_bytes, (double)ss.paused_ns / 1e6);
			}
		} else if (!strcmp(c, "unlink") && nw == 2) {
			printf("unlink: %s\n", unlink(w[1]) == 0 ? "ok" : strerror(errno));
		} else if (!strcmp(c, "shutdown") && nw == 2) {
			kumo_error_t err = NULL;
			if (vmm_stop(st.vm, atoi(w[1]), &err) < 0) {
				printf("shutdown: %s\n", kumo_error_msg(err));
				kumo_error_free(&err);
			}
			struct kumo_exit_record ex;
			if (vmm_wait(st.vm, 30000, &ex, &err) == 1)
				printf("shutdown: vm exit code %u %s\n", ex.status, ex.msg);
			else
				printf("shutdown: vm still there\n");
		} else {
			die("bad script line `%s`", c);
		}
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	const char *kernel = NULL, *config = "{\"pod\": {\"name\": \"podtest\"}}";
	unsigned mem = 256;
	enum vmm_accel accel = VMM_ACCEL_TCG;
	struct vmm_share shares[16];
	size_t nshares = 0;
	static const struct option lo[] = {{"kernel", 1, 0, 'k'}, {"dir", 1, 0, 'd'}, {"mem", 1, 0, 'm'},
					   {"accel", 1, 0, 'a'},  {"share", 1, 0, 's'}, {"config", 1, 0, 'c'},
					   {0, 0, 0, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'k': kernel = optarg; break;
		case 'd': st.dir = optarg; break;
		case 'm': mem = (unsigned)atoi(optarg); break;
		case 'a': accel = !strcmp(optarg, "kvm") ? VMM_ACCEL_KVM : VMM_ACCEL_TCG; break;
		case 'c': config = optarg; break;
		case 's': {
			if (nshares == 16)
				die("%s", "too many shares");
			char *eq = strchr(optarg, '=');
			if (!eq)
				die("share `%s` is not TAG=DIR", optarg);
			*eq = 0;
			size_t l = strlen(eq + 1);
			int ro = l > 3 && !strcmp(eq + 1 + l - 3, ":ro");
			if (ro)
				eq[1 + l - 3] = 0;
			shares[nshares++] = (struct vmm_share){eq + 1, optarg, ro};
			break;
		}
		default: die("%s", "usage: kumo-podtest --kernel ELF --dir RUN_DIR [...] < script");
		}
	}
	if (!kernel || !st.dir)
		die("%s", "usage: kumo-podtest --kernel ELF --dir RUN_DIR [...] < script");
	signal(SIGPIPE, SIG_IGN);
	st.rec_path = xasprintf("%s/%s", st.dir, VMM_RAW_STDOUT);
	st.com3_path = xasprintf("%s/%s", st.dir, VMM_RAW_EXIT);
	st.sock_path = xasprintf("%s/control.sock", st.dir);
	kumo_error_t err = NULL;
	if (kumo_mkdir_p(st.dir, 0755, &err) < 0)
		die("%s", kumo_error_msg(err));
	/* The boot config (boot_abi.h) in an initrd, written the way builder/ does. */
	char *initrd = xasprintf("%s/initrd.img", st.dir);
	{
		size_t cl = strlen(config);
		struct kumo_initrd_header h = {.version = KUMO_BOOT_ABI_VERSION, .header_size = sizeof(h),
					       .config_offset = sizeof(h), .config_size = cl};
		memcpy(h.magic, KUMO_INITRD_MAGIC, 8);
		size_t len = sizeof(h) + cl;
		uint8_t *img = xmalloc(len);
		memcpy(img, &h, sizeof(h));
		memcpy(img + sizeof(h), config, cl);
		if (kumo_write_file_atomic(initrd, img, len, 0644, &err) < 0)
			die("%s", kumo_error_msg(err));
		free(img);
	}
	struct vmm_config cfg = {.backend = VMM_BACKEND_QEMU, .accel = accel};
	if (vmm_open(&cfg, &st.vmm, &err) < 0)
		die("%s", kumo_error_msg(err));
	struct vmm_spec s = {.name = "podtest", .kernel = kernel, .initrd = initrd, .memory_mib = mem,
			     .vcpus = 1, .run_dir = st.dir, .stdout_fd = -1, .stderr_fd = -1,
			     .shares = shares, .nshares = nshares, .control_socket = st.sock_path};
	uint64_t t0 = kumo_now_ns();
	if (vmm_create(st.vmm, &s, &st.vm, &err) < 0 || vmm_start(st.vm, &err) < 0)
		die("%s", kumo_error_msg(err));
	connect_channel();
	uint64_t end = kumo_now_ns() + 30000000000ull;
	while (!st.ready && kumo_now_ns() < end) {
		pump();
		struct kumo_exit_record ex;
		if (vmm_vm_exit(st.vm, &ex, NULL))
			break;
		usleep(2000);
	}
	if (!st.ready)
		die("%s", "no READY record within 30 s");
	printf("ready: %s host_ms=%.1f\n", st.ready_json, (double)(kumo_now_ns() - t0) / 1e6);
	fflush(stdout);
	script();
	struct kumo_exit_record ex;
	if (!vmm_vm_exit(st.vm, &ex, NULL)) {
		vmm_stop(st.vm, 0, &err);
		kumo_error_free(&err);
	}
	vmm_vm_free(st.vm);
	vmm_close(st.vmm);
	return 0;
}
