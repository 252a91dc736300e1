/* kernel/os/ramfs.c - the unikernel's file system: the image's files from the initrd's ustar archive plus a writable in-memory layer, the console streams, and the file half of kernel/rt/rt_platform.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/os/kfile.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9fs.h"
#include "kernel/os/pod.h"
#include "kernel/os/ramfs.h"
#include "kernel/rt/rt_platform.h"

/* A file, directory or symlink. */
struct rnode {
	uint8_t type;             /* WASI_FILETYPE_* */
	uint8_t borrowed;         /* data points into the initrd (copied on first write) */
	uint64_t ino;
	uint64_t nlink;           /* directory entries naming it (dirs: 2 + subdirs) */
	uint64_t atim, mtim, ctim;
	uint64_t open_refs;       /* open handles; the node lives while > 0 or nlink > 0 */
	uint8_t *data;            /* file contents or symlink target */
	uint64_t size;
	uint64_t cap;             /* bytes allocated at data (0 when borrowed) */
	struct rdirent *children; /* directory entries in creation order */
	struct rnode *parent;     /* directories: the one holding it (root: itself) */
	struct p9mount *mount;    /* a host share mounted here (p9fs.c): every access to
				   * this name goes to the share; children are hidden */
	uint8_t file_mount;       /* a copied host file mount (boot config "files"):
				   * FILE_MOUNT_RW or FILE_MOUNT_RO; it cannot be unlinked,
				   * renamed or replaced (EBUSY, as a bind-mounted file) */
};

enum { FILE_MOUNT_NONE = 0, FILE_MOUNT_RW = 1, FILE_MOUNT_RO = 2 }; /* rnode.file_mount */

/* A file mount reported at exit when the app changed it (ramfs_report_files). */
struct copy_back {
	const char *path;         /* absolute path in the rootfs, as the host named it */
	struct rnode *node;       /* the file (a mount: never unlinked, so never freed) */
	const uint8_t *orig;      /* its bytes at boot (in the initrd) */
	uint64_t orig_size;
};
static struct copy_back *copy_backs;
static size_t ncopy_backs;

struct rdirent {
	char *name;
	struct rnode *node;
	struct rdirent *next;
};

static struct kumo_plat_file console[3] = {
	{ .kind = PF_CONSOLE, .stdio_n = 0, .read = true },
	{ .kind = PF_CONSOLE, .stdio_n = 1, .write = true },
	{ .kind = PF_CONSOLE, .stdio_n = 2, .write = true },
};
static struct rnode *root;
static uint64_t next_ino = 1;

static uint64_t now(void) { return clock_realtime_ns(); }

static struct rnode *node_new(uint8_t type, uint64_t t)
{
	struct rnode *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->type = type;
	n->ino = next_ino++;
	n->atim = n->mtim = n->ctim = t;
	return n;
}

static void node_put(struct rnode *n)
{
	if (n->nlink || n->open_refs)
		return;
	if (!n->borrowed)
		free(n->data);
	free(n);
}

static struct rdirent *lookup(struct rnode *dir, const char *name, struct rdirent ***link)
{
	struct rdirent **pp = &dir->children;
	for (; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	if (link)
		*link = pp; /* the tail, for appending */
	return NULL;
}

static int add_entry(struct rnode *dir, const char *name, struct rnode *n)
{
	struct rdirent **tail;
	if (lookup(dir, name, &tail))
		return -WASI_EEXIST;
	struct rdirent *e = calloc(1, sizeof(*e));
	size_t len = strlen(name);
	char *copy = malloc(len + 1);
	if (!e || !copy) {
		free(e);
		free(copy);
		return -WASI_ENOSPC;
	}
	memcpy(copy, name, len + 1);
	e->name = copy;
	e->node = n;
	*tail = e;
	n->nlink++;
	if (n->type == WASI_FILETYPE_DIRECTORY) {
		n->nlink++; /* its own "." */
		n->parent = dir;
		dir->nlink++; /* its ".." */
	}
	dir->mtim = dir->ctim = now();
	return 0;
}

/* Removes the entry *pp of dir; frees the node when nothing holds it. */
static void remove_entry(struct rnode *dir, struct rdirent **pp)
{
	struct rdirent *e = *pp;
	struct rnode *n = e->node;
	*pp = e->next;
	free(e->name);
	free(e);
	if (n->type == WASI_FILETYPE_DIRECTORY) {
		n->nlink = 0;
		dir->nlink--;
	} else {
		n->nlink--;
	}
	n->ctim = dir->mtim = dir->ctim = now();
	node_put(n);
}

/* ---- the image: ustar (with GNU long names and pax paths) ---- */

static uint64_t octal(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	if (n && (p[0] & 0x80)) { /* GNU base-256 */
		for (size_t i = 1; i < n; i++)
			v = v << 8 | p[i];
		return v;
	}
	for (size_t i = 0; i < n && p[i]; i++) {
		if (p[i] == ' ')
			continue;
		if (p[i] < '0' || p[i] > '7')
			break;
		v = v * 8 + (uint64_t)(p[i] - '0');
	}
	return v;
}

/* Finds (creating directories when create) the directory holding the last component of
 * path and copies that component into leaf. */
static int walk_parent(const char *path, bool create, uint64_t t, struct rnode **dir, char *leaf,
		       size_t leafcap)
{
	struct rnode *d = root;
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *rest = end;
		while (rest && *rest == '/')
			rest++;
		if (len >= leafcap)
			return -WASI_ENAMETOOLONG;
		memcpy(leaf, p, len);
		leaf[len] = 0;
		if (!end || !*rest) { /* last component */
			*dir = d;
			return 0;
		}
		if (len == 0 || (len == 1 && p[0] == '.')) {
			p = rest;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -WASI_EPERM;
		struct rdirent *e = lookup(d, leaf, NULL);
		if (!e) {
			if (!create)
				return -WASI_ENOENT;
			struct rnode *n = node_new(WASI_FILETYPE_DIRECTORY, t);
			if (!n || add_entry(d, leaf, n) < 0)
				return -WASI_ENOSPC;
			e = lookup(d, leaf, NULL);
		}
		if (e->node->mount)
			return -WASI_EXDEV; /* inside a host share, not the rootfs */
		if (e->node->type != WASI_FILETYPE_DIRECTORY)
			return -WASI_ENOTDIR;
		d = e->node;
		p = rest;
	}
}

/* Value of `key` in a pax extended header block, or NULL. */
static const char *pax_value(const uint8_t *b, uint64_t size, const char *key, size_t *len)
{
	uint64_t off = 0;
	size_t klen = strlen(key);
	while (off < size) {
		/* "<len> <key>=<value>\n" */
		uint64_t reclen = 0;
		uint64_t i = off;
		while (i < size && b[i] >= '0' && b[i] <= '9')
			reclen = reclen * 10 + (b[i++] - '0');
		if (reclen == 0 || off + reclen > size || i >= size || b[i] != ' ')
			return NULL;
		const uint8_t *kv = b + i + 1;
		uint64_t kvlen = off + reclen - (i + 1);
		if (kvlen > klen + 1 && memcmp(kv, key, klen) == 0 && kv[klen] == '=') {
			*len = (size_t)(kvlen - klen - 2); /* minus '=' and '\n' */
			return (const char *)kv + klen + 1;
		}
		off += reclen;
	}
	return NULL;
}

int ramfs_init(const uint8_t *tar, uint64_t size, char *err, size_t errcap)
{
	uint64_t t = now();
	root = node_new(WASI_FILETYPE_DIRECTORY, t);
	if (!root) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	root->nlink = 2;
	root->parent = root;
	char longname[4096], longlink[4096];
	longname[0] = longlink[0] = 0;
	uint64_t off = 0;
	while (tar && off + 512 <= size) {
		const uint8_t *h = tar + off;
		int zero = 1;
		for (int i = 0; i < 512 && zero; i++)
			zero = h[i] == 0;
		if (zero)
			break; /* end of archive */
		uint64_t unsigned_sum = 0;
		for (int i = 0; i < 512; i++)
			unsigned_sum += (i >= 148 && i < 156) ? ' ' : h[i];
		if (octal(h + 148, 8) != unsigned_sum) {
			snprintf(err, errcap, "rootfs: bad tar header checksum at offset %llu",
				 (unsigned long long)off);
			return -1;
		}
		uint64_t fsize = octal(h + 124, 12);
		uint64_t data = off + 512;
		if (data > size || fsize > size - data) {
			snprintf(err, errcap, "rootfs: entry at offset %llu runs past the archive",
				 (unsigned long long)off);
			return -1;
		}
		uint64_t next = data + ((fsize + 511) & ~511ull);
		char type = (char)h[156];
		if (type == 'L' || type == 'K') { /* GNU long name / link for the next entry */
			char *dst = type == 'L' ? longname : longlink;
			size_t n = fsize < sizeof(longname) - 1 ? (size_t)fsize : sizeof(longname) - 1;
			memcpy(dst, tar + data, n);
			dst[n] = 0;
			off = next;
			continue;
		}
		if (type == 'x') { /* pax header for the next entry */
			size_t n;
			const char *v = pax_value(tar + data, fsize, "path", &n);
			if (v && n < sizeof(longname)) {
				memcpy(longname, v, n);
				longname[n] = 0;
			}
			v = pax_value(tar + data, fsize, "linkpath", &n);
			if (v && n < sizeof(longlink)) {
				memcpy(longlink, v, n);
				longlink[n] = 0;
			}
			off = next;
			continue;
		}
		if (type == 'g') {
			off = next;
			continue;
		}
		char path[4096], link[4096];
		if (longname[0]) {
			strcpy(path, longname);
		} else {
			/* prefix "/" name, each NUL-padded */
			size_t pl = 0;
			if (memcmp(h + 257, "ustar", 5) == 0 && h[345]) {
				pl = strnlen((const char *)h + 345, 155);
				memcpy(path, h + 345, pl);
				path[pl++] = '/';
			}
			size_t nl = strnlen((const char *)h, 100);
			memcpy(path + pl, h, nl);
			path[pl + nl] = 0;
		}
		if (longlink[0]) {
			strcpy(link, longlink);
		} else {
			size_t ll = strnlen((const char *)h + 157, 100);
			memcpy(link, h + 157, ll);
			link[ll] = 0;
		}
		longname[0] = longlink[0] = 0;
		uint64_t mt = octal(h + 136, 12) * 1000000000ull;

		char leaf[256];
		struct rnode *dir;
		int rc = walk_parent(path, true, mt, &dir, leaf, sizeof(leaf));
		if (rc < 0) {
			snprintf(err, errcap, "rootfs: bad path `%s`", path);
			return -1;
		}
		if (leaf[0] == 0 || strcmp(leaf, ".") == 0) { /* the root itself ("./") */
			off = next;
			continue;
		}
		struct rdirent **pp;
		struct rdirent *old = lookup(dir, leaf, &pp);
		if (type == '5') {
			if (old && old->node->type == WASI_FILETYPE_DIRECTORY) {
				old->node->mtim = old->node->atim = old->node->ctim = mt;
				off = next;
				continue;
			}
		}
		if (old) /* a later entry replaces an earlier one */
			remove_entry(dir, pp);
		struct rnode *n = NULL;
		if (type == '1') { /* hard link to an earlier entry */
			char tleaf[256];
			struct rnode *tdir;
			struct rdirent *te = NULL;
			if (walk_parent(link, false, mt, &tdir, tleaf, sizeof(tleaf)) == 0)
				te = lookup(tdir, tleaf, NULL);
			if (!te || te->node->type == WASI_FILETYPE_DIRECTORY) {
				snprintf(err, errcap, "rootfs: hard link `%s` to missing `%s`", path, link);
				return -1;
			}
			n = te->node;
		} else if (type == '5') {
			n = node_new(WASI_FILETYPE_DIRECTORY, mt);
		} else if (type == '2') {
			n = node_new(WASI_FILETYPE_SYMBOLIC_LINK, mt);
			size_t ll = strlen(link);
			if (n && (n->data = malloc(ll + 1))) {
				memcpy(n->data, link, ll + 1);
				n->size = ll;
				n->cap = ll + 1;
			}
		} else if (type == '0' || type == 0 || type == '7') {
			n = node_new(WASI_FILETYPE_REGULAR_FILE, mt);
			if (n) {
				n->data = (uint8_t *)tar + data; /* read in place until written */
				n->size = fsize;
				n->borrowed = 1;
			}
		} else { /* devices, fifos: not in a Wasm image */
			off = next;
			continue;
		}
		if (!n || add_entry(dir, leaf, n) < 0) {
			snprintf(err, errcap, "rootfs: out of memory at `%s`", path);
			return -1;
		}
		off = next;
	}
	return 0;
}

static struct kumo_plat_file *handle_new(struct rnode *n, bool read, bool write, uint32_t fdflags)
{
	struct kumo_plat_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->kind = PF_NODE;
	f->node = n;
	f->read = read;
	f->write = write;
	f->fdflags = fdflags;
	n->open_refs++;
	return f;
}

/* Bytes up to the next '/' or the end. */
static size_t comp_len(const char *p)
{
	size_t n = 0;
	while (p[n] && p[n] != '/')
		n++;
	return n;
}

int ramfs_open_dir_below(struct kumo_plat_file *start, const char *rel,
			 struct kumo_plat_file **out)
{
	char name[256];
	struct kumo_plat_file *f = start;
	for (const char *p = rel;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = comp_len(p);
		if (len >= sizeof(name)) {
			kumo_plat_close(f);
			return -WASI_ENAMETOOLONG;
		}
		memcpy(name, p, len);
		name[len] = 0;
		p += len;
		if (strcmp(name, "..") == 0) {
			kumo_plat_close(f);
			return -WASI_EPERM;
		}
		struct kumo_plat_file *next;
		int rc = kumo_plat_openat(f, name, WASI_OFLAG_DIRECTORY, 0, true, false, &next);
		kumo_plat_close(f);
		if (rc < 0)
			return rc;
		f = next;
	}
	*out = f;
	return 0;
}

int ramfs_open_dir(const char *path, struct kumo_plat_file **out)
{
	char leaf[256];
	struct rnode *dir;
	if (!root)
		return -WASI_ENOENT;
	/* Inside a mounted share: its root, then the rest of the path in the share. */
	struct rnode *d = root;
	for (const char *p = path;;) {
		while (*p == '/')
			p++;
		size_t len = comp_len(p);
		if (!len)
			break;
		if (len >= sizeof(leaf))
			return -WASI_ENAMETOOLONG;
		memcpy(leaf, p, len);
		leaf[len] = 0;
		p += len;
		struct rdirent *e = lookup(d, leaf, NULL);
		if (!e)
			break;
		if (e->node->mount) {
			struct kumo_plat_file *f;
			int rc = p9fs_open_mount(e->node->mount, WASI_OFLAG_DIRECTORY, 0, true, false, &f);
			return rc < 0 ? rc : ramfs_open_dir_below(f, p, out);
		}
		d = e->node;
	}
	int rc = walk_parent(path, false, 0, &dir, leaf, sizeof(leaf));
	if (rc < 0)
		return rc;
	struct rnode *n = dir;
	if (leaf[0] && strcmp(leaf, ".") != 0) {
		struct rdirent *e = lookup(dir, leaf, NULL);
		if (!e)
			return -WASI_ENOENT;
		n = e->node;
	}
	if (n->type != WASI_FILETYPE_DIRECTORY)
		return -WASI_ENOTDIR;
	if (n->mount)
		return p9fs_open_mount(n->mount, WASI_OFLAG_DIRECTORY, 0, true, false, out);
	*out = handle_new(n, true, false, 0);
	return *out ? 0 : -WASI_ENOMEM;
}

/* The node at an absolute path of the tree (symlinks not followed), or NULL. */
static struct rnode *node_at(const char *path)
{
	char leaf[256];
	struct rnode *dir;
	if (!root || walk_parent(path, false, 0, &dir, leaf, sizeof(leaf)) < 0)
		return NULL;
	if (!leaf[0] || strcmp(leaf, ".") == 0)
		return dir;
	struct rdirent *e = lookup(dir, leaf, NULL);
	return e ? e->node : NULL;
}

int ramfs_mark_files(const struct kumo_bootfile *files, size_t n, char *err, size_t errcap)
{
	copy_backs = calloc(n + 1, sizeof(*copy_backs));
	if (!copy_backs) {
		snprintf(err, errcap, "out of memory for the file mounts");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct rnode *node = node_at(files[i].path);
		if (!node || node->type != WASI_FILETYPE_REGULAR_FILE) {
			snprintf(err, errcap, "file mount `%s` is not a file of the rootfs",
				 files[i].path);
			return -1;
		}
		node->file_mount = files[i].readonly ? FILE_MOUNT_RO : FILE_MOUNT_RW;
		if (files[i].copy_back && !files[i].readonly)
			copy_backs[ncopy_backs++] = (struct copy_back){
				files[i].path, node, node->data, node->size};
	}
	return 0;
}

void ramfs_report_files(void)
{
	static const char hexd[] = "0123456789abcdef";
	for (size_t i = 0; i < ncopy_backs; i++) {
		const struct copy_back *cb = &copy_backs[i];
		const struct rnode *n = cb->node;
		if (n->size == cb->orig_size && (n->size == 0 || memcmp(n->data, cb->orig, n->size) == 0))
			continue; /* unchanged: the host's file stays as it is */
		if (n->size > KUMO_FILE_RECORD_MAX) {
			klog("file `%s`: %llu bytes, more than the %u copied back at exit: not copied",
			     cb->path, (unsigned long long)n->size, KUMO_FILE_RECORD_MAX);
			continue;
		}
		if (strchr(cb->path, '\n'))
			continue; /* a record is one line */
		char chunk[512];
		int k = snprintf(chunk, sizeof(chunk), KUMO_FILE_RECORD_PREFIX "size=%llu hex=",
				 (unsigned long long)n->size);
		kcons_write(KCONS_KERNEL, chunk, (size_t)k);
		for (uint64_t off = 0; off < n->size;) {
			size_t m = 0;
			for (; off < n->size && m + 2 <= sizeof(chunk); off++) {
				chunk[m++] = hexd[n->data[off] >> 4];
				chunk[m++] = hexd[n->data[off] & 15];
			}
			kcons_write(KCONS_KERNEL, chunk, m);
		}
		kcons_write(KCONS_KERNEL, " path=", 6);
		kcons_write(KCONS_KERNEL, cb->path, strlen(cb->path));
		kcons_write(KCONS_KERNEL, "\n", 1);
	}
}

int ramfs_mount(const char *path, struct p9mount *m)
{
	char leaf[256];
	struct rnode *dir;
	if (!root)
		return -WASI_ENOENT;
	/* Below a share mounted earlier: the share holds the mount point. */
	struct rnode *d = root;
	for (const char *p = path;;) {
		while (*p == '/')
			p++;
		const char *end = strchr(p, '/');
		const char *after = end;
		while (after && *after == '/')
			after++;
		if (!end || !*after)
			break; /* p is the last component */
		size_t len = (size_t)(end - p);
		if (len >= sizeof(leaf))
			return -WASI_ENAMETOOLONG;
		memcpy(leaf, p, len);
		leaf[len] = 0;
		struct rdirent *e = lookup(d, leaf, NULL);
		if (!e)
			break; /* walk_parent creates the rest */
		if (e->node->mount)
			return e->node->type == WASI_FILETYPE_DIRECTORY
				       ? p9fs_mount_at(e->node->mount, end, m)
				       : -WASI_ENOTDIR;
		if (e->node->type != WASI_FILETYPE_DIRECTORY)
			return -WASI_ENOTDIR;
		d = e->node;
		p = end;
	}
	int rc = walk_parent(path, true, now(), &dir, leaf, sizeof(leaf));
	if (rc < 0)
		return rc;
	if (!leaf[0] || strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0)
		return -WASI_EBUSY; /* over the root: preopen the share instead */
	uint8_t type = p9fs_mount_type(m) == WASI_FILETYPE_DIRECTORY ? WASI_FILETYPE_DIRECTORY
								     : WASI_FILETYPE_REGULAR_FILE;
	struct rdirent **pp;
	struct rdirent *e = lookup(dir, leaf, &pp);
	if (e && (e->node->mount || e->node->type != type))
		/* What the image has there goes: the share takes its name. */
		remove_entry(dir, pp);
	else if (e) {
		e->node->mount = m; /* covers what the image had there, as a Linux mount */
		return 0;
	}
	struct rnode *n = node_new(type, now());
	if (!n)
		return -WASI_ENOMEM;
	n->mount = m;
	if ((rc = add_entry(dir, leaf, n)) < 0)
		free(n);
	return rc;
}

/* ---- the platform's file operations ---- */

struct kumo_plat_file *kumo_plat_stdio(int n)
{
	return n >= 0 && n < 3 ? &console[n] : NULL;
}

struct kumo_plat_file *ramfs_record_console(int n, uint32_t cid)
{
	struct kumo_plat_file *f = calloc(1, sizeof(*f));
	if (f)
		*f = (struct kumo_plat_file){.kind = PF_CONSOLE, .stdio_n = n, .cid = cid,
					     .read = n == 0, .write = n != 0};
	return f;
}

static int dir_of(struct kumo_plat_file *f, struct rnode **d)
{
	if (!f || f->kind != PF_NODE || f->node->type != WASI_FILETYPE_DIRECTORY)
		return -WASI_ENOTDIR;
	if (f->node->nlink == 0)
		return -WASI_ENOENT; /* removed while open */
	*d = f->node;
	return 0;
}

/* The node `name` names under dir ("." is dir itself), or NULL. */
static struct rnode *child(struct rnode *d, const char *name)
{
	if (strcmp(name, ".") == 0)
		return d;
	struct rdirent *e = lookup(d, name, NULL);
	return e ? e->node : NULL;
}

/* Makes room for `size` bytes of file data (copying borrowed image data first). */
static int reserve(struct rnode *n, uint64_t size)
{
	if (!n->borrowed && size <= n->cap)
		return 0;
	uint64_t cap = n->borrowed ? n->size : n->cap;
	if (cap < 64)
		cap = 64;
	while (cap < size) {
		if (cap > (1ull << 40))
			return -WASI_EFBIG;
		cap *= 2;
	}
	uint8_t *d = malloc(cap);
	if (!d)
		return -WASI_ENOSPC;
	memcpy(d, n->data, n->size);
	if (!n->borrowed)
		free(n->data);
	n->data = d;
	n->cap = cap;
	n->borrowed = 0;
	return 0;
}

static int set_size(struct rnode *n, uint64_t size)
{
	if (size > n->size) {
		int rc = reserve(n, size);
		if (rc < 0)
			return rc;
		memset(n->data + n->size, 0, size - n->size);
	} else if (n->borrowed && size < n->size) {
		/* Shrinking a borrowed file keeps pointing into the image. */
	}
	n->size = size;
	n->mtim = n->ctim = now();
	return 0;
}

int kumo_plat_openat(struct kumo_plat_file *dirf, const char *name, uint32_t oflags,
		     uint32_t fdflags, bool read, bool write, struct kumo_plat_file **out)
{
	struct rnode *d, *n;
	if (dirf && dirf->kind == PF_9P)
		return p9fs_openat(dirf, name, oflags, fdflags, read, write, out);
	int rc = dir_of(dirf, &d);
	if (rc < 0)
		return rc;
	n = child(d, name);
	if (n && n->mount) {
		if ((oflags & WASI_OFLAG_CREAT) && (oflags & WASI_OFLAG_EXCL))
			return -WASI_EEXIST;
		return p9fs_open_mount(n->mount, oflags, fdflags, read, write, out);
	}
	if (!n) {
		if (!(oflags & WASI_OFLAG_CREAT))
			return -WASI_ENOENT;
		if (oflags & WASI_OFLAG_DIRECTORY)
			return -WASI_EINVAL;
		n = node_new(WASI_FILETYPE_REGULAR_FILE, now());
		if (!n)
			return -WASI_ENOSPC;
		if ((rc = add_entry(d, name, n)) < 0) {
			free(n);
			return rc;
		}
	} else if ((oflags & WASI_OFLAG_CREAT) && (oflags & WASI_OFLAG_EXCL)) {
		return -WASI_EEXIST;
	} else if (n->type == WASI_FILETYPE_SYMBOLIC_LINK) {
		return (oflags & WASI_OFLAG_DIRECTORY) ? -WASI_ENOTDIR : -WASI_ELOOP;
	} else if ((oflags & WASI_OFLAG_DIRECTORY) && n->type != WASI_FILETYPE_DIRECTORY) {
		return -WASI_ENOTDIR;
	}
	if (n->type == WASI_FILETYPE_DIRECTORY) {
		if (write || (oflags & WASI_OFLAG_TRUNC))
			return -WASI_EISDIR;
		read = true;
	} else if (n->file_mount == FILE_MOUNT_RO && (write || (oflags & WASI_OFLAG_TRUNC))) {
		return -WASI_EROFS;
	} else if ((oflags & WASI_OFLAG_TRUNC) && n->size) {
		/* Without the fd's write right too: the directory's path_filestat_set_size
		 * right allows it (WASI; wasi-testsuite truncation_rights). */
		if ((rc = set_size(n, 0)) < 0)
			return rc;
	}
	*out = handle_new(n, read, write, fdflags & (WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK |
						     WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC |
						     WASI_FDFLAG_SYNC));
	if (!*out) {
		node_put(n);
		return -WASI_ENOMEM;
	}
	return 0;
}

int kumo_plat_close(struct kumo_plat_file *f)
{
	if (f && f->kind == PF_9P)
		return p9fs_close(f);
	if (f && f->kind == PF_SOCKET) {
		ksock_free(f->sock);
		free(f);
		return 0;
	}
	if (!f || f->kind != PF_NODE)
		return 0;
	struct rnode *n = f->node;
	n->open_refs--;
	node_put(n);
	free(f);
	return 0;
}

static int node_io(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t niov,
		   uint64_t off, bool writing, size_t *done)
{
	struct rnode *n = f->node;
	*done = 0;
	if (n->type == WASI_FILETYPE_DIRECTORY)
		return -WASI_EISDIR;
	if (writing ? !f->write : !f->read)
		return -WASI_EBADF;
	size_t total = 0;
	for (size_t i = 0; i < niov; i++) {
		size_t len = iov[i].len;
		if (writing) {
			if (off + len < off)
				return -WASI_EFBIG;
			if (off + len > n->size) {
				int rc = reserve(n, off + len);
				if (rc < 0) {
					*done = total;
					return total ? 0 : rc;
				}
				if (off > n->size)
					memset(n->data + n->size, 0, off - n->size);
				n->size = off + len;
			} else if (n->borrowed) {
				int rc = reserve(n, n->size);
				if (rc < 0)
					return total ? 0 : rc;
			}
			memcpy(n->data + off, iov[i].buf, len);
		} else {
			if (off >= n->size)
				break;
			if (len > n->size - off)
				len = (size_t)(n->size - off);
			memcpy(iov[i].buf, n->data + off, len);
		}
		off += len;
		total += len;
		if (!writing && len < iov[i].len)
			break;
	}
	if (writing && total)
		n->mtim = n->ctim = now();
	*done = total;
	return 0;
}

static int console_write(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t niov,
			 size_t *done)
{
	*done = 0;
	if (!f->write)
		return -WASI_EBADF;
	for (size_t i = 0; i < niov; i++) {
		if (f->cid)
			podrec_output(f->stdio_n, f->cid, iov[i].buf, iov[i].len);
		else
			kcons_write(f->stdio_n == 2 ? KCONS_STDERR : KCONS_STDOUT, iov[i].buf, iov[i].len);
		*done += iov[i].len;
	}
	return 0;
}

int kumo_plat_readv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		    size_t *done)
{
	if (f->kind == PF_CONSOLE) {
		*done = 0;
		if (f->read && f->pipe)
			return kpipe_read(f->pipe, iov, n, done);
		return f->read ? 0 : -WASI_EBADF; /* stdin is empty */
	}
	if (f->kind == PF_SOCKET)
		return kumo_plat_sock_recv(f, iov, n, 0, done, NULL, NULL);
	int rc = f->kind == PF_9P ? p9fs_io(f, iov, n, f->pos, false, done)
				  : node_io(f, iov, n, f->pos, false, done);
	if (rc == 0)
		f->pos += *done;
	return rc;
}

int kumo_plat_writev(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     size_t *done)
{
	if (f->kind == PF_CONSOLE)
		return console_write(f, iov, n, done);
	if (f->kind == PF_SOCKET)
		return kumo_plat_sock_send(f, iov, n, NULL, done);
	if (f->kind == PF_9P) {
		*done = 0;
		if (f->fdflags & WASI_FDFLAG_APPEND) {
			/* The host's size now: another writer may have appended. */
			int rc = p9fs_size(f, &f->pos);
			if (rc < 0)
				return rc;
		}
		int rc = p9fs_io(f, iov, n, f->pos, true, done);
		if (rc == 0)
			f->pos += *done;
		return rc;
	}
	if (f->fdflags & WASI_FDFLAG_APPEND)
		f->pos = f->node->size;
	int rc = node_io(f, iov, n, f->pos, true, done);
	if (rc == 0)
		f->pos += *done;
	return rc;
}

int kumo_plat_preadv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     uint64_t offset, size_t *done)
{
	if (f->kind == PF_9P)
		return p9fs_io(f, iov, n, offset, false, done);
	if (f->kind != PF_NODE)
		return -WASI_ESPIPE;
	return node_io(f, iov, n, offset, false, done);
}

int kumo_plat_pwritev(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		      uint64_t offset, size_t *done)
{
	if (f->kind == PF_9P)
		return p9fs_io(f, iov, n, offset, true, done);
	if (f->kind != PF_NODE)
		return -WASI_ESPIPE;
	return node_io(f, iov, n, offset, true, done);
}

int kumo_plat_seek(struct kumo_plat_file *f, int64_t offset, uint32_t whence, uint64_t *pos)
{
	if (f->kind != PF_NODE && f->kind != PF_9P)
		return -WASI_ESPIPE;
	int64_t base;
	uint64_t size = 0;
	switch (whence) {
	case WASI_WHENCE_SET: base = 0; break;
	case WASI_WHENCE_CUR: base = (int64_t)f->pos; break;
	case WASI_WHENCE_END:
		if (f->kind == PF_9P) {
			int rc = p9fs_size(f, &size);
			if (rc < 0)
				return rc;
		} else {
			size = f->node->size;
		}
		base = (int64_t)size;
		break;
	default: return -WASI_EINVAL;
	}
	int64_t p;
	if (__builtin_add_overflow(base, offset, &p) || p < 0)
		return -WASI_EINVAL;
	f->pos = (uint64_t)p;
	*pos = f->pos;
	return 0;
}

static void stat_of(struct rnode *n, struct kumo_plat_stat *st)
{
	st->dev = 1;
	st->ino = n->ino;
	st->filetype = n->type;
	st->nlink = n->nlink;
	st->size = n->type == WASI_FILETYPE_DIRECTORY ? 4096 : n->size;
	st->atim = n->atim;
	st->mtim = n->mtim;
	st->ctim = n->ctim;
}

int kumo_plat_fstat(struct kumo_plat_file *f, struct kumo_plat_stat *st)
{
	if (f->kind == PF_CONSOLE) {
		memset(st, 0, sizeof(*st));
		st->filetype = WASI_FILETYPE_CHARACTER_DEVICE;
		st->ino = (uint64_t)f->stdio_n + 1;
		st->nlink = 1;
		return 0;
	}
	if (f->kind == PF_SOCKET) {
		memset(st, 0, sizeof(*st));
		st->dev = 2;
		st->ino = (uint64_t)(uintptr_t)f->sock;
		st->filetype = ksock_filetype(f->sock);
		st->nlink = 1;
		return 0;
	}
	if (f->kind == PF_9P)
		return p9fs_fstat(f, st);
	stat_of(f->node, st);
	return 0;
}

int kumo_plat_statat(struct kumo_plat_file *dirf, const char *name, struct kumo_plat_stat *st)
{
	struct rnode *d, *n;
	if (dirf && dirf->kind == PF_9P)
		return p9fs_statat(dirf, name, st);
	int rc = dir_of(dirf, &d);
	if (rc < 0)
		return rc;
	if (!(n = child(d, name)))
		return -WASI_ENOENT;
	if (n->mount)
		return p9fs_stat_mount(n->mount, st);
	stat_of(n, st);
	return 0;
}

int kumo_plat_get_flags(struct kumo_plat_file *f, uint32_t *fdflags)
{
	*fdflags = f->kind == PF_CONSOLE ? 0 : f->fdflags;
	return 0;
}

int kumo_plat_set_flags(struct kumo_plat_file *f, uint32_t fdflags)
{
	if (f->kind == PF_CONSOLE)
		return 0;
	f->fdflags = (f->fdflags & ~(WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK)) |
		     (fdflags & (WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK));
	return 0;
}

int kumo_plat_truncate(struct kumo_plat_file *f, uint64_t size)
{
	if (f->kind == PF_9P)
		return p9fs_truncate(f, size);
	if (f->kind != PF_NODE)
		return -WASI_EINVAL;
	if (f->node->type == WASI_FILETYPE_DIRECTORY)
		return -WASI_EISDIR;
	if (!f->write)
		return -WASI_EBADF;
	return set_size(f->node, size);
}

int kumo_plat_allocate(struct kumo_plat_file *f, uint64_t offset, uint64_t len)
{
	if (f->kind == PF_9P)
		return p9fs_allocate(f, offset, len);
	if (f->kind != PF_NODE)
		return -WASI_ESPIPE;
	if (f->node->type == WASI_FILETYPE_DIRECTORY)
		return -WASI_EISDIR;
	if (!f->write)
		return -WASI_EBADF;
	if (offset + len < offset)
		return -WASI_EFBIG;
	return offset + len > f->node->size ? set_size(f->node, offset + len) : 0;
}

int kumo_plat_advise(struct kumo_plat_file *f, uint64_t offset, uint64_t len, uint32_t advice)
{
	if (f->kind == PF_9P)
		return p9fs_filetype(f) == WASI_FILETYPE_DIRECTORY ? -WASI_EISDIR : 0;
	if (f->kind != PF_NODE)
		return -WASI_ESPIPE;
	return f->node->type == WASI_FILETYPE_DIRECTORY ? -WASI_EISDIR : 0;
}

int kumo_plat_sync(struct kumo_plat_file *f, bool data_only)
{
	if (f->kind == PF_9P)
		return p9fs_sync(f, data_only);
	return 0; /* memory is the storage */
}

static void apply_times(struct rnode *n, uint64_t atim, uint64_t mtim, uint32_t fl)
{
	uint64_t t = now();
	if (fl & WASI_FSTFLAG_ATIM)
		n->atim = atim;
	else if (fl & WASI_FSTFLAG_ATIM_NOW)
		n->atim = t;
	if (fl & WASI_FSTFLAG_MTIM)
		n->mtim = mtim;
	else if (fl & WASI_FSTFLAG_MTIM_NOW)
		n->mtim = t;
	n->ctim = t;
}

int kumo_plat_set_times(struct kumo_plat_file *f, uint64_t atim, uint64_t mtim, uint32_t fstflags)
{
	if (f->kind == PF_9P)
		return p9fs_set_times(f, atim, mtim, fstflags);
	if (f->kind != PF_NODE)
		return 0;
	if (f->node->file_mount == FILE_MOUNT_RO)
		return -WASI_EROFS;
	apply_times(f->node, atim, mtim, fstflags);
	return 0;
}

int kumo_plat_set_times_at(struct kumo_plat_file *dirf, const char *name, uint64_t atim,
			   uint64_t mtim, uint32_t fstflags)
{
	struct rnode *d, *n;
	if (dirf && dirf->kind == PF_9P)
		return p9fs_set_times_at(dirf, name, atim, mtim, fstflags);
	int rc = dir_of(dirf, &d);
	if (rc < 0)
		return rc;
	if (!(n = child(d, name)))
		return -WASI_ENOENT;
	if (n->mount)
		return p9fs_set_times_mount(n->mount, atim, mtim, fstflags);
	if (n->file_mount == FILE_MOUNT_RO)
		return -WASI_EROFS;
	apply_times(n, atim, mtim, fstflags);
	return 0;
}

int kumo_plat_readdir(struct kumo_plat_file *dirf, uint64_t cookie, kumo_plat_dirent_fn emit,
		      void *ctx)
{
	struct rnode *d;
	if (dirf && dirf->kind == PF_9P)
		return p9fs_readdir(dirf, cookie, emit, ctx);
	int rc = dir_of(dirf, &d);
	if (rc < 0)
		return rc;
	/* Cookies: 0 ".", 1 "..", 2 + i the i-th entry in creation order. */
	uint64_t idx = 0;
	if (cookie <= 0 && emit(ctx, 1, d->ino, WASI_FILETYPE_DIRECTORY, ".", 1))
		return 0;
	if (cookie <= 1 && emit(ctx, 2, d->parent ? d->parent->ino : d->ino, WASI_FILETYPE_DIRECTORY, "..", 2))
		return 0;
	for (struct rdirent *e = d->children; e; e = e->next, idx++) {
		if (idx + 2 < cookie)
			continue;
		if (emit(ctx, idx + 3, e->node->ino, e->node->type, e->name, strlen(e->name)))
			return 0;
	}
	d->atim = now();
	return 0;
}

int kumo_plat_mkdirat(struct kumo_plat_file *dirf, const char *name)
{
	struct rnode *d;
	if (dirf && dirf->kind == PF_9P)
		return p9fs_mkdirat(dirf, name);
	int rc = dir_of(dirf, &d);
	if (rc < 0)
		return rc;
	if (child(d, name))
		return -WASI_EEXIST;
	struct rnode *n = node_new(WASI_FILETYPE_DIRECTORY, now());
	if (!n)
		return -WASI_ENOSPC;
	if ((rc = add_entry(d, name, n)) < 0)
		free(n);
	return rc;
}

int kumo_plat_unlinkat(struct kumo_plat_file *dirf, const char *name, bool is_dir)
{
	struct rnode *d;
	if (dirf && dirf->kind == PF_9P)
		return p9fs_unlinkat(dirf, name, is_dir);
	int rc = dir_of(dirf, &d);
	if (rc < 0)
		return rc;
	if (strcmp(name, ".") == 0)
		return is_dir ? -WASI_EINVAL : -WASI_EISDIR;
	struct rdirent **pp;
	struct rdirent *e = lookup(d, name, &pp);
	if (!e)
		return -WASI_ENOENT;
	if (e->node->mount)
		return -WASI_EBUSY; /* a host share is mounted there */
	if (is_dir) {
		if (e->node->type != WASI_FILETYPE_DIRECTORY)
			return -WASI_ENOTDIR;
		if (e->node->children)
			return -WASI_ENOTEMPTY;
	} else if (e->node->type == WASI_FILETYPE_DIRECTORY) {
		return -WASI_EISDIR;
	} else if (e->node->file_mount) {
		return -WASI_EBUSY;
	}
	remove_entry(d, pp);
	return 0;
}

/* Whether a is d or one of its ancestors. */
static bool is_ancestor(struct rnode *a, struct rnode *d)
{
	for (;;) {
		if (d == a)
			return true;
		if (d == root || !d->parent || d->parent == d)
			return false;
		d = d->parent;
	}
}

int kumo_plat_renameat(struct kumo_plat_file *odirf, const char *oname,
		       struct kumo_plat_file *ndirf, const char *nname)
{
	struct rnode *od, *nd;
	int rc;
	if (odirf && ndirf && odirf->kind == PF_9P && ndirf->kind == PF_9P)
		return p9fs_renameat(odirf, oname, ndirf, nname);
	if ((odirf && odirf->kind == PF_9P) || (ndirf && ndirf->kind == PF_9P))
		return -WASI_EXDEV;
	if ((rc = dir_of(odirf, &od)) < 0 || (rc = dir_of(ndirf, &nd)) < 0)
		return rc;
	if (strcmp(oname, ".") == 0 || strcmp(nname, ".") == 0)
		return -WASI_EBUSY;
	struct rdirent **opp, **npp;
	struct rdirent *src = lookup(od, oname, &opp);
	if (!src)
		return -WASI_ENOENT;
	struct rnode *n = src->node;
	struct rdirent *dst = lookup(nd, nname, &npp);
	if (n->mount || (dst && dst->node->mount))
		return -WASI_EBUSY; /* a host share is mounted there */
	if (dst && dst->node == n)
		return 0;
	if (n->file_mount || (dst && dst->node->file_mount))
		return -WASI_EBUSY;
	if (n->type == WASI_FILETYPE_DIRECTORY && is_ancestor(n, nd))
		return -WASI_EINVAL;
	if (dst) {
		if (n->type == WASI_FILETYPE_DIRECTORY) {
			if (dst->node->type != WASI_FILETYPE_DIRECTORY)
				return -WASI_ENOTDIR;
			if (dst->node->children)
				return -WASI_ENOTEMPTY;
		} else if (dst->node->type == WASI_FILETYPE_DIRECTORY) {
			return -WASI_EISDIR;
		}
	}
	char *newname = malloc(strlen(nname) + 1);
	if (!newname)
		return -WASI_ENOSPC;
	strcpy(newname, nname);
	if (dst) {
		remove_entry(nd, npp);
		/* The source entry may have moved in the list if od == nd. */
		src = lookup(od, oname, &opp);
	}
	/* Unlink the entry from the old directory and append it to the new one. */
	*opp = src->next;
	src->next = NULL;
	free(src->name);
	src->name = newname;
	struct rdirent **tail = &nd->children;
	while (*tail)
		tail = &(*tail)->next;
	*tail = src;
	if (n->type == WASI_FILETYPE_DIRECTORY && od != nd) {
		od->nlink--;
		nd->nlink++;
		n->parent = nd;
	}
	uint64_t t = now();
	od->mtim = od->ctim = nd->mtim = nd->ctim = n->ctim = t;
	return 0;
}

int kumo_plat_linkat(struct kumo_plat_file *odirf, const char *oname,
		     struct kumo_plat_file *ndirf, const char *nname)
{
	struct rnode *od, *nd, *n;
	int rc;
	if (odirf && ndirf && odirf->kind == PF_9P && ndirf->kind == PF_9P)
		return p9fs_linkat(odirf, oname, ndirf, nname);
	if ((odirf && odirf->kind == PF_9P) || (ndirf && ndirf->kind == PF_9P))
		return -WASI_EXDEV;
	if ((rc = dir_of(odirf, &od)) < 0 || (rc = dir_of(ndirf, &nd)) < 0)
		return rc;
	if (!(n = child(od, oname)))
		return -WASI_ENOENT;
	if (n->mount)
		return -WASI_EXDEV;
	if (n->type == WASI_FILETYPE_DIRECTORY)
		return -WASI_EPERM;
	if (child(nd, nname))
		return -WASI_EEXIST;
	if ((rc = add_entry(nd, nname, n)) == 0)
		n->ctim = now();
	return rc;
}

int kumo_plat_symlinkat(const char *target, struct kumo_plat_file *dirf, const char *name)
{
	struct rnode *d;
	if (dirf && dirf->kind == PF_9P)
		return p9fs_symlinkat(target, dirf, name);
	int rc = dir_of(dirf, &d);
	if (rc < 0)
		return rc;
	if (child(d, name))
		return -WASI_EEXIST;
	struct rnode *n = node_new(WASI_FILETYPE_SYMBOLIC_LINK, now());
	size_t len = strlen(target);
	if (!n || !(n->data = malloc(len + 1))) {
		free(n);
		return -WASI_ENOSPC;
	}
	memcpy(n->data, target, len + 1);
	n->size = len;
	n->cap = len + 1;
	if ((rc = add_entry(d, name, n)) < 0) {
		free(n->data);
		free(n);
	}
	return rc;
}

int kumo_plat_readlinkat(struct kumo_plat_file *dirf, const char *name, char *buf, size_t cap,
			 size_t *len)
{
	struct rnode *d, *n;
	if (dirf && dirf->kind == PF_9P)
		return p9fs_readlinkat(dirf, name, buf, cap, len);
	int rc = dir_of(dirf, &d);
	if (rc < 0)
		return rc;
	if (!(n = child(d, name)))
		return -WASI_ENOENT;
	if (n->type != WASI_FILETYPE_SYMBOLIC_LINK)
		return -WASI_EINVAL;
	memcpy(buf, n->data, n->size < cap ? n->size : cap);
	*len = n->size;
	return 0;
}

struct kumo_plat_file *ramfs_socket_file(struct ksock *s, uint32_t fdflags)
{
	struct kumo_plat_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->kind = PF_SOCKET;
	f->sock = s;
	f->read = f->write = true;
	f->fdflags = fdflags;
	return f;
}

struct ksock *ramfs_file_socket(struct kumo_plat_file *f)
{
	return f->kind == PF_SOCKET ? f->sock : NULL;
}

/* Files, an empty stdin (at end of file) and the console are always ready; a read's
 * nbytes is what is left of the file. A pod container's stdin pipe is ready when it
 * holds bytes or was closed. */
static void file_ready(struct kumo_plat_pollfd *p)
{
	struct kumo_plat_file *f = p->f;
	p->ready = true;
	p->hangup = false;
	p->error = 0;
	p->nbytes = 0;
	if (p->write)
		return;
	if (f->kind == PF_CONSOLE && f->pipe) {
		kpipe_poll(f->pipe, &p->ready, &p->hangup, &p->nbytes);
		return;
	}
	uint64_t size = 0;
	if (f->kind == PF_NODE && f->node->type != WASI_FILETYPE_DIRECTORY)
		size = f->node->size;
	else if (f->kind == PF_9P && p9fs_filetype(f) != WASI_FILETYPE_DIRECTORY &&
		 p9fs_size(f, &size) < 0)
		size = 0;
	p->nbytes = size > f->pos ? size - f->pos : 0;
}

/* A poll with sockets in it: process the NIC, check, sleep in hlt until something
 * arrives or the timeout passes. */
static int poll_sockets(struct kumo_plat_pollfd *fds, size_t n, int64_t timeout_ns)
{
	uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : clock_monotonic_ns() + (uint64_t)timeout_ns;
	for (;;) {
		net_poll();
		int ready = 0;
		for (size_t i = 0; i < n; i++) {
			struct kumo_plat_file *f = fds[i].f;
			if (f->kind == PF_SOCKET)
				ksock_poll_state(f->sock, &fds[i]);
			else
				file_ready(&fds[i]);
			ready += fds[i].ready;
		}
		if (ready || clock_monotonic_ns() >= deadline)
			return 0;
		net_wait(deadline);
	}
}

int kumo_plat_poll(struct kumo_plat_pollfd *fds, size_t n, int64_t timeout_ns)
{
	/* Sockets and a stdin pipe may not be ready: wait for them (a STDIN kicks). */
	for (size_t i = 0; i < n; i++)
		if (fds[i].f->kind == PF_SOCKET ||
		    (fds[i].f->kind == PF_CONSOLE && fds[i].f->pipe && !fds[i].write))
			return poll_sockets(fds, n, timeout_ns);
	/* Files, an empty stdin (at end of file) and the console are always ready: only a
	 * poll on nothing waits, and then it sleeps for real. */
	for (size_t i = 0; i < n; i++)
		file_ready(&fds[i]);
	if (n == 0 && timeout_ns > 0)
		clock_sleep_ns((uint64_t)timeout_ns);
	return 0;
}
