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
 * opts: --accel auto|kvm|tcg (default tcg)  --mem MIB  --dir WORK_DIR  --snap DIR  --lines N  --more N  --runs N
 */
#include <errno.h>
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
	enum vmm_accel accel; /* --accel auto|kvm|tcg (tests/lib/testlib.sh's verdict) */
	const char *build; /* kumo build output: kernel.elf, initrd.img */
};

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
	if (boot(vmm, o, "snap-first", run1, fd1, &vm, &err) < 0)
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
	if (restore(vmm, o->snap, "snap-second", run2, fd2, &vm2, &st, &err) < 0)
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

static int cmd_bench(struct vmm *vmm, const struct opts *o)
{
	kumo_error_t err = NULL;
	printf("# backend %s accel %s mem %u MiB runs %d\n", vmm_backend_name(vmm),
	       vmm_accel_name(vmm), o->mem, o->runs);
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
		if (boot(vmm, o, "snap-bench-a", run1, fd1, &vm, &err) < 0)
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
		if (restore(vmm, a->snap_dir, "snap-bench-b", run2, fd2, &vm2, &rs, &err) < 0)
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
		{"more", 1, 0, 'M'}, {"runs", 1, 0, 'r'}, {"accel", 1, 0, 'a'}, {0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm': o.mem = (unsigned)atoi(optarg); break;
		case 'd': o.dir = optarg; break;
		case 's': o.snap = optarg; break;
		case 'l': o.lines = (unsigned)atoi(optarg); break;
		case 'M': o.more = (unsigned)atoi(optarg); break;
		case 'r': o.runs = atoi(optarg); break;
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
		fprintf(stderr, "usage: snapshot-tool cycle|bench --dir WORK [--snap DIR] [--mem MIB] "
				"[--lines N] [--more N] [--runs N] BUILD_DIR\n");
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
	/* auto without a kernel to probe with is TCG (vmm_open): the caller passes its verdict. */
	struct vmm_config cfg = {.backend = VMM_BACKEND_QEMU, .accel = o.accel};
	if (vmm_open(&cfg, &vmm, &err) < 0)
		return fail(&err);
	int rc = strcmp(cmd, "cycle") == 0   ? cmd_cycle(vmm, &o)
		 : strcmp(cmd, "bench") == 0 ? cmd_bench(vmm, &o)
					     : 2;
	vmm_close(vmm);
	return rc;
}
