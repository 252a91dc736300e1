/* kernel/os/klibc.c - the freestanding kernel's subset of libc: memory and string functions, number parsing. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 16 bytes, any alignment: movdqu. */
typedef char kumo_v16 __attribute__((vector_size(16), aligned(1), may_alias));

/* Bulk copies 64 bytes a turn with SSE moves: under TCG every iteration of `rep movsb`
 * is one byte through a whole translated-block round trip (the network path copies
 * every payload twice: file -> the app's memory -> lwIP), a loop of movdqu moves 16;
 * on hardware it is as fast as `rep movsb` without ERMS. The tail goes bytewise. */
void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	void *ret = d;
	if (n >= 64) {
		kumo_v16 *dv = d;
		const kumo_v16 *sv = s;
		for (; n >= 64; n -= 64, dv += 4, sv += 4) {
			kumo_v16 a = sv[0], b = sv[1], c = sv[2], e = sv[3];
			dv[0] = a;
			dv[1] = b;
			dv[2] = c;
			dv[3] = e;
		}
		d = dv;
		s = sv;
	}
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return ret;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if (dp == sp || n == 0)
		return d;
	if (dp < sp || dp >= sp + n)
		return memcpy(d, s, n);
	/* Overlapping with the destination above: copy backwards. */
	dp += n - 1;
	sp += n - 1;
	__asm__ volatile("std; rep movsb; cld" : "+D"(dp), "+S"(sp), "+c"(n) : : "memory");
	return d;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

char *strcpy(char *restrict d, const char *restrict s)
{
	return memcpy(d, s, strlen(s) + 1);
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;
	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

unsigned long long strtoull(const char *s, char **end, int base)
{
	unsigned long long v = 0;
	const char *p = s;
	while (isspace(*p))
		p++;
	if (*p == '+')
		p++;
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = 10;
	}
	const char *digits = p;
	for (;; p++) {
		int d;
		if (isdigit(*p))
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'z')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'Z')
			d = *p - 'A' + 10;
		else
			break;
		if (d >= base)
			break;
		v = v * (unsigned)base + (unsigned)d;
	}
	if (end)
		*end = (char *)(p == digits ? s : p);
	return v;
}

long long strtoll(const char *s, char **end, int base)
{
	const char *p = s;
	while (isspace(*p))
		p++;
	int neg = *p == '-';
	if (neg)
		p++;
	char *e;
	unsigned long long v = strtoull(p, &e, base);
	if (end)
		*end = e == p ? (char *)s : e;
	return neg ? -(long long)v : (long long)v;
}

/* Not correctly rounded in every case (the boot config carries integers and simple
 * decimals), but exact for integers below 2^53. */
double strtod(const char *s, char **end)
{
	const char *p = s;
	while (isspace(*p))
		p++;
	int neg = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	uint64_t mant = 0;
	int exp10 = 0, ndigits = 0, any = 0;
	for (; isdigit(*p); p++, any = 1) {
		if (ndigits < 19) {
			mant = mant * 10 + (uint64_t)(*p - '0');
			if (mant)
				ndigits++;
		} else {
			exp10++;
		}
	}
	if (*p == '.') {
		p++;
		for (; isdigit(*p); p++, any = 1) {
			if (ndigits < 19) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				if (mant)
					ndigits++;
				exp10--;
			}
		}
	}
	if (!any) {
		if (end)
			*end = (char *)s;
		return 0;
	}
	if (*p == 'e' || *p == 'E') {
		const char *q = p + 1;
		int eneg = 0, e = 0, edig = 0;
		if (*q == '+' || *q == '-')
			eneg = *q++ == '-';
		for (; isdigit(*q); q++, edig = 1)
			if (e < 10000)
				e = e * 10 + (*q - '0');
		if (edig) {
			exp10 += eneg ? -e : e;
			p = q;
		}
	}
	double v = (double)mant;
	double scale = 1.0, base = 10.0;
	int e = exp10 < 0 ? -exp10 : exp10;
	while (e) {
		if (e & 1)
			scale *= base;
		base *= base;
		e >>= 1;
	}
	v = exp10 < 0 ? v / scale : v * scale;
	if (end)
		*end = (char *)p;
	return neg ? -v : v;
}

int atoi(const char *s)
{
	return (int)strtoll(s, NULL, 10);
}

char *strstr(const char *h, const char *n)
{
	size_t len = strlen(n);
	for (; *h; h++)
		if (strncmp(h, n, len) == 0)
			return (char *)h;
	return len ? NULL : (char *)h;
}
