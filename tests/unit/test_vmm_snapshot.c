/* tests/unit/test_vmm_snapshot.c - vmm_restore's refusals (vmm/snapshot.c), checked
 * before any QEMU starts: a snapshot record of another version, another accelerator,
 * another QEMU, a missing or extra network device or control channel, a description
 * without state. (The full cycle boots VMs:
 * tests/e2e/snapshot.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "vmm/vmm.h"

static char tmp[64];
static struct vmm *vmm;
static char qemu_version[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/kumo-snaptest-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	kumo_error_t err = NULL;
	struct vmm_config cfg = {.backend = VMM_BACKEND_QEMU, .accel = VMM_ACCEL_TCG};
	if (vmm_open(&cfg, &vmm, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
	/* The version vmm records, read the way it reads it. */
	FILE *p = popen("qemu-system-x86_64 --version", "r");
	assert_non_null(p);
	char line[256] = "";
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	line[strcspn(line, "\r\n")] = 0;
	const char *v = strncmp(line, "QEMU emulator version ", 22) == 0 ? line + 22 : line;
	snprintf(qemu_version, sizeof(qemu_version), "%s", v);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vmm_close(vmm);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd);
}

/* A snapshot directory with vm.json = json (printf format, %s: the QEMU version). */
static const char *snapshot(const char *name, const char *json)
{
	static char dir[128];
	snprintf(dir, sizeof(dir), "%s/%s", tmp, name);
	mkdir(dir, 0700);
	char p[256];
	snprintf(p, sizeof(p), "%s/" VMM_SNAPSHOT_VM, dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, json, qemu_version);
	fclose(f);
	const char *others[] = {VMM_SNAPSHOT_KERNEL_LOG, VMM_SNAPSHOT_KERNEL};
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, others[i]);
		f = fopen(p, "w");
		assert_non_null(f);
		fputs("x", f);
		fclose(f);
	}
	return dir;
}

/* vmm_restore of dir: its error's status, message in msg. */
static int restore_status(const char *dir, const struct vmm_net_attach *net, const char *ctl,
			  char *msg, size_t cap)
{
	char run[160];
	snprintf(run, sizeof(run), "%s/run", tmp);
	struct vmm_restore_spec rs = {.name = "snaptest", .run_dir = run, .stdout_fd = -1,
				      .stderr_fd = -1, .net = net, .control_socket = ctl};
	struct vmm_vm *vm = NULL;
	kumo_error_t err = NULL;
	int rc = vmm_restore(vmm, dir, &rs, &vm, NULL, &err);
	snprintf(msg, cap, "%s", kumo_error_msg(err));
	int st = rc < 0 ? err->status : 0;
	kumo_error_free(&err);
	vmm_vm_free(vm);
	return st;
}

#define GOOD "{\"version\": 1, \"name\": \"x\", \"memory_mib\": 16, \"vcpus\": 1, \"cmdline\": \"\", " \
	     "\"accel\": \"tcg\", \"qemu\": \"%s\", \"control_channel\": false, \"shares\": []"

static void refusals(void **state)
{
	(void)state;
	char msg[512];
	assert_int_equal(restore_status(snapshot("v2", "{\"version\": 2}"), NULL, NULL, msg,
					sizeof(msg)), KUMO_E_PRECONDITION);
	assert_non_null(strstr(msg, "has version 2, this kumo reads version 1"));
	assert_int_equal(restore_status(snapshot("kvm", "{\"version\": 1, \"name\": \"x\", "
					"\"memory_mib\": 16, \"vcpus\": 1, \"cmdline\": \"\", "
					"\"accel\": \"kvm\", \"qemu\": \"%s\", \"shares\": []}"),
					NULL, NULL, msg, sizeof(msg)), KUMO_E_PRECONDITION);
	assert_non_null(strstr(msg, "with accelerator `kvm`, this node has `tcg`"));
	assert_int_equal(restore_status(snapshot("qemu9", "{\"version\": 1, \"name\": \"x\", "
					"\"memory_mib\": 16, \"vcpus\": 1, \"cmdline\": \"\", "
					"\"accel\": \"tcg\", \"qemu\": \"9.9.9\", \"shares\": []}"),
					NULL, NULL, msg, sizeof(msg)), KUMO_E_PRECONDITION);
	assert_non_null(strstr(msg, "with QEMU `9.9.9`"));
	/* The device set must match the saved one. */
	assert_int_equal(restore_status(snapshot("nic", GOOD ", \"mac\": \"52:54:00:00:00:01\"}"),
					NULL, NULL, msg, sizeof(msg)), KUMO_E_INVALID);
	assert_non_null(strstr(msg, "has a network device; give the vm a network"));
	struct vmm_net_attach net = {.tap = "kt0"};
	assert_int_equal(restore_status(snapshot("nonic", GOOD "}"), &net, NULL, msg, sizeof(msg)),
			 KUMO_E_INVALID);
	assert_non_null(strstr(msg, "has no network device"));
	assert_int_equal(restore_status(snapshot("noctl", GOOD "}"), NULL, "/tmp/x.sock", msg,
					sizeof(msg)), KUMO_E_INVALID);
	assert_non_null(strstr(msg, "has no control channel; a vm restored from it cannot take one"));
	/* A description (a migration's first step) holds no state to restore from. */
	assert_int_equal(restore_status(snapshot("desc", GOOD "}"), NULL, NULL, msg, sizeof(msg)),
			 KUMO_E_INVALID);
	assert_non_null(strstr(msg, "holds no machine state"));
	/* Not a snapshot at all. */
	assert_int_equal(restore_status(tmp, NULL, NULL, msg, sizeof(msg)), KUMO_E_INVALID);
	assert_non_null(strstr(msg, "snapshot record"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
