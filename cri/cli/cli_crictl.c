/* cri/cli/cli_crictl.c - kumod's CRI socket from the kumo CLI, through kumo-crictl. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "cri/cli/cli_crictl.h"

extern char **environ;

/* kumo-crictl beside this program (the build tree, the installed lib/kumo/bin), else PATH. */
static char *crictl_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			char *p = xasprintf("%s/kumo-crictl", self);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	char *p = kumo_find_executable("kumo-crictl", NULL);
	return p ? p : xstrdup("kumo-crictl");
}

int cli_crictl_start(const char *sock, const char *method, json_t *req, int timeout_s,
		     struct cli_crictl_job *job, kumo_error_t *err)
{
	autofree char *bin = crictl_path();
	autofree char *text = json_dumps(req, JSON_COMPACT);
	autofree char *tmo = xasprintf("%d", timeout_s);
	char *argv[] = {bin, "--socket", (char *)sock, "--timeout", tmo, (char *)method, text, NULL};
	int out[2], errp[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return kumo_error_errno(err, errno, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return kumo_error_errno(err, errno, "pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	int rc = posix_spawn(&job->pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(errp[1]);
	if (rc != 0) {
		close(out[0]);
		close(errp[0]);
		return kumo_error_errno(err, rc, "run `%s`", bin);
	}
	job->out = out[0];
	job->err = errp[0];
	return 0;
}

/* Reads both pipes to their ends (either may fill while the other is read). */
static void drain(struct cli_crictl_job *job, char **out, char **errout)
{
	size_t n[2] = {0, 0}, cap[2] = {4096, 4096};
	char *buf[2] = {xmalloc(cap[0]), xmalloc(cap[1])};
	struct pollfd p[2] = {{.fd = job->out, .events = POLLIN}, {.fd = job->err, .events = POLLIN}};
	int open_fds = 2;
	while (open_fds) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (n[i] + 4096 + 1 > cap[i]) {
				cap[i] *= 2;
				buf[i] = xrealloc(buf[i], cap[i]);
			}
			ssize_t r = read(p[i].fd, buf[i] + n[i], cap[i] - n[i] - 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				p[i].fd = -1;
				open_fds--;
				continue;
			}
			n[i] += (size_t)r;
		}
	}
	buf[0][n[0]] = 0;
	buf[1][n[1]] = 0;
	*out = buf[0];
	*errout = buf[1];
}

int cli_crictl_finish(struct cli_crictl_job *job, json_t **resp, kumo_error_t *err)
{
	autofree char *out = NULL, *errout = NULL;
	drain(job, &out, &errout);
	close(job->out);
	close(job->err);
	int status = 0;
	while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (resp)
			*resp = json_loads(out, 0, NULL);
		return 0;
	}
	/* "rpc error: code = C desc = MESSAGE": kumod's message is what the user needs. */
	errout[strcspn(errout, "\n")] = 0;
	const char *desc = strstr(errout, " desc = ");
	bool unavailable = strstr(errout, "code = Unavailable") != NULL;
	return kumo_error(err, unavailable ? KUMO_E_UNAVAILABLE : KUMO_E_INTERNAL, "%s",
			  desc ? desc + 8 : *errout ? errout : "kumo-crictl failed");
}

int cli_crictl_call(const char *sock, const char *method, json_t *req, int timeout_s,
		    json_t **resp, kumo_error_t *err)
{
	struct cli_crictl_job job;
	if (cli_crictl_start(sock, method, req, timeout_s, &job, err) < 0)
		return -1;
	return cli_crictl_finish(&job, resp, err);
}
