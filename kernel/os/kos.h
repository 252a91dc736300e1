/* kernel/os/kos.h - the unikernel's internal services (console, memory, clocks, boot
 * config, exit), shared by kernel/arch, kernel/os and the kernel's platform code.
 * Freestanding: negative errno-style returns; panic() only for broken invariants. */
#ifndef KUMO_KOS_H
#define KUMO_KOS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/boot_abi.h"

#define PAGE_SIZE 4096ull
#define KERR_NOMEM 12 /* ENOMEM */
#define KERR_INVAL 22 /* EINVAL */

/* --- console (console.c) --- */
enum kcons_stream { KCONS_STDOUT, KCONS_STDERR, KCONS_KERNEL };
void kcons_init(void);
/* Writes n bytes to a stream's port (see boot_abi.h for which port carries what). */
void kcons_write(enum kcons_stream s, const void *buf, size_t n);
/* Waits until every port has sent what it was given. */
void kcons_flush(void);
/* Kernel log line on COM3: "kumo: " + formatted text. */
void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kprintf(enum kcons_stream s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether COM2 / COM3 exist (otherwise those streams go to COM1). */
int kcons_has_port(enum kcons_stream s);

/* --- exit (exit.c): exit record on COM3, then power-off --- */
__attribute__((noreturn)) void kexit(int status);
__attribute__((noreturn)) void ktrap(uint32_t trap_code);
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

/* --- physical pages (page.c): identity-mapped, so a physical address is usable as a
 * pointer --- */
void page_init(const struct kumo_hvm_start_info *si);
/* Returns n contiguous zeroed pages, or NULL. */
void *page_alloc(size_t n);
void page_free(void *p, size_t n);
uint64_t page_free_count(void);
uint64_t page_total_count(void);

/* --- virtual memory (vm.c) --- */
#define VM_WASM_BASE 0x10000000000ull  /* 1 TiB: the Wasm linear-memory reservation */
#define VM_STACK_BASE 0x20000000000ull /* 2 TiB: app stack (guard below) */
#define VM_STACK_GUARD (1ull << 20)    /* unmapped bytes below the app stack */
/* Unmaps the null page and identity-maps RAM above 4 GiB. */
void vm_init(const struct kumo_hvm_start_info *si);
/* Maps [va, va+len) to fresh zeroed pages; -KERR_NOMEM when RAM runs out (what is
 * already mapped stays). va and len page-aligned. */
int vm_map_fresh(uintptr_t va, uint64_t len);
/* Unmaps and frees [va, va+len). */
void vm_unmap(uintptr_t va, uint64_t len);
/* Wasm linear memory: the reservation is VM_WASM_BASE..+KUMO_MEM_RESERVE_BYTES, of which
 * only [0, committed) is mapped. */
uint8_t *vm_wasm_base(void);
uint64_t vm_wasm_committed(void);
/* Grows the committed part to `bytes` (page-aligned); -KERR_NOMEM if RAM runs out. */
int vm_wasm_commit(uint64_t bytes);
/* App stack: maps `size` bytes below VM_STACK_BASE + VM_STACK_GUARD + size; returns the
 * top. The guard below it stays unmapped. */
uintptr_t vm_stack_create(uint64_t size, uintptr_t *bottom);
/* What a faulting address belongs to. */
enum vm_region { VM_REGION_OTHER, VM_REGION_WASM, VM_REGION_STACK_GUARD, VM_REGION_NULL };
enum vm_region vm_classify(uintptr_t va);

/* --- heap (heap.c): malloc/free/realloc/calloc over page_alloc --- */
void heap_init(void);
uint64_t heap_bytes_in_use(void);

/* --- clocks (clock.c) --- */
void clock_init(void);
uint64_t clock_monotonic_ns(void);     /* since boot (kumo_boot_tsc) */
uint64_t clock_realtime_ns(void);      /* since the Unix epoch */
uint64_t clock_tsc_hz(void);
uint64_t clock_tsc_to_ns(uint64_t ticks);
const char *clock_source(void);        /* "kvmclock", "cpuid", "pit", ... */
/* Sleeps (hlt + timer interrupt) until clock_monotonic_ns() >= deadline. */
void clock_sleep_until(uint64_t deadline_ns);
void clock_sleep_ns(uint64_t ns);

/* --- randomness (random.c) --- */
void random_init(const void *seed, size_t n);
void random_get(void *buf, size_t n);
const char *random_source(void);

/* --- boot config (bootcfg.c) --- */
struct kumo_preopen {
	const char *guest;  /* path the app sees */
	const char *path;   /* directory in the rootfs */
	int readonly;
};
struct kumo_bootcfg {
	int argc;
	char **argv;             /* argc entries + NULL */
	int envc;
	char **envp;             /* envc entries + NULL */
	int npreopens;
	struct kumo_preopen *preopens;
	uint64_t stack_size;
	const uint8_t *rootfs;   /* ustar archive in the initrd, or NULL */
	uint64_t rootfs_size;
	const char *cmdline;     /* kernel command line, or "" */
};
extern struct kumo_bootcfg kumo_bootcfg;
/* Reads module 0 of the PVH start info; panics on a malformed config. */
void bootcfg_init(const struct kumo_hvm_start_info *si);
/* Physical ranges the boot config and the start info occupy (kept by page_init). */

/* --- main.c --- */
extern uint64_t kumo_app_entry_tsc; /* TSC just before the app's entry point */
const char *kumo_accel(void);         /* "kvm", "tcg", ... (from the hypervisor leaf) */
/* Logs the boot summary and per-stage times (at exit, off the boot path). */
void kumo_log_boot_details(void);

#endif /* KUMO_KOS_H */
