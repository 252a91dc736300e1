/* tests/fuzz/fuzz_cri.c - fuzz target for kumod's CRI front door: protobuf decode and
 * dispatch of every method (cri_dispatch) against the test backend, a sequence of calls
 * per input on a fresh state directory, then a restart (the records those calls left are
 * loaded again). No crash, no leak, every refusal carries a message.
 *
 * Input: records of [method u8][length u16 le][request bytes]. The method byte indexes
 * the methods of the CRI services (runtime.v1.RuntimeService then ImageService, from the
 * generated service descriptors, so every method the schema has is reachable, streaming
 * ones included). Two rewrites keep the run useful and harmless, applied to the decoded
 * request (which is then re-encoded; an untouched request goes in as its raw bytes):
 *   - a string field named *_id whose value is "@N" becomes the Nth id (64 hex) an
 *     earlier response of this input carried, so calls can reach pods and containers;
 *   - log_directory and log_path are confined to the scratch directory: the test backend
 *     appends log lines where kubelet says, and a fuzzer must not write across the host.
 * The harness touches only cri/cri.h, the test backend (tests/support/fake_backend.h)
 * and the generated schema. */
#include <stdint.h>
#include <string.h>

#include "cri/api.pb-c.h"
#include "cri/backend.h"
#include "cri/cri.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/support/fake_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IDS 16
#define MAX_CALLS 64

struct run {
	char *root;              /* scratch state directory */
	char *logdir;            /* <root>/logs */
	char ids[MAX_IDS][65];   /* ids seen in responses */
	int nids;
	bool changed;            /* the request was rewritten */
};

static const ProtobufCMethodDescriptor *method_at(unsigned i, const char **service)
{
	const ProtobufCServiceDescriptor *svcs[] = {&runtime__v1__runtime_service__descriptor,
						    &runtime__v1__image_service__descriptor};
	unsigned total = svcs[0]->n_methods + svcs[1]->n_methods;
	i %= total;
	int s = i < svcs[0]->n_methods ? 0 : 1;
	if (s)
		i -= svcs[0]->n_methods;
	*service = svcs[s]->name;
	return &svcs[s]->methods[i];
}

static bool is_hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Rewrites or collects string fields of m and of every message inside it. collect:
 * remember ids from a response; else rewrite a request. */
static void walk(struct run *r, ProtobufCMessage *m, bool collect, int depth)
{
	if (!m || depth > 16)
		return;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *base = (char *)m;
		size_t n = 1;
		void *slot = base + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(size_t *)(base + f->quantifier_offset);
			slot = *(void **)slot;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			   f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) {
			continue;
		}
		for (size_t k = 0; k < n && slot; k++) {
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				ProtobufCMessage **sub = (ProtobufCMessage **)slot + k;
				walk(r, *sub, collect, depth + 1);
				continue;
			}
			if (f->type != PROTOBUF_C_TYPE_STRING)
				continue;
			char **s = (char **)slot + k;
			if (!*s)
				continue;
			if (collect) {
				if (ends_with(f->name, "id") && is_hex64(*s) && r->nids < MAX_IDS)
					memcpy(r->ids[r->nids++], *s, 65);
				continue;
			}
			char *rep = NULL;
			if (ends_with(f->name, "_id") && (*s)[0] == '@' && r->nids > 0)
				rep = xstrdup(r->ids[(unsigned)atoi(*s + 1) % (unsigned)r->nids]);
			else if (strcmp(f->name, "log_directory") == 0 && (*s)[0])
				rep = xstrdup(r->logdir);
			else if (strcmp(f->name, "log_path") == 0 && (*s)[0]) {
				rep = xstrdup(*s);
				for (char *p = rep; *p; p++)
					if (*p == '/')
						*p = '_';
				if (strcmp(rep, ".") == 0 || strcmp(rep, "..") == 0)
					rep[0] = '_';
				/* An empty log_directory would make it relative to the cwd. */
				char *abs = xasprintf("%s/%s", r->logdir, rep);
				free(rep);
				rep = abs;
			}
			if (rep) {
				free(*s);
				*s = rep;
				r->changed = true;
			}
		}
	}
}

static void one_call(struct cri_runtime *rt, struct run *r, unsigned idx, const uint8_t *req,
		     size_t len)
{
	const char *svc;
	const ProtobufCMethodDescriptor *md = method_at(idx, &svc);
	char path[160];
	snprintf(path, sizeof(path), "/%s/%s", svc, md->name);
	/* The rewrite happens on a decoded copy; cri_dispatch decodes again itself. */
	uint8_t *packed = NULL;
	ProtobufCMessage *in = protobuf_c_message_unpack(md->input, NULL, len, req);
	r->changed = false;
	if (in) {
		walk(r, in, false, 0);
		if (r->changed) {
			len = protobuf_c_message_get_packed_size(in);
			packed = xmalloc(len ? len : 1);
			protobuf_c_message_pack(in, packed);
			req = packed;
		}
		protobuf_c_message_free_unpacked(in, NULL);
	}
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	kumo_error_t err = NULL;
	if (cri_dispatch(rt, path, req, len, &resp, &resp_len, &err) == 0) {
		ProtobufCMessage *out = protobuf_c_message_unpack(md->output, NULL, resp_len, resp);
		if (!out) {
			fprintf(stderr, "fuzz_cri: %s answered bytes that do not decode\n", path);
			abort();
		}
		walk(r, out, true, 0);
		protobuf_c_message_free_unpacked(out, NULL);
	} else if (!err || !kumo_error_msg(err)[0]) {
		fprintf(stderr, "fuzz_cri: %s failed without a message\n", path);
		abort();
	}
	kumo_error_free(&err);
	free(resp);
	free(packed);
}

static struct cri_runtime *start(const char *root)
{
	struct cri_backend *b = NULL;
	struct cri_runtime *rt = NULL;
	kumo_error_t err = NULL;
	if (cri_backend_fake_new(root, &b, &err) < 0 || cri_runtime_new(root, b, &rt, &err) < 0) {
		fprintf(stderr, "fuzz_cri: start: %s\n", kumo_error_msg(err));
		abort();
	}
	return rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		kumo_log_set_level(KUMO_LOG_ERROR + 1); /* the test backend warns on every start */
		quiet = true;
	}
	struct run r = {0};
	r.root = fz_mkdtemp("cri");
	r.logdir = xasprintf("%s/logs", r.root);
	mkdir(r.logdir, 0700);
	struct cri_runtime *rt = start(r.root);
	size_t pos = 0;
	for (int calls = 0; calls < MAX_CALLS && pos + 3 <= size; calls++) {
		unsigned idx = data[pos];
		size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		one_call(rt, &r, idx, data + pos, len);
		pos += len;
	}
	cri_runtime_free(rt);
	/* A restart reads back every record the calls left. */
	rt = start(r.root);
	cri_runtime_free(rt);
	fz_rm_rf(r.root);
	free(r.logdir);
	free(r.root);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
