/* tests/unit/test_vmm_jail.c - the jail around QEMU (vmm/jail.c): its limits, when it is
 * off, a missing user, the search ACLs libvirt's QEMU needs (checked as the jail's user
 * in a child), the run directory handed over, and a VM's cgroups made with their limits
 * and removed. The parts that need root and the kumo-qemu user are skipped without. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "vmm/vmm.h"

static void limits(void **state)
{
	(void)state;
	struct vmm_jail j = {.overhead_mib = 256};
	struct vmm_spec s = {.memory_mib = 48, .vcpus = 1};
	assert_int_equal(vmm_jail_memory_limit(&j, &s), (uint64_t)(48 + 256) << 20);
	assert_int_equal(vmm_jail_pids_limit(&s), VMM_JAIL_PIDS_BASE + 2);
	s.vcpus = 4;
	assert_int_equal(vmm_jail_pids_limit(&s), VMM_JAIL_PIDS_BASE + 8);
	j.overhead_mib = 0; /* unset: the default */
	assert_int_equal(vmm_jail_memory_limit(&j, &s),
			 (uint64_t)(48 + VMM_JAIL_MEMORY_OVERHEAD_MIB) << 20);
}

static void off_and_missing_user(void **state)
{
	(void)state;
	struct vmm_jail j;
	kumo_error_t err = NULL;
	struct vmm_config off = {.jail_off = true};
	assert_int_equal(vmm_jail_init(&off, &j, &err), 0);
	assert_false(j.on);
	if (geteuid() != 0) {
		/* Not root: never jailed, whatever the config says. */
		struct vmm_config on = {0};
		assert_int_equal(vmm_jail_init(&on, &j, &err), 0);
		assert_false(j.on);
		skip();
	}
	struct vmm_config nouser = {.jail_user = "kumo-no-such-user"};
	assert_int_equal(vmm_jail_init(&nouser, &j, &err), -1);
	assert_int_equal(err->status, KUMO_E_PRECONDITION);
	assert_non_null(strstr(kumo_error_msg(err), "`kumo-no-such-user` does not exist"));
	assert_non_null(strstr(kumo_error_msg(err), "\"jail\": false"));
	kumo_error_free(&err);
	struct vmm_config root = {.jail_user = "root"};
	assert_int_equal(vmm_jail_init(&root, &j, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "is root"));
	kumo_error_free(&err);
}

/* The jail, or skip when this process cannot make one (not root, no kumo-qemu). */
static void jail_or_skip(struct vmm_jail *j)
{
	if (geteuid() != 0 || !getpwnam(VMM_JAIL_USER))
		skip();
	kumo_error_t err = NULL;
	struct vmm_config cfg = {0};
	if (vmm_jail_init(&cfg, j, &err) < 0) {
		fprintf(stderr, "jail: %s\n", kumo_error_msg(err));
		fail();
	}
	assert_true(j->on);
	assert_int_not_equal(j->uid, 0);
}

/* What the jail's user may do with path: 0 when open(path, flags) works as that user,
 * else the errno. */
static int as_jail(const struct vmm_jail *j, const char *path, int flags)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, j->gid, j->gid, j->gid) < 0 ||
		    syscall(SYS_setresuid, j->uid, j->uid, j->uid) < 0)
			_exit(125);
		int fd = open(path, flags | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : errno);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}

static void search_acls(void **state)
{
	(void)state;
	struct vmm_jail j;
	jail_or_skip(&j);
	char top[] = "/tmp/kumo-jail-XXXXXX";
	assert_non_null(mkdtemp(top)); /* 0700 root: the jail's user may not search it */
	autofree char *mid = xasprintf("%s/mid", top);
	autofree char *file = xasprintf("%s/initrd.img", mid);
	assert_int_equal(mkdir(mid, 0700), 0);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(file, "x", 1, 0644, &err), 0);
	assert_int_equal(as_jail(&j, file, O_RDONLY), EACCES);
	assert_int_equal(vmm_jail_grant_path(&j, file, &err), 0);
	assert_int_equal(as_jail(&j, file, O_RDONLY), 0);
	/* Search only: the directories cannot be listed, their modes for others unchanged. */
	assert_int_equal(as_jail(&j, mid, O_RDONLY | O_DIRECTORY), EACCES);
	struct stat st;
	assert_int_equal(stat(top, &st), 0);
	assert_int_equal(st.st_mode & 07, 0);
	/* Again: the entry is there once (merged into the ACL the first call made). */
	assert_int_equal(vmm_jail_grant_path(&j, file, &err), 0);
	assert_int_equal(as_jail(&j, file, O_RDONLY), 0);
	/* A file the user may not read stays unreadable: only directories are granted. */
	autofree char *secret = xasprintf("%s/secret", mid);
	assert_int_equal(kumo_write_file_atomic(secret, "s", 1, 0600, &err), 0);
	assert_int_equal(as_jail(&j, secret, O_RDONLY), EACCES);
	assert_int_equal(vmm_jail_check_readable(&j, file, &err), 0);
	assert_int_equal(vmm_jail_check_readable(&j, secret, &err), -1);
	assert_int_equal(err->status, KUMO_E_PERMISSION);
	assert_non_null(strstr(kumo_error_msg(err), "cannot read"));
	kumo_error_free(&err);
	unlink(secret);
	unlink(file);
	rmdir(mid);
	rmdir(top);
}

static void run_dir_handed_over(void **state)
{
	(void)state;
	struct vmm_jail j;
	jail_or_skip(&j);
	char dir[] = "/tmp/kumo-jail-XXXXXX";
	assert_non_null(mkdtemp(dir));
	kumo_error_t err = NULL;
	const char *raw[] = {VMM_RAW_STDOUT, VMM_RAW_STDERR, VMM_RAW_EXIT, "vm.json"};
	for (int i = 0; i < 4; i++) {
		autofree char *p = xasprintf("%s/%s", dir, raw[i]);
		assert_int_equal(kumo_write_file_atomic(p, "", 0, 0640, &err), 0);
	}
	assert_int_equal(vmm_jail_hand_run_dir(&j, dir, &err), 0);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, j.gid);
	assert_int_equal(st.st_mode & 0777, 0750);
	autofree char *out = xasprintf("%s/%s", dir, VMM_RAW_STDOUT);
	autofree char *rec = xasprintf("%s/vm.json", dir);
	autofree char *newf = xasprintf("%s/new", dir);
	assert_int_equal(as_jail(&j, out, O_WRONLY | O_APPEND), 0);
	assert_int_equal(as_jail(&j, rec, O_WRONLY), EACCES);      /* kumod's record */
	assert_int_equal(as_jail(&j, newf, O_WRONLY | O_CREAT), EACCES); /* no new files */
	for (int i = 0; i < 4; i++) {
		autofree char *p = xasprintf("%s/%s", dir, raw[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void cgroups(void **state)
{
	(void)state;
	struct vmm_jail j;
	jail_or_skip(&j);
	autofree char *name = xasprintf("kumo-unit-%d", (int)getpid());
	struct vmm_spec s = {.name = name, .memory_mib = 32, .vcpus = 2};
	int procs[2];
	size_t n = 0;
	kumo_error_t err = NULL;
	if (vmm_jail_cgroup_create(&j, &s, true, procs, &n, &err) < 0) {
		fprintf(stderr, "cgroup: %s\n", kumo_error_msg(err));
		fail();
	}
	assert_int_equal(n, j.cgroup_version == 2 ? 1 : 2);
	for (size_t i = 0; i < n; i++)
		close(procs[i]);
	autofree char *mem = vmm_jail_cgroup_dir(&j, "memory", name);
	autofree char *pids = vmm_jail_cgroup_dir(&j, "pids", name);
	autofree char *mfile = xasprintf("%s/%s", mem, j.cgroup_version == 2 ? "memory.max"
										: "memory.limit_in_bytes");
	autofree char *pfile = xasprintf("%s/pids.max", pids);
	uint8_t *buf = NULL;
	size_t len;
	assert_int_equal(kumo_read_file(mfile, 64, &buf, &len, &err), 0);
	assert_int_equal(strtoull((char *)buf, NULL, 10), (uint64_t)(32 + j.overhead_mib) << 20);
	free(buf);
	assert_int_equal(kumo_read_file(pfile, 64, &buf, &len, &err), 0);
	assert_int_equal(strtoul((char *)buf, NULL, 10), VMM_JAIL_PIDS_BASE + 4);
	free(buf);
	assert_false(vmm_jail_oom_killed(&j, name));
	/* A child joins, leaves by exiting; then the groups go. */
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(vmm_jail_cgroup_join(&j, name, true, pid, &err), 0);
	autofree char *cg = xasprintf("/proc/%d/cgroup", (int)pid);
	assert_int_equal(kumo_read_file(cg, 4096, &buf, &len, &err), 0);
	autofree char *want = xasprintf("/" VMM_JAIL_CGROUP_PARENT "/%s\n", name);
	assert_non_null(strstr((char *)buf, want));
	free(buf);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	vmm_jail_cgroup_remove(&j, name);
	struct stat st;
	assert_int_equal(stat(mem, &st), -1);
	assert_int_equal(stat(pids, &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limits),
		cmocka_unit_test(off_and_missing_user),
		cmocka_unit_test(search_acls),
		cmocka_unit_test(run_dir_handed_over),
		cmocka_unit_test(cgroups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
