/* kernel/os/p9.h - a 9P2000.L client: the message codec (p9_wire.c) and the calls
 * (p9_client.c) over any transport that carries one request and its reply at a time
 * (the kernel's is virtio-9p, virtio_9p.c; the unit tests' is a fake server).
 *
 * Portable (only <stdint.h>, <stdbool.h>, <stddef.h>, <string.h>, <stdlib.h>): built
 * freestanding into the kernel and hosted for tests/unit/test_p9.c.
 *
 * Errors: every call returns 0 or a negative WASI errno (kernel/wasi/wasi_abi.h). A
 * server error (Rlerror) is its Linux errno mapped to WASI's; a reply that is short,
 * has the wrong tag or type, or claims more than it holds is -WASI_EIO and never read
 * past its end. The host is trusted, but nothing it sends may crash the guest.
 *
 * Strings on the wire are counted (u16 length, no NUL); names passed in are
 * NUL-terminated C strings of at most P9_NAME_MAX bytes.
 */
#ifndef KUMO_P9_H
#define KUMO_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- protocol constants (9P2000.L, as Linux's include/net/9p/9p.h) ---- */
enum p9_type {
	P9_RLERROR = 7,
	P9_TLOPEN = 12, P9_RLOPEN = 13,
	P9_TLCREATE = 14, P9_RLCREATE = 15,
	P9_TSYMLINK = 16, P9_RSYMLINK = 17,
	P9_TREADLINK = 22, P9_RREADLINK = 23,
	P9_TGETATTR = 24, P9_RGETATTR = 25,
	P9_TSETATTR = 26, P9_RSETATTR = 27,
	P9_TREADDIR = 40, P9_RREADDIR = 41,
	P9_TFSYNC = 50, P9_RFSYNC = 51,
	P9_TLINK = 70, P9_RLINK = 71,
	P9_TMKDIR = 72, P9_RMKDIR = 73,
	P9_TRENAMEAT = 74, P9_RRENAMEAT = 75,
	P9_TUNLINKAT = 76, P9_RUNLINKAT = 77,
	P9_TVERSION = 100, P9_RVERSION = 101,
	P9_TATTACH = 104, P9_RATTACH = 105,
	P9_TWALK = 110, P9_RWALK = 111,
	P9_TREAD = 116, P9_RREAD = 117,
	P9_TWRITE = 118, P9_RWRITE = 119,
	P9_TCLUNK = 120, P9_RCLUNK = 121,
};

#define P9_VERSION "9P2000.L"
#define P9_NOTAG 0xffffu
#define P9_NOFID 0xffffffffu
#define P9_HDR 7          /* size[4] type[1] tag[2] */
#define P9_IOHDR 24       /* room Tread/Twrite/Rread headers need, as Linux reserves */
#define P9_MSIZE_MIN 4096 /* smallest msize this client works with */
#define P9_NAME_MAX 255   /* longest path component */

/* qid.type bits */
#define P9_QTDIR 0x80
#define P9_QTSYMLINK 0x02

/* Linux open flags as 9P2000.L carries them (Tlopen, Tlcreate). */
#define P9_O_RDONLY 00
#define P9_O_WRONLY 01
#define P9_O_RDWR 02
#define P9_O_CREAT 0100
#define P9_O_EXCL 0200
#define P9_O_TRUNC 01000
#define P9_O_DIRECTORY 0200000
#define P9_O_NOFOLLOW 0400000

/* Tunlinkat flags */
#define P9_AT_REMOVEDIR 0x200

/* Tgetattr request mask / Rgetattr valid */
#define P9_GETATTR_BASIC 0x000007ffull

/* Tsetattr valid bits */
#define P9_SETATTR_MODE 0x001
#define P9_SETATTR_SIZE 0x008
#define P9_SETATTR_ATIME 0x010
#define P9_SETATTR_MTIME 0x020
#define P9_SETATTR_CTIME 0x040
#define P9_SETATTR_ATIME_SET 0x080
#define P9_SETATTR_MTIME_SET 0x100

/* st_mode file types (Linux) */
#define P9_S_IFMT 0170000
#define P9_S_IFSOCK 0140000
#define P9_S_IFLNK 0120000
#define P9_S_IFREG 0100000
#define P9_S_IFBLK 0060000
#define P9_S_IFDIR 0040000
#define P9_S_IFCHR 0020000
#define P9_S_IFIFO 0010000

struct p9_qid {
	uint8_t type;     /* P9_QT* */
	uint32_t version; /* changes with the file */
	uint64_t path;    /* unique per file on the server: kumo's inode number */
};

/* Rgetattr */
struct p9_attr {
	uint64_t valid;           /* which fields the server filled */
	struct p9_qid qid;
	uint32_t mode, uid, gid;  /* st_mode (type + permissions), owner */
	uint64_t nlink, rdev, size, blksize, blocks;
	uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
	uint64_t btime_sec, btime_nsec, gen, data_version;
};

/* Tsetattr */
struct p9_setattr {
	uint32_t valid;           /* P9_SETATTR_* */
	uint32_t mode, uid, gid;
	uint64_t size;
	uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

/* One entry of an Rreaddir. */
struct p9_dirent {
	struct p9_qid qid;
	uint64_t offset;          /* the Treaddir offset that resumes after this entry */
	uint8_t type;             /* Linux DT_* */
	const char *name;         /* into the reply buffer, NOT NUL-terminated */
	uint16_t namelen;
};

/* ---- the codec (p9_wire.c) ---- */

/* A message being written or read: a cursor over buf[0..end) with a sticky error, so
 * a sequence of puts or gets is checked once at the end. */
struct p9_msg {
	uint8_t *buf;   /* the message (writing) or the reply (reading) */
	uint32_t cap;   /* writing: bytes available; reading: the message's size */
	uint32_t pos;   /* next byte */
	bool bad;       /* a put did not fit, or a get ran past the end */
};

/* Starts message `type` with `tag` in buf[0..cap). */
void p9_msg_begin(struct p9_msg *m, uint8_t *buf, uint32_t cap, uint8_t type, uint16_t tag);
void p9_put_u8(struct p9_msg *m, uint8_t v);
void p9_put_u16(struct p9_msg *m, uint16_t v);
void p9_put_u32(struct p9_msg *m, uint32_t v);
void p9_put_u64(struct p9_msg *m, uint64_t v);
/* A counted string (len <= 65535). */
void p9_put_str(struct p9_msg *m, const char *s, size_t len);
void p9_put_bytes(struct p9_msg *m, const void *p, size_t len);
/* Writes the size field; returns the message length, or 0 when it did not fit. */
uint32_t p9_msg_end(struct p9_msg *m);

/* Opens reply buf[0..len) for reading: its size field must be within len, its tag
 * `tag`, its type `type` (Rlerror: its errno is returned, mapped). 0, the server's
 * error, or -WASI_EIO for a malformed reply. */
int p9_msg_reply(struct p9_msg *m, uint8_t *buf, uint32_t len, uint8_t type, uint16_t tag);
uint8_t p9_get_u8(struct p9_msg *m);
uint16_t p9_get_u16(struct p9_msg *m);
uint32_t p9_get_u32(struct p9_msg *m);
uint64_t p9_get_u64(struct p9_msg *m);
void p9_get_qid(struct p9_msg *m, struct p9_qid *q);
/* A counted string: *s points into the message (not NUL-terminated). */
void p9_get_str(struct p9_msg *m, const char **s, uint16_t *len);
/* n bytes in place: a pointer into the message, or NULL (and bad) when short. */
const uint8_t *p9_get_bytes(struct p9_msg *m, uint32_t n);
/* Rgetattr's body. */
void p9_get_attr(struct p9_msg *m, struct p9_attr *a);

/* Decodes the entry at *pos of Rreaddir data[0..len): 1 with *e filled and *pos
 * advanced, 0 at the end, -WASI_EIO when the entry is truncated. */
int p9_dirent_next(const uint8_t *data, uint32_t len, uint32_t *pos, struct p9_dirent *e);

/* A Linux errno (Rlerror) as a negative WASI errno; unknown ones are -WASI_EIO. */
int p9_errno_to_wasi(uint32_t linux_errno);
/* WASI_FILETYPE_* of a Linux st_mode, of a DT_* directory entry type, of a qid. */
uint8_t p9_mode_filetype(uint32_t mode);
uint8_t p9_dt_filetype(uint8_t dt);
uint8_t p9_qid_filetype(const struct p9_qid *q);

/* ---- the client (p9_client.c) ---- */

/* What carries messages: two buffers of cap bytes and one synchronous round trip. */
struct p9_transport {
	uint8_t *req;  /* the request is built here */
	uint8_t *rep;  /* the reply arrives here */
	uint32_t cap;  /* bytes of each buffer: the largest msize the transport offers */
	/* Sends req[0..reqlen), waits, sets *replen to the bytes of the reply in rep
	 * (<= cap). 0 or a negative WASI errno. */
	int (*rpc)(struct p9_transport *t, uint32_t reqlen, uint32_t *replen);
};

/* One session with a server. */
struct p9_client {
	struct p9_transport *t;  /* not owned */
	uint32_t msize;          /* negotiated message size */
	uint16_t tag;            /* of the request in flight (one at a time) */
	uint32_t next_fid;       /* never used yet */
	uint32_t *free_fids;     /* clunked fids for reuse */
	uint32_t nfree, freecap;
	uint64_t rpcs;           /* round trips made */
};

/* Negotiates the version (9P2000.L) and msize (at most msize_want and t->cap). */
int p9_client_init(struct p9_client *c, struct p9_transport *t, uint32_t msize_want);
/* Tversion again on an initialised client: a new session (the server forgets every
 * fid, so a checkpointed VM talks to a fresh server after a restore); the fid pool
 * and the numbers the caller holds are kept (to be bound again), msize may shrink. */
int p9_version(struct p9_client *c, uint32_t msize_want);
void p9_client_free(struct p9_client *c); /* the fid list; NULL is fine */

/* A fid number not in use (the server learns it from the call that binds it). */
int p9_fid_alloc(struct p9_client *c, uint32_t *fid);
/* Returns an unbound fid (a failed walk's newfid) to the pool without a Tclunk. */
void p9_fid_release(struct p9_client *c, uint32_t fid);

/* Tattach as uid n_uname to the share's root (aname "": the export). */
int p9_attach(struct p9_client *c, uint32_t fid, uint32_t n_uname, struct p9_qid *qid);
/* Twalk of one component (name NULL: a clone of fid) into newfid, which is bound only
 * on success. A name that does not exist is -WASI_ENOENT. */
int p9_walk(struct p9_client *c, uint32_t fid, uint32_t newfid, const char *name,
	    struct p9_qid *qid);
/* Tclunk, and the fid goes back to the pool whatever the server says. */
int p9_clunk(struct p9_client *c, uint32_t fid);
/* Tclunk that keeps the number out of the pool: the caller binds it again later (a
 * quiesced share's open files, kernel/os/p9fs.h). */
int p9_clunk_keep(struct p9_client *c, uint32_t fid);
int p9_lopen(struct p9_client *c, uint32_t fid, uint32_t flags, struct p9_qid *qid,
	     uint32_t *iounit);
/* Tlcreate: dfid (a directory) becomes the new file, opened with flags. */
int p9_lcreate(struct p9_client *c, uint32_t dfid, const char *name, uint32_t flags,
	       uint32_t mode, uint32_t gid, struct p9_qid *qid, uint32_t *iounit);
/* The largest count one Tread/Twrite carries. */
uint32_t p9_io_max(const struct p9_client *c);
/* One Tread of at most p9_io_max bytes into buf; *got = bytes read (0: end of file). */
int p9_read(struct p9_client *c, uint32_t fid, uint64_t offset, void *buf, uint32_t count,
	    uint32_t *got);
/* One Twrite of at most p9_io_max bytes; *done = bytes written. */
int p9_write(struct p9_client *c, uint32_t fid, uint64_t offset, const void *buf,
	     uint32_t count, uint32_t *done);
int p9_getattr(struct p9_client *c, uint32_t fid, uint64_t mask, struct p9_attr *a);
int p9_setattr(struct p9_client *c, uint32_t fid, const struct p9_setattr *s);
/* Treaddir from offset (0: the start) for at most count bytes; data and len give the
 * entries' bytes inside the reply buffer, valid until the next call. */
int p9_readdir(struct p9_client *c, uint32_t fid, uint64_t offset, uint32_t count,
	       const uint8_t **data, uint32_t *len);
int p9_mkdir(struct p9_client *c, uint32_t dfid, const char *name, uint32_t mode, uint32_t gid,
	     struct p9_qid *qid);
int p9_symlink(struct p9_client *c, uint32_t dfid, const char *name, const char *target,
	       uint32_t gid, struct p9_qid *qid);
/* The target of symlink fid into buf (not NUL-terminated); *len is its full length,
 * of which min(*len, cap) bytes were copied. */
int p9_readlink(struct p9_client *c, uint32_t fid, char *buf, size_t cap, size_t *len);
/* Tlink: a new name in dfid for the file fid. */
int p9_link(struct p9_client *c, uint32_t dfid, uint32_t fid, const char *name);
int p9_renameat(struct p9_client *c, uint32_t odfid, const char *oname, uint32_t ndfid,
		const char *nname);
int p9_unlinkat(struct p9_client *c, uint32_t dfid, const char *name, uint32_t flags);
int p9_fsync(struct p9_client *c, uint32_t fid, bool datasync);

#endif /* KUMO_P9_H */
