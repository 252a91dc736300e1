/* vmm/qemu.c - the QEMU-direct backend: spawns qemu-system-x86_64 -M microvm paused,
 * drives it over a QMP socketpair whose events a monitor thread follows (a stop that is
 * not the app's exit ends the VM at once), reaps it in a waiter thread. No daemon
 * needed. A second QMP monitor on run_dir/qmp.sock and a pid file (run_dir/qemu.pid)
 * let a later process re-attach to a QEMU it did not start (vmm_attach after a kumod
 * restart); a QEMU is watched through a pidfd, so a VM can also be let go of while it
 * runs (vmm_vm_detach). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "kernel/boot_abi.h"
#include "podnet.h"
#include "vmm_backend.h"

extern char **environ;

/* The CPU model for both backends: x86-64-v2 (compiler/abi.h KUMO_DEFAULT_CPU) on KVM
 * and TCG alike; host passthrough crashed QEMU under nested KVM here (HOST-NOTES). */
#define VMM_CPU_MODEL "Nehalem"
#define QMP_FD 3
#define TAP_FD 4 /* vmm_net_attach.fd in QEMU */
#define RUN_DIR_FD 5 /* in QEMU: its run_dir (paths below it need no search permission above) */
#define QMP2_FD 6    /* in QEMU: the listening socket of the re-attach monitor */
#define KERNEL_FD 7  /* in QEMU: the kernel image */
#define INITRD_FD 8  /* in QEMU: the initrd */
#define CTL_FD 9     /* in QEMU: the listening control socket of a pod VM */
#define INCOMING_FD 10 /* in QEMU: the migration stream a restore reads (-incoming fd:10) */
#define COM1_FD 11   /* in QEMU: a stream console's COM1 socket (vmm_spec.console_stream) */
#define COM2_FD 12   /* in QEMU: its COM2 socket */
#define FD_HIGH 16   /* every fd handed to QEMU waits at FD_HIGH or above until the child
		      * moves it to its target (all below FD_HIGH): no move clobbers a source */
#define STR(x) #x
#define XSTR(x) STR(x)
#define QMP_SOCKET "qmp.sock"

struct argv_buf {
	char **v;
	size_t n, cap;
};

static void push(struct argv_buf *a, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xrealloc(a->v, a->cap * sizeof(char *));
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void vmm_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

char **vmm_qemu_argv(const char *qemu_binary, const struct vmm_spec *s, enum vmm_accel accel)
{
	struct argv_buf a = {0};
	push(&a, xstrdup(qemu_binary));
	push(&a, xstrdup("-name"));
	push(&a, xasprintf("%s,debug-threads=on", s->name));
	/* microvm: no firmware, no PCI, PVH entry straight from the ELF; QEMU's own
	 * COM1 is off so all three ports are ours, in boot-ABI order. */
	push(&a, xstrdup("-machine"));
	push(&a, xstrdup("microvm,x-option-roms=off,isa-serial=off,acpi=on"));
	push(&a, xstrdup("-accel"));
	push(&a, xstrdup(accel == VMM_ACCEL_KVM ? "kvm" : "tcg"));
	push(&a, xstrdup("-cpu"));
	push(&a, xstrdup(VMM_CPU_MODEL));
	push(&a, xstrdup("-m"));
	push(&a, xasprintf("%u", s->memory_mib));
	push(&a, xstrdup("-smp"));
	push(&a, xasprintf("%u", s->vcpus));
	push(&a, xstrdup("-nodefaults"));
	push(&a, xstrdup("-no-user-config"));
	push(&a, xstrdup("-display"));
	push(&a, xstrdup("none"));
	push(&a, xstrdup("-no-reboot"));
	/* QEMU's own seccomp filter (vmm.h "The jail around QEMU"). */
	push(&a, xstrdup("-sandbox"));
	push(&a, xstrdup(VMM_QEMU_SANDBOX));
	/* A guest panic (kernel/boot_abi.h: pvpanic after the panic record) pauses the
	 * VM; the monitor thread sees GUEST_PANICKED and ends it. */
	push(&a, xstrdup("-device"));
	push(&a, xstrdup("pvpanic"));
	push(&a, xstrdup("-action"));
	push(&a, xstrdup("panic=pause"));
	push(&a, xstrdup("-S"));
	push(&a, xstrdup("-kernel"));
	push(&a, xstrdup(s->kernel));
	if (s->initrd) {
		push(&a, xstrdup("-initrd"));
		push(&a, xstrdup(s->initrd));
	}
	if (s->cmdline && *s->cmdline) {
		push(&a, xstrdup("-append"));
		push(&a, xstrdup(s->cmdline));
	}
	/* kernel/boot_abi.h: COM1 stdout, COM2 stderr, COM3 kernel log + exit record. */
	static const char *const raw[3] = {VMM_RAW_STDOUT, VMM_RAW_STDERR, VMM_RAW_EXIT};
	static const unsigned base[3] = {KUMO_BOOT_PORT_STDOUT, KUMO_BOOT_PORT_STDERR,
					 KUMO_BOOT_PORT_KERNEL};
	static const unsigned irq[3] = {4, 3, 4};
	static const int stream_fd[2] = {COM1_FD, COM2_FD};
	for (int i = 0; i < 3; i++) {
		push(&a, xstrdup("-chardev"));
		if (i < 2 && s->console_stream) /* vmm/console.c reads the other end */
			push(&a, xasprintf("socket,id=com%d,fd=%d", i, stream_fd[i]));
		else
			push(&a, xasprintf("file,id=com%d,path=%s/%s,append=on", i, s->run_dir, raw[i]));
		push(&a, xstrdup("-device"));
		push(&a, xasprintf("isa-serial,chardev=com%d,iobase=0x%x,irq=%u", i, base[i], irq[i]));
	}
	if (s->net || s->nshares || s->control_socket) {
		/* The kernel prefers virtio 1.x; QEMU's virtio-mmio defaults to legacy
		 * (kernel/boot_abi.h "Network device"). */
		push(&a, xstrdup("-global"));
		push(&a, xstrdup("virtio-mmio.force-legacy=false"));
	}
	if (s->net) {
		const uint8_t *m = s->net->mac;
		push(&a, xstrdup("-netdev"));
		if (s->net->has_fd || s->net->netns) /* a pod's tap: vm.c opens it in the pod */
			push(&a, xasprintf("tap,id=net0,fd=%d", TAP_FD));
		else
			push(&a, xasprintf("tap,id=net0,ifname=%s,script=no,downscript=no", s->net->tap));
		push(&a, xstrdup("-device"));
		push(&a, xasprintf("virtio-net-device,netdev=net0,mac=%02x:%02x:%02x:%02x:%02x:%02x",
				   m[0], m[1], m[2], m[3], m[4], m[5]));
	}
	for (size_t i = 0; i < s->nshares; i++) {
		/* passthrough: the guest sees the host's real owners and modes (kubelet's
		 * root-owned files, an emptyDir other containers read) and its files land
		 * with real modes; mapped-xattr would show QEMU's own files and hide modes in
		 * xattrs. multidevs=remap keeps inode numbers unique when the directory
		 * spans host file systems (a hostPath tree, tmpfs Secret volumes). Paths and
		 * tags hold no `,` (checked by vmm_create). */
		push(&a, xstrdup("-fsdev"));
		push(&a, xasprintf("local,id=fs%zu,path=%s,security_model=passthrough,multidevs=remap%s",
				   i, s->shares[i].host_path, s->shares[i].readonly ? ",readonly=on" : ""));
		push(&a, xstrdup("-device"));
		push(&a, xasprintf("virtio-9p-device,fsdev=fs%zu,mount_tag=%s", i, s->shares[i].tag));
	}
	if (s->control_socket) {
		/* kernel/pod_abi.h: a virtio-console whose port 0 carries the host's commands;
		 * QEMU serves the socket (server=on) and accepts the next connection after one
		 * closes, so a restarted kumod connects again; wait=off: the VM does not wait
		 * for a client to start. */
		push(&a, xstrdup("-device"));
		push(&a, xstrdup("virtio-serial-device,max_ports=1"));
		push(&a, xstrdup("-chardev"));
		push(&a, xasprintf("socket,id=kumoctl,path=%s,server=on,wait=off", s->control_socket));
		push(&a, xstrdup("-device"));
		push(&a, xstrdup("virtconsole,chardev=kumoctl"));
	}
	push(&a, xstrdup("-chardev"));
	push(&a, xasprintf("socket,id=qmp,fd=%d", QMP_FD));
	push(&a, xstrdup("-mon"));
	push(&a, xstrdup("chardev=qmp,mode=control"));
	return a.v;
}

struct qemu_vm {
	int qmp;              /* our QMP connection: socketpair end, or run_dir/qmp.sock */
	pthread_mutex_t cmd_lock; /* one command (send + answer) at a time */
	pthread_mutex_t send_lock; /* one writer on the socket (commands, the monitor) */
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;  /* an answer arrived, or QMP closed */
	unsigned next_id;     /* id of the next command */
	unsigned want_id;     /* the command waiting for its answer, 0: none */
	char *answer;         /* its answer line (malloc'd), NULL until it came */
	bool qmp_closed;      /* EOF: QEMU is gone or going */
	int ready;            /* QMP answered: 0 not yet, 1 yes (the machine is built), -1 QEMU
			       * gave up before (the monitor thread's start-up handshake) */
	bool killed;          /* we sent SIGKILL: the waiter blames nobody */
	bool shutting_down;   /* SHUTDOWN seen: QEMU is on its way out */
	pthread_t waiter;     /* reaps QEMU, then vmm_vm_gone() */
	bool waiter_started;
	pthread_t monitor;    /* reads QMP: answers and events */
	bool monitor_started; /* and not yet joined (the waiter joins it) */
	char rbuf[8192];      /* QMP read buffer (the greeting, then the monitor's) */
	size_t rlen;
	bool child;           /* we spawned it (reap it), or re-attached to it */
	int pidfd;            /* QEMU's pidfd, -1: none (then the waiter blocks in waitpid) */
	int stop_fd;          /* eventfd: release() tells the waiter to let go */
	bool saving;          /* a checkpoint paused it (vmm/snapshot.c): its stops are ours */
	int cg_procs[2];      /* the jail's cgroup.procs files QEMU joins (the monitor thread,
			       * before the handshake: QEMU is paused, no guest code ran), -1 */
};

static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static struct qemu_vm *qemu_vm_new(struct vmm_vm *vm)
{
	struct qemu_vm *q = xzalloc(sizeof(*q));
	q->qmp = -1;
	q->pidfd = -1;
	q->stop_fd = eventfd(0, EFD_CLOEXEC);
	q->cg_procs[0] = q->cg_procs[1] = -1;
	pthread_mutex_init(&q->cmd_lock, NULL);
	pthread_mutex_init(&q->send_lock, NULL);
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	vm->priv = q;
	return q;
}

static int qemu_open(struct vmm *vmm, kumo_error_t *err)
{
	/* The binary must exist somewhere on PATH (or be a path). */
	const char *bin = vmm->qemu_binary;
	if (strchr(bin, '/'))
		return access(bin, X_OK) < 0 ? kumo_error_errno(err, errno, "qemu `%s`", bin) : 0;
	autofree char *found = kumo_find_executable(bin, NULL);
	if (!found)
		return kumo_error(err, KUMO_E_UNAVAILABLE, "qemu `%s` not found on PATH", bin);
	return 0;
}

static void qemu_close(struct vmm *vmm)
{
	(void)vmm;
}

/* Reads one QMP line (without the newline) into line. Returns its length or -1 on EOF
 * or error. timeout_ms bounds the wait for each chunk. */
static ssize_t qmp_readline(struct qemu_vm *q, char *line, size_t cap, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(q->rbuf, '\n', q->rlen);
		if (nl) {
			size_t n = (size_t)(nl - q->rbuf);
			size_t c = n < cap - 1 ? n : cap - 1;
			memcpy(line, q->rbuf, c);
			line[c] = 0;
			memmove(q->rbuf, nl + 1, q->rlen - n - 1);
			q->rlen -= n + 1;
			return (ssize_t)c;
		}
		if (q->rlen == sizeof(q->rbuf))
			q->rlen = 0; /* an over-long line (an event we do not need): drop it */
		struct pollfd p = {.fd = q->qmp, .events = POLLIN};
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = read(q->qmp, q->rbuf + q->rlen, sizeof(q->rbuf) - q->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		q->rlen += (size_t)n;
	}
}

/* Sends a command during start-up, before the monitor thread reads QMP (or from the
 * monitor thread itself, before its loop): waits for its return itself; events on the
 * way are skipped. json may carry more commands after the first: their answers are
 * left to the monitor thread. */
static int qmp_command_sync(struct vmm_vm *vm, const char *json, kumo_error_t *err)
{
	struct qemu_vm *q = vm->priv;
	size_t len = strlen(json);
	int first = (int)strcspn(json, "\n");
	if (send(q->qmp, json, len, MSG_NOSIGNAL) != (ssize_t)len)
		return kumo_error_errno(err, errno, "qmp `%.*s` to vm `%s`", first, json,
					vm->spec.name);
	char line[1024];
	for (;;) {
		if (qmp_readline(q, line, sizeof(line), 10000) < 0)
			return kumo_error(err, KUMO_E_UNAVAILABLE,
					  "qmp `%.*s`: vm `%s` is not answering", first, json,
					  vm->spec.name);
		if (strncmp(line, "{\"return\"", 9) == 0)
			return 0;
		if (strncmp(line, "{\"error\"", 8) == 0)
			return kumo_error(err, KUMO_E_INTERNAL, "qmp `%.*s` on vm `%s`: %s", first,
					  json, vm->spec.name, line);
	}
}

static int wait_ready(struct vmm_vm *vm, kumo_error_t *err);

/* Writes one whole QMP line; the monitor thread writes too. */
static bool qmp_send(struct qemu_vm *q, const char *buf, size_t len)
{
	pthread_mutex_lock(&q->send_lock);
	bool ok = send(q->qmp, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
	pthread_mutex_unlock(&q->send_lock);
	return ok;
}

/* Writes one whole QMP line carrying fd (SCM_RIGHTS, for `getfd`). */
static bool qmp_send_fd(struct qemu_vm *q, const char *buf, size_t len, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	memset(ctl, 0, sizeof(ctl));
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	pthread_mutex_lock(&q->send_lock);
	bool ok = sendmsg(q->qmp, &mh, MSG_NOSIGNAL) == (ssize_t)len;
	pthread_mutex_unlock(&q->send_lock);
	return ok;
}

/* Sends `{"execute":"<cmd>","id":N[,"arguments":<args>]}` (with fd attached when fd >= 0)
 * and waits for the monitor thread to hand over its answer; *answer (may be NULL) gets
 * the answer line (malloc'd). */
static int qmp_call(struct vmm_vm *vm, const char *cmd, const char *args, int fd,
		    char **answer_out, kumo_error_t *err)
{
	struct qemu_vm *q = vm->priv;
	if (wait_ready(vm, err) < 0)
		return -1;
	pthread_mutex_lock(&q->cmd_lock);
	pthread_mutex_lock(&q->lock);
	unsigned id = ++q->next_id;
	q->want_id = id;
	free(q->answer);
	q->answer = NULL;
	bool closed = q->qmp_closed;
	pthread_mutex_unlock(&q->lock);
	int rc = 0;
	autofree char *json = args ? xasprintf("{\"execute\":\"%s\",\"id\":%u,\"arguments\":%s}\n",
					       cmd, id, args)
				   : xasprintf("{\"execute\":\"%s\",\"id\":%u}\n", cmd, id);
	size_t len = strlen(json);
	if (closed || !(fd >= 0 ? qmp_send_fd(q, json, len, fd) : qmp_send(q, json, len))) {
		rc = kumo_error(err, KUMO_E_UNAVAILABLE, "qmp `%s` to vm `%s`: qemu is gone", cmd,
				vm->spec.name);
		goto out;
	}
	uint64_t deadline = kumo_now_ns() + 10000 * 1000000ull;
	pthread_mutex_lock(&q->lock);
	while (!q->answer && !q->qmp_closed) {
		struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
				      .tv_nsec = (long)(deadline % 1000000000ull)};
		if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) == ETIMEDOUT)
			break;
	}
	char *answer = q->answer;
	q->answer = NULL;
	q->want_id = 0;
	pthread_mutex_unlock(&q->lock);
	/* An answer carrying an id is {"return"|"error": ..., "id": N} in either order. */
	json_t *aj = answer ? json_loads(answer, 0, NULL) : NULL;
	json_t *qerr = json_object_get(aj, "error");
	if (!answer)
		rc = kumo_error(err, KUMO_E_UNAVAILABLE, "qmp `%s`: vm `%s` is not answering", cmd,
				vm->spec.name);
	else if (qerr || !aj) {
		const char *desc = json_string_value(json_object_get(qerr, "desc"));
		rc = kumo_error(err, KUMO_E_INTERNAL, "qmp `%s` on vm `%s`: %s", cmd, vm->spec.name,
				desc ? desc : answer);
	}
	json_decref(aj);
	if (rc == 0 && answer_out)
		*answer_out = answer;
	else
		free(answer);
out:
	pthread_mutex_unlock(&q->cmd_lock);
	return rc;
}

static int qmp_command(struct vmm_vm *vm, const char *cmd, kumo_error_t *err)
{
	return qmp_call(vm, cmd, NULL, -1, NULL, err);
}

char *vmm_qemu_first_error(const char *log_path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(log_path, 1 << 20, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return xstrdup("");
	}
	char *save = NULL, *found = NULL;
	for (char *l = strtok_r((char *)buf, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		/* QEMU's warnings (missing CPU features on this host, ...) are not why it
		 * stopped. */
		if (strstr(l, "warning:") || !l[strspn(l, " \t")])
			continue;
		found = l;
		break;
	}
	char *s = xstrdup(found ? found : "");
	free(buf);
	return s;
}

/* Why QEMU stopped the guest, from its run state after a STOP event. */
static void on_run_state(struct vmm_vm *vm, const char *status)
{
	struct qemu_vm *q = vm->priv;
	if (strcmp(status, "running") == 0 || strcmp(status, "shutdown") == 0)
		return; /* resumed meanwhile, or on its way out (SHUTDOWN follows) */
	pthread_mutex_lock(&q->lock);
	bool shutting_down = q->shutting_down, saving = q->saving;
	pthread_mutex_unlock(&q->lock);
	if (shutting_down || saving)
		return;
	autofree char *log = xasprintf("%s/qemu.log", vm->spec.run_dir);
	autofree char *first = vmm_qemu_first_error(log);
	if (strcmp(status, "internal-error") == 0)
		vmm_vm_fail(vm, "%s", *first ? first : "QEMU stopped the VM: internal error");
	else if (strcmp(status, "guest-panicked") == 0)
		vmm_vm_fail(vm, "the guest panicked (pvpanic)");
	else
		vmm_vm_fail(vm, "QEMU stopped the VM (run state `%s`)%s%s", status, *first ? ": " : "",
			    first);
}

/* One QMP line from the monitor thread: an answer (ours or the status query's) or an
 * event. */
static void on_qmp_line(struct vmm_vm *vm, const char *line)
{
	struct qemu_vm *q = vm->priv;
	json_t *j = json_loads(line, 0, NULL);
	if (!j)
		return;
	json_t *id = json_object_get(j, "id");
	const char *event = json_string_value(json_object_get(j, "event"));
	if (json_is_string(id) && strcmp(json_string_value(id), "kumo-run") == 0) {
		json_t *e = json_object_get(j, "error");
		const char *desc = json_string_value(json_object_get(e, "desc"));
		if (e)
			vmm_vm_fail(vm, "QEMU did not resume the VM: %s", desc ? desc : line);
	} else if (json_is_string(id) && strcmp(json_string_value(id), "kumo-stop") == 0) {
		const char *st = json_string_value(
			json_object_get(json_object_get(j, "return"), "status"));
		if (st)
			on_run_state(vm, st);
	} else if (json_is_integer(id)) {
		pthread_mutex_lock(&q->lock);
		if (q->want_id && (unsigned)json_integer_value(id) == q->want_id) {
			free(q->answer);
			q->answer = xstrdup(line);
			pthread_cond_broadcast(&q->cond);
		}
		pthread_mutex_unlock(&q->lock);
	} else if (event && strcmp(event, "GUEST_PANICKED") == 0) {
		vmm_vm_fail(vm, "the guest panicked (pvpanic)");
	} else if (event && strcmp(event, "SHUTDOWN") == 0) {
		const char *why = json_string_value(
			json_object_get(json_object_get(j, "data"), "reason"));
		pthread_mutex_lock(&q->lock);
		q->shutting_down = true;
		pthread_mutex_unlock(&q->lock);
		/* A reset with -no-reboot: a triple fault, unless the record says otherwise
		 * (the kernel's last-resort power-off is one, after its record). */
		if (why && strcmp(why, "guest-reset") == 0)
			vmm_vm_set_error(vm, "the guest reset (triple fault) without an exit record");
		else if (why && strcmp(why, "guest-panic") == 0)
			vmm_vm_set_error(vm, "the guest panicked (pvpanic)");
	} else if (event && strcmp(event, "STOP") == 0) {
		/* STOP says nothing about why: ask for the run state (answered on this
		 * thread, id "kumo-stop"). */
		static const char ask[] = "{\"execute\":\"query-status\",\"id\":\"kumo-stop\"}\n";
		if (!qmp_send(q, ask, sizeof(ask) - 1))
			log_debug("vmm: vm `%s`: query-status: %s", vm->spec.name, strerror(errno));
	}
	json_decref(j);
}

static char *qemu_log_tail(const char *run_dir);

/* QEMU's start-up, on the monitor thread: the greeting comes first; the answer to
 * qmp_capabilities only once the machine is built (kernel loaded). EOF on the way means
 * QEMU gave up. A VM to run at once (vmm_run) gets `cont` in the same write, so QEMU
 * resumes it right after the capabilities with no round trip through us; that answer
 * (id "kumo-run") and whatever the guest causes before it reach the monitor loop (a
 * `cont` that fails ends the VM, saying why). Sets q->ready and wakes whoever waits for
 * it. */
static void handshake(struct vmm_vm *vm)
{
	struct qemu_vm *q = vm->priv;
	char line[1024];
	kumo_error_t qerr = NULL;
	const char *cmds = vm->run_at_once ? "{\"execute\":\"qmp_capabilities\"}\n"
					     "{\"execute\":\"cont\",\"id\":\"kumo-run\"}\n"
					   : "{\"execute\":\"qmp_capabilities\"}\n";
	bool up = qmp_readline(q, line, sizeof(line), 30000) >= 0 &&
		  strncmp(line, "{\"QMP\"", 6) == 0 && qmp_command_sync(vm, cmds, &qerr) == 0;
	kumo_error_free(&qerr);
	pthread_mutex_lock(&q->lock);
	q->ready = up ? 1 : -1;
	if (!up)
		q->killed = true; /* ended by us: the cause is the start-up's, said below */
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pid_t pid = vmm_vm_pid(vm);
	if (!up && pid > 0)
		kill(pid, SIGKILL);
}

/* Waits until QEMU answered its monitor (the machine is built). When it gave up: waits
 * for it to be reaped and says why from its log ("qemu did not start: ..."), also as
 * the VM's error. */
static int wait_ready(struct vmm_vm *vm, kumo_error_t *err)
{
	struct qemu_vm *q = vm->priv;
	uint64_t deadline = kumo_now_ns() + 45000 * 1000000ull;
	pthread_mutex_lock(&q->lock);
	while (q->ready == 0) {
		struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
				      .tv_nsec = (long)(deadline % 1000000000ull)};
		if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) == ETIMEDOUT)
			break;
	}
	int ready = q->ready;
	pthread_mutex_unlock(&q->lock);
	if (ready == 1)
		return 0;
	for (int i = 0; i < 400 && vmm_vm_pid(vm) > 0; i++)
		usleep(5000); /* reaped: its log is complete */
	autofree char *why = qemu_log_tail(vm->spec.run_dir);
	vmm_vm_set_error(vm, "qemu did not start: %s", why);
	return kumo_error(err, KUMO_E_INTERNAL, "qemu did not start: %s", why);
}

/* Moves QEMU (all its threads) into the VM's cgroups while it builds its machine,
 * paused (-S): off the create's path, since a v1 memory cgroup's attach waits for an
 * RCU grace period (8-30 ms here). vmm_start waits for the handshake after it, so no
 * guest instruction runs outside them; a QEMU that cannot join is ended. */
static void join_cgroups(struct vmm_vm *vm)
{
	struct qemu_vm *q = vm->priv;
	pid_t pid = vmm_vm_pid(vm);
	char text[24];
	int len = snprintf(text, sizeof(text), "%d", (int)pid);
	for (int i = 0; i < 2; i++) {
		if (q->cg_procs[i] < 0)
			continue;
		if (pid > 0 && write(q->cg_procs[i], text, (size_t)len) != len)
			vmm_vm_fail(vm, "qemu cannot join its cgroup: %s", strerror(errno));
		close(q->cg_procs[i]);
		q->cg_procs[i] = -1;
	}
}

static void *monitor_main(void *arg)
{
	struct vmm_vm *vm = arg;
	struct qemu_vm *q = vm->priv;
	pthread_mutex_lock(&q->lock);
	bool starting = q->ready == 0;
	pthread_mutex_unlock(&q->lock);
	if (starting)
		join_cgroups(vm);
	if (starting)
		handshake(vm);
	char line[4096];
	while (qmp_readline(q, line, sizeof(line), -1) >= 0)
		on_qmp_line(vm, line);
	pthread_mutex_lock(&q->lock);
	q->qmp_closed = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void *waiter(void *arg)
{
	struct vmm_vm *vm = arg;
	struct qemu_vm *q = vm->priv;
	pid_t pid = vmm_vm_pid(vm);
	int status = 0;
	if (q->pidfd >= 0) {
		/* Until QEMU ends, or release() lets go of a VM that keeps running. */
		struct pollfd p[2] = {{.fd = q->pidfd, .events = POLLIN},
				      {.fd = q->stop_fd, .events = POLLIN}};
		while (poll(p, 2, -1) < 0 && errno == EINTR)
			;
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			return NULL;
	}
	if (q->child) /* a re-attached QEMU is another process's child: no status */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	pthread_mutex_lock(&vm->lock);
	vm->pid = 0; /* ended: never signal that number again */
	pthread_mutex_unlock(&vm->lock);
	/* QEMU is gone, so QMP reaches EOF: every event it sent (a reset's SHUTDOWN, a
	 * panic) is handled before the exit is decided. */
	if (q->monitor_started) {
		pthread_join(q->monitor, NULL);
		q->monitor_started = false;
	}
	pthread_mutex_lock(&q->lock);
	bool killed = q->killed;
	bool gave_up = q->ready == -1;
	pthread_mutex_unlock(&q->lock);
	if (gave_up) { /* before its monitor answered: its log says why */
		autofree char *why = qemu_log_tail(vm->spec.run_dir);
		vmm_vm_set_error(vm, "qemu did not start: %s", why);
	}
	/* QEMU died on its own: say how (used only when there is no exit record). */
	const struct vmm_jail *j = &vm->vmm->jail;
	if (!killed && vmm_jail_oom_killed(j, vm->spec.name))
		vmm_vm_set_error(vm, "QEMU was killed by the kernel's OOM killer: its cgroup's "
				 "memory limit is %llu MiB (guest RAM %u MiB + %u MiB for QEMU)",
				 (unsigned long long)(vmm_jail_memory_limit(j, &vm->spec) >> 20),
				 vm->spec.memory_mib, j->overhead_mib);
	if (!killed && (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status)))) {
		autofree char *log = xasprintf("%s/qemu.log", vm->spec.run_dir);
		autofree char *first = vmm_qemu_first_error(log);
		if (*first)
			vmm_vm_set_error(vm, "%s", first);
		else if (WIFSIGNALED(status))
			vmm_vm_set_error(vm, "QEMU was killed by signal %d", WTERMSIG(status));
		else
			vmm_vm_set_error(vm, "QEMU exited with status %d", WEXITSTATUS(status));
	} else if (!killed && !q->child) {
		/* A re-attached QEMU is not our child: its status is unknown, not zero. */
		pthread_mutex_lock(&vm->lock);
		bool asked = vm->stop_requested;
		pthread_mutex_unlock(&vm->lock);
		if (!asked)
			vmm_vm_set_error(vm, "QEMU (pid %d, re-attached) ended on its own: killed "
					 "or crashed", (int)pid);
	}
	vmm_vm_gone(vm);
	return NULL;
}

/* QEMU's own complaint (its stderr goes to run_dir/qemu.log), for error messages. */
static char *qemu_log_tail(const char *run_dir)
{
	autofree char *p = xasprintf("%s/qemu.log", run_dir);
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(p, 1 << 20, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return xstrdup("");
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = 0;
	char *last = strrchr((char *)buf, '\n');
	char *s = xstrdup(last ? last + 1 : (char *)buf);
	free(buf);
	return s;
}

/* What the forked child does before it execs QEMU (async-signal-safe steps only). */
struct launch {
	const char *path;      /* QEMU's resolved executable */
	char **argv;
	int log_fd;            /* QEMU's stdout and stderr */
	int cwd_fd;            /* its working directory (the run directory), -1: ours */
	int fds[12][2];        /* {source (>= FD_HIGH, close-on-exec), target in QEMU} */
	size_t nfds;
	bool drop;             /* become jail's user */
	uid_t uid;
	gid_t gid;
	gid_t groups[1];       /* supplementary: kvm */
	size_t ngroups;
	uint64_t caps;         /* ambient capabilities kept across the drop (shares) */
};

enum launch_step { STEP_SETUP = 1, STEP_GROUPS, STEP_GID, STEP_UID, STEP_CAPS, STEP_EXEC };

static const char *const step_names[] = {
	[STEP_SETUP] = "set up its fds",
	[STEP_GROUPS] = "set its groups", [STEP_GID] = "set its gid",
	[STEP_UID] = "set its uid", [STEP_CAPS] = "keep its 9p capabilities",
	[STEP_EXEC] = "exec",
};

static _Noreturn void launch_child(const struct launch *l, int status_fd)
{
	int step = STEP_SETUP;
	/* The parent's handlers must not run here (this child shares its memory until the
	 * exec): every handled signal goes back to its default before any is unblocked. */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
		    sa.sa_handler != SIG_IGN)
			signal(sig, SIG_DFL);
	}
	static const int deflt[] = {SIGINT, SIGTERM, SIGPIPE, SIGHUP};
	for (size_t i = 0; i < sizeof(deflt) / sizeof(deflt[0]); i++)
		signal(deflt[i], SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own process group: the terminal's Ctrl-C goes to the caller, who stops it. */
	setpgid(0, 0);
	int nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(l->log_fd, 1) < 0 || dup2(l->log_fd, 2) < 0)
		goto fail;
	for (size_t i = 0; i < l->nfds; i++)
		if (dup2(l->fds[i][0], l->fds[i][1]) < 0)
			goto fail;
	/* QEMU works in its run directory: /proc/<pid>/cwd says whose VM it is. */
	if (l->cwd_fd >= 0 && fchdir(l->cwd_fd) < 0)
		goto fail;
	if (l->drop) {
		/* Raw system calls: only this process changes credentials, no library
		 * broadcast to threads that are not here. */
		if (l->caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			goto fail;
		step = STEP_GROUPS;
		if (syscall(SYS_setgroups, l->ngroups, l->groups) < 0)
			goto fail;
		step = STEP_GID;
		if (syscall(SYS_setresgid, l->gid, l->gid, l->gid) < 0)
			goto fail;
		step = STEP_UID;
		if (syscall(SYS_setresuid, l->uid, l->uid, l->uid) < 0)
			goto fail;
		if (l->caps) {
			step = STEP_CAPS;
			struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
			struct __user_cap_data_struct d[2] = {{0}};
			d[0].effective = d[0].permitted = d[0].inheritable = (uint32_t)l->caps;
			d[1].effective = d[1].permitted = d[1].inheritable = (uint32_t)(l->caps >> 32);
			if (syscall(SYS_capset, &h, d) < 0)
				goto fail;
			for (int c = 0; c < 64; c++)
				if ((l->caps >> c & 1) &&
				    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
					goto fail;
		}
	}
	step = STEP_EXEC;
	execve(l->path, l->argv, environ);
fail:;
	int rep[2] = {step, errno};
	if (write(status_fd, rep, sizeof(rep)) < 0)
		_exit(126);
	_exit(127);
}

/* Forks and execs QEMU as l says; fails (naming the step) when the child could not get
 * as far as exec. */
static int launch(const struct launch *l, pid_t *out, kumo_error_t *err)
{
	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0)
		return kumo_error_errno(err, errno, "spawn `%s`: pipe", l->path);
	/* vfork: this thread waits until the child execs; the child shares our memory
	 * meanwhile (a fork would copy kumod's page tables: ~10 ms). No signal may be
	 * handled in the child before it reset the handlers. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = vfork();
	if (pid == 0)
		launch_child(l, sp[1]);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return kumo_error_errno(err, e, "spawn `%s`: vfork", l->path);
	}
	close(sp[1]);
	int rep[2];
	ssize_t n;
	while ((n = read(sp[0], rep, sizeof(rep))) < 0 && errno == EINTR)
		;
	close(sp[0]);
	if (n == (ssize_t)sizeof(rep)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		const char *step = rep[0] > 0 && rep[0] <= STEP_EXEC ? step_names[rep[0]] : "start";
		if (rep[0] == STEP_GID || rep[0] == STEP_UID || rep[0] == STEP_GROUPS)
			return kumo_error_errno(err, rep[1], "spawn `%s` as uid %d: %s", l->path,
						(int)l->uid, step);
		return kumo_error_errno(err, rep[1], "spawn `%s`: %s", l->path, step);
	}
	*out = pid;
	return 0;
}

/* A unix socket listening at <dir fd>/name (a path of any length), for QEMU to serve. */
static int listen_at(int dirfd, const char *dir, const char *name, kumo_error_t *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	autoclose int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kumo_error_errno(err, errno, "socket for `%s/%s`", dir, name);
	unlinkat(dirfd, name, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		return kumo_error_errno(err, errno, "listen on `%s/%s`", dir, name);
	int high = fcntl(fd, F_DUPFD_CLOEXEC, FD_HIGH);
	if (high < 0)
		return kumo_error_errno(err, errno, "listen on `%s/%s`", dir, name);
	return high;
}

/* An fd of path at FD_HIGH or above (never clobbered by the child's dup2 targets). */
static int open_high(const char *path, int flags, kumo_error_t *err)
{
	autoclose int fd = open(path, flags | O_CLOEXEC);
	int high = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, FD_HIGH);
	if (high < 0)
		return kumo_error_errno(err, errno, "open `%s`", path);
	return high;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID (vmm.h). */
#define SHARE_CAPS                                                                         \
	((1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_DAC_READ_SEARCH) |  \
	 (1ull << CAP_FOWNER) | (1ull << CAP_FSETID))

static int qemu_create(struct vmm_vm *vm, kumo_error_t *err)
{
	struct qemu_vm *q = qemu_vm_new(vm);
	q->child = true;
	const struct vmm_jail *j = &vm->vmm->jail;
	const char *run_dir = vm->spec.run_dir;
	/* Every fd handed to QEMU, at FD_HIGH or above until the child moves it to its place. */
	enum { F_QMP, F_LOG, F_DIR, F_TAP, F_QMP2, F_KERNEL, F_INITRD, F_CTL, F_INCOMING, F_COM1,
	       F_COM2, F_COUNT };
	int fds[F_COUNT];
	for (int i = 0; i < F_COUNT; i++)
		fds[i] = -1;
	struct launch l = {0};
	char **argv = NULL;
	autofree char *path = NULL, *logp = xasprintf("%s/qemu.log", run_dir);
	autofree char *extra_copy = NULL, *pidfile = NULL, *pidtext = NULL, *tsc_cmdline = NULL;
	pid_t pid = 0;
	int rc = -1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return kumo_error_errno(err, errno, "qmp socketpair");
	q->qmp = sv[0];
	fds[F_QMP] = fcntl(sv[1], F_DUPFD_CLOEXEC, FD_HIGH);
	close(sv[1]);
	if (fds[F_QMP] < 0) {
		kumo_error_errno(err, errno, "qmp socketpair");
		goto out;
	}
	if ((fds[F_LOG] = open_high(logp, O_WRONLY | O_CREAT | O_TRUNC, err)) < 0 ||
	    (fds[F_DIR] = open_high(run_dir, O_PATH | O_DIRECTORY, err)) < 0)
		goto out;
	if (vmm_jail_hand_run_dir(j, run_dir, err) < 0)
		goto out;
	/* A restore's stream (vm->incoming). */
	if (vm->incoming && !vm->incoming_uri &&
	    (fds[F_INCOMING] = fcntl(vm->incoming_fd, F_DUPFD_CLOEXEC, FD_HIGH)) < 0) {
		kumo_error_errno(err, errno, "the migration stream's fd %d", vm->incoming_fd);
		goto out;
	}
	/* A stream console's COM1 and COM2 sockets (vmm/console.c reads our ends). */
	int peers[2];
	vmm_console_peers(vm->console, peers);
	for (int i = 0; i < 2; i++)
		if (peers[i] >= 0 && (fds[F_COM1 + i] = fcntl(peers[i], F_DUPFD_CLOEXEC, FD_HIGH)) < 0) {
			kumo_error_errno(err, errno, "vm `%s`: console socket", vm->spec.name);
			goto out;
		}
	/* QEMU opens no path of its own but through these fds: /proc/self/fd/N/... of the
	 * run directory (no search permission needed above it), the kernel and initrd. */
	struct vmm_spec js = vm->spec;
	struct vmm_net_attach jnet;
	js.run_dir = "/proc/self/fd/" XSTR(RUN_DIR_FD);
	/* QEMU re-opens them through /proc/self/fd, which checks the files' own modes. */
	if (vmm_jail_check_readable(j, vm->spec.kernel, err) < 0 ||
	    (vm->spec.initrd && vmm_jail_check_readable(j, vm->spec.initrd, err) < 0))
		goto out;
	if ((fds[F_KERNEL] = open_high(vm->spec.kernel, O_RDONLY, err)) < 0)
		goto out;
	js.kernel = "/proc/self/fd/" XSTR(KERNEL_FD);
	if (vm->spec.initrd) {
		if ((fds[F_INITRD] = open_high(vm->spec.initrd, O_RDONLY, err)) < 0)
			goto out;
		js.initrd = "/proc/self/fd/" XSTR(INITRD_FD);
	}
	if (vm->spec.net) {
		/* A tap is always an fd in QEMU: it needs no CAP_NET_ADMIN to open one. */
		jnet = *vm->spec.net;
		int tap = -1;
		if (vm->spec.net->has_fd) {
			tap = fcntl(vm->spec.net->fd, F_DUPFD_CLOEXEC, FD_HIGH);
			if (tap < 0)
				kumo_error_errno(err, errno, "tap `%s` fd %d", vm->spec.net->tap,
						 vm->spec.net->fd);
		} else if (vmm_tap_open(vm->spec.net->tap, &tap, err) == 0) {
			int high = fcntl(tap, F_DUPFD_CLOEXEC, FD_HIGH);
			close(tap);
			tap = high;
			jnet.has_fd = true;
		}
		if (tap < 0)
			goto out;
		fds[F_TAP] = tap;
		js.net = &jnet;
	}
	/* The re-attach monitor's socket and the pod's control socket: bound here (QEMU
	 * cannot write its run directory), served by QEMU. */
	if ((fds[F_QMP2] = listen_at(fds[F_DIR], run_dir, QMP_SOCKET, err)) < 0)
		goto out;
	if (vm->spec.control_socket) {
		autofree char *dir = xstrdup(vm->spec.control_socket);
		char *slash = strrchr(dir, '/');
		*slash = 0;
		autoclose int cdir = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cdir < 0) {
			kumo_error_errno(err, errno, "open `%s`", dir);
			goto out;
		}
		if ((fds[F_CTL] = listen_at(cdir, dir, slash + 1, err)) < 0)
			goto out;
	}
	/* TCG: the guest takes the host's TSC rate instead of calibrating (vmm/tsc.c). */
	uint32_t khz = vm->vmm->accel == VMM_ACCEL_TCG && vm->vmm->tsc_cache_dir
			       ? vmm_tsc_khz(&vm->vmm->tsc_mark, vm->vmm->tsc_cache_dir) : 0;
	if (khz)
		js.cmdline = tsc_cmdline = xasprintf("%s%s" KUMO_BOOT_CMDLINE_TSC_KHZ "%u",
						     js.cmdline ? js.cmdline : "",
						     js.cmdline && *js.cmdline ? " " : "", khz);
	argv = vmm_qemu_argv(vm->vmm->qemu_binary, &js, vm->vmm->accel);
	size_t argc = 0;
	while (argv[argc])
		argc++;
	for (size_t i = 0; i < argc && vm->spec.control_socket; i++)
		if (strncmp(argv[i], "socket,id=kumoctl,", 18) == 0) {
			free(argv[i]);
			argv[i] = xstrdup("socket,id=kumoctl,fd=" XSTR(CTL_FD) ",server=on,wait=off");
		}
	/* Debugging and test hook (vmm.h): words appended to QEMU's command line, after
	 * vmm's own, so they win where QEMU takes the last value (-cpu, -m). */
	const char *extra = getenv("KUMO_VM_QEMU_ARGS");
	size_t nextra = 0;
	extra_copy = extra && *extra ? xstrdup(extra) : NULL;
	for (char *p = extra_copy; p && *p; p++)
		nextra += *p != ' ' && (p == extra_copy || p[-1] == ' ');
	argv = xrealloc(argv, sizeof(char *) * (argc + 7 + nextra));
	char *save = NULL;
	for (char *w = extra_copy ? strtok_r(extra_copy, " ", &save) : NULL; w;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = xstrdup(w);
	/* For re-attaching later: a second monitor on run_dir/qmp.sock (its listening
	 * socket made above); QEMU's pid goes to run_dir/qemu.pid, written here. */
	argv[argc++] = xstrdup("-chardev");
	argv[argc++] = xstrdup("socket,id=qmp2,fd=" XSTR(QMP2_FD) ",server=on,wait=off");
	argv[argc++] = xstrdup("-mon");
	argv[argc++] = xstrdup("chardev=qmp2,mode=control");
	if (vm->incoming) { /* a restore (vmm/snapshot.c): the machine's state comes from here */
		argv[argc++] = xstrdup("-incoming");
		argv[argc++] = vm->incoming_uri ? xstrdup(vm->incoming_uri)
						: xstrdup("fd:" XSTR(INCOMING_FD));
	}
	argv[argc] = NULL;
	path = strchr(argv[0], '/') ? xstrdup(argv[0]) : kumo_find_executable(argv[0], NULL);
	if (!path) {
		kumo_error(err, KUMO_E_UNAVAILABLE, "spawn `%s`: not found on PATH", argv[0]);
		goto out;
	}
	if (j->on && vmm_jail_cgroup_create(j, &vm->spec, true, q->cg_procs, &(size_t){0}, err) < 0)
		goto out;
	l.path = path;
	l.argv = argv;
	l.log_fd = fds[F_LOG];
	l.cwd_fd = fds[F_DIR];
	static const int target[F_COUNT] = {[F_QMP] = QMP_FD, [F_LOG] = -1, [F_DIR] = RUN_DIR_FD,
				      [F_TAP] = TAP_FD, [F_QMP2] = QMP2_FD, [F_KERNEL] = KERNEL_FD,
				      [F_INITRD] = INITRD_FD, [F_CTL] = CTL_FD,
				      [F_INCOMING] = INCOMING_FD, [F_COM1] = COM1_FD,
				      [F_COM2] = COM2_FD};
	for (int i = 0; i < F_COUNT; i++)
		if (fds[i] >= 0 && target[i] >= 0) {
			l.fds[l.nfds][0] = fds[i];
			l.fds[l.nfds][1] = target[i];
			l.nfds++;
		}
	if (j->on) {
		l.drop = true;
		l.uid = j->uid;
		l.gid = j->gid;
		if (j->kvm_gid != (gid_t)-1)
			l.groups[l.ngroups++] = j->kvm_gid;
		l.caps = vm->spec.nshares ? SHARE_CAPS : 0;
	}
	if (launch(&l, &pid, err) < 0) {
		close_fds(q->cg_procs, 2);
		vmm_jail_cgroup_remove(j, vm->spec.name);
		goto out;
	}
	pidfile = xasprintf("%s/" VMM_QEMU_PID_FILE, run_dir);
	pidtext = xasprintf("%d\n", (int)pid);
	kumo_error_t perr = NULL;
	if (kumo_write_file_replace(pidfile, pidtext, strlen(pidtext), 0644, &perr) < 0) {
		log_warn("vm `%s`: %s (a restarted kumod cannot re-attach to it)", vm->spec.name,
			 kumo_error_msg(perr));
		kumo_error_free(&perr);
	}
	rc = 0;
out:
	close_fds(fds, F_COUNT);
	vmm_argv_free(argv);
	if (rc < 0)
		return -1;
	pthread_mutex_lock(&vm->lock);
	vm->pid = pid;
	pthread_mutex_unlock(&vm->lock);
	q->pidfd = pidfd_of(pid); /* -1 on old kernels: the waiter then blocks in waitpid */
	/* The monitor thread first waits for QEMU's start-up (handshake above), then reads
	 * its events; the waiter reaps QEMU whenever it ends. */
	if (pthread_create(&q->monitor, NULL, monitor_main, vm) != 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return kumo_error(err, KUMO_E_INTERNAL, "cannot start a qmp monitor thread");
	}
	q->monitor_started = true;
	if (pthread_create(&q->waiter, NULL, waiter, vm) != 0) {
		kill(pid, SIGKILL);
		return kumo_error(err, KUMO_E_INTERNAL, "cannot start a waiter thread");
	}
	q->waiter_started = true;
	/* vmm_create waits for the machine; vmm_create_async leaves that to vmm_start. */
	return vm->create_async ? 0 : wait_ready(vm, err);
}

static int qemu_resume(struct vmm_vm *vm, kumo_error_t *err)
{
	struct qemu_vm *q = vm->priv;
	if (wait_ready(vm, err) < 0) /* an asynchronous create's QEMU gave up */
		return -1;
	kumo_error_t cerr = NULL;
	if (qmp_command(vm, "cont", &cerr) == 0)
		return 0;
	/* A guest may end before QEMU answers `cont` (an instant panic that the monitor
	 * acted on, a power-off): it was resumed, and the waiter reports how it ended. */
	pthread_mutex_lock(&q->lock);
	bool gone = q->qmp_closed || q->killed;
	pthread_mutex_unlock(&q->lock);
	if (gone) {
		log_debug("vmm: vm `%s` ended while resuming: %s", vm->spec.name,
			  kumo_error_msg(cerr));
		kumo_error_free(&cerr);
		return 0;
	}
	*err = cerr;
	return -1;
}

static int qemu_shutdown(struct vmm_vm *vm, kumo_error_t *err)
{
	return qmp_command(vm, "system_powerdown", err);
}

static int qemu_destroy(struct vmm_vm *vm, kumo_error_t *err)
{
	struct qemu_vm *q = vm->priv;
	if (q) {
		pthread_mutex_lock(&q->lock);
		q->killed = true;
		pthread_mutex_unlock(&q->lock);
	}
	pid_t pid = vmm_vm_pid(vm);
	/* The waiter clears pid once it reaped QEMU, so a non-zero pid is still ours. */
	if (pid > 0 && kill(pid, SIGKILL) < 0 && errno != ESRCH)
		return kumo_error_errno(err, errno, "kill qemu pid %d", (int)pid);
	return 0;
}

/* CPU time and RSS of the QEMU process from /proc. */
static int qemu_stats(struct vmm_vm *vm, struct vmm_stats *out, kumo_error_t *err)
{
	pid_t pid = vmm_vm_pid(vm);
	autofree char *p = xasprintf("/proc/%d/stat", (int)pid);
	uint8_t *buf = NULL;
	size_t len;
	if (kumo_read_file(p, 1 << 16, &buf, &len, err) < 0)
		return -1;
	char *rp = strrchr((char *)buf, ')');
	unsigned long long utime = 0, stime = 0, rss_pages = 0;
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
			  "%*d %*d %*d %*d %*u %*u %llu",
			  &utime, &stime, &rss_pages) != 3) {
		free(buf);
		return kumo_error(err, KUMO_E_INTERNAL, "cannot parse `%s`", p);
	}
	free(buf);
	long hz = sysconf(_SC_CLK_TCK);
	out->cpu_ns = (utime + stime) * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
	out->memory_bytes = rss_pages * (unsigned long long)sysconf(_SC_PAGESIZE);
	return 0;
}

/* Re-attaches to the QEMU a previous process started for vm->spec.name: its pid file,
 * checked against /proc/<pid>/cmdline, then the second monitor (qmp.sock). Returns 1
 * with *state when it runs (CREATED while paused), 0 when it is gone, -1 when it runs
 * but cannot be driven (a QEMU started without the re-attach monitor). */
static int qemu_attach(struct vmm_vm *vm, enum vmm_state *state, kumo_error_t *err)
{
	struct qemu_vm *q = qemu_vm_new(vm);
	autofree char *pidpath = xasprintf("%s/" VMM_QEMU_PID_FILE, vm->spec.run_dir);
	autofree uint8_t *pidtext = NULL;
	size_t len = 0;
	kumo_error_t rerr = NULL;
	if (kumo_read_file(pidpath, 64, &pidtext, &len, &rerr) < 0) {
		kumo_error_free(&rerr);
		return 0; /* never started, or gone with its run dir */
	}
	pid_t pid = (pid_t)atoi((const char *)pidtext);
	autofree char *cmdpath = xasprintf("/proc/%d/cmdline", (int)pid);
	autofree uint8_t *cmd = NULL;
	if (pid <= 1 || kumo_read_file(cmdpath, 1 << 20, &cmd, &len, &rerr) < 0 ||
	    !memmem(cmd, len, vm->spec.name, strlen(vm->spec.name))) {
		kumo_error_free(&rerr);
		return 0; /* that pid is no longer this VM's QEMU */
	}
	q->pidfd = pidfd_of(pid);
	if (q->pidfd < 0)
		return errno == ESRCH ? 0
				      : kumo_error_errno(err, errno, "watch qemu pid %d", (int)pid);
	autoclose int dirfd = open(vm->spec.run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" QMP_SOCKET, dirfd);
	q->qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dirfd < 0 || q->qmp < 0 || connect(q->qmp, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return kumo_error_errno(err, errno, "qemu pid %d has no monitor to re-attach to at "
					"`%s/" QMP_SOCKET "`", (int)pid, vm->spec.run_dir);
	pthread_mutex_lock(&vm->lock);
	vm->pid = pid;
	pthread_mutex_unlock(&vm->lock);
	char line[1024];
	if (qmp_readline(q, line, sizeof(line), 10000) < 0 || strncmp(line, "{\"QMP\"", 6) != 0 ||
	    qmp_command_sync(vm, "{\"execute\":\"qmp_capabilities\"}\n", err) < 0)
		return kumo_error(err, KUMO_E_UNAVAILABLE, "qemu pid %d: its monitor does not answer",
				  (int)pid);
	/* Paused (created, never resumed) or running? Asked before the monitor thread
	 * reads the socket. */
	const char *ask = "{\"execute\":\"query-status\"}\n";
	bool running = false, answered = false;
	if (send(q->qmp, ask, strlen(ask), MSG_NOSIGNAL) == (ssize_t)strlen(ask))
		while (!answered && qmp_readline(q, line, sizeof(line), 10000) >= 0)
			if (strncmp(line, "{\"return\"", 9) == 0) {
				answered = true;
				running = strstr(line, "\"running\": true") != NULL;
			}
	if (!answered)
		return kumo_error(err, KUMO_E_UNAVAILABLE, "qemu pid %d: query-status: no answer",
				  (int)pid);
	q->ready = 1;
	if (pthread_create(&q->monitor, NULL, monitor_main, vm) != 0)
		return kumo_error(err, KUMO_E_INTERNAL, "cannot start a qmp monitor thread");
	q->monitor_started = true;
	if (pthread_create(&q->waiter, NULL, waiter, vm) != 0)
		return kumo_error(err, KUMO_E_INTERNAL, "cannot start a waiter thread");
	q->waiter_started = true;
	*state = running ? VMM_STATE_RUNNING : VMM_STATE_CREATED;
	return 1;
}

static void qemu_release(struct vmm_vm *vm)
{
	struct qemu_vm *q = vm->priv;
	if (!q)
		return;
	if (q->waiter_started) {
		/* A VM that still runs is let go of (detach); one that ended is reaped. */
		uint64_t one = 1;
		if (q->pidfd >= 0 && write(q->stop_fd, &one, sizeof(one)) < 0)
			log_warn("vm `%s`: cannot stop its waiter", vm->spec.name);
		pthread_join(q->waiter, NULL);
	}
	/* QEMU is reaped (or let go of), so the monitor thread gets EOF once the socket is
	 * shut down (a create that failed half-way may leave a live socket too). */
	if (q->qmp >= 0)
		shutdown(q->qmp, SHUT_RDWR);
	if (q->monitor_started)
		pthread_join(q->monitor, NULL);
	if (q->qmp >= 0)
		close(q->qmp);
	if (q->pidfd >= 0)
		close(q->pidfd);
	if (q->stop_fd >= 0)
		close(q->stop_fd);
	close_fds(q->cg_procs, 2);
	free(q->answer);
	pthread_mutex_destroy(&q->cmd_lock);
	pthread_mutex_destroy(&q->send_lock);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
	vm->priv = NULL;
}

/* ---- Snapshots (vmm/snapshot.c) ------------------------------------------------------ */

/* vmm_qmp's call on QEMU's own monitor. */
static int qmp_for_migration(void *ctx, const char *cmd, const char *args, char **answer,
			     kumo_error_t *err)
{
	return qmp_call(ctx, cmd, args, -1, answer, err);
}

static struct vmm_qmp qmp_of(struct vmm_vm *vm)
{
	return (struct vmm_qmp){.call = qmp_for_migration, .ctx = vm};
}

static int qemu_save(struct vmm_vm *vm, int fd, kumo_error_t *err)
{
	struct qemu_vm *q = vm->priv;
	pthread_mutex_lock(&q->lock);
	q->saving = true;
	pthread_mutex_unlock(&q->lock);
	/* fd: is the transport QEMU 7.2 has for a file (file: came in 8.2) that needs no
	 * process spawned by QEMU (exec: would, and -sandbox spawn=deny forbids it). */
	struct vmm_qmp qmp = qmp_of(vm);
	if (vmm_migrate_unthrottle(&qmp, 0, err) < 0 || qmp_command(vm, "stop", err) < 0 ||
	    qmp_call(vm, "getfd", "{\"fdname\":\"kumo-snapshot\"}", fd, NULL, err) < 0 ||
	    qmp_call(vm, "migrate", "{\"uri\":\"fd:kumo-snapshot\"}", -1, NULL, err) < 0 ||
	    vmm_migrate_wait(&qmp, NULL, 600000, NULL, err) < 0 || vmm_migrate_settle(&qmp, err) < 0)
		return -1;
	return 0;
}

static int qemu_migrate(struct vmm_vm *vm, const char *uri, uint64_t max_bandwidth,
			struct vmm_snapshot_stats *st, kumo_error_t *err)
{
	struct qemu_vm *q = vm->priv;
	pthread_mutex_lock(&q->lock);
	q->saving = true; /* QEMU pauses the guest for the last round: that stop is ours */
	pthread_mutex_unlock(&q->lock);
	json_t *a = json_pack("{s:s}", "uri", uri);
	autofree char *args = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	struct vmm_migrate_result res = {0};
	struct vmm_qmp qmp = qmp_of(vm);
	if (vmm_migrate_unthrottle(&qmp, max_bandwidth, err) < 0 ||
	    qmp_call(vm, "migrate", args, -1, NULL, err) < 0 ||
	    vmm_migrate_wait(&qmp, NULL, 3600000, &res, err) < 0)
		return -1;
	st->paused_ns = res.downtime_ms * 1000000ull;
	st->save_ns = res.total_ms * 1000000ull;
	st->stream_bytes = res.transferred;
	return 0;
}

static int qemu_migrate_cancel(struct vmm_vm *vm, char **status, kumo_error_t *err)
{
	struct vmm_qmp qmp = qmp_of(vm);
	return vmm_migrate_cancel_wait(&qmp, status, err);
}

static int qemu_save_end(struct vmm_vm *vm, bool resume, kumo_error_t *err)
{
	struct qemu_vm *q = vm->priv;
	if (!resume)
		return 0; /* it stays paused until it is destroyed: its stops stay ours */
	int rc = qmp_command(vm, "cont", err);
	pthread_mutex_lock(&q->lock);
	q->saving = false;
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static int qemu_load_wait(struct vmm_vm *vm, kumo_error_t *err)
{
	struct vmm_qmp qmp = qmp_of(vm);
	return vmm_migrate_wait(&qmp, vm->incoming_uri, vm->incoming_uri ? 3600000 : 600000, NULL,
				err);
}

const struct vmm_ops vmm_qemu_ops = {
	.name = "qemu",
	.open = qemu_open,
	.close = qemu_close,
	.create = qemu_create,
	.resume = qemu_resume,
	.shutdown = qemu_shutdown,
	.destroy = qemu_destroy,
	.stats = qemu_stats,
	.release = qemu_release,
	.attach = qemu_attach,
	.save = qemu_save,
	.save_end = qemu_save_end,
	.migrate = qemu_migrate,
	.migrate_cancel = qemu_migrate_cancel,
	.load_wait = qemu_load_wait,
};
