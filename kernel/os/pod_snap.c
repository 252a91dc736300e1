/* kernel/os/pod_snap.c - the pod supervisor's snapshot commands (kernel/pod_abi.h "Snapshots"): QUIESCE lets go of every host share so QEMU can save the VM, RESUME takes them up again and sets the wall clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9fs.h"
#include "kernel/os/pod.h"

static void ack_error(const struct kumo_pod_msg *m, const char *msg)
{
	char e[400];
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq, "{\"ok\": false, \"error\": \"%s\"}",
		    pod_json_escape(e, sizeof(e), msg));
}

static uint64_t us_since(uint64_t t0)
{
	return clock_tsc_to_ns(rdtsc() - t0) / 1000;
}

static void quiesce(const struct kumo_pod_msg *m)
{
	uint64_t t0 = rdtsc();
	struct p9fs_snap_stats st;
	char err[200];
	if (p9fs_quiesce(&st, err, sizeof(err)) < 0) {
		ack_error(m, err);
		return;
	}
	uint64_t took = us_since(t0);
	klog("pod: quiesced for a snapshot: %u shares and %u open files let go (%u fids) in %llu us",
	     st.shares, st.files, st.fids, (unsigned long long)took);
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq,
		    "{\"ok\": true, \"shares\": %u, \"files\": %u, \"fids\": %u, \"quiesce_us\": %llu}",
		    st.shares, st.files, st.fids, (unsigned long long)took);
}

/* "realtime_ns" of a command's JSON: 1 and *ns, 0 when absent, -1 when not a number. */
static int realtime_of(const cJSON *root, uint64_t *ns)
{
	const cJSON *rt = root ? cJSON_GetObjectItemCaseSensitive(root, "realtime_ns") : NULL;
	if (!rt)
		return 0;
	if (!cJSON_IsNumber(rt) || rt->valuedouble < 0)
		return -1;
	*ns = (uint64_t)rt->valuedouble;
	return 1;
}

/* RESUME's "rename": [[FROM, TO], ...]: share paths starting with FROM (the directories
 * the host staged for a container of the saved pod) start with TO from now on, in the
 * open files and in every container's preopens (a restart opens them again). 0, or -1
 * with err when the list is malformed (nothing renamed then). */
static int rename_all(const cJSON *list, unsigned *nfiles, char *err, size_t errcap)
{
	const cJSON *e;
	*nfiles = 0;
	if (!list)
		return 0;
	if (!cJSON_IsArray(list)) {
		snprintf(err, errcap, "config: `rename` is not a list of [from, to] pairs");
		return -1;
	}
	cJSON_ArrayForEach(e, list) {
		const cJSON *f = cJSON_GetArrayItem(e, 0), *t = cJSON_GetArrayItem(e, 1);
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsString(f) ||
		    !cJSON_IsString(t) || !f->valuestring[0] || strchr(f->valuestring, '/') ||
		    strchr(t->valuestring, '/')) {
			snprintf(err, errcap, "config: `rename` is not a list of [from, to] pairs of "
				 "names");
			return -1;
		}
	}
	cJSON_ArrayForEach(e, list) {
		const char *from = cJSON_GetArrayItem(e, 0)->valuestring;
		const char *to = cJSON_GetArrayItem(e, 1)->valuestring;
		*nfiles += (unsigned)p9fs_rename_prefix(from, to);
		for (uint32_t cid = 1; cid <= KUMO_POD_MAX_CID; cid++) {
			struct container *c = pod_container(cid);
			for (int i = 0; c && i < c->npreopens; i++) {
				struct ct_preopen *p = &c->preopens[i];
				char *np = p->share ? p9fs_path_renamed(p->path, from, to) : NULL;
				if (np) {
					free(p->path);
					p->path = np;
				}
			}
		}
	}
	return 0;
}

static void resume(const struct kumo_pod_msg *m, const char *json)
{
	uint64_t t0 = rdtsc();
	cJSON *root = json && *json ? cJSON_Parse(json) : NULL;
	uint64_t now = 0;
	int has_rt = realtime_of(root, &now);
	if (has_rt < 0) {
		cJSON_Delete(root);
		ack_error(m, "config: `realtime_ns` is not a number of nanoseconds");
		return;
	}
	char err[200];
	unsigned renamed = 0;
	const cJSON *rn = root ? cJSON_GetObjectItemCaseSensitive(root, "rename") : NULL;
	if (rn && !p9fs_quiesced()) {
		cJSON_Delete(root);
		ack_error(m, "config: `rename` needs the shares quiesced");
		return;
	}
	int rrc = rename_all(rn, &renamed, err, sizeof(err));
	cJSON_Delete(root);
	if (rrc < 0) {
		ack_error(m, err);
		return;
	}
	if (has_rt)
		clock_set_realtime_ns(now);
	struct p9fs_snap_stats st;
	if (p9fs_resume(&st, err, sizeof(err)) < 0) {
		ack_error(m, err);
		return;
	}
	uint64_t took = us_since(t0);
	klog("pod: resumed after a snapshot: %u shares and %u open files taken up again (%u lost, "
	     "%u shares not attached, %u renamed) in %llu us", st.shares, st.files, st.lost,
	     st.dead_shares, renamed, (unsigned long long)took);
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq,
		    "{\"ok\": true, \"shares\": %u, \"files\": %u, \"lost\": %u, \"dead_shares\": %u, "
		    "\"renamed\": %u, \"resume_us\": %llu}", st.shares, st.files, st.lost,
		    st.dead_shares, renamed, (unsigned long long)took);
}

int pod_snap_refuses(const struct kumo_pod_msg *m)
{
	if (m->type != KUMO_POD_MSG_CREATE || !p9fs_quiesced())
		return 0;
	ack_error(m, "the pod is quiesced for a snapshot: CREATE waits for RESUME");
	return 1;
}

void pod_snap_command(const struct kumo_pod_msg *m, const char *json)
{
	switch (m->type) {
	case KUMO_POD_MSG_QUIESCE:
		quiesce(m);
		break;
	case KUMO_POD_MSG_RESUME:
		resume(m, json);
		break;
	default:
		ack_error(m, "not a snapshot command");
	}
}
