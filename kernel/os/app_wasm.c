/* kernel/os/app_wasm.c - kumo_app_main of an image linked with a compiled module (`kumo build`): runs that module as the one app. */
#include "kernel/kernel.h"
#include "kernel/os/kos.h"

/* The descriptor of the linked module (KUMO_SYM_MODULE). */
extern const struct kumo_module kumo_module;

int kumo_app_main(void)
{
	return app_run_module(&kumo_module);
}
