/* kernel/os/app_run.c - the one app of a kumo-run VM (a module linked into the image, or an object linked at boot): rootfs, WASI state from the boot config, instantiate, run `_start`, report how it ended. */
#include <stdio.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/kernel.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9fs.h"
#include "kernel/os/ramfs.h"
#include "kernel/rt/rt.h"
#include "kernel/wasi/wasi.h"

/* A share mounted or preopened at "/": preopens of "/" open it (the rootfs' root
 * itself cannot be a mount point). */
static struct p9mount *root_share;

/* Attaches every host share of the boot config (preopens with a "share", then
 * "mounts") and mounts each into the tree; a share that is not there is a boot error. */
/* Path depth (slashes), so a share is mounted before the shares inside it. */
static int depth_of(const char *p)
{
	int d = 0;
	for (; *p; p++)
		d += *p == '/' && p[1] && p[1] != '/';
	return d;
}

static void mount_shares(const struct kumo_bootcfg *c)
{
	char err[200];
	int n = 0, total = c->npreopens + c->nmounts;
	uint64_t t0 = rdtsc();
	int *order = kumo_plat_alloc(sizeof(int) * ((size_t)total + 1));
	if (!order)
		panic("out of memory for the shares");
	for (int i = 0; i < total; i++)
		order[i] = i;
	/* Insertion sort by depth, stable: config order among equals. */
	for (int i = 1; i < total; i++) {
		int k = order[i], j = i;
		const char *pk = k < c->npreopens ? c->preopens[k].path : c->mounts[k - c->npreopens].path;
		for (; j > 0; j--) {
			int o = order[j - 1];
			const char *po = o < c->npreopens ? c->preopens[o].path
							  : c->mounts[o - c->npreopens].path;
			if (depth_of(po) <= depth_of(pk))
				break;
			order[j] = o;
		}
		order[j] = k;
	}
	for (int oi = 0; oi < total; oi++) {
		int i = order[oi];
		bool pre = i < c->npreopens;
		const char *share = pre ? c->preopens[i].share : c->mounts[i - c->npreopens].share;
		const char *path = pre ? c->preopens[i].path : c->mounts[i - c->npreopens].path;
		const char *entry = pre ? NULL : c->mounts[i - c->npreopens].entry;
		bool ro = (pre ? c->preopens[i].readonly : c->mounts[i - c->npreopens].readonly) != 0;
		if (!share)
			continue;
		struct p9mount *m;
		if (p9fs_mount(share, entry, ro, &m, err, sizeof(err)) < 0)
			panic("boot config: %s", err);
		if (pre && p9fs_mount_type(m) != WASI_FILETYPE_DIRECTORY)
			panic("boot config: preopen `%s`: share `%s` is not a directory",
			      c->preopens[i].guest, share);
		int rc = 0;
		if (strcmp(path, "/") == 0 && p9fs_mount_type(m) == WASI_FILETYPE_DIRECTORY)
			root_share = m; /* the rootfs' root cannot be a mount point */
		else if (root_share)
			rc = p9fs_mount_at(root_share, path, m); /* the tree is the share's */
		else
			rc = ramfs_mount(path, m);
		if (rc < 0)
			panic("boot config: share `%s`: cannot mount it at `%s` (wasi errno %d)", share,
			      path, -rc);
		n++;
	}
	kumo_plat_free(order);
	if (n)
		klog("shares: %d mounted in %llu us", n,
		     (unsigned long long)(clock_tsc_to_ns(rdtsc() - t0) / 1000));
}

int app_run_module(const struct kumo_module *module)
{
	struct kumo_bootcfg *c = &kumo_bootcfg;
	char err[200];
	/* Generated code for a CPU level this one lacks would die on an invalid opcode:
	 * refuse with the reason instead. */
	const char *missing = cpu_missing_for_target(module->cpu);
	if (missing)
		panic("the app was compiled for `%s` but this CPU has no `%s` (QEMU: -cpu max under "
		      "TCG, a matching named model under KVM)", module->cpu, missing);
	if (ramfs_init(c->rootfs, c->rootfs_size, err, sizeof(err)) < 0 ||
	    ramfs_mark_files(c->files, (size_t)c->nfiles, err, sizeof(err)) < 0)
		panic("boot config: %s", err);
	mount_shares(c);
	struct kumo_wasi_preopen *pre = kumo_plat_alloc(sizeof(*pre) * ((size_t)c->npreopens + 1));
	if (!pre)
		panic("out of memory for the preopens");
	for (int i = 0; i < c->npreopens; i++) {
		const struct kumo_preopen *p = &c->preopens[i];
		int rc;
		if (root_share) { /* the whole tree is that share's */
			struct kumo_plat_file *r;
			rc = p9fs_open_mount(root_share, WASI_OFLAG_DIRECTORY, 0, true, false, &r);
			if (rc == 0)
				rc = ramfs_open_dir_below(r, p->path, &pre[i].dir);
		} else {
			rc = ramfs_open_dir(p->path, &pre[i].dir);
		}
		if (rc < 0 && p->share)
			panic("boot config: preopen `%s`: share `%s` at `%s`: wasi errno %d", p->guest,
			      p->share, p->path, -rc);
		if (rc < 0)
			panic("boot config: preopen `%s`: no directory `%s` in the rootfs (wasi errno %d)",
			      p->guest, p->path, -rc);
		pre[i].guest_path = p->guest;
		pre[i].readonly = p->readonly != 0;
	}
	/* net.listen: sockets opened before _start, handed over as the fds right after the
	 * preopened directories, announced in the environment. */
	struct kumo_plat_file **socks = NULL;
	size_t nsocks = 0;
	char **envp = c->envp;
	int envc = c->envc;
	if (net_open_listeners(&socks, &nsocks, err, sizeof(err)) < 0)
		panic("boot config: %s", err);
	if (nsocks > 0) {
		klog("net: %zu listening sockets at %llu us after kernel entry", nsocks,
		     (unsigned long long)(clock_tsc_to_ns(rdtsc() - kumo_boot_tsc) / 1000));
		envp = kumo_plat_alloc(sizeof(char *) * ((size_t)envc + 3));
		char *e1 = kumo_plat_alloc(32), *e2 = kumo_plat_alloc(48);
		if (!envp || !e1 || !e2)
			panic("out of memory for the environment");
		memcpy(envp, c->envp, sizeof(char *) * (size_t)envc);
		snprintf(e1, 32, "LISTEN_FDS=%zu", nsocks);
		snprintf(e2, 48, "KUMO_LISTEN_FD_START=%d", 3 + c->npreopens);
		envp[envc++] = e1;
		envp[envc++] = e2;
		envp[envc] = NULL;
	}
	struct kumo_wasi_config cfg = {
		.argc = (size_t)c->argc,
		.argv = (const char *const *)c->argv,
		.envc = (size_t)envc,
		.envp = (const char *const *)envp,
		.npreopens = (size_t)c->npreopens,
		.preopens = pre,
		.nsockets = nsocks,
		.sockets = socks,
	};
	struct kumo_wasi *w = kumo_wasi_new(&cfg);
	struct kumo_rt_store *s = kumo_rt_store_new();
	if (!w || !s)
		panic("out of memory for the WASI state");
	kumo_rt_store_set_wasi(s, w);

	struct kumo_rt_outcome out;
	memset(&out, 0, sizeof(out));
	struct kumo_rt_instance *inst;
	/* Interrupts on while compiled code runs (kos.h: the scheduler's rule). */
	__asm__ volatile("sti" : : : "memory");
	if (kumo_rt_instantiate(s, module, kumo_wasi_resolve, s, &inst, &out) == 0) {
		struct kumo_rt_extern ext;
		if (kumo_rt_export(inst, "_start", 6, &ext) < 0 &&
		    kumo_rt_export(inst, "_initialize", 11, &ext) < 0)
			panic("the module exports no `_start` function");
		if (ext.kind != KUMO_EXTERN_FUNC)
			panic("export `_start` is not a function");
		union kumo_val none[1];
		kumo_start_tsc = rdtsc();
		kumo_rt_call(s, ext.u.func, none, &out);
	}
	__asm__ volatile("cli" : : : "memory");
	switch (out.kind) {
	case KUMO_RT_OK:
		return 0;
	case KUMO_RT_EXIT:
		return (int)out.code;
	case KUMO_RT_TRAP:
		ktrap(out.code);
	default:
		panic("instantiate: %s", out.msg);
	}
}
