/* compiler/budget.c - the compile budget and the compile worker: one module's compile in
 * a child process, with RLIMIT_CPU, RLIMIT_AS and a wall-clock deadline when a budget is
 * set, so a module that makes LLVM work for minutes or eat gigabytes ends as an error,
 * not as an exhausted node.
 *
 * The child is a fresh exec, never a bare fork: kumod compiles on several threads at
 * once, and a child forked from one of them inherits every LLVM and libc lock another
 * thread held at that instant; it could hang forever on one. Which program is started is
 * codegen.h's choice: a program that links the code generator starts itself again
 * (/proc/self/exe, so a unit test needs nothing installed), one that does not (kumo,
 * kumod) starts kumo-compile, for every compile. Either way it runs with
 * KUMO_COMPILE_WORKER=1 and argv[0] "kumo-compile-worker": a constructor here notices it
 * before main() runs, compiles the request it finds on fd 3 (a memfd: options, limits,
 * the caller's compiler id, output path, module), writes its verdict on fd 4 and exits.
 * A worker of another compiler build refuses the request (its objects would land in the
 * cache under the caller's compiler id). Its stderr comes back on a pipe; it is read to
 * tell a memory budget hit ("out of memory" from LLVM or xmalloc) from a crash.
 *
 * Cost on a normal compile: one fork+exec of the worker and its dynamic linking
 * (libLLVM included), measured in README "Limits and hardening". Sanitizer builds
 * reserve terabytes of shadow memory at start, so RLIMIT_AS is not set there (the CPU
 * budget and the deadline still are). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "compiler/budget.h"
#include "compiler/codegen.h"
#include "compiler/compiler.h"

#if defined(__SANITIZE_ADDRESS__)
#define BUDGET_NO_RLIMIT_AS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUDGET_NO_RLIMIT_AS 1
#endif
#endif
#ifndef BUDGET_NO_RLIMIT_AS
#define BUDGET_NO_RLIMIT_AS 0
#endif

#define WORKER_ENV "KUMO_COMPILE_WORKER"
#define REQ_MAGIC 0x6b756d6f62756468ull /* "kumobudh": with the compiler id */
#define FD_REQ 3
#define FD_RES 4
#define WORKER_ARGV0 "kumo-compile-worker"

extern char **environ;

bool budget_in_worker;

/* The request, as laid out in the memfd: this header, then cpu, out_path, the module. */
struct req {
	uint64_t magic;
	char compiler_id[128]; /* the caller's kumo_compiler_id(), NUL-terminated */
	struct kumo_compile_limits limits;
	int32_t opt_level;
	int32_t bounds_checks;
	uint32_t cpu_len;      /* 0: the default cpu */
	uint32_t path_len;
	uint64_t wasm_len;
};

/* The verdict on fd 4: this header, then msg_len bytes of message. */
struct res {
	int32_t ok;
	int32_t status;        /* kumo_status when !ok */
	uint32_t msg_len;
};

static int write_all(int fd, const void *p, size_t n)
{
	return kumo_write_all(fd, p, n);
}

/* ---- the child ---------------------------------------------------------------------- */

static void worker_reply(int ok, int status, const char *msg)
{
	struct res r = {.ok = ok, .status = status, .msg_len = msg ? (uint32_t)strlen(msg) : 0};
	if (write_all(FD_RES, &r, sizeof(r)) == 0 && r.msg_len)
		write_all(FD_RES, msg, r.msg_len);
}

/* glibc calls constructors with main's arguments. Both marks are needed: the
 * environment variable alone (inherited by accident) only gets removed. */
__attribute__((constructor)) static void worker_main(int argc, char **argv)
{
	const char *w = getenv(WORKER_ENV);
	if (!w)
		return;
	unsetenv(WORKER_ENV);
	if (strcmp(w, "1") != 0 || argc != 1 || !argv || !argv[0] ||
	    strcmp(argv[0], WORKER_ARGV0) != 0)
		return;
	budget_in_worker = true;
	struct stat st;
	if (fstat(FD_REQ, &st) < 0 || (size_t)st.st_size < sizeof(struct req)) {
		worker_reply(0, KUMO_E_INTERNAL, "compile worker: no request on fd 3");
		_exit(1);
	}
	const uint8_t *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, FD_REQ, 0);
	if (p == MAP_FAILED) {
		worker_reply(0, KUMO_E_INTERNAL, "compile worker: cannot map the request");
		_exit(1);
	}
	struct req q;
	memcpy(&q, p, sizeof(q));
	uint64_t need = sizeof(q) + (uint64_t)q.cpu_len + q.path_len + q.wasm_len;
	if (q.magic != REQ_MAGIC || need != (uint64_t)st.st_size) {
		worker_reply(0, KUMO_E_INTERNAL, "compile worker: malformed request (a worker of "
						 "another kumo build?)");
		_exit(1);
	}
	q.compiler_id[sizeof(q.compiler_id) - 1] = 0;
	if (strcmp(q.compiler_id, kumo_compiler_id()) != 0) {
		char msg[400];
		snprintf(msg, sizeof(msg),
			 "the compile worker is another build of the compiler (`%s`, the caller is "
			 "`%s`): install kumo-compile from the caller's build", kumo_compiler_id(),
			 q.compiler_id);
		worker_reply(0, KUMO_E_INTERNAL, msg);
		_exit(1);
	}
	const char *cpu = (const char *)p + sizeof(q);
	char *cpu_s = q.cpu_len ? xstrndup(cpu, q.cpu_len) : NULL;
	char *path = xstrndup(cpu + q.cpu_len, q.path_len);
	const uint8_t *wasm = (const uint8_t *)cpu + q.cpu_len + q.path_len;
	kumo_compile_set_limits(&q.limits);
	struct kumo_compile_options o = {.cpu = cpu_s, .opt_level = q.opt_level,
					 .bounds_checks = q.bounds_checks != 0};
	kumo_error_t err = NULL;
	int rc = kumo_compile_file(wasm, q.wasm_len, &o, path, NULL, &err);
	worker_reply(rc == 0, err ? err->status : 0, rc == 0 ? NULL : kumo_error_msg(err));
	_exit(rc == 0 ? 0 : 1);
}

/* ---- the parent --------------------------------------------------------------------- */

/* base + per_mib x MiB (rounded up), at most cap: keys may hold any 64-bit number, and
 * RLIMIT_AS in bytes or a deadline in nanoseconds must not wrap. */
static uint64_t scaled(uint64_t base, uint64_t per_mib, size_t len, uint64_t cap)
{
	uint64_t mib = ((uint64_t)len + (1u << 20) - 1) >> 20;
	if (!base && !per_mib)
		return 0;
	if (base >= cap || (mib && per_mib >= (cap - base) / mib))
		return cap;
	return base + per_mib * mib;
}

void budget_for(const struct kumo_compile_limits *lim, size_t len, uint64_t *cpu_s,
		uint64_t *mem_mb)
{
	*cpu_s = scaled(lim->compile_cpu_seconds, lim->compile_cpu_seconds_per_mib, len,
			1000000000ull);
	*mem_mb = scaled(lim->compile_memory_mb, lim->compile_memory_mb_per_mib, len, 1ull << 40);
}

static int request_fd(const uint8_t *wasm, size_t len, const struct kumo_compile_options *opts,
		      const char *out_path, kumo_error_t *err)
{
	int fd = (int)syscall(SYS_memfd_create, "kumo-compile", 1u /* MFD_CLOEXEC */);
	if (fd < 0)
		return kumo_error_errno(err, errno, "compile budget: memfd_create");
	const char *cpu = opts && opts->cpu ? opts->cpu : "";
	struct req q = {.magic = REQ_MAGIC,
			.limits = *kumo_compile_limits(),
			.opt_level = opts ? opts->opt_level : 2,
			.bounds_checks = opts && opts->bounds_checks,
			.cpu_len = (uint32_t)strlen(cpu),
			.path_len = (uint32_t)strlen(out_path),
			.wasm_len = len};
	snprintf(q.compiler_id, sizeof(q.compiler_id), "%s", kumo_compiler_id());
	if (write_all(fd, &q, sizeof(q)) < 0 || write_all(fd, cpu, q.cpu_len) < 0 ||
	    write_all(fd, out_path, q.path_len) < 0 || write_all(fd, wasm, len) < 0) {
		int e = errno;
		close(fd);
		return kumo_error_errno(err, e, "compile budget: write the request");
	}
	return fd;
}

/* Appends what fd has to buf (keeping the last cap bytes); false at EOF or error. */
static bool drain(int fd, char *buf, size_t *len, size_t cap, bool keep_tail)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++) {
		if (*len == cap) {
			if (!keep_tail)
				continue;
			memmove(buf, buf + 1, cap - 1);
			(*len)--;
		}
		buf[(*len)++] = tmp[i];
	}
	return true;
}

/* What a worker out of address space says: LLVM, xmalloc, libstdc++, or the dynamic
 * loader when RLIMIT_AS leaves no room to map libLLVM at all. */
static bool mentions_oom(const char *s)
{
	return strstr(s, "out of memory") || strstr(s, "Allocation failed") ||
	       strstr(s, "bad_alloc") || strstr(s, "Cannot allocate memory") ||
	       strstr(s, "failed to map segment from shared object");
}

int budget_compile(const uint8_t *wasm, size_t len, const struct kumo_compile_options *opts,
		   const char *out_path, struct kumo_compile_info *info, kumo_error_t *err)
{
	uint64_t t0 = kumo_now_ns();
	const struct kumo_compile_limits *lim = kumo_compile_limits();
	uint64_t cpu_s, mem_mb;
	budget_for(lim, len, &cpu_s, &mem_mb);
	const char *worker = codegen_worker_program(err);
	if (!worker)
		return -1;
	int req = request_fd(wasm, len, opts, out_path, err);
	if (req < 0)
		return -1;
	int res_pipe[2], err_pipe[2];
	if (pipe2(res_pipe, O_CLOEXEC) < 0) {
		close(req);
		return kumo_error_errno(err, errno, "compile budget: pipe");
	}
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		int e = errno;
		close(req);
		close(res_pipe[0]);
		close(res_pipe[1]);
		return kumo_error_errno(err, e, "compile budget: pipe");
	}
	/* Everything the child needs is made before fork: after it, only async-signal-safe
	 * calls. */
	size_t nenv = 0;
	while (environ[nenv])
		nenv++;
	char **envp = xmalloc((nenv + 2) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], WORKER_ENV "=", sizeof(WORKER_ENV)) != 0)
			envp[k++] = environ[i];
	envp[k++] = WORKER_ENV "=1";
	envp[k] = NULL;
	char *argv[] = {WORKER_ARGV0, NULL};
	struct rlimit cpu_rl = {cpu_s, cpu_s + 1};
	struct rlimit as_rl = {mem_mb << 20, mem_mb << 20};
	struct rlimit core_rl = {0, 0};
	sigset_t none;
	sigemptyset(&none);

	pid_t pid = fork();
	if (pid == 0) {
		/* Move the three out of the way first: any of them may sit on 2, 3 or 4, and
		 * dup2 onto itself would keep its close-on-exec flag. */
		int hi_req = fcntl(req, F_DUPFD, 10), hi_res = fcntl(res_pipe[1], F_DUPFD, 10);
		int hi_err = fcntl(err_pipe[1], F_DUPFD, 10);
		if (hi_req < 0 || hi_res < 0 || hi_err < 0 || dup2(hi_req, FD_REQ) < 0 ||
		    dup2(hi_res, FD_RES) < 0 || dup2(hi_err, 2) < 0)
			_exit(127);
		syscall(SYS_close_range, FD_RES + 1, ~0u, 0);
		setrlimit(RLIMIT_CORE, &core_rl);
		if (cpu_s)
			setrlimit(RLIMIT_CPU, &cpu_rl);
		if (mem_mb && !BUDGET_NO_RLIMIT_AS)
			setrlimit(RLIMIT_AS, &as_rl);
		signal(SIGXCPU, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(worker, argv, envp);
		static const char msg[] = "cannot exec the compile worker `";
		ssize_t w1 = write(2, msg, sizeof(msg) - 1);
		ssize_t w2 = write(2, worker, strlen(worker));
		ssize_t w3 = write(2, "`\n", 2);
		(void)w1;
		(void)w2;
		(void)w3;
		_exit(127);
	}
	int fork_errno = errno;
	free(envp);
	close(req);
	close(res_pipe[1]);
	close(err_pipe[1]);
	if (pid < 0) {
		close(res_pipe[0]);
		close(err_pipe[0]);
		return kumo_error_errno(err, fork_errno, "compile budget: fork");
	}

	/* Read the verdict and the child's stderr until both end or the deadline passes. */
	uint64_t deadline = cpu_s ? t0 + (4 * cpu_s + 10) * 1000000000ull : 0;
	char resbuf[4096 + sizeof(struct res)], errbuf[2048];
	size_t reslen = 0, errlen = 0;
	bool res_open = true, err_open = true, timed_out = false;
	while (res_open || err_open) {
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = kumo_now_ns();
			if (now >= deadline) {
				timed_out = true;
				break;
			}
			wait_ms = (int)((deadline - now) / 1000000) + 1;
		}
		struct pollfd pf[2] = {{res_open ? res_pipe[0] : -1, POLLIN, 0},
				       {err_open ? err_pipe[0] : -1, POLLIN, 0}};
		int n = poll(pf, 2, wait_ms);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (res_open && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			res_open = drain(res_pipe[0], resbuf, &reslen, sizeof(resbuf), false);
		if (err_open && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			err_open = drain(err_pipe[0], errbuf, &errlen, sizeof(errbuf) - 1, true);
	}
	if (timed_out)
		kill(pid, SIGKILL);
	close(res_pipe[0]);
	close(err_pipe[0]);
	int status = 0;
	struct rusage ru = {0};
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	errbuf[errlen] = 0;
	uint64_t cpu_ns = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
			  (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;

	struct res r = {0};
	bool have = reslen >= sizeof(r);
	if (have)
		memcpy(&r, resbuf, sizeof(r));
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (have && r.ok && !sig && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (info) {
			memset(info, 0, sizeof(*info));
			kumo_error_t ierr = NULL;
			if (kumo_module_imports(wasm, len, info, &ierr) < 0)
				kumo_error_free(&ierr); /* it compiled: cannot happen */
			struct stat st;
			info->object_bytes = stat(out_path, &st) == 0 ? (size_t)st.st_size : 0;
			info->compile_ns = kumo_now_ns() - t0;
			info->worker_cpu_ns = cpu_ns;
			info->worker_peak_rss_kb = (uint64_t)ru.ru_maxrss;
		}
		return 0;
	}
	unlink(out_path); /* a killed compile may have left nothing, or a temp file only */
	if (have && !r.ok && !sig) {
		size_t ml = r.msg_len < reslen - sizeof(r) ? r.msg_len : reslen - sizeof(r);
		return kumo_error(err, r.status ? r.status : KUMO_E_INTERNAL, "%.*s", (int)ml,
				  resbuf + sizeof(r));
	}
	double used = (double)cpu_ns / 1e9;
	if (timed_out)
		return kumo_error(err, KUMO_E_INVALID,
				  "compile budget exceeded: the compile was still running after %llu s "
				  "of wall-clock time (4x the CPU budget + 10 s; keys "
				  "`compile_cpu_seconds`, `compile_cpu_seconds_per_mib`)",
				  (unsigned long long)(4 * cpu_s + 10));
	if (sig == SIGXCPU || (sig == SIGKILL && cpu_s && used >= (double)cpu_s))
		return kumo_error(err, KUMO_E_INVALID,
				  "compile budget exceeded: %.1f s of CPU time, over the limit of "
				  "%llu s for this %zu-byte module (keys `compile_cpu_seconds`, "
				  "`compile_cpu_seconds_per_mib`)",
				  used, (unsigned long long)cpu_s, len);
	if (mem_mb && mentions_oom(errbuf))
		return kumo_error(err, KUMO_E_INVALID,
				  "compile budget exceeded: the compile needed more than %llu MiB of "
				  "memory for this %zu-byte module (keys `compile_memory_mb`, "
				  "`compile_memory_mb_per_mib`)",
				  (unsigned long long)mem_mb, len);
	char *nl = strrchr(errbuf, '\n');
	while (nl && nl[1] == 0 && nl > errbuf) {
		*nl = 0;
		nl = strrchr(errbuf, '\n');
	}
	const char *last = nl ? nl + 1 : errbuf;
	if (sig)
		return kumo_error(err, KUMO_E_INTERNAL,
				  "the compiler crashed (signal %d, a compiler bug)%s%s", sig,
				  *last ? ": " : "", last);
	return kumo_error(err, KUMO_E_INTERNAL, "the compile worker failed (exit status %d)%s%s",
			  WIFEXITED(status) ? WEXITSTATUS(status) : -1, *last ? ": " : "", last);
}
