/* tests/bench/w2c_wasi.c - main() and a minimal wasi_snapshot_preview1 for wasm2c-translated benchmarks (only the imports they use).
 *
 * Built with -DW2C_HEADER='"<module>.h"' for a module translated with `wasm2c -n bench`.
 * Only what the compute benchmarks import: args, fd_write to stdout/stderr, fd_fdstat_get,
 * fd_seek/fd_close (refused), proc_exit. A trap prints its name and exits 134 (as kumo). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include W2C_HEADER
#include "wasm-rt-impl.h"

struct Z_wasi_snapshot_preview1_instance_t {
	wasm_rt_memory_t *mem; /* the module's exported memory */
	int argc;              /* arguments given to the module (argv[0] is the module) */
	char **argv;
};

#define WASI_ESUCCESS 0
#define WASI_EBADF 8
#define WASI_EFAULT 21
#define WASI_ESPIPE 70

/* Guest range check: [ptr, ptr+len) inside the memory. */
static int in_mem(struct Z_wasi_snapshot_preview1_instance_t *w, uint64_t ptr, uint64_t len)
{
	return ptr + len <= w->mem->size;
}

static void put32(struct Z_wasi_snapshot_preview1_instance_t *w, u32 ptr, u32 v)
{
	memcpy(w->mem->data + ptr, &v, 4);
}

static u32 get32(struct Z_wasi_snapshot_preview1_instance_t *w, u32 ptr)
{
	u32 v;
	memcpy(&v, w->mem->data + ptr, 4);
	return v;
}

u32 Z_wasi_snapshot_preview1Z_args_sizes_get(struct Z_wasi_snapshot_preview1_instance_t *w, u32 argc_ptr,
					     u32 size_ptr)
{
	u32 size = 0;
	for (int i = 0; i < w->argc; i++)
		size += (u32)strlen(w->argv[i]) + 1;
	if (!in_mem(w, argc_ptr, 4) || !in_mem(w, size_ptr, 4))
		return WASI_EFAULT;
	put32(w, argc_ptr, (u32)w->argc);
	put32(w, size_ptr, size);
	return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_args_get(struct Z_wasi_snapshot_preview1_instance_t *w, u32 argv_ptr, u32 buf_ptr)
{
	for (int i = 0; i < w->argc; i++) {
		u32 len = (u32)strlen(w->argv[i]) + 1;
		if (!in_mem(w, argv_ptr + 4ull * i, 4) || !in_mem(w, buf_ptr, len))
			return WASI_EFAULT;
		put32(w, argv_ptr + 4 * i, buf_ptr);
		memcpy(w->mem->data + buf_ptr, w->argv[i], len);
		buf_ptr += len;
	}
	return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_write(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u32 iovs,
				       u32 iovs_len, u32 nwritten_ptr)
{
	if (fd != 1 && fd != 2)
		return WASI_EBADF;
	if (!in_mem(w, iovs, 8ull * iovs_len) || !in_mem(w, nwritten_ptr, 4))
		return WASI_EFAULT;
	u32 total = 0;
	for (u32 i = 0; i < iovs_len; i++) {
		u32 buf = get32(w, iovs + 8 * i), len = get32(w, iovs + 8 * i + 4);
		if (!in_mem(w, buf, len))
			return WASI_EFAULT;
		for (u32 done = 0; done < len;) {
			ssize_t n = write((int)fd, w->mem->data + buf + done, len - done);
			if (n <= 0)
				return 29; /* EIO */
			done += (u32)n;
		}
		total += len;
	}
	put32(w, nwritten_ptr, total);
	return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_fdstat_get(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u32 stat_ptr)
{
	if (fd > 2)
		return WASI_EBADF;
	if (!in_mem(w, stat_ptr, 24))
		return WASI_EFAULT;
	/* fdstat: u8 filetype, u16 flags, u64 rights base, u64 rights inheriting */
	memset(w->mem->data + stat_ptr, 0, 24);
	w->mem->data[stat_ptr] = 2; /* character device */
	uint64_t rights = fd == 0 ? 2 /* fd_read */ : 64 /* fd_write */;
	memcpy(w->mem->data + stat_ptr + 8, &rights, 8);
	return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_seek(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd, u64 off, u32 whence,
				      u32 newoff_ptr)
{
	return fd <= 2 ? WASI_ESPIPE : WASI_EBADF;
}

u32 Z_wasi_snapshot_preview1Z_fd_close(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd)
{
	return WASI_EBADF;
}

void Z_wasi_snapshot_preview1Z_proc_exit(struct Z_wasi_snapshot_preview1_instance_t *w, u32 code)
{
	exit((int)code);
}

int main(int argc, char **argv)
{
	static Z_bench_instance_t instance;
	struct Z_wasi_snapshot_preview1_instance_t wasi = {.argc = argc, .argv = argv};

	wasm_rt_init();
	Z_bench_init_module();
	Z_bench_instantiate(&instance, &wasi);
	wasi.mem = Z_benchZ_memory(&instance);
	wasm_rt_trap_t trap = wasm_rt_impl_try();
	if (trap != WASM_RT_TRAP_NONE) {
		fprintf(stderr, "trap: %s\n", wasm_rt_strerror(trap));
		return 134;
	}
	Z_benchZ__start(&instance);
	Z_bench_free(&instance);
	wasm_rt_free();
	return 0;
}
