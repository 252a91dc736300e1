/* tests/fuzz/fuzz_p9.c - fuzz target for the kernel's 9P2000.L client and reply codec
 * (kernel/os/p9_client.c, p9_wire.c, built hosted) against a server that answers with
 * the fuzzer's bytes: the host is trusted, but no reply may make the guest read past
 * it, loop or crash. Every call must return 0 or a negative WASI errno, and what it
 * hands back (counts, names, readdir entries) must lie inside the reply.
 *
 * Input: after the Rversion reply, records of [op u8][length u16 le][reply bytes]. op
 * picks the call to make (op >> 1) and whether the transport stamps the request's tag
 * on the reply (op & 1), as a well-behaved server would. The first record answers
 * Tversion. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/os/p9.h"
#include "kernel/wasi/wasi_abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 8192

struct feed {
	struct p9_transport t; /* first: the callback gets back to us */
	uint8_t req[CAP], rep[CAP];
	const uint8_t *data;
	size_t size, pos;
	uint8_t op; /* of the record being answered */
};

static int feed_rpc(struct p9_transport *t, uint32_t reqlen, uint32_t *replen)
{
	struct feed *f = (struct feed *)t;
	if (reqlen > CAP || reqlen < P9_HDR)
		abort(); /* the client built a request larger than its buffer */
	if (f->pos + 3 > f->size)
		return -WASI_EIO;
	f->op = f->data[f->pos];
	size_t len = (size_t)f->data[f->pos + 1] | (size_t)f->data[f->pos + 2] << 8;
	f->pos += 3;
	if (len > f->size - f->pos)
		len = f->size - f->pos;
	if (len > CAP)
		len = CAP;
	memcpy(f->rep, f->data + f->pos, len);
	f->pos += len;
	if ((f->op & 1) && len >= P9_HDR)
		memcpy(f->rep + 5, f->req + 5, 2);
	*replen = (uint32_t)len;
	return 0;
}

static void check_rc(int rc)
{
	if (rc > 0 || rc < -76) /* WASI errnos are 1..76 */
		abort();
}

static uint8_t next_op(const struct feed *f)
{
	return f->pos < f->size ? f->data[f->pos] >> 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed *f = calloc(1, sizeof(*f));
	f->t = (struct p9_transport){.req = f->req, .rep = f->rep, .cap = CAP, .rpc = feed_rpc};
	f->data = data;
	f->size = size;
	struct p9_client c;
	int rc = p9_client_init(&c, &f->t, CAP);
	check_rc(rc);
	if (rc == 0 && (c.msize < P9_MSIZE_MIN || c.msize > CAP))
		abort();
	static uint8_t buf[CAP];
	for (int calls = 0; rc == 0 && calls < 256 && f->pos < f->size; calls++) {
		struct p9_qid q = {0};
		struct p9_attr a = {0};
		bool released = false;
		uint32_t fid = 0, n = 0, iounit = 0;
		check_rc(p9_fid_alloc(&c, &fid));
		int r;
		switch (next_op(f) % 19) {
		case 0: r = p9_attach(&c, fid, 0, &q); break;
		case 1: r = p9_walk(&c, 1, fid, "name", &q); break;
		case 2: r = p9_walk(&c, 1, fid, NULL, &q); break;
		case 3: r = p9_lopen(&c, fid, P9_O_RDWR, &q, &iounit); break;
		case 4: r = p9_lcreate(&c, fid, "new", P9_O_CREAT, 0644, 0, &q, &iounit); break;
		case 5:
			r = p9_read(&c, fid, 0, buf, p9_io_max(&c), &n);
			if (r == 0 && n > p9_io_max(&c))
				abort();
			break;
		case 6:
			r = p9_write(&c, fid, 0, buf, p9_io_max(&c), &n);
			if (r == 0 && n > p9_io_max(&c))
				abort();
			break;
		case 7: r = p9_getattr(&c, fid, P9_GETATTR_BASIC, &a); break;
		case 8: {
			struct p9_setattr s = {.valid = P9_SETATTR_SIZE, .size = 1};
			r = p9_setattr(&c, fid, &s);
			break;
		}
		case 9: {
			const uint8_t *d = NULL;
			uint32_t len = 0;
			r = p9_readdir(&c, fid, 0, CAP - P9_IOHDR, &d, &len);
			if (r == 0) {
				if (!d || d < f->rep || d + len > f->rep + CAP)
					abort();
				uint32_t pos = 0;
				struct p9_dirent e;
				int k;
				while ((k = p9_dirent_next(d, len, &pos, &e)) == 1) {
					if (pos > len || (const uint8_t *)e.name < d ||
					    (const uint8_t *)e.name + e.namelen > d + len)
						abort();
					(void)p9_dt_filetype(e.type);
					(void)p9_qid_filetype(&e.qid);
				}
				check_rc(k);
			}
			break;
		}
		case 10: r = p9_mkdir(&c, fid, "dir", 0755, 0, &q); break;
		case 11: r = p9_symlink(&c, fid, "link", "target", 0, &q); break;
		case 12: {
			char lb[16];
			size_t full = 0;
			r = p9_readlink(&c, fid, lb, sizeof(lb), &full);
			break;
		}
		case 13: r = p9_link(&c, 1, fid, "hard"); break;
		case 14: r = p9_renameat(&c, 1, "a", fid, "b"); break;
		case 15: r = p9_unlinkat(&c, 1, "gone", P9_AT_REMOVEDIR); break;
		case 16: r = p9_fsync(&c, fid, true); break;
		case 17:
			r = p9_clunk(&c, fid);
			released = true; /* Tclunk returns the fid whatever the reply */
			break;
		default: {
			char big[P9_NAME_MAX + 2];
			memset(big, 'x', sizeof(big) - 1);
			big[sizeof(big) - 1] = 0;
			r = p9_walk(&c, 1, fid, big, &q); /* a name too long never leaves */
			if (r != -WASI_ENAMETOOLONG)
				abort();
			break;
		}
		}
		check_rc(r);
		(void)p9_qid_filetype(&q);
		(void)p9_mode_filetype(a.mode);
		if (!released)
			p9_fid_release(&c, fid);
	}
	p9_client_free(&c);
	free(f);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "common.h"
#include "tests/fuzz/fuzz_replay_main.h"
#endif
