/* common/util.c - allocation, logging, files and clocks for host code. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common.h"

static void out_of_memory(void)
{
	fputs("kumo: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xzalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		out_of_memory();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		out_of_memory();
	va_end(ap);
	return s;
}

static int log_threshold = -1;

void kumo_log_set_level(int level)
{
	log_threshold = level;
}

void kumo_log(int level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (log_threshold < 0) {
		const char *env = getenv("KUMO_LOG");
		log_threshold = KUMO_LOG_INFO;
		for (int i = 0; env && i < 4; i++)
			if (strcmp(env, names[i]) == 0)
				log_threshold = i;
	}
	if (level < log_threshold)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		names[level], line);
}

int kumo_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_len,
		   kumo_error_t *err)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return kumo_error_errno(err, errno, "stat `%s`", path);
	if (!S_ISREG(st.st_mode))
		return kumo_error(err, KUMO_E_INVALID, "`%s` is not a regular file", path);
	if ((uint64_t)st.st_size > max_bytes)
		return kumo_error(err, KUMO_E_INVALID, "`%s` is larger than %zu bytes", path,
				  max_bytes);
	size_t cap = (size_t)st.st_size, len = 0;
	uint8_t *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap >= max_bytes) {
				free(buf);
				return kumo_error(err, KUMO_E_INVALID,
						  "`%s` is larger than %zu bytes", path, max_bytes);
			}
			cap = cap ? cap * 2 : 4096;
			if (cap > max_bytes)
				cap = max_bytes;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return kumo_error_errno(err, e, "read `%s`", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	*out = buf;
	*out_len = len;
	return 0;
}

int kumo_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Temp file + rename; with `durable`, fsync'd file and directory. */
static int write_replace(const char *path, const void *data, size_t len, int mode, bool durable,
			 kumo_error_t *err)
{
	autofree char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return kumo_error_errno(err, errno, "create `%s`", tmp);
	if (kumo_write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
		int e = errno;
		unlink(tmp);
		return kumo_error_errno(err, e, "write `%s`", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return kumo_error_errno(err, e, "rename `%s` to `%s`", tmp, path);
	}
	if (!durable)
		return 0;
	autofree char *dircopy = xstrdup(path);
	autoclose int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

int kumo_write_file_atomic(const char *path, const void *data, size_t len, int mode,
			   kumo_error_t *err)
{
	return write_replace(path, data, len, mode, true, err);
}

int kumo_write_file_replace(const char *path, const void *data, size_t len, int mode,
			    kumo_error_t *err)
{
	return write_replace(path, data, len, mode, false, err);
}

int kumo_mkdir_p(const char *path, int mode, kumo_error_t *err)
{
	autofree char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return kumo_error_errno(err, errno, "mkdir `%s`", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return kumo_error_errno(err, errno, "mkdir `%s`", p);
	return 0;
}

static int rm_tree_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void kumo_rm_tree(const char *path)
{
	nftw(path, rm_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool is_executable_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

char *kumo_find_executable(const char *name, const char *search_path)
{
	if (strchr(name, '/'))
		return is_executable_file(name) ? xstrdup(name) : NULL;
	if (!search_path)
		search_path = getenv("PATH");
	autofree char *copy = xstrdup(search_path ? search_path : "/usr/bin:/bin");
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);
		if (is_executable_file(p))
			return p;
		free(p);
	}
	return NULL;
}

uint64_t kumo_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool kumo_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}
