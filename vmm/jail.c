/* vmm/jail.c - what confines QEMU below the hypervisor boundary: its unprivileged user
 * and a cgroup per VM with memory and pids limits (vmm.h "The jail around QEMU"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>

#include "vmm_backend.h"

static bool is_fs(const char *path, long magic)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

/* VM cgroups a QEMU left without anyone removing them (the process that started it was
 * killed, then the QEMU too) are empty: rmdir them. Only groups older than a minute, so
 * one another process made a moment ago for a QEMU about to join is left alone; one
 * with a task in it refuses (EBUSY). */
static void sweep_empty(const struct vmm_jail *j)
{
	const char *controllers[2] = {"memory", "pids"};
	time_t now = time(NULL);
	for (int i = 0; i < (j->cgroup_version == 2 ? 1 : 2); i++) {
		autofree char *parent = j->cgroup_version == 2
						? xasprintf("%s/" VMM_JAIL_CGROUP_PARENT, j->cgroup_root)
						: xasprintf("%s/%s/" VMM_JAIL_CGROUP_PARENT, j->cgroup_root,
							    controllers[i]);
		DIR *d = opendir(parent);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' || e->d_type != DT_DIR)
				continue;
			autofree char *dir = xasprintf("%s/%s", parent, e->d_name);
			struct stat st;
			if (stat(dir, &st) == 0 && now - st.st_ctime > 60 && rmdir(dir) == 0)
				log_debug("vmm: removed the empty cgroup `%s`", dir);
		}
		closedir(d);
	}
}

static struct {
	bool off;
	char user[64];
	unsigned overhead_mib;
} defaults;

void vmm_jail_set_defaults(bool off, const char *user, unsigned overhead_mib)
{
	defaults.off = off;
	snprintf(defaults.user, sizeof(defaults.user), "%s", user ? user : "");
	defaults.overhead_mib = overhead_mib;
}

int vmm_jail_init(const struct vmm_config *cfg, struct vmm_jail *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	out->kvm_gid = (gid_t)-1;
	const char *env = getenv("KUMO_VM_JAIL");
	if (cfg->jail_off || defaults.off || geteuid() != 0 || (env && strcmp(env, "off") == 0))
		return 0;
	const char *user = cfg->jail_user ? cfg->jail_user
			   : *defaults.user ? defaults.user : VMM_JAIL_USER;
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	int rc = getpwnam_r(user, &pw, buf, sizeof(buf), &pwp);
	if (rc != 0 || !pwp)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "qemu's user `%s` does not exist: create it (deploy/install-deps.sh "
				  "does: useradd --system --no-create-home --shell /usr/sbin/nologin "
				  "--groups kvm %s), or turn the jail off (kumo.json \"jail\": false)",
				  user, user);
	if (pw.pw_uid == 0)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "qemu's user `%s` is root: the jail needs an unprivileged user", user);
	snprintf(out->user, sizeof(out->user), "%s", user);
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	struct group gr, *grp = NULL;
	if (getgrnam_r("kvm", &gr, buf, sizeof(buf), &grp) == 0 && grp)
		out->kvm_gid = gr.gr_gid;
	const char *root = cfg->cgroup_root ? cfg->cgroup_root : VMM_JAIL_CGROUP_ROOT;
	snprintf(out->cgroup_root, sizeof(out->cgroup_root), "%s", root);
	autofree char *mem = xasprintf("%s/memory", root);
	autofree char *pids = xasprintf("%s/pids", root);
	if (is_fs(root, CGROUP2_SUPER_MAGIC))
		out->cgroup_version = 2;
	else if (is_fs(mem, CGROUP_SUPER_MAGIC) && is_fs(pids, CGROUP_SUPER_MAGIC))
		out->cgroup_version = 1;
	else
		return kumo_error(err, KUMO_E_UNAVAILABLE,
				  "no cgroup for qemu: `%s` is neither a cgroup v2 mount nor holds "
				  "the cgroup v1 `memory` and `pids` hierarchies; mount them, or turn "
				  "the jail off (kumo.json \"jail\": false)", root);
	out->overhead_mib = cfg->jail_memory_overhead_mib ? cfg->jail_memory_overhead_mib
			    : defaults.overhead_mib ? defaults.overhead_mib
						    : VMM_JAIL_MEMORY_OVERHEAD_MIB;
	out->on = true;
	sweep_empty(out);
	return 0;
}

uint64_t vmm_jail_memory_limit(const struct vmm_jail *j, const struct vmm_spec *spec)
{
	unsigned over = j->overhead_mib ? j->overhead_mib : VMM_JAIL_MEMORY_OVERHEAD_MIB;
	return ((uint64_t)spec->memory_mib + over) << 20;
}

unsigned vmm_jail_pids_limit(const struct vmm_spec *spec)
{
	return VMM_JAIL_PIDS_BASE + 2 * (spec->vcpus ? spec->vcpus : 1);
}

char *vmm_jail_cgroup_dir(const struct vmm_jail *j, const char *controller, const char *name)
{
	if (j->cgroup_version == 2)
		return xasprintf("%s/" VMM_JAIL_CGROUP_PARENT "/%s", j->cgroup_root, name);
	return xasprintf("%s/%s/" VMM_JAIL_CGROUP_PARENT "/%s", j->cgroup_root, controller, name);
}

static int write_text(const char *dir, const char *file, const char *text, kumo_error_t *err)
{
	autofree char *p = xasprintf("%s/%s", dir, file);
	autoclose int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "cgroup: open `%s`", p);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		return kumo_error_errno(err, errno, "cgroup: write `%s` to `%s`", text, p);
	return 0;
}

/* v2: the parents must hand memory and pids down to the VM's directory. */
static int v2_enable(const struct vmm_jail *j, kumo_error_t *err)
{
	autofree char *parent = xasprintf("%s/" VMM_JAIL_CGROUP_PARENT, j->cgroup_root);
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return kumo_error_errno(err, errno, "cgroup: create `%s`", parent);
	if (write_text(j->cgroup_root, "cgroup.subtree_control", "+memory +pids", err) < 0 ||
	    write_text(parent, "cgroup.subtree_control", "+memory +pids", err) < 0)
		return -1;
	return 0;
}

/* Makes dir (and its parent, kumo/) and returns an open cgroup.procs in *fd. */
static int make_group(const char *dir, int *fd, kumo_error_t *err)
{
	autofree char *parent = xstrdup(dir);
	*strrchr(parent, '/') = 0;
	if ((mkdir(parent, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0755) < 0 && errno != EEXIST))
		return kumo_error_errno(err, errno, "cgroup: create `%s`", dir);
	autofree char *procs = xasprintf("%s/cgroup.procs", dir);
	*fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (*fd < 0)
		return kumo_error_errno(err, errno, "cgroup: open `%s`", procs);
	return 0;
}

int vmm_jail_cgroup_create(const struct vmm_jail *j, const struct vmm_spec *spec, bool memory,
			   int procs[2], size_t *nprocs, kumo_error_t *err)
{
	*nprocs = 0;
	procs[0] = procs[1] = -1;
	autofree char *mem_limit = xasprintf("%llu",
					     (unsigned long long)vmm_jail_memory_limit(j, spec));
	autofree char *pids_limit = xasprintf("%u", vmm_jail_pids_limit(spec));
	autofree char *mdir = vmm_jail_cgroup_dir(j, "memory", spec->name);
	autofree char *pdir = vmm_jail_cgroup_dir(j, "pids", spec->name);
	if (j->cgroup_version == 2) {
		if (v2_enable(j, err) < 0 || make_group(mdir, &procs[0], err) < 0 ||
		    (memory && write_text(mdir, "memory.max", mem_limit, err) < 0) ||
		    write_text(mdir, "pids.max", pids_limit, err) < 0)
			goto fail;
		*nprocs = 1;
		return 0;
	}
	size_t n = 0;
	if (memory) {
		if (make_group(mdir, &procs[n], err) < 0)
			goto fail;
		n++;
		if (write_text(mdir, "memory.limit_in_bytes", mem_limit, err) < 0)
			goto fail;
		/* A QEMU that joins after it started (libvirt's) brings its pages along. */
		kumo_error_t merr = NULL;
		write_text(mdir, "memory.move_charge_at_immigrate", "3", &merr);
		kumo_error_free(&merr);
	}
	if (make_group(pdir, &procs[n], err) < 0)
		goto fail;
	n++;
	if (write_text(pdir, "pids.max", pids_limit, err) < 0)
		goto fail;
	*nprocs = n;
	return 0;
fail:
	for (int i = 0; i < 2; i++)
		if (procs[i] >= 0) {
			close(procs[i]);
			procs[i] = -1;
		}
	kumo_error_wrap(err, "vm `%s`", spec->name);
	return -1;
}

int vmm_jail_cgroup_join(const struct vmm_jail *j, const char *name, bool memory, pid_t pid,
			 kumo_error_t *err)
{
	autofree char *text = xasprintf("%d", (int)pid);
	const char *controllers[2] = {memory ? "memory" : NULL, "pids"};
	for (int i = j->cgroup_version == 2 ? 1 : 0; i < 2; i++) {
		if (!controllers[i])
			continue;
		autofree char *dir = vmm_jail_cgroup_dir(j, controllers[i], name);
		if (write_text(dir, "cgroup.procs", text, err) < 0)
			return kumo_error_wrap(err, "vm `%s`: join pid %d", name, (int)pid);
	}
	return 0;
}

bool vmm_jail_oom_killed(const struct vmm_jail *j, const char *name)
{
	if (!j->on)
		return false;
	autofree char *dir = vmm_jail_cgroup_dir(j, "memory", name);
	autofree char *p = xasprintf("%s/%s", dir, j->cgroup_version == 2 ? "memory.events"
									   : "memory.oom_control");
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(p, 1 << 16, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return false;
	}
	const char *k = strstr((char *)buf, "oom_kill ");
	bool killed = k && strtoull(k + 9, NULL, 10) > 0;
	free(buf);
	return killed;
}

void vmm_jail_cgroup_remove(const struct vmm_jail *j, const char *name)
{
	if (!j->on)
		return;
	const char *controllers[2] = {"memory", "pids"};
	for (int i = 0; i < (j->cgroup_version == 2 ? 1 : 2); i++) {
		autofree char *dir = vmm_jail_cgroup_dir(j, controllers[i], name);
		/* QEMU's last threads may still be leaving the group for a moment. */
		for (int t = 0; t < 50 && rmdir(dir) < 0 && errno == EBUSY; t++)
			usleep(2000);
	}
}

int vmm_jail_hand_run_dir(const struct vmm_jail *j, const char *run_dir, kumo_error_t *err)
{
	if (!j->on)
		return 0;
	if (chown(run_dir, (uid_t)-1, j->gid) < 0 || chmod(run_dir, 0750) < 0)
		return kumo_error_errno(err, errno, "give `%s` to qemu's group `%s`", run_dir, j->user);
	static const char *const raw[3] = {VMM_RAW_EXIT, VMM_RAW_STDOUT, VMM_RAW_STDERR};
	for (int i = 0; i < 3; i++) {
		autofree char *p = xasprintf("%s/%s", run_dir, raw[i]);
		/* A stream console (vmm_spec.console_stream) has COM3's file only. */
		if (chown(p, j->uid, j->gid) < 0 && !(i > 0 && errno == ENOENT))
			return kumo_error_errno(err, errno, "give `%s` to qemu's user `%s`", p, j->user);
	}
	return 0;
}

/* POSIX ACL xattr layout (linux/posix_acl_xattr.h), kept here to need no libacl. */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_XATTR_VERSION 2
enum { ACL_TAG_USER_OBJ = 1, ACL_TAG_USER = 2, ACL_TAG_GROUP_OBJ = 4, ACL_TAG_GROUP = 8,
       ACL_TAG_MASK = 0x10, ACL_TAG_OTHER = 0x20 };
struct acl_entry {
	uint16_t tag;  /* ACL_TAG_* */
	uint16_t perm; /* rwx bits */
	uint32_t id;   /* uid or gid for USER and GROUP entries */
};

/* Whether the jail's user may search dir (owner, group or other class, no ACL read). */
static bool may_search(const struct vmm_jail *j, const struct stat *st)
{
	if (st->st_uid == j->uid)
		return st->st_mode & S_IXUSR;
	if (st->st_gid == j->gid || (j->kvm_gid != (gid_t)-1 && st->st_gid == j->kvm_gid))
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/* Adds user:<jail uid>:--x to dir's access ACL (merged into one it already has). */
static int grant_search(const struct vmm_jail *j, const char *dir, const struct stat *st,
			kumo_error_t *err)
{
	struct {
		uint32_t version;
		struct acl_entry e[32];
	} __attribute__((packed)) acl;
	ssize_t n = getxattr(dir, ACL_XATTR, &acl, sizeof(acl));
	size_t count;
	if (n >= 4 && acl.version == ACL_XATTR_VERSION) {
		count = ((size_t)n - 4) / sizeof(struct acl_entry);
		bool have_mask = false;
		for (size_t i = 0; i < count; i++) {
			if (acl.e[i].tag == ACL_TAG_USER && acl.e[i].id == j->uid) {
				acl.e[i].perm |= 1;
				have_mask = true; /* a named entry implies a mask entry */
			}
			if (acl.e[i].tag == ACL_TAG_MASK)
				acl.e[i].perm |= 1;
		}
		bool found = false;
		for (size_t i = 0; i < count; i++)
			found |= acl.e[i].tag == ACL_TAG_USER && acl.e[i].id == j->uid;
		if (!found) {
			if (count + 2 > 32)
				return kumo_error(err, KUMO_E_UNSUPPORTED, "`%s`: its ACL is too long", dir);
			acl.e[count++] = (struct acl_entry){ACL_TAG_USER, 1, j->uid};
			for (size_t i = 0; i < count; i++)
				have_mask |= acl.e[i].tag == ACL_TAG_MASK;
			if (!have_mask)
				acl.e[count++] = (struct acl_entry){ACL_TAG_MASK, 7, (uint32_t)-1};
		}
		/* The kernel wants entries sorted by tag, then id. */
		for (size_t a = 1; a < count; a++)
			for (size_t b = a; b > 0 && (acl.e[b - 1].tag > acl.e[b].tag ||
						     (acl.e[b - 1].tag == acl.e[b].tag &&
						      acl.e[b - 1].id > acl.e[b].id)); b--) {
				struct acl_entry t = acl.e[b];
				acl.e[b] = acl.e[b - 1];
				acl.e[b - 1] = t;
			}
	} else {
		unsigned m = st->st_mode;
		acl.version = ACL_XATTR_VERSION;
		acl.e[0] = (struct acl_entry){ACL_TAG_USER_OBJ, (uint16_t)(m >> 6 & 7), (uint32_t)-1};
		acl.e[1] = (struct acl_entry){ACL_TAG_USER, 1, j->uid};
		acl.e[2] = (struct acl_entry){ACL_TAG_GROUP_OBJ, (uint16_t)(m >> 3 & 7), (uint32_t)-1};
		acl.e[3] = (struct acl_entry){ACL_TAG_MASK, (uint16_t)((m >> 3 & 7) | 1), (uint32_t)-1};
		acl.e[4] = (struct acl_entry){ACL_TAG_OTHER, (uint16_t)(m & 7), (uint32_t)-1};
		count = 5;
	}
	if (setxattr(dir, ACL_XATTR, &acl, 4 + count * sizeof(struct acl_entry), 0) < 0)
		return kumo_error_errno(err, errno, "let qemu's user `%s` search `%s` (acl)", j->user,
					dir);
	return 0;
}

int vmm_jail_grant_path(const struct vmm_jail *j, const char *path, kumo_error_t *err)
{
	if (!j->on || !path || path[0] != '/')
		return 0;
	autofree char *p = xstrdup(path);
	/* Every directory above path, from the root down. */
	for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		struct stat st;
		if (stat(p, &st) < 0)
			return kumo_error_errno(err, errno, "stat `%s`", p);
		if (S_ISDIR(st.st_mode) && !may_search(j, &st) && grant_search(j, p, &st, err) < 0)
			return -1;
		*slash = '/';
	}
	return 0;
}

int vmm_jail_check_readable(const struct vmm_jail *j, const char *path, kumo_error_t *err)
{
	if (!j->on)
		return 0;
	struct stat st;
	if (stat(path, &st) < 0)
		return kumo_error_errno(err, errno, "`%s`", path);
	bool ok = st.st_uid == j->uid ? (st.st_mode & S_IRUSR)
		  : st.st_gid == j->gid || (j->kvm_gid != (gid_t)-1 && st.st_gid == j->kvm_gid)
			  ? (st.st_mode & S_IRGRP)
			  : (st.st_mode & S_IROTH);
	if (!ok)
		return kumo_error(err, KUMO_E_PERMISSION,
				  "qemu's user `%s` cannot read `%s` (mode %04o, owner %d:%d): make it "
				  "readable, or turn the jail off (kumo.json \"jail\": false)",
				  j->user, path, (unsigned)(st.st_mode & 07777), (int)st.st_uid,
				  (int)st.st_gid);
	return 0;
}
