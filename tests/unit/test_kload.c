/* tests/unit/test_kload.c - the kernel linker (kernel/os/kload.c) built hosted: objects
 * compiled here from WAT are linked against the kernel's generated export table (the
 * hosted runtime provides the same symbols), instantiated with kernel/rt and run; then
 * truncated, corrupted, wrong-ABI, wrong-CPU and unsupported-import objects must all be
 * refused with their message, and every truncation and thousands of byte flips must
 * fail cleanly or link (never crash: run it under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "compiler/compiler.h"
#include "kernel/hosted/embed.h"
#include "kernel/os/kload.h"
#include "kernel/rt/rt.h"
#include "kernel/wasi/wasi.h"

/* ---- the platform part, hosted: memory near the exports ---- */

struct env_state {
	int far;          /* map far away from the exports (rel32 out of reach) */
	int maps, unmaps; /* calls, to find leaks */
	int exec_protects, ro_protects;
};

static void *map_near(void *ctx, size_t len)
{
	struct env_state *st = ctx;
	uintptr_t anchor = (uintptr_t)&kumo_trap & ~(uintptr_t)0xfff;
	st->maps++;
	if (st->far)
		return mmap((void *)(anchor + (64ull << 30)), len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	/* Below the program (the heap grows above it), within 1 GiB. */
	for (uintptr_t d = 64ull << 20; d < (1ull << 30); d += 64ull << 20) {
		void *p = mmap((void *)(anchor - d), len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != MAP_FAILED)
			return p;
	}
	st->maps--;
	return NULL;
}

static int protect(void *ctx, void *addr, size_t len, int exec)
{
	struct env_state *st = ctx;
	if (exec)
		st->exec_protects++;
	else
		st->ro_protects++;
	return mprotect(addr, len, PROT_READ | (exec ? PROT_EXEC : 0));
}

static void unmap(void *ctx, void *addr, size_t len)
{
	struct env_state *st = ctx;
	st->unmaps++;
	munmap(addr, len);
}

static const char *cpu_missing(void *ctx, const char *cpu)
{
	(void)ctx;
	return strcmp(cpu, "x86-64-v4") == 0 ? "avx512f" : NULL; /* a pretend older CPU */
}

static struct env_state state;
static const struct kload_env env = {
	.map = map_near, .protect = protect, .unmap = unmap, .cpu_missing = cpu_missing,
	.exports = kload_kernel_exports, .ctx = &state,
};
static struct kload_env env_n; /* env with nexports filled in at setup */

/* ---- objects ---- */

static const char *const hello_wat =
	"(module\n"
	"  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))\n"
	"  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
	"  (type $r (func (result i32)))\n"
	"  (memory (export \"memory\") 1)\n"
	"  (table 2 funcref)\n"
	"  (elem (i32.const 0) $seven $eight)\n"
	"  (global $g (mut i32) (i32.const 5))\n"
	"  (data (i32.const 16) \"hello kload\\n\")\n"
	"  (func $seven (result i32) i32.const 7)\n"
	"  (func $eight (result i32) i32.const 8)\n"
	"  (func (export \"_start\")\n"
	"    (i32.store (i32.const 0) (i32.const 16))\n"
	"    (i32.store (i32.const 4) (i32.const 12))\n"
	"    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))\n"
	"    (drop (memory.grow (i32.const 1)))\n"
	"    (memory.fill (i32.const 100) (i32.const 0) (i32.const 10))\n"
	"    (global.set $g (i32.add (global.get $g) (memory.size)))\n"
	"    (call $exit (i32.add (call_indirect (type $r) (i32.const 1)) (global.get $g)))))\n";

/* Compiles WAT (or Wasm) text to an object in memory (8-byte aligned). */
static uint8_t *compile(const char *wat, const char *cpu, size_t *len)
{
	char path[] = "/tmp/kumo-kload-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct kumo_compile_options opts = {.cpu = cpu, .opt_level = 1};
	kumo_error_t err = NULL;
	int rc = kumo_compile_file((const uint8_t *)wat, strlen(wat), &opts, path, NULL, &err);
	if (rc < 0)
		fail_msg("compile: %s", kumo_error_msg(err));
	uint8_t *buf;
	assert_int_equal(kumo_read_file(path, 64 << 20, &buf, len, &err), 0);
	unlink(path);
	return buf; /* malloc: 16-byte aligned */
}

static int link_obj(const uint8_t *obj, size_t len, struct kload_image **img, char *err)
{
	return kload_link(obj, len, &env_n, img, err, 256);
}

/* The descriptor's file offset in an object (its section + symbol value). */
static size_t module_offset(const uint8_t *obj)
{
	const Elf64_Ehdr *eh = (const void *)obj;
	const Elf64_Shdr *sh = (const void *)(obj + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		const Elf64_Sym *y = (const void *)(obj + sh[i].sh_offset);
		const char *names = (const char *)obj + sh[sh[i].sh_link].sh_offset;
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*y); k++)
			if (strcmp(names + y[k].st_name, KUMO_SYM_MODULE) == 0)
				return sh[y[k].st_shndx].sh_offset + y[k].st_value;
	}
	fail_msg("no descriptor");
	return 0;
}

/* The first relocation entry of the first RELA section that targets .text. */
static Elf64_Rela *first_text_rela(uint8_t *obj, Elf64_Shdr **target)
{
	Elf64_Ehdr *eh = (void *)obj;
	Elf64_Shdr *sh = (void *)(obj + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_RELA && (sh[sh[i].sh_info].sh_flags & SHF_EXECINSTR) &&
		    sh[i].sh_size) {
			*target = &sh[sh[i].sh_info];
			return (Elf64_Rela *)(obj + sh[i].sh_offset);
		}
	fail_msg("no relocation section for code");
	return NULL;
}

static int setup(void **s)
{
	(void)s;
	env_n = env;
	env_n.nexports = kload_kernel_nexports;
	return 0;
}

/* ---- tests ---- */

/* The generated table: sorted, every WASI import and libcall of the lists findable. */
static void test_export_table(void **s)
{
	(void)s;
	assert_true(kload_kernel_nexports > 60);
	for (size_t i = 1; i < kload_kernel_nexports; i++)
		assert_true(strcmp(kload_kernel_exports[i - 1].name, kload_kernel_exports[i].name) < 0);
	for (const struct kumo_wasi_func *f = kumo_wasi_funcs; f->name; f++) {
		char sym[160];
		snprintf(sym, sizeof(sym), "kumo_imp_22wasi_snapshot_preview1%zu%s_%s", strlen(f->name),
			 f->name, f->sig);
		const struct kload_export *e = kload_find_export(&env_n, sym, strlen(sym));
		assert_non_null(e);
		assert_ptr_equal(e->addr, f->code);
	}
	static const char *const libcalls[] = {KUMO_SYM_TRAP, KUMO_SYM_MEMORY_GROW, KUMO_SYM_MEMORY_INIT,
		KUMO_SYM_DATA_DROP, KUMO_SYM_MEMORY_COPY, KUMO_SYM_MEMORY_FILL, KUMO_SYM_TABLE_GET,
		KUMO_SYM_TABLE_SET, KUMO_SYM_TABLE_GROW, KUMO_SYM_TABLE_FILL, KUMO_SYM_TABLE_COPY,
		KUMO_SYM_TABLE_INIT, KUMO_SYM_ELEM_DROP};
	for (size_t i = 0; i < sizeof(libcalls) / sizeof(*libcalls); i++)
		assert_non_null(kload_find_export(&env_n, libcalls[i], strlen(libcalls[i])));
	assert_null(kload_find_export(&env_n, "kumo_trap_", 10));
	assert_null(kload_find_export(&env_n, "kumo_tra", 8));
}

/* Link, instantiate with kernel/rt, run: stdout and the exit status prove the
 * relocations (calls into the kernel, the descriptor, rodata, call_indirect). */
static void test_link_and_run(void **s)
{
	(void)s;
	size_t len;
	uint8_t *obj = compile(hello_wat, NULL, &len);
	struct kload_image *img = NULL;
	char err[256];
	state = (struct env_state){0};
	assert_int_equal(link_obj(obj, len, &img, err), 0);
	assert_int_equal(state.exec_protects, 1);
	assert_int_equal(state.ro_protects, 1);
	assert_true(img->code_len > 0 && img->code == img->base);
	assert_int_equal(img->module->abi_version, KUMO_ABI_VERSION);

	char out_path[] = "/tmp/kumo-kload-out-XXXXXX";
	int out_fd = mkstemp(out_path);
	assert_true(out_fd >= 0);
	struct kumo_wasi_config cfg = {.argc = 1, .argv = (const char *const[]){"hello", NULL}};
	cfg.stdio[1] = kumo_hosted_file(out_fd, true);
	struct kumo_wasi *w = kumo_wasi_new(&cfg);
	struct kumo_rt_store *st = kumo_rt_store_new();
	kumo_rt_store_set_wasi(st, w);
	struct kumo_rt_instance *inst;
	struct kumo_rt_outcome out;
	/* No resolver: the linker filled every import's default_code. */
	assert_int_equal(kumo_rt_instantiate(st, img->module, NULL, NULL, &inst, &out), 0);
	struct kumo_rt_extern ext;
	assert_int_equal(kumo_rt_export(inst, "_start", 6, &ext), 0);
	union kumo_val none[1];
	assert_int_equal(kumo_rt_call(st, ext.u.func, none, &out), -1);
	assert_int_equal(out.kind, KUMO_RT_EXIT);
	assert_int_equal(out.code, 8 + 5 + 2); /* table[1] + global + memory.size */
	char buf[64] = {0};
	assert_int_equal(pread(out_fd, buf, sizeof(buf) - 1, 0), 12);
	assert_string_equal(buf, "hello kload\n");
	kumo_rt_store_free(st);
	kumo_wasi_free(w);
	kumo_plat_close(cfg.stdio[1]);
	close(out_fd);
	unlink(out_path);
	kload_free(&env_n, img);
	assert_int_equal(state.maps, state.unmaps);
	free(obj);
}

static void expect_error(const uint8_t *obj, size_t len, const char *want)
{
	struct kload_image *img = NULL;
	char err[256];
	state = (struct env_state){0};
	int rc = link_obj(obj, len, &img, err);
	if (rc == 0)
		fail_msg("linked, wanted `%s`", want);
	assert_null(img);
	if (!strstr(err, want))
		fail_msg("error `%s`, wanted `%s`", err, want);
	assert_int_equal(state.maps, state.unmaps);
}

static void test_unsupported_imports(void **s)
{
	(void)s;
	size_t len;
	uint8_t *obj = compile("(module (import \"env\" \"foo\" (func)) "
			       "(func (export \"_start\") call 0))", NULL, &len);
	expect_error(obj, len, "unsupported import `env.foo`");
	free(obj);
	obj = compile("(module (import \"env\" \"mem\" (memory 1)) (func (export \"_start\")))",
		      NULL, &len);
	expect_error(obj, len, "unsupported import `env.mem` (only WASI functions can be imported)");
	free(obj);
	/* A WASI name with another signature is no kernel function either. */
	obj = compile("(module (import \"wasi_snapshot_preview1\" \"fd_write\" (func (param i32))) "
		      "(func (export \"_start\") i32.const 0 call 0))", NULL, &len);
	expect_error(obj, len, "unsupported import `wasi_snapshot_preview1.fd_write`");
	free(obj);
}

static void test_wrong_abi_and_cpu(void **s)
{
	(void)s;
	size_t len;
	uint8_t *obj = compile(hello_wat, NULL, &len);
	size_t off = module_offset(obj);
	uint32_t v = KUMO_ABI_VERSION + 1;
	memcpy(obj + off, &v, 4); /* abi_version is the descriptor's first field */
	char want[128];
	snprintf(want, sizeof(want), "compiled for runtime abi version %u, this kernel runs version %u",
		 v, KUMO_ABI_VERSION);
	expect_error(obj, len, want);
	free(obj);
	obj = compile(hello_wat, "x86-64-v4", &len);
	expect_error(obj, len, "compiled for cpu `x86-64-v4` but this cpu has no `avx512f`");
	free(obj);
}

static void test_corrupt_headers_and_relocations(void **s)
{
	(void)s;
	size_t len;
	uint8_t *good = compile(hello_wat, NULL, &len);
	uint8_t *obj = malloc(len);

	expect_error(good, 10, "truncated elf header");
	memcpy(obj, good, len);
	((Elf64_Ehdr *)obj)->e_machine = EM_AARCH64;
	expect_error(obj, len, "not x86-64");
	memcpy(obj, good, len);
	((Elf64_Ehdr *)obj)->e_type = ET_EXEC;
	expect_error(obj, len, "not a relocatable object");
	memcpy(obj, good, len);
	((Elf64_Ehdr *)obj)->e_shoff = len - 64;
	expect_error(obj, len, "truncated section header table");

	Elf64_Shdr *target;
	memcpy(obj, good, len);
	Elf64_Rela *r = first_text_rela(obj, &target);
	r->r_offset = target->sh_size - 2;
	expect_error(obj, len, "is outside its section");
	memcpy(obj, good, len);
	r = first_text_rela(obj, &target);
	r->r_info = ELF64_R_INFO(0xffffff, ELF64_R_TYPE(r->r_info));
	expect_error(obj, len, "which has no address");
	memcpy(obj, good, len);
	r = first_text_rela(obj, &target);
	r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), 99);
	expect_error(obj, len, "relocation type 99");

	/* A section that would stay writable. */
	memcpy(obj, good, len);
	Elf64_Ehdr *eh = (void *)obj;
	Elf64_Shdr *sh = (void *)(obj + eh->e_shoff);
	int patched = 0;
	for (int i = 0; i < eh->e_shnum && !patched; i++)
		if ((sh[i].sh_flags & SHF_ALLOC) && !(sh[i].sh_flags & (SHF_WRITE | SHF_EXECINSTR))) {
			sh[i].sh_flags |= SHF_WRITE;
			patched = 1;
		}
	assert_true(patched);
	expect_error(obj, len, "writable section");

	/* The image out of rel32 reach of the kernel: calls cannot stay direct. */
	state = (struct env_state){.far = 1};
	struct kload_image *img = NULL;
	char err[256];
	assert_int_equal(link_obj(good, len, &img, err), -1);
	assert_non_null(strstr(err, "relocation out of range"));
	assert_int_equal(state.maps, state.unmaps);
	free(obj);
	free(good);
}

/* Every truncation, and byte flips at every offset: a clean error or a link, never a
 * crash (ASan watches the reads). Returns how many of each. */
static void test_mutations(void **s)
{
	(void)s;
	size_t len;
	uint8_t *good = compile(hello_wat, NULL, &len);
	uint8_t *obj = malloc(len);
	unsigned failed = 0, linked = 0;
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(obj, good, cut);
		struct kload_image *img = NULL;
		char err[256];
		state = (struct env_state){0};
		if (link_obj(obj, cut, &img, err) == 0) {
			linked++;
			kload_free(&env_n, img);
		} else {
			failed++;
			assert_true(strncmp(err, "object: ", 8) == 0 || strstr(err, "import"));
		}
		assert_int_equal(state.maps, state.unmaps);
	}
	/* A truncated object never links: the section table is at the end. */
	assert_int_equal(linked, 0);
	static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x10};
	uint64_t rng = 0x6b756d6f;
	for (size_t i = 0; i < len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			memcpy(obj, good, len);
			obj[i] ^= flips[f];
			if (f == 3) { /* plus a second random flip */
				rng = rng * 6364136223846793005ull + 1442695040888963407ull;
				obj[(rng >> 33) % len] ^= (uint8_t)(rng >> 20);
			}
			struct kload_image *img = NULL;
			char err[256];
			state = (struct env_state){0};
			if (link_obj(obj, len, &img, err) == 0) {
				linked++;
				kload_free(&env_n, img);
			} else {
				failed++;
			}
			assert_int_equal(state.maps, state.unmaps);
		}
	}
	print_message("mutations: %u refused, %u linked (flips in code or padding)\n", failed, linked);
	assert_true(failed > len);
	free(obj);
	free(good);
}

/* A real app: net_httpd's object (the biggest test app) links and its descriptor is
 * whole; skipped apps would make this test pass without checking, so a missing file
 * is a failure. */
static void test_real_app(void **s)
{
	(void)s;
	const char *path = getenv("KUMO_KLOAD_APP");
	if (!path)
		path = "build/apps/net_httpd.wasm";
	uint8_t *wasm;
	size_t wlen;
	kumo_error_t kerr = NULL;
	if (kumo_read_file(path, 64 << 20, &wasm, &wlen, &kerr) < 0)
		fail_msg("%s (make apps, or set KUMO_KLOAD_APP)", kumo_error_msg(kerr));
	char opath[] = "/tmp/kumo-kload-app-XXXXXX";
	int fd = mkstemp(opath);
	close(fd);
	struct kumo_compile_options opts = {.opt_level = 2};
	assert_int_equal(kumo_compile_file(wasm, wlen, &opts, opath, NULL, &kerr), 0);
	uint8_t *obj;
	size_t len;
	assert_int_equal(kumo_read_file(opath, 64 << 20, &obj, &len, &kerr), 0);
	unlink(opath);
	struct kload_image *img = NULL;
	char err[256];
	state = (struct env_state){0};
	/* The median of 21 links (the first pays for cold caches). */
	uint64_t ns[21];
	for (int i = 0; i < 21; i++) {
		uint64_t t0 = kumo_now_ns();
		assert_int_equal(link_obj(obj, len, &img, err), 0);
		ns[i] = kumo_now_ns() - t0;
		if (i < 20)
			kload_free(&env_n, img);
	}
	for (int i = 1; i < 21; i++)
		for (int k = i; k > 0 && ns[k - 1] > ns[k]; k--) {
			uint64_t t = ns[k];
			ns[k] = ns[k - 1];
			ns[k - 1] = t;
		}
	print_message("net_httpd: %zu-byte object, %zu-byte image, linked in %.1f us (hosted, median "
		      "of 21; first %llu us)\n", len, img->len, (double)ns[10] / 1000,
		      (unsigned long long)ns[20] / 1000);
	assert_true(img->module->nimports > 5);
	for (uint32_t i = 0; i < img->module->nimports; i++)
		assert_non_null(img->module->imports[i].default_code);
	kload_free(&env_n, img);
	free(obj);
	free(wasm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_export_table, setup),
		cmocka_unit_test_setup(test_link_and_run, setup),
		cmocka_unit_test_setup(test_unsupported_imports, setup),
		cmocka_unit_test_setup(test_wrong_abi_and_cpu, setup),
		cmocka_unit_test_setup(test_corrupt_headers_and_relocations, setup),
		cmocka_unit_test_setup(test_mutations, setup),
		cmocka_unit_test_setup(test_real_app, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
