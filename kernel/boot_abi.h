/* kernel/boot_abi.h - the host<->guest boot ABI: the one contract between whoever
 * starts a kumo VM (vmm/, builder/, test scripts) and the unikernel inside it.
 *
 * Self-contained (only <stdint.h>), usable from freestanding and hosted code. Structs
 * only grow by appending; an incompatible change bumps KUMO_BOOT_ABI_VERSION. Fields
 * are marked IN (host writes, guest reads) or OUT (guest writes, host reads).
 *
 * Booting
 *   The kernel is a static ELF64 image linked at 1 MiB carrying a PVH entry note
 *   (XEN_ELFNOTE_PHYS32_ENTRY), booted with `-kernel kernel.elf` on `-M microvm`
 *   (no firmware step) or on pc/q35 (qboot recommended: SeaBIOS costs seconds). The
 *   boot config travels as the PVH module 0, i.e. `-initrd initrd.img`, laid out as
 *   struct kumo_initrd_header followed by the JSON config and the rootfs archive.
 *   Guest RAM size is whatever the VM was given (>= KUMO_BOOT_MIN_RAM_BYTES).
 *
 * Network device (only with a "net" config)
 *   virtio-net, interrupt-driven:
 *   - microvm: a virtio-mmio transport, modern (`-global virtio-mmio.force-legacy=false`,
 *     recommended) or QEMU's default legacy interface (also driven). The kernel finds the
 *     transport in the DSDT (microvm with ACPI, QEMU's default: _HID LNRO0005) or on
 *     the kernel command line as virtio_mmio.device=<size>@<base>:<irq> (microvm with
 *     acpi=off and its auto-kernel-cmdline); the GSI goes through the IOAPIC.
 *   - pc/q35: virtio-net-pci (modern capabilities, MSI-X). BARs the firmware left
 *     unassigned (qboot does not assign them) are placed by the kernel between
 *     0xe0000000 and 0xfe000000.
 *   The host side is a tap (in the pod's network namespace, vmm/podnet.c); the guest
 *   never uses DHCP. With "net.mac" the kernel uses only the NIC with that MAC; without
 *   it the first one.
 *   A "net" config without a usable NIC is a boot error (panic record naming it).
 *
 * Required devices
 *   - a 16550 UART at COM1 (0x3f8): the app's stdout;
 *   - a 16550 UART at COM2 (0x2f8): the app's stderr;
 *   - a 16550 UART at COM3 (0x3e8): kernel log and the exit record.
 *     On microvm only COM1 exists by default: add
 *       -device isa-serial,chardev=C2,iobase=0x2f8,irq=3
 *       -device isa-serial,chardev=C3,iobase=0x3e8,irq=4
 *     A missing COM2 sends stderr to COM1; a missing COM3 sends the kernel log and the
 *     exit record to COM1 as well (debug only: the host can no longer tell them apart
 *     from stdout reliably, although the exit record line keeps its exact format).
 *   - ACPI (QEMU's default): power-off uses the FADT (hardware-reduced sleep control
 *     register on microvm, PM1a_CNT on pc/q35); without ACPI the kernel tries the
 *     usual QEMU ports and ends with a triple fault, so `-no-reboot` (libvirt:
 *     on_reboot=destroy) is required for the VM to stop rather than reboot.
 *   - a CPU with at least the features of the target the app was compiled for
 *     (kumo_module.cpu, default x86-64-v2 = SSSE3, SSE4.1/4.2, POPCNT, CX16): QEMU's
 *     default qemu64 model lacks them; use -cpu max under TCG and a named model
 *     (Nehalem or newer for v2, Haswell for v3) under KVM. The kernel checks before
 *     the app runs and refuses with a panic record naming the missing feature.
 *   Optional: the LAPIC (always there), the PIT (TSC calibration when no kvmclock, no
 *   kumo.tsc_khz word and no CPUID frequency leaf), the CMOS RTC (realtime without kvmclock), and pvpanic
 *   (`-device pvpanic`, ISA port KUMO_BOOT_PORT_PVPANIC; libvirt `<panic model='isa'/>`):
 *   on a panic the kernel writes the exit record first, then 1 (PANICKED) to that port,
 *   then powers off. A host that pauses on a guest panic (`-action panic=pause`,
 *   libvirt on_crash) learns of it at once and ends the VM even when power-off fails;
 *   the record, when there is one, says what happened.
 *
 * The kernel command line (IN): words separated by spaces, unknown words ignored.
 *   kumo.probe        probe mode (KUMO_BOOT_CMDLINE_PROBE): the kernel runs its first
 *                     CPU set-up (GDT, IDT, SSE/AVX state: what an accelerator must be
 *                     able to run for any kumo guest), writes the probe record on COM3
 *                     and powers off; no initrd is read and no app runs. The host boots
 *                     it under an accelerator to learn whether kumo guests run there.
 *   kumo.test=pvpanic test hook: after the boot record, report a panic through pvpanic
 *                     only (no exit record) and halt for ever, as a kernel that cannot
 *                     report would; the host must end the VM by itself.
 *   kumo.tsc_khz=N    TCG only (KUMO_BOOT_CMDLINE_TSC_KHZ): the TSC's rate in kHz as the
 *                     host measured it (QEMU's TCG guest reads the host's TSC); the
 *                     kernel takes it instead of calibrating against the PIT (~2 ms of
 *                     boot). Ignored under a hypervisor (kvmclock) and outside
 *                     100 MHz-20 GHz.
 *
 * The boot record (OUT)
 *   The kernel's first line on COM3, written before anything else runs:
 *       KUMO_BOOT_RECORD ("KUMO-BOOT v=1")
 *   The host's sign of life: a VM that wrote nothing on COM3 by a deadline after it
 *   was started is dead (hung before the kernel ran, or stopped by the accelerator).
 *
 * The probe record (OUT, probe mode only)
 *       KUMO-PROBE v=1 ok accel=<kvm|tcg|hypervisor signature>
 *   then power-off. Any other end (no record, an accelerator error) means kumo guests
 *   cannot run under that accelerator.
 *
 * Host shares (only with a "share" in the config; v2)
 *   virtio-9p, one device per share, 9P2000.L, found like the network device
 *   (virtio-mmio on microvm, modern or legacy; virtio-pci on pc/q35) and named by its
 *   mount tag (1 to 63 bytes; QEMU: -fsdev local,id=F,path=DIR,security_model=
 *   passthrough[,readonly=on] -device virtio-9p-device,fsdev=F,mount_tag=TAG on
 *   microvm, virtio-9p-pci on pc/q35). Nothing is copied or cached: every open walks
 *   the host's current tree, so the guest sees host changes at its next open (a
 *   ConfigMap's `..data` swap) and the host sees guest writes as they are made.
 *   Symlinks inside a share are followed by the kernel within the preopen only
 *   (absolute targets and escapes through ".." are EPERM, as for the rootfs). A
 *   "readonly" share refuses every change in the guest (EROFS; under a read-only
 *   preopen, WASI's missing rights: ENOTCAPABLE), whatever the host allows. Files the
 *   guest creates get mode 0644, directories 0755, owner 0 (the attach uid).
 *   A config naming a tag no device has is a boot error (panic record naming it).
 *   Cost: the kernel keeps one request and one reply buffer of msize (128 KiB) for all
 *   shares.
 *
 * The exit record (OUT)
 *   Before power-off the kernel writes exactly one line on COM3 (after flushing COM1
 *   and COM2), then powers off. Its format (KUMO_EXIT_RECORD_PREFIX, then fields
 *   separated by one space, ended by '\n'):
 *       KUMO-EXIT v=1 status=<0..255> kind=<exit|trap|oom|panic>[ trap=<n>] msg=<text>
 *   status: the app's exit status (proc_exit / return of _start), 0..255 exactly;
 *           KUMO_EXIT_STATUS_TRAP for a Wasm trap (oom included), KUMO_EXIT_STATUS_PANIC
 *           for a kernel bug.
 *   kind:   exit (the app exited), trap (a Wasm trap: trap=<enum kumo_trap_code> and
 *           msg=<kumo_trap_message(code)>, e.g. "out of bounds memory access"),
 *           oom (the trap "out of memory": the VM could not back memory the app was
 *           promised; trap= and msg= as for trap), panic (the kernel broke one of its
 *           own invariants or met an unexpected fault; the details precede the record
 *           on COM3).
 *   msg:    the rest of the line; never contains '\n'.
 *   A VM that stops without an exit record crashed in a way the kernel could not
 *   report (treat like a panic).
 *   Host side, one shape for every end of a VM: struct kumo_exit_record below, the
 *   record's fields as decoded (vmm/ decodes them), plus two ends only the host sees
 *   (the VM destroyed on purpose, or gone without a record).
 *
 * File records (OUT)
 *   Before the exit record (not after a panic), one line per "files" entry with
 *   copy_back whose content the app changed (compared with its boot content) and that
 *   is at most KUMO_FILE_RECORD_MAX bytes:
 *       KUMO-FILE v=1 size=<bytes> hex=<2*size lowercase hex digits> path=<path>
 *   path: the entry's "path", the rest of the line. A larger file is not reported (the
 *   kernel log says so). The host writes the bytes back to the mount's host file: until
 *   host directories are shared live, this is how what the app wrote to a file mount
 *   (kubelet's termination-message file) reaches the host.
 *
 * The initrd (IN)
 *   struct kumo_initrd_header at offset 0, then the config JSON at config_offset
 *   (config_size bytes, UTF-8, no NUL needed, <= KUMO_BOOT_CONFIG_MAX), then the rootfs
 *   at rootfs_offset (rootfs_size bytes, a POSIX ustar archive, may be empty), then (v3)
 *   a compiled object at object_offset (object_size bytes, 0 for none). Offsets are
 *   from the start of the initrd and 8-byte aligned. A VM started without an initrd
 *   runs with an empty config (args = ["app"], no env, no preopens).
 *   The object (v3): a relocatable object from kumo's compiler (compiler/abi.h), for a
 *   kernel image linked without an app (KUMO_KERNEL_POD_IMAGE_PATH, kernel/kernel.h).
 *   Without "pod" the kernel links and runs it as the one app, exactly as if it had
 *   been linked into the image (same streams, exit record and statuses; a bad object
 *   or an unsupported import is a boot error: panic record naming it). With "pod" it
 *   is preloaded as container 1 (created, not started: see kernel/pod_abi.h). A kernel
 *   image linked with an app ignores it.
 *
 * The boot config JSON (IN), all keys optional:
 *   {
 *     "version":  3,                         KUMO_BOOT_ABI_VERSION the host wrote
 *     "pod":      {"name": "web-7d9f"}      (v3) pod mode: no app of its own, containers
 *                                            come over the control channel; "args",
 *                                            "env", "preopens", "stack_size" and
 *                                            "net.listen" then belong to containers and
 *                                            are ignored here (kernel/pod_abi.h)
 *     "args":     ["app.wasm", "a1"],        argv, argv[0] included
 *     "env":      ["K=V", ...],              environ, in order
 *     "preopens": [{"guest": "/data", "path": "/data", "readonly": false}],
 *                                            directories of the rootfs handed to the
 *                                            app as preopened fds 3, 4, ... in order;
 *                 [{"guest": "/data", "path": "/data", "share": "kumo0", "readonly": false}]
 *                                            (v2) with "share": the directory is the
 *                                            host share with that mount tag (see "Host
 *                                            shares"), mounted at "path" (created when
 *                                            the rootfs lacks it; "/" is allowed)
 *     "mounts":   [{"path": "/etc/hosts", "share": "kumo1", "entry": "etc-hosts",
 *                   "readonly": true}]       (v2) host shares mounted into the tree
 *                                            without a preopen of their own: the whole
 *                                            share (no "entry") or, with "entry", only
 *                                            that name of the share's top directory
 *                                            (a single-file mount: the rest of the
 *                                            share stays invisible). "path" is
 *                                            absolute; missing parents are created;
 *                                            what the rootfs has there is covered
 *     "files":    [{"path": "/dev/termination-log", "readonly": false,
 *                   "copy_back": true}]      regular files of the rootfs that stand for
 *                                            host file mounts: none can be unlinked,
 *                                            renamed or replaced (EBUSY, as a bind-
 *                                            mounted file); readonly ones refuse writes
 *                                            (EROFS); copy_back ones the app changed are
 *                                            reported at exit (File records); a path
 *                                            that is not a regular file of the rootfs
 *                                            is a boot error
 *     "stack_size": 1048576,                 app stack bytes (rounded up to pages,
 *                                            clamped to [64 KiB, 256 MiB])
 *     "seed":     "hex",                     extra entropy mixed into random_get
 *                                            (the only source when the CPU has no
 *                                            RDRAND/RDSEED)
 *     "net":      {                          networking (absent: no network; the
 *                                            kernel then ignores any NIC)
 *        "mac":      "52:54:00:12:34:56",    the NIC to use (absent: the first one)
 *        "address":  "10.88.0.5/16",         IPv4 address/prefix (absent: DHCP is not
 *                                            supported: a boot error)
 *        "gateway":  "10.88.0.1",            default route (optional)
 *        "mtu":      1500,                   optional (at most 1500: one frame per
 *                                            rx buffer)
 *        "dns":      ["10.88.0.1"],          resolvers, in order (at most 2 used)
 *        "search":   ["default.svc.cluster.local"],
 *                                            suffixes tried for names without a dot
 *                                            first, after the bare name otherwise
 *        "hostname": "web-7d9f",             resolves to "address" in the guest
 *        "listen":   ["tcp:0.0.0.0:8080", "udp:0.0.0.0:5353"]
 *                                            sockets the kernel binds (and listens on,
 *                                            for tcp) before the app starts and hands
 *                                            to it as fds after the preopened
 *                                            directories, in order (kernel/wasi/wasi.h);
 *                                            the app also gets LISTEN_FDS=<n> and
 *                                            KUMO_LISTEN_FD_START=<first fd>; an app
 *                                            binding such a port itself gets that
 *                                            socket (kernel/wasi/wasi.h)
 *     }
 *   }
 *   Unknown keys are ignored; a malformed config is a boot error (panic record).
 */
#ifndef KUMO_BOOT_ABI_H
#define KUMO_BOOT_ABI_H

#include <stdint.h>

/* 1: the first; 2: host shares (preopens[].share, mounts); 3: pod mode ("pod", the
 * control channel and the record stream of kernel/pod_abi.h) and an object in the
 * initrd. A kernel refuses a config or initrd of a newer version than its own. */
#define KUMO_BOOT_ABI_VERSION 3

/* Serial ports (I/O port bases of 16550 UARTs). */
#define KUMO_BOOT_PORT_STDOUT 0x3f8 /* COM1 */
#define KUMO_BOOT_PORT_STDERR 0x2f8 /* COM2 */
#define KUMO_BOOT_PORT_KERNEL 0x3e8 /* COM3: kernel log + exit record */
#define KUMO_BOOT_PORT_PVPANIC 0x505 /* QEMU's ISA pvpanic (optional) */
#define KUMO_PVPANIC_PANICKED 1u     /* the value written on a panic */

/* The kernel command line words, the boot and the probe records. */
#define KUMO_BOOT_CMDLINE_PROBE "kumo.probe"
#define KUMO_BOOT_CMDLINE_TEST_PVPANIC "kumo.test=pvpanic"
#define KUMO_BOOT_CMDLINE_TSC_KHZ "kumo.tsc_khz=" /* followed by decimal kHz */
#define KUMO_BOOT_RECORD "KUMO-BOOT v=1"
#define KUMO_PROBE_RECORD_PREFIX "KUMO-PROBE v=1 "
#define KUMO_PROBE_RECORD_OK KUMO_PROBE_RECORD_PREFIX "ok"

/* The exit record. */
#define KUMO_EXIT_RECORD_PREFIX "KUMO-EXIT v=1 "
#define KUMO_EXIT_STATUS_TRAP 134  /* like an abort(): 128 + SIGABRT */
#define KUMO_EXIT_STATUS_PANIC 255 /* also carries kind=panic */
#define KUMO_EXIT_STATUS_STOPPED 143 /* 128 + SIGTERM: the host pressed the ACPI power
				      * button (QMP system_powerdown, virDomainShutdown) and
				      * the app was waiting (sleep, poll, socket I/O); kind=exit,
				      * msg="stopped by the host". Microvm's GED only: pc/q35
				      * ignore the button. A computing app is not interrupted. */
#define KUMO_FILE_RECORD_PREFIX "KUMO-FILE v=1 "
#define KUMO_FILE_RECORD_MAX (64u << 10) /* bytes of one file copied back at exit */
#define KUMO_EXIT_KIND_EXIT "exit"
#define KUMO_EXIT_KIND_TRAP "trap"
#define KUMO_EXIT_KIND_OOM "oom"
#define KUMO_EXIT_KIND_PANIC "panic"

/* How a VM ended: the record's kind, or one of the ends only the host sees. */
enum kumo_exit_kind {
	KUMO_EXIT_EXITED = 1, /* kind=exit: the app exited; status is its code */
	KUMO_EXIT_TRAPPED,    /* kind=trap: a Wasm trap; trap and msg say which */
	KUMO_EXIT_OOM,        /* kind=oom: the trap "out of memory" */
	KUMO_EXIT_PANICKED,   /* kind=panic: a kernel bug; msg says what */
	KUMO_EXIT_KILLED,     /* host only: destroyed on the host's request before it
			       * exited (status 137) */
	KUMO_EXIT_CRASHED,    /* host only: gone without a record (stopped by the
			       * accelerator, QEMU died, no sign of life); msg says why
			       * (status 255) */
};
#define KUMO_EXIT_STATUS_KILLED 137  /* 128 + SIGKILL */
#define KUMO_EXIT_MSG_MAX 256

/* The end of a VM as the host holds it: the exit record decoded, or a host-only end. */
struct kumo_exit_record {
	uint32_t status;             /* 0..255 */
	uint32_t kind;               /* enum kumo_exit_kind */
	int32_t trap;                /* enum kumo_trap_code (compiler/abi.h) of TRAPPED and
				      * OOM, -1 otherwise */
	char msg[KUMO_EXIT_MSG_MAX]; /* the record's msg ("out of bounds memory access",
				      * "exited", "stopped by the host", a panic's text); a
				      * host-only end's cause; NUL-terminated */
};

/* Limits. */
#define KUMO_BOOT_CONFIG_MAX (1u << 20)       /* bytes of config JSON */
#define KUMO_BOOT_MIN_RAM_BYTES (16u << 20)  /* smallest guest RAM supported */
#define KUMO_BOOT_DEFAULT_STACK (1u << 20)   /* app stack when the config has none */

/* The initrd header (IN). Little-endian, at offset 0 of PVH module 0. */
#define KUMO_INITRD_MAGIC "KUMOBOOT" /* 8 bytes, no NUL */
struct kumo_initrd_header {
	char magic[8];          /* IN: KUMO_INITRD_MAGIC */
	uint32_t version;       /* IN: KUMO_BOOT_ABI_VERSION */
	uint32_t header_size;   /* IN: sizeof(struct kumo_initrd_header) the host knew */
	uint64_t config_offset; /* IN: from the start of the initrd */
	uint64_t config_size;   /* IN: bytes of JSON, <= KUMO_BOOT_CONFIG_MAX */
	uint64_t rootfs_offset; /* IN: from the start of the initrd */
	uint64_t rootfs_size;   /* IN: bytes of ustar archive, 0 for none */
	uint64_t object_offset; /* IN (v3; zero before): from the start of the initrd */
	uint64_t object_size;   /* IN (v3; zero before): bytes of the object, 0 for none */
	uint64_t reserved[1];   /* IN: zero */
};
_Static_assert(sizeof(struct kumo_initrd_header) == 72, "boot abi");

/* ---------------------------------------------------------------------------
 * PVH boot protocol (Xen's arch-x86/hvm/start_info.h; facts, restated here because
 * both sides need them): the loader enters the PHYS32 entry in 32-bit protected mode,
 * paging off, flat segments, %ebx = physical address of struct hvm_start_info.
 * ------------------------------------------------------------------------- */
#define KUMO_XEN_ELFNOTE_PHYS32_ENTRY 18
#define KUMO_HVM_START_MAGIC 0x336ec578u

struct kumo_hvm_start_info {
	uint32_t magic;          /* KUMO_HVM_START_MAGIC */
	uint32_t version;        /* 0 or 1 (1 adds the memory map) */
	uint32_t flags;
	uint32_t nr_modules;     /* entries at modlist_paddr */
	uint64_t modlist_paddr;  /* struct kumo_hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr;  /* NUL-terminated kernel command line, or 0 */
	uint64_t rsdp_paddr;     /* ACPI RSDP, or 0 */
	uint64_t memmap_paddr;   /* version >= 1: struct kumo_hvm_memmap_entry[] */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
};
_Static_assert(sizeof(struct kumo_hvm_start_info) == 56, "pvh abi");

struct kumo_hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct kumo_hvm_modlist_entry) == 32, "pvh abi");

#define KUMO_HVM_MEMMAP_RAM 1
struct kumo_hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;           /* KUMO_HVM_MEMMAP_RAM (E820 numbering) */
	uint32_t reserved;
};
_Static_assert(sizeof(struct kumo_hvm_memmap_entry) == 24, "pvh abi");

/* Pod mode: the control channel, its commands and the record stream. */
#include "kernel/pod_abi.h"

#endif /* KUMO_BOOT_ABI_H */
