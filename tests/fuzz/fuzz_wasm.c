/* tests/fuzz/fuzz_wasm.c - libFuzzer target over the compiler front end: decode and
 * validate arbitrary bytes (no crash, no leak, every refusal carries a message). */
#include <stdint.h>
#include <stdlib.h>

#include "common.h"
#include "compiler/compiler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kumo_error_t err = NULL;
	if (kumo_validate(data, size, &err) < 0) {
		if (!err || kumo_error_msg(err)[0] == '\0')
			abort();
		kumo_error_free(&err);
	}
	return 0;
}
