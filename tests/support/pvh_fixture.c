/* tests/support/pvh_fixture.c - a tiny PVH guest for vmm tests (a fixture, not kumo's kernel).
 *
 * Booted by QEMU/libvirt through the PVH ELF note, it runs in 32-bit protected mode
 * without paging, follows the kernel command line, writes to the boot ABI's serial ports
 * (stdout, stderr, exit record) and powers off through the microvm ACPI GED register
 * (or PM1a on pc/q35). Command-line words:
 *   out=TEXT      write TEXT + "\n" to stdout ('_' becomes ' ')
 *   err=TEXT      write TEXT + "\n" to stderr
 *   lines=N       N numbered lines on stdout
 *   long=N        one stdout line of N 'x' characters
 *   partial=TEXT  TEXT on stdout without a newline
 *   delay=N       spin N million TSC cycles (about N/2 ms at 2 GHz; output and exit come later)
 *   hang          never power off (for stop/destroy tests)
 *   exit=N        status in the exit record (default 0)
 *   trap=N        a record of kind trap with trap code N
 *   panic         a record of kind panic
 *   msg=TEXT      the record's msg ('_' becomes ' ')
 *   klog=TEXT     a kernel log line on COM3 before the record
 *   noexit        power off without an exit record
 *   pvpanic       after the exit record (if any), report a panic through pvpanic
 *                 (port 0x505) and hang, as kumo's kernel does after a panic record
 *   silent        no boot record first (a guest that shows no sign of life)
 *   triple        a triple fault (no IDT, then int3) instead of the power-off
 * Like kumo's kernel, it writes the boot record on COM3 first (unless silent). The
 * records follow kernel/boot_abi.h.
 */
#include <stdint.h>

#include "kernel/boot_abi.h"

#define COM_STDOUT KUMO_BOOT_PORT_STDOUT
#define COM_STDERR KUMO_BOOT_PORT_STDERR
#define COM_EXIT KUMO_BOOT_PORT_KERNEL

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
};

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Waits until the holding register is free (LSR THRE), as kumo's kernel does: a host
 * that takes the bytes slowly (a socket chardev whose reader lags) makes the guest
 * wait instead of losing them. */
static void putc_port(uint16_t port, char c)
{
	while (!(inb((uint16_t)(port + 5)) & 0x20))
		__asm__ volatile("pause");
	outb(port, (uint8_t)c);
}

static void puts_port(uint16_t port, const char *s, int n, int underscore)
{
	for (int i = 0; n < 0 ? s[i] : i < n; i++)
		putc_port(port, underscore && s[i] == '_' ? ' ' : s[i]);
}

static void putu(uint16_t port, uint32_t v)
{
	char buf[12];
	int n = 0;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc_port(port, buf[--n]);
}

static int word_is(const char *w, int len, const char *key)
{
	int i = 0;
	for (; key[i]; i++)
		if (i >= len || w[i] != key[i])
			return 0;
	return i == len || w[i] == '=';
}

static uint32_t atou(const char *s, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint32_t)(s[i] - '0');
	return v;
}

static void power_off(void)
{
	/* microvm: ACPI GED sleep control, SLP_EN | SLP_TYP 5. */
	*(volatile uint8_t *)0xfea00200 = 0x34;
	/* pc/q35 with the PIIX4/ICH9 PM block at 0x600. */
	outw(0x604, 0x2000);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void fixture_main(struct hvm_start_info *si)
{
	const char *cmd = si && si->cmdline_paddr ? (const char *)(uintptr_t)si->cmdline_paddr : "";
	uint32_t code = 0, trap = 0;
	const char *msg = "";
	int msg_len = 0, hang = 0, noexit = 0, panic = 0, is_trap = 0, pvpanic = 0, silent = 0;
	int triple = 0;
	for (const char *p = cmd; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		silent |= word_is(w, (int)(p - w), "silent");
	}
	if (!silent) {
		puts_port(COM_EXIT, KUMO_BOOT_RECORD, -1, 0);
		putc_port(COM_EXIT, '\n');
	}
	for (const char *p = cmd; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		int len = (int)(p - w), k = 0;
		while (k < len && w[k] != '=')
			k++;
		const char *v = w + (k < len ? k + 1 : len);
		int vlen = k < len ? len - k - 1 : 0;
		if (word_is(w, len, "out")) {
			puts_port(COM_STDOUT, v, vlen, 1);
			putc_port(COM_STDOUT, '\n');
		} else if (word_is(w, len, "err")) {
			puts_port(COM_STDERR, v, vlen, 1);
			putc_port(COM_STDERR, '\n');
		} else if (word_is(w, len, "partial")) {
			puts_port(COM_STDOUT, v, vlen, 1);
		} else if (word_is(w, len, "lines")) {
			uint32_t n = atou(v, vlen);
			for (uint32_t i = 1; i <= n; i++) {
				puts_port(COM_STDOUT, "line ", -1, 0);
				putu(COM_STDOUT, i);
				putc_port(COM_STDOUT, '\n');
			}
		} else if (word_is(w, len, "long")) {
			uint32_t n = atou(v, vlen);
			for (uint32_t i = 0; i < n; i++)
				putc_port(COM_STDOUT, 'x');
			putc_port(COM_STDOUT, '\n');
		} else if (word_is(w, len, "delay")) {
			uint64_t end = rdtsc() + (uint64_t)atou(v, vlen) * 1000000u;
			while (rdtsc() < end)
				;
		} else if (word_is(w, len, "exit")) {
			code = atou(v, vlen);
		} else if (word_is(w, len, "trap")) {
			trap = atou(v, vlen);
			is_trap = 1;
		} else if (word_is(w, len, "msg")) {
			msg = v;
			msg_len = vlen;
		} else if (word_is(w, len, "klog")) {
			puts_port(COM_EXIT, v, vlen, 1);
			putc_port(COM_EXIT, '\n');
		} else if (word_is(w, len, "panic")) {
			panic = 1;
		} else if (word_is(w, len, "hang")) {
			hang = 1;
		} else if (word_is(w, len, "noexit")) {
			noexit = 1;
		} else if (word_is(w, len, "pvpanic")) {
			pvpanic = 1;
		} else if (word_is(w, len, "triple")) {
			triple = 1;
		}
	}
	if (hang)
		for (;;)
			__asm__ volatile("hlt");
	if (!noexit) {
		puts_port(COM_EXIT, KUMO_EXIT_RECORD_PREFIX "status=", -1, 0);
		putu(COM_EXIT, code);
		puts_port(COM_EXIT, " kind=", -1, 0);
		puts_port(COM_EXIT, panic ? KUMO_EXIT_KIND_PANIC : is_trap ? KUMO_EXIT_KIND_TRAP : KUMO_EXIT_KIND_EXIT, -1, 0);
		if (is_trap) {
			puts_port(COM_EXIT, " trap=", -1, 0);
			putu(COM_EXIT, trap);
		}
		puts_port(COM_EXIT, " msg=", -1, 0);
		puts_port(COM_EXIT, msg, msg_len, 1);
		putc_port(COM_EXIT, '\n');
	}
	if (pvpanic) {
		outb(KUMO_BOOT_PORT_PVPANIC, KUMO_PVPANIC_PANICKED);
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	if (triple) {
		static const struct {
			uint16_t limit;
			uint32_t base;
		} __attribute__((packed)) none = {0, 0};
		__asm__ volatile("lidt %0; int3" : : "m"(none));
	}
	power_off();
}

/* PVH entry: 32-bit protected mode, paging off, %ebx = struct hvm_start_info *. */
__asm__(".section .text.entry, \"ax\"\n"
	".code32\n"
	".globl pvh_start\n"
	"pvh_start:\n"
	"  movl $stack_top, %esp\n"
	"  pushl %ebx\n"
	"  call fixture_main\n"
	"1: hlt\n"
	"  jmp 1b\n"
	".section .bss\n"
	".align 16\n"
	"stack: .skip 4096\n"
	"stack_top:\n"
	/* XEN_ELFNOTE_PHYS32_ENTRY (18): the 32-bit physical entry point. */
	".section .note.Xen, \"a\"\n"
	".align 4\n"
	".long 4, 4, 18\n"
	".asciz \"Xen\"\n"
	".align 4\n"
	".long pvh_start\n"
	".text\n");
