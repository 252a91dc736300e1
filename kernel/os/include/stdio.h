/* kernel/os/include/stdio.h - formatted output into buffers (kernel/os/kprintf.c); no FILE streams in the kernel. */
#ifndef KUMO_KSTDIO_H
#define KUMO_KSTDIO_H
#include <stdarg.h>
#include <stddef.h>
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Unbounded: only for cJSON, which sizes its buffers itself. */
int sprintf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Only "%lg" (what cJSON uses to check a printed number). */
int sscanf(const char *s, const char *fmt, ...);
#endif
