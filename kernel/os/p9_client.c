/* kernel/os/p9_client.c - the 9P2000.L calls: each encodes its T-message in the transport's request buffer, makes one round trip and decodes the R-message, checked; fid numbers are handed out and recycled here. */
#include <stdlib.h>
#include <string.h>

#include "kernel/os/p9.h"
#include "kernel/wasi/wasi_abi.h"

/* Starts a request of `type` in the transport's buffer with the next tag. */
static void begin(struct p9_client *c, struct p9_msg *m, uint8_t type)
{
	/* One request at a time: any tag but NOTAG will do; changing it catches a reply
	 * that belongs to an earlier request. */
	c->tag = (uint16_t)(c->tag % 0xfffeu + 1);
	p9_msg_begin(m, c->t->req, c->msize, type, c->tag);
}

/* Sends m, receives the reply of `rtype` into r. 0, the server's error, -WASI_EIO for
 * a malformed reply, -WASI_ENAMETOOLONG when the request did not fit msize. */
static int call(struct p9_client *c, struct p9_msg *m, uint8_t rtype, struct p9_msg *r)
{
	uint32_t len = p9_msg_end(m);
	if (len == 0)
		return -WASI_ENAMETOOLONG;
	uint32_t rlen = 0;
	c->rpcs++;
	int rc = c->t->rpc(c->t, len, &rlen);
	if (rc < 0)
		return rc;
	if (rlen > c->t->cap)
		return -WASI_EIO;
	return p9_msg_reply(r, c->t->rep, rlen, rtype, c->tag);
}

/* The reply's fields were all there. */
static int done(const struct p9_msg *r)
{
	return r->bad ? -WASI_EIO : 0;
}

static void put_name(struct p9_msg *m, const char *name)
{
	size_t n = strlen(name);
	if (n > P9_NAME_MAX) {
		m->bad = true;
		return;
	}
	p9_put_str(m, name, n);
}

int p9_client_init(struct p9_client *c, struct p9_transport *t, uint32_t msize_want)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->next_fid = 1;
	return p9_version(c, msize_want);
}

int p9_version(struct p9_client *c, uint32_t msize_want)
{
	struct p9_transport *t = c->t;
	uint32_t want = msize_want < t->cap ? msize_want : t->cap;
	if (want < P9_MSIZE_MIN)
		return -WASI_EINVAL;
	c->msize = want;
	struct p9_msg m, r;
	p9_msg_begin(&m, t->req, want, P9_TVERSION, P9_NOTAG);
	p9_put_u32(&m, want);
	p9_put_str(&m, P9_VERSION, sizeof(P9_VERSION) - 1);
	c->tag = P9_NOTAG;
	uint32_t len = p9_msg_end(&m), rlen = 0;
	c->rpcs++;
	int rc = t->rpc(t, len, &rlen);
	if (rc < 0)
		return rc;
	if (rlen > t->cap)
		return -WASI_EIO;
	rc = p9_msg_reply(&r, t->rep, rlen, P9_RVERSION, P9_NOTAG);
	if (rc < 0)
		return rc;
	uint32_t msize = p9_get_u32(&r);
	const char *v;
	uint16_t vlen;
	p9_get_str(&r, &v, &vlen);
	if (r.bad)
		return -WASI_EIO;
	if (vlen != sizeof(P9_VERSION) - 1 || memcmp(v, P9_VERSION, vlen) != 0)
		return -WASI_ENOTSUP; /* the server speaks no 9P2000.L */
	if (msize < P9_MSIZE_MIN || msize > want)
		return -WASI_EIO;
	c->msize = msize;
	c->tag = 0;
	return 0;
}

void p9_client_free(struct p9_client *c)
{
	if (!c)
		return;
	free(c->free_fids);
	c->free_fids = NULL;
	c->nfree = c->freecap = 0;
}

int p9_fid_alloc(struct p9_client *c, uint32_t *fid)
{
	if (c->nfree) {
		*fid = c->free_fids[--c->nfree];
		return 0;
	}
	if (c->next_fid == P9_NOFID)
		return -WASI_EMFILE;
	*fid = c->next_fid++;
	return 0;
}

void p9_fid_release(struct p9_client *c, uint32_t fid)
{
	if (c->nfree == c->freecap) {
		uint32_t cap = c->freecap ? c->freecap * 2 : 32;
		uint32_t *n = realloc(c->free_fids, cap * sizeof(*n));
		if (!n)
			return; /* the number is lost, never reused: harmless */
		c->free_fids = n;
		c->freecap = cap;
	}
	c->free_fids[c->nfree++] = fid;
}

int p9_attach(struct p9_client *c, uint32_t fid, uint32_t n_uname, struct p9_qid *qid)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TATTACH);
	p9_put_u32(&m, fid);
	p9_put_u32(&m, P9_NOFID); /* no authentication */
	p9_put_str(&m, "root", 4);
	p9_put_str(&m, "", 0);
	p9_put_u32(&m, n_uname);
	int rc = call(c, &m, P9_RATTACH, &r);
	if (rc < 0)
		return rc;
	p9_get_qid(&r, qid);
	return done(&r);
}

int p9_walk(struct p9_client *c, uint32_t fid, uint32_t newfid, const char *name,
	    struct p9_qid *qid)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TWALK);
	p9_put_u32(&m, fid);
	p9_put_u32(&m, newfid);
	p9_put_u16(&m, name ? 1 : 0);
	if (name)
		put_name(&m, name);
	int rc = call(c, &m, P9_RWALK, &r);
	if (rc < 0)
		return rc;
	uint16_t n = p9_get_u16(&r);
	if (r.bad)
		return -WASI_EIO;
	/* A walk that stops short leaves newfid unbound: the name does not exist. */
	if (n != (name ? 1 : 0))
		return n == 0 ? -WASI_ENOENT : -WASI_EIO;
	if (name)
		p9_get_qid(&r, qid);
	return done(&r);
}

int p9_clunk(struct p9_client *c, uint32_t fid)
{
	int rc = p9_clunk_keep(c, fid);
	/* Clunked even when the server says otherwise (9P: the fid is gone either way). */
	p9_fid_release(c, fid);
	return rc;
}

int p9_clunk_keep(struct p9_client *c, uint32_t fid)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TCLUNK);
	p9_put_u32(&m, fid);
	return call(c, &m, P9_RCLUNK, &r);
}

static int open_reply(struct p9_msg *r, struct p9_qid *qid, uint32_t *iounit)
{
	p9_get_qid(r, qid);
	*iounit = p9_get_u32(r);
	return done(r);
}

int p9_lopen(struct p9_client *c, uint32_t fid, uint32_t flags, struct p9_qid *qid,
	     uint32_t *iounit)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TLOPEN);
	p9_put_u32(&m, fid);
	p9_put_u32(&m, flags);
	int rc = call(c, &m, P9_RLOPEN, &r);
	return rc < 0 ? rc : open_reply(&r, qid, iounit);
}

int p9_lcreate(struct p9_client *c, uint32_t dfid, const char *name, uint32_t flags,
	       uint32_t mode, uint32_t gid, struct p9_qid *qid, uint32_t *iounit)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TLCREATE);
	p9_put_u32(&m, dfid);
	put_name(&m, name);
	p9_put_u32(&m, flags);
	p9_put_u32(&m, mode);
	p9_put_u32(&m, gid);
	int rc = call(c, &m, P9_RLCREATE, &r);
	return rc < 0 ? rc : open_reply(&r, qid, iounit);
}

uint32_t p9_io_max(const struct p9_client *c)
{
	return c->msize - P9_IOHDR;
}

int p9_read(struct p9_client *c, uint32_t fid, uint64_t offset, void *buf, uint32_t count,
	    uint32_t *got)
{
	struct p9_msg m, r;
	*got = 0;
	if (count > p9_io_max(c))
		count = p9_io_max(c);
	begin(c, &m, P9_TREAD);
	p9_put_u32(&m, fid);
	p9_put_u64(&m, offset);
	p9_put_u32(&m, count);
	int rc = call(c, &m, P9_RREAD, &r);
	if (rc < 0)
		return rc;
	uint32_t n = p9_get_u32(&r);
	if (n > count)
		return -WASI_EIO; /* more than asked for */
	const uint8_t *data = p9_get_bytes(&r, n);
	if (!data)
		return -WASI_EIO;
	memcpy(buf, data, n);
	*got = n;
	return 0;
}

int p9_write(struct p9_client *c, uint32_t fid, uint64_t offset, const void *buf,
	     uint32_t count, uint32_t *done_n)
{
	struct p9_msg m, r;
	*done_n = 0;
	if (count > p9_io_max(c))
		count = p9_io_max(c);
	begin(c, &m, P9_TWRITE);
	p9_put_u32(&m, fid);
	p9_put_u64(&m, offset);
	p9_put_u32(&m, count);
	p9_put_bytes(&m, buf, count);
	int rc = call(c, &m, P9_RWRITE, &r);
	if (rc < 0)
		return rc;
	uint32_t n = p9_get_u32(&r);
	if (r.bad || n > count)
		return -WASI_EIO;
	*done_n = n;
	return 0;
}

int p9_getattr(struct p9_client *c, uint32_t fid, uint64_t mask, struct p9_attr *a)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TGETATTR);
	p9_put_u32(&m, fid);
	p9_put_u64(&m, mask);
	int rc = call(c, &m, P9_RGETATTR, &r);
	if (rc < 0)
		return rc;
	p9_get_attr(&r, a);
	return done(&r);
}

int p9_setattr(struct p9_client *c, uint32_t fid, const struct p9_setattr *s)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TSETATTR);
	p9_put_u32(&m, fid);
	p9_put_u32(&m, s->valid);
	p9_put_u32(&m, s->mode);
	p9_put_u32(&m, s->uid);
	p9_put_u32(&m, s->gid);
	p9_put_u64(&m, s->size);
	p9_put_u64(&m, s->atime_sec);
	p9_put_u64(&m, s->atime_nsec);
	p9_put_u64(&m, s->mtime_sec);
	p9_put_u64(&m, s->mtime_nsec);
	return call(c, &m, P9_RSETATTR, &r);
}

int p9_readdir(struct p9_client *c, uint32_t fid, uint64_t offset, uint32_t count,
	       const uint8_t **data, uint32_t *len)
{
	struct p9_msg m, r;
	*data = NULL;
	*len = 0;
	if (count > p9_io_max(c))
		count = p9_io_max(c);
	begin(c, &m, P9_TREADDIR);
	p9_put_u32(&m, fid);
	p9_put_u64(&m, offset);
	p9_put_u32(&m, count);
	int rc = call(c, &m, P9_RREADDIR, &r);
	if (rc < 0)
		return rc;
	uint32_t n = p9_get_u32(&r);
	const uint8_t *p = p9_get_bytes(&r, n);
	if (!p || n > count)
		return -WASI_EIO;
	*data = p;
	*len = n;
	return 0;
}

int p9_mkdir(struct p9_client *c, uint32_t dfid, const char *name, uint32_t mode, uint32_t gid,
	     struct p9_qid *qid)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TMKDIR);
	p9_put_u32(&m, dfid);
	put_name(&m, name);
	p9_put_u32(&m, mode);
	p9_put_u32(&m, gid);
	int rc = call(c, &m, P9_RMKDIR, &r);
	if (rc < 0)
		return rc;
	p9_get_qid(&r, qid);
	return done(&r);
}

int p9_symlink(struct p9_client *c, uint32_t dfid, const char *name, const char *target,
	       uint32_t gid, struct p9_qid *qid)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TSYMLINK);
	p9_put_u32(&m, dfid);
	put_name(&m, name);
	p9_put_str(&m, target, strlen(target));
	p9_put_u32(&m, gid);
	int rc = call(c, &m, P9_RSYMLINK, &r);
	if (rc < 0)
		return rc;
	p9_get_qid(&r, qid);
	return done(&r);
}

int p9_readlink(struct p9_client *c, uint32_t fid, char *buf, size_t cap, size_t *len)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TREADLINK);
	p9_put_u32(&m, fid);
	int rc = call(c, &m, P9_RREADLINK, &r);
	if (rc < 0)
		return rc;
	const char *s;
	uint16_t n;
	p9_get_str(&r, &s, &n);
	if (r.bad)
		return -WASI_EIO;
	memcpy(buf, s, n < cap ? n : cap);
	*len = n;
	return 0;
}

int p9_link(struct p9_client *c, uint32_t dfid, uint32_t fid, const char *name)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TLINK);
	p9_put_u32(&m, dfid);
	p9_put_u32(&m, fid);
	put_name(&m, name);
	return call(c, &m, P9_RLINK, &r);
}

int p9_renameat(struct p9_client *c, uint32_t odfid, const char *oname, uint32_t ndfid,
		const char *nname)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TRENAMEAT);
	p9_put_u32(&m, odfid);
	put_name(&m, oname);
	p9_put_u32(&m, ndfid);
	put_name(&m, nname);
	return call(c, &m, P9_RRENAMEAT, &r);
}

int p9_unlinkat(struct p9_client *c, uint32_t dfid, const char *name, uint32_t flags)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TUNLINKAT);
	p9_put_u32(&m, dfid);
	put_name(&m, name);
	p9_put_u32(&m, flags);
	return call(c, &m, P9_RUNLINKAT, &r);
}

int p9_fsync(struct p9_client *c, uint32_t fid, bool datasync)
{
	struct p9_msg m, r;
	begin(c, &m, P9_TFSYNC);
	p9_put_u32(&m, fid);
	p9_put_u32(&m, datasync ? 1 : 0);
	return call(c, &m, P9_RFSYNC, &r);
}
