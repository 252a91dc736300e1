/* vmm/console.c - the console pump: follows a VM's raw serial files (inotify) into its
 * sinks (a raw fd and the CRI log), saving how far it got so a re-attach resumes; or,
 * for a VM whose console is a stream (vmm_spec.console_stream), reads COM1 and COM2 from
 * sockets QEMU writes to, with nothing kept on disk. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>

#include "vmm_backend.h"

/* An unfinished line older than this goes to the CRI log as a P record. */
#define PARTIAL_FLUSH_MS 200

struct vmm_console {
	struct vmm_vm *vm;          /* owner (for the OUTPUT event) */
	bool stream;                /* COM1/COM2 come on sockets, not raw files */
	int raw[2];                 /* read fds of stdout.raw, stderr.raw; stream: our
				     * (non-blocking) ends of the two sockets */
	int peer[2];                /* stream: QEMU's ends, -1 once handed over */
	bool eof[2];                /* stream: QEMU closed that one */
	uint64_t off[2];            /* bytes of each raw stream already delivered */
	int sink[2];                /* caller's raw fds, -1: none (not owned) */
	struct vmm_crilog *log;     /* CRI log, NULL: none */
	int offsets_fd;             /* run_dir/console.offsets: off[] as two u64, -1: none
				     * (stream) */
	int inotify_fd;             /* IN_MODIFY on both raw files, -1: none (stream) */
	int stop_fd;                /* eventfd: finish() asks the thread to end */
	pthread_t thread;           /* the pump thread */
	bool thread_started;
	pthread_mutex_t lock;       /* serialises pumping, reopen and finish */
	bool partial_pending;       /* the CRI log holds an unfinished line */
	uint64_t first_output_ns;   /* first byte seen, 0: none yet */
	char buf[65536];            /* read buffer (under lock) */
};

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the reader went away: the CRI log still gets everything */
		buf += n;
		len -= (size_t)n;
	}
}

/* Saves how far the CRI log got: the bytes read, less an unfinished line still held in
 * memory (the guest's UART writes a line a byte at a time, so one often straddles two
 * reads). A kumod killed now loses that memory; the next owner reads the line again
 * from its start, so it is neither lost nor cut. */
static void save_offsets(struct vmm_console *c)
{
	if (c->offsets_fd < 0)
		return;
	size_t pending[2];
	vmm_crilog_pending(c->log, pending);
	uint64_t saved[2];
	for (int s = 0; s < 2; s++)
		saved[s] = c->off[s] - (pending[s] <= c->off[s] ? pending[s] : c->off[s]);
	if (pwrite(c->offsets_fd, saved, sizeof(saved), 0) < 0)
		log_debug("vmm: vm `%s`: saving console offsets: %s", c->vm->spec.name,
			  strerror(errno));
}

/* Delivers everything new in the raw files. Returns true when bytes arrived. */
static bool pump_locked(struct vmm_console *c)
{
	char *tbuf = c->buf;
	bool got = false;
	for (int s = 0; s < 2; s++) {
		while (c->raw[s] >= 0 && !c->eof[s]) {
			ssize_t n = c->stream ? read(c->raw[s], tbuf, sizeof(c->buf))
					      : pread(c->raw[s], tbuf, sizeof(c->buf), (off_t)c->off[s]);
			if (n < 0 && errno == EINTR)
				continue;
			if (c->stream && (n == 0 || (n < 0 && errno != EAGAIN)))
				c->eof[s] = true; /* QEMU is gone: nothing more comes */
			if (n <= 0)
				break;
			got = true;
			c->off[s] += (uint64_t)n;
			if (c->sink[s] >= 0)
				write_all(c->sink[s], tbuf, (size_t)n);
			if (c->log) {
				kumo_error_t err = NULL;
				if (vmm_crilog_write(c->log, (enum vmm_stream)s, tbuf, (size_t)n, &err) < 0) {
					log_warn("vmm: vm `%s`: %s", c->vm->spec.name, kumo_error_msg(err));
					kumo_error_free(&err);
				}
				c->partial_pending = true;
			}
		}
	}
	if (got)
		save_offsets(c);
	return got;
}

static void pump(struct vmm_console *c)
{
	pthread_mutex_lock(&c->lock);
	bool got = pump_locked(c);
	bool first = got && !c->first_output_ns;
	if (first)
		c->first_output_ns = kumo_now_ns();
	pthread_mutex_unlock(&c->lock);
	if (first)
		vmm_emit(c->vm->vmm, VMM_EVENT_OUTPUT, c->vm);
}

static void *pump_thread(void *arg)
{
	struct vmm_console *c = arg;
	char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		/* Files: one inotify fd for both; stream: the sockets still open. A negative
		 * fd is skipped by poll. */
		struct pollfd pfd[3] = {
			{.fd = c->stream ? (c->eof[0] ? -1 : c->raw[0]) : c->inotify_fd, .events = POLLIN},
			{.fd = c->stream && !c->eof[1] ? c->raw[1] : -1, .events = POLLIN},
			{.fd = c->stop_fd, .events = POLLIN}};
		int r = poll(pfd, 3, c->partial_pending ? PARTIAL_FLUSH_MS : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (pfd[2].revents & POLLIN))
			break;
		if (r == 0) {
			/* Quiet for a while with an unfinished line: log what there is. */
			pthread_mutex_lock(&c->lock);
			kumo_error_t err = NULL;
			if (c->log && vmm_crilog_flush(c->log, false, &err) < 0)
				kumo_error_free(&err);
			c->partial_pending = false;
			save_offsets(c); /* that part of the line is in the file now */
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		while (!c->stream && read(c->inotify_fd, evbuf, sizeof(evbuf)) > 0)
			;
		pump(c);
	}
	return NULL;
}

/* The stream console's two socket pairs: ours non-blocking, QEMU's as they are. Nothing
 * is ever written on ours (a shutdown would read as a hang-up to QEMU, which then drops
 * the port's output). */
static int open_streams(struct vmm_console *c, kumo_error_t *err)
{
	for (int s = 0; s < 2; s++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return kumo_error_errno(err, errno, "console of vm `%s`: socketpair",
						c->vm->spec.name);
		c->raw[s] = sv[0];
		c->peer[s] = sv[1];
		int fl = fcntl(sv[0], F_GETFL);
		if (fl < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) < 0)
			return kumo_error_errno(err, errno, "console of vm `%s`: socket",
						c->vm->spec.name);
	}
	return 0;
}

/* The raw files' pump: an inotify watch on each, the saved offsets. */
static int open_files(struct vmm_console *c, bool resume, kumo_error_t *err)
{
	struct vmm_vm *vm = c->vm;
	const char *names[2] = {VMM_RAW_STDOUT, VMM_RAW_STDERR};
	c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->inotify_fd < 0)
		return kumo_error_errno(err, errno, "console of vm `%s`: inotify", vm->spec.name);
	for (int s = 0; s < 2; s++) {
		autofree char *p = xasprintf("%s/%s", vm->spec.run_dir, names[s]);
		c->raw[s] = open(p, O_RDONLY | O_CLOEXEC);
		if (c->raw[s] < 0)
			return kumo_error_errno(err, errno, "open `%s`", p);
		if (inotify_add_watch(c->inotify_fd, p, IN_MODIFY) < 0)
			return kumo_error_errno(err, errno, "watch `%s`", p);
	}
	autofree char *op = xasprintf("%s/%s", vm->spec.run_dir, VMM_CONSOLE_OFFSETS);
	c->offsets_fd = open(op, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (c->offsets_fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", op);
	if (resume && pread(c->offsets_fd, c->off, sizeof(c->off), 0) != sizeof(c->off))
		c->off[0] = c->off[1] = 0;
	return 0;
}

int vmm_console_start(struct vmm_vm *vm, bool resume, struct vmm_console **out,
		      kumo_error_t *err)
{
	struct vmm_console *c = xzalloc(sizeof(*c));
	c->vm = vm;
	c->stream = vm->spec.console_stream;
	c->raw[0] = c->raw[1] = c->peer[0] = c->peer[1] = -1;
	c->offsets_fd = c->inotify_fd = c->stop_fd = -1;
	c->sink[0] = vm->spec.stdout_fd;
	c->sink[1] = vm->spec.stderr_fd;
	pthread_mutex_init(&c->lock, NULL);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0) {
		kumo_error_errno(err, errno, "console of vm `%s`: eventfd", vm->spec.name);
		goto fail;
	}
	if ((c->stream ? open_streams(c, err) : open_files(c, resume, err)) < 0)
		goto fail;
	if (vm->spec.log_path && vmm_crilog_open(vm->spec.log_path, NULL, &c->log, err) < 0)
		goto fail;
	if (pthread_create(&c->thread, NULL, pump_thread, c) != 0) {
		kumo_error(err, KUMO_E_INTERNAL, "console of vm `%s`: cannot start a thread",
			   vm->spec.name);
		goto fail;
	}
	c->thread_started = true;
	*out = c;
	return 0;
fail:
	vmm_console_finish(c);
	return -1;
}

void vmm_console_peers(const struct vmm_console *c, int out[2])
{
	out[0] = c ? c->peer[0] : -1;
	out[1] = c ? c->peer[1] : -1;
}

void vmm_console_close_peers(struct vmm_console *c)
{
	for (int s = 0; c && s < 2; s++)
		if (c->peer[s] >= 0) {
			close(c->peer[s]);
			c->peer[s] = -1;
		}
}

static uint64_t finish(struct vmm_console *c, bool detach)
{
	if (!c)
		return 0;
	if (c->thread_started) {
		uint64_t one = 1;
		if (write(c->stop_fd, &one, sizeof(one)) < 0)
			log_warn("vmm: console stop: %s", strerror(errno));
		pthread_join(c->thread, NULL);
	}
	if (c->raw[0] >= 0 && c->raw[1] >= 0)
		pump(c);
	if (detach && c->log) {
		size_t dropped[2];
		vmm_crilog_drop_partial(c->log, dropped);
		for (int s = 0; s < 2; s++)
			c->off[s] -= dropped[s] <= c->off[s] ? dropped[s] : c->off[s];
		if (c->offsets_fd >= 0 && pwrite(c->offsets_fd, c->off, sizeof(c->off), 0) < 0)
			log_debug("vmm: vm `%s`: saving console offsets: %s", c->vm->spec.name,
				  strerror(errno));
	}
	vmm_crilog_close(c->log);
	vmm_console_close_peers(c);
	for (int s = 0; s < 2; s++)
		if (c->raw[s] >= 0)
			close(c->raw[s]);
	if (c->offsets_fd >= 0)
		close(c->offsets_fd);
	if (c->inotify_fd >= 0)
		close(c->inotify_fd);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	pthread_mutex_destroy(&c->lock);
	uint64_t first = c->first_output_ns;
	free(c);
	return first;
}

uint64_t vmm_console_finish(struct vmm_console *c)
{
	return finish(c, false);
}

void vmm_console_detach(struct vmm_console *c)
{
	finish(c, true);
}

int vmm_console_reopen(struct vmm_console *c, kumo_error_t *err)
{
	pthread_mutex_lock(&c->lock);
	int r = c->log ? vmm_crilog_reopen(c->log, err) : 0;
	pthread_mutex_unlock(&c->lock);
	return r;
}

uint64_t vmm_console_first_output_ns(struct vmm_console *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t t = c->first_output_ns;
	pthread_mutex_unlock(&c->lock);
	return t;
}
