/* vmm/stage.c - a pod's staging directory: container mounts bound as entries of its
 * read-only or writable share, unmounted before an entry goes (vmm_stage_*). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/vmm.h"

/* What every entry is on the host: its own mount tree (no propagation to or from the
 * source), nothing executable, no device nodes, no set-uid through it; read-only ones
 * read-only down to their submounts. */
#define STAGE_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

static bool entry_name_ok(const char *e)
{
	return e && *e && !strchr(e, '/') && strcmp(e, ".") != 0 && strcmp(e, "..") != 0 &&
	       strlen(e) <= 255;
}

/* Unmounts whatever is mounted at path (a leftover may be stacked), then removes the
 * mount point. An entry that is still a mount point is never removed: rmdir and unlink
 * of a mount point fail (EBUSY), so what was bound there is never touched. */
static int unbind_one(const char *path, kumo_error_t *err)
{
	int e = 0;
	for (int i = 0; i < 16 && !e; i++)
		e = umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? errno : 0;
	if (e != EINVAL && e != ENOENT)
		return kumo_error(err, KUMO_E_INTERNAL, "unmount staged entry `%s`: %s", path,
				  e ? strerror(e) : "still mounted after 16 unmounts");
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : kumo_error(err, KUMO_E_INTERNAL, "staged entry `%s`: %s",
							 path, strerror(errno));
	if ((S_ISDIR(sb.st_mode) ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		return kumo_error(err, KUMO_E_INTERNAL, "remove staged entry `%s`: %s", path,
				  strerror(errno));
	return 0;
}

/* The mount point for source at path: an empty directory or an empty file. */
static int make_mount_point(const char *path, bool is_dir, kumo_error_t *err)
{
	if (is_dir) {
		if (mkdir(path, 0755) < 0)
			return kumo_error(err, KUMO_E_INTERNAL, "staged entry `%s`: %s", path,
					  strerror(errno));
		return 0;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return kumo_error(err, KUMO_E_INTERNAL, "staged entry `%s`: %s", path, strerror(errno));
	close(fd);
	return 0;
}

/* The entry's attributes, recursively; kernels before mount_setattr (5.12) get them on
 * the top mount only. */
static int set_attrs(const char *path, bool readonly, kumo_error_t *err)
{
	struct mount_attr attr = {
		.attr_set = STAGE_ATTRS | (readonly ? MOUNT_ATTR_RDONLY : 0),
		.propagation = MS_PRIVATE,
	};
	if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr,
			  sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return kumo_error(err, KUMO_E_INTERNAL, "set the attributes of staged entry `%s`: %s",
				  path, strerror(errno));
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC |
			   (readonly ? MS_RDONLY : 0);
	if (mount(NULL, path, NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(NULL, path, NULL, fl, NULL) < 0)
		return kumo_error(err, KUMO_E_INTERNAL, "remount staged entry `%s`: %s", path,
				  strerror(errno));
	return 0;
}

int vmm_stage_bind(const char *dir, const char *entry, const char *source, bool readonly,
		   kumo_error_t *err)
{
	if (!entry_name_ok(entry))
		return kumo_error(err, KUMO_E_INVALID, "staged entry `%s` is not one name",
				  entry ? entry : "");
	struct stat sb;
	if (stat(source, &sb) < 0)
		return kumo_error(err, KUMO_E_NOT_FOUND, "host path `%s`: %s", source, strerror(errno));
	if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "host path `%s` is neither a directory nor a regular file", source);
	autofree char *side = vmm_stage_side(dir, readonly);
	autofree char *path = xasprintf("%s/%s", side, entry);
	if (kumo_mkdir_p(side, 0700, err) < 0 || unbind_one(path, err) < 0 ||
	    make_mount_point(path, S_ISDIR(sb.st_mode), err) < 0)
		return -1;
	/* Recursive: what is mounted under the source (a tmpfs in a hostPath) comes along,
	 * as with runc's rbind. */
	if (mount(source, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		int e = errno;
		unbind_one(path, NULL);
		return kumo_error(err, e == EPERM ? KUMO_E_PRECONDITION : KUMO_E_INTERNAL,
				  "bind `%s` at `%s`: %s%s", source, path, strerror(e),
				  e == EPERM ? " (kumod needs CAP_SYS_ADMIN to share volumes)" : "");
	}
	if (set_attrs(path, readonly, err) < 0) {
		unbind_one(path, NULL);
		return -1;
	}
	return 0;
}

/* Calls fn on every entry of <dir>/ro and <dir>/rw (the side's path and the name). */
static int each_entry(const char *dir,
		      int (*fn)(const char *path, const char *name, void *ctx), void *ctx)
{
	int ret = 0;
	for (int s = 0; s < 2; s++) {
		autofree char *side = vmm_stage_side(dir, s == 0);
		DIR *d = opendir(side);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			autofree char *path = xasprintf("%s/%s", side, e->d_name);
			if (fn(path, e->d_name, ctx) < 0)
				ret = -1;
		}
		closedir(d);
	}
	return ret;
}

struct unbind_ctx {
	const char *prefix;
	bool (*keep)(const char *entry, void *ctx);
	void *keep_ctx;
	int count;
	kumo_error_t *err;
};

static int unbind_matching(const char *path, const char *name, void *ctx)
{
	struct unbind_ctx *u = ctx;
	if (u->prefix && strncmp(name, u->prefix, strlen(u->prefix)) != 0)
		return 0;
	if (u->keep && u->keep(name, u->keep_ctx))
		return 0;
	kumo_error_t e = NULL;
	if (unbind_one(path, &e) < 0) {
		if (u->err && !*u->err)
			*u->err = e;
		else
			kumo_error_free(&e);
		return -1;
	}
	u->count++;
	return 0;
}

int vmm_stage_unbind(const char *dir, const char *prefix, kumo_error_t *err)
{
	struct unbind_ctx u = {.prefix = prefix ? prefix : "", .err = err};
	if (each_entry(dir, unbind_matching, &u) < 0)
		return -1;
	return u.count;
}

int vmm_stage_sweep(const char *dir, bool (*keep)(const char *entry, void *ctx), void *ctx,
		    kumo_error_t *err)
{
	struct unbind_ctx u = {.keep = keep, .keep_ctx = ctx, .err = err};
	if (each_entry(dir, unbind_matching, &u) < 0)
		return -1;
	return u.count;
}

void vmm_stage_remove(const char *dir)
{
	autofree char *ro = vmm_stage_side(dir, true);
	autofree char *rw = vmm_stage_side(dir, false);
	/* rmdir only: a directory with an entry left stays, and so does what it holds. */
	rmdir(ro);
	rmdir(rw);
	rmdir(dir);
}

char *vmm_stage_side(const char *dir, bool readonly)
{
	return xasprintf("%s/%s", dir, readonly ? "ro" : "rw");
}

int vmm_stage_open(const char *dir, kumo_error_t *err)
{
	autofree char *ro = vmm_stage_side(dir, true);
	autofree char *rw = vmm_stage_side(dir, false);
	return kumo_mkdir_p(ro, 0700, err) < 0 || kumo_mkdir_p(rw, 0700, err) < 0 ? -1 : 0;
}
