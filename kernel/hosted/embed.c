/* kernel/hosted/embed.c - loading compiled modules into this process (ld -shared,
 * dlopen), invoking exports by name, and running a WASI command. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/hosted/embed.h"

extern char **environ;

struct kumo_loaded {
	void *handle;                    /* dlopen handle */
	const struct kumo_module *module; /* its KUMO_SYM_MODULE */
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int kumo_embed_link_shared(const char *obj_path, const char *so_path, kumo_error_t *err)
{
	const char *ld = getenv("KUMO_LD");
	if (!ld || !*ld)
		ld = "ld";
	char *argv[] = {(char *)ld, "-shared", "-o", (char *)so_path, (char *)obj_path, NULL};
	pid_t pid;
	int rc = posix_spawnp(&pid, ld, NULL, NULL, argv, environ);
	if (rc != 0)
		return kumo_error_errno(err, rc, "run `%s`", ld);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return kumo_error_errno(err, errno, "wait for `%s`", ld);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return kumo_error(err, KUMO_E_INVALID, "link `%s` into a shared object failed",
				  obj_path);
	return 0;
}

/* The first feature of an x86-64 level (abi.h's KUMO_DEFAULT_CPU and --cpu) that this
 * CPU lacks, or NULL; named CPUs are not checked. Generated code for a level the CPU
 * lacks would die on an invalid opcode: refuse it by name instead, as the unikernel does. */
static const char *host_cpu_missing(const char *cpu)
{
	int level = !cpu ? 0 : !strcmp(cpu, "x86-64-v2") ? 2 : !strcmp(cpu, "x86-64-v3") ? 3
		    : !strcmp(cpu, "x86-64-v4") ? 4 : 0;
	if (level == 0)
		return NULL;
	__builtin_cpu_init();
	const struct {
		int level;
		const char *name;
		int has; /* __builtin_cpu_supports takes only a literal */
	} feats[] = {
		{2, "sse3", __builtin_cpu_supports("sse3")},
		{2, "ssse3", __builtin_cpu_supports("ssse3")},
		{2, "sse4.1", __builtin_cpu_supports("sse4.1")},
		{2, "sse4.2", __builtin_cpu_supports("sse4.2")},
		{2, "popcnt", __builtin_cpu_supports("popcnt")},
		{3, "avx", __builtin_cpu_supports("avx")},
		{3, "avx2", __builtin_cpu_supports("avx2")},
		{3, "bmi", __builtin_cpu_supports("bmi")},
		{3, "bmi2", __builtin_cpu_supports("bmi2")},
		{3, "fma", __builtin_cpu_supports("fma")},
		{4, "avx512f", __builtin_cpu_supports("avx512f")},
		{4, "avx512bw", __builtin_cpu_supports("avx512bw")},
		{4, "avx512dq", __builtin_cpu_supports("avx512dq")},
		{4, "avx512vl", __builtin_cpu_supports("avx512vl")},
		{4, "avx512cd", __builtin_cpu_supports("avx512cd")},
	};
	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++)
		if (feats[i].level <= level && !feats[i].has)
			return feats[i].name;
	return NULL;
}

int kumo_embed_load(const char *path, struct kumo_loaded **out, kumo_error_t *err)
{
	autofree char *tmp = NULL;
	const char *so = path;
	*out = NULL;
	unsigned char magic[4] = {0};
	int mfd = open(path, O_RDONLY | O_CLOEXEC);
	if (mfd < 0)
		return kumo_error_errno(err, errno, "load `%s`", path);
	ssize_t got = read(mfd, magic, sizeof(magic));
	close(mfd);
	if (got != 4 || memcmp(magic, "\177ELF", 4) != 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "load `%s`: not an ELF object or shared object from `kumo compile`",
				  path);
	if (!ends_with(path, ".so")) {
		const char *dir = getenv("TMPDIR");
		tmp = xasprintf("%s/kumo-module-XXXXXX.so", dir && *dir ? dir : "/tmp");
		int fd = mkstemps(tmp, 3);
		if (fd < 0)
			return kumo_error_errno(err, errno, "create `%s`", tmp);
		close(fd);
		if (kumo_embed_link_shared(path, tmp, err) < 0) {
			unlink(tmp);
			return kumo_error_wrap(err, "load `%s`", path);
		}
		so = tmp;
	} else if (!strchr(path, '/')) {
		/* dlopen would search the library path for a bare name. */
		tmp = xasprintf("./%s", path);
		so = tmp;
	}
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (tmp && so == tmp && !ends_with(path, ".so"))
		unlink(tmp);
	if (!h)
		return kumo_error(err, KUMO_E_INVALID, "load `%s`: %s", path, dlerror());
	const struct kumo_module *m = dlsym(h, KUMO_SYM_MODULE);
	if (!m) {
		dlclose(h);
		return kumo_error(err, KUMO_E_INVALID, "load `%s`: no `%s` symbol: not a kumo module",
				  path, KUMO_SYM_MODULE);
	}
	if (m->abi_version != KUMO_ABI_VERSION) {
		dlclose(h);
		return kumo_error(err, KUMO_E_INVALID,
				  "load `%s`: compiled for ABI version %u, this runtime has %u",
				  path, m->abi_version, KUMO_ABI_VERSION);
	}
	const char *missing = host_cpu_missing(m->cpu);
	if (missing) {
		dlclose(h);
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "load `%s`: compiled for cpu `%s`, but this cpu has no `%s` "
				  "(recompile with `kumo compile --cpu x86-64` or `--cpu native`)",
				  path, m->cpu, missing);
	}
	struct kumo_loaded *l = xzalloc(sizeof(*l));
	l->handle = h;
	l->module = m;
	*out = l;
	return 0;
}

const struct kumo_module *kumo_loaded_module(const struct kumo_loaded *l)
{
	return l->module;
}

void kumo_loaded_free(struct kumo_loaded *l)
{
	if (!l)
		return;
	dlclose(l->handle);
	free(l);
}

int kumo_embed_invoke(struct kumo_rt_store *s, struct kumo_rt_instance *inst, const char *name,
		      const union kumo_val *args, size_t nargs, union kumo_val *results,
		      size_t nresults, struct kumo_rt_outcome *out)
{
	struct kumo_rt_extern ext;
	uint32_t np, nr;
	if (kumo_rt_export(inst, name, strlen(name), &ext) < 0 || ext.kind != KUMO_EXTERN_FUNC) {
		kumo_rt_outcome_set(out, KUMO_RT_ERROR, 0, "no such function export");
		return -1;
	}
	if (!kumo_rt_type_get(ext.u.func->type_id, NULL, &np, &nr, NULL) || np != nargs ||
	    nr != nresults) {
		kumo_rt_outcome_set(out, KUMO_RT_ERROR, 0, "wrong number of arguments or results");
		return -1;
	}
	size_t cells = np > nr ? np : nr;
	union kumo_val buf[cells ? cells : 1];
	if (nargs)
		memcpy(buf, args, nargs * sizeof(*args));
	if (kumo_rt_call(s, ext.u.func, buf, out) < 0)
		return -1;
	if (nresults)
		memcpy(results, buf, nresults * sizeof(*results));
	return 0;
}

int kumo_hosted_open_dir(const char *host_path, struct kumo_plat_file **out, kumo_error_t *err)
{
	int fd = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open directory `%s`", host_path);
	*out = kumo_hosted_file(fd, false);
	if (!*out) {
		close(fd);
		return kumo_error(err, KUMO_E_INTERNAL, "out of memory");
	}
	return 0;
}

struct run_resolver {
	struct kumo_rt_store *store;
	const char *unknown; /* for the error message */
};

int kumo_embed_run_wasi(const struct kumo_module *m, const struct kumo_embed_run *run,
			struct kumo_rt_outcome *out, kumo_error_t *err)
{
	struct kumo_wasi_preopen pre[run->ndirs ? run->ndirs : 1];
	struct kumo_plat_file *socks[run->nlisten ? run->nlisten : 1];
	size_t npre = 0, nsocks = 0;
	const char **envp = NULL;
	char *env_listen[2] = {NULL, NULL};
	int rc = -1;
	struct kumo_wasi *w = NULL;
	struct kumo_rt_store *s = kumo_rt_store_new();
	if (!s)
		return kumo_error(err, KUMO_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < run->ndirs; i++) {
		if (kumo_hosted_open_dir(run->dirs[i].host, &pre[npre].dir, err) < 0)
			goto out;
		pre[npre].guest_path = run->dirs[i].guest;
		npre++;
	}
	for (size_t i = 0; i < run->nlisten; i++) {
		if (kumo_hosted_listen_open(run->listen[i], &socks[nsocks], err) < 0)
			goto out;
		nsocks++;
	}
	/* Listening sockets follow the preopened directories (kernel/wasi/wasi.h). */
	size_t envc = run->envc;
	envp = xmalloc((envc + 2) * sizeof(*envp));
	if (envc)
		memcpy(envp, run->envp, envc * sizeof(*envp));
	if (nsocks) {
		env_listen[0] = xasprintf("LISTEN_FDS=%zu", nsocks);
		env_listen[1] = xasprintf("KUMO_LISTEN_FD_START=%zu", 3 + npre);
		envp[envc++] = env_listen[0];
		envp[envc++] = env_listen[1];
	}
	struct kumo_wasi_config cfg = {
		.argc = run->argc, .argv = run->argv, .envc = envc, .envp = envp,
		.npreopens = npre, .preopens = pre, .nsockets = nsocks, .sockets = socks,
	};
	w = kumo_wasi_new(&cfg);
	if (!w) {
		kumo_error(err, KUMO_E_INTERNAL, "out of memory creating the WASI state");
		goto out;
	}
	npre = 0; /* the WASI state owns the directories and sockets now */
	nsocks = 0;
	kumo_rt_store_set_wasi(s, w);
	kumo_rt_store_set_memory_limit(s, run->mem_limit_bytes);

	struct kumo_rt_instance *inst;
	if (kumo_rt_instantiate(s, m, kumo_wasi_resolve, s, &inst, out) < 0) {
		if (out->kind == KUMO_RT_ERROR) {
			kumo_error(err, KUMO_E_INVALID, "instantiate: %s", out->msg);
			goto out;
		}
		rc = 0; /* a trap or exit during instantiation is the app's outcome */
		goto out;
	}
	struct kumo_rt_extern ext;
	const char *entry = "_start";
	if (kumo_rt_export(inst, entry, strlen(entry), &ext) < 0) {
		entry = "_initialize";
		if (kumo_rt_export(inst, entry, strlen(entry), &ext) < 0) {
			kumo_error(err, KUMO_E_INVALID, "module exports no `_start` function");
			goto out;
		}
	}
	if (ext.kind != KUMO_EXTERN_FUNC) {
		kumo_error(err, KUMO_E_INVALID, "export `%s` is not a function", entry);
		goto out;
	}
	uint32_t np = 0, nr = 0;
	kumo_rt_type_get(ext.u.func->type_id, NULL, &np, &nr, NULL);
	if (np || nr) {
		kumo_error(err, KUMO_E_INVALID, "`%s` must take and return nothing", entry);
		goto out;
	}
	union kumo_val none[1];
	if (kumo_rt_call(s, ext.u.func, none, out) < 0 && out->kind == KUMO_RT_ERROR) {
		kumo_error(err, KUMO_E_INVALID, "call `%s`: %s", entry, out->msg);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < npre; i++)
		kumo_plat_close(pre[i].dir);
	for (size_t i = 0; i < nsocks; i++)
		kumo_plat_close(socks[i]);
	free(envp);
	free(env_listen[0]);
	free(env_listen[1]);
	kumo_rt_store_free(s);
	kumo_wasi_free(w);
	return rc;
}
