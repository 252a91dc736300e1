/* vmm/migration.c - QEMU's migration stream as both backends drive it over QMP (their
 * own socket, or libvirt's monitor passthrough): the bandwidth cap lifted, and the
 * status polled until the stream ends (vmm_backend.h "Migration over QMP"). */
#include <string.h>

#include <jansson.h>

#include "vmm_backend.h"

int vmm_migrate_unthrottle(const struct vmm_qmp *q, uint64_t max, kumo_error_t *err)
{
	const char *env = getenv("KUMO_VM_MIGRATE_MAX_BANDWIDTH");
	long long bw = max ? (long long)max : env && *env ? strtoll(env, NULL, 10) : 0;
	autofree char *args = xasprintf("{\"max-bandwidth\":%lld}",
					bw > 0 ? bw : 64LL * 1024 * 1024 * 1024);
	return q->call(q->ctx, "migrate-set-parameters", args, NULL, err);
}

/* The status of the migration from query-migrate: "completed", "failed", "active", ...
 * (malloc'd) and QEMU's error-desc; res (may be NULL) gets the figures. */
static int migrate_status(const struct vmm_qmp *q, char **status, char **desc,
			  struct vmm_migrate_result *res, kumo_error_t *err)
{
	autofree char *answer = NULL;
	if (q->call(q->ctx, "query-migrate", NULL, &answer, err) < 0)
		return -1;
	json_t *j = json_loads(answer, 0, NULL);
	json_t *r = json_object_get(j, "return");
	const char *st = json_string_value(json_object_get(r, "status"));
	const char *d = json_string_value(json_object_get(r, "error-desc"));
	*status = xstrdup(st ? st : "none");
	*desc = xstrdup(d ? d : "");
	if (res) {
		res->downtime_ms = (uint64_t)json_integer_value(json_object_get(r, "downtime"));
		res->total_ms = (uint64_t)json_integer_value(json_object_get(r, "total-time"));
		res->transferred = (uint64_t)json_integer_value(
			json_object_get(json_object_get(r, "ram"), "transferred"));
	}
	json_decref(j);
	return 0;
}

int vmm_migrate_wait(const struct vmm_qmp *q, const char *incoming_uri, int timeout_ms,
		     struct vmm_migrate_result *res, kumo_error_t *err)
{
	uint64_t t0 = kumo_now_ns();
	uint64_t deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
	for (unsigned spin = 0;; spin++) {
		autofree char *st = NULL, *desc = NULL;
		if (migrate_status(q, &st, &desc, res, err) < 0)
			return -1;
		/* A destination that nobody sends to gives up (its caller cleans up). */
		if (incoming_uri && (strcmp(st, "none") == 0 || strcmp(st, "setup") == 0) &&
		    kumo_now_ns() - t0 > VMM_INCOMING_IDLE_MS * 1000000ull)
			return kumo_error(err, KUMO_E_IO, "no migration arrived at `%s` within %d s",
					  incoming_uri, VMM_INCOMING_IDLE_MS / 1000);
		if (strcmp(st, "completed") == 0)
			return 0;
		if (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0)
			return kumo_error(err, KUMO_E_INTERNAL, "qemu's migration stream %s: %s", st,
					  *desc ? desc : "no reason given");
		if (kumo_now_ns() > deadline)
			return kumo_error(err, KUMO_E_IO,
					  "qemu's migration stream did not finish within %d ms "
					  "(status `%s`)", timeout_ms, st);
		/* Small VMs finish in a few ms: poll fast first, then back off. */
		usleep(spin < 50 ? 500 : 5000);
	}
}

int vmm_migrate_settle(const struct vmm_qmp *q, kumo_error_t *err)
{
	uint64_t deadline = kumo_now_ns() + 10000 * 1000000ull;
	for (;;) {
		autofree char *answer = NULL;
		if (q->call(q->ctx, "query-status", NULL, &answer, err) < 0)
			return -1;
		json_t *j = json_loads(answer, 0, NULL);
		const char *st =
			json_string_value(json_object_get(json_object_get(j, "return"), "status"));
		bool finishing = st && strcmp(st, "finish-migrate") == 0;
		json_decref(j);
		if (!finishing)
			return 0;
		if (kumo_now_ns() > deadline)
			return kumo_error(err, KUMO_E_IO, "qemu stayed in run state `finish-migrate` for "
					  "10 s after its migration stream completed");
		usleep(200);
	}
}

int vmm_migrate_cancel_wait(const struct vmm_qmp *q, char **status, kumo_error_t *err)
{
	*status = NULL;
	if (q->call(q->ctx, "migrate_cancel", NULL, NULL, err) < 0)
		return -1;
	/* Until it has let go (a 9p attach is refused while a migration runs). */
	for (int i = 0; i < 1000; i++) {
		autofree char *desc = NULL;
		free(*status);
		*status = NULL;
		if (migrate_status(q, status, &desc, NULL, err) < 0)
			return -1;
		if (strcmp(*status, "none") == 0 || strcmp(*status, "cancelled") == 0 ||
		    strcmp(*status, "completed") == 0 || strcmp(*status, "failed") == 0)
			return 0;
		usleep(5000);
	}
	return kumo_error(err, KUMO_E_IO, "qemu's migration is still `%s` 5 s after migrate_cancel",
			  *status);
}
