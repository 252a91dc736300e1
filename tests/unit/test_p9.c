/* tests/unit/test_p9.c - the kernel's 9P2000.L client (kernel/os/p9_wire.c,
 * p9_client.c) built hosted over a fake transport: exact request bytes, reply
 * decoding, Linux errnos as WASI's, and malformed replies (short, oversized, wrong
 * tag or type, counts past the end, random bytes) refused without reading past them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/os/p9.h"
#include "kernel/wasi/wasi_abi.h"

#define CAP 8192

/* A server that answers every request with the reply the test set up. */
struct fake {
	struct p9_transport t;  /* first: the callback gets back to us */
	uint8_t reqbuf[CAP], repbuf[CAP];
	uint8_t reply[CAP];     /* what the next call answers */
	uint32_t replylen;
	int64_t claim_len;      /* >= 0: the transport claims this many reply bytes */
	bool keep_tag;          /* false: the reply takes the request's tag */
	uint32_t reqlen;        /* the last request's length */
	int calls;
};

static int fake_rpc(struct p9_transport *t, uint32_t reqlen, uint32_t *replen)
{
	struct fake *f = (struct fake *)t;
	f->reqlen = reqlen;
	f->calls++;
	memcpy(t->rep, f->reply, f->replylen);
	if (!f->keep_tag && f->replylen >= 7)
		memcpy(t->rep + 5, t->req + 5, 2);
	*replen = f->claim_len >= 0 ? (uint32_t)f->claim_len : f->replylen;
	return 0;
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	f->t = (struct p9_transport){.req = f->reqbuf, .rep = f->repbuf, .cap = CAP, .rpc = fake_rpc};
	f->claim_len = -1;
	return f;
}

/* Starts the canned reply of `type`; the caller puts the body, then reply_end. */
static void reply_begin(struct fake *f, struct p9_msg *m, uint8_t type)
{
	p9_msg_begin(m, f->reply, CAP, type, 0);
}
static void reply_end(struct fake *f, struct p9_msg *m)
{
	f->replylen = p9_msg_end(m);
	assert_true(f->replylen > 0);
}
static void reply_raw(struct fake *f, const void *bytes, uint32_t n)
{
	memcpy(f->reply, bytes, n);
	f->replylen = n;
}
static void reply_lerror(struct fake *f, uint32_t linux_errno)
{
	struct p9_msg m;
	reply_begin(f, &m, P9_RLERROR);
	p9_put_u32(&m, linux_errno);
	reply_end(f, &m);
}

/* A client past Tversion, with msize CAP. */
static int setup(void **state)
{
	struct fake *f = fake_new();
	struct p9_msg m;
	reply_begin(f, &m, P9_RVERSION);
	p9_put_u32(&m, CAP);
	p9_put_str(&m, P9_VERSION, strlen(P9_VERSION));
	reply_end(f, &m);
	struct p9_client *c = calloc(1, sizeof(*c));
	assert_int_equal(p9_client_init(c, &f->t, CAP), 0); /* the reply takes NOTAG */
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct p9_client *c = *state;
	free(c->t);
	p9_client_free(c);
	free(c);
	return 0;
}

static struct fake *fake_of(struct p9_client *c) { return (struct fake *)c->t; }

static void version_request_bytes(void **state)
{
	struct fake *f = fake_new();
	struct p9_msg m;
	reply_begin(f, &m, P9_RVERSION);
	p9_put_u32(&m, 4096);
	p9_put_str(&m, "9P2000.L", 8);
	reply_end(f, &m);
	f->keep_tag = true;
	memset(f->reply + 5, 0xff, 2); /* NOTAG */
	struct p9_client c;
	assert_int_equal(p9_client_init(&c, &f->t, 65536), 0);
	/* size[4] Tversion[1] NOTAG[2] msize[4]=min(65536, cap) version[s] */
	static const uint8_t want[] = {21, 0, 0, 0, 100, 0xff, 0xff, 0x00, 0x20, 0, 0,
				       8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L'};
	assert_int_equal(f->reqlen, sizeof(want));
	assert_memory_equal(f->reqbuf, want, sizeof(want));
	assert_int_equal(c.msize, 4096); /* the server's smaller msize wins */
	p9_client_free(&c);
	(void)state;
	free(f);
}

static void version_refusals(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct p9_client c;
	struct p9_msg m;
	f->keep_tag = true;
	/* Another protocol. */
	reply_begin(f, &m, P9_RVERSION);
	p9_put_u32(&m, 8192);
	p9_put_str(&m, "unknown", 7);
	reply_end(f, &m);
	memset(f->reply + 5, 0xff, 2);
	assert_int_equal(p9_client_init(&c, &f->t, 8192), -WASI_ENOTSUP);
	/* An msize larger than asked for. */
	reply_begin(f, &m, P9_RVERSION);
	p9_put_u32(&m, 1 << 20);
	p9_put_str(&m, "9P2000.L", 8);
	reply_end(f, &m);
	memset(f->reply + 5, 0xff, 2);
	assert_int_equal(p9_client_init(&c, &f->t, 8192), -WASI_EIO);
	/* The version string cut off. */
	f->replylen -= 3;
	f->reply[0] = (uint8_t)f->replylen;
	assert_int_equal(p9_client_init(&c, &f->t, 8192), -WASI_EIO);
	/* Too small an msize to ask for. */
	assert_int_equal(p9_client_init(&c, &f->t, 100), -WASI_EINVAL);
	free(f);
}

static void walk_request_and_reply(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_msg m;
	reply_begin(f, &m, P9_RWALK);
	p9_put_u16(&m, 1);
	p9_put_u8(&m, P9_QTDIR);
	p9_put_u32(&m, 7);
	p9_put_u64(&m, 0x1122334455667788ull);
	reply_end(f, &m);
	struct p9_qid q;
	assert_int_equal(p9_walk(c, 1, 2, "etc", &q), 0);
	assert_int_equal(q.type, P9_QTDIR);
	assert_int_equal(q.version, 7);
	assert_true(q.path == 0x1122334455667788ull);
	/* size tag fid newfid nwname=1 "etc" */
	uint8_t want[] = {22, 0, 0, 0, 110, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 3, 0, 'e', 't', 'c'};
	memcpy(want + 5, f->reqbuf + 5, 2); /* whatever tag the client chose */
	assert_int_equal(f->reqlen, sizeof(want));
	assert_memory_equal(f->reqbuf, want, sizeof(want));
	assert_int_not_equal(f->reqbuf[5] | f->reqbuf[6] << 8, P9_NOTAG);
	/* A clone walk sends no name and expects no qid. */
	reply_begin(f, &m, P9_RWALK);
	p9_put_u16(&m, 0);
	reply_end(f, &m);
	assert_int_equal(p9_walk(c, 1, 3, NULL, &q), 0);
	assert_int_equal(f->reqlen, 17);
	/* A walk that stops short: the name does not exist. */
	assert_int_equal(p9_walk(c, 1, 3, "nope", &q), -WASI_ENOENT);
	/* A qid missing from the reply. */
	reply_begin(f, &m, P9_RWALK);
	p9_put_u16(&m, 1);
	p9_put_u8(&m, 0);
	reply_end(f, &m);
	assert_int_equal(p9_walk(c, 1, 3, "x", &q), -WASI_EIO);
	/* More qids than names. */
	reply_begin(f, &m, P9_RWALK);
	p9_put_u16(&m, 2);
	reply_end(f, &m);
	assert_int_equal(p9_walk(c, 1, 3, "x", &q), -WASI_EIO);
}

static void errors_mapped(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_qid q;
	static const struct { uint32_t linux_no; int wasi; } map[] = {
		{2, -WASI_ENOENT}, {13, -WASI_EACCES}, {17, -WASI_EEXIST}, {20, -WASI_ENOTDIR},
		{21, -WASI_EISDIR}, {30, -WASI_EROFS}, {39, -WASI_ENOTEMPTY}, {40, -WASI_ELOOP},
		{18, -WASI_EXDEV}, {28, -WASI_ENOSPC}, {95, -WASI_ENOTSUP}, {36, -WASI_ENAMETOOLONG},
		{9999, -WASI_EIO}, {0, -WASI_EIO},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		reply_lerror(f, map[i].linux_no);
		assert_int_equal(p9_walk(c, 1, 2, "x", &q), map[i].wasi);
	}
	/* An Rlerror without its errno. */
	static const uint8_t shortlerr[] = {9, 0, 0, 0, P9_RLERROR, 0, 0, 2, 0};
	reply_raw(f, shortlerr, sizeof(shortlerr));
	assert_int_equal(p9_walk(c, 1, 2, "x", &q), -WASI_EIO);
	assert_int_equal(p9_errno_to_wasi(1), -WASI_EPERM);
}

static void malformed_headers(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_msg m;
	/* Shorter than a header. */
	static const uint8_t tiny[] = {7, 0, 0, 0, P9_RCLUNK};
	reply_raw(f, tiny, sizeof(tiny));
	assert_int_equal(p9_clunk(c, 5), -WASI_EIO);
	/* Nothing at all. */
	f->replylen = 0;
	assert_int_equal(p9_clunk(c, 5), -WASI_EIO);
	/* A size field larger than what arrived. */
	reply_begin(f, &m, P9_RCLUNK);
	reply_end(f, &m);
	f->reply[0] = 200;
	assert_int_equal(p9_clunk(c, 5), -WASI_EIO);
	/* A size field below the header's. */
	f->reply[0] = 3;
	assert_int_equal(p9_clunk(c, 5), -WASI_EIO);
	/* The wrong tag: a reply to someone else. */
	reply_begin(f, &m, P9_RCLUNK);
	reply_end(f, &m);
	f->keep_tag = true;
	f->reply[5] = 0x34;
	f->reply[6] = 0x12;
	assert_int_equal(p9_clunk(c, 5), -WASI_EIO);
	f->keep_tag = false;
	/* The wrong type. */
	reply_begin(f, &m, P9_RREAD);
	reply_end(f, &m);
	assert_int_equal(p9_clunk(c, 5), -WASI_EIO);
	/* The transport claims more bytes than its buffer holds. */
	reply_begin(f, &m, P9_RCLUNK);
	reply_end(f, &m);
	f->claim_len = CAP + 1;
	assert_int_equal(p9_clunk(c, 5), -WASI_EIO);
	f->claim_len = -1;
	/* A well-formed reply followed by junk: the size field rules. */
	reply_begin(f, &m, P9_RCLUNK);
	reply_end(f, &m);
	memset(f->reply + 7, 0xee, 20);
	f->replylen += 20;
	assert_int_equal(p9_clunk(c, 5), 0);
}

static void read_write(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_msg m;
	char buf[64];
	uint32_t got;
	reply_begin(f, &m, P9_RREAD);
	p9_put_u32(&m, 5);
	p9_put_bytes(&m, "hello", 5);
	reply_end(f, &m);
	assert_int_equal(p9_read(c, 4, 100, buf, 10, &got), 0);
	assert_int_equal(got, 5);
	assert_memory_equal(buf, "hello", 5);
	/* Tread: fid offset count */
	assert_int_equal(f->reqlen, 7 + 4 + 8 + 4);
	assert_int_equal(f->reqbuf[4], P9_TREAD);
	assert_int_equal(f->reqbuf[11], 100);
	assert_int_equal(f->reqbuf[19], 10);
	/* More data than asked for. */
	assert_int_equal(p9_read(c, 4, 0, buf, 3, &got), -WASI_EIO);
	/* A count past the end of the message. */
	reply_begin(f, &m, P9_RREAD);
	p9_put_u32(&m, 50);
	p9_put_bytes(&m, "abc", 3);
	reply_end(f, &m);
	assert_int_equal(p9_read(c, 4, 0, buf, 60, &got), -WASI_EIO);
	assert_int_equal(got, 0);
	/* A huge count. */
	reply_begin(f, &m, P9_RREAD);
	p9_put_u32(&m, 0xffffffffu);
	reply_end(f, &m);
	assert_int_equal(p9_read(c, 4, 0, buf, 60, &got), -WASI_EIO);
	/* Reads are capped at msize - P9_IOHDR. */
	reply_begin(f, &m, P9_RREAD);
	p9_put_u32(&m, 0);
	reply_end(f, &m);
	static char big[CAP * 2];
	assert_int_equal(p9_read(c, 4, 0, big, sizeof(big), &got), 0);
	uint32_t asked = (uint32_t)f->reqbuf[19] | (uint32_t)f->reqbuf[20] << 8;
	assert_int_equal(asked, CAP - P9_IOHDR);

	/* Twrite carries the data; Rwrite's count may not exceed it. */
	reply_begin(f, &m, P9_RWRITE);
	p9_put_u32(&m, 4);
	reply_end(f, &m);
	assert_int_equal(p9_write(c, 4, 8, "data", 4, &got), 0);
	assert_int_equal(got, 4);
	assert_int_equal(f->reqlen, 7 + 4 + 8 + 4 + 4);
	assert_memory_equal(f->reqbuf + 23, "data", 4);
	reply_begin(f, &m, P9_RWRITE);
	p9_put_u32(&m, 5);
	reply_end(f, &m);
	assert_int_equal(p9_write(c, 4, 8, "data", 4, &got), -WASI_EIO);
	/* A write larger than msize goes out capped (the caller loops). */
	reply_begin(f, &m, P9_RWRITE);
	p9_put_u32(&m, CAP - P9_IOHDR);
	reply_end(f, &m);
	assert_int_equal(p9_write(c, 4, 0, big, sizeof(big), &got), 0);
	assert_int_equal(got, CAP - P9_IOHDR);
	assert_true(f->reqlen <= CAP);
}

static void getattr_decoded(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_msg m;
	reply_begin(f, &m, P9_RGETATTR);
	p9_put_u64(&m, P9_GETATTR_BASIC);
	p9_put_u8(&m, 0);
	p9_put_u32(&m, 1);
	p9_put_u64(&m, 4242);
	p9_put_u32(&m, P9_S_IFREG | 0644);
	p9_put_u32(&m, 0);
	p9_put_u32(&m, 0);
	p9_put_u64(&m, 1);        /* nlink */
	p9_put_u64(&m, 0);        /* rdev */
	p9_put_u64(&m, 1048576);  /* size */
	p9_put_u64(&m, 4096);
	p9_put_u64(&m, 2048);
	for (int i = 0; i < 10; i++)
		p9_put_u64(&m, 100 + (uint64_t)i); /* times, gen, data_version */
	reply_end(f, &m);
	struct p9_attr a;
	assert_int_equal(p9_getattr(c, 3, P9_GETATTR_BASIC, &a), 0);
	assert_int_equal(a.size, 1048576);
	assert_int_equal(a.qid.path, 4242);
	assert_int_equal(p9_mode_filetype(a.mode), WASI_FILETYPE_REGULAR_FILE);
	assert_int_equal(a.mtime_sec, 102);
	assert_int_equal(a.data_version, 109);
	/* One field short. */
	f->replylen -= 8;
	f->reply[0] = (uint8_t)f->replylen;
	f->reply[1] = (uint8_t)(f->replylen >> 8);
	assert_int_equal(p9_getattr(c, 3, P9_GETATTR_BASIC, &a), -WASI_EIO);
	assert_int_equal(p9_mode_filetype(P9_S_IFDIR | 0755), WASI_FILETYPE_DIRECTORY);
	assert_int_equal(p9_mode_filetype(P9_S_IFLNK | 0777), WASI_FILETYPE_SYMBOLIC_LINK);
	assert_int_equal(p9_mode_filetype(P9_S_IFIFO), WASI_FILETYPE_UNKNOWN);
}

static void readdir_entries(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_msg m, d;
	uint8_t ents[256];
	p9_msg_begin(&d, ents, sizeof(ents), 0, 0);
	d.pos = 0; /* entries only, no header */
	const char *names[] = {".", "..", "key", "..data"};
	const uint8_t types[] = {4, 4, 10, 10};
	for (int i = 0; i < 4; i++) {
		p9_put_u8(&d, types[i] == 4 ? P9_QTDIR : P9_QTSYMLINK);
		p9_put_u32(&d, 0);
		p9_put_u64(&d, 10 + (uint64_t)i);
		p9_put_u64(&d, 1000 + (uint64_t)i); /* offset to resume after it */
		p9_put_u8(&d, types[i]);
		p9_put_str(&d, names[i], strlen(names[i]));
	}
	uint32_t n = d.pos;
	reply_begin(f, &m, P9_RREADDIR);
	p9_put_u32(&m, n);
	p9_put_bytes(&m, ents, n);
	reply_end(f, &m);
	const uint8_t *data;
	uint32_t len, pos = 0;
	assert_int_equal(p9_readdir(c, 9, 0, 4096, &data, &len), 0);
	assert_int_equal(len, n);
	struct p9_dirent e;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(p9_dirent_next(data, len, &pos, &e), 1);
		assert_int_equal(e.namelen, strlen(names[i]));
		assert_memory_equal(e.name, names[i], e.namelen);
		assert_int_equal(e.offset, 1000 + i);
		assert_int_equal(e.qid.path, 10 + i);
		assert_int_equal(p9_dt_filetype(e.type),
				 types[i] == 4 ? WASI_FILETYPE_DIRECTORY : WASI_FILETYPE_SYMBOLIC_LINK);
	}
	assert_int_equal(p9_dirent_next(data, len, &pos, &e), 0);
	/* An entry cut in the middle of its name. */
	pos = 0;
	assert_int_equal(p9_dirent_next(data, n - 2, &pos, &e), 1);
	assert_int_equal(p9_dirent_next(data, n - 2, &pos, &e), 1);
	assert_int_equal(p9_dirent_next(data, n - 2, &pos, &e), 1);
	assert_int_equal(p9_dirent_next(data, n - 2, &pos, &e), -WASI_EIO);
	/* A count past the message, and more than asked for. */
	reply_begin(f, &m, P9_RREADDIR);
	p9_put_u32(&m, n + 1);
	p9_put_bytes(&m, ents, n);
	reply_end(f, &m);
	assert_int_equal(p9_readdir(c, 9, 0, 4096, &data, &len), -WASI_EIO);
	reply_begin(f, &m, P9_RREADDIR);
	p9_put_u32(&m, n);
	p9_put_bytes(&m, ents, n);
	reply_end(f, &m);
	assert_int_equal(p9_readdir(c, 9, 0, 10, &data, &len), -WASI_EIO);
}

static void strings_and_names(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_msg m;
	char buf[8];
	size_t len;
	reply_begin(f, &m, P9_RREADLINK);
	p9_put_str(&m, "..2024_01_01", 12);
	reply_end(f, &m);
	/* A target longer than the buffer: the start is copied, the length is whole. */
	assert_int_equal(p9_readlink(c, 3, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(buf, "..2024_0", 8);
	/* A string length past the message. */
	f->reply[7] = 200;
	assert_int_equal(p9_readlink(c, 3, buf, sizeof(buf), &len), -WASI_EIO);
	/* A name longer than a component is refused before anything is sent. */
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	int calls = f->calls;
	struct p9_qid q;
	assert_int_equal(p9_walk(c, 1, 2, longname, &q), -WASI_ENAMETOOLONG);
	assert_int_equal(p9_mkdir(c, 1, longname, 0755, 0, &q), -WASI_ENAMETOOLONG);
	assert_int_equal(f->calls, calls);
	/* Tunlinkat, Trenameat: the names and flags as sent. */
	reply_begin(f, &m, P9_RUNLINKAT);
	reply_end(f, &m);
	assert_int_equal(p9_unlinkat(c, 6, "d", P9_AT_REMOVEDIR), 0);
	static const uint8_t ul[] = {6, 0, 0, 0, 1, 0, 'd', 0, 2, 0, 0};
	assert_int_equal(f->reqlen, 7 + sizeof(ul));
	assert_memory_equal(f->reqbuf + 7, ul, sizeof(ul));
	reply_begin(f, &m, P9_RRENAMEAT);
	reply_end(f, &m);
	assert_int_equal(p9_renameat(c, 6, "a", 7, "b"), 0);
	static const uint8_t rn[] = {6, 0, 0, 0, 1, 0, 'a', 7, 0, 0, 0, 1, 0, 'b'};
	assert_int_equal(f->reqlen, 7 + sizeof(rn));
	assert_memory_equal(f->reqbuf + 7, rn, sizeof(rn));
}

static void fids_recycled(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_msg m;
	uint32_t a, b, d;
	assert_int_equal(p9_fid_alloc(c, &a), 0);
	assert_int_equal(p9_fid_alloc(c, &b), 0);
	assert_int_not_equal(a, b);
	/* A clunk returns the fid even when the server complains. */
	reply_lerror(f, 9);
	assert_int_equal(p9_clunk(c, a), -WASI_EBADF);
	assert_int_equal(p9_fid_alloc(c, &d), 0);
	assert_int_equal(d, a);
	reply_begin(f, &m, P9_RCLUNK);
	reply_end(f, &m);
	assert_int_equal(p9_clunk(c, b), 0);
	assert_int_equal(p9_clunk(c, d), 0);
	for (int i = 0; i < 100; i++)
		p9_fid_release(c, 1000 + (uint32_t)i);
	assert_int_equal(p9_fid_alloc(c, &d), 0);
	assert_int_equal(d, 1099);
}

/* Around a snapshot: Tclunk that keeps the number, then Tversion on the same client
 * (a new session, the pool and the numbers kept, msize as the server says). */
static void session_again(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	struct p9_msg m;
	uint32_t a, b, d;
	assert_int_equal(p9_fid_alloc(c, &a), 0);
	assert_int_equal(p9_fid_alloc(c, &b), 0);
	reply_begin(f, &m, P9_RCLUNK);
	reply_end(f, &m);
	assert_int_equal(p9_clunk_keep(c, a), 0);
	static const uint8_t cl[] = {11, 0, 0, 0, P9_TCLUNK};
	assert_memory_equal(f->reqbuf, cl, sizeof(cl));
	assert_int_equal(f->reqbuf[7], a);
	assert_int_equal(p9_fid_alloc(c, &d), 0);
	assert_true(d != a && d != b); /* a stays the caller's */
	reply_begin(f, &m, P9_RVERSION);
	p9_put_u32(&m, 4096);
	p9_put_str(&m, P9_VERSION, strlen(P9_VERSION));
	reply_end(f, &m);
	f->keep_tag = true;
	memset(f->reply + 5, 0xff, 2); /* NOTAG */
	assert_int_equal(p9_version(c, CAP), 0);
	assert_int_equal(f->reqbuf[4], P9_TVERSION);
	assert_int_equal(c->msize, 4096);
	assert_int_equal(p9_io_max(c), 4096 - P9_IOHDR);
	uint32_t e;
	assert_int_equal(p9_fid_alloc(c, &e), 0);
	assert_true(e != a && e != b && e != d); /* no number handed out twice */
	/* A server that answers the new Tversion with another protocol. */
	reply_begin(f, &m, P9_RVERSION);
	p9_put_u32(&m, 4096);
	p9_put_str(&m, "9P2000", 6);
	reply_end(f, &m);
	memset(f->reply + 5, 0xff, 2);
	assert_int_equal(p9_version(c, CAP), -WASI_ENOTSUP);
}

/* Random replies to every call: each either succeeds or fails cleanly, and ASan sees
 * no read outside the reply. */
static void random_replies(void **state)
{
	struct p9_client *c = *state;
	struct fake *f = fake_of(c);
	unsigned seed = 12345;
	char buf[256];
	size_t len;
	uint32_t got;
	struct p9_qid q;
	struct p9_attr a;
	const uint8_t *data;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		uint32_t n = (seed >> 8) % 96;
		for (uint32_t k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			f->reply[k] = (uint8_t)(seed >> 16);
		}
		/* Mostly plausible headers, so decoding goes past them. */
		if (n >= 7 && (i & 1)) {
			f->reply[0] = (uint8_t)n;
			f->reply[1] = f->reply[2] = f->reply[3] = 0;
		}
		uint8_t types[] = {P9_RWALK, P9_RREAD, P9_RGETATTR, P9_RREADDIR, P9_RREADLINK,
				   P9_RLOPEN, P9_RLERROR, P9_RWRITE};
		if (n >= 5 && (i & 2))
			f->reply[4] = types[(seed >> 4) % sizeof(types)];
		f->replylen = n;
		int rc = 0;
		switch (i % 8) {
		case 0: rc = p9_walk(c, 1, 2, "x", &q); break;
		case 1: rc = p9_read(c, 1, 0, buf, sizeof(buf), &got); break;
		case 2: rc = p9_getattr(c, 1, P9_GETATTR_BASIC, &a); break;
		case 3: {
			uint32_t dl, pos = 0;
			struct p9_dirent e;
			rc = p9_readdir(c, 1, 0, 200, &data, &dl);
			int r = 0;
			while (rc == 0 && (r = p9_dirent_next(data, dl, &pos, &e)) == 1)
				assert_true(pos <= dl && e.name + e.namelen <= (const char *)data + dl);
			rc = rc ? rc : r;
			break;
		}
		case 4: rc = p9_readlink(c, 1, buf, sizeof(buf), &len); break;
		case 5: rc = p9_lopen(c, 1, 0, &q, &got); break;
		case 6: rc = p9_write(c, 1, 0, "abc", 3, &got); break;
		case 7: rc = p9_clunk(c, 1); break;
		}
		assert_true(rc <= 1 && rc >= -WASI_ENOTCAPABLE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version_request_bytes),
		cmocka_unit_test(version_refusals),
		cmocka_unit_test_setup_teardown(walk_request_and_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(errors_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(getattr_decoded, setup, teardown),
		cmocka_unit_test_setup_teardown(readdir_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(strings_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(fids_recycled, setup, teardown),
		cmocka_unit_test_setup_teardown(session_again, setup, teardown),
		cmocka_unit_test_setup_teardown(random_replies, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
