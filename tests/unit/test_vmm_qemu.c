/* tests/unit/test_vmm_qemu.c - boots the PVH test fixture through the QEMU-direct
 * backend (KVM when usable, else TCG): console into a pipe and a CRI log, exit records
 * (code, trap, none), stop of a hanging guest, events, stats, detach and re-attach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "vmm/vmm.h"

static char fixture[PATH_MAX];
static char workdir[] = "/tmp/kumo-vmmq-XXXXXX";

struct events {
	pthread_mutex_t lock;
	int started, output, exited;
};
static struct events evs = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void on_event(const struct vmm_event *ev, void *ctx)
{
	struct events *e = ctx;
	pthread_mutex_lock(&e->lock);
	if (ev->type == VMM_EVENT_STARTED)
		e->started++;
	else if (ev->type == VMM_EVENT_OUTPUT)
		e->output++;
	else if (ev->type == VMM_EVENT_EXITED)
		e->exited++;
	pthread_mutex_unlock(&e->lock);
}

static int setup(void **state)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = 0;
	const char *env = getenv("KUMO_VMM_FIXTURE");
	snprintf(fixture, sizeof(fixture), "%s", env ? env : exe);
	if (!env) {
		char *d = dirname(exe);
		snprintf(fixture, sizeof(fixture), "%s/support/pvh-fixture.elf", d);
	}
	if (access(fixture, R_OK) < 0) {
		fprintf(stderr, "fixture `%s` missing (make test builds it)\n", fixture);
		return -1;
	}
	if (!mkdtemp(workdir))
		return -1;
	struct vmm_config cfg = {.backend = VMM_BACKEND_QEMU, .on_event = on_event, .event_ctx = &evs};
	kumo_error_t err = NULL;
	struct vmm *vmm;
	if (vmm_open(&cfg, &vmm, &err) < 0) {
		fprintf(stderr, "%s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		return -1;
	}
	fprintf(stderr, "qemu backend, accel %s\n", vmm_accel_name(vmm));
	*state = vmm;
	return 0;
}

static int teardown(void **state)
{
	vmm_close(*state);
	autofree char *cmd = xasprintf("rm -rf %s", workdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* When the VM ended (kumo_now_ns()), 0 while it runs. */
static uint64_t exited_at(struct vmm_vm *vm)
{
	struct kumo_exit_record x;
	uint64_t ns = 0;
	vmm_vm_exit(vm, &x, &ns);
	return ns;
}

static struct vmm_spec spec(const char *name, const char *cmdline)
{
	struct vmm_spec s = {.name = name, .kernel = fixture, .cmdline = cmdline,
			     .memory_mib = 32, .vcpus = 1,
			     .run_dir = xasprintf("%s/%s", workdir, name),
			     .stdout_fd = -1, .stderr_fd = -1};
	return s;
}

static char *slurp_fd(int fd)
{
	char *buf = xzalloc(65536);
	size_t len = 0;
	ssize_t n;
	while (len < 65535 && (n = read(fd, buf + len, 65535 - len)) > 0)
		len += (size_t)n;
	return buf;
}

static void boot_exit_code_and_logs(void **state)
{
	struct vmm *vmm = *state;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	struct vmm_spec s = spec("exit42", "out=hello_world err=oops lines=2 exit=42");
	s.stdout_fd = p[1];
	autofree char *log = xasprintf("%s/exit42.log", workdir);
	s.log_path = log;
	struct vmm_vm *vm = NULL;
	kumo_error_t err = NULL;
	int before = evs.exited;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_vm_state(vm), VMM_STATE_CREATED);
	assert_true(vmm_vm_pid(vm) > 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_EXITED);
	assert_int_equal(ex.status, 42);
	assert_string_equal(ex.msg, "");
	assert_int_equal(vmm_vm_state(vm), VMM_STATE_EXITED);
	assert_true(vmm_vm_first_output_ns(vm) > 0);
	vmm_vm_free(vm);
	close(p[1]);
	autofree char *out = slurp_fd(p[0]);
	close(p[0]);
	assert_string_equal(out, "hello world\nline 1\nline 2\n");
	uint8_t *buf = NULL;
	size_t len;
	assert_int_equal(kumo_read_file(log, 1 << 20, &buf, &len, &err), 0);
	/* Timestamps vary: check the stream/tag/line part of each record. */
	assert_non_null(strstr((char *)buf, "Z stdout F hello world\n"));
	assert_non_null(strstr((char *)buf, "Z stderr F oops\n"));
	assert_non_null(strstr((char *)buf, "Z stdout F line 2\n"));
	free(buf);
	assert_int_equal(evs.exited, before + 1);
	assert_true(evs.started >= 1 && evs.output >= 1);
	free((char *)s.run_dir);
}

static void trap_and_missing_record(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct kumo_exit_record ex;
	struct vmm_spec s = spec("trap", "klog=booting trap=3 msg=integer_divide_by_zero exit=134");
	struct vmm_vm *vm = NULL;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_TRAPPED);
	assert_int_equal(ex.status, 134);
	assert_int_equal(ex.trap, 3);
	assert_string_equal(ex.msg, "integer divide by zero");
	vmm_vm_free(vm);
	free((char *)s.run_dir);

	s = spec("norecord", "out=x noexit");
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_CRASHED);
	assert_int_equal(ex.status, 255);
	assert_string_equal(ex.msg, "the VM stopped without an exit record");
	vmm_vm_free(vm);
	free((char *)s.run_dir);
}

static void stop_hanging_guest(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct vmm_spec s = spec("hang", "out=up hang");
	struct vmm_vm *vm = NULL;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	while (!vmm_vm_first_output_ns(vm))
		usleep(1000);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm, 0, &ex, &err), 0); /* still running */
	struct vmm_stats st;
	assert_int_equal(vmm_vm_stats(vm, &st, &err), 0);
	assert_true(st.memory_bytes > 1 << 20);
	assert_int_equal(st.guest_mib, 32);
	/* The fixture ignores the power button: the grace period runs out, then destroy. */
	assert_int_equal(vmm_stop(vm, 100, &err), 0);
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_KILLED);
	assert_int_equal(ex.status, 137);
	assert_int_equal(vmm_stop(vm, 100, &err), 0); /* again: no-op */
	vmm_vm_free(vm);
	free((char *)s.run_dir);

	/* Freeing a VM that was never started destroys it. */
	s = spec("neverstarted", "out=x");
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	pid_t pid = vmm_vm_pid(vm);
	vmm_vm_free(vm);
	assert_int_equal(kill(pid, 0), -1);
	free((char *)s.run_dir);
}

/* A guest that panics through pvpanic and then hangs: QEMU pauses it (panic=pause), the
 * monitor sees GUEST_PANICKED and ends it at once. */
static void pvpanic_ends_the_vm(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct vmm_spec s = spec("pvpanic", "out=up noexit pvpanic");
	struct vmm_vm *vm = NULL;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	uint64_t t0 = kumo_now_ns();
	assert_int_equal(vmm_start(vm, &err), 0);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm, 5000, &ex, &err), 1);
	fprintf(stderr, "  pvpanic: ended %.1f ms after start: %s\n",
		(double)(exited_at(vm) - t0) / 1e6, ex.msg);
	assert_int_equal(ex.kind, KUMO_EXIT_CRASHED);
	assert_int_equal(ex.status, 255);
	assert_string_equal(ex.msg, "the guest panicked (pvpanic)");
	vmm_vm_free(vm);
	free((char *)s.run_dir);

	/* After a panic record (kumo's kernel): the VM ends at once and the record says
	 * what happened. */
	s = spec("pvpanic-record", "panic msg=kernel_bug:_page_fault exit=255 pvpanic");
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	assert_int_equal(vmm_wait(vm, 5000, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_PANICKED);
	assert_string_equal(ex.msg, "kernel bug: page fault");
	vmm_vm_free(vm);
	free((char *)s.run_dir);
}

/* A triple fault with -no-reboot: QEMU reports a guest reset and exits; without an exit
 * record that is the VM's failure, said as such. */
static void triple_fault(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct vmm_spec s = spec("triple", "out=up noexit triple");
	struct vmm_vm *vm = NULL;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	uint64_t t0 = kumo_now_ns();
	assert_int_equal(vmm_start(vm, &err), 0);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm, 5000, &ex, &err), 1);
	fprintf(stderr, "  triple fault: ended %.1f ms after start: %s\n",
		(double)(exited_at(vm) - t0) / 1e6, ex.msg);
	assert_int_equal(ex.kind, KUMO_EXIT_CRASHED);
	assert_string_equal(ex.msg, "the guest reset (triple fault) without an exit record");
	vmm_vm_free(vm);
	free((char *)s.run_dir);
}

/* A guest that never writes its boot record is dead at its deadline. */
static void no_sign_of_life(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct vmm_spec s = spec("silent", "silent hang");
	s.life_deadline_ms = 400;
	struct vmm_vm *vm = NULL;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	uint64_t t0 = kumo_now_ns();
	assert_int_equal(vmm_start(vm, &err), 0);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm, 5000, &ex, &err), 1);
	double ms = (double)(exited_at(vm) - t0) / 1e6;
	fprintf(stderr, "  silent: ended %.1f ms after start: %s\n", ms, ex.msg);
	assert_true(ms >= 400 && ms < 1400);
	assert_int_equal(ex.kind, KUMO_EXIT_CRASHED);
	assert_string_equal(ex.msg, "the VM showed no sign of life within 400 ms of its start "
					"(no boot record on the kernel log)");
	vmm_vm_free(vm);
	free((char *)s.run_dir);

	/* One that shows life and then hangs is not touched by the watchdog. */
	s = spec("alive", "out=up hang");
	s.life_deadline_ms = 200;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	assert_int_equal(vmm_wait(vm, 800, &ex, &err), 0);
	assert_int_equal(vmm_stop(vm, 0, &err), 0);
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_KILLED);
	vmm_vm_free(vm);
	free((char *)s.run_dir);
}

/* A running VM outlives its owner: detached, it keeps running; another connection
 * (a restarted kumod) attaches to it through run_dir (its pid file and monitor), sees
 * it RUNNING, stops it and gets its exit. A paused one comes back CREATED and starts;
 * one that ended while nobody watched comes back EXITED with its record. */
static void detach_and_attach(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct kumo_exit_record ex;
	struct vmm_spec s = spec("reattach", "out=up hang");
	struct vmm_vm *vm = NULL;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	while (!vmm_vm_first_output_ns(vm))
		usleep(1000);
	pid_t pid = vmm_vm_pid(vm);
	vmm_vm_detach(vm);
	assert_int_equal(kill(pid, 0), 0); /* still running */
	struct vmm *other;
	struct vmm_config cfg = {.backend = VMM_BACKEND_QEMU, .state_dir = workdir};
	assert_int_equal(vmm_open(&cfg, &other, &err), 0);
	assert_int_equal(vmm_attach(other, s.name, &vm, &err), 0);
	assert_int_equal(vmm_vm_state(vm), VMM_STATE_RUNNING);
	assert_int_equal(vmm_vm_pid(vm), pid);
	assert_int_equal(vmm_stop(vm, 100, &err), 0);
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_KILLED);
	vmm_vm_free(vm);
	free((char *)s.run_dir);

	s = spec("reattach-paused", "out=later exit=5");
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	vmm_vm_detach(vm);
	assert_int_equal(vmm_attach(other, s.name, &vm, &err), 0);
	assert_int_equal(vmm_vm_state(vm), VMM_STATE_CREATED);
	assert_int_equal(vmm_start(vm, &err), 0);
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.status, 5);
	vmm_vm_free(vm);
	free((char *)s.run_dir);

	s = spec("reattach-ended", "out=bye delay=200 exit=7");
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	pid = vmm_vm_pid(vm);
	vmm_vm_detach(vm);
	for (int i = 0; i < 3000 && kill(pid, 0) == 0; i++) {
		waitpid(pid, NULL, WNOHANG); /* it is still this process's child */
		usleep(10000);
	}
	assert_int_equal(vmm_attach(other, s.name, &vm, &err), 0);
	assert_int_equal(vmm_vm_state(vm), VMM_STATE_EXITED);
	assert_true(vmm_vm_exit(vm, &ex, NULL));
	assert_int_equal(ex.status, 7);
	vmm_vm_free(vm);
	free((char *)s.run_dir);
	vmm_close(other);
}

/* vmm_run: created and resumed in one call (the guest's `cont` goes with QEMU's last
 * start-up command): RUNNING on return, STARTED said, exit as usual; a second VM of the
 * same name is refused as by vmm_create. */
static void run_at_once(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct vmm_spec s = spec("runonce", "out=ran exit=9");
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	s.stdout_fd = p[1];
	s.console_stream = true;
	int started = evs.started;
	struct vmm_vm *vm = NULL, *again = NULL;
	assert_int_equal(vmm_run(vmm, &s, &vm, &err), 0);
	enum vmm_state st = vmm_vm_state(vm);
	assert_true(st == VMM_STATE_RUNNING || st == VMM_STATE_EXITED);
	assert_true(vmm_vm_started(vm));
	assert_int_equal(evs.started, started + 1);
	assert_int_equal(vmm_run(vmm, &s, &again, &err), -1);
	assert_int_equal(err->status, KUMO_E_EXISTS);
	kumo_error_free(&err);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_EXITED);
	assert_int_equal(ex.status, 9);
	vmm_vm_free(vm);
	close(p[1]);
	autofree char *out = slurp_fd(p[0]);
	close(p[0]);
	assert_string_equal(out, "ran\n");
	free((char *)s.run_dir);
}

struct slow_reader {
	int fd;
	char *got; /* everything read, NUL-terminated */
};

/* Starts reading only after 300 ms: the guest's writes wait meanwhile. */
static void *read_late(void *arg)
{
	struct slow_reader *r = arg;
	usleep(300000);
	size_t cap = 1 << 20, len = 0;
	r->got = xzalloc(cap);
	ssize_t n;
	while (len < cap - 1 && (n = read(r->fd, r->got + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	return NULL;
}

/* A stream console (`kumo run`'s): COM1 and COM2 reach the sinks and the CRI log through
 * sockets, nothing of them is written to run_dir, a reader that lags loses nothing, and
 * the VM cannot be re-attached. */
static void stream_console(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	int out[2], errp[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
	struct vmm_spec s = spec("stream", "out=hello_world err=oops long=100000 lines=2 exit=3");
	s.console_stream = true;
	s.stdout_fd = out[1];
	s.stderr_fd = errp[1];
	autofree char *log = xasprintf("%s/stream.log", workdir);
	s.log_path = log;
	struct slow_reader r = {.fd = out[0]};
	pthread_t reader;
	assert_int_equal(pthread_create(&reader, NULL, read_late, &r), 0);
	struct vmm_vm *vm = NULL;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_EXITED);
	assert_int_equal(ex.status, 3);
	assert_true(vmm_vm_first_output_ns(vm) > 0);
	vmm_vm_free(vm);
	close(out[1]);
	close(errp[1]);
	pthread_join(reader, NULL);
	autofree char *want = xzalloc(100000 + 64);
	strcpy(want, "hello world\n");
	memset(want + strlen(want), 'x', 100000);
	strcat(want, "\nline 1\nline 2\n");
	if (strcmp(r.got, want) != 0)
		fprintf(stderr, "stream: got %zu bytes, want %zu; tail `%s`\n", strlen(r.got), strlen(want), r.got + (strlen(r.got) > 40 ? strlen(r.got) - 40 : 0));
	assert_string_equal(r.got, want);
	free(r.got);
	autofree char *e = slurp_fd(errp[0]);
	assert_string_equal(e, "oops\n");
	close(out[0]);
	close(errp[0]);
	uint8_t *buf = NULL;
	size_t len;
	assert_int_equal(kumo_read_file(log, 1 << 20, &buf, &len, &err), 0);
	assert_non_null(strstr((char *)buf, "Z stdout F hello world\n"));
	assert_non_null(strstr((char *)buf, "Z stderr F oops\n"));
	assert_non_null(strstr((char *)buf, "Z stdout F line 2\n"));
	free(buf);
	autofree char *raw_out = xasprintf("%s/" VMM_RAW_STDOUT, s.run_dir);
	autofree char *raw_exit = xasprintf("%s/" VMM_RAW_EXIT, s.run_dir);
	assert_int_equal(access(raw_out, F_OK), -1);
	assert_int_equal(access(raw_exit, F_OK), 0);
	free((char *)s.run_dir);

	/* Its output went to the process that started it: nobody else can take it over. */
	s = spec("stream-attach", "out=up hang");
	s.console_stream = true;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	pid_t pid = vmm_vm_pid(vm);
	vmm_vm_detach(vm);
	struct vmm *other;
	struct vmm_config cfg = {.backend = VMM_BACKEND_QEMU, .state_dir = workdir};
	assert_int_equal(vmm_open(&cfg, &other, &err), 0);
	assert_int_equal(vmm_attach(other, s.name, &vm, &err), -1);
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	assert_non_null(strstr(kumo_error_msg(err), "stream"));
	kumo_error_free(&err);
	vmm_close(other);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free((char *)s.run_dir);
}

/* QEMU takes the shares' -fsdev/virtio-9p options (a read-only one too) and the guest
 * runs as without them. */
static void boot_with_shares(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct vmm_vm *vm = NULL;
	struct vmm_spec s = spec("shares", "out=shared exit=7");
	autofree char *a = xasprintf("%s/share-a", workdir);
	autofree char *b = xasprintf("%s/share-b", workdir);
	assert_int_equal(kumo_mkdir_p(a, 0755, &err), 0);
	assert_int_equal(kumo_mkdir_p(b, 0755, &err), 0);
	struct vmm_share sh[] = {{a, "kumo0", false}, {b, "kumo1", true}};
	s.shares = sh;
	s.nshares = 2;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	struct kumo_exit_record x;
	assert_int_equal(vmm_wait(vm, 60000, &x, &err), 1);
	assert_int_equal(x.kind, KUMO_EXIT_EXITED);
	assert_int_equal(x.status, 7);
	vmm_vm_free(vm);
	free((char *)s.run_dir);
}

static void bad_specs(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct vmm_vm *vm = NULL;
	struct vmm_spec s = spec("bad name!", "");
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "may only hold"));
	kumo_error_free(&err);
	free((char *)s.run_dir);
	s = spec("small", "");
	s.memory_mib = 8;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "below the 16 MiB floor"));
	kumo_error_free(&err);
	s.memory_mib = 32;
	s.kernel = "/nonexistent/kernel.elf";
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "kernel `/nonexistent/kernel.elf`"));
	kumo_error_free(&err);
	/* Shares: tags and host paths checked before QEMU runs. */
	s.kernel = fixture;
	struct vmm_share sh[2] = {{workdir, "data", false}, {workdir, "data", true}};
	s.shares = sh;
	s.nshares = 2;
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "share tag `data` is used twice"));
	kumo_error_free(&err);
	sh[1] = (struct vmm_share){workdir, "bad tag", false};
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "share tag `bad tag` must be 1 to 63"));
	kumo_error_free(&err);
	sh[1] = (struct vmm_share){"relative/dir", "b", false};
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "host path `relative/dir` is not absolute"));
	kumo_error_free(&err);
	sh[1] = (struct vmm_share){"/etc/hostname", "b", false};
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "host path `/etc/hostname` is not a directory"));
	kumo_error_free(&err);
	sh[1] = (struct vmm_share){"/nonexistent/dir", "b", false};
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "host path `/nonexistent/dir`"));
	kumo_error_free(&err);
	s.shares = NULL;
	s.nshares = 0;
	/* QEMU refuses a non-ELF kernel: its own message comes back. */
	s.kernel = "/etc/hostname";
	assert_int_equal(vmm_create(vmm, &s, &vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "qemu did not start: qemu: invalid kernel header"));
	kumo_error_free(&err);
	free((char *)s.run_dir);
}

/* vmm_create_async returns before QEMU built the machine; vmm_start waits for it. A
 * QEMU that gives up is reported by vmm_start and the VM's end, with QEMU's reason. */
static void create_async(void **state)
{
	struct vmm *vmm = *state;
	kumo_error_t err = NULL;
	struct vmm_spec s = spec("async", "out=async exit=9");
	struct vmm_vm *vm = NULL;
	assert_int_equal(vmm_create_async(vmm, &s, &vm, &err), 0);
	assert_true(vmm_vm_pid(vm) > 0);
	assert_int_equal(vmm_start(vm, &err), 0);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_EXITED);
	assert_int_equal(ex.status, 9);
	vmm_vm_free(vm);
	free((char *)s.run_dir);

	s = spec("async-bad", "out=x");
	s.kernel = "/etc/hostname";
	if (vmm_create_async(vmm, &s, &vm, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
	assert_int_equal(vmm_start(vm, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "qemu did not start: qemu: invalid kernel header"));
	kumo_error_free(&err);
	assert_int_equal(vmm_wait(vm, 10000, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_CRASHED);
	assert_non_null(strstr(ex.msg, "qemu did not start: qemu: invalid kernel header"));
	vmm_vm_free(vm);
	free((char *)s.run_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(boot_exit_code_and_logs),
		cmocka_unit_test(create_async),
		cmocka_unit_test(trap_and_missing_record),
		cmocka_unit_test(stop_hanging_guest),
		cmocka_unit_test(pvpanic_ends_the_vm),
		cmocka_unit_test(triple_fault),
		cmocka_unit_test(no_sign_of_life),
		cmocka_unit_test(detach_and_attach),
		cmocka_unit_test(boot_with_shares),
		cmocka_unit_test(stream_console),
		cmocka_unit_test(run_at_once),
		cmocka_unit_test(bad_specs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
