/* builder/prepare.c - one container's bootable artifact: kernel image, argv/env/PWD,
 * rootfs, preopens, mounts and files, network, initrd (builder_prepare). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/boot_config.h"
#include "builder/build_cache.h"

#define TAG_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

/* A mount kumo can give the VM: a directory, or a regular file (kubelet mounts
 * /etc/hosts and the termination-message file as files); symlinks on the host path are
 * followed. Sets *is_file. */
static int check_mount(const struct builder_mount *m, bool *is_file, kumo_error_t *err)
{
	struct stat sb;
	if (!m->guest_path || m->guest_path[0] != '/')
		return kumo_error(err, KUMO_E_INVALID, "mount `%s`: the container path must be absolute",
				  m->guest_path ? m->guest_path : "");
	if (stat(m->host_path, &sb) < 0)
		return kumo_error(err, KUMO_E_NOT_FOUND, "mount `%s`: host path `%s`: %s",
				  m->guest_path, m->host_path, strerror(errno));
	*is_file = S_ISREG(sb.st_mode);
	if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "mount `%s`: host path `%s` is neither a directory nor a regular "
				  "file (kumo gives the VM files and directories; devices, sockets "
				  "and pipes cannot be)", m->guest_path, m->host_path);
	if (m->tag && (!m->share || !*m->tag || strlen(m->tag) > 63 ||
		       strspn(m->tag, TAG_CHARS) != strlen(m->tag) ||
		       (strncmp(m->tag, "kumo", 4) == 0 && m->tag[4] >= '0' && m->tag[4] <= '9')))
		return kumo_error(err, KUMO_E_INVALID,
				  "mount `%s`: share tag `%s` is not one of the caller's (1 to 63 of "
				  "[A-Za-z0-9_.-], not kumo<N>, on a shared mount)",
				  m->guest_path, m->tag);
	if (m->tag && (!m->entry || !*m->entry || strchr(m->entry, '/') ||
		       strcmp(m->entry, ".") == 0 || strcmp(m->entry, "..") == 0))
		return kumo_error(err, KUMO_E_INVALID,
				  "mount `%s`: entry `%s` of share `%s` is not one name",
				  m->guest_path, m->entry ? m->entry : "", m->tag);
	if (*is_file && strspn(m->guest_path, "/") == strlen(m->guest_path))
		return kumo_error(err, KUMO_E_INVALID,
				  "mount `%s`: a file cannot be mounted at the root", m->guest_path);
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static size_t strv_len(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* True when the image's unpacked rootfs holds anything besides the module itself. */
static bool rootfs_has_files(const char *rootfs, const char *module_path)
{
	DIR *d = opendir(rootfs);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	size_t rl = strlen(rootfs);
	while (!found && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		/* The module at the top ("/app.wasm") is not a file to copy. */
		found = !(module_path && strncmp(module_path, rootfs, rl) == 0 &&
			  module_path[rl] == '/' && strcmp(module_path + rl + 1, e->d_name) == 0);
	}
	closedir(d);
	return found;
}

/* What the boot config is made of; every array is sized for the input, strings are
 * borrowed from it except those in `owned`. */
struct layout {
	const char **argv, **env;
	size_t nargv, nenv;
	struct rootfs_dir *dirs;
	size_t ndirs;
	struct boot_preopen *pre;
	size_t npre;
	struct boot_mount *mnt;
	size_t nmnt;
	struct boot_file *files;
	size_t nfiles;
	char **owned;
	size_t nowned;
};

static const char *own(struct layout *l, char *s)
{
	l->owned[l->nowned++] = s;
	return s;
}

static void layout_clear(struct layout *l)
{
	for (size_t i = 0; i < l->nowned; i++)
		free(l->owned[i]);
	free(l->owned);
	free(l->argv);
	free(l->env);
	free(l->dirs);
	free(l->pre);
	free(l->mnt);
	free(l->files);
}

/* argv: argv0 (the module's name by default), then command and args as the container
 * gives them (the image's Entrypoint + Cmd when it gives none). */
static void merge_argv(const struct builder_input *in, struct layout *l)
{
	size_t n = strv_len(in->argv), ne = strv_len(in->image.entrypoint),
	       nc = strv_len(in->image.cmd);
	l->argv = xzalloc(sizeof(char *) * (n + ne + nc + 2));
	l->argv[l->nargv++] = in->argv0 ? in->argv0 : base_name(in->module.path);
	if (n) {
		for (size_t i = 0; i < n; i++)
			l->argv[l->nargv++] = in->argv[i];
		return;
	}
	for (size_t i = 0; i < ne; i++)
		l->argv[l->nargv++] = in->image.entrypoint[i];
	for (size_t i = 0; i < nc; i++)
		l->argv[l->nargv++] = in->image.cmd[i];
}

/* env: the container's, then the image's it does not override; PWD names the working
 * directory asked for (the image's when the container gives none), unless set. */
static void merge_env(const struct builder_input *in, struct layout *l)
{
	size_t nie = strv_len(in->image.env), nse = strv_len(in->env);
	l->env = xzalloc(sizeof(char *) * (nie + nse + 2));
	for (size_t i = 0; i < nse; i++)
		l->env[l->nenv++] = in->env[i];
	for (size_t i = 0; i < nie; i++) {
		const char *ie = in->image.env[i];
		const char *eq = strchr(ie, '=');
		size_t kl = eq ? (size_t)(eq - ie) : strlen(ie);
		bool overridden = false;
		for (size_t k = 0; k < nse; k++)
			overridden |= strncmp(in->env[k], ie, kl) == 0 && in->env[k][kl] == '=';
		if (!overridden)
			l->env[l->nenv++] = ie;
	}
	/* WASI has no working directory: PWD says which one the container asked for, for
	 * apps that honour it. */
	const char *wd = in->working_dir && *in->working_dir ? in->working_dir
			 : in->image.working_dir && *in->image.working_dir ? in->image.working_dir
									    : NULL;
	bool has_pwd = false;
	for (size_t i = 0; i < l->nenv; i++)
		has_pwd |= strncmp(l->env[i], "PWD=", 4) == 0;
	if (wd && !has_pwd)
		l->env[l->nenv++] = own(l, xasprintf("PWD=%s", wd));
}

/* Drops file entries that a mount at `path` covers: the same path, or a directory
 * above it. */
static void shadow_files(struct layout *l, const char *path)
{
	size_t cl = strlen(path);
	for (size_t k = l->nfiles; k-- > 0;)
		if (strncmp(l->files[k].path, path, cl) == 0 &&
		    (l->files[k].path[cl] == 0 || l->files[k].path[cl] == '/' || path[cl - 1] == '/'))
			l->files[k] = l->files[--l->nfiles];
}

/* The rootfs, preopens, mounts and files. Copies: the image's files besides the module
 * (if it carries any) at "/", then each copied mount at its container path. "/" is
 * preopened when anything but directory mounts is in the tree (image files, file
 * mounts such as /etc/hosts), so absolute and (wasi-libc resolves them from "/")
 * relative paths reach the files; each directory mount is preopened at its path as
 * well. A file cannot be a preopen: it is reached through "/". Shares: a directory is
 * mounted and preopened at its path; a file is its directory's share with the file as
 * the mount's entry; a tagged mount is its entry of the caller's share, directory or
 * file, and makes no share. */
static void lay_out_mounts(const struct builder_input *in, const bool *is_file,
			   struct layout *l, struct builder_artifact *a)
{
	size_t nm = in->nmounts;
	bool image_files = in->image.rootfs && rootfs_has_files(in->image.rootfs, in->module.path);
	bool file_mounts = false;
	for (size_t i = 0; i < nm; i++)
		file_mounts |= is_file[i];
	l->dirs = xzalloc(sizeof(*l->dirs) * (nm + 2));
	l->pre = xzalloc(sizeof(*l->pre) * (nm + 2));
	l->mnt = xzalloc(sizeof(*l->mnt) * (nm + 1));
	l->files = xzalloc(sizeof(*l->files) * (nm + 1));
	a->shares = xzalloc(sizeof(*a->shares) * (nm + 1));
	a->copy_back = xzalloc(sizeof(*a->copy_back) * (nm + 1));
	if (image_files)
		l->dirs[l->ndirs++] = (struct rootfs_dir){in->image.rootfs, ""};
	if (image_files || file_mounts)
		l->pre[l->npre++] = (struct boot_preopen){"/", "/", false};
	for (size_t i = 0; i < nm; i++) {
		const struct builder_mount *m = &in->mounts[i];
		if (m->tag) { /* an entry of the caller's share, directory or file alike */
			shadow_files(l, m->guest_path);
			l->mnt[l->nmnt++] = (struct boot_mount){m->guest_path, m->tag, m->entry,
								m->readonly};
			if (!is_file[i])
				l->pre[l->npre++] = (struct boot_preopen){m->guest_path, m->guest_path,
									  m->readonly};
			continue;
		}
		if (m->share) {
			char *real = realpath(m->host_path, NULL);
			char *host = real ? real : xstrdup(m->host_path);
			const char *entry = NULL;
			if (is_file[i]) {
				entry = own(l, xstrdup(base_name(host)));
				char *slash = strrchr(host, '/');
				if (slash)
					*(slash == host ? slash + 1 : slash) = 0;
			}
			struct builder_share *s = &a->shares[a->nshares];
			*s = (struct builder_share){xasprintf("kumo%zu", a->nshares), host, m->readonly};
			a->nshares++;
			shadow_files(l, m->guest_path);
			l->mnt[l->nmnt++] = (struct boot_mount){m->guest_path, s->tag, entry, m->readonly};
			if (!is_file[i])
				l->pre[l->npre++] = (struct boot_preopen){m->guest_path, m->guest_path,
									  m->readonly};
			continue;
		}
		l->dirs[l->ndirs++] = (struct rootfs_dir){m->host_path, m->guest_path};
		/* A later mount at the same path, or a directory above it, shadows an
		 * earlier file mount. */
		shadow_files(l, m->guest_path);
		if (!is_file[i]) {
			l->pre[l->npre++] = (struct boot_preopen){m->guest_path, m->guest_path,
								  m->readonly};
			continue;
		}
		/* A file mount is a "files" entry of the boot config: pinned, read-only when
		 * the mount is, and copied back to the host file at exit when writable (the
		 * termination-message file kubelet reads after the exit). */
		l->files[l->nfiles++] = (struct boot_file){m->guest_path, m->readonly, !m->readonly};
		if (!m->readonly)
			a->copy_back[a->ncopy_back++] = (struct builder_copy_back){
				xstrdup(m->guest_path), xstrdup(m->host_path)};
	}
}

int builder_prepare(const struct builder_input *in, struct builder_artifact *out,
		    kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	autofree bool *is_file = xzalloc(sizeof(bool) * (in->nmounts + 1));
	for (size_t i = 0; i < in->nmounts; i++)
		if (check_mount(&in->mounts[i], &is_file[i], err) < 0)
			return -1;
	uint64_t t0 = kumo_now_ns();
	if (cache_kernel_image(&in->options, &in->module, &out->kernel, out->kernel_id,
			       &out->object_cached, &out->image_cached, err) < 0)
		return -1;
	out->build_ns = kumo_now_ns() - t0;

	struct layout l = {.owned = xzalloc(sizeof(char *) * (2 * in->nmounts + 2))};
	merge_argv(in, &l);
	merge_env(in, &l);
	lay_out_mounts(in, is_file, &l, out);
	struct boot_config cfg = {
		.args = l.argv, .nargs = l.nargv, .env = l.env, .nenv = l.nenv,
		.preopens = l.pre, .npreopens = l.npre, .mounts = l.mnt, .nmounts = l.nmnt,
		.net = in->net, .files = l.files, .nfiles = l.nfiles,
	};
	out->initrd = xasprintf("%s/initrd.img", in->run_dir);
	int ret = kumo_mkdir_p(in->run_dir, 0700, err);
	if (ret == 0)
		ret = initrd_write(out->initrd, &cfg, l.dirs, l.ndirs, &out->boot_config, err);
	layout_clear(&l);
	if (ret < 0)
		builder_artifact_free(out);
	return ret;
}

void builder_artifact_free(struct builder_artifact *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nshares; i++) {
		free(a->shares[i].tag);
		free(a->shares[i].host_path);
	}
	for (size_t i = 0; i < a->ncopy_back; i++) {
		free(a->copy_back[i].guest_path);
		free(a->copy_back[i].host_path);
	}
	free(a->shares);
	free(a->copy_back);
	free(a->kernel);
	free(a->initrd);
	free(a->boot_config);
	memset(a, 0, sizeof(*a));
}

/* ---- pod VMs ---------------------------------------------------------------------- */

int builder_pod_kernel(char **path, kumo_error_t *err)
{
	autofree char *dir = NULL;
	if (builder_kernel_dir(&dir, err) < 0)
		return -1;
	char *p = xasprintf("%s/kernel.elf", dir);
	if (access(p, R_OK) != 0) {
		kumo_error(err, KUMO_E_NOT_FOUND,
			   "pod kernel image `%s` not found (build it with `make kernel`)", p);
		free(p);
		return -1;
	}
	*path = p;
	return 0;
}

int builder_pod_initrd(const char *run_dir, const char *pod_name, const struct builder_net *net,
		       char **initrd, kumo_error_t *err)
{
	struct builder_net n;
	if (net) {
		n = *net;
		n.listen = NULL;
		n.nlisten = 0;
	}
	struct boot_config cfg = {.net = net ? &n : NULL, .pod_name = pod_name};
	char *path = xasprintf("%s/initrd.img", run_dir);
	if (kumo_mkdir_p(run_dir, 0700, err) < 0 ||
	    initrd_write(path, &cfg, NULL, 0, NULL, err) < 0) {
		free(path);
		return -1;
	}
	*initrd = path;
	return 0;
}

int builder_pod_container(const struct builder_input *in, const char *name,
			  const char *const *listen, size_t nlisten, uint64_t memory_limit,
			  struct builder_object *obj, char **json, size_t *skipped_files,
			  kumo_error_t *err)
{
	autofree bool *is_file = xzalloc(sizeof(bool) * (in->nmounts + 1));
	for (size_t i = 0; i < in->nmounts; i++)
		if (check_mount(&in->mounts[i], &is_file[i], err) < 0)
			return -1;
	if (builder_compile(&in->options, &in->module, obj, err) < 0)
		return -1;
	/* An import the kernel lacks is refused here, as builder_prepare refuses it (the
	 * kernel's linker would say the same, later). */
	if (cache_check_imports(&in->options, obj->key, &in->module, err) < 0) {
		builder_object_free(obj);
		return -1;
	}
	struct layout l = {.owned = xzalloc(sizeof(char *) * 2)};
	merge_argv(in, &l);
	merge_env(in, &l);
	json_t *root = json_object();
	if (name)
		json_object_set_new(root, "name", json_string(name));
	json_t *args = json_array(), *env = json_array(), *pre = json_array(), *ln = json_array();
	for (size_t i = 0; i < l.nargv; i++)
		json_array_append_new(args, json_string(l.argv[i]));
	for (size_t i = 0; i < l.nenv; i++)
		json_array_append_new(env, json_string(l.env[i]));
	*skipped_files = 0;
	for (size_t i = 0; i < in->nmounts; i++) {
		const struct builder_mount *m = &in->mounts[i];
		if (!m->tag || is_file[i]) {
			*skipped_files += 1;
			continue;
		}
		json_array_append_new(pre, json_pack("{s:s, s:s, s:s, s:b}", "guest", m->guest_path,
						     "share", m->tag, "path", m->entry, "readonly",
						     m->readonly));
	}
	for (size_t i = 0; i < nlisten; i++)
		json_array_append_new(ln, json_string(listen[i]));
	json_object_set_new(root, "args", args);
	json_object_set_new(root, "env", env);
	json_object_set_new(root, "preopens", pre);
	json_object_set_new(root, "listen", ln);
	if (memory_limit)
		json_object_set_new(root, "memory_limit", json_integer((json_int_t)memory_limit));
	layout_clear(&l);
	*json = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	if (!*json)
		abort(); /* allocation, or invalid UTF-8 from the caller's strings */
	return 0;
}
