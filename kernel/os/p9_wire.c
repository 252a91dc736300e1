/* kernel/os/p9_wire.c - 9P2000.L messages: little-endian encoding into a bounded buffer, checked decoding of replies (short, oversized or mistagged replies are errors, never overreads), Linux errno and file types to WASI's. */
#include <string.h>

#include "kernel/os/p9.h"
#include "kernel/wasi/wasi_abi.h"

void p9_msg_begin(struct p9_msg *m, uint8_t *buf, uint32_t cap, uint8_t type, uint16_t tag)
{
	m->buf = buf;
	m->cap = cap;
	m->pos = 0;
	m->bad = cap < P9_HDR;
	if (m->bad)
		return;
	m->pos = 4; /* size, written by p9_msg_end */
	p9_put_u8(m, type);
	p9_put_u16(m, tag);
}

static uint8_t *put_room(struct p9_msg *m, size_t n)
{
	if (m->bad || n > m->cap - m->pos) {
		m->bad = true;
		return NULL;
	}
	uint8_t *p = m->buf + m->pos;
	m->pos += (uint32_t)n;
	return p;
}

static void put_le(struct p9_msg *m, uint64_t v, int n)
{
	uint8_t *p = put_room(m, (size_t)n);
	if (!p)
		return;
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void p9_put_u8(struct p9_msg *m, uint8_t v) { put_le(m, v, 1); }
void p9_put_u16(struct p9_msg *m, uint16_t v) { put_le(m, v, 2); }
void p9_put_u32(struct p9_msg *m, uint32_t v) { put_le(m, v, 4); }
void p9_put_u64(struct p9_msg *m, uint64_t v) { put_le(m, v, 8); }

void p9_put_str(struct p9_msg *m, const char *s, size_t len)
{
	if (len > 0xffff) {
		m->bad = true;
		return;
	}
	p9_put_u16(m, (uint16_t)len);
	p9_put_bytes(m, s, len);
}

void p9_put_bytes(struct p9_msg *m, const void *p, size_t len)
{
	uint8_t *d = put_room(m, len);
	if (d && len)
		memcpy(d, p, len);
}

uint32_t p9_msg_end(struct p9_msg *m)
{
	if (m->bad)
		return 0;
	uint32_t len = m->pos;
	for (int i = 0; i < 4; i++)
		m->buf[i] = (uint8_t)(len >> (8 * i));
	return len;
}

static uint64_t get_le(struct p9_msg *m, int n)
{
	if (m->bad || (uint32_t)n > m->cap - m->pos) {
		m->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)m->buf[m->pos + (uint32_t)i] << (8 * i);
	m->pos += (uint32_t)n;
	return v;
}

uint8_t p9_get_u8(struct p9_msg *m) { return (uint8_t)get_le(m, 1); }
uint16_t p9_get_u16(struct p9_msg *m) { return (uint16_t)get_le(m, 2); }
uint32_t p9_get_u32(struct p9_msg *m) { return (uint32_t)get_le(m, 4); }
uint64_t p9_get_u64(struct p9_msg *m) { return get_le(m, 8); }

void p9_get_qid(struct p9_msg *m, struct p9_qid *q)
{
	q->type = p9_get_u8(m);
	q->version = p9_get_u32(m);
	q->path = p9_get_u64(m);
}

const uint8_t *p9_get_bytes(struct p9_msg *m, uint32_t n)
{
	if (m->bad || n > m->cap - m->pos) {
		m->bad = true;
		return NULL;
	}
	const uint8_t *p = m->buf + m->pos;
	m->pos += n;
	return p;
}

void p9_get_str(struct p9_msg *m, const char **s, uint16_t *len)
{
	*len = p9_get_u16(m);
	*s = (const char *)p9_get_bytes(m, *len);
	if (!*s) {
		*s = "";
		*len = 0;
	}
}

void p9_get_attr(struct p9_msg *m, struct p9_attr *a)
{
	a->valid = p9_get_u64(m);
	p9_get_qid(m, &a->qid);
	a->mode = p9_get_u32(m);
	a->uid = p9_get_u32(m);
	a->gid = p9_get_u32(m);
	a->nlink = p9_get_u64(m);
	a->rdev = p9_get_u64(m);
	a->size = p9_get_u64(m);
	a->blksize = p9_get_u64(m);
	a->blocks = p9_get_u64(m);
	a->atime_sec = p9_get_u64(m);
	a->atime_nsec = p9_get_u64(m);
	a->mtime_sec = p9_get_u64(m);
	a->mtime_nsec = p9_get_u64(m);
	a->ctime_sec = p9_get_u64(m);
	a->ctime_nsec = p9_get_u64(m);
	a->btime_sec = p9_get_u64(m);
	a->btime_nsec = p9_get_u64(m);
	a->gen = p9_get_u64(m);
	a->data_version = p9_get_u64(m);
}

int p9_msg_reply(struct p9_msg *m, uint8_t *buf, uint32_t len, uint8_t type, uint16_t tag)
{
	m->buf = buf;
	m->cap = len;
	m->pos = 0;
	m->bad = false;
	uint32_t size = p9_get_u32(m);
	uint8_t t = p9_get_u8(m);
	uint16_t g = p9_get_u16(m);
	if (m->bad || size < P9_HDR || size > len || g != tag)
		return -WASI_EIO;
	m->cap = size; /* nothing past the message's own end is read */
	if (t == P9_RLERROR) {
		uint32_t e = p9_get_u32(m);
		return m->bad ? -WASI_EIO : p9_errno_to_wasi(e);
	}
	return t == type ? 0 : -WASI_EIO;
}

int p9_dirent_next(const uint8_t *data, uint32_t len, uint32_t *pos, struct p9_dirent *e)
{
	if (*pos >= len)
		return 0;
	struct p9_msg m = { .buf = (uint8_t *)data, .cap = len, .pos = *pos };
	p9_get_qid(&m, &e->qid);
	e->offset = p9_get_u64(&m);
	e->type = p9_get_u8(&m);
	p9_get_str(&m, &e->name, &e->namelen);
	if (m.bad)
		return -WASI_EIO;
	*pos = m.pos;
	return 1;
}

/* Linux's errno numbers (x86-64, asm-generic) and their WASI names. */
static const struct {
	uint16_t linux_no;
	uint16_t wasi;
} errnos[] = {
	{1, WASI_EPERM}, {2, WASI_ENOENT}, {3, WASI_ESRCH}, {4, WASI_EINTR}, {5, WASI_EIO},
	{6, WASI_ENXIO}, {7, WASI_E2BIG}, {8, WASI_ENOEXEC}, {9, WASI_EBADF}, {10, WASI_ECHILD},
	{11, WASI_EAGAIN}, {12, WASI_ENOMEM}, {13, WASI_EACCES}, {14, WASI_EFAULT},
	{16, WASI_EBUSY}, {17, WASI_EEXIST}, {18, WASI_EXDEV}, {19, WASI_ENODEV},
	{20, WASI_ENOTDIR}, {21, WASI_EISDIR}, {22, WASI_EINVAL}, {23, WASI_ENFILE},
	{24, WASI_EMFILE}, {25, WASI_ENOTTY}, {26, WASI_ETXTBSY}, {27, WASI_EFBIG},
	{28, WASI_ENOSPC}, {29, WASI_ESPIPE}, {30, WASI_EROFS}, {31, WASI_EMLINK},
	{32, WASI_EPIPE}, {33, WASI_EDOM}, {34, WASI_ERANGE}, {35, WASI_EDEADLK},
	{36, WASI_ENAMETOOLONG}, {37, WASI_ENOLCK}, {38, WASI_ENOSYS}, {39, WASI_ENOTEMPTY},
	{40, WASI_ELOOP}, {42, WASI_ENOMSG}, {43, WASI_EIDRM}, {61, WASI_ENODEV /* ENODATA */},
	{67, WASI_ENOLINK}, {71, WASI_EPROTO}, {72, WASI_EMULTIHOP}, {74, WASI_EBADMSG},
	{75, WASI_EOVERFLOW}, {84, WASI_EILSEQ}, {88, WASI_ENOTSOCK}, {89, WASI_EDESTADDRREQ},
	{90, WASI_EMSGSIZE}, {91, WASI_EPROTOTYPE}, {92, WASI_ENOPROTOOPT},
	{93, WASI_EPROTONOSUPPORT}, {95, WASI_ENOTSUP}, {97, WASI_EAFNOSUPPORT},
	{98, WASI_EADDRINUSE}, {99, WASI_EADDRNOTAVAIL}, {100, WASI_ENETDOWN},
	{101, WASI_ENETUNREACH}, {102, WASI_ENETRESET}, {103, WASI_ECONNABORTED},
	{104, WASI_ECONNRESET}, {105, WASI_ENOBUFS}, {106, WASI_EISCONN}, {107, WASI_ENOTCONN},
	{110, WASI_ETIMEDOUT}, {111, WASI_ECONNREFUSED}, {113, WASI_EHOSTUNREACH},
	{114, WASI_EALREADY}, {115, WASI_EINPROGRESS}, {116, WASI_ESTALE}, {122, WASI_EDQUOT},
	{125, WASI_ECANCELED}, {130, WASI_EOWNERDEAD}, {131, WASI_ENOTRECOVERABLE},
};

int p9_errno_to_wasi(uint32_t linux_errno)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].linux_no == linux_errno)
			return -(int)errnos[i].wasi;
	return -WASI_EIO;
}

uint8_t p9_mode_filetype(uint32_t mode)
{
	switch (mode & P9_S_IFMT) {
	case P9_S_IFREG: return WASI_FILETYPE_REGULAR_FILE;
	case P9_S_IFDIR: return WASI_FILETYPE_DIRECTORY;
	case P9_S_IFLNK: return WASI_FILETYPE_SYMBOLIC_LINK;
	case P9_S_IFCHR: return WASI_FILETYPE_CHARACTER_DEVICE;
	case P9_S_IFBLK: return WASI_FILETYPE_BLOCK_DEVICE;
	case P9_S_IFSOCK: return WASI_FILETYPE_SOCKET_STREAM;
	default: return WASI_FILETYPE_UNKNOWN; /* fifos have no WASI type */
	}
}

uint8_t p9_dt_filetype(uint8_t dt)
{
	switch (dt) {
	case 8: return WASI_FILETYPE_REGULAR_FILE;   /* DT_REG */
	case 4: return WASI_FILETYPE_DIRECTORY;      /* DT_DIR */
	case 10: return WASI_FILETYPE_SYMBOLIC_LINK; /* DT_LNK */
	case 2: return WASI_FILETYPE_CHARACTER_DEVICE; /* DT_CHR */
	case 6: return WASI_FILETYPE_BLOCK_DEVICE;   /* DT_BLK */
	case 12: return WASI_FILETYPE_SOCKET_STREAM; /* DT_SOCK */
	default: return WASI_FILETYPE_UNKNOWN;
	}
}

uint8_t p9_qid_filetype(const struct p9_qid *q)
{
	if (q->type & P9_QTDIR)
		return WASI_FILETYPE_DIRECTORY;
	if (q->type & P9_QTSYMLINK)
		return WASI_FILETYPE_SYMBOLIC_LINK;
	return WASI_FILETYPE_REGULAR_FILE;
}
