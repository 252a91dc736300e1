/* kernel/os/container.c - one pod container: its config from CREATE's JSON, its listening sockets, and one instance run on its own thread (WASI state, instance, `_start`, the STARTED and EXIT records). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kfile.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9fs.h"
#include "kernel/os/pod.h"
#include "kernel/os/ramfs.h"
#include "kernel/rt/rt.h"
#include "kernel/wasi/wasi.h"

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* A JSON array of strings -> a NULL-terminated vector with room for `extra` more. */
static int str_vec(const cJSON *a, const char *key, int extra, char ***out, int *n, char *err,
		   size_t errcap)
{
	if (a && !cJSON_IsArray(a)) {
		snprintf(err, errcap, "config: `%s` is not an array", key);
		return -1;
	}
	int len = a ? cJSON_GetArraySize(a) : 0;
	char **v = calloc((size_t)len + (size_t)extra + 1, sizeof(char *));
	if (!v) {
		snprintf(err, errcap, "config: out of memory");
		return -1;
	}
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || !(v[i] = dup_str(e->valuestring))) {
			snprintf(err, errcap, "config: `%s[%d]` is not a string", key, i);
			free_strv(v);
			return -1;
		}
		i++;
	}
	*out = v;
	*n = len;
	return 0;
}

/* A path relative to a share's top: no leading '/', no ".." component. */
static int relative_ok(const char *p)
{
	if (*p == '/')
		return 0;
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		s += n;
		while (*s == '/')
			s++;
	}
	return 1;
}

static int parse_preopens(struct container *c, const cJSON *a, char *err, size_t errcap)
{
	if (!a)
		return 0;
	if (!cJSON_IsArray(a)) {
		snprintf(err, errcap, "config: `preopens` is not an array");
		return -1;
	}
	c->npreopens = cJSON_GetArraySize(a);
	c->preopens = calloc((size_t)c->npreopens + 1, sizeof(*c->preopens));
	if (!c->preopens) {
		snprintf(err, errcap, "config: out of memory");
		return -1;
	}
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, a) {
		struct ct_preopen *p = &c->preopens[i];
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(e, "guest");
		const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "share");
		const cJSON *pa = cJSON_GetObjectItemCaseSensitive(e, "path");
		if (!cJSON_IsString(g) || !g->valuestring[0]) {
			snprintf(err, errcap, "config: `preopens[%d].guest` is not a path", i);
			return -1;
		}
		if ((sh && (!cJSON_IsString(sh) || !sh->valuestring[0] || strlen(sh->valuestring) > 63)) ||
		    (pa && !cJSON_IsString(pa))) {
			snprintf(err, errcap, "config: `preopens[%d]`: `share` is not a mount tag or "
				 "`path` not a string", i);
			return -1;
		}
		p->guest = dup_str(g->valuestring);
		p->readonly = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "readonly"));
		if (sh) {
			p->share = dup_str(sh->valuestring);
			if (pa && !relative_ok(pa->valuestring)) {
				snprintf(err, errcap, "config: `preopens[%d].path` `%s` must stay inside "
					 "the share", i, pa->valuestring);
				return -1;
			}
			p->path = pa && pa->valuestring[0] ? dup_str(pa->valuestring) : NULL;
		} else {
			p->path = dup_str(pa ? pa->valuestring : g->valuestring);
			if (p->path && p->path[0] != '/') {
				snprintf(err, errcap, "config: `preopens[%d].path` `%s` is not absolute", i,
					 p->path);
				return -1;
			}
		}
		if (!p->guest || (sh && !p->share) || (!sh && !p->path)) {
			snprintf(err, errcap, "config: out of memory");
			return -1;
		}
		i++;
	}
	return 0;
}

int container_configure(struct container *c, const char *json, char *err, size_t errcap)
{
	cJSON *root = cJSON_Parse(json);
	int rc = -1;
	if (!root || !cJSON_IsObject(root)) {
		snprintf(err, errcap, "config: not a JSON object");
		goto out;
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
	if (name && !cJSON_IsString(name)) {
		snprintf(err, errcap, "config: `name` is not a string");
		goto out;
	}
	c->name = dup_str(name ? name->valuestring : "");
	if (str_vec(cJSON_GetObjectItemCaseSensitive(root, "args"), "args", 1, &c->argv, &c->argc,
		    err, errcap) < 0)
		goto out;
	if (c->argc == 0)
		c->argv[c->argc++] = dup_str(c->name && c->name[0] ? c->name : "app");
	/* Room for PWD, LISTEN_FDS and KUMO_LISTEN_FD_START. */
	if (str_vec(cJSON_GetObjectItemCaseSensitive(root, "env"), "env", 3, &c->envp, &c->envc,
		    err, errcap) < 0)
		goto out;
	const cJSON *wd = cJSON_GetObjectItemCaseSensitive(root, "workdir");
	if (wd) {
		if (!cJSON_IsString(wd) || wd->valuestring[0] != '/') {
			snprintf(err, errcap, "config: `workdir` is not an absolute path");
			goto out;
		}
		size_t n = strlen(wd->valuestring) + 5;
		char *e = malloc(n);
		if (!e) {
			snprintf(err, errcap, "config: out of memory");
			goto out;
		}
		snprintf(e, n, "PWD=%s", wd->valuestring);
		c->envp[c->envc++] = e;
	}
	if (parse_preopens(c, cJSON_GetObjectItemCaseSensitive(root, "preopens"), err, errcap) < 0)
		goto out;
	if (str_vec(cJSON_GetObjectItemCaseSensitive(root, "listen"), "listen", 0, &c->listen,
		    &c->nlisten, err, errcap) < 0)
		goto out;
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(root, "memory_limit");
	if (ml && (!cJSON_IsNumber(ml) || ml->valuedouble < 0 || ml->valuedouble > 1e15)) {
		snprintf(err, errcap, "config: `memory_limit` is not a byte count");
		goto out;
	}
	c->memory_limit = ml ? (uint64_t)ml->valuedouble : 0;
	const cJSON *ss = cJSON_GetObjectItemCaseSensitive(root, "stack_size");
	if (ss && (!cJSON_IsNumber(ss) || ss->valuedouble < 0)) {
		snprintf(err, errcap, "config: `stack_size` is not a size");
		goto out;
	}
	double v = ss ? ss->valuedouble : (double)KUMO_BOOT_DEFAULT_STACK;
	c->stack_size = v < 65536 ? 65536 : v > (double)VM_STACK_MAX ? VM_STACK_MAX : (uint64_t)v;
	const cJSON *si = cJSON_GetObjectItemCaseSensitive(root, "stdin");
	if (si && !cJSON_IsBool(si)) {
		snprintf(err, errcap, "config: `stdin` is not true or false");
		goto out;
	}
	if (cJSON_IsTrue(si) && !(c->stdin_pipe = kpipe_new())) {
		snprintf(err, errcap, "config: out of memory for stdin");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int container_bind(struct container *c, char *err, size_t errcap)
{
	if (c->socks || c->nlisten == 0)
		return 0;
	c->socks = calloc((size_t)c->nlisten, sizeof(*c->socks));
	if (!c->socks) {
		snprintf(err, errcap, "out of memory for the listening sockets");
		return -1;
	}
	for (int i = 0; i < c->nlisten; i++) {
		if (net_listen_open(c->listen[i], &c->socks[i], err, errcap) < 0) {
			for (int k = 0; k < i; k++)
				kumo_plat_close(c->socks[k]);
			free(c->socks);
			c->socks = NULL;
			return -1;
		}
	}
	return 0;
}

void container_release(struct container *c)
{
	if (c->socks)
		for (int i = 0; i < c->nlisten; i++)
			kumo_plat_close(c->socks[i]);
	free(c->socks);
	free_strv(c->argv);
	free_strv(c->envp);
	free_strv(c->listen);
	for (int i = 0; i < c->npreopens; i++) {
		free(c->preopens[i].guest);
		free(c->preopens[i].share);
		free(c->preopens[i].path);
	}
	free(c->preopens);
	free(c->name);
	kimage_free(c->img);
	kpipe_free(c->stdin_pipe);
	c->stdin_pipe = NULL;
	c->socks = NULL;
	c->argv = c->envp = c->listen = NULL;
	c->preopens = NULL;
	c->name = NULL;
	c->img = NULL;
}

/* ---- shares: one mount per (tag, read-only) for the pod's life ---- */

#define MAX_SHARE_MOUNTS 64
static struct {
	char tag[64];
	int readonly;
	struct p9mount *m;
} share_mounts[MAX_SHARE_MOUNTS];

static int share_mount(const char *tag, int readonly, struct p9mount **out, char *err,
		       size_t errcap)
{
	int i = 0;
	for (; i < MAX_SHARE_MOUNTS && share_mounts[i].m; i++)
		if (share_mounts[i].readonly == readonly && strcmp(share_mounts[i].tag, tag) == 0) {
			*out = share_mounts[i].m;
			return 0;
		}
	if (i == MAX_SHARE_MOUNTS) {
		snprintf(err, errcap, "more than %d share mounts", MAX_SHARE_MOUNTS);
		return -1;
	}
	if (p9fs_mount(tag, NULL, readonly != 0, out, err, errcap) < 0)
		return -1;
	if (p9fs_mount_type(*out) != WASI_FILETYPE_DIRECTORY) {
		snprintf(err, errcap, "share `%s` is not a directory", tag);
		return -1;
	}
	snprintf(share_mounts[i].tag, sizeof(share_mounts[i].tag), "%s", tag);
	share_mounts[i].readonly = readonly;
	share_mounts[i].m = *out;
	return 0;
}

/* Opens preopen p's directory. 0, or -1 with err. */
static int open_preopen(const struct ct_preopen *p, struct kumo_plat_file **out, char *err,
			size_t errcap)
{
	int rc;
	if (p->share) {
		struct p9mount *m;
		char e[160];
		if (share_mount(p->share, p->readonly, &m, e, sizeof(e)) < 0) {
			snprintf(err, errcap, "preopen `%s`: %s", p->guest, e);
			return -1;
		}
		struct kumo_plat_file *top;
		rc = p9fs_open_mount(m, WASI_OFLAG_DIRECTORY, 0, true, false, &top);
		if (rc == 0 && p->path)
			rc = ramfs_open_dir_below(top, p->path, out); /* takes top */
		else if (rc == 0)
			*out = top;
		if (rc < 0)
			snprintf(err, errcap, "preopen `%s`: share `%s`%s%s: no such directory (wasi errno %d)",
				 p->guest, p->share, p->path ? " path " : "", p->path ? p->path : "", -rc);
	} else {
		rc = ramfs_open_dir(p->path, out);
		if (rc < 0)
			snprintf(err, errcap, "preopen `%s`: no directory `%s` in the pod's tree (wasi errno %d)",
				 p->guest, p->path, -rc);
	}
	return rc < 0 ? -1 : 0;
}

int container_read_share_file(const char *tag, const char *path, uint8_t **out, size_t *len,
			      char *err, size_t errcap)
{
	if (!path[0] || !relative_ok(path)) {
		snprintf(err, errcap, "object: path `%s` must stay inside share `%s`", path, tag);
		return -1;
	}
	struct p9mount *m;
	char e[160];
	if (share_mount(tag, 1, &m, e, sizeof(e)) < 0) {
		snprintf(err, errcap, "object: %s", e);
		return -1;
	}
	struct kumo_plat_file *dir, *f = NULL;
	int rc = p9fs_open_mount(m, WASI_OFLAG_DIRECTORY, 0, true, false, &dir);
	const char *leaf = strrchr(path, '/');
	if (rc == 0 && leaf) {
		char sub[512];
		size_t n = (size_t)(leaf - path);
		if (n >= sizeof(sub))
			n = sizeof(sub) - 1;
		memcpy(sub, path, n);
		sub[n] = 0;
		rc = ramfs_open_dir_below(dir, sub, &dir); /* takes the old dir */
	}
	leaf = leaf ? leaf + 1 : path;
	if (rc == 0) {
		rc = kumo_plat_openat(dir, leaf, 0, 0, true, false, &f);
		kumo_plat_close(dir);
	}
	struct kumo_plat_stat st = {0};
	if (rc == 0)
		rc = kumo_plat_fstat(f, &st);
	if (rc < 0) {
		if (f)
			kumo_plat_close(f);
		snprintf(err, errcap, "object: `%s` in share `%s`: wasi errno %d", path, tag, -rc);
		return -1;
	}
	if (st.size == 0 || st.size > KUMO_POD_BLOB_MAX) {
		kumo_plat_close(f);
		snprintf(err, errcap, "object: `%s` in share `%s` has %llu bytes", path, tag,
			 (unsigned long long)st.size);
		return -1;
	}
	uint8_t *buf = malloc(st.size);
	uint64_t off = 0;
	while (buf && off < st.size) {
		struct kumo_plat_iov iov = {buf + off, st.size - off};
		size_t done = 0;
		rc = kumo_plat_preadv(f, &iov, 1, off, &done);
		if (rc < 0 || done == 0)
			break;
		off += done;
	}
	kumo_plat_close(f);
	if (!buf || off != st.size) {
		free(buf);
		snprintf(err, errcap, "object: reading `%s` in share `%s` failed", path, tag);
		return -1;
	}
	*out = buf;
	*len = (size_t)st.size;
	return 0;
}

int container_check_preopens(struct container *c, char *err, size_t errcap)
{
	for (int i = 0; i < c->npreopens; i++) {
		struct kumo_plat_file *d;
		if (open_preopen(&c->preopens[i], &d, err, errcap) < 0)
			return -1;
		kumo_plat_close(d);
	}
	return 0;
}

/* ---- one instance ---- */

static uint64_t us_of(uint64_t tsc)
{
	return clock_tsc_to_ns(tsc) / 1000;
}

/* How the instance ended -> c->exit_*, and the EXIT record. */
static void report_exit(struct container *c, const struct kumo_rt_outcome *out)
{
	const struct kthread *t = kthread_current();
	c->exit_trap = 0;
	switch (out->kind) {
	case KUMO_RT_OK:
		c->exit_status = 0;
		snprintf(c->exit_kind, sizeof(c->exit_kind), KUMO_POD_KIND_EXIT);
		snprintf(c->exit_msg, sizeof(c->exit_msg), "exited");
		break;
	case KUMO_RT_EXIT:
		c->exit_status = (int)(out->code & 0xff);
		if (t->stop == KSTOP_KILL && out->code == KUMO_POD_EXIT_KILLED) {
			snprintf(c->exit_kind, sizeof(c->exit_kind), KUMO_POD_KIND_KILLED);
			snprintf(c->exit_msg, sizeof(c->exit_msg), "killed by the host");
		} else if (t->stop == KSTOP_TERM && out->code == KUMO_EXIT_STATUS_STOPPED) {
			snprintf(c->exit_kind, sizeof(c->exit_kind), KUMO_POD_KIND_STOPPED);
			snprintf(c->exit_msg, sizeof(c->exit_msg), "stopped by the host");
		} else {
			snprintf(c->exit_kind, sizeof(c->exit_kind), KUMO_POD_KIND_EXIT);
			snprintf(c->exit_msg, sizeof(c->exit_msg), "exited");
		}
		break;
	case KUMO_RT_TRAP:
		c->exit_status = KUMO_EXIT_STATUS_TRAP;
		c->exit_trap = out->code;
		snprintf(c->exit_kind, sizeof(c->exit_kind), KUMO_POD_KIND_TRAP);
		snprintf(c->exit_msg, sizeof(c->exit_msg), "%s", kumo_trap_message(out->code));
		break;
	default:
		c->exit_status = KUMO_POD_EXIT_ERROR;
		snprintf(c->exit_kind, sizeof(c->exit_kind), KUMO_POD_KIND_ERROR);
		snprintf(c->exit_msg, sizeof(c->exit_msg), "%s", out->msg);
		break;
	}
	char msg[420];
	podrec_json(KUMO_POD_REC_EXIT, c->cid, c->start_seq,
		    "{\"instance\": %u, \"status\": %d, \"kind\": \"%s\", \"trap\": %u, \"msg\": \"%s\"}",
		    c->instance, c->exit_status, c->exit_kind, c->exit_trap,
		    pod_json_escape(msg, sizeof(msg), c->exit_msg));
}

int container_run(struct container *c)
{
	uint64_t t_thread = rdtsc(); /* START -> here: the thread (stack, XSAVE area) and a switch */
	struct kumo_rt_outcome out;
	memset(&out, 0, sizeof(out));
	struct kumo_plat_file *stdio[3] = {NULL, NULL, NULL};
	struct kumo_wasi_preopen *pre = NULL;
	struct kumo_wasi *w = NULL;
	struct kumo_rt_store *s = NULL;
	char err[200];
	int npre = 0;

	for (int i = 0; i < 3; i++)
		if (!(stdio[i] = ramfs_record_console(i, c->cid))) {
			kumo_rt_outcome_set(&out, KUMO_RT_ERROR, 0, "out of memory for stdio");
			goto out_report;
		}
	stdio[0]->pipe = c->stdin_pipe;
	pre = calloc((size_t)c->npreopens + 1, sizeof(*pre));
	if (!pre) {
		kumo_rt_outcome_set(&out, KUMO_RT_ERROR, 0, "out of memory for the preopens");
		goto out_report;
	}
	for (; npre < c->npreopens; npre++) {
		if (open_preopen(&c->preopens[npre], &pre[npre].dir, err, sizeof(err)) < 0) {
			kumo_rt_outcome_set(&out, KUMO_RT_ERROR, 0, err);
			goto out_report;
		}
		pre[npre].guest_path = c->preopens[npre].guest;
		pre[npre].readonly = c->preopens[npre].readonly != 0;
	}
	/* A restart binds its ports again (the last instance's WASI state closed them). */
	if (container_bind(c, err, sizeof(err)) < 0) {
		kumo_rt_outcome_set(&out, KUMO_RT_ERROR, 0, err);
		goto out_report;
	}
	int envc = c->envc;
	char e1[32], e2[48];
	if (c->nlisten) {
		snprintf(e1, sizeof(e1), "LISTEN_FDS=%d", c->nlisten);
		snprintf(e2, sizeof(e2), "KUMO_LISTEN_FD_START=%d", 3 + c->npreopens);
		c->envp[envc] = e1;
		c->envp[envc + 1] = e2;
		c->envp[envc + 2] = NULL;
		envc += 2;
	}
	struct kumo_wasi_config cfg = {
		.argc = (size_t)c->argc, .argv = (const char *const *)c->argv,
		.envc = (size_t)envc, .envp = (const char *const *)c->envp,
		.npreopens = (size_t)npre, .preopens = pre,
		.nsockets = (size_t)c->nlisten, .sockets = c->socks,
		.stdio = {stdio[0], stdio[1], stdio[2]},
	};
	w = kumo_wasi_new(&cfg);
	c->envp[c->envc] = NULL; /* the stack strings above stay out of the config */
	if (w) {
		npre = 0;       /* the WASI state owns the directories and sockets now */
		free(c->socks);
		c->socks = NULL;
	}
	s = kumo_rt_store_new();
	if (!w || !s) {
		kumo_rt_outcome_set(&out, KUMO_RT_ERROR, 0, "out of memory for the WASI state");
		goto out_report;
	}
	kumo_rt_store_set_wasi(s, w);
	kumo_rt_store_set_memory_limit(s, c->memory_limit);

	/* Compiled code runs with interrupts on: the timer may preempt it (kos.h). */
	struct kumo_rt_instance *inst;
	uint64_t t0 = rdtsc(); /* here - t_thread: stdio, preopens, sockets, WASI state */
	__asm__ volatile("sti" : : : "memory");
	int rc = kumo_rt_instantiate(s, c->module, NULL, NULL, &inst, &out);
	__asm__ volatile("cli" : : : "memory");
	uint64_t t1 = rdtsc();
	c->instantiate_ns = clock_tsc_to_ns(t1 - t0);
	if (rc < 0)
		goto out_report;
	struct kumo_rt_extern ext;
	if ((kumo_rt_export(inst, "_start", 6, &ext) < 0 &&
	     kumo_rt_export(inst, "_initialize", 11, &ext) < 0) || ext.kind != KUMO_EXTERN_FUNC) {
		kumo_rt_outcome_set(&out, KUMO_RT_ERROR, 0, "the module exports no `_start` function");
		goto out_report;
	}
	podrec_json(KUMO_POD_REC_STARTED, c->cid, c->start_seq,
		    "{\"instance\": %u, \"instantiate_us\": %llu, \"start_us\": %llu, "
		    "\"thread_us\": %llu, \"wasi_us\": %llu}", c->instance,
		    (unsigned long long)(c->instantiate_ns / 1000),
		    (unsigned long long)us_of(rdtsc() - c->start_tsc),
		    (unsigned long long)us_of(t_thread - c->start_tsc),
		    (unsigned long long)us_of(t0 - t_thread));
	union kumo_val none[1];
	__asm__ volatile("sti" : : : "memory");
	kumo_rt_call(s, ext.u.func, none, &out);
	__asm__ volatile("cli" : : : "memory");
out_report:
	report_exit(c, &out);
	kumo_rt_store_free(s);
	kumo_wasi_free(w);
	for (int i = 0; i < npre; i++)
		kumo_plat_close(pre[i].dir);
	free(pre);
	for (int i = 0; i < 3; i++)
		free(stdio[i]);
	return c->exit_status;
}
