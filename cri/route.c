/* cri/route.c - the mixed node: every CRI call goes to kumo (its pods run as VMs) or to
 * the downstream runtime (containerd: every other pod), or to both and the answers are
 * merged (see the contract in cri/runtime.h, "routing"). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/status.h>

#include "cri/downstream.h"
#include "cri/runtime.h"

#define RS "/runtime.v1.RuntimeService/"
#define IS "/runtime.v1.ImageService/"

/* Deadlines of calls that come without one: kubelet's runtime-request-timeout, and an
 * hour for a pull (kubelet sets none on PullImage). */
#define FORWARD_DEFAULT_MS CRI_DOWNSTREAM_DEFAULT_TIMEOUT_MS
#define PULL_DEFAULT_MS (3600 * 1000)
/* Start-up: how long the adoption of the downstream's pods and the first answer of its
 * event stream are waited for. */
#define STARTUP_LIST_MS 5000
#define STARTUP_EVENTS_MS 500

/* A pod or container of the downstream runtime that kumod knows of. */
struct route_entry {
	char *id;
	char *pod_id;          /* containers: their pod */
	char *handler;         /* pods: their runtime handler as RunPodSandbox named it */
	struct route_entry *next;
};

enum events_state {
	EVENTS_UNKNOWN,     /* no answer from the downstream's stream yet */
	EVENTS_STREAMING,   /* it delivered an event or stayed open */
	EVENTS_UNSUPPORTED, /* it answered Unimplemented (containerd 1.6) */
};

struct cri_router {
	struct cri_downstream *ds;
	char *endpoint;            /* as configured, for messages */
	char *sock;                /* its unix socket path, NULL for other targets */
	char *dir;                 /* <root>/routes */
	bool default_kumo;         /* unnamed pods run as kumo VMs */
	pthread_mutex_t lock;      /* guards everything below */
	pthread_cond_t cond;       /* events_state changed */
	bool present;              /* the downstream exists (sticky, see rt_router_present) */
	struct route_entry *pods;  /* the downstream's pods */
	struct route_entry *ctrs;  /* the downstream's containers */
	enum events_state events;
	char *events_msg;          /* the downstream's answer when UNSUPPORTED */
	int events_code;
	struct cri_downstream_stream *stream; /* its GetContainerEvents, republished */
};

/* ---- the table of the downstream's ids, one file per entry --------------------------- */

static void entry_free(struct route_entry *e)
{
	if (!e)
		return;
	free(e->id);
	free(e->pod_id);
	free(e->handler);
	free(e);
}

static char *entry_path(struct cri_router *ro, bool ctr, const char *id)
{
	return xasprintf("%s/%s/%s.json", ro->dir, ctr ? "containers" : "pods", id);
}

/* A 64-hex id, as both kumo and containerd make them (also keeps paths safe). */
static bool id_ok(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == CRI_ID_LEN;
}

/* Adds (and persists) an entry unless the id is there already (lock held). */
static int table_add(struct cri_router *ro, bool ctr, const char *id, const char *pod_id,
		     const char *handler, kumo_error_t *err)
{
	struct route_entry **list = ctr ? &ro->ctrs : &ro->pods;
	for (struct route_entry *e = *list; e; e = e->next)
		if (strcmp(e->id, id) == 0)
			return 0;
	if (!id_ok(id))
		return kumo_error(err, KUMO_E_INVALID,
				  "downstream runtime `%s` answered with id `%.80s`, not 64 hex digits",
				  ro->endpoint, id);
	json_t *j = ctr ? json_pack("{s:s, s:s, s:s}", "id", id, "pod_sandbox_id", pod_id ? pod_id : "",
				   "runtime", "downstream")
			: json_pack("{s:s, s:s, s:s}", "id", id, "runtime_handler", handler ? handler : "",
				   "runtime", "downstream");
	autofree char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	autofree char *path = entry_path(ro, ctr, id);
	/* Survives a kill -9 of kumod (not a crash of the host: the table is rebuilt from the
	 * downstream's lists at start-up, so it needs no fsync). */
	if (kumo_write_file_replace(path, text, strlen(text), 0600, err) < 0)
		return kumo_error_wrap(err, "record the downstream's %s `%.12s`",
				       ctr ? "container" : "pod", id);
	struct route_entry *e = xzalloc(sizeof(*e));
	e->id = xstrdup(id);
	e->pod_id = pod_id ? xstrdup(pod_id) : NULL;
	e->handler = handler ? xstrdup(handler) : NULL;
	e->next = *list;
	*list = e;
	return 0;
}

/* Forgets an entry (lock held); a missing one is fine. */
static void table_del(struct cri_router *ro, bool ctr, const char *id)
{
	for (struct route_entry **pp = ctr ? &ro->ctrs : &ro->pods; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0) {
			struct route_entry *e = *pp;
			*pp = e->next;
			autofree char *path = entry_path(ro, ctr, id);
			if (unlink(path) < 0 && errno != ENOENT)
				log_warn("routes: remove `%s`: %s", path, strerror(errno));
			entry_free(e);
			return;
		}
}

static struct route_entry *table_get(struct route_entry *list, const char *id)
{
	for (struct route_entry *e = list; e; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static void table_load(struct cri_router *ro, bool ctr)
{
	autofree char *dir = xasprintf("%s/%s", ro->dir, ctr ? "containers" : "pods");
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l != CRI_ID_LEN + 5 || strcmp(de->d_name + CRI_ID_LEN, ".json") != 0)
			continue;
		autofree char *path = xasprintf("%s/%s", dir, de->d_name);
		json_t *j = json_load_file(path, 0, NULL);
		const char *id = json_string_value(json_object_get(j, "id"));
		if (!id || !id_ok(id) || strncmp(id, de->d_name, CRI_ID_LEN) != 0) {
			log_warn("routes: `%s` is not a route record; ignoring it", path);
			json_decref(j);
			continue;
		}
		struct route_entry *e = xzalloc(sizeof(*e));
		e->id = xstrdup(id);
		const char *s = json_string_value(json_object_get(j, ctr ? "pod_sandbox_id" : "runtime_handler"));
		if (ctr)
			e->pod_id = xstrdup(s ? s : "");
		else
			e->handler = xstrdup(s ? s : "");
		struct route_entry **list = ctr ? &ro->ctrs : &ro->pods;
		e->next = *list;
		*list = e;
		json_decref(j);
	}
	closedir(d);
}

/* ---- where a call goes ----------------------------------------------------------------- */

bool rt_router_present(struct cri_runtime *rt)
{
	struct cri_router *ro = rt->router;
	if (!ro)
		return false;
	pthread_mutex_lock(&ro->lock);
	/* Sticky: once the downstream was seen (or kumod knows pods of it), it stays a mixed
	 * node, so a containerd restart never turns pods into kumo's or hides its pods. */
	if (!ro->present) {
		struct stat st;
		ro->present = !ro->sock || ro->pods || ro->ctrs ||
			      (stat(ro->sock, &st) == 0 && S_ISSOCK(st.st_mode));
		if (ro->present)
			log_info("downstream runtime `%s` is there: pods not kumo's go to it",
				 ro->endpoint);
	}
	bool p = ro->present;
	pthread_mutex_unlock(&ro->lock);
	return p;
}

bool rt_router_knows(struct cri_runtime *rt, const char *id12)
{
	struct cri_router *ro = rt->router;
	if (!ro)
		return false;
	bool found = false;
	pthread_mutex_lock(&ro->lock);
	for (struct route_entry *e = ro->pods; e && !found; e = e->next)
		found = strncmp(e->id, id12, 12) == 0;
	for (struct route_entry *e = ro->ctrs; e && !found; e = e->next)
		found = strncmp(e->id, id12, 12) == 0;
	pthread_mutex_unlock(&ro->lock);
	return found;
}

enum owner { KUMO, DOWN };

/* Who holds the pod (ctr false) or container `id` (a full id or a unique prefix): kumo
 * when its state has it, the downstream when the table has it; an id neither knows is
 * the downstream's to answer (it may be a pod it ran before kumod took over). */
static int owner_of(struct cri_runtime *rt, bool ctr, const char *id, enum owner *o,
		    kumo_error_t *err)
{
	struct cri_router *ro = rt->router;
	*o = KUMO;
	if (!id || !*id || !rt_router_present(rt))
		return 0;
	size_t len = strlen(id), kn = 0, dn = 0;
	bool exact = false;
	pthread_mutex_lock(&rt->lock);
	if (ctr) {
		for (struct cri_ctr *c = rt->ctrs; c && !exact; c = c->next) {
			exact = strcmp(c->id, id) == 0;
			kn += strncmp(c->id, id, len) == 0;
		}
	} else {
		for (struct cri_pod *p = rt->pods; p && !exact; p = p->next) {
			exact = strcmp(p->id, id) == 0;
			kn += strncmp(p->id, id, len) == 0;
		}
	}
	pthread_mutex_unlock(&rt->lock);
	if (exact)
		return 0;
	pthread_mutex_lock(&ro->lock);
	for (struct route_entry *e = ctr ? ro->ctrs : ro->pods; e && !exact; e = e->next) {
		exact = strcmp(e->id, id) == 0;
		dn += strncmp(e->id, id, len) == 0;
	}
	pthread_mutex_unlock(&ro->lock);
	if (exact) {
		*o = DOWN;
		return 0;
	}
	if (kn && dn)
		return kumo_error(err, KUMO_E_INVALID,
				  "%s id prefix `%s` is ambiguous: it names %s of kumo's and of the "
				  "downstream runtime `%s`", ctr ? "container" : "pod sandbox", id,
				  ctr ? "containers" : "pods", ro->endpoint);
	*o = kn ? KUMO : DOWN;
	return 0;
}

static int timeout_of(const struct cri_call *c, int dflt_ms)
{
	if (!c->deadline_ns)
		return dflt_ms;
	uint64_t now = kumo_now_ns();
	if (c->deadline_ns <= now)
		return 1;
	uint64_t ms = (c->deadline_ns - now) / 1000000;
	return ms < 1 ? 1 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Forwards the call's bytes as they came; the downstream's answer (or exact error) is
 * the call's. */
static int forward(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp,
		   size_t *len, kumo_error_t *err)
{
	int ms = timeout_of(c, strcmp(c->method, IS "PullImage") == 0 ? PULL_DEFAULT_MS
								       : FORWARD_DEFAULT_MS);
	return cri_downstream_call(rt->router->ds, c->method, c->raw, c->len, ms, resp, len, err);
}

/* A typed call to the downstream within the call's deadline. */
static int ask(struct cri_runtime *rt, const struct cri_call *c, const char *method,
	       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *type,
	       ProtobufCMessage **out, kumo_error_t *err)
{
	return cri_downstream_call_msg(rt->router->ds, method, req, type,
				       timeout_of(c, FORWARD_DEFAULT_MS), out, err);
}

/* The string field `name` of a decoded request ("" when it has none). */
static const char *str_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return "";
	const char *s = *(char *const *)((const char *)m + f->offset);
	return s ? s : "";
}

/* kumo's answer followed by the downstream's: every list response has only repeated
 * fields, and protobuf appends repeated fields of concatenated messages, so the bytes
 * are the merged list (with any field kumo's schema lacks kept). The same request goes
 * to both, so both apply its filter. */
static int merge_lists(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp,
		       size_t *len, kumo_error_t *err)
{
	autofree uint8_t *mine = NULL, *theirs = NULL;
	size_t ml = 0, tl = 0;
	if (rt_call_local(rt, c, &mine, &ml, err) < 0)
		return -1;
	if (forward(rt, c, &theirs, &tl, err) < 0)
		/* Never kumo's half alone: kubelet would take the downstream's pods for gone. */
		return kumo_error_wrap(err, "downstream runtime `%s`", rt->router->endpoint);
	/* kubelet reads the first image file system of ImageFsInfo only (its image GC and
	 * eviction): the downstream's, the node's runtime before kumo came. */
	bool theirs_first = strcmp(c->method, IS "ImageFsInfo") == 0;
	*resp = xmalloc(ml + tl + 1);
	memcpy(*resp, theirs_first ? theirs : mine, theirs_first ? tl : ml);
	memcpy(*resp + (theirs_first ? tl : ml), theirs_first ? mine : theirs, theirs_first ? ml : tl);
	*len = ml + tl;
	return 0;
}

/* The first of kumo's handler names, for messages. */
static const char *kumo_handler(struct cri_runtime *rt)
{
	return rt->kumo_handlers[0];
}

bool rt_is_kumo_handler(struct cri_runtime *rt, const char *h)
{
	for (size_t i = 0; rt->kumo_handlers[i]; i++)
		if (strcmp(rt->kumo_handlers[i], h) == 0)
			return true;
	return false;
}

/* ---- pods --------------------------------------------------------------------------- */

static const char *annotation(const Runtime__V1__PodSandboxConfig *cfg, const char *key)
{
	for (size_t i = 0; cfg && i < cfg->n_annotations; i++)
		if (cfg->annotations[i]->key && strcmp(cfg->annotations[i]->key, key) == 0)
			return cfg->annotations[i]->value ? cfg->annotations[i]->value : "";
	return NULL;
}

/* RunPodSandbox (and RestorePod): kumo's handler names run as VMs, every other handler
 * goes to the downstream; the empty handler follows the annotation, then the default. */
static int route_new_pod(struct cri_runtime *rt, const struct cri_call *c, const char *handler,
			 const Runtime__V1__PodSandboxConfig *cfg, uint8_t **resp, size_t *len,
			 kumo_error_t *err)
{
	struct cri_router *ro = rt->router;
	enum owner o;
	const char *why;
	const char *a = annotation(cfg, CRI_RUNTIME_ANNOTATION);
	if (*handler) {
		o = rt_is_kumo_handler(rt, handler) ? KUMO : DOWN;
		why = "its runtime handler";
	} else if (a && *a) {
		o = rt_is_kumo_handler(rt, a) ? KUMO : DOWN;
		why = "its annotation " CRI_RUNTIME_ANNOTATION;
	} else {
		o = ro->default_kumo ? KUMO : DOWN;
		why = "the default runtime";
	}
	if (o == DOWN && !rt_router_present(rt)) {
		/* No downstream: as on a kumo-only node, the default handler is kumo's. */
		if (*handler)
			return kumo_error(err, KUMO_E_INVALID,
					  "no runtime handler `%s`: kumod runs its own (`%s`) and hands "
					  "every other one to the downstream runtime `%s`, which is not "
					  "there (no socket `%s`)", handler, kumo_handler(rt),
					  ro->endpoint, ro->sock);
		o = KUMO;
	}
	const char *name = cfg && cfg->metadata ? cfg->metadata->name : "";
	const char *ns = cfg && cfg->metadata ? cfg->metadata->namespace_ : "";
	if (o == KUMO) {
		log_debug("pod %s/%s runs as a kumo VM (%s)", ns, name, why);
		return rt_call_local(rt, c, resp, len, err);
	}
	log_debug("pod %s/%s goes to the downstream runtime (%s)", ns, name, why);
	if (forward(rt, c, resp, len, err) < 0)
		return -1;
	if (strcmp(c->method, RS "RunPodSandbox") != 0)
		return 0;
	Runtime__V1__RunPodSandboxResponse *r =
		runtime__v1__run_pod_sandbox_response__unpack(NULL, *len, *resp);
	int ret = 0;
	if (!r) {
		ret = kumo_error(err, CRI_E_DOWNSTREAM(GRPC_STATUS_INTERNAL),
				 "downstream runtime `%s` answered RunPodSandbox with a malformed message",
				 ro->endpoint);
	} else {
		pthread_mutex_lock(&rt->lock);
		bool clash = rt_pod_by_id(rt, r->pod_sandbox_id) || rt_ctr_by_id(rt, r->pod_sandbox_id);
		pthread_mutex_unlock(&rt->lock);
		if (clash) {
			ret = kumo_error(err, KUMO_E_INTERNAL,
					 "downstream runtime `%s` made pod `%s`, an id kumo already uses",
					 ro->endpoint, r->pod_sandbox_id);
		} else {
			pthread_mutex_lock(&ro->lock);
			ret = table_add(ro, false, r->pod_sandbox_id, NULL, handler, err);
			pthread_mutex_unlock(&ro->lock);
		}
		if (ret == 0)
			log_info("pod %.12s (%s/%s) runs on the downstream runtime", r->pod_sandbox_id,
				 ns, name);
		runtime__v1__run_pod_sandbox_response__free_unpacked(r, NULL);
	}
	if (ret < 0) {
		free(*resp);
		*resp = NULL;
	}
	return ret;
}

/* A call about one pod (`pod_sandbox_id`) or container (`container_id`). */
static int route_by_id(struct cri_runtime *rt, const struct cri_call *c, bool ctr,
		       uint8_t **resp, size_t *len, kumo_error_t *err)
{
	const char *id = str_field(c->in, ctr ? "container_id" : "pod_sandbox_id");
	enum owner o;
	if (owner_of(rt, ctr, id, &o, err) < 0)
		return -1;
	if (o == KUMO)
		return rt_call_local(rt, c, resp, len, err);
	if (forward(rt, c, resp, len, err) < 0)
		return -1;
	struct cri_router *ro = rt->router;
	bool rmp = strcmp(c->method, RS "RemovePodSandbox") == 0;
	bool rmc = strcmp(c->method, RS "RemoveContainer") == 0;
	if (rmp || rmc) {
		pthread_mutex_lock(&ro->lock);
		/* The entries of the full id the prefix named (the downstream removed it). */
		size_t n = strlen(id);
		for (struct route_entry *e = rmp ? ro->pods : ro->ctrs, *next; e; e = next) {
			next = e->next;
			if (strncmp(e->id, id, n) != 0)
				continue;
			if (rmp)
				for (struct route_entry *k = ro->ctrs, *kn; k; k = kn) {
					kn = k->next;
					if (strcmp(k->pod_id, e->id) == 0)
						table_del(ro, true, k->id);
				}
			table_del(ro, rmc, e->id);
			break;
		}
		pthread_mutex_unlock(&ro->lock);
	}
	return 0;
}

/* ---- containers ---------------------------------------------------------------------- */

/* Whether the downstream holds image `ref` (asked within the call's deadline). */
static bool downstream_has_image(struct cri_runtime *rt, const struct cri_call *c,
				 const char *ref)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)ref;
	Runtime__V1__ImageStatusRequest q = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	q.image = &spec;
	Runtime__V1__ImageStatusResponse *r = NULL;
	autoerror kumo_error_t e = NULL;
	if (ask(rt, c, IS "ImageStatus", &q.base, &runtime__v1__image_status_response__descriptor,
		(ProtobufCMessage **)&r, &e) < 0)
		return false;
	bool has = r->image != NULL;
	runtime__v1__image_status_response__free_unpacked(r, NULL);
	return has;
}

static bool kumo_has_image(struct cri_runtime *rt, const char *ref)
{
	struct cri_images *im = rt->backend->images;
	struct cri_image_info info = {0};
	autoerror kumo_error_t e = NULL;
	if (im->ops->status(im, ref, &info, &e) < 0)
		return false;
	cri_image_info_clear(&info);
	return true;
}

/* CreateContainer: where its pod is, after the image's kind is checked against it. */
static int route_create(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp,
			size_t *len, kumo_error_t *err)
{
	const Runtime__V1__CreateContainerRequest *r = (const void *)c->in;
	struct cri_router *ro = rt->router;
	enum owner o;
	if (owner_of(rt, false, r->pod_sandbox_id, &o, err) < 0)
		return -1;
	const char *ref = r->config && r->config->image ? r->config->image->image : "";
	const char *name = r->config && r->config->metadata ? r->config->metadata->name : "";
	if (o == KUMO) {
		char handler[128] = "";
		pthread_mutex_lock(&rt->lock);
		struct cri_pod *p = NULL;
		kumo_error_t ferr = NULL;
		if (rt_find_pod(rt, r->pod_sandbox_id, &p, &ferr) == 0)
			snprintf(handler, sizeof(handler), "%s", p->runtime_handler);
		kumo_error_free(&ferr);
		pthread_mutex_unlock(&rt->lock);
		if (*ref && rt_router_present(rt) && !kumo_has_image(rt, ref) &&
		    downstream_has_image(rt, c, ref))
			return kumo_error(err, KUMO_E_INVALID,
					  "create container `%s`: image `%s` is not a WebAssembly image "
					  "(the downstream runtime `%s` holds it), and pod `%.12s` runs as "
					  "a kumo VM (runtime handler `%s`), which runs only WebAssembly "
					  "images: run the pod without runtime class `%s` and without the "
					  "annotation `" CRI_RUNTIME_ANNOTATION ": %s`, so that the "
					  "downstream runtime runs it", name, ref, ro->endpoint,
					  r->pod_sandbox_id, handler, kumo_handler(rt), kumo_handler(rt));
		return rt_call_local(rt, c, resp, len, err);
	}
	if (*ref && kumo_has_image(rt, ref)) {
		pthread_mutex_lock(&ro->lock);
		struct route_entry *e = table_get(ro->pods, r->pod_sandbox_id);
		autofree char *handler = xstrdup(e && e->handler ? e->handler : "");
		pthread_mutex_unlock(&ro->lock);
		return kumo_error(err, KUMO_E_INVALID,
				  "create container `%s`: image `%s` is a WebAssembly image, which "
				  "runs only as a kumo VM, and pod `%.12s` runs on the downstream "
				  "runtime `%s` (runtime handler `%s`): give the pod runtime class "
				  "`%s` (runtimeClassName of a RuntimeClass with handler `%s`) or the "
				  "annotation `" CRI_RUNTIME_ANNOTATION ": %s`", name, ref,
				  r->pod_sandbox_id, ro->endpoint, handler, kumo_handler(rt),
				  kumo_handler(rt), kumo_handler(rt));
	}
	if (forward(rt, c, resp, len, err) < 0)
		return -1;
	Runtime__V1__CreateContainerResponse *cr =
		runtime__v1__create_container_response__unpack(NULL, *len, *resp);
	int ret = 0;
	if (!cr) {
		ret = kumo_error(err, CRI_E_DOWNSTREAM(GRPC_STATUS_INTERNAL),
				 "downstream runtime `%s` answered CreateContainer with a malformed "
				 "message", ro->endpoint);
	} else {
		pthread_mutex_lock(&rt->lock);
		bool clash = rt_pod_by_id(rt, cr->container_id) || rt_ctr_by_id(rt, cr->container_id);
		pthread_mutex_unlock(&rt->lock);
		if (clash) {
			ret = kumo_error(err, KUMO_E_INTERNAL,
					 "downstream runtime `%s` made container `%s`, an id kumo already "
					 "uses", ro->endpoint, cr->container_id);
		} else {
			/* The pod's full id: the request may have named a prefix. */
			pthread_mutex_lock(&ro->lock);
			const char *pod = r->pod_sandbox_id;
			size_t n = strlen(pod);
			for (struct route_entry *e = ro->pods; e; e = e->next)
				if (strncmp(e->id, pod, n) == 0)
					pod = e->id;
			ret = table_add(ro, true, cr->container_id, pod, NULL, err);
			pthread_mutex_unlock(&ro->lock);
		}
		runtime__v1__create_container_response__free_unpacked(cr, NULL);
	}
	if (ret < 0) {
		free(*resp);
		*resp = NULL;
	}
	return ret;
}

/* ---- images --------------------------------------------------------------------------- */

static int route_image(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp,
		       size_t *len, kumo_error_t *err)
{
	const Runtime__V1__ImageSpec *spec;
	if (strcmp(c->method, IS "PullImage") == 0)
		spec = ((const Runtime__V1__PullImageRequest *)c->in)->image;
	else if (strcmp(c->method, IS "ImageStatus") == 0)
		spec = ((const Runtime__V1__ImageStatusRequest *)c->in)->image;
	else
		spec = ((const Runtime__V1__RemoveImageRequest *)c->in)->image;
	const char *ref = spec && spec->image ? spec->image : "";
	if (!*ref || !rt_router_present(rt) || kumo_has_image(rt, ref))
		return rt_call_local(rt, c, resp, len, err);
	if (strcmp(c->method, IS "PullImage") != 0)
		return forward(rt, c, resp, len, err);
	/* A pull goes by what the image is: kumo pulls WebAssembly images. A registry kumo
	 * cannot ask (unreachable, reached through the downstream's mirrors, its own
	 * credentials) is the downstream's to pull from. */
	const Runtime__V1__PullImageRequest *r = (const void *)c->in;
	struct cri_auth auth = rt_auth_of(r->auth);
	struct cri_images *im = rt->backend->images;
	bool wasm = false;
	autofree char *what = NULL;
	autoerror kumo_error_t perr = NULL;
	if (im->ops->probe && im->ops->probe(im, ref, r->auth ? &auth : NULL, &wasm, &what, &perr) < 0) {
		log_info("pull `%s`: kumo cannot tell what it is (%s): the downstream runtime pulls it",
			 ref, kumo_error_msg(perr));
		return forward(rt, c, resp, len, err);
	}
	log_info("pull `%s` (%s): %s", ref, what ? what : "?",
		 wasm ? "a WebAssembly image, kumo's" : "the downstream runtime's");
	return wasm ? rt_call_local(rt, c, resp, len, err) : forward(rt, c, resp, len, err);
}

/* ---- the node ------------------------------------------------------------------------ */

static Runtime__V1__RuntimeCondition *find_cond(Runtime__V1__RuntimeStatus *st, const char *type)
{
	for (size_t i = 0; st && i < st->n_conditions; i++)
		if (strcmp(st->conditions[i]->type, type) == 0)
			return st->conditions[i];
	return NULL;
}

/* Status: ready when both are; a condition that is false names the runtime. */
static int route_status(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp,
			size_t *len, kumo_error_t *err)
{
	struct cri_router *ro = rt->router;
	const Runtime__V1__StatusRequest *q = (const void *)c->in;
	Runtime__V1__StatusResponse *m = NULL;
	if (rt_call_local_msg(rt, c, (ProtobufCMessage **)&m, err) < 0)
		return -1;
	bool present = rt_router_present(rt);
	Runtime__V1__StatusResponse *d = NULL;
	Runtime__V1__VersionResponse *v = NULL;
	autoerror kumo_error_t derr = NULL;
	if (present) {
		Runtime__V1__StatusRequest dq = RUNTIME__V1__STATUS_REQUEST__INIT;
		dq.verbose = false;
		Runtime__V1__VersionRequest vq = RUNTIME__V1__VERSION_REQUEST__INIT;
		vq.version = (char *)"0.1.0";
		if (ask(rt, c, RS "Status", &dq.base, &runtime__v1__status_response__descriptor,
			(ProtobufCMessage **)&d, &derr) == 0 && q->verbose)
			ask(rt, c, RS "Version", &vq.base, &runtime__v1__version_response__descriptor,
			    (ProtobufCMessage **)&v, &derr);
	}
	Runtime__V1__RuntimeStatus *st = m->status;
	static const char *const types[] = {"RuntimeReady", "NetworkReady"};
	for (size_t i = 0; present && i < 2; i++) {
		Runtime__V1__RuntimeCondition *mine = find_cond(st, types[i]);
		if (!mine || !mine->status)
			continue; /* kumo's own reason stands */
		Runtime__V1__RuntimeCondition *theirs = d ? find_cond(d->status, types[i]) : NULL;
		if (d && (!theirs || theirs->status))
			continue;
		mine->status = false;
		free(mine->reason);
		free(mine->message);
		if (!d) {
			mine->reason = xstrdup("DownstreamRuntimeUnavailable");
			mine->message = xasprintf("downstream runtime `%s`: %s", ro->endpoint,
						  kumo_error_msg(derr));
		} else {
			mine->reason = xstrdup(*theirs->reason ? theirs->reason : "DownstreamNotReady");
			mine->message = xasprintf("downstream runtime `%s` is not %s: %s", ro->endpoint,
						  i == 0 ? "ready" : "network-ready", theirs->message);
		}
	}
	/* The downstream's handlers are offered as well (a handler is kumo's when named so). */
	for (size_t i = 0; d && i < d->n_runtime_handlers; i++) {
		bool dup = false;
		for (size_t k = 0; k < m->n_runtime_handlers && !dup; k++)
			dup = strcmp(m->runtime_handlers[k]->name, d->runtime_handlers[i]->name) == 0;
		if (dup)
			continue;
		m->runtime_handlers = xrealloc(m->runtime_handlers,
					       sizeof(*m->runtime_handlers) * (m->n_runtime_handlers + 1));
		m->runtime_handlers[m->n_runtime_handlers++] =
			(Runtime__V1__RuntimeHandler *)pb_dup(&d->runtime_handlers[i]->base);
	}
	if (q->verbose) {
		/* kumo's info gains a "downstream" object: where, whether there, its version. */
		json_t *info = NULL;
		for (size_t i = 0; i < m->n_info; i++)
			if (strcmp(m->info[i]->key, "info") == 0)
				info = json_loads(m->info[i]->value, 0, NULL);
		if (!info)
			info = json_object();
		json_t *ds = json_pack("{s:s, s:s}", "endpoint", ro->endpoint, "default_runtime",
				       ro->default_kumo ? "kumo" : "downstream");
		json_t *hs = json_array();
		for (size_t i = 0; rt->kumo_handlers[i]; i++)
			json_array_append_new(hs, json_string(rt->kumo_handlers[i]));
		json_object_set_new(ds, "kumo_handlers", hs);
		json_object_set_new(ds, "annotation", json_string(CRI_RUNTIME_ANNOTATION));
		if (!present) {
			autofree char *s = xasprintf("absent (no socket `%s`): every pod runs as a kumo VM",
						     ro->sock);
			json_object_set_new(ds, "state", json_string(s));
		} else if (!d) {
			json_object_set_new(ds, "state", json_string(kumo_error_msg(derr)));
		} else {
			json_object_set_new(ds, "state", json_string("present"));
		}
		if (v) {
			json_object_set_new(ds, "runtime_name", json_string(v->runtime_name));
			json_object_set_new(ds, "runtime_version", json_string(v->runtime_version));
			json_object_set_new(ds, "runtime_api_version", json_string(v->runtime_api_version));
		}
		pthread_mutex_lock(&ro->lock);
		size_t np = 0, nc = 0;
		for (struct route_entry *e = ro->pods; e; e = e->next)
			np++;
		for (struct route_entry *e = ro->ctrs; e; e = e->next)
			nc++;
		const char *ev = ro->events == EVENTS_STREAMING ? "streaming"
				 : ro->events == EVENTS_UNSUPPORTED ? "unsupported (Unimplemented)"
								    : "unknown";
		pthread_mutex_unlock(&ro->lock);
		json_object_set_new(ds, "pods", json_integer((json_int_t)np));
		json_object_set_new(ds, "containers", json_integer((json_int_t)nc));
		json_object_set_new(ds, "events", json_string(ev));
		json_object_set_new(info, "downstream", ds);
		rt_set_verbose_info(&m->base, info);
		json_decref(info);
	}
	if (d)
		runtime__v1__status_response__free_unpacked(d, NULL);
	if (v)
		runtime__v1__version_response__free_unpacked(v, NULL);
	*len = protobuf_c_message_get_packed_size(&m->base);
	*resp = xmalloc(*len + 1);
	protobuf_c_message_pack(&m->base, *resp);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return 0;
}

/* UpdateRuntimeConfig: kumo takes the pod CIDR, then the downstream does. */
static int route_both(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp,
		      size_t *len, kumo_error_t *err)
{
	if (rt_call_local(rt, c, resp, len, err) < 0)
		return -1;
	if (!rt_router_present(rt))
		return 0;
	autofree uint8_t *theirs = NULL;
	size_t tl = 0;
	if (forward(rt, c, &theirs, &tl, err) < 0) {
		free(*resp);
		*resp = NULL;
		return kumo_error_wrap(err, "downstream runtime `%s`", rt->router->endpoint);
	}
	return 0;
}

/* RuntimeConfig: the downstream's cgroup driver (its containers are the cgroups kubelet
 * must agree with), kumo's when it has no answer. */
static int route_prefer_downstream(struct cri_runtime *rt, const struct cri_call *c,
				   uint8_t **resp, size_t *len, kumo_error_t *err)
{
	if (rt_router_present(rt)) {
		autoerror kumo_error_t ferr = NULL;
		if (forward(rt, c, resp, len, &ferr) == 0)
			return 0;
		log_debug("%s: the downstream's answer: %s; kumo's stands", c->method,
			  kumo_error_msg(ferr));
	}
	return rt_call_local(rt, c, resp, len, err);
}

/* Metrics: merged when the downstream has them (containerd 1.6 does not). */
static int route_merge_optional(struct cri_runtime *rt, const struct cri_call *c,
				uint8_t **resp, size_t *len, kumo_error_t *err)
{
	if (!rt_router_present(rt))
		return rt_call_local(rt, c, resp, len, err);
	autoerror kumo_error_t ferr = NULL;
	if (merge_lists(rt, c, resp, len, &ferr) == 0)
		return 0;
	log_debug("%s: %s; kumo's answer alone", c->method, kumo_error_msg(ferr));
	return rt_call_local(rt, c, resp, len, err);
}

/* ---- the routing table of methods ------------------------------------------------------ */

enum how {
	LOCAL,       /* kumo answers alone */
	BY_POD,      /* pod_sandbox_id */
	BY_CTR,      /* container_id */
	NEW_POD,     /* RunPodSandbox, RestorePod: by runtime handler */
	CREATE,      /* CreateContainer */
	IMAGE,       /* PullImage by content, ImageStatus/RemoveImage by holder */
	LISTS,       /* merged lists */
	STATUS,
	BOTH,        /* UpdateRuntimeConfig */
	PREFER_DOWN, /* RuntimeConfig */
	OPTIONAL,    /* metrics */
};

/* How each method is routed (a method not listed is kumo's alone). */
static const struct {
	const char *method; /* full path */
	enum how how;
} method_routes[] = {
	{RS "Version", LOCAL}, /* kumo's; the downstream's is in Status' verbose info */
	{RS "Status", STATUS},
	{RS "RuntimeConfig", PREFER_DOWN},
	{RS "UpdateRuntimeConfig", BOTH},
	{RS "RunPodSandbox", NEW_POD},
	{RS "RestorePod", NEW_POD},
	{RS "StopPodSandbox", BY_POD},
	{RS "RemovePodSandbox", BY_POD},
	{RS "PodSandboxStatus", BY_POD},
	{RS "PodSandboxStats", BY_POD},
	{RS "PortForward", BY_POD},
	{RS "CheckpointPod", BY_POD},
	{RS "UpdatePodSandboxResources", BY_POD},
	{RS "ListPodSandbox", LISTS},
	{RS "CreateContainer", CREATE},
	{RS "StartContainer", BY_CTR},
	{RS "StopContainer", BY_CTR},
	{RS "RemoveContainer", BY_CTR},
	{RS "ContainerStatus", BY_CTR},
	{RS "UpdateContainerResources", BY_CTR},
	{RS "ReopenContainerLog", BY_CTR},
	{RS "ExecSync", BY_CTR},
	{RS "Exec", BY_CTR},
	{RS "Attach", BY_CTR},
	{RS "ContainerStats", BY_CTR},
	{RS "CheckpointContainer", BY_CTR},
	{RS "ListContainers", LISTS},
	{RS "ListContainerStats", LISTS},
	{RS "ListPodSandboxStats", LISTS},
	{RS "ListMetricDescriptors", OPTIONAL},
	{RS "ListPodSandboxMetrics", OPTIONAL},
	{IS "ListImages", LISTS},
	{IS "ImageFsInfo", LISTS},
	{IS "ImageStatus", IMAGE},
	{IS "PullImage", IMAGE},
	{IS "RemoveImage", IMAGE},
};

int rt_route(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp, size_t *len,
	     kumo_error_t *err)
{
	enum how how = LOCAL;
	for (size_t i = 0; i < sizeof(method_routes) / sizeof(method_routes[0]); i++)
		if (strcmp(method_routes[i].method, c->method) == 0)
			how = method_routes[i].how;
	switch (how) {
	case BY_POD:
		return route_by_id(rt, c, false, resp, len, err);
	case BY_CTR:
		return route_by_id(rt, c, true, resp, len, err);
	case NEW_POD:
		if (strcmp(c->method, RS "RunPodSandbox") == 0) {
			const Runtime__V1__RunPodSandboxRequest *r = (const void *)c->in;
			return route_new_pod(rt, c, r->runtime_handler ? r->runtime_handler : "",
					     r->config, resp, len, err);
		} else {
			const Runtime__V1__RestorePodRequest *r = (const void *)c->in;
			return route_new_pod(rt, c, r->runtime_handler ? r->runtime_handler : "",
					     r->config, resp, len, err);
		}
	case CREATE:
		return route_create(rt, c, resp, len, err);
	case IMAGE:
		return route_image(rt, c, resp, len, err);
	case LISTS:
		if (!rt_router_present(rt))
			return rt_call_local(rt, c, resp, len, err);
		return merge_lists(rt, c, resp, len, err);
	case STATUS:
		return route_status(rt, c, resp, len, err);
	case BOTH:
		return route_both(rt, c, resp, len, err);
	case PREFER_DOWN:
		return route_prefer_downstream(rt, c, resp, len, err);
	case OPTIONAL:
		return route_merge_optional(rt, c, resp, len, err);
	case LOCAL:
	default:
		return rt_call_local(rt, c, resp, len, err);
	}
}

/* ---- events --------------------------------------------------------------------------- */

static void on_event(void *ctx, const uint8_t *msg, size_t len)
{
	struct cri_runtime *rt = ctx;
	struct cri_router *ro = rt->router;
	pthread_mutex_lock(&ro->lock);
	if (ro->events != EVENTS_STREAMING) {
		ro->events = EVENTS_STREAMING;
		pthread_cond_broadcast(&ro->cond);
	}
	pthread_mutex_unlock(&ro->lock);
	rt_emit_raw(rt, msg, len);
}

static void on_events_ended(void *ctx, int code, const char *message, bool reopening)
{
	struct cri_runtime *rt = ctx;
	struct cri_router *ro = rt->router;
	pthread_mutex_lock(&ro->lock);
	if (code == GRPC_STATUS_UNIMPLEMENTED) {
		if (ro->events != EVENTS_UNSUPPORTED)
			log_info("downstream runtime `%s` has no container event stream (%s): "
				 "GetContainerEvents answers Unimplemented, kubelet relists",
				 ro->endpoint, message);
		ro->events = EVENTS_UNSUPPORTED;
		ro->events_code = code;
		free(ro->events_msg);
		ro->events_msg = xstrdup(message);
	} else if (ro->present) {
		log_debug("downstream runtime `%s`: its event stream ended (%s)%s", ro->endpoint,
			  message, reopening ? "; reopening it" : "");
	}
	pthread_cond_broadcast(&ro->cond);
	pthread_mutex_unlock(&ro->lock);
}

int cri_events_available(struct cri_runtime *rt, kumo_error_t *err)
{
	struct cri_router *ro = rt->router;
	if (!ro)
		return 0;
	pthread_mutex_lock(&ro->lock);
	int r = 0;
	if (ro->events == EVENTS_UNSUPPORTED)
		r = kumo_error(err, CRI_E_DOWNSTREAM(ro->events_code),
			       "the downstream runtime `%s` has no container event stream (%s), so "
			       "kumod's, which merges both runtimes' events, has none either",
			       ro->endpoint, ro->events_msg);
	pthread_mutex_unlock(&ro->lock);
	return r;
}

/* ---- set-up --------------------------------------------------------------------------- */

/* Start-up: the downstream's pods and containers are its own (ones it ran before kumod
 * took over its socket included); entries it no longer has are forgotten. */
static void adopt(struct cri_runtime *rt)
{
	struct cri_router *ro = rt->router;
	Runtime__V1__ListPodSandboxResponse *pods = NULL;
	Runtime__V1__ListContainersResponse *ctrs = NULL;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_list_pod_sandbox(ro->ds, NULL, STARTUP_LIST_MS, &pods, &err) < 0 ||
	    cri_downstream_list_containers(ro->ds, NULL, STARTUP_LIST_MS, &ctrs, &err) < 0) {
		log_warn("routes: cannot list the downstream's pods (%s); keeping the %s",
			 kumo_error_msg(err), "recorded routes");
		if (pods)
			runtime__v1__list_pod_sandbox_response__free_unpacked(pods, NULL);
		return;
	}
	size_t adopted = 0, forgotten = 0;
	pthread_mutex_lock(&rt->lock);
	pthread_mutex_lock(&ro->lock);
	for (size_t i = 0; i < pods->n_items; i++) {
		const Runtime__V1__PodSandbox *p = pods->items[i];
		if (rt_pod_by_id(rt, p->id) || table_get(ro->pods, p->id))
			continue;
		if (table_add(ro, false, p->id, NULL, p->runtime_handler, &err) == 0)
			adopted++;
		kumo_error_free(&err);
	}
	for (size_t i = 0; i < ctrs->n_containers; i++) {
		const Runtime__V1__Container *c = ctrs->containers[i];
		if (rt_ctr_by_id(rt, c->id) || table_get(ro->ctrs, c->id))
			continue;
		if (table_add(ro, true, c->id, c->pod_sandbox_id, NULL, &err) == 0)
			adopted++;
		kumo_error_free(&err);
	}
	for (struct route_entry *e = ro->pods, *next; e; e = next) {
		next = e->next;
		bool have = false;
		for (size_t i = 0; i < pods->n_items && !have; i++)
			have = strcmp(pods->items[i]->id, e->id) == 0;
		if (!have) {
			table_del(ro, false, e->id);
			forgotten++;
		}
	}
	for (struct route_entry *e = ro->ctrs, *next; e; e = next) {
		next = e->next;
		bool have = false;
		for (size_t i = 0; i < ctrs->n_containers && !have; i++)
			have = strcmp(ctrs->containers[i]->id, e->id) == 0;
		if (!have) {
			table_del(ro, true, e->id);
			forgotten++;
		}
	}
	pthread_mutex_unlock(&ro->lock);
	pthread_mutex_unlock(&rt->lock);
	log_info("routes: the downstream runtime `%s` has %zu pods and %zu containers (%zu "
		 "newly adopted, %zu gone since)", ro->endpoint, pods->n_items, ctrs->n_containers,
		 adopted, forgotten);
	runtime__v1__list_pod_sandbox_response__free_unpacked(pods, NULL);
	runtime__v1__list_containers_response__free_unpacked(ctrs, NULL);
}

int cri_runtime_route(struct cri_runtime *rt, const struct cri_routing *cfg, kumo_error_t *err)
{
	size_t n = 0;
	while (cfg->kumo_handlers && cfg->kumo_handlers[n])
		n++;
	if (n) {
		for (size_t i = 0; rt->kumo_handlers[i]; i++)
			free(rt->kumo_handlers[i]);
		free(rt->kumo_handlers);
		rt->kumo_handlers = xzalloc(sizeof(char *) * (n + 1));
		for (size_t i = 0; i < n; i++)
			rt->kumo_handlers[i] = xstrdup(cfg->kumo_handlers[i]);
	}
	const char *ep = cfg->downstream_endpoint;
	if (!ep || !*ep || strcmp(ep, "none") == 0) {
		log_info("no downstream runtime: every pod runs as a kumo VM");
		return 0;
	}
	struct cri_router *ro = xzalloc(sizeof(*ro));
	ro->endpoint = xstrdup(ep);
	ro->sock = cri_downstream_unix_path(ep);
	ro->dir = xasprintf("%s/routes", rt->root);
	ro->default_kumo = cfg->default_kumo;
	ro->events = EVENTS_UNKNOWN;
	pthread_mutex_init(&ro->lock, NULL);
	pthread_cond_init(&ro->cond, NULL);
	autofree char *pd = xasprintf("%s/pods", ro->dir);
	autofree char *cd = xasprintf("%s/containers", ro->dir);
	if (cri_downstream_new(ep, &ro->ds, err) < 0 || kumo_mkdir_p(pd, 0700, err) < 0 ||
	    kumo_mkdir_p(cd, 0700, err) < 0) {
		cri_downstream_free(ro->ds);
		pthread_mutex_destroy(&ro->lock);
		pthread_cond_destroy(&ro->cond);
		free(ro->endpoint);
		free(ro->sock);
		free(ro->dir);
		free(ro);
		return kumo_error_wrap(err, "downstream runtime");
	}
	table_load(ro, false);
	table_load(ro, true);
	rt->router = ro;
	bool present = rt_router_present(rt);
	if (present)
		adopt(rt);
	else
		log_info("downstream runtime `%s` is not there (no socket `%s`): every pod runs as "
			 "a kumo VM until it appears", ep, ro->sock);
	static const struct cri_downstream_stream_ops ops = {on_event, on_events_ended};
	if (cri_downstream_events(ro->ds, &ops, rt, &ro->stream, err) < 0)
		return kumo_error_wrap(err, "downstream runtime `%s`: events", ep);
	if (present) {
		/* A runtime without the stream says so at once (containerd 1.6): know it before
		 * kubelet asks. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += STARTUP_EVENTS_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&ro->lock);
		while (ro->events == EVENTS_UNKNOWN &&
		       pthread_cond_timedwait(&ro->cond, &ro->lock, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&ro->lock);
	}
	log_info("downstream runtime `%s`; kumo's runtime handlers: %s%s; pods naming none run "
		 "%s", ep, rt->kumo_handlers[0], rt->kumo_handlers[1] ? " (and more)" : "",
		 ro->default_kumo ? "as kumo VMs" : "on the downstream runtime");
	return 0;
}

void rt_router_free(struct cri_runtime *rt)
{
	struct cri_router *ro = rt->router;
	if (!ro)
		return;
	cri_downstream_stream_cancel(ro->stream);
	cri_downstream_free(ro->ds);
	for (int k = 0; k < 2; k++)
		for (struct route_entry *e = k ? ro->ctrs : ro->pods, *next; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	pthread_mutex_destroy(&ro->lock);
	pthread_cond_destroy(&ro->cond);
	free(ro->events_msg);
	free(ro->endpoint);
	free(ro->sock);
	free(ro->dir);
	free(ro);
	rt->router = NULL;
}
