/* vmm/netns.c - per-pod network namespaces made, entered and removed from C, pinned
 * by bind mounts the way iproute2's `ip netns` pins them (no `ip` process). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "podnet.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Serialises making a directory a shared mount point, so two first pods do not bind
 * it twice. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* Makes dir a mount point with shared propagation (iproute2 ip/ipnetns.c does the
 * same for /run/netns): a namespace pin unmounted here is then unmounted in every
 * mount namespace that copied it, instead of keeping the namespace alive there. */
static int make_shared(const char *dir, kumo_error_t *err)
{
	pthread_mutex_lock(&shared_lock);
	int rc = 0;
	if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0)
		goto out;
	if (errno != EINVAL) {
		rc = kumo_error_errno(err, errno, "make `%s` a shared mount", dir);
		goto out;
	}
	if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0 ||
	    mount("", dir, "none", MS_SHARED | MS_REC, NULL) < 0)
		rc = kumo_error_errno(err, errno, "make `%s` a shared mount point", dir);
out:
	pthread_mutex_unlock(&shared_lock);
	return rc;
}

struct create_job {
	const char *path; /* the pin */
	int errnum;       /* errno of the failed step, 0 when done */
	const char *step; /* which step failed */
};

/* A thread of its own unshares, so the caller's thread keeps its namespace; the new
 * namespace lives on through the bind mount after the thread ends. */
static void *create_thread(void *arg)
{
	struct create_job *j = arg;
	if (unshare(CLONE_NEWNET) < 0) {
		j->errnum = errno;
		j->step = "unshare(CLONE_NEWNET)";
	} else if (mount("/proc/thread-self/ns/net", j->path, "none", MS_BIND, NULL) < 0) {
		j->errnum = errno;
		j->step = "bind-mount the namespace";
	}
	return NULL;
}

int vmm_netns_create(const char *dir, const char *name, char **path, kumo_error_t *err)
{
	if (kumo_mkdir_p(dir, 0755, err) < 0 || make_shared(dir, err) < 0)
		return kumo_error_wrap(err, "network namespace `%s`", name);
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		kumo_error_errno(err, errno, "network namespace `%s`: create `%s`", name, p);
		free(p);
		return -1;
	}
	close(fd);
	struct create_job j = {.path = p};
	pthread_t t;
	if (pthread_create(&t, NULL, create_thread, &j) != 0) {
		j.errnum = EAGAIN;
		j.step = "start a thread";
	} else {
		pthread_join(t, NULL);
	}
	if (j.errnum) {
		unlink(p);
		kumo_error_errno(err, j.errnum, "network namespace `%s`: %s", p, j.step);
		free(p);
		return -1;
	}
	*path = p;
	return 0;
}

bool vmm_netns_pinned(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (unsigned long)st.f_type == NSFS_MAGIC;
}

int vmm_netns_remove(const char *path, kumo_error_t *err)
{
	/* Detach: a process still inside keeps the namespace, not the pin. */
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return kumo_error_errno(err, errno, "unmount network namespace `%s`", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return kumo_error_errno(err, errno, "remove network namespace `%s`", path);
	return 0;
}

struct run_job {
	const char *path;  /* namespace to join */
	vmm_netns_fn fn;   /* what to run there */
	void *arg;
	int rc;            /* fn's value */
	kumo_error_t err;  /* fn's error */
};

static void *run_thread(void *arg)
{
	struct run_job *j = arg;
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		j->rc = kumo_error_errno(&j->err, errno, "open network namespace `%s`", j->path);
		return NULL;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		j->rc = kumo_error_errno(&j->err, errno, "enter network namespace `%s`", j->path);
		close(fd);
		return NULL;
	}
	close(fd);
	j->rc = j->fn(j->arg, &j->err);
	return NULL;
}

int vmm_netns_run(const char *path, vmm_netns_fn fn, void *arg, kumo_error_t *err)
{
	if (!path)
		return fn(arg, err);
	struct run_job j = {.path = path, .fn = fn, .arg = arg};
	pthread_t t;
	if (pthread_create(&t, NULL, run_thread, &j) != 0)
		return kumo_error(err, KUMO_E_INTERNAL, "network namespace `%s`: cannot start a thread",
				  path);
	pthread_join(t, NULL);
	if (j.rc < 0) {
		if (err && !*err)
			*err = j.err;
		else
			kumo_error_free(&j.err);
	}
	return j.rc;
}
