/* cri/stream_attach.c - attach's output and input: the container's CRI log file
 * followed from its end (across kubelet's rotations) and turned back into the app's
 * stdout/stderr bytes, and the app's stdin through the fd kumod hands out.
 *
 * Why the log file: the console pump writes every line of the VM's output there exactly
 * once, across kumod restarts and log rotations, so following it loses nothing and
 * doubles nothing; a second sink on the pump would need the pump's cooperation for
 * both. The cost is the pump's line buffering: a partial line shows once the pump
 * writes it (as a `P` record).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "cri/cri.h"
#include "cri/stream_impl.h"

/* A CRI log line longer than this is cut (the pump never writes one this long). */
#define MAX_LINE (1024 * 1024)

struct ad {
	char *id;
	struct cri_attach_target t;
	int fd;             /* the log file being followed */
	dev_t dev;          /* its identity, to notice a rotation */
	ino_t ino;
	int ino_fd;         /* inotify: the file was written to */
	int wd;             /* its watch on the file */
	struct watch w_ino;
	struct sbuf line;   /* the start of a line not yet complete */
	bool ended;         /* the container stopped: status sent */
};

/* Emits one CRI log record "<time> <stream> <tags> <content>". */
static void emit_record(struct sess *s, struct rc *rc, struct ad *a, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n, *f[3];
	const uint8_t *q = p;
	for (int i = 0; i < 3; i++) {
		const uint8_t *sp = memchr(q, ' ', (size_t)(end - q));
		if (!sp) {
			log_debug("attach %.12s: a log line without its fields", a->id);
			return;
		}
		f[i] = sp + 1;
		q = sp + 1;
	}
	size_t stream_len = (size_t)(f[1] - 1 - f[0]);
	int which = stream_len == 6 && memcmp(f[0], "stderr", 6) == 0 ? RC_STDERR : RC_STDOUT;
	/* Tags are ':'-separated; "P" marks a partial line, anything else a full one. */
	bool partial = f[2] - 1 - f[1] >= 1 && f[1][0] == 'P' &&
		       (f[2] - 1 - f[1] == 1 || f[1][1] == ':');
	rc_output(s, rc, a->t.tty ? RC_STDOUT : which, f[2], (size_t)(end - f[2]));
	if (!partial)
		rc_output(s, rc, a->t.tty ? RC_STDOUT : which, "\n", 1);
}

/* Reads what the file holds now (all of it when `drain`, else as long as the client
 * keeps up), emitting each complete line. */
static void follow(struct sess *s, struct rc *rc, struct ad *a, bool drain)
{
	if (a->fd < 0)
		return;
	for (;;) {
		if (!drain && sess_out_full(s))
			return; /* the next tick or write continues */
		uint8_t *p = sbuf_reserve(&a->line, 65536);
		ssize_t n = read(a->fd, p, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		sbuf_commit(&a->line, (size_t)n);
		uint8_t *start = sbuf_head(&a->line);
		size_t left = sbuf_size(&a->line);
		uint8_t *nl;
		while ((nl = memchr(start, '\n', left))) {
			emit_record(s, rc, a, start, (size_t)(nl - start));
			left -= (size_t)(nl + 1 - start);
			start = nl + 1;
		}
		sbuf_consume(&a->line, sbuf_size(&a->line) - left);
		if (sbuf_size(&a->line) > MAX_LINE) {
			log_warn("attach %.12s: a log line longer than %d bytes: cut", a->id,
				 MAX_LINE);
			a->line.off = a->line.len = 0;
		}
	}
}

/* Opens the log (at its end, or its start after a rotation) and watches it. */
static int open_log(struct ad *a, bool at_end, kumo_error_t *err)
{
	int fd = open(a->t.log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "attach: open the container's log `%s`",
					a->t.log_path);
	struct stat st;
	fstat(fd, &st);
	if (at_end)
		lseek(fd, 0, SEEK_END);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->line.off = a->line.len = 0;
	if (a->wd >= 0)
		inotify_rm_watch(a->ino_fd, a->wd);
	a->wd = inotify_add_watch(a->ino_fd, a->t.log_path, IN_MODIFY);
	return 0;
}

/* A rotation: the path now names another file. The old one is read to its end first
 * (the pump writes to the new one only once it exists). */
static void check_rotation(struct sess *s, struct rc *rc, struct ad *a)
{
	struct stat st;
	if (stat(a->t.log_path, &st) < 0 || (st.st_dev == a->dev && st.st_ino == a->ino))
		return;
	follow(s, rc, a, true);
	kumo_error_t err = NULL;
	if (open_log(a, false, &err) < 0)
		log_debug("attach %.12s: %s (retrying)", a->id, kumo_error_msg(err));
	kumo_error_free(&err);
}

static void on_inotify(struct sess *s, struct watch *w, uint32_t events)
{
	struct rc *rc = w->arg;
	struct ad *a = *rc_driver_data(rc);
	char buf[4096];
	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
	follow(s, rc, a, false);
}

static int ad_start(struct sess *s, struct rc *rc, int *stdin_fd, kumo_error_t *err)
{
	const struct cri_stream_request *req = rc_request(rc);
	struct ad *a = xzalloc(sizeof(*a));
	*rc_driver_data(rc) = a;
	a->id = xstrdup(req->id);
	a->fd = a->ino_fd = a->wd = -1;
	a->t.stdin_fd = -1;
	*stdin_fd = -1;
	if (s->ops->attach_open(s->ops_ctx, req->id, req->in, &a->t, err) < 0)
		return -1;
	if (!a->t.log_path || !*a->t.log_path)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "container `%s` has no log file: kumo's attach follows the "
				  "container's CRI log",
				  req->id);
	a->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (a->ino_fd < 0)
		return kumo_error_errno(err, errno, "attach: inotify");
	if (open_log(a, true, err) < 0)
		return -1;
	a->w_ino = (struct watch){.fd = a->ino_fd, .events = EPOLLIN, .source = true,
				  .on_event = on_inotify, .arg = rc};
	sess_watch(s, &a->w_ino);
	*stdin_fd = a->t.stdin_fd; /* rc writes it and closes it */
	a->t.stdin_fd = -1;
	if (*stdin_fd >= 0)
		fcntl(*stdin_fd, F_SETFL, fcntl(*stdin_fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

static void ad_tick(struct sess *s, struct rc *rc, uint64_t now)
{
	struct ad *a = *rc_driver_data(rc);
	if (!a || a->ended)
		return;
	check_rotation(s, rc, a);
	follow(s, rc, a, false);
	int32_t code = 0;
	if (s->ops->ctr_running(s->ops_ctx, a->id, &code))
		return;
	/* The container ended. Its console pump wrote its last line before the exit was
	 * recorded, so what the file holds now is all of it. */
	check_rotation(s, rc, a);
	follow(s, rc, a, true);
	a->ended = true;
	log_debug("attach %.12s: the container exited with %d; attach ends", a->id, code);
	rc_done(s, rc, false, 0, NULL);
}

static void ad_stop(struct sess *s, struct rc *rc)
{
	struct ad *a = *rc_driver_data(rc);
	if (!a)
		return;
	if (a->w_ino.added)
		sess_unwatch(s, &a->w_ino);
	if (a->fd >= 0)
		close(a->fd);
	if (a->ino_fd >= 0)
		close(a->ino_fd);
	if (a->t.stdin_fd >= 0)
		close(a->t.stdin_fd);
	free(a->t.log_path);
	sbuf_free(&a->line);
	free(a->id);
	free(a);
	*rc_driver_data(rc) = NULL;
}

const struct rc_driver rc_attach_driver = {
	.start = ad_start,
	.tick = ad_tick,
	.stop = ad_stop,
};
