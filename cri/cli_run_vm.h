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
	const struct builder_mount *dirs;    /* host dirs shared live (virtio-9p), mounted
					      * and preopened at their guest path */
	size_t ndirs;
	uint64_t mem_bytes;                  /* guest RAM; 0 = VMM_MEMORY_DEFAULT_MIB */
	const char *const *listen;           /* "tcp:ADDR:PORT" / "udp:ADDR:PORT" */
	size_t nlisten;
	bool net;                            /* a network from the node's CNI list (implied by
					      * listen) */
	bool libvirt;                        /* through libvirt instead of QEMU directly */
	bool verbose;                        /* report timings on stderr */
	const char *accel;                   /* "auto" (NULL), "kvm" or "tcg" */
};

/* Builds (or finds in the cache) the kernel image, boots it, streams the guest's
 * stdout/stderr to ours, and returns the process exit status: the app's code,
 * KUMO_EXIT_TRAP on a trap, KUMO_EXIT_FAILURE when kumo or the kernel failed (a VM
 * that QEMU stopped, that panicked or showed no sign of life: at once, with QEMU's
 * first error line or the cause on stderr), 130 after Ctrl-C.
 *
 * The accelerator (cri/accel_choice.h) is probed with the app's own image: auto that
 * falls back to TCG says so in one stderr line (`kumo: accel: tcg (kvm unusable: …)`);
 * kvm asked for and unusable fails before the VM is made, naming the probe's reason.
 *
 * With net (or a listen list) the VM gets its network from the node's CNI network list,
 * the one kumod's pods use (kumo.json's cni_conf_dir and cni_bin_dirs, or
 * $KUMO_CNI_CONF_DIR and $KUMO_CNI_BIN_DIRS; an empty conf dir gets kumo's default
 * list), in a network namespace of the run's own, exactly as a pod: CNI ADD there, the
 * VM takes the CNI interface over through a tap, its boot config gets the result's
 * address, gateway, MAC, MTU and DNS (else the host's non-loopback resolvers) and the
 * listen list. `kumo: VM address A.B.C.D` is printed on stderr as soon as it is known;
 * CNI DEL, the tap and the namespace go when the VM ends, on Ctrl-C and on SIGTERM (a
 * later run cleans up after one killed with -9). Needs root. */
int kumo_run_vm(const struct kumo_run_vm_opts *o);

#endif /* KUMO_CLI_RUN_VM_H */
