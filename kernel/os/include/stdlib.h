/* kernel/os/include/stdlib.h - kernel heap and number parsing for freestanding code (kernel/os/heap.c, klibc.c). */
#ifndef KUMO_KSTDLIB_H
#define KUMO_KSTDLIB_H
#include <stddef.h>
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);
double strtod(const char *s, char **end);
unsigned long long strtoull(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
int atoi(const char *s);
#endif
