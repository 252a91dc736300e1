/* kernel/kernel.h - the kernel folder's public interface: what builder/ needs to link
 * a compiled Wasm object into a bootable kumo kernel image, and the one entry point the
 * kernel calls in whatever is linked with it.
 *
 * Linking (builder/, tests/guest): a static, non-PIE ELF64 made by
 *     ld -nostdlib -static -z noexecstack -T $(BUILD)/KUMO_KERNEL_LDS_PATH \
 *        -o kernel.elf app.o $(BUILD)/KUMO_KERNEL_LIB_PATH
 * where app.o defines kumo_app_main() (the Wasm runner glue, or a C test payload) and
 * was built without a red zone (compiler/abi.h: KUMO_CODEGEN_NO_RED_ZONE). The result
 * boots as described in kernel/boot_abi.h.
 *
 * Usable from host and freestanding code alike.
 */
#ifndef KUMO_KERNEL_H
#define KUMO_KERNEL_H

#include <stdint.h>

/* Paths relative to the build directory ($(BUILD) in the Makefile). */
#define KUMO_KERNEL_LIB_PATH "kernel/libkumo-kernel.a"
#define KUMO_KERNEL_LDS_PATH "kernel/kernel.ld"
/* The kernel linked without an app (kernel/pod_abi.h): boots a pod VM, or runs the
 * object its initrd carries as the one app (boot_abi.h "The initrd"), so `kumo run`
 * and RunPodSandbox need no link step on the host. */
#define KUMO_KERNEL_POD_IMAGE_PATH "kernel/kernel.elf"

/* The app's entry: called once, on the app stack, after the kernel is up. Returns the
 * exit status (0..255; only the low 8 bits are reported). Provided by the code linked
 * with the kernel library. The kernel then writes the exit record and powers off. */
int kumo_app_main(void);

/* Runs fn(arg) on the stack whose top is stack_top; returns fn's result. */
long kumo_call_on_stack(long (*fn)(void *), void *arg, void *stack_top);

/* Nanoseconds (by TSC) from the kernel's first instruction to kumo_app_main's call,
 * 0 before it was called. */
uint64_t kumo_boot_to_app_ns(void);

/* WASI preview1 functions the kernel provides as imports, as X(len, field, sig) with
 * compiler/abi.h's naming: KUMO_WASI_SYM(len, field, sig) is the C symbol. A module
 * importing anything else fails at build time ("unsupported import module.name").
 * The implementations come from kernel/wasi (shared with the hosted runner). */
#define KUMO_KERNEL_WASI_IMPORTS(X) \
	X(8, args_get, ii_i) \
	X(14, args_sizes_get, ii_i) \
	X(11, environ_get, ii_i) \
	X(17, environ_sizes_get, ii_i) \
	X(13, clock_res_get, ii_i) \
	X(14, clock_time_get, ili_i) \
	X(9, fd_advise, illi_i) \
	X(11, fd_allocate, ill_i) \
	X(8, fd_close, i_i) \
	X(11, fd_datasync, i_i) \
	X(13, fd_fdstat_get, ii_i) \
	X(19, fd_fdstat_set_flags, ii_i) \
	X(20, fd_fdstat_set_rights, ill_i) \
	X(15, fd_filestat_get, ii_i) \
	X(20, fd_filestat_set_size, il_i) \
	X(21, fd_filestat_set_times, illi_i) \
	X(8, fd_pread, iiili_i) \
	X(14, fd_prestat_get, ii_i) \
	X(19, fd_prestat_dir_name, iii_i) \
	X(9, fd_pwrite, iiili_i) \
	X(7, fd_read, iiii_i) \
	X(10, fd_readdir, iiili_i) \
	X(11, fd_renumber, ii_i) \
	X(7, fd_seek, ilii_i) \
	X(7, fd_sync, i_i) \
	X(7, fd_tell, ii_i) \
	X(8, fd_write, iiii_i) \
	X(21, path_create_directory, iii_i) \
	X(17, path_filestat_get, iiiii_i) \
	X(23, path_filestat_set_times, iiiilli_i) \
	X(9, path_link, iiiiiii_i) \
	X(9, path_open, iiiiillii_i) \
	X(13, path_readlink, iiiiii_i) \
	X(21, path_remove_directory, iii_i) \
	X(11, path_rename, iiiiii_i) \
	X(12, path_symlink, iiiii_i) \
	X(16, path_unlink_file, iii_i) \
	X(11, poll_oneoff, iiii_i) \
	X(9, proc_exit, i_) \
	X(10, proc_raise, i_i) \
	X(11, sched_yield, _i) \
	X(10, random_get, ii_i) \
	X(11, sock_accept, iii_i) \
	X(9, sock_recv, iiiiii_i) \
	X(9, sock_send, iiiii_i) \
	X(13, sock_shutdown, ii_i) \
	KUMO_KERNEL_WASMEDGE_SOCK_IMPORTS(X)

/* The WasmEdge socket extension, in the same module wasi_snapshot_preview1 with
 * WasmEdge's names and signatures: V1 (before 0.12), V2 told apart by signature
 * (sock_recv_from with a port pointer, sock_getlocaladdr without a type pointer, the
 * 3-argument sock_accept above), and the *_v2 names. */
#define KUMO_KERNEL_WASMEDGE_SOCK_IMPORTS(X) \
	X(9, sock_open, iii_i) \
	X(9, sock_bind, iii_i) \
	X(11, sock_listen, ii_i) \
	X(11, sock_accept, ii_i) \
	X(12, sock_connect, iii_i) \
	X(14, sock_recv_from, iiiiiii_i) \
	X(14, sock_recv_from, iiiiiiii_i) \
	X(12, sock_send_to, iiiiiii_i) \
	X(17, sock_getlocaladdr, iiii_i) \
	X(16, sock_getpeeraddr, iiii_i) \
	X(15, sock_setsockopt, iiiii_i) \
	X(15, sock_getsockopt, iiiii_i) \
	X(16, sock_getaddrinfo, iiiiiiii_i) \
	X(12, sock_open_v2, iii_i) \
	X(12, sock_bind_v2, iii_i) \
	X(14, sock_listen_v2, ii_i) \
	X(14, sock_accept_v2, iii_i) \
	X(15, sock_connect_v2, iii_i) \
	X(12, sock_recv_v2, iiiiii_i) \
	X(17, sock_recv_from_v2, iiiiiiii_i) \
	X(12, sock_send_v2, iiiii_i) \
	X(15, sock_send_to_v2, iiiiiii_i) \
	X(20, sock_getlocaladdr_v2, iii_i) \
	X(19, sock_getpeeraddr_v2, iii_i)

#endif /* KUMO_KERNEL_H */
