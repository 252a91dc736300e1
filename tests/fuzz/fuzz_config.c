/* tests/fuzz/fuzz_config.c - fuzz target for kumod's configuration file (kumo.json,
 * cri_config_parse_json over the defaults): no crash, no leak, a refusal carries a
 * message, an accepted file leaves every field set and within its range. */
#include <stdint.h>
#include <string.h>

#include "cri/cri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cri_config cfg;
	bool version;
	kumo_error_t err = NULL;
	char *argv[] = {"kumod", NULL};
	if (cri_config_load(&cfg, NULL, false, 1, argv, &version, &err) < 0)
		abort(); /* the defaults alone must load */
	if (cri_config_parse_json(&cfg, (const char *)data, size, "fuzz.json", &err) == 0) {
		if (!cfg.socket || !cfg.root || !cfg.backend || !cfg.vm_backend || !cfg.accel ||
		    !cfg.log_level || !cfg.insecure_registries)
			abort();
		if (cfg.workers < 1 || cfg.workers > 256 || cfg.shutdown_grace_ms < 0)
			abort();
		if (cfg.jail_memory_overhead_mib != 0 &&
		    (cfg.jail_memory_overhead_mib < 1 || cfg.jail_memory_overhead_mib > 65536))
			abort();
	} else if (!err || !kumo_error_msg(err)[0]) {
		abort();
	}
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
