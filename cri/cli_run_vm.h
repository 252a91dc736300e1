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
	bool net;                            /* a NIC on the node bridge (implied by listen) */
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
 * With net (or a listen list) the VM gets a NIC on the node bridge kumod also uses
 * (vmm_net_node_setup: $KUMO_BRIDGE or VMM_NET_DEFAULT_BRIDGE; the pod CIDR kumod last
 * set up, else $KUMO_POD_CIDR or VMM_NET_DEFAULT_CIDR; IPAM under
 * ${KUMO_ROOT:-/var/lib/kumo}/net), an address of its own (owner "run-<pid>-<ns>"),
 * the host's non-loopback resolvers (else the gateway) and the listen list in its boot
 * config; `kumo: VM address A.B.C.D` is printed on stderr as soon as it is known, and
 * the tap and address go away when the VM ends, on Ctrl-C and on SIGTERM. Needs root
 * (CAP_NET_ADMIN). */
int kumo_run_vm(const struct kumo_run_vm_opts *o);

#endif /* KUMO_CLI_RUN_VM_H */
