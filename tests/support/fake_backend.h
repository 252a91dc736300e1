/* tests/support/fake_backend.h - the test backend: fakes of cri/backend.h's three
 * stages (what each fake VM does is chosen by its command: tests/support/fake_backend.c),
 * state kept under <root>/test-backend so it outlives a daemon restart. Used by the test
 * daemon (tests/support/kumod_fake.c), the runtime's unit tests and the CRI fuzz target. */
#ifndef KUMO_FAKE_BACKEND_H
#define KUMO_FAKE_BACKEND_H

#include "cri/backend.h"

/* `root` is copied; the stages log that they are fakes. */
int cri_backend_fake_new(const char *root, struct cri_backend **out, kumo_error_t *err);

#endif /* KUMO_FAKE_BACKEND_H */
