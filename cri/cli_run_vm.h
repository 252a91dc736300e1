/* cri/cli_run_vm.h - `kumo run` without --host: the app booted as a kumo unikernel VM. */
#ifndef KUMO_CLI_RUN_VM_H
#define KUMO_CLI_RUN_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/builder.h"

struct kumo_run_vm_opts {
	const char *app;                     /* the .wasm module */
	const char *const *argv;             /* the app's argv, argv[0] included */
	size_t argc;
	const char *const *env;              /* "K=V" */
	size_t nenv;
	const struct kumo_rootfs_dir *dirs;  /* host dirs copied in, preopened at `prefix` */
	size_t ndirs;
	uint64_t mem_bytes;                  /* guest RAM; 0 = VMM_MEMORY_DEFAULT_MIB */
	bool libvirt;                        /* through libvirt instead of QEMU directly */
	bool verbose;                        /* report timings on stderr */
};

/* Builds (or finds in the cache) the kernel image, boots it, streams the guest's
 * stdout/stderr to ours, and returns the process exit status: the app's code,
 * KUMO_EXIT_TRAP on a trap, KUMO_EXIT_FAILURE when kumo or the kernel failed, 130
 * after Ctrl-C. */
int kumo_run_vm(const struct kumo_run_vm_opts *o);

#endif /* KUMO_CLI_RUN_VM_H */
