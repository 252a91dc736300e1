/* tests/unit/test_vmm_xml.c - domain XML and QEMU argv against golden files
 * (tests/unit/golden/; KUMO_REGEN_GOLDEN=1 rewrites them), CRI resource mapping, and
 * exit-record parsing. Pure functions: no VM is started. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "vmm/vmm.h"

static void check_golden(const char *text, const char *golden)
{
	kumo_error_t err = NULL;
	if (getenv("KUMO_REGEN_GOLDEN")) {
		assert_int_equal(kumo_write_file_atomic(golden, text, strlen(text), 0644, &err), 0);
		fprintf(stderr, "regenerated %s\n", golden);
	}
	uint8_t *want = NULL;
	size_t wlen;
	assert_int_equal(kumo_read_file(golden, 1 << 20, &want, &wlen, &err), 0);
	if (strlen(text) != wlen || memcmp(text, want, wlen) != 0) {
		fprintf(stderr, "differs from %s:\n%s", golden, text);
		fail();
	}
	free(want);
}

static struct vmm_spec base_spec(void)
{
	struct vmm_spec s = {
		.name = "kumo-pod1-app",
		.kernel = "/var/lib/kumo/cache/k/kernel.elf",
		.initrd = "/var/lib/kumo/cache/k/initrd.img",
		.cmdline = "quiet",
		.memory_mib = 64,
		.vcpus = 1,
		.run_dir = "/run/kumo/vms/pod1-app",
		.stdout_fd = -1,
		.stderr_fd = -1,
	};
	return s;
}

static void minimal_tcg(void **state)
{
	(void)state;
	struct vmm_spec s = base_spec();
	s.initrd = NULL;
	s.cmdline = NULL;
	autofree char *xml = vmm_domain_xml(&s, VMM_ACCEL_TCG, false);
	check_golden(xml, "tests/unit/golden/domain-minimal-tcg.xml");
}

static void full_kvm(void **state)
{
	(void)state;
	struct vmm_spec s = base_spec();
	struct vmm_net_attach net = {.tap = "kt0a580002", .mac = {0x02, 0x6b, 0x0a, 0x58, 0x00, 0x02}};
	s.net = &net;
	struct vmm_share shares[] = {{"/var/lib/kubelet/pods/u1/volumes/empty-dir/cache", "kumo0", false},
				     {"/var/lib/kubelet/pods/u1/volumes/configmap/cfg&'x", "kumo1", true}};
	s.shares = shares;
	s.nshares = 2;
	s.name = "odd<&'\">name"; /* escaped, even though vmm_create refuses such names */
	s.cmdline = "a=1 b='x'";
	/* 256 MiB, 1.5 CPUs of quota, shares 512 (cri_vm_size_of's mapping). */
	s.memory_mib = 256;
	s.vcpus = 2;
	s.cputune = (struct vmm_cputune){.shares = 512, .period_us = 100000, .quota_us = 75000};
	autofree char *xml = vmm_domain_xml(&s, VMM_ACCEL_KVM, false);
	check_golden(xml, "tests/unit/golden/domain-full-kvm.xml");
}

/* A restore (vmm_restore on libvirt): QEMU starts waiting for its state (-incoming
 * defer), beside the virtio switch when the VM has a NIC, and alone without one. */
static void incoming(void **state)
{
	(void)state;
	struct vmm_spec s = base_spec();
	struct vmm_net_attach net = {.tap = "kt0a580002", .mac = {0x02, 0x6b, 0x0a, 0x58, 0x00, 0x02}};
	s.net = &net;
	autofree char *xml = vmm_domain_xml(&s, VMM_ACCEL_TCG, true);
	check_golden(xml, "tests/unit/golden/domain-incoming-tcg.xml");
	s.net = NULL;
	autofree char *bare = vmm_domain_xml(&s, VMM_ACCEL_TCG, true);
	assert_non_null(strstr(bare, " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"));
	assert_non_null(strstr(bare, "  <qemu:commandline>\n"
				     "    <qemu:arg value='-incoming'/>\n"
				     "    <qemu:arg value='defer'/>\n"
				     "  </qemu:commandline>\n</domain>\n"));
	assert_null(strstr(bare, "force-legacy"));
}

static void qemu_argv(void **state)
{
	(void)state;
	struct vmm_spec s = base_spec();
	struct vmm_net_attach net = {.tap = "kt0a580002", .mac = {0x02, 0x6b, 0x0a, 0x58, 0x00, 0x02}};
	s.net = &net;
	struct vmm_share shares[] = {{"/var/lib/kubelet/pods/u1/volumes/empty-dir/cache", "kumo0", false},
				     {"/var/lib/kubelet/pods/u1/etc-dir", "kumo1", true}};
	s.shares = shares;
	s.nshares = 2;
	char **argv = vmm_qemu_argv("qemu-system-x86_64", &s, VMM_ACCEL_TCG);
	struct { char *s; size_t len, cap; } b = {0};
	FILE *f = open_memstream(&b.s, &b.len);
	for (char **p = argv; *p; p++)
		fprintf(f, "%s\n", *p);
	fclose(f);
	vmm_argv_free(argv);
	check_golden(b.s, "tests/unit/golden/qemu-argv-tcg.txt");
	free(b.s);
}

/* Shares without a NIC: the virtio-mmio devices still get the modern interface. */
static void shares_only(void **state)
{
	(void)state;
	struct vmm_spec s = base_spec();
	struct vmm_share share = {"/srv/data", "data", false};
	s.shares = &share;
	s.nshares = 1;
	autofree char *xml = vmm_domain_xml(&s, VMM_ACCEL_TCG, false);
	check_golden(xml, "tests/unit/golden/domain-shares-tcg.xml");
	char **argv = vmm_qemu_argv("qemu-system-x86_64", &s, VMM_ACCEL_TCG);
	struct { char *s; size_t len, cap; } b = {0};
	FILE *f = open_memstream(&b.s, &b.len);
	for (char **p = argv; *p; p++)
		fprintf(f, "%s\n", *p);
	fclose(f);
	vmm_argv_free(argv);
	check_golden(b.s, "tests/unit/golden/qemu-argv-shares-tcg.txt");
	free(b.s);
}

/* A pod VM: the control channel's virtio-console on a unix socket QEMU serves. */
static void qemu_argv_pod(void **state)
{
	(void)state;
	struct vmm_spec s = base_spec();
	s.control_socket = "/run/kumo/vms/pod1/control.sock";
	char **argv = vmm_qemu_argv("qemu-system-x86_64", &s, VMM_ACCEL_TCG);
	struct { char *s; size_t len, cap; } b = {0};
	FILE *f = open_memstream(&b.s, &b.len);
	for (char **p = argv; *p; p++)
		fprintf(f, "%s\n", *p);
	fclose(f);
	vmm_argv_free(argv);
	check_golden(b.s, "tests/unit/golden/qemu-argv-pod-tcg.txt");
	free(b.s);
}

/* A stream console (`kumo run`): COM1 and COM2 are sockets on fds, COM3 still a file. */
static void qemu_argv_stream(void **state)
{
	(void)state;
	struct vmm_spec s = base_spec();
	s.console_stream = true;
	char **argv = vmm_qemu_argv("qemu-system-x86_64", &s, VMM_ACCEL_TCG);
	struct { char *s; size_t len, cap; } b = {0};
	FILE *f = open_memstream(&b.s, &b.len);
	for (char **p = argv; *p; p++)
		fprintf(f, "%s\n", *p);
	fclose(f);
	vmm_argv_free(argv);
	check_golden(b.s, "tests/unit/golden/qemu-argv-stream-tcg.txt");
	free(b.s);
}

/* A tap opened elsewhere (a pod's namespace) reaches QEMU as an fd, never by name. */
static void qemu_argv_tap_fd(void **state)
{
	(void)state;
	struct vmm_spec s = base_spec();
	struct vmm_net_attach net = {.tap = "kc0123456789ab", .mac = {0x02, 0, 0, 0, 0, 1}, .has_fd = true, .fd = 9};
	s.net = &net;
	char **argv = vmm_qemu_argv("qemu-system-x86_64", &s, VMM_ACCEL_TCG);
	int netdevs = 0;
	for (char **p = argv; *p; p++) {
		assert_null(strstr(*p, "ifname="));
		if (strcmp(*p, "-netdev") == 0) {
			assert_string_equal(p[1], "tap,id=net0,fd=4");
			netdevs++;
		}
	}
	assert_int_equal(netdevs, 1);
	vmm_argv_free(argv);
}

static void exit_records(void **state)
{
	(void)state;
	struct kumo_exit_record ex;
	const char *ok = "KUMO-EXIT v=1 status=0 kind=exit msg=\n";
	assert_int_equal(vmm_parse_exit_record(ok, strlen(ok), &ex), 0);
	assert_int_equal(ex.kind, KUMO_EXIT_EXITED);
	assert_int_equal(ex.status, 0);
	assert_int_equal(ex.trap, -1);
	assert_string_equal(ex.msg, "");
	/* Kernel log lines share COM3 with the record. */
	const char *e = "kumo: boot 1.2 ms\nKUMO-EXIT v=1 status=255 kind=exit msg=exited\n";
	assert_int_equal(vmm_parse_exit_record(e, strlen(e), &ex), 0);
	assert_int_equal(ex.kind, KUMO_EXIT_EXITED);
	assert_int_equal(ex.status, 255);
	assert_string_equal(ex.msg, "exited");
	const char *t = "KUMO-EXIT v=1 status=134 kind=trap trap=3 msg=integer divide by zero\r\n";
	assert_int_equal(vmm_parse_exit_record(t, strlen(t), &ex), 0);
	assert_int_equal(ex.kind, KUMO_EXIT_TRAPPED);
	assert_int_equal(ex.status, 134);
	assert_int_equal(ex.trap, 3);
	assert_string_equal(ex.msg, "integer divide by zero");
	/* Out of memory is a kind of its own: vmm knows no trap codes. */
	const char *oom = "KUMO-EXIT v=1 status=134 kind=oom trap=11 msg=out of memory\n";
	assert_int_equal(vmm_parse_exit_record(oom, strlen(oom), &ex), 0);
	assert_int_equal(ex.kind, KUMO_EXIT_OOM);
	assert_string_equal(ex.msg, "out of memory");
	const char *old_oom = "KUMO-EXIT v=1 status=134 kind=trap trap=11 msg=out of memory\n";
	assert_int_equal(vmm_parse_exit_record(old_oom, strlen(old_oom), &ex), 0);
	assert_int_equal(ex.kind, KUMO_EXIT_TRAPPED);
	const char *pan = "page fault at 0x0\nKUMO-EXIT v=1 status=255 kind=panic msg=page fault in kernel status=3\n";
	assert_int_equal(vmm_parse_exit_record(pan, strlen(pan), &ex), 0);
	assert_int_equal(ex.kind, KUMO_EXIT_PANICKED);
	assert_int_equal(ex.status, 255);
	assert_string_equal(ex.msg, "page fault in kernel status=3");
	/* Invalid: cut off, out of range, not a number, unknown kind, trap without code,
	 * another version, the old format. */
	const char *bad[] = {
		"KUMO-EXIT v=1 status=1 kind=exit msg=",
		"KUMO-EXIT v=1 status=256 kind=exit msg=\n",
		"KUMO-EXIT v=1 status=x kind=exit msg=\n",
		"",
		"KUMO-EXIT v=1 status=1 kind=weird msg=\n",
		"KUMO-EXIT v=1 status=134 kind=trap msg=x\n",
		"KUMO-EXIT v=1 status=134 kind=oom msg=x\n",
		"KUMO-EXIT v=2 status=1 kind=exit msg=\n",
		"KUMO-EXIT 1 \n",
		"KUMO-EXIT v=1 kind=exit msg=status=3\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vmm_parse_exit_record(bad[i], strlen(bad[i]), &ex) != -1) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			fail();
		}
	}
	/* The last complete record wins; a trailing cut-off one is ignored. */
	const char *two = "KUMO-EXIT v=1 status=1 kind=exit msg=\nKUMO-EXIT v=1 status=2 kind=exit msg=\n"
			  "KUMO-EXIT v=1 status=3";
	assert_int_equal(vmm_parse_exit_record(two, strlen(two), &ex), 0);
	assert_int_equal(ex.status, 2);
}

static int collect_file(const char *path, const uint8_t *data, size_t len, void *ctx)
{
	char *out = ctx;
	size_t at = strlen(out);
	snprintf(out + at, 512 - at, "%s=[%.*s];", path, (int)len, (const char *)data);
	return strcmp(path, "/fail") == 0 ? -1 : 0;
}

/* KUMO-FILE records: decoded in order, other lines and malformed records skipped. */
static void file_records(void **state)
{
	(void)state;
	char got[512] = "";
	const char *buf = "kumo: boot\n"
			  "KUMO-FILE v=1 size=5 hex=68656c6c6f path=/dev/termination-log\n"
			  "KUMO-FILE v=1 size=0 hex= path=/etc/with space\n"
			  "KUMO-FILE v=1 size=2 hex=6 path=/short\n"
			  "KUMO-FILE v=1 size=1 hex=zz path=/nothex\n"
			  "KUMO-FILE v=1 size=1 hex=41 path=\n"
			  "KUMO-FILE v=1 size=999999999 hex=41 path=/huge\n"
			  "KUMO-FILE v=2 size=1 hex=41 path=/v2\n"
			  "KUMO-EXIT v=1 status=3 kind=exit msg=exited\n"
			  "KUMO-FILE v=1 size=1 hex=41 path=/cut";
	assert_int_equal(vmm_parse_file_records(buf, strlen(buf), collect_file, got), 2);
	assert_string_equal(got, "/dev/termination-log=[hello];/etc/with space=[];");
	/* The callback's failure stops the walk. */
	const char *f = "KUMO-FILE v=1 size=1 hex=41 path=/fail\nKUMO-FILE v=1 size=1 hex=42 path=/b\n";
	got[0] = 0;
	assert_int_equal(vmm_parse_file_records(f, strlen(f), collect_file, got), -1);
	assert_string_equal(got, "/fail=[A];");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_tcg), cmocka_unit_test(full_kvm),
		cmocka_unit_test(incoming),
		cmocka_unit_test(qemu_argv),   cmocka_unit_test(qemu_argv_tap_fd),
		cmocka_unit_test(qemu_argv_pod), cmocka_unit_test(qemu_argv_stream),
		cmocka_unit_test(shares_only),
		cmocka_unit_test(exit_records),
		cmocka_unit_test(file_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
