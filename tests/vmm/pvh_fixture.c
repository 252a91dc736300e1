/* tests/vmm/pvh_fixture.c - a tiny PVH guest for vmm tests (a fixture, not kumo's kernel).
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
 *   hang          never power off (for stop/destroy tests)
 *   exit=N        exit code in the exit record (default 0)
 *   trap=NAME     trap name in the exit record ('_' becomes ' ')
 *   noexit        power off without an exit record
 */
#include <stdint.h>

#define COM_STDOUT 0x3f8
#define COM_STDERR 0x2f8
#define COM_EXIT 0x3e8

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

static void putc_port(uint16_t port, char c)
{
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
	uint32_t code = 0;
	const char *trap = "";
	int trap_len = 0, hang = 0, noexit = 0;
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
		} else if (word_is(w, len, "exit")) {
			code = atou(v, vlen);
		} else if (word_is(w, len, "trap")) {
			trap = v;
			trap_len = vlen;
		} else if (word_is(w, len, "hang")) {
			hang = 1;
		} else if (word_is(w, len, "noexit")) {
			noexit = 1;
		}
	}
	if (hang)
		for (;;)
			__asm__ volatile("hlt");
	if (!noexit) {
		puts_port(COM_EXIT, "KUMO-EXIT ", -1, 0);
		putu(COM_EXIT, code);
		putc_port(COM_EXIT, ' ');
		puts_port(COM_EXIT, trap, trap_len, 1);
		putc_port(COM_EXIT, '\n');
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
