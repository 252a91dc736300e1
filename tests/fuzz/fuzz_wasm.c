/* tests/fuzz/fuzz_wasm.c - libFuzzer target over the compiler: decode and validate
 * arbitrary bytes, and compile what validates (no crash, no leak, every refusal carries
 * a message). KUMO_FUZZ_NO_COMPILE=1 limits it to the front end. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "compiler/compiler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[64];
	static int compile = -1;
	if (compile < 0) {
		const char *e = getenv("KUMO_FUZZ_NO_COMPILE");
		compile = !(e && *e == '1');
		snprintf(out, sizeof(out), "/tmp/kumo-fuzz-%d.o", (int)getpid());
		/* The structural limits stay; the compile budget's child process would hide
		 * a compiler crash from the sanitizers (and cost an exec per input). */
		struct kumo_compile_limits lim = *kumo_compile_limits();
		lim.compile_cpu_seconds = lim.compile_cpu_seconds_per_mib = 0;
		lim.compile_memory_mb = lim.compile_memory_mb_per_mib = 0;
		kumo_compile_set_limits(&lim);
	}
	kumo_error_t err = NULL;
	if (kumo_validate(data, size, &err) < 0) {
		if (!err || kumo_error_msg(err)[0] == '\0')
			abort();
		kumo_error_free(&err);
		return 0;
	}
	if (!compile)
		return 0;
	/* A valid module must compile: anything else is a compiler bug. */
	struct kumo_compile_options opts = { .opt_level = 1 };
	if (kumo_compile_file(data, size, &opts, out, NULL, &err) < 0) {
		fprintf(stderr, "valid module failed to compile: %s\n", kumo_error_msg(err));
		abort();
	}
	unlink(out);
	return 0;
}
