/* vmm/crilog.c - writes a container's stdout/stderr into a CRI log file
 * ("<RFC3339Nano> <stdout|stderr> <F|P> <line>"), splitting long lines, holding
 * unfinished ones, reopening after rotation. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "vmm.h"

struct vmm_crilog {
	char *path;                  /* kubelet's log_path */
	int fd;                      /* O_APPEND */
	uint64_t (*clock_ns)(void);  /* wall clock, ns since the epoch */
	char *part[2];               /* unfinished line per stream (VMM_CRILOG_MAX_LINE) */
	size_t plen[2];              /* its length */
	char *rec;                   /* one record being formatted */
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_log(struct vmm_crilog *log, kumo_error_t *err)
{
	log->fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (log->fd < 0)
		return kumo_error_errno(err, errno, "open cri log `%s`", log->path);
	return 0;
}

int vmm_crilog_open(const char *path, uint64_t (*clock_ns)(void), struct vmm_crilog **out,
		    kumo_error_t *err)
{
	struct vmm_crilog *log = xzalloc(sizeof(*log));
	log->path = xstrdup(path);
	log->clock_ns = clock_ns ? clock_ns : realtime_ns;
	if (open_log(log, err) < 0) {
		free(log->path);
		free(log);
		return -1;
	}
	for (int s = 0; s < 2; s++)
		log->part[s] = xmalloc(VMM_CRILOG_MAX_LINE);
	log->rec = xmalloc(VMM_CRILOG_MAX_LINE + 64);
	*out = log;
	return 0;
}

/* One record: a (a_len bytes) followed by b (b_len bytes) is the line's content. */
static int emit(struct vmm_crilog *log, enum vmm_stream s, char tag, const char *a, size_t a_len,
		const char *b, size_t b_len, kumo_error_t *err)
{
	uint64_t now = log->clock_ns();
	time_t sec = (time_t)(now / 1000000000ull);
	struct tm tm;
	gmtime_r(&sec, &tm);
	int n = snprintf(log->rec, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ %s %c ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (unsigned long long)(now % 1000000000ull),
			 s == VMM_STDOUT ? "stdout" : "stderr", tag);
	size_t len = (size_t)n;
	memcpy(log->rec + len, a, a_len);
	len += a_len;
	memcpy(log->rec + len, b, b_len);
	len += b_len;
	log->rec[len++] = '\n';
	/* One write per record: O_APPEND keeps records of both streams whole. */
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(log->fd, log->rec + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return kumo_error_errno(err, errno, "write cri log `%s`", log->path);
		off += (size_t)w;
	}
	return 0;
}

int vmm_crilog_write(struct vmm_crilog *log, enum vmm_stream s, const void *buf, size_t len,
		     kumo_error_t *err)
{
	const char *p = buf, *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t take = (size_t)((nl ? nl : end) - p);
		/* Split what does not fit into P records of the maximum size. */
		while (log->plen[s] + take > VMM_CRILOG_MAX_LINE ||
		       (!nl && log->plen[s] + take == VMM_CRILOG_MAX_LINE)) {
			size_t room = VMM_CRILOG_MAX_LINE - log->plen[s];
			if (emit(log, s, 'P', log->part[s], log->plen[s], p, room, err) < 0)
				return -1;
			log->plen[s] = 0;
			p += room;
			take -= room;
		}
		if (!nl) {
			memcpy(log->part[s] + log->plen[s], p, take);
			log->plen[s] += take;
			break;
		}
		const char *a = log->part[s];
		size_t a_len = log->plen[s], b_len = take;
		if (b_len && p[b_len - 1] == '\r')
			b_len--;
		else if (!b_len && a_len && a[a_len - 1] == '\r')
			a_len--;
		if (emit(log, s, 'F', a, a_len, p, b_len, err) < 0)
			return -1;
		log->plen[s] = 0;
		p = nl + 1;
	}
	return 0;
}

int vmm_crilog_flush(struct vmm_crilog *log, bool final, kumo_error_t *err)
{
	for (int s = 0; s < 2; s++) {
		if (!log->plen[s])
			continue;
		if (emit(log, (enum vmm_stream)s, final ? 'F' : 'P', log->part[s], log->plen[s], "",
			 0, err) < 0)
			return -1;
		log->plen[s] = 0;
	}
	return 0;
}

int vmm_crilog_reopen(struct vmm_crilog *log, kumo_error_t *err)
{
	int old = log->fd;
	if (open_log(log, err) < 0) {
		log->fd = old;
		return -1;
	}
	close(old);
	return 0;
}

void vmm_crilog_pending(const struct vmm_crilog *log, size_t pending[2])
{
	for (int s = 0; s < 2; s++)
		pending[s] = log ? log->plen[s] : 0;
}

void vmm_crilog_drop_partial(struct vmm_crilog *log, size_t dropped[2])
{
	for (int s = 0; s < 2; s++) {
		dropped[s] = log->plen[s];
		log->plen[s] = 0;
	}
}

void vmm_crilog_close(struct vmm_crilog *log)
{
	if (!log)
		return;
	kumo_error_t err = NULL;
	if (vmm_crilog_flush(log, true, &err) < 0) {
		log_warn("vmm: %s", kumo_error_msg(err));
		kumo_error_free(&err);
	}
	close(log->fd);
	free(log->part[0]);
	free(log->part[1]);
	free(log->rec);
	free(log->path);
	free(log);
}
