/* cri/cli/cli_run.h - `kumo run` and `kumo-hostrun`: one command line, parsed once
 * (cri/cli/cli_run_args.c), and the two ways to run the app: as a Linux process on the
 * hosted runtime (--host, kernel/hosted/embed.h; kumo-hostrun's only way) or booted as a
 * kumo unikernel VM (cri/cli/cli_run_vm.c).
 *
 *   PROG [--host|--libvirt] [--accel auto|kvm|tcg] [-v] [--dir HOST::GUEST]...
 *        [--env K=V]... [--mem SIZE] [--net] [--listen [tcp:|udp:]ADDR:PORT]...
 *        [--bounds-checks] APP [--] [ARGS...]
 *
 * Options come before APP: everything after it belongs to the app (a leading `--` is
 * dropped), as with wasmtime and `docker run`, so an app's own flags need no quoting.
 * Exit statuses are cri/cli/cli.h's: the app's own, KUMO_EXIT_TRAP after a trap,
 * KUMO_EXIT_FAILURE when kumo fails, KUMO_EXIT_USAGE on a bad command line.
 */
#ifndef KUMO_CLI_RUN_H
#define KUMO_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "kernel/hosted/embed.h"

/* The command line, parsed. */
struct kumo_run_args {
	const char *app;                   /* the module (or object) as named */
	const char *const *argv;           /* the app's argv, argv[0] = app */
	size_t argc;
	const char *const *env;            /* "K=V" */
	size_t nenv;
	const struct kumo_embed_dir *dirs; /* --dir HOST::GUEST: preopened (--host), shared
					    * live over virtio-9p (a VM) */
	size_t ndirs;
	uint64_t mem_bytes;                /* --mem: linear memory cap (--host), guest RAM
					    * (a VM); 0 when absent */
	const char *const *listen;         /* --listen, normalized to "tcp:ADDR:PORT" or
					    * "udp:ADDR:PORT" */
	size_t nlisten;
	bool net;                          /* --net (implied by --listen for a VM) */
	bool libvirt;                      /* --libvirt */
	bool verbose;                      /* -v */
	bool bounds_checks;                /* --bounds-checks */
	const char *accel;                 /* --accel auto|kvm|tcg, NULL when absent */
};

/* Compiles a module file to an object at *obj_path (malloc'd). The object may be a
 * cache entry: it is kept. */
typedef int (*kumo_run_compile_fn)(const char *wasm_path, bool bounds_checks, char **obj_path,
				   kumo_error_t *err);
/* Runs the app as a VM. */
typedef int (*kumo_run_vm_fn)(const struct kumo_run_args *a);

/* Parses argv (argv[0] is the command) and runs the app: with --host (or when vm is
 * NULL) on the hosted runtime, compiling a module through compile (NULL: only objects
 * run, as in kumo-hostrun); else through vm. Messages start with `prog: `; a missing APP
 * is "no such file". Returns the exit status. */
int kumo_run_main(const char *prog, int argc, char **argv, kumo_run_compile_fn compile,
		  kumo_run_vm_fn vm);

/* Builds the app's artifact (builder_prepare), boots it, streams the guest's
 * stdout/stderr to ours, and returns the exit status: the app's code, KUMO_EXIT_TRAP
 * on a trap, KUMO_EXIT_FAILURE when kumo or the kernel failed (a VM that QEMU stopped,
 * that panicked or showed no sign of life: at once, with QEMU's first error line or the
 * cause on stderr), 130 after Ctrl-C.
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
int kumo_run_vm(const struct kumo_run_args *a);

#endif /* KUMO_CLI_RUN_H */
