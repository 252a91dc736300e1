/* kernel/os/exit.c - how the VM ends: the exit record on COM3 (boot_abi.h), then power-off. */
#include <stdio.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9fs.h"
#include "kernel/os/ramfs.h"
#include "compiler/abi.h"
#include "kernel/rt/rt.h"
#include "kernel/rt/rt_platform.h"

static volatile int exiting;

/* Tells a pvpanic device, when there is one, that the kernel panicked (boot_abi.h). */
static void pvpanic_signal(void)
{
	uint8_t caps = inb(KUMO_BOOT_PORT_PVPANIC);
	if (caps != 0xff && (caps & KUMO_PVPANIC_PANICKED))
		outb(KUMO_BOOT_PORT_PVPANIC, KUMO_PVPANIC_PANICKED);
}

void kpvpanic_hang(void)
{
	klog("test hook: pvpanic without an exit record, then halt");
	kcons_flush();
	pvpanic_signal();
	for (;;)
		__asm__ volatile("cli; hlt");
}

static __attribute__((noreturn)) void finish(int status, const char *kind, int trap, const char *msg)
{
	__asm__ volatile("cli");
	if (exiting++) {
		/* Exiting while exiting (a fault in here): the record may be missing, so
		 * tell the host through pvpanic, then just stop. */
		pvpanic_signal();
		power_off();
	}
	char line[400];
	int n;
	if (trap >= 0)
		n = snprintf(line, sizeof(line), KUMO_EXIT_RECORD_PREFIX "status=%d kind=%s trap=%d msg=%s\n",
			     status, kind, trap, msg);
	else
		n = snprintf(line, sizeof(line), KUMO_EXIT_RECORD_PREFIX "status=%d kind=%s msg=%s\n",
			     status, kind, msg);
	if (n >= (int)sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	for (int i = 0; i < n - 1; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	kumo_log_boot_details();
	net_log_usage();
	p9fs_log_mounts();
	kcons_flush();
	/* Start the records on a fresh line when COM3 is shared with stdout. */
	if (!kcons_has_port(KCONS_KERNEL))
		kcons_write(KCONS_KERNEL, "\n", 1);
	/* What the app wrote to file mounts goes back to the host (not after a kernel
	 * panic: the file system may be what broke). */
	if (strcmp(kind, KUMO_EXIT_KIND_PANIC) != 0)
		ramfs_report_files();
	kcons_write(KCONS_KERNEL, line, (size_t)n);
	kcons_flush();
	if (strcmp(kind, KUMO_EXIT_KIND_PANIC) == 0)
		pvpanic_signal();
	power_off();
}

void kexit(int status)
{
	/* WASI: the low 8 bits are what a process exit status can carry. */
	finish(status & 0xff, KUMO_EXIT_KIND_EXIT, -1, "exited");
}

int kumo_pod_mode;

void kstop_check(void)
{
	struct kthread *t = kthread_current();
	/* The pod stopped or killed this container: unwind its instance (only from inside
	 * it: a wait of the container's own setup or teardown code just goes on). */
	if (t->stop && t->owner && t->guard)
		kumo_plat_unwind(KUMO_RT_EXIT, t->stop == KSTOP_KILL ? KUMO_POD_EXIT_KILLED
								   : KUMO_EXIT_STATUS_STOPPED);
	if (kumo_stop_pending && !exiting && !kumo_pod_mode) {
		klog("stop requested by the host (ACPI power button)");
		finish(KUMO_EXIT_STATUS_STOPPED, KUMO_EXIT_KIND_EXIT, -1, "stopped by the host");
	}
}

void ktrap(uint32_t code)
{
	klog("wasm trap: %s", kumo_trap_message(code));
	finish(KUMO_EXIT_STATUS_TRAP,
	       code == KUMO_TRAP_OUT_OF_MEMORY ? KUMO_EXIT_KIND_OOM : KUMO_EXIT_KIND_TRAP,
	       (int)code, kumo_trap_message(code));
}

void panic(const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	klog("panic: %s", msg);
	finish(KUMO_EXIT_STATUS_PANIC, KUMO_EXIT_KIND_PANIC, -1, msg);
}
