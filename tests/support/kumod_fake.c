/* tests/support/kumod_fake.c - the test daemon: kumod's own main (cri/daemon.c) on the
 * fake stages (tests/support/fake_backend.h), for the end-to-end tests of the CRI state
 * machine. kumod itself links none of this. */
#include "cri/cri.h"
#include "tests/support/fake_backend.h"

static int fake_backend(const struct cri_config *cfg, struct cri_backend **out,
			kumo_error_t *err)
{
	return cri_backend_fake_new(cfg->root, out, err);
}

int main(int argc, char **argv)
{
	return cri_daemon_main("kumod-fake", argc, argv, fake_backend);
}
