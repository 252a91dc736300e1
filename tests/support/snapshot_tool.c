/* tests/support/snapshot_tool.c - drives vmm/'s snapshots from the command line for the
 * snapshot tier and `make bench-snapshot`.
 *
 *   snapshot-tool cycle [opts] BUILD_DIR   boot BUILD_DIR/kernel.elf + initrd.img, wait for
 *                                          --lines N lines of stdout, checkpoint into
 *                                          --snap DIR (the VM is destroyed), restore from
 *                                          it, run until --more N further lines, stop.
 *                                          The two VMs' stdout: --dir/first.out and
 *                                          --dir/second.out
 *   snapshot-tool bench [opts] BUILD_DIR   --runs N: per run a checkpoint of the running
 *                                          VM (left running) written as an archive,
 *                                          then the archive verified and restored into
 *                                          a second VM, up to its first new output
 *                                          line; the columns are on the first lines
 *   snapshot-tool migrate [opts] BUILD_DIR boot as for cycle, then migrate the running VM
 *                                          live over TCP (127.0.0.1:--port) into a second
 *                                          VM (vmm_restore with incoming), run until
 *                                          --more N further lines; prints QEMU's total
 *                                          time and downtime and the hand-over (source
 *                                          done -> destination resumed). --kill-dest MS:
 *                                          kill the destination's QEMU MS ms into the
 *                                          migration instead; the source must go on
 * opts: --accel auto|kvm|tcg (default tcg)  --mem MIB  --dir WORK_DIR  --snap DIR  --lines N  --more N  --runs N
 *       --backend qemu|libvirt (default qemu): the VM backend that boots and checkpoints
 *       (or migrates); --to-backend qemu|libvirt (default: the same): the one that
 *       restores (or receives). VM names end in the tool's pid (libvirt's are global).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/vmm.h"

struct opts {
	unsigned mem;
	const char *dir;   /* work directory (run dirs, outputs) */
	const char *snap;  /* snapshot directory */
	unsigned lines, more;
	int runs;
	int port;          /* migrate: the destination's TCP port */
	int kill_dest_ms;  /* migrate: kill the destination this far in, 0: never */
	enum vmm_accel accel; /* --accel auto|kvm|tcg (tests/lib/testlib.sh's verdict) */
	const char *build; /* kumo build output: kernel.elf, initrd.img */
	struct vmm *to;    /* the restoring (receiving) backend's connection */
};

/* A VM's name: base and this process's pid (libvirt's domain names are machine-wide). */
static char *vm_name(const char *base)
{
	return xasprintf("%s-%d", base, (int)getpid());
}

static int fail(kumo_error_t *err)
{
	fprintf(stderr, "snapshot-tool: %s\n", kumo_error_msg(*err));
	kumo_error_free(err);
	return 1;
}

/* Lines in a file (0 when it is absent). */
static unsigned count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	unsigned n = 0;
	int c;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Waits until path holds at least n lines: 0, or -1 after timeout_ms. */
static int wait_lines(const char *path, unsigned n, int timeout_ms)
{
	uint64_t deadline = kumo_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	while (count_lines(path) < n) {
		if (kumo_now_ns() > deadline)
			return -1;
		usleep(2000);
	}
	return 0;
}

static int boot(struct vmm *vmm, const struct opts *o, const char *name, const char *run_dir,
		int out_fd, struct vmm_vm **vm, kumo_error_t *err)
{
	autofree char *kernel = xasprintf("%s/kernel.elf", o->build);
	autofree char *initrd = xasprintf("%s/initrd.img", o->build);
	struct vmm_spec s = {.name = name, .kernel = kernel, .initrd = initrd,
			     .memory_mib = o->mem, .vcpus = 1, .run_dir = run_dir,
			     .stdout_fd = out_fd, .stderr_fd = 2};
	if (vmm_create(vmm, &s, vm, err) < 0)
		return -1;
	return vmm_start(*vm, err);
}

static int restore(struct vmm *vmm, const char *snap, const char *name, const char *run_dir,
		   int out_fd, struct vmm_vm **vm, struct vmm_snapshot_stats *st,
		   kumo_error_t *err)
{
	struct vmm_restore_spec rs = {.name = name, .run_dir = run_dir, .stdout_fd = out_fd,
				      .stderr_fd = 2};
	if (vmm_restore(vmm, snap, &rs, vm, st, err) < 0)
		return -1;
	return vmm_start(*vm, err);
}

static int cmd_cycle(struct vmm *vmm, const struct opts *o)
{
	kumo_error_t err = NULL;
	autofree char *out1 = xasprintf("%s/first.out", o->dir);
	autofree char *out2 = xasprintf("%s/second.out", o->dir);
	autofree char *run1 = xasprintf("%s/run1", o->dir);
	autofree char *run2 = xasprintf("%s/run2", o->dir);
	autoclose int fd1 = open(out1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	autoclose int fd2 = open(out2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct vmm_vm *vm = NULL, *vm2 = NULL;
	struct vmm_snapshot_stats st;
	int rc = 1;
	if (fd1 < 0 || fd2 < 0) {
		perror("snapshot-tool: output");
		return 1;
	}
	autofree char *first = vm_name("snap-first"), *second = vm_name("snap-second");
	if (boot(vmm, o, first, run1, fd1, &vm, &err) < 0)
		goto out;
	if (wait_lines(out1, o->lines, 60000) < 0) {
		kumo_error(&err, KUMO_E_IO, "the first vm wrote fewer than %u lines in 60 s",
			   o->lines);
		goto out;
	}
	if (vmm_checkpoint(vm, o->snap, false, &st, &err) < 0)
		goto out;
	printf("checkpoint: %.1f ms (guest paused %.1f ms), stream %llu bytes\n",
	       (double)st.save_ns / 1e6, (double)st.paused_ns / 1e6,
	       (unsigned long long)st.stream_bytes);
	struct kumo_exit_record ex;
	vmm_wait(vm, 10000, &ex, &err);
	printf("first vm: exit status %u\n", ex.status);
	vmm_vm_free(vm);
	vm = NULL;
	if (restore(o->to, o->snap, second, run2, fd2, &vm2, &st, &err) < 0)
		goto out;
	printf("restore: %.1f ms (state loaded in %.1f ms)\n", (double)st.paused_ns / 1e6,
	       (double)st.save_ns / 1e6);
	if (wait_lines(out2, o->more, 60000) < 0) {
		kumo_error(&err, KUMO_E_IO, "the restored vm wrote fewer than %u lines in 60 s",
			   o->more);
		goto out;
	}
	if (vmm_stop(vm2, 0, &err) < 0)
		goto out;
	rc = 0;
out:
	vmm_vm_free(vm);
	vmm_vm_free(vm2);
	if (rc)
		return fail(&err);
	return 0;
}

struct dest {
	struct vmm *vmm;
	const char *name, *snap, *run_dir, *uri;
	int out_fd;
	struct vmm_vm *vm;
	kumo_error_t err;
	int rc;
};

static void *dest_main(void *arg)
{
	struct dest *d = arg;
	struct vmm_restore_spec rs = {.name = d->name, .run_dir = d->run_dir,
				      .stdout_fd = d->out_fd, .stderr_fd = 2, .incoming = d->uri};
	struct vmm_snapshot_stats st;
	d->rc = vmm_restore(d->vmm, d->snap, &rs, &d->vm, &st, &d->err);
	return NULL;
}

/* The pid in a pid file, 0 when it is not there (yet). */
static int read_pid(const char *pid_file)
{
	FILE *f = fopen(pid_file, "r");
	int pid = 0;
	if (f && fscanf(f, "%d", &pid) != 1)
		pid = 0;
	if (f)
		fclose(f);
	return pid;
}

/* Whether something listens on TCP port (IPv4, any address) in the network namespace of
 * the process pid_file names (libvirt's QEMU lives in libvirtd's): its /proc/PID/net/tcp,
 * as a connection would be the one QEMU's incoming migration accepts. */
static bool listening(const char *pid_file, int port)
{
	int pid = read_pid(pid_file);
	if (pid <= 0)
		return false;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/tcp", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[256];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned lport, st;
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x", &lport, &st) == 2)
			found = (int)lport == port && st == 0x0a; /* TCP_LISTEN */
	}
	fclose(f);
	return found;
}

struct killer {
	const char *pid_file;
	int after_ms;
};

/* Kills the destination's QEMU (its pid file) after_ms into the migration. */
static void *killer_main(void *arg)
{
	struct killer *k = arg;
	usleep((useconds_t)k->after_ms * 1000);
	int pid = read_pid(k->pid_file);
	if (pid > 1)
		kill(pid, SIGKILL);
	return NULL;
}

/* Watches both VMs' output files (every 0.5 ms): when the source's last line and the
 * destination's first line arrived, the app's gap as its output shows it. */
struct watch {
	const char *out1, *out2;
	volatile bool stop;
	uint64_t last_src_ns, first_dst_ns;
};

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	struct stat a, b;
	off_t n1 = -1;
	while (!w->stop && !w->first_dst_ns) {
		if (stat(w->out1, &a) == 0 && a.st_size != n1) {
			n1 = a.st_size;
			w->last_src_ns = kumo_now_ns();
		}
		if (stat(w->out2, &b) == 0 && b.st_size > 0)
			w->first_dst_ns = kumo_now_ns();
		usleep(500);
	}
	return NULL;
}

static int cmd_migrate(struct vmm *vmm, const struct opts *o)
{
	kumo_error_t err = NULL;
	autofree char *out1 = xasprintf("%s/first.out", o->dir);
	autofree char *out2 = xasprintf("%s/second.out", o->dir);
	autofree char *run1 = xasprintf("%s/run1", o->dir);
	autofree char *run2 = xasprintf("%s/run2", o->dir);
	autofree char *uri = xasprintf("tcp:127.0.0.1:%d", o->port);
	autoclose int fd1 = open(out1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	autoclose int fd2 = open(out2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct vmm_vm *vm = NULL;
	autofree char *source = vm_name("snap-source"), *dest = vm_name("snap-dest");
	struct dest d = {.vmm = o->to, .name = dest, .snap = o->snap, .run_dir = run2, .uri = uri,
			 .out_fd = fd2};
	/* Where the destination's QEMU pid appears once it was started. */
	autofree char *pid_file = strcmp(vmm_backend_name(o->to), "libvirt") == 0
					  ? xasprintf("/run/libvirt/qemu/%s.pid", dest)
					  : xasprintf("%s/qemu.pid", run2);
	bool dest_started = false, watching = false;
	struct watch w = {.out1 = out1, .out2 = out2};
	pthread_t wt;
	int rc = 1;
	if (boot(vmm, o, source, run1, fd1, &vm, &err) < 0)
		goto out;
	if (wait_lines(out1, o->lines, 60000) < 0) {
		kumo_error(&err, KUMO_E_IO, "the source vm wrote fewer than %u lines", o->lines);
		goto out;
	}
	if (vmm_snapshot_describe(vm, o->snap, &err) < 0)
		goto out;
	pthread_t dt, kt;
	if (pthread_create(&dt, NULL, dest_main, &d) != 0) {
		kumo_error(&err, KUMO_E_INTERNAL, "no thread");
		goto out;
	}
	dest_started = true;
	struct killer k = {pid_file, o->kill_dest_ms};
	struct vmm_snapshot_stats st;
	int mrc = -1;
	watching = !o->kill_dest_ms && pthread_create(&wt, NULL, watch_main, &w) == 0;
	/* The destination's QEMU listens once it has started: try until it does. */
	for (int i = 0; i < 200 && mrc < 0; i++) {
		kumo_error_free(&err);
		if (i == 0 && o->kill_dest_ms) {
			/* Wait for the destination to listen (libvirt's QEMU does ~0.3 s after it
			 * started), then break it off mid-way. */
			for (int t = 0; t < 30000 && !listening(pid_file, o->port); t++)
				usleep(1000);
			pthread_create(&kt, NULL, killer_main, &k);
		}
		mrc = vmm_migrate(vm, uri, NULL, &st, &err);
		if (mrc < 0 && (o->kill_dest_ms || !strstr(kumo_error_msg(err), "refused")))
			break;
		if (mrc < 0)
			usleep(20000);
	}
	if (o->kill_dest_ms) {
		pthread_join(kt, NULL);
		if (mrc == 0) {
			kumo_error(&err, KUMO_E_INTERNAL, "the migration succeeded although the "
							  "destination was killed");
			goto out;
		}
		printf("migration broken off: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		unsigned before = count_lines(out1);
		if (vmm_vm_state(vm) != VMM_STATE_RUNNING || wait_lines(out1, before + 3, 10000) < 0) {
			kumo_error(&err, KUMO_E_INTERNAL, "the source stopped after the broken migration");
			goto out;
		}
		printf("source: still running, %u lines\n", count_lines(out1));
		rc = 0;
		goto out;
	}
	if (mrc < 0)
		goto out;
	uint64_t t_done = kumo_now_ns();
	pthread_join(dt, NULL);
	dest_started = false;
	if (d.rc < 0) {
		err = d.err;
		d.err = NULL;
		goto out;
	}
	if (vmm_start(d.vm, &err) < 0)
		goto out;
	uint64_t t_started = kumo_now_ns();
	if (wait_lines(out2, o->more, 60000) < 0) {
		kumo_error(&err, KUMO_E_IO, "the destination wrote fewer than %u lines", o->more);
		goto out;
	}
	if (watching) {
		w.stop = true;
		pthread_join(wt, NULL);
		watching = false;
	}
	printf("migrate: total %.1f ms, downtime %.1f ms (QEMU's), hand-over %.1f ms, %llu bytes, "
	       "output gap %.1f ms\n", (double)st.save_ns / 1e6, (double)st.paused_ns / 1e6,
	       (double)(t_started - t_done) / 1e6, (unsigned long long)st.stream_bytes,
	       w.first_dst_ns && w.last_src_ns ? (double)(w.first_dst_ns - w.last_src_ns) / 1e6
					       : -1.0);
	rc = 0;
out:
	if (watching) {
		w.stop = true;
		pthread_join(wt, NULL);
	}
	if (dest_started) {
		pthread_join(dt, NULL); /* a failed migration: the destination gives up too */
		kumo_error_free(&d.err);
	}
	vmm_vm_free(vm);
	vmm_vm_free(d.vm);
	if (rc)
		return fail(&err);
	return 0;
}

static int cmd_bench(struct vmm *vmm, const struct opts *o)
{
	kumo_error_t err = NULL;
	printf("# backend %s (restore: %s) accel %s mem %u MiB runs %d\n", vmm_backend_name(vmm),
	       vmm_backend_name(o->to), vmm_accel_name(vmm), o->mem, o->runs);
	printf("# checkpoint_ms paused_ms archive_ms archive_bytes verify_ms restore_ms resumed_ms "
	       "stream_bytes\n");
	for (int i = 0; i < o->runs; i++) {
		autofree char *out1 = xasprintf("%s/b%d-first.out", o->dir, i);
		autofree char *out2 = xasprintf("%s/b%d-second.out", o->dir, i);
		autofree char *run1 = xasprintf("%s/b%d-run1", o->dir, i);
		autofree char *run2 = xasprintf("%s/b%d-run2", o->dir, i);
		autofree char *snap = xasprintf("%s/b%d-snap", o->dir, i);
		autofree char *arch = xasprintf("%s/b%d.kumo", o->dir, i);
		autofree char *work = xasprintf("%s/b%d-unpacked", o->dir, i);
		struct vmm_archive *a = NULL;
		uint64_t asize = 0;
		autoclose int fd1 = open(out1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		autoclose int fd2 = open(out2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		struct vmm_vm *vm = NULL, *vm2 = NULL;
		struct vmm_snapshot_stats cs, rs;
		int rc = -1;
		autofree char *na = vm_name("snap-bench-a"), *nb = vm_name("snap-bench-b");
		if (boot(vmm, o, na, run1, fd1, &vm, &err) < 0)
			goto next;
		if (wait_lines(out1, o->lines, 60000) < 0) {
			kumo_error(&err, KUMO_E_IO, "the vm wrote fewer than %u lines", o->lines);
			goto next;
		}
		uint64_t t0 = kumo_now_ns();
		if (vmm_checkpoint(vm, snap, true, &cs, &err) < 0)
			goto next;
		uint64_t t1 = kumo_now_ns();
		struct vmm_archive_ids ids = {"bench-kernel", "bench-compiler", NULL};
		if (vmm_archive_write(arch, snap, &ids, NULL, 0, &asize, &err) < 0)
			goto next;
		uint64_t t1a = kumo_now_ns();
		vmm_stop(vm, 0, &err);
		unsigned before = count_lines(out2);
		uint64_t t2 = kumo_now_ns();
		if (vmm_archive_open(arch, work, &ids, &a, &err) < 0)
			goto next;
		uint64_t t2a = kumo_now_ns();
		if (restore(o->to, a->snap_dir, nb, run2, fd2, &vm2, &rs, &err) < 0)
			goto next;
		uint64_t t3 = kumo_now_ns();
		if (wait_lines(out2, before + 1, 60000) < 0) {
			kumo_error(&err, KUMO_E_IO, "the restored vm wrote nothing");
			goto next;
		}
		uint64_t t4 = kumo_now_ns();
		printf("%.2f %.2f %.2f %llu %.2f %.2f %.2f %llu\n", (double)(t1 - t0) / 1e6,
		       (double)cs.paused_ns / 1e6, (double)(t1a - t1) / 1e6,
		       (unsigned long long)asize, (double)(t2a - t2) / 1e6, (double)(t3 - t2a) / 1e6,
		       (double)(t4 - t2a) / 1e6, (unsigned long long)cs.stream_bytes);
		fflush(stdout);
		rc = 0;
	next:
		vmm_vm_free(vm);
		vmm_vm_free(vm2);
		vmm_archive_free(a);
		if (rc < 0)
			return fail(&err);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.mem = 64, .lines = 5, .more = 5, .runs = 10, .accel = VMM_ACCEL_TCG};
	static const struct option lo[] = {
		{"mem", 1, 0, 'm'},  {"dir", 1, 0, 'd'},  {"snap", 1, 0, 's'}, {"lines", 1, 0, 'l'},
		{"more", 1, 0, 'M'}, {"runs", 1, 0, 'r'}, {"accel", 1, 0, 'a'}, {"port", 1, 0, 'p'}, {"kill-dest", 1, 0, 'k'},
		{"backend", 1, 0, 'b'}, {"to-backend", 1, 0, 't'}, {0, 0, 0, 0},
	};
	const char *backend = "qemu", *to_backend = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm': o.mem = (unsigned)atoi(optarg); break;
		case 'd': o.dir = optarg; break;
		case 's': o.snap = optarg; break;
		case 'l': o.lines = (unsigned)atoi(optarg); break;
		case 'M': o.more = (unsigned)atoi(optarg); break;
		case 'r': o.runs = atoi(optarg); break;
		case 'p': o.port = atoi(optarg); break;
		case 'k': o.kill_dest_ms = atoi(optarg); break;
		case 'b': backend = optarg; break;
		case 't': to_backend = optarg; break;
		case 'a': {
			kumo_error_t e = NULL;
			if (vmm_accel_parse(optarg, &o.accel, &e) < 0)
				return fail(&e) + 1;
			break;
		}
		default: return 2;
		}
	}
	if (argc - optind != 2 || !o.dir) {
		fprintf(stderr, "usage: snapshot-tool cycle|bench|migrate --dir WORK [--snap DIR] "
				"[--mem MIB] [--lines N] [--more N] [--runs N] [--backend qemu|libvirt] "
				"[--to-backend qemu|libvirt] BUILD_DIR\n");
		return 2;
	}
	const char *cmd = argv[optind];
	o.build = argv[optind + 1];
	autofree char *snap = xasprintf("%s/snap", o.dir);
	if (!o.snap)
		o.snap = snap;
	struct vmm *vmm;
	kumo_error_t err = NULL;
	if (kumo_mkdir_p(o.dir, 0755, &err) < 0)
		return fail(&err);
	if (!to_backend)
		to_backend = backend;
	enum vmm_backend kinds[2];
	const char *names[2] = {backend, to_backend};
	for (int i = 0; i < 2; i++) {
		if (strcmp(names[i], "qemu") != 0 && strcmp(names[i], "libvirt") != 0) {
			fprintf(stderr, "snapshot-tool: backend `%s`: want qemu or libvirt\n", names[i]);
			return 2;
		}
		kinds[i] = strcmp(names[i], "libvirt") == 0 ? VMM_BACKEND_LIBVIRT : VMM_BACKEND_QEMU;
	}
	/* auto without a kernel to probe with is TCG (vmm_open): the caller passes its verdict. */
	struct vmm_config cfg = {.backend = kinds[0], .accel = o.accel};
	if (vmm_open(&cfg, &vmm, &err) < 0)
		return fail(&err);
	o.to = vmm;
	cfg.backend = kinds[1];
	if (kinds[1] != kinds[0] && vmm_open(&cfg, &o.to, &err) < 0) {
		vmm_close(vmm);
		return fail(&err);
	}
	int rc = strcmp(cmd, "cycle") == 0   ? cmd_cycle(vmm, &o)
		 : strcmp(cmd, "bench") == 0 ? cmd_bench(vmm, &o)
		 : strcmp(cmd, "migrate") == 0 ? cmd_migrate(vmm, &o)
					     : 2;
	if (o.to != vmm)
		vmm_close(o.to);
	vmm_close(vmm);
	return rc;
}
