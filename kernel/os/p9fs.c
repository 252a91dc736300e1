/* kernel/os/p9fs.c - files of host shares (virtio-9p, 9P2000.L) behind the platform's file calls: fids for open files and directories, chunked reads and writes, directory listings by server offsets, read-only mounts enforced in the guest; every fid let go and bound again around a VM snapshot (quiesce/resume). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/os/kfile.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9.h"
#include "kernel/os/p9fs.h"

#define MAX_SESSIONS 32
#define FILE_MODE 0644 /* WASI carries no mode: what Linux gives with umask 022 */
#define DIR_MODE 0755
#define NOT_OPENED 0xffffffffu /* p9node.lflags of a fid that was never Tlopen'ed */

/* One 9P session: a virtio-9p device, attached once. */
struct p9session {
	char tag[64];
	struct p9_client c;
	uint32_t root;       /* fid of the share's top directory */
	uint64_t dev;        /* st_dev the guest sees for its files */
	uint64_t attach_ns;  /* what the version + attach cost at boot */
	bool parked;         /* quiesced: root clunked (its number kept), attached again on
			      * resume */
	bool dead;           /* the resume could not attach it again: every call fails */
};

struct p9mount {
	struct p9session *s;
	char *entry;         /* NULL: the whole share; else one entry of its top directory */
	bool readonly;
	uint8_t type;        /* WASI_FILETYPE_* of the mount's root */
};

/* What a PF_9P kumo_plat_file holds. */
struct p9node {
	struct p9mount *m;
	uint32_t fid;        /* walked to the file; opened (Tlopen) for non-directories */
	uint32_t list_fid;   /* directories: an opened clone for Treaddir, or P9_NOFID */
	uint8_t type;        /* WASI_FILETYPE_* at open time */
	char *rel;           /* directories: the path from the mount's root ("" for it),
			      * to find mounts nested inside the share */
	/* what a resume needs to bind the same fid numbers to the same files again */
	char *spath;         /* the path from the share's root ("" for it) */
	uint32_t lflags;     /* the Tlopen flags of fid, NOT_OPENED for a directory's */
	bool list_open;      /* quiesced with an opened list_fid, which resume reopens */
	bool lost;           /* its file was gone at the resume: every call is ESTALE */
	struct p9node *prev, *next; /* every open node (open_nodes) */
};

/* A share mounted at a directory of another share (an emptyDir at /data and a
 * ConfigMap at /data/config): the name `name` in directory `dir` of `parent` leads to
 * `child`'s root instead of the host's entry. */
struct nested {
	struct p9mount *parent;
	char *dir;           /* relative to parent's root, "" for the root */
	char *name;          /* one component */
	struct p9mount *child;
};

static struct p9session sessions[MAX_SESSIONS];
static int nsessions;
static struct nested *nested;
static int nnested;
static struct p9node *open_nodes; /* every open file of every share */
static int quiesced;              /* p9fs_quiesce ran, p9fs_resume has not */

/* Every call that talks to a share passes here first. While the shares are quiesced a
 * container's thread waits for the resume (the VM is being saved: it must not see an
 * error); the supervisor, which runs the resume itself, gets EAGAIN. A file found gone
 * at the resume is ESTALE, a share that could not be attached again EIO. */
static int gate(const struct kumo_plat_file *f)
{
	while (quiesced) {
		struct kthread *t = kthread_current();
		if (!t || !t->owner)
			return -WASI_EAGAIN;
		sched_wait(KWAKE_IRQ, clock_monotonic_ns() + 50000000ull);
	}
	if (f && f->p9->lost)
		return -WASI_ESTALE;
	if (f && f->p9->m->s->dead)
		return -WASI_EIO;
	return 0;
}

/* a + "/" + b, or the one that is not empty (malloc'd, NULL: out of memory). */
static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", a, *a && *b ? "/" : "", b);
	return p;
}

static char *str_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	return d ? memcpy(d, s, n) : NULL;
}

/* The mount nested at `name` of directory file dir, or NULL. */
static struct p9mount *nested_at(const struct kumo_plat_file *dir, const char *name)
{
	for (int i = 0; i < nnested; i++)
		if (nested[i].parent == dir->p9->m && strcmp(nested[i].name, name) == 0 &&
		    dir->p9->rel && strcmp(nested[i].dir, dir->p9->rel) == 0)
			return nested[i].child;
	return NULL;
}

int p9fs_mount_at(struct p9mount *parent, const char *rel, struct p9mount *child)
{
	while (*rel == '/')
		rel++;
	const char *slash = strrchr(rel, '/');
	const char *name = slash ? slash + 1 : rel;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strstr(rel, "/../") ||
	    strncmp(rel, "../", 3) == 0)
		return -WASI_EINVAL;
	struct nested *n = realloc(nested, sizeof(*n) * ((size_t)nnested + 1));
	if (!n)
		return -WASI_ENOMEM;
	nested = n;
	n = &nested[nnested];
	n->parent = parent;
	n->child = child;
	n->name = str_dup(name);
	n->dir = malloc(slash ? (size_t)(slash - rel) + 1 : 1);
	if (!n->name || !n->dir) {
		free(n->name);
		free(n->dir);
		return -WASI_ENOMEM;
	}
	memcpy(n->dir, rel, slash ? (size_t)(slash - rel) : 0);
	n->dir[slash ? slash - rel : 0] = 0;
	nnested++;
	return 0;
}

static struct p9_client *cl(const struct kumo_plat_file *f) { return &f->p9->m->s->c; }

static int session_of(const char *tag, struct p9session **out, char *err, size_t errcap)
{
	for (int i = 0; i < nsessions; i++)
		if (strcmp(sessions[i].tag, tag) == 0) {
			*out = &sessions[i];
			return 0;
		}
	if (nsessions == MAX_SESSIONS || strlen(tag) >= sizeof(sessions[0].tag)) {
		snprintf(err, errcap, "share `%s`: too many shares or too long a tag", tag);
		return -WASI_ENOMEM;
	}
	uint64_t t0 = clock_monotonic_ns();
	struct p9_transport *t;
	int rc = v9p_transport(tag, &t);
	if (rc == -WASI_ENODEV) {
		snprintf(err, errcap, "share `%s`: no virtio-9p device has this mount tag (QEMU: "
			  "-device virtio-9p-device,mount_tag=%s on microvm, virtio-9p-pci on pc/q35)",
			  tag, tag);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errcap, "share `%s`: no memory for the virtio-9p buffers", tag);
		return rc;
	}
	struct p9session *s = &sessions[nsessions];
	memset(s, 0, sizeof(*s));
	strcpy(s->tag, tag);
	if ((rc = p9_client_init(&s->c, t, V9P_MSIZE)) < 0) {
		snprintf(err, errcap, "share `%s`: version: the server speaks no 9P2000.L with "
			  "msize %u (wasi errno %d)", tag, V9P_MSIZE, -rc);
		return rc;
	}
	struct p9_qid q;
	if ((rc = p9_fid_alloc(&s->c, &s->root)) < 0 || (rc = p9_attach(&s->c, s->root, 0, &q)) < 0) {
		snprintf(err, errcap, "share `%s`: attach failed (wasi errno %d)", tag, -rc);
		return rc;
	}
	if (!(q.type & P9_QTDIR)) {
		snprintf(err, errcap, "share `%s`: its root is not a directory", tag);
		return -WASI_ENOTDIR;
	}
	s->dev = 0x9000 + (uint64_t)nsessions;
	s->attach_ns = clock_monotonic_ns() - t0;
	nsessions++;
	*out = s;
	return 0;
}

/* A fid walked from the mount's session root to the mount's root (a clone, or the
 * entry): always a fresh walk, so an entry the host replaced is seen. */
static int walk_root(struct p9mount *m, uint32_t *fid, struct p9_qid *q)
{
	struct p9_client *c = &m->s->c;
	if (m->s->dead)
		return -WASI_EIO;
	int rc = p9_fid_alloc(c, fid);
	if (rc < 0)
		return rc;
	struct p9_qid dummy;
	rc = p9_walk(c, m->s->root, *fid, m->entry, q ? q : &dummy);
	if (rc < 0)
		p9_fid_release(c, *fid);
	else if (!m->entry && q)
		*q = (struct p9_qid){ .type = P9_QTDIR }; /* a clone of the share's root */
	return rc;
}

/* A fid walked from directory fid to `name` ("." clones it). */
static int walk_at(struct p9_client *c, uint32_t dfid, const char *name, uint32_t *fid,
		   struct p9_qid *q)
{
	int rc = p9_fid_alloc(c, fid);
	if (rc < 0)
		return rc;
	struct p9_qid dummy;
	bool self = strcmp(name, ".") == 0;
	rc = p9_walk(c, dfid, *fid, self ? NULL : name, q ? q : &dummy);
	if (rc < 0)
		p9_fid_release(c, *fid);
	else if (self && q)
		*q = (struct p9_qid){ .type = P9_QTDIR }; /* dfid is always a directory */
	return rc;
}

int p9fs_mount(const char *tag, const char *entry, bool readonly, struct p9mount **out,
	       char *err, size_t errcap)
{
	struct p9session *s;
	int rc = gate(NULL);
	if (rc < 0) {
		snprintf(err, errcap, "share `%s`: the shares are quiesced (a snapshot is being "
			 "taken): try again", tag);
		return rc;
	}
	rc = session_of(tag, &s, err, errcap);
	if (rc < 0)
		return rc;
	if (entry && (!*entry || strchr(entry, '/') || strcmp(entry, ".") == 0 ||
		      strcmp(entry, "..") == 0 || strlen(entry) > P9_NAME_MAX)) {
		snprintf(err, errcap, "share `%s`: entry `%s` is not one name", tag, entry);
		return -WASI_EINVAL;
	}
	struct p9mount *m = calloc(1, sizeof(*m));
	if (!m || (entry && !(m->entry = malloc(strlen(entry) + 1)))) {
		free(m);
		snprintf(err, errcap, "share `%s`: out of memory", tag);
		return -WASI_ENOMEM;
	}
	if (entry)
		strcpy(m->entry, entry);
	m->s = s;
	m->readonly = readonly;
	/* The root's type, once: a file mount stays a file in the guest's tree. */
	uint32_t fid;
	struct p9_attr a;
	rc = walk_root(m, &fid, NULL);
	if (rc == 0) {
		rc = p9_getattr(&s->c, fid, P9_GETATTR_BASIC, &a);
		p9_clunk(&s->c, fid);
	}
	if (rc < 0) {
		snprintf(err, errcap, "share `%s`: entry `%s`: wasi errno %d", tag,
			 entry ? entry : ".", -rc);
		free(m->entry);
		free(m);
		return rc;
	}
	m->type = p9_mode_filetype(a.mode);
	*out = m;
	return 0;
}

uint8_t p9fs_mount_type(const struct p9mount *m) { return m->type; }
bool p9fs_mount_readonly(const struct p9mount *m) { return m->readonly; }

void p9fs_log_mounts(void)
{
	for (int i = 0; i < nsessions; i++) {
		char how[32];
		v9p_describe(sessions[i].c.t, how, sizeof(how));
		klog("share `%s`: virtio-9p %s, msize %u, attached in %llu us, %llu round trips",
		     sessions[i].tag, how, sessions[i].c.msize,
		     (unsigned long long)(sessions[i].attach_ns / 1000),
		     (unsigned long long)sessions[i].c.rpcs);
	}
}

/* A new open file; rel: a directory's path from the mount's root, spath: the file's
 * from the share's root (both copied); lflags: its fid's Tlopen flags (NOT_OPENED). */
static struct kumo_plat_file *file_new(struct p9mount *m, uint32_t fid, uint8_t type, bool read,
				       bool write, uint32_t fdflags, const char *rel,
				       const char *spath, uint32_t lflags)
{
	struct kumo_plat_file *f = calloc(1, sizeof(*f));
	struct p9node *n = calloc(1, sizeof(*n));
	if (n && ((type == WASI_FILETYPE_DIRECTORY && !(n->rel = str_dup(rel))) ||
		  !(n->spath = str_dup(spath)))) {
		free(n->rel);
		free(n);
		n = NULL;
	}
	if (!f || !n) {
		free(f);
		free(n);
		return NULL;
	}
	n->m = m;
	n->fid = fid;
	n->list_fid = P9_NOFID;
	n->type = type;
	n->lflags = lflags;
	n->next = open_nodes;
	if (open_nodes)
		open_nodes->prev = n;
	open_nodes = n;
	f->kind = PF_9P;
	f->p9 = n;
	f->read = read;
	f->write = write;
	f->fdflags = fdflags & (WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK | WASI_FDFLAG_DSYNC |
				WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC);
	return f;
}

/* Finishes an open of the walked fid (type from its qid): checks the flags against
 * the type, Tlopens a non-directory, makes the file. Consumes fid on failure. */
static int open_walked(struct p9mount *m, uint32_t fid, const struct p9_qid *q, uint32_t oflags,
		       uint32_t fdflags, bool read, bool write, const char *rel,
		       const char *spath, struct kumo_plat_file **out)
{
	uint32_t lflags = NOT_OPENED;
	struct p9_client *c = &m->s->c;
	uint8_t type = p9_qid_filetype(q);
	int rc = 0;
	if ((oflags & WASI_OFLAG_CREAT) && (oflags & WASI_OFLAG_EXCL))
		rc = -WASI_EEXIST;
	else if (type == WASI_FILETYPE_SYMBOLIC_LINK)
		rc = (oflags & WASI_OFLAG_DIRECTORY) ? -WASI_ENOTDIR : -WASI_ELOOP;
	else if ((oflags & WASI_OFLAG_DIRECTORY) && type != WASI_FILETYPE_DIRECTORY)
		rc = -WASI_ENOTDIR;
	else if (type == WASI_FILETYPE_DIRECTORY && (write || (oflags & WASI_OFLAG_TRUNC)))
		rc = -WASI_EISDIR;
	else if (m->readonly && (write || (oflags & WASI_OFLAG_TRUNC)))
		rc = -WASI_EROFS;
	if (rc == 0 && type != WASI_FILETYPE_DIRECTORY) {
		uint32_t fl = read && write ? P9_O_RDWR : write ? P9_O_WRONLY : P9_O_RDONLY;
		/* WASI truncates on open without the fd's write right (the directory's
		 * path_filestat_set_size right allows it); Linux does so for O_RDONLY too. */
		if (oflags & WASI_OFLAG_TRUNC)
			fl |= P9_O_TRUNC;
		struct p9_qid oq;
		uint32_t iounit;
		rc = p9_lopen(c, fid, fl, &oq, &iounit);
		lflags = fl & ~(uint32_t)P9_O_TRUNC; /* a reopen must not truncate again */
	}
	if (type == WASI_FILETYPE_DIRECTORY)
		read = true;
	if (rc == 0 && !(*out = file_new(m, fid, type, read, write, fdflags, rel, spath, lflags)))
		rc = -WASI_ENOMEM;
	if (rc < 0)
		p9_clunk(c, fid);
	return rc;
}

int p9fs_open_mount(struct p9mount *m, uint32_t oflags, uint32_t fdflags, bool read, bool write,
		    struct kumo_plat_file **out)
{
	uint32_t fid;
	struct p9_qid q;
	int rc = gate(NULL);
	if (rc < 0 || (rc = walk_root(m, &fid, &q)) < 0)
		return rc;
	return open_walked(m, fid, &q, oflags & ~(uint32_t)WASI_OFLAG_CREAT, fdflags, read, write,
			   "", m->entry ? m->entry : "", out);
}

int p9fs_openat(struct kumo_plat_file *dir, const char *name, uint32_t oflags, uint32_t fdflags,
		bool read, bool write, struct kumo_plat_file **out)
{
	struct p9mount *m = dir->p9->m;
	struct p9_client *c = &m->s->c;
	int rc = gate(dir);
	if (rc < 0)
		return rc;
	if (dir->p9->type != WASI_FILETYPE_DIRECTORY)
		return -WASI_ENOTDIR;
	struct p9mount *nm = nested_at(dir, name);
	if (nm) {
		if ((oflags & WASI_OFLAG_CREAT) && (oflags & WASI_OFLAG_EXCL))
			return -WASI_EEXIST;
		return p9fs_open_mount(nm, oflags, fdflags, read, write, out);
	}
	uint32_t fid;
	struct p9_qid q;
	bool self = strcmp(name, ".") == 0;
	/* The child's path from the share's root, for a resume. */
	char *spath = path_join(dir->p9->spath, self ? "" : name);
	if (!spath)
		return -WASI_ENOMEM;
	rc = walk_at(c, dir->p9->fid, name, &fid, &q);
	if (rc == 0) {
		/* The child's path from the mount root, for nested mounts below it. */
		char *rel = path_join(dir->p9->rel ? dir->p9->rel : "", self ? "" : name);
		if (!rel) {
			p9_clunk(c, fid);
			free(spath);
			return -WASI_ENOMEM;
		}
		rc = open_walked(m, fid, &q, oflags, fdflags, read, write, rel, spath, out);
		free(rel);
		free(spath);
		return rc;
	}
	if (rc != -WASI_ENOENT || !(oflags & WASI_OFLAG_CREAT) || (oflags & WASI_OFLAG_DIRECTORY) ||
	    m->readonly) {
		free(spath);
		if (rc == -WASI_ENOENT && (oflags & WASI_OFLAG_CREAT))
			rc = (oflags & WASI_OFLAG_DIRECTORY) ? -WASI_EINVAL : -WASI_EROFS;
		return rc;
	}
	/* Tlcreate turns a clone of the directory's fid into the new, open file. */
	if ((rc = walk_at(c, dir->p9->fid, ".", &fid, NULL)) < 0) {
		free(spath);
		return rc;
	}
	uint32_t fl = read && write ? P9_O_RDWR : write ? P9_O_WRONLY : P9_O_RDONLY;
	uint32_t iounit;
	rc = p9_lcreate(c, fid, name, fl | ((oflags & WASI_OFLAG_EXCL) ? P9_O_EXCL : 0), FILE_MODE,
			0, &q, &iounit);
	if (rc == 0 && !(*out = file_new(m, fid, WASI_FILETYPE_REGULAR_FILE, read, write, fdflags, "",
					 spath, fl)))
		rc = -WASI_ENOMEM;
	if (rc < 0)
		p9_clunk(c, fid);
	free(spath);
	return rc;
}

int p9fs_close(struct kumo_plat_file *f)
{
	struct p9node *n = f->p9;
	if (quiesced || n->lost || n->m->s->dead) {
		/* Nothing bound on the server: the numbers just go back (a closing instance
		 * never waits for a resume). */
		if (!n->lost)
			p9_fid_release(cl(f), n->fid);
		if (n->list_fid != P9_NOFID)
			p9_fid_release(cl(f), n->list_fid);
	} else {
		p9_clunk(cl(f), n->fid);
		if (n->list_fid != P9_NOFID)
			p9_clunk(cl(f), n->list_fid);
	}
	if (n->prev)
		n->prev->next = n->next;
	else
		open_nodes = n->next;
	if (n->next)
		n->next->prev = n->prev;
	free(n->rel);
	free(n->spath);
	free(n);
	free(f);
	return 0;
}

uint8_t p9fs_filetype(const struct kumo_plat_file *f)
{
	return f->p9->type;
}

int p9fs_io(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t niov, uint64_t off,
	    bool writing, size_t *done)
{
	struct p9_client *c = cl(f);
	*done = 0;
	int grc = gate(f);
	if (grc < 0)
		return grc;
	if (f->p9->type == WASI_FILETYPE_DIRECTORY)
		return -WASI_EISDIR;
	if (writing ? !f->write : !f->read)
		return -WASI_EBADF;
	size_t total = 0;
	for (size_t i = 0; i < niov; i++) {
		uint8_t *p = iov[i].buf;
		size_t left = iov[i].len;
		while (left) {
			uint32_t want = left > p9_io_max(c) ? p9_io_max(c) : (uint32_t)left, got = 0;
			int rc = writing ? p9_write(c, f->p9->fid, off, p, want, &got)
					 : p9_read(c, f->p9->fid, off, p, want, &got);
			if (rc < 0) {
				*done = total;
				return total ? 0 : rc; /* what moved counts */
			}
			total += got;
			off += got;
			p += got;
			left -= got;
			if (got < want) { /* end of file, or a short write */
				*done = total;
				return 0;
			}
		}
	}
	*done = total;
	return 0;
}

static void stat_of(const struct p9session *s, const struct p9_attr *a, struct kumo_plat_stat *st)
{
	st->dev = s->dev;
	st->ino = a->qid.path;
	st->filetype = p9_mode_filetype(a->mode);
	st->nlink = a->nlink;
	st->size = a->size;
	st->atim = a->atime_sec * 1000000000ull + a->atime_nsec;
	st->mtim = a->mtime_sec * 1000000000ull + a->mtime_nsec;
	st->ctim = a->ctime_sec * 1000000000ull + a->ctime_nsec;
}

int p9fs_size(struct kumo_plat_file *f, uint64_t *size)
{
	int grc = gate(f);
	if (grc < 0)
		return grc;
	struct p9_attr a;
	int rc = p9_getattr(cl(f), f->p9->fid, P9_GETATTR_BASIC, &a);
	if (rc == 0)
		*size = a.size;
	return rc;
}

int p9fs_fstat(struct kumo_plat_file *f, struct kumo_plat_stat *st)
{
	int grc = gate(f);
	if (grc < 0)
		return grc;
	struct p9_attr a;
	int rc = p9_getattr(cl(f), f->p9->fid, P9_GETATTR_BASIC, &a);
	if (rc == 0)
		stat_of(f->p9->m->s, &a, st);
	return rc;
}

int p9fs_stat_mount(struct p9mount *m, struct kumo_plat_stat *st)
{
	int grc = gate(NULL);
	if (grc < 0)
		return grc;
	uint32_t fid;
	struct p9_attr a;
	int rc = walk_root(m, &fid, NULL);
	if (rc < 0)
		return rc;
	rc = p9_getattr(&m->s->c, fid, P9_GETATTR_BASIC, &a);
	p9_clunk(&m->s->c, fid);
	if (rc == 0)
		stat_of(m->s, &a, st);
	return rc;
}

int p9fs_statat(struct kumo_plat_file *dir, const char *name, struct kumo_plat_stat *st)
{
	int grc = gate(dir);
	if (grc < 0)
		return grc;
	struct p9_client *c = cl(dir);
	if (strcmp(name, ".") == 0)
		return p9fs_fstat(dir, st);
	struct p9mount *nm = nested_at(dir, name);
	if (nm)
		return p9fs_stat_mount(nm, st);
	uint32_t fid;
	struct p9_attr a;
	int rc = walk_at(c, dir->p9->fid, name, &fid, NULL);
	if (rc < 0)
		return rc;
	rc = p9_getattr(c, fid, P9_GETATTR_BASIC, &a);
	p9_clunk(c, fid);
	if (rc == 0)
		stat_of(dir->p9->m->s, &a, st);
	return rc;
}

int p9fs_truncate(struct kumo_plat_file *f, uint64_t size)
{
	int grc = gate(f);
	if (grc < 0)
		return grc;
	if (f->p9->type == WASI_FILETYPE_DIRECTORY)
		return -WASI_EISDIR;
	if (f->p9->m->readonly)
		return -WASI_EROFS;
	if (!f->write)
		return -WASI_EBADF;
	struct p9_setattr s = { .valid = P9_SETATTR_SIZE, .size = size };
	return p9_setattr(cl(f), f->p9->fid, &s);
}

int p9fs_allocate(struct kumo_plat_file *f, uint64_t offset, uint64_t len)
{
	int grc = gate(f);
	if (grc < 0)
		return grc;
	if (f->p9->type == WASI_FILETYPE_DIRECTORY)
		return -WASI_EISDIR;
	if (f->p9->m->readonly)
		return -WASI_EROFS;
	if (!f->write)
		return -WASI_EBADF;
	if (offset + len < offset)
		return -WASI_EFBIG;
	uint64_t size = 0;
	int rc = p9fs_size(f, &size);
	if (rc < 0 || offset + len <= size)
		return rc;
	struct p9_setattr s = { .valid = P9_SETATTR_SIZE, .size = offset + len };
	return p9_setattr(cl(f), f->p9->fid, &s);
}

int p9fs_sync(struct kumo_plat_file *f, bool data_only)
{
	int grc = gate(f);
	if (grc < 0)
		return grc;
	/* A directory's fid is never opened: nothing of ours to flush there. */
	if (f->p9->type == WASI_FILETYPE_DIRECTORY || f->p9->m->readonly)
		return 0;
	return p9_fsync(cl(f), f->p9->fid, data_only);
}

/* WASI fstflags -> Tsetattr times. */
static void times_of(uint64_t atim, uint64_t mtim, uint32_t fl, struct p9_setattr *s)
{
	memset(s, 0, sizeof(*s));
	if (fl & WASI_FSTFLAG_ATIM) {
		s->valid |= P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET;
		s->atime_sec = atim / 1000000000ull;
		s->atime_nsec = atim % 1000000000ull;
	} else if (fl & WASI_FSTFLAG_ATIM_NOW) {
		s->valid |= P9_SETATTR_ATIME; /* without _SET: the server's now */
	}
	if (fl & WASI_FSTFLAG_MTIM) {
		s->valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
		s->mtime_sec = mtim / 1000000000ull;
		s->mtime_nsec = mtim % 1000000000ull;
	} else if (fl & WASI_FSTFLAG_MTIM_NOW) {
		s->valid |= P9_SETATTR_MTIME;
	}
}

int p9fs_set_times(struct kumo_plat_file *f, uint64_t atim, uint64_t mtim, uint32_t fstflags)
{
	int grc = gate(f);
	if (grc < 0)
		return grc;
	if (f->p9->m->readonly)
		return -WASI_EROFS;
	struct p9_setattr s;
	times_of(atim, mtim, fstflags, &s);
	return s.valid ? p9_setattr(cl(f), f->p9->fid, &s) : 0;
}

int p9fs_set_times_mount(struct p9mount *m, uint64_t atim, uint64_t mtim, uint32_t fstflags)
{
	int grc = gate(NULL);
	if (grc < 0)
		return grc;
	if (m->readonly)
		return -WASI_EROFS;
	struct p9_setattr s;
	times_of(atim, mtim, fstflags, &s);
	if (!s.valid)
		return 0;
	uint32_t fid;
	int rc = walk_root(m, &fid, NULL);
	if (rc < 0)
		return rc;
	rc = p9_setattr(&m->s->c, fid, &s);
	p9_clunk(&m->s->c, fid);
	return rc;
}

int p9fs_set_times_at(struct kumo_plat_file *dir, const char *name, uint64_t atim, uint64_t mtim,
		      uint32_t fstflags)
{
	int grc = gate(dir);
	if (grc < 0)
		return grc;
	struct p9mount *nm = nested_at(dir, name);
	if (nm)
		return p9fs_set_times_mount(nm, atim, mtim, fstflags);
	if (dir->p9->m->readonly)
		return -WASI_EROFS;
	struct p9_setattr s;
	times_of(atim, mtim, fstflags, &s);
	uint32_t fid;
	int rc = walk_at(cl(dir), dir->p9->fid, name, &fid, NULL);
	if (rc < 0)
		return rc;
	if (s.valid)
		rc = p9_setattr(cl(dir), fid, &s);
	p9_clunk(cl(dir), fid);
	return rc;
}

int p9fs_readdir(struct kumo_plat_file *dir, uint64_t cookie, kumo_plat_dirent_fn emit, void *ctx)
{
	int grc = gate(dir);
	if (grc < 0)
		return grc;
	struct p9node *n = dir->p9;
	struct p9_client *c = cl(dir);
	if (n->type != WASI_FILETYPE_DIRECTORY)
		return -WASI_ENOTDIR;
	if (n->list_fid == P9_NOFID) {
		/* Listing needs an opened fid; the walked one stays unopened for walks. */
		uint32_t fid, iounit;
		struct p9_qid q;
		int rc = walk_at(c, n->fid, ".", &fid, NULL);
		if (rc < 0)
			return rc;
		if ((rc = p9_lopen(c, fid, P9_O_RDONLY | P9_O_DIRECTORY, &q, &iounit)) < 0) {
			p9_clunk(c, fid);
			return rc;
		}
		n->list_fid = fid;
	}
	/* WASI cookies are the server's offsets: 0 is the start, an entry's offset
	 * resumes after it. */
	uint64_t off = cookie;
	for (;;) {
		const uint8_t *data;
		uint32_t len, pos = 0;
		int rc = p9_readdir(c, n->list_fid, off, p9_io_max(c), &data, &len);
		if (rc < 0)
			return rc;
		if (len == 0)
			return 0;
		struct p9_dirent e;
		while ((rc = p9_dirent_next(data, len, &pos, &e)) == 1) {
			if (emit(ctx, e.offset, e.qid.path, p9_dt_filetype(e.type), e.name, e.namelen))
				return 0;
			off = e.offset;
		}
		if (rc < 0)
			return rc;
	}
}

int p9fs_mkdirat(struct kumo_plat_file *dir, const char *name)
{
	int grc = gate(dir);
	if (grc < 0)
		return grc;
	if (dir->p9->m->readonly)
		return -WASI_EROFS;
	if (strcmp(name, ".") == 0 || nested_at(dir, name))
		return -WASI_EEXIST;
	struct p9_qid q;
	return p9_mkdir(cl(dir), dir->p9->fid, name, DIR_MODE, 0, &q);
}

int p9fs_unlinkat(struct kumo_plat_file *dir, const char *name, bool is_dir)
{
	int grc = gate(dir);
	if (grc < 0)
		return grc;
	if (dir->p9->m->readonly)
		return -WASI_EROFS;
	if (strcmp(name, ".") == 0)
		return is_dir ? -WASI_EINVAL : -WASI_EISDIR;
	if (nested_at(dir, name))
		return -WASI_EBUSY; /* a share is mounted there */
	return p9_unlinkat(cl(dir), dir->p9->fid, name, is_dir ? P9_AT_REMOVEDIR : 0);
}

int p9fs_renameat(struct kumo_plat_file *odir, const char *oname, struct kumo_plat_file *ndir,
		  const char *nname)
{
	int grc = gate(odir);
	if (grc < 0 || (grc = gate(ndir)) < 0)
		return grc;
	if (odir->p9->m->s != ndir->p9->m->s)
		return -WASI_EXDEV;
	if (odir->p9->m->readonly || ndir->p9->m->readonly)
		return -WASI_EROFS;
	if (strcmp(oname, ".") == 0 || strcmp(nname, ".") == 0 || nested_at(odir, oname) ||
	    nested_at(ndir, nname))
		return -WASI_EBUSY;
	return p9_renameat(cl(odir), odir->p9->fid, oname, ndir->p9->fid, nname);
}

int p9fs_linkat(struct kumo_plat_file *odir, const char *oname, struct kumo_plat_file *ndir,
		const char *nname)
{
	int grc = gate(odir);
	if (grc < 0 || (grc = gate(ndir)) < 0)
		return grc;
	if (odir->p9->m->s != ndir->p9->m->s)
		return -WASI_EXDEV;
	if (nested_at(odir, oname))
		return -WASI_EXDEV;
	if (nested_at(ndir, nname))
		return -WASI_EEXIST;
	if (odir->p9->m->readonly || ndir->p9->m->readonly)
		return -WASI_EROFS;
	uint32_t fid;
	int rc = walk_at(cl(odir), odir->p9->fid, oname, &fid, NULL);
	if (rc < 0)
		return rc;
	rc = p9_link(cl(odir), ndir->p9->fid, fid, nname);
	p9_clunk(cl(odir), fid);
	return rc;
}

int p9fs_symlinkat(const char *target, struct kumo_plat_file *dir, const char *name)
{
	int grc = gate(dir);
	if (grc < 0)
		return grc;
	if (nested_at(dir, name))
		return -WASI_EEXIST;
	if (dir->p9->m->readonly)
		return -WASI_EROFS;
	struct p9_qid q;
	return p9_symlink(cl(dir), dir->p9->fid, name, target, 0, &q);
}

int p9fs_readlinkat(struct kumo_plat_file *dir, const char *name, char *buf, size_t cap,
		    size_t *len)
{
	int grc = gate(dir);
	if (grc < 0)
		return grc;
	struct p9_client *c = cl(dir);
	if (nested_at(dir, name))
		return -WASI_EINVAL; /* a mounted share's root is a directory */
	uint32_t fid;
	struct p9_qid q;
	int rc = walk_at(c, dir->p9->fid, name, &fid, &q);
	if (rc < 0)
		return rc;
	if (strcmp(name, ".") == 0 || !(q.type & P9_QTSYMLINK))
		rc = -WASI_EINVAL;
	else
		rc = p9_readlink(c, fid, buf, cap, len);
	p9_clunk(c, fid);
	return rc;
}

/* ---- quiesce and resume (around a snapshot of the VM) ---- */

int p9fs_quiesce(struct p9fs_snap_stats *st, char *err, size_t errcap)
{
	memset(st, 0, sizeof(*st));
	if (quiesced)
		return 0;
	if (v9p_in_flight()) {
		/* Never true: kernel code is not preempted and a 9p call never yields. */
		snprintf(err, errcap, "a 9p request is in flight");
		return -WASI_EBUSY;
	}
	for (struct p9node *n = open_nodes; n; n = n->next) {
		struct p9_client *c = &n->m->s->c;
		if (n->lost || n->m->s->dead)
			continue;
		p9_clunk_keep(c, n->fid); /* the server drops it whatever it answers */
		st->fids++;
		if (n->list_fid != P9_NOFID) {
			p9_clunk_keep(c, n->list_fid);
			n->list_open = true;
			st->fids++;
		}
		st->files++;
	}
	/* The roots last: QEMU lifts its migration blocker when the attach fid goes. */
	for (int i = 0; i < nsessions; i++) {
		struct p9session *s = &sessions[i];
		if (s->dead)
			continue;
		p9_clunk_keep(&s->c, s->root);
		s->parked = true;
		st->shares++;
		st->fids++;
	}
	quiesced = 1;
	return 0;
}

/* Binds fid to spath again: a clone of the share's root walked one name at a time. */
static int rebind(struct p9session *s, uint32_t fid, const char *spath)
{
	struct p9_qid q;
	int rc = p9_walk(&s->c, s->root, fid, NULL, &q);
	char name[P9_NAME_MAX + 1];
	for (const char *p = spath; rc == 0 && *p;) {
		size_t n = 0;
		while (p[n] && p[n] != '/')
			n++;
		if (n == 0 || n > P9_NAME_MAX) {
			rc = -WASI_EINVAL;
			break;
		}
		memcpy(name, p, n);
		name[n] = 0;
		p += n;
		p += *p == '/';
		rc = p9_walk(&s->c, fid, fid, name, &q);
		if (rc < 0)
			p9_clunk_keep(&s->c, fid);
	}
	return rc;
}

/* Opens node n's fids again (its share is attached); 0 or the first failure. */
static int reopen(struct p9node *n)
{
	struct p9session *s = n->m->s;
	struct p9_qid q;
	uint32_t iounit;
	int rc = rebind(s, n->fid, n->spath);
	if (rc == 0 && n->lflags != NOT_OPENED && (rc = p9_lopen(&s->c, n->fid, n->lflags, &q, &iounit)) < 0)
		p9_clunk_keep(&s->c, n->fid);
	if (rc < 0)
		return rc;
	if (n->list_open) {
		/* A listing's fid; when it cannot be had again the next readdir makes one. */
		int lrc = rebind(s, n->list_fid, n->spath);
		if (lrc == 0 && (lrc = p9_lopen(&s->c, n->list_fid, P9_O_RDONLY | P9_O_DIRECTORY, &q,
						&iounit)) < 0)
			p9_clunk_keep(&s->c, n->list_fid);
		if (lrc < 0) {
			p9_fid_release(&s->c, n->list_fid);
			n->list_fid = P9_NOFID;
		}
		n->list_open = false;
	}
	return 0;
}

int p9fs_resume(struct p9fs_snap_stats *st, char *err, size_t errcap)
{
	(void)err, (void)errcap;
	memset(st, 0, sizeof(*st));
	if (!quiesced)
		return 0;
	for (int i = 0; i < nsessions; i++) {
		struct p9session *s = &sessions[i];
		if (!s->parked)
			continue;
		/* Tversion first: after a restore the server is a new process that knows no
		 * session; on the VM that was saved it starts a clean one. */
		struct p9_qid q;
		int rc = p9_version(&s->c, V9P_MSIZE);
		if (rc == 0)
			rc = p9_attach(&s->c, s->root, 0, &q);
		s->parked = false;
		st->shares++;
		if (rc < 0) {
			s->dead = true;
			st->dead_shares++;
			klog("share `%s`: cannot attach it again after the snapshot (wasi errno %d): "
			     "its files fail with EIO", s->tag, -rc);
		}
	}
	for (struct p9node *n = open_nodes; n; n = n->next) {
		if (n->lost || n->m->s->dead)
			continue;
		st->files++;
		int rc = reopen(n);
		if (rc == 0)
			continue;
		n->lost = true;
		st->lost++;
		struct p9_client *c = &n->m->s->c;
		p9_fid_release(c, n->fid);
		if (n->list_fid != P9_NOFID)
			p9_fid_release(c, n->list_fid);
		n->list_fid = P9_NOFID;
		n->list_open = false;
		klog("share `%s`: `%s` cannot be opened again after the snapshot (wasi errno %d): "
		     "its fd fails with ESTALE from now on", n->m->s->tag, n->spath, -rc);
	}
	quiesced = 0;
	sched_kick(); /* the threads waiting at the gate go on */
	return 0;
}

bool p9fs_quiesced(void)
{
	return quiesced;
}

char *p9fs_path_renamed(const char *path, const char *from, const char *to)
{
	size_t n = strlen(from);
	if (!path || !n || strncmp(path, from, n) != 0)
		return NULL;
	size_t len = strlen(to) + strlen(path + n) + 1;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%s%s", to, path + n);
	return p;
}

int p9fs_rename_prefix(const char *from, const char *to)
{
	int n = 0;
	for (struct p9node *d = open_nodes; d; d = d->next) {
		char *sp = p9fs_path_renamed(d->spath, from, to);
		char *rel = p9fs_path_renamed(d->rel, from, to);
		if (sp) {
			free(d->spath);
			d->spath = sp;
			n++;
		}
		if (rel) {
			free(d->rel);
			d->rel = rel;
		}
	}
	return n;
}
