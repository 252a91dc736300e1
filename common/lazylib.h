/* common/lazylib.h - shared libraries a program loads at the first call into them
 * instead of at its start (the `kumo` CLI: libvirt, libcurl, libarchive and libnl cost
 * ~9 ms of dynamic linking per process, and a cache-hit `kumo run` calls none of them).
 *
 * How: the program links generated stubs (common/lazylib-gen.sh) instead of the
 * library. Each function symbol the program calls gets a stub of that name that jumps
 * through a slot; every slot first points at a resolver entry, which saves the argument
 * registers (x86-64 System V: rdi, rsi, rdx, rcx, r8, r9, al for variadic calls,
 * xmm0-7), calls kumo_lazylib_resolve, restores them and jumps on. The first call into a
 * library dlopens it and fills every slot of that library with dlsym's answer, so later
 * calls cost one indirect jump. Data symbols are never stubbed (a program that uses one
 * fails to link, saying which).
 *
 * A library that cannot be loaded, or lacks a symbol, ends the process (exit status 127,
 * as the dynamic loader's own failure) with a message naming the library, the symbol
 * and dlerror(): the same outcome as a missing library at start, only later. Thread-safe:
 * concurrent first calls load the library once. */
#ifndef KUMO_LAZYLIB_H
#define KUMO_LAZYLIB_H

#include <stddef.h>

struct kumo_lazylib {
	const char *soname;        /* what dlopen loads, e.g. "libvirt.so.0" */
	const char *const *names;  /* the stubbed symbols, in slot order */
	void **slots;              /* one jump target per symbol (the generated .S's) */
	size_t count;              /* how many */
	void *handle;              /* dlopen's, NULL until loaded (under the resolver's lock) */
};

/* Called by the resolver entry (common/lazylib_x86_64.S) on the first call of lib's
 * symbol index: loads lib (once), fills all its slots, returns the function to jump to.
 * Never returns on failure. */
void *kumo_lazylib_resolve(struct kumo_lazylib *lib, size_t index);

#endif /* KUMO_LAZYLIB_H */
