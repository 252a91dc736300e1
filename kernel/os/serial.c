/* kernel/os/serial.c - 16550 serial console: COM1 stdout, COM2 stderr, COM3 kernel log and exit record (boot_abi.h). */
#include <stdio.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"

static const uint16_t stream_port[3] = { KUMO_BOOT_PORT_STDOUT, KUMO_BOOT_PORT_STDERR,
					 KUMO_BOOT_PORT_KERNEL };
static uint16_t port_of[3];
static int present[3];

static int uart_probe(uint16_t base)
{
	/* The scratch register holds what was written only when a UART is there. */
	outb(base + 7, 0x5a);
	if (inb(base + 7) != 0x5a)
		return 0;
	outb(base + 7, 0xa5);
	return inb(base + 7) == 0xa5;
}

static void uart_init(uint16_t base)
{
	outb(base + 1, 0x00); /* no interrupts */
	outb(base + 3, 0x80); /* DLAB */
	outb(base + 0, 0x01); /* 115200 baud */
	outb(base + 1, 0x00);
	outb(base + 3, 0x03); /* 8N1 */
	outb(base + 2, 0xc7); /* FIFO on, cleared */
	outb(base + 4, 0x03); /* DTR, RTS */
}

void kcons_init(void)
{
	for (int i = 0; i < 3; i++) {
		present[i] = uart_probe(stream_port[i]);
		port_of[i] = present[i] ? stream_port[i] : KUMO_BOOT_PORT_STDOUT;
		if (present[i])
			uart_init(stream_port[i]);
	}
}

int kcons_has_port(enum kcons_stream s)
{
	return present[s];
}

void kcons_write(enum kcons_stream s, const void *buf, size_t n)
{
	uint16_t base = port_of[s] ? port_of[s] : KUMO_BOOT_PORT_STDOUT;
	const uint8_t *p = buf;
	/* With the FIFO on, THRE means the whole 16-byte transmit FIFO is empty: one
	 * status read per 16 bytes instead of one per byte (each port access is a VM
	 * exit). */
	while (n) {
		while (!(inb(base + 5) & 0x20))
			__asm__ volatile("pause");
		size_t k = n < 16 ? n : 16;
		for (size_t i = 0; i < k; i++)
			outb(base, p[i]);
		p += k;
		n -= k;
	}
}

void kcons_flush(void)
{
	for (int i = 0; i < 3; i++) {
		uint16_t base = port_of[i] ? port_of[i] : KUMO_BOOT_PORT_STDOUT;
		/* Transmitter empty (holding register and shift register). */
		for (int spin = 0; spin < 1000000 && !(inb(base + 5) & 0x40); spin++)
			__asm__ volatile("pause");
	}
}

static void kvprintf(enum kcons_stream s, const char *prefix, const char *fmt, va_list ap, int nl)
{
	char buf[512];
	int n = 0;
	if (prefix)
		n = snprintf(buf, sizeof(buf), "%s", prefix);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	if (nl)
		buf[n++] = '\n';
	kcons_write(s, buf, (size_t)n);
}

void klog(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(KCONS_KERNEL, "kumo: ", fmt, ap, 1);
	va_end(ap);
}

void kprintf(enum kcons_stream s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(s, NULL, fmt, ap, 0);
	va_end(ap);
}
