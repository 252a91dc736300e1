/* cri/cli/cli_crictl.h - the kumo CLI's way to call kumod's CRI socket: it runs
 * kumo-crictl (installed beside kumo) rather than linking gRPC, which would add ~20 ms
 * of library loading to every `kumo run`. Private to cri/cli/. */
#ifndef KUMO_CLI_CRICTL_H
#define KUMO_CLI_CRICTL_H

#include <jansson.h>
#include <sys/types.h>

#include "common.h"

/* One call in flight: kumo-crictl's process and its output pipes. */
struct cli_crictl_job {
	pid_t pid;  /* kumo-crictl */
	int out;    /* its stdout: the response JSON */
	int err;    /* its stderr: "rpc error: code = C desc = MESSAGE" */
};

/* Starts `kumo-crictl --socket SOCK --timeout S METHOD REQ` (kumo-crictl from kumo's own
 * directory, else PATH). req is borrowed. */
int cli_crictl_start(const char *sock, const char *method, json_t *req, int timeout_s,
		     struct cli_crictl_job *job, kumo_error_t *err);
/* Waits for it: 0 and *resp (a new reference, may be NULL) on success, else -1 with
 * kumod's message (KUMO_E_UNAVAILABLE when kumod is not there). */
int cli_crictl_finish(struct cli_crictl_job *job, json_t **resp, kumo_error_t *err);
/* Both in one. */
int cli_crictl_call(const char *sock, const char *method, json_t *req, int timeout_s,
		    json_t **resp, kumo_error_t *err);

#endif /* KUMO_CLI_CRICTL_H */
