/* cri/exec_resolve.c - the file an exec runs: the command looked up in the container's file tree on the host (rootfs and mounts, RESOLVE_IN_ROOT), and checked to be a WebAssembly module. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cri/exec_resolve.h"

char *exec_clean_path(const char *p)
{
	char *out = xzalloc(strlen(p) + 2);
	size_t n = 0;
	for (const char *s = p; *s;) {
		while (*s == '/')
			s++;
		const char *e = strchrnul(s, '/');
		size_t k = (size_t)(e - s);
		if (k == 0 || (k == 1 && s[0] == '.')) {
		} else if (k == 2 && s[0] == '.' && s[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			out[n++] = '/';
			memcpy(out + n, s, k);
			n += k;
		}
		s = e;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = 0;
	return out;
}

/* Opens guest path `path` (clean, absolute) for reading: an fd of a regular file, or
 * -errno. The rest of the path below the mount covering it is resolved inside that
 * mount (RESOLVE_IN_ROOT: no symlink or ".." leaves it); O_NONBLOCK: an image's FIFO
 * does not hang the open (it is refused as not a regular file). */
static int tree_open(const char *rootfs, json_t *mounts, const char *path)
{
	const char *host = rootfs;
	size_t best = 0;
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) {
		const char *g = json_string_value(json_object_get(m, "guest"));
		const char *h = json_string_value(json_object_get(m, "host"));
		if (!g || !h)
			continue;
		autofree char *cg = exec_clean_path(g);
		size_t l = strcmp(cg, "/") == 0 ? 0 : strlen(cg);
		if ((l == 0 || (strncmp(path, cg, l) == 0 && (path[l] == 0 || path[l] == '/'))) &&
		    l >= best) {
			host = h;
			best = l;
		}
	}
	if (!host)
		return -ENOENT;
	const char *rest = path + best;
	while (*rest == '/')
		rest++;
	struct stat st;
	if (stat(host, &st) < 0)
		return -errno;
	int fd;
	if (!S_ISDIR(st.st_mode)) { /* a file mount: only its own path */
		if (*rest)
			return -ENOTDIR;
		fd = open(host, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	} else {
		if (!*rest)
			return -EISDIR;
		int dfd = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
		struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		fd = (int)syscall(SYS_openat2, dfd, rest, &how, sizeof(how));
		int e = errno;
		close(dfd);
		errno = e;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	return fd;
}

/* The value of NAME in env ("NAME=value" strings), NULL: unset. */
static const char *env_get(json_t *env, const char *name)
{
	size_t i, l = strlen(name);
	json_t *e;
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, name, l) == 0 && s[l] == '=')
			return s + l + 1;
	}
	return NULL;
}

int exec_resolve(const char *rootfs, json_t *mounts, json_t *env, const char *argv0,
		 const char *ctr, int *fd, char **guest, kumo_error_t *err)
{
	if (strchr(argv0, '/')) {
		const char *wd = env_get(env, "PWD");
		autofree char *joined = argv0[0] == '/' ? xstrdup(argv0)
							: xasprintf("%s/%s", wd ? wd : "/", argv0);
		char *path = exec_clean_path(joined);
		*fd = tree_open(rootfs, mounts, path);
		if (*fd >= 0) {
			*guest = path;
			return 0;
		}
		int e = -*fd;
		kumo_error(err, e == ENOENT || e == ENOTDIR ? KUMO_E_NOT_FOUND : KUMO_E_INVALID,
			   "`%s` (`%s`) is not a file of container `%.12s`'s image or mounts (%s); "
			   "exec on kumo runs WebAssembly modules: a .wasm file of the container's "
			   "image or mounts, named by its path or found on the container's PATH",
			   argv0, path, ctr, strerror(e));
		free(path);
		return -1;
	}
	const char *pv = env_get(env, "PATH");
	autofree char *search = xstrdup(pv ? pv : EXEC_DEFAULT_PATH);
	char *save = NULL;
	for (char *d = strtok_r(search, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		for (int wasm = 0; wasm < 2; wasm++) {
			autofree char *joined = xasprintf("%s/%s%s", d, argv0, wasm ? ".wasm" : "");
			char *path = exec_clean_path(joined);
			*fd = tree_open(rootfs, mounts, path);
			if (*fd >= 0) {
				*guest = path;
				return 0;
			}
			free(path);
		}
	}
	return kumo_error(err, KUMO_E_NOT_FOUND,
			  "`%s` is not on container `%.12s`'s PATH (`%s`), as `%s` or `%s.wasm`, "
			  "in its image or mounts; exec on kumo runs WebAssembly modules: a .wasm "
			  "file of the container's image or mounts, named by its path or found on "
			  "the container's PATH (there is no shell or other Linux program in a kumo "
			  "pod)",
			  argv0, ctr, pv ? pv : EXEC_DEFAULT_PATH, argv0, argv0);
}

int exec_check_module(int fd, const char *argv0, const char *guest, kumo_error_t *err)
{
	uint8_t m[4] = {0};
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n == 4 && memcmp(m, "\0asm", 4) == 0)
		return 0;
	if (n == 4 && memcmp(m, "\177ELF", 4) == 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "`%s` (`%s`) is a Linux program (ELF), not a WebAssembly module: "
				  "exec on kumo runs .wasm modules of the container's image or mounts, "
				  "linked into the pod's kernel; a kumo pod has no Linux to run it",
				  argv0, guest);
	if (n >= 2 && m[0] == '#' && m[1] == '!')
		return kumo_error(err, KUMO_E_INVALID,
				  "`%s` (`%s`) is a script (`#!`), not a WebAssembly module: exec on "
				  "kumo runs .wasm modules of the container's image or mounts; a kumo "
				  "pod has no interpreter to run it",
				  argv0, guest);
	return kumo_error(err, KUMO_E_INVALID,
			  "`%s` (`%s`) is not a WebAssembly module (no `\\0asm` header): exec on "
			  "kumo runs .wasm modules of the container's image or mounts",
			  argv0, guest);
}
