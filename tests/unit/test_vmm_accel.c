/* tests/unit/test_vmm_accel.c - the accelerator verdict (vmm/accel.c): its cache (a hit,
 * invalidation by each key, a corrupt file) and the probe against a fake QEMU
 * (tests/support/fake-qemu.py on PATH) and fake host paths (/dev/kvm, /sys/module, the
 * boot id), so every verdict can be reached on any host; and the host's TSC rate for
 * TCG guests (vmm/tsc.c): not measured too soon, measured and cached, read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

#include "vmm/vmm.h"

static char tmp[] = "/tmp/kumo-accel-XXXXXX";
static char dev_kvm[PATH_MAX], sys_module[PATH_MAX], boot_id[PATH_MAX], cache[PATH_MAX];
static char qemu[PATH_MAX], kernel[PATH_MAX];

static void write_text(const char *path, const char *text)
{
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(path, text, strlen(text), 0755, &err), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmp))
		return -1;
	const char *fake = getenv("KUMO_FAKE_QEMU");
	char here[PATH_MAX];
	if (!fake) {
		if (!realpath("tests/support/fake-qemu.py", here)) {
			fprintf(stderr, "tests/support/fake-qemu.py not found (run from the repository top)\n");
			return -1;
		}
		fake = here;
	}
	snprintf(dev_kvm, sizeof(dev_kvm), "%s/kvm", tmp);
	snprintf(sys_module, sizeof(sys_module), "%s/module", tmp);
	snprintf(boot_id, sizeof(boot_id), "%s/boot_id", tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	snprintf(kernel, sizeof(kernel), "%s/kernel.elf", tmp);
	snprintf(qemu, sizeof(qemu), "%s/bin/qemu-system-x86_64", tmp);
	autofree char *bin = xasprintf("%s/bin", tmp);
	kumo_error_t err = NULL;
	if (kumo_mkdir_p(bin, 0755, &err) < 0 || kumo_mkdir_p(sys_module, 0755, &err) < 0)
		return -1;
	autofree char *script = xasprintf("#!/bin/sh\nexec python3 '%s' \"$@\"\n", fake);
	write_text(qemu, script);
	write_text(dev_kvm, "");
	write_text(boot_id, "11111111-2222-3333-4444-555555555555\n");
	write_text(kernel, "not really a kernel: the fake QEMU does not read it\n");
	autofree char *path = xasprintf("%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	autofree char *cmd = xasprintf("rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static struct vmm_accel_probe probe_for(const char *kernel_id)
{
	return (struct vmm_accel_probe){.kernel = kernel, .kernel_id = kernel_id,
					.cache_dir = cache, .dev_kvm = dev_kvm,
					.sys_module = sys_module, .boot_id_path = boot_id,
					.deadline_ms = 3000};
}

static struct vmm_accel_key key_of(const char *kernel_id)
{
	struct vmm_accel_probe p = probe_for(kernel_id);
	struct vmm_accel_key k;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_accel_host_key(&p, &k, &err), 0);
	return k;
}

/* A verdict from a full run: mode is the fake QEMU's FAKE_QEMU_MODE. */
static struct vmm_accel_verdict verdict(const char *kernel_id, const char *mode)
{
	setenv("FAKE_QEMU_MODE", mode, 1);
	struct vmm_accel_probe p = probe_for(kernel_id);
	struct vmm_accel_verdict v;
	kumo_error_t err = NULL;
	int rc = vmm_accel_verdict(&p, &v, &err);
	if (rc < 0)
		fprintf(stderr, "%s\n", kumo_error_msg(err));
	assert_int_equal(rc, 0);
	fprintf(stderr, "  [%s] %s%s (probe %.1f ms)\n", mode, v.reason, v.cached ? ", cached" : "",
		(double)v.probe_ns / 1e6);
	return v;
}

static void cache_hit_and_each_key(void **state)
{
	(void)state;
	struct vmm_accel_key k = key_of("sha256:aaaa");
	struct vmm_accel_verdict v = {.kvm_usable = false, .pvm = true, .probe_ns = 41000000,
				      .probed_at = 1700000000};
	snprintf(v.reason, sizeof(v.reason), "kvm: PVM host, guest not PVM-aware");
	snprintf(v.detail, sizeof(v.detail), "KVM internal error. Suberror: 1");
	snprintf(v.qemu_version, sizeof(v.qemu_version), "7.2.22");
	autofree char *path = xasprintf("%s/one.json", tmp);
	kumo_error_t err = NULL;
	assert_int_equal(vmm_accel_cache_store(path, &k, &v, &err), 0);
	struct vmm_accel_verdict got;
	assert_int_equal(vmm_accel_cache_load(path, &k, &got), 1);
	assert_true(got.cached);
	assert_false(got.kvm_usable);
	assert_true(got.pvm);
	assert_string_equal(got.reason, v.reason);
	assert_string_equal(got.detail, v.detail);
	assert_string_equal(got.qemu_version, "7.2.22");
	assert_int_equal(got.probe_ns, 41000000);
	assert_int_equal(got.probed_at, 1700000000);
	/* Any key field that changed: a miss. */
	struct vmm_accel_key o = k;
	snprintf(o.kernel_id, sizeof(o.kernel_id), "sha256:bbbb");
	assert_int_equal(vmm_accel_cache_load(path, &o, &got), 0);
	o = k;
	snprintf(o.qemu, sizeof(o.qemu), "/usr/bin/qemu-system-x86_64 ino 1 size 2 mtime 3");
	assert_int_equal(vmm_accel_cache_load(path, &o, &got), 0);
	o = k;
	snprintf(o.kvm, sizeof(o.kvm), "10:232 ino 99 modules kvm_intel");
	assert_int_equal(vmm_accel_cache_load(path, &o, &got), 0);
	o = k;
	snprintf(o.boot_id, sizeof(o.boot_id), "another-boot");
	assert_int_equal(vmm_accel_cache_load(path, &o, &got), 0);
	/* And each field has its own file name. */
	autofree char *p1 = vmm_accel_cache_path(cache, &k);
	autofree char *p2 = vmm_accel_cache_path(cache, &o);
	assert_string_not_equal(p1, p2);
}

static void corrupt_files(void **state)
{
	(void)state;
	struct vmm_accel_key k = key_of("sha256:cccc");
	autofree char *path = xasprintf("%s/corrupt.json", tmp);
	struct vmm_accel_verdict got;
	static const char *const bad[] = {
		"", "{", "garbage\n", "[]", "{\"version\": 1}",
		"{\"version\": 2, \"key\": {}, \"kvm_usable\": true}",
		/* right key, a field of the wrong type */
		NULL,
	};
	for (size_t i = 0; bad[i]; i++) {
		write_text(path, bad[i]);
		assert_int_equal(vmm_accel_cache_load(path, &k, &got), 0);
	}
	struct vmm_accel_verdict v = {.kvm_usable = true};
	snprintf(v.reason, sizeof(v.reason), "kvm: ok, probe 5 ms");
	kumo_error_t err = NULL;
	assert_int_equal(vmm_accel_cache_store(path, &k, &v, &err), 0);
	assert_int_equal(vmm_accel_cache_load(path, &k, &got), 1);
	/* Truncated half-way: not a verdict. */
	uint8_t *buf;
	size_t len;
	assert_int_equal(kumo_read_file(path, 1 << 16, &buf, &len, &err), 0);
	assert_int_equal(truncate(path, (off_t)(len / 2)), 0);
	free(buf);
	assert_int_equal(vmm_accel_cache_load(path, &k, &got), 0);
	assert_int_equal(vmm_accel_cache_load("/nonexistent/accel.json", &k, &got), 0);
}

static void no_dev_kvm(void **state)
{
	(void)state;
	struct vmm_accel_probe p = probe_for("sha256:dddd");
	autofree char *missing = xasprintf("%s/no-kvm", tmp);
	p.dev_kvm = missing;
	struct vmm_accel_verdict v;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_accel_verdict(&p, &v, &err), 0);
	assert_false(v.kvm_usable);
	autofree char *want = xasprintf("kvm: no %s", missing);
	assert_string_equal(v.reason, want);
	assert_int_equal(v.probe_ns, 0);
	/* auto: tcg; kvm: an error naming the reason; tcg: no verdict needed */
	enum vmm_accel a;
	assert_int_equal(vmm_accel_resolve(VMM_ACCEL_AUTO, &p, &a, &v, &err), 0);
	assert_int_equal(a, VMM_ACCEL_TCG);
	assert_int_equal(vmm_accel_resolve(VMM_ACCEL_KVM, &p, &a, &v, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), want));
	kumo_error_free(&err);
	assert_int_equal(vmm_accel_resolve(VMM_ACCEL_TCG, &p, &a, NULL, &err), 0);
	assert_int_equal(a, VMM_ACCEL_TCG);
}

static void probe_then_cache_then_each_key(void **state)
{
	(void)state;
	/* A probe that reports back: KVM usable, and the verdict is cached. */
	struct vmm_accel_verdict v = verdict("sha256:eeee", "probe-ok");
	assert_true(v.kvm_usable);
	assert_false(v.cached);
	assert_non_null(strstr(v.reason, "kvm: ok, probe "));
	assert_true(v.probe_ns > 0);
	assert_string_equal(v.qemu_version, "7.2.99 (kumo fake-qemu)");
	struct vmm_accel_key k = key_of("sha256:eeee");
	autofree char *file = vmm_accel_cache_path(cache, &k);
	assert_int_equal(access(file, R_OK), 0);
	/* Same key: the cache answers, whatever QEMU would do now. */
	v = verdict("sha256:eeee", "internal-error");
	assert_true(v.kvm_usable);
	assert_true(v.cached);
	/* Each key: a new probe (the fake now stops the guest with an internal error). */
	v = verdict("sha256:ffff", "internal-error");
	assert_false(v.cached);
	assert_false(v.kvm_usable);
	assert_string_equal(v.reason, "kvm: internal error in probe: KVM internal error. Suberror: 1");
	assert_string_equal(v.detail, "KVM internal error. Suberror: 1");
	write_text(boot_id, "66666666-2222-3333-4444-555555555555\n");
	v = verdict("sha256:eeee", "internal-error");
	assert_false(v.cached);
	assert_false(v.kvm_usable);
	v = verdict("sha256:eeee", "probe-ok");
	assert_true(v.cached); /* the new boot's verdict stands */
	assert_false(v.kvm_usable);
	struct utimbuf t = {.actime = 1000000000, .modtime = 1000000000};
	assert_int_equal(utime(qemu, &t), 0); /* "another QEMU" */
	v = verdict("sha256:eeee", "probe-ok");
	assert_false(v.cached);
	assert_true(v.kvm_usable);
	/* /dev/kvm replaced (a new node, made before the old one goes): probe again. */
	write_text(dev_kvm, "");
	v = verdict("sha256:eeee", "internal-error");
	assert_false(v.cached);
	assert_false(v.kvm_usable);
	assert_false(v.pvm);
	/* A PVM module loaded: probe again, and its reason. */
	autofree char *pvm = xasprintf("%s/kvm_pvm", sys_module);
	assert_int_equal(mkdir(pvm, 0755), 0);
	v = verdict("sha256:eeee", "internal-error");
	assert_false(v.cached);
	assert_false(v.kvm_usable);
	assert_true(v.pvm);
	assert_string_equal(v.reason, "kvm: PVM host, guest not PVM-aware");
	assert_string_equal(v.detail, "KVM internal error. Suberror: 1");
	enum vmm_accel a;
	kumo_error_t err = NULL;
	struct vmm_accel_probe p = probe_for("sha256:eeee");
	assert_int_equal(vmm_accel_resolve(VMM_ACCEL_KVM, &p, &a, &v, &err), -1);
	assert_string_equal(kumo_error_msg(err),
			    "kvm was asked for but is unusable (kvm: PVM host, guest not PVM-aware)");
	kumo_error_free(&err);
	assert_int_equal(rmdir(pvm), 0);
}

static void corrupt_cache_is_probed_again(void **state)
{
	(void)state;
	struct vmm_accel_verdict v = verdict("sha256:1111", "probe-ok");
	assert_true(v.kvm_usable);
	struct vmm_accel_key k = key_of("sha256:1111");
	autofree char *file = vmm_accel_cache_path(cache, &k);
	write_text(file, "{\"version\": 1, \"key\": ");
	v = verdict("sha256:1111", "internal-error");
	assert_false(v.cached);
	assert_false(v.kvm_usable);
	/* ... and rewritten with the new verdict. */
	struct vmm_accel_verdict got;
	assert_int_equal(vmm_accel_cache_load(file, &k, &got), 1);
	assert_string_equal(got.reason, v.reason);
}

static void silent_probe_is_not_cached(void **state)
{
	(void)state;
	setenv("FAKE_QEMU_MODE", "silent", 1);
	struct vmm_accel_probe p = probe_for("sha256:2222");
	p.deadline_ms = 300;
	struct vmm_accel_verdict v;
	kumo_error_t err = NULL;
	uint64_t t0 = kumo_now_ns();
	assert_int_equal(vmm_accel_verdict(&p, &v, &err), 0);
	double ms = (double)(kumo_now_ns() - t0) / 1e6;
	fprintf(stderr, "  [silent] %s after %.0f ms\n", v.reason, ms);
	assert_false(v.kvm_usable);
	assert_true(v.transient);
	assert_string_equal(v.reason, "kvm: the probe gave no answer within 300 ms");
	assert_true(ms < 3000);
	struct vmm_accel_key k = key_of("sha256:2222");
	autofree char *file = vmm_accel_cache_path(cache, &k);
	assert_int_equal(access(file, F_OK), -1);
}

static void parse_names(void **state)
{
	(void)state;
	enum vmm_accel a;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_accel_parse("kvm", &a, &err), 0);
	assert_int_equal(a, VMM_ACCEL_KVM);
	assert_int_equal(vmm_accel_parse("tcg", &a, &err), 0);
	assert_int_equal(a, VMM_ACCEL_TCG);
	assert_int_equal(vmm_accel_parse("auto", &a, &err), 0);
	assert_int_equal(a, VMM_ACCEL_AUTO);
	assert_int_equal(vmm_accel_parse("hvf", &a, &err), -1);
	assert_string_equal(kumo_error_msg(err), "unknown accelerator `hvf` (auto, kvm or tcg)");
	kumo_error_free(&err);
	assert_string_equal(vmm_accel_str(VMM_ACCEL_KVM), "kvm");
}

/* The TSC rate: nothing before its window, then a plausible rate that agrees with a
 * longer measurement, cached for the boot and read back (also without a mark); a cached
 * 0 (a host whose TSC is not constant) stays 0. */
static void tsc_rate(void **state)
{
	(void)state;
	autofree char *dir = xasprintf("%s/tsc-cache", tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	struct vmm_tsc_mark m = {0};
	vmm_tsc_mark(&m);
	assert_true(m.ns > 0);
	assert_int_equal(vmm_tsc_khz(&m, dir), 0); /* too soon */
	assert_int_equal(vmm_tsc_khz(NULL, dir), 0);
	usleep(30000);
	uint32_t khz = vmm_tsc_khz(&m, dir);
	autofree char *boot = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_read_file("/proc/sys/kernel/random/boot_id", 64, (uint8_t **)&boot,
					&len, &err), 0);
	boot[strcspn(boot, "\n")] = 0;
	autofree char *path = xasprintf("%s/tsc-%s", dir, boot);
	autofree uint8_t *text = NULL;
	assert_int_equal(kumo_read_file(path, 64, &text, &len, &err), 0);
	assert_int_equal(strtoul((char *)text, NULL, 10), khz);
	if (khz == 0) {
		fprintf(stderr, "tsc: this host's TSC is not constant (0 cached)\n");
	} else {
		assert_true(khz >= 100000 && khz <= 20000000);
		/* A 200 ms measurement agrees within 0.1% (the window is 20 ms). */
		struct vmm_tsc_mark a, b;
		vmm_tsc_mark(&a);
		usleep(200000);
		vmm_tsc_mark(&b);
		double ref = (double)(b.tsc - a.tsc) * 1e6 / (double)(b.ns - a.ns);
		assert_true(khz > ref * 0.999 && khz < ref * 1.001);
	}
	assert_int_equal(vmm_tsc_khz(NULL, dir), khz); /* from the cache */
	write_text(path, "0\n");
	assert_int_equal(vmm_tsc_khz(&m, dir), 0);
	write_text(path, "2400000\n");
	assert_int_equal(vmm_tsc_khz(NULL, dir), 2400000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_names),
		cmocka_unit_test(cache_hit_and_each_key),
		cmocka_unit_test(corrupt_files),
		cmocka_unit_test(no_dev_kvm),
		cmocka_unit_test(probe_then_cache_then_each_key),
		cmocka_unit_test(corrupt_cache_is_probed_again),
		cmocka_unit_test(silent_probe_is_not_cached),
		cmocka_unit_test(tsc_rate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
