/* common/lazylib.c - loads a lazily linked library at its first call (common/lazylib.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "common/lazylib.h"

static pthread_mutex_t lazylib_lock = PTHREAD_MUTEX_INITIALIZER;

static _Noreturn void lazylib_fail(const struct kumo_lazylib *lib, size_t index, const char *why)
{
	/* No allocation and no kumo logging here: this may run inside any caller. */
	fprintf(stderr, "kumo: cannot load `%s` for `%s`: %s\n", lib->soname,
		lib->names[index], why ? why : "unknown error");
	_exit(127);
}

void *kumo_lazylib_resolve(struct kumo_lazylib *lib, size_t index)
{
	pthread_mutex_lock(&lazylib_lock);
	if (!lib->handle) {
		void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			lazylib_fail(lib, index, dlerror());
		for (size_t i = 0; i < lib->count; i++) {
			void *f = dlsym(h, lib->names[i]);
			if (!f)
				lazylib_fail(lib, i, dlerror());
			__atomic_store_n(&lib->slots[i], f, __ATOMIC_RELEASE);
		}
		lib->handle = h;
	}
	void *f = __atomic_load_n(&lib->slots[index], __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&lazylib_lock);
	return f;
}
