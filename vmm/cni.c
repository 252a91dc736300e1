/* vmm/cni.c - the CNI runtime: configuration files, the plugin protocol (environment,
 * request on stdin, result on stdout) and result parsing, per the spec v1.0.0. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "cni.h"

extern char **environ;

#define STDERR_KEEP (64u << 10) /* bytes of a plugin's stderr kept for messages */

/* ---- Configuration ---------------------------------------------------------------- */

/* Spec section 1: "Must start with an alphanumeric character, optionally followed by
 * any combination of one or more alphanumeric characters, underscore, dot (.) or
 * hyphen (-)." The same rule holds for container ids (section 2). */
static bool valid_cni_name(const char *s)
{
	if (!s || !isalnum((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

static bool valid_plugin_type(const char *t)
{
	return t && *t && !strchr(t, '/') && strcmp(t, ".") != 0 && strcmp(t, "..") != 0;
}

void cni_conf_free(struct cni_netconf *c)
{
	if (!c)
		return;
	free(c->origin);
	free(c->name);
	free(c->cni_version);
	json_decref(c->plugins);
	free(c);
}

static int check_plugin(const json_t *p, size_t i, const char *origin, kumo_error_t *err)
{
	if (!json_is_object(p))
		return kumo_error(err, KUMO_E_INVALID,
				  "network configuration `%s`: `plugins[%zu]` is not an object", origin, i);
	const json_t *t = json_object_get(p, "type");
	if (!json_is_string(t) || !valid_plugin_type(json_string_value(t)))
		return kumo_error(err, KUMO_E_INVALID,
				  "network configuration `%s`: `plugins[%zu].type` is missing or not a "
				  "plugin file name",
				  origin, i);
	const json_t *caps = json_object_get(p, "capabilities");
	if (caps && !json_is_object(caps))
		return kumo_error(err, KUMO_E_INVALID,
				  "network configuration `%s`: `plugins[%zu].capabilities` is not an object",
				  origin, i);
	return 0;
}

int cni_conf_parse(const char *text, size_t len, bool list, const char *origin,
		   struct cni_netconf **out, kumo_error_t *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return kumo_error(err, KUMO_E_INVALID,
				  "network configuration `%s` is not valid JSON: %s (line %d, column %d)",
				  origin, je.text, je.line, je.column);
	int rc = -1;
	struct cni_netconf *c = xzalloc(sizeof(*c));
	c->origin = xstrdup(origin);
	if (!json_is_object(root)) {
		kumo_error(err, KUMO_E_INVALID, "network configuration `%s` is not a JSON object", origin);
		goto out;
	}
	const json_t *name = json_object_get(root, "name");
	const json_t *ver = json_object_get(root, "cniVersion");
	if (!json_is_string(name) || !valid_cni_name(json_string_value(name))) {
		kumo_error(err, KUMO_E_INVALID,
			   "network configuration `%s`: `name` is missing or not a network name "
			   "(an alphanumeric, then alphanumerics, `_`, `.` or `-`)",
			   origin);
		goto out;
	}
	if (!json_is_string(ver) || !*json_string_value(ver)) {
		kumo_error(err, KUMO_E_INVALID, "network configuration `%s`: `cniVersion` is missing",
			   origin);
		goto out;
	}
	c->name = xstrdup(json_string_value(name));
	c->cni_version = xstrdup(json_string_value(ver));
	c->disable_check = json_is_true(json_object_get(root, "disableCheck"));
	if (list) {
		json_t *plugins = json_object_get(root, "plugins");
		if (!json_is_array(plugins) || json_array_size(plugins) == 0) {
			kumo_error(err, KUMO_E_INVALID,
				   "network configuration `%s`: `plugins` is missing or empty", origin);
			goto out;
		}
		c->plugins = json_incref(plugins);
	} else {
		c->plugins = json_array();
		json_array_append(c->plugins, root);
	}
	for (size_t i = 0; i < json_array_size(c->plugins); i++)
		if (check_plugin(json_array_get(c->plugins, i), i, origin, err) < 0)
			goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	cni_conf_free(c);
	json_decref(root);
	return rc;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

static bool is_conf_name(const char *n)
{
	return n[0] != '.' &&
	       (has_suffix(n, ".conflist") || has_suffix(n, ".conf") || has_suffix(n, ".json"));
}

int cni_conf_load_file(const char *path, struct cni_netconf **out, kumo_error_t *err)
{
	uint8_t *buf = NULL;
	size_t len;
	if (kumo_read_file(path, CNI_CONF_MAX_BYTES, &buf, &len, err) < 0)
		return kumo_error_wrap(err, "network configuration");
	int rc = cni_conf_parse((char *)buf, len, has_suffix(path, ".conflist"), path, out, err);
	free(buf);
	return rc;
}

int cni_conf_load_dir(const char *dir, struct cni_netconf **out, kumo_error_t *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return kumo_error(err, KUMO_E_NOT_FOUND,
					  "no network configuration: `%s` does not exist", dir);
		return kumo_error_errno(err, errno, "network configuration directory `%s`", dir);
	}
	char *first = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_conf_name(e->d_name))
			continue;
		autofree char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (!first || strcmp(e->d_name, first) < 0) {
			free(first);
			first = xstrdup(e->d_name);
		}
	}
	closedir(d);
	if (!first)
		return kumo_error(err, KUMO_E_NOT_FOUND,
				  "no network configuration in `%s` (no *.conflist, *.conf or *.json)", dir);
	autofree char *path = xasprintf("%s/%s", dir, first);
	free(first);
	return cni_conf_load_file(path, out, err);
}

json_t *cni_conf_to_json(const struct cni_netconf *c)
{
	json_t *j = json_pack("{s:s, s:s, s:O}", "cniVersion", c->cni_version, "name", c->name,
			      "plugins", c->plugins);
	if (c->disable_check)
		json_object_set_new(j, "disableCheck", json_true());
	return j;
}

/* ---- Results ---------------------------------------------------------------------- */

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cni_result_free(struct cni_result *r)
{
	if (!r)
		return;
	free(r->cni_version);
	for (size_t i = 0; i < r->ninterfaces; i++) {
		free(r->interfaces[i].name);
		free(r->interfaces[i].mac);
		free(r->interfaces[i].sandbox);
	}
	free(r->interfaces);
	free(r->ips);
	free(r->routes);
	free_strv(r->dns.nameservers, r->dns.nnameservers);
	free(r->dns.domain);
	free_strv(r->dns.search, r->dns.nsearch);
	free_strv(r->dns.options, r->dns.noptions);
	json_decref(r->json);
	free(r);
}

/* "addr" (no prefix) → family and normalised text. */
static int parse_ip(const char *s, int *family, char out[46])
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, s, buf) == 1) {
		*family = AF_INET;
		inet_ntop(AF_INET, buf, out, 46);
		return 0;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		*family = AF_INET6;
		inet_ntop(AF_INET6, buf, out, 46);
		return 0;
	}
	return -1;
}

/* "addr/prefix" → family, address text, prefix; mask: zero the host bits (a route's
 * destination is its network). */
static int parse_cidr(const char *s, bool mask, int *family, char out[46], unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || slash - s >= 46 || !isdigit((unsigned char)slash[1]))
		return -1;
	char addr[46];
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = 0;
	char *end;
	errno = 0;
	unsigned long p = strtoul(slash + 1, &end, 10);
	if (*end || errno)
		return -1;
	unsigned char buf[16];
	int fam = inet_pton(AF_INET, addr, buf) == 1 ? AF_INET
		  : inet_pton(AF_INET6, addr, buf) == 1 ? AF_INET6
							: 0;
	if (!fam || p > (fam == AF_INET ? 32u : 128u))
		return -1;
	if (mask) {
		size_t n = fam == AF_INET ? 4 : 16;
		for (size_t i = 0; i < n; i++) {
			unsigned keep = p >= 8 * (i + 1) ? 8 : p > 8 * i ? (unsigned)(p - 8 * i) : 0;
			buf[i] &= (unsigned char)(0xff00u >> keep);
		}
	}
	inet_ntop(fam, buf, out, 46);
	*family = fam;
	*prefix = (unsigned)p;
	return 0;
}

static bool valid_mac(const char *s)
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[3 * i]) || !isxdigit((unsigned char)s[3 * i + 1]))
			return false;
		if (s[3 * i + 2] != (i == 5 ? '\0' : ':'))
			return false;
	}
	return true;
}

/* An optional string member: NULL when absent, error when present and not a string. */
static int opt_str(const json_t *o, const char *key, const char *where, const char **out,
		   kumo_error_t *err)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return kumo_error(err, KUMO_E_INVALID, "`%s.%s` is not a string", where, key);
	*out = json_string_value(v);
	return 0;
}

static int str_list(const json_t *o, const char *key, const char *where, bool ips, char ***out,
		    size_t *n, kumo_error_t *err)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return kumo_error(err, KUMO_E_INVALID, "`%s.%s` is not a list", where, key);
	char **a = xzalloc((json_array_size(v) + 1) * sizeof(char *));
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *s = json_array_get(v, i);
		char norm[46];
		int fam;
		if (!json_is_string(s)) {
			free_strv(a, i);
			return kumo_error(err, KUMO_E_INVALID, "`%s.%s[%zu]` is not a string", where, key, i);
		}
		if (ips && parse_ip(json_string_value(s), &fam, norm) < 0) {
			free_strv(a, i);
			return kumo_error(err, KUMO_E_INVALID, "`%s.%s[%zu]` `%s` is not an IP address",
					  where, key, i, json_string_value(s));
		}
		a[i] = xstrdup(ips ? norm : json_string_value(s));
	}
	*out = a;
	*n = json_array_size(v);
	return 0;
}

static int parse_routes(const json_t *arr, const char *where, struct cni_result *r,
			kumo_error_t *err)
{
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return kumo_error(err, KUMO_E_INVALID, "`%s` is not a list", where);
	size_t base = r->nroutes;
	r->routes = xrealloc(r->routes, (base + json_array_size(arr) + 1) * sizeof(*r->routes));
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *o = json_array_get(arr, i);
		struct cni_route *rt = &r->routes[base + i];
		memset(rt, 0, sizeof(*rt));
		autofree char *w = xasprintf("%s[%zu]", where, i);
		const char *dst, *gw;
		if (!json_is_object(o))
			return kumo_error(err, KUMO_E_INVALID, "`%s` is not an object", w);
		if (opt_str(o, "dst", w, &dst, err) < 0 || opt_str(o, "gw", w, &gw, err) < 0)
			return -1;
		if (!dst || parse_cidr(dst, true, &rt->family, rt->dst, &rt->prefix) < 0)
			return kumo_error(err, KUMO_E_INVALID, "`%s.dst` `%s` is not in CIDR notation", w,
					  dst ? dst : "");
		int gfam;
		if (gw && *gw && (parse_ip(gw, &gfam, rt->gw) < 0 || gfam != rt->family))
			return kumo_error(err, KUMO_E_INVALID,
					  "`%s.gw` `%s` is not an address of the destination's family", w, gw);
		r->nroutes++;
	}
	return 0;
}

static int parse_ip_entry(const json_t *o, const char *w, const char *addr_key,
			  struct cni_ip *ip, kumo_error_t *err)
{
	const char *addr, *gw;
	memset(ip, 0, sizeof(*ip));
	ip->interface = -1;
	if (!json_is_object(o))
		return kumo_error(err, KUMO_E_INVALID, "`%s` is not an object", w);
	if (opt_str(o, addr_key, w, &addr, err) < 0 || opt_str(o, "gateway", w, &gw, err) < 0)
		return -1;
	if (!addr)
		return kumo_error(err, KUMO_E_INVALID, "`%s` has no `%s`", w, addr_key);
	if (parse_cidr(addr, false, &ip->family, ip->address, &ip->prefix) < 0)
		return kumo_error(err, KUMO_E_INVALID, "`%s.%s` `%s` is not an address in CIDR notation",
				  w, addr_key, addr);
	int gfam;
	if (gw && *gw && (parse_ip(gw, &gfam, ip->gateway) < 0 || gfam != ip->family))
		return kumo_error(err, KUMO_E_INVALID,
				  "`%s.gateway` `%s` is not an address of the same family", w, gw);
	return 0;
}

/* Results of spec 0.1.0/0.2.0: {"ip4": {"ip", "gateway", "routes"}, "ip6": {...}}. */
static int parse_legacy(const json_t *j, struct cni_result *r, kumo_error_t *err)
{
	static const char *const keys[2] = {"ip4", "ip6"};
	r->ips = xzalloc(2 * sizeof(*r->ips));
	for (int k = 0; k < 2; k++) {
		const json_t *o = json_object_get(j, keys[k]);
		if (!o || json_is_null(o))
			continue;
		if (parse_ip_entry(o, keys[k], "ip", &r->ips[r->nips], err) < 0)
			return -1;
		r->nips++;
		autofree char *w = xasprintf("%s.routes", keys[k]);
		if (parse_routes(json_object_get(o, "routes"), w, r, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_current(const json_t *j, struct cni_result *r, kumo_error_t *err)
{
	const json_t *ifs = json_object_get(j, "interfaces");
	if (ifs && !json_is_null(ifs)) {
		if (!json_is_array(ifs))
			return kumo_error(err, KUMO_E_INVALID, "`interfaces` is not a list");
		r->interfaces = xzalloc((json_array_size(ifs) + 1) * sizeof(*r->interfaces));
		for (size_t i = 0; i < json_array_size(ifs); i++) {
			const json_t *o = json_array_get(ifs, i);
			autofree char *w = xasprintf("interfaces[%zu]", i);
			const char *name, *mac, *sandbox;
			if (!json_is_object(o))
				return kumo_error(err, KUMO_E_INVALID, "`%s` is not an object", w);
			if (opt_str(o, "name", w, &name, err) < 0 || opt_str(o, "mac", w, &mac, err) < 0 ||
			    opt_str(o, "sandbox", w, &sandbox, err) < 0)
				return -1;
			if (!name || !*name)
				return kumo_error(err, KUMO_E_INVALID, "`%s` has no `name`", w);
			if (mac && *mac && !valid_mac(mac))
				return kumo_error(err, KUMO_E_INVALID, "`%s.mac` `%s` is not a MAC address", w, mac);
			struct cni_interface *f = &r->interfaces[r->ninterfaces++];
			f->name = xstrdup(name);
			f->mac = mac && *mac ? xstrdup(mac) : NULL;
			f->sandbox = sandbox && *sandbox ? xstrdup(sandbox) : NULL;
		}
	}
	const json_t *ips = json_object_get(j, "ips");
	if (ips && !json_is_null(ips)) {
		if (!json_is_array(ips))
			return kumo_error(err, KUMO_E_INVALID, "`ips` is not a list");
		r->ips = xzalloc((json_array_size(ips) + 1) * sizeof(*r->ips));
		for (size_t i = 0; i < json_array_size(ips); i++) {
			const json_t *o = json_array_get(ips, i);
			autofree char *w = xasprintf("ips[%zu]", i);
			struct cni_ip *ip = &r->ips[r->nips];
			if (parse_ip_entry(o, w, "address", ip, err) < 0)
				return -1;
			const json_t *idx = json_object_get(o, "interface");
			if (idx && !json_is_null(idx)) {
				if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
				    (size_t)json_integer_value(idx) >= r->ninterfaces)
					return kumo_error(err, KUMO_E_INVALID,
							  "`%s.interface` is not an index into `interfaces` "
							  "(%zu entries)",
							  w, r->ninterfaces);
				ip->interface = (int)json_integer_value(idx);
			}
			r->nips++;
		}
	}
	return parse_routes(json_object_get(j, "routes"), "routes", r, err);
}

int cni_result_from_json(json_t *j, struct cni_result **out, kumo_error_t *err)
{
	if (!json_is_object(j))
		return kumo_error(err, KUMO_E_INVALID, "the result is not a JSON object");
	struct cni_result *r = xzalloc(sizeof(*r));
	r->json = json_incref(j);
	const char *ver;
	int rc = opt_str(j, "cniVersion", "result", &ver, err);
	r->cni_version = xstrdup(ver ? ver : "");
	bool legacy = !json_object_get(j, "ips") && !json_object_get(j, "interfaces") &&
		      (json_object_get(j, "ip4") || json_object_get(j, "ip6"));
	if (rc == 0)
		rc = legacy ? parse_legacy(j, r, err) : parse_current(j, r, err);
	const json_t *dns = json_object_get(j, "dns");
	if (rc == 0 && dns && !json_is_null(dns)) {
		const char *domain;
		if (!json_is_object(dns))
			rc = kumo_error(err, KUMO_E_INVALID, "`dns` is not an object");
		else if (str_list(dns, "nameservers", "dns", true, &r->dns.nameservers,
				  &r->dns.nnameservers, err) < 0 ||
			 str_list(dns, "search", "dns", false, &r->dns.search, &r->dns.nsearch, err) < 0 ||
			 str_list(dns, "options", "dns", false, &r->dns.options, &r->dns.noptions, err) < 0 ||
			 opt_str(dns, "domain", "dns", &domain, err) < 0)
			rc = -1;
		else if (domain && *domain)
			r->dns.domain = xstrdup(domain);
	}
	if (rc < 0) {
		cni_result_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int cni_result_parse(const char *text, size_t len, struct cni_result **out, kumo_error_t *err)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, 0, &je);
	if (!j)
		return kumo_error(err, KUMO_E_INVALID, "the result is not valid JSON: %s", je.text);
	int rc = cni_result_from_json(j, out, err);
	json_decref(j);
	return rc;
}

/* ---- Plugin execution ------------------------------------------------------------- */

char *cni_find_plugin(const char *plugin_path, const char *type)
{
	if (!valid_plugin_type(type))
		return NULL;
	return kumo_find_executable(type, plugin_path ? plugin_path : CNI_DEFAULT_PLUGIN_PATH);
}

char *cni_request(const struct cni_netconf *c, const json_t *plugin, const json_t *caps,
		  const json_t *prev)
{
	json_t *req = json_deep_copy(plugin);
	json_object_set_new(req, "cniVersion", json_string(c->cni_version));
	json_object_set_new(req, "name", json_string(c->name));
	const json_t *declared = json_object_get(plugin, "capabilities");
	json_object_del(req, "capabilities");
	json_t *rc = json_object();
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)declared, key, v)
	{
		const json_t *arg = caps ? json_object_get(caps, key) : NULL;
		if (json_is_true(v) && arg)
			json_object_set_new(rc, key, json_deep_copy(arg));
	}
	if (json_object_size(rc))
		json_object_set(req, "runtimeConfig", rc);
	json_decref(rc);
	if (prev)
		json_object_set_new(req, "prevResult", json_deep_copy(prev));
	char *s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return s;
}

void cni_exec_result_clear(struct cni_exec_result *res)
{
	free(res->out);
	free(res->errout);
	memset(res, 0, sizeof(*res));
}

static int64_t ms_left(uint64_t deadline)
{
	uint64_t now = kumo_now_ns();
	return now >= deadline ? 0 : (int64_t)((deadline - now) / 1000000) + 1;
}

/* Appends what fd has to *buf (capped: stdout fails beyond cap, stderr keeps its tail).
 * Returns 0 on EOF, 1 when more may come, -1 when stdout overflowed. */
static int drain(int fd, char **buf, size_t *len, size_t *cap, size_t max, bool keep_tail)
{
	for (;;) {
		if (*len + 4096 + 1 > *cap) {
			*cap = (*len + 4096 + 1) * 2;
			*buf = xrealloc(*buf, *cap);
		}
		ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 1 : 0;
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len > max) {
			if (!keep_tail)
				return -1;
			memmove(*buf, *buf + *len - max, max);
			*len = max;
		}
	}
}

static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

int cni_exec(const char *exe, char *const envp[], const char *input, size_t inlen, int timeout_ms,
	     struct cni_exec_result *res, kumo_error_t *err)
{
	memset(res, 0, sizeof(*res));
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		return kumo_error_errno(err, e, "run `%s`: pipes", exe);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[1], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none, def;
	sigemptyset(&none);
	sigfillset(&def);
	sigdelset(&def, SIGKILL);
	sigdelset(&def, SIGSTOP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	/* Its own process group, so a timeout also ends the plugins it delegated to. */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
	char *argv[] = {(char *)exe, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, exe, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[1]);
	close(out[1]);
	close(er[1]);
	if (rc != 0) {
		close(in[0]);
		close(out[0]);
		close(er[0]);
		return kumo_error_errno(err, rc, "run `%s`", exe);
	}
	fcntl(in[0], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(er[0], F_SETFL, O_NONBLOCK);
	int pfd = pidfd_of(pid);
	uint64_t deadline = kumo_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : CNI_DEFAULT_TIMEOUT_MS) * 1000000ull;
	size_t sent = 0, olen = 0, ocap = 0, elen = 0, ecap = 0;
	char *obuf = NULL, *ebuf = NULL;
	bool in_open = true, out_open = true, err_open = true, exited = false, overflow = false;
	if (inlen == 0) {
		close(in[0]);
		in_open = false;
	}
	/* Until both output pipes end; once the plugin itself exited, whatever it left
	 * running (holding the pipes) is not waited for. */
	while ((out_open || err_open) && !exited) {
		struct pollfd p[4];
		int np = 0, ii = -1, oi = -1, ei = -1, pi = -1;
		if (in_open) {
			p[np] = (struct pollfd){.fd = in[0], .events = POLLOUT};
			ii = np++;
		}
		if (out_open) {
			p[np] = (struct pollfd){.fd = out[0], .events = POLLIN};
			oi = np++;
		}
		if (err_open) {
			p[np] = (struct pollfd){.fd = er[0], .events = POLLIN};
			ei = np++;
		}
		if (pfd >= 0) {
			p[np] = (struct pollfd){.fd = pfd, .events = POLLIN};
			pi = np++;
		}
		int64_t left = ms_left(deadline);
		if (left == 0) {
			res->timed_out = true;
			break;
		}
		/* Without a pidfd, look at the child every 50 ms. */
		int n = poll(p, (nfds_t)np, pfd >= 0 ? (int)left : (int)(left < 50 ? left : 50));
		if (n < 0 && errno == EINTR)
			continue;
		if (ii >= 0 && p[ii].revents) {
			ssize_t w = send(in[0], input + sent, inlen - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				sent += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == inlen) {
				close(in[0]);
				in_open = false;
			}
		}
		if (oi >= 0 && p[oi].revents) {
			int d = drain(out[0], &obuf, &olen, &ocap, CNI_OUTPUT_MAX_BYTES, false);
			if (d <= 0)
				out_open = false;
			if (d < 0)
				overflow = true;
		}
		if (ei >= 0 && p[ei].revents && drain(er[0], &ebuf, &elen, &ecap, STDERR_KEEP, true) <= 0)
			err_open = false;
		if (overflow) {
			kill(-pid, SIGKILL);
			break;
		}
		siginfo_t si = {0};
		if ((pi >= 0 && p[pi].revents) ||
		    (pfd < 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		     si.si_pid == pid)) {
			/* Exited: collect what is already in the pipes, then stop. */
			if (out_open && drain(out[0], &obuf, &olen, &ocap, CNI_OUTPUT_MAX_BYTES, false) < 0)
				overflow = true;
			if (err_open)
				drain(er[0], &ebuf, &elen, &ecap, STDERR_KEEP, true);
			exited = true;
		}
	}
	if (res->timed_out)
		kill(-pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pfd >= 0)
		close(pfd);
	if (in_open)
		close(in[0]);
	close(out[0]);
	close(er[0]);
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (!obuf)
		obuf = xzalloc(1);
	if (!ebuf)
		ebuf = xzalloc(1);
	obuf[olen] = 0;
	ebuf[elen] = 0;
	res->out = obuf;
	res->outlen = olen;
	res->errout = ebuf;
	if (overflow) {
		cni_exec_result_clear(res);
		return kumo_error(err, KUMO_E_INVALID, "`%s` wrote more than %u bytes on stdout", exe,
				  CNI_OUTPUT_MAX_BYTES);
	}
	return 0;
}

/* The last non-empty line of s (a copy, at most 512 bytes). */
static char *last_line(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	size_t b = n;
	while (b && s[b - 1] != '\n')
		b--;
	if (n - b > 512)
		b = n - 512;
	return xstrndup(s + b, n - b);
}

char *cni_exec_error(const struct cni_exec_result *res)
{
	json_t *j = json_loads(res->out, 0, NULL);
	const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
	if (msg) {
		const char *details = json_string_value(json_object_get(j, "details"));
		json_int_t code = json_integer_value(json_object_get(j, "code"));
		char *s = details && *details ? xasprintf("%s: %s (code %lld)", msg, details, (long long)code)
					      : xasprintf("%s (code %lld)", msg, (long long)code);
		json_decref(j);
		return s;
	}
	json_decref(j);
	if (res->timed_out)
		return xstrdup("timed out");
	autofree char *e = last_line(res->errout);
	if (*e)
		return xasprintf("%s (exit status %d)", e, res->status);
	autofree char *o = last_line(res->out);
	if (*o)
		return xasprintf("%s (exit status %d)", o, res->status);
	return xasprintf("exit status %d, no message", res->status);
}

/* The plugin's environment: ours without any CNI_* variable, then the protocol's
 * (spec section 2), and a PATH for plugins that run iptables when we have none. */
static char **plugin_env(const char *command, const struct cni_attachment *at)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = xzalloc((n + 8) * sizeof(char *));
	size_t k = 0;
	bool have_path = false;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "CNI_", 4) == 0)
			continue;
		if (strncmp(environ[i], "PATH=", 5) == 0)
			have_path = true;
		env[k++] = xstrdup(environ[i]);
	}
	if (!have_path)
		env[k++] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env[k++] = xasprintf("CNI_COMMAND=%s", command);
	env[k++] = xasprintf("CNI_PATH=%s", at->plugin_path ? at->plugin_path : CNI_DEFAULT_PLUGIN_PATH);
	if (strcmp(command, "VERSION") != 0) {
		env[k++] = xasprintf("CNI_CONTAINERID=%s", at->container_id);
		env[k++] = xasprintf("CNI_NETNS=%s", at->netns ? at->netns : "");
		env[k++] = xasprintf("CNI_IFNAME=%s", at->ifname);
		if (at->args && *at->args)
			env[k++] = xasprintf("CNI_ARGS=%s", at->args);
	}
	env[k] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (char **p = env; *p; p++)
		free(*p);
	free(env);
}

/* Runs one plugin of c for command with request req. On success *res holds its output
 * (caller clears it). Errors name the network, plugin and command. */
static int run_plugin(const struct cni_netconf *c, const char *type, const char *command,
		      const struct cni_attachment *at, const char *req, struct cni_exec_result *res,
		      kumo_error_t *err)
{
	autofree char *exe = cni_find_plugin(at->plugin_path, type);
	if (!exe)
		return kumo_error(err, KUMO_E_NOT_FOUND,
				  "network `%s`: plugin `%s` not found in the plugin path `%s`", c->name,
				  type, at->plugin_path ? at->plugin_path : CNI_DEFAULT_PLUGIN_PATH);
	char **env = plugin_env(command, at);
	int timeout = at->timeout_ms > 0 ? at->timeout_ms : CNI_DEFAULT_TIMEOUT_MS;
	int rc = cni_exec(exe, env, req, strlen(req), timeout, res, err);
	free_env(env);
	if (rc < 0)
		return kumo_error_wrap(err, "network `%s`: plugin `%s` %s", c->name, type, command);
	if (res->timed_out) {
		cni_exec_result_clear(res);
		return kumo_error(err, KUMO_E_IO, "network `%s`: plugin `%s` %s timed out after %d ms",
				  c->name, type, command, timeout);
	}
	if (res->status != 0) {
		autofree char *why = cni_exec_error(res);
		cni_exec_result_clear(res);
		return kumo_error(err, KUMO_E_INTERNAL, "network `%s`: plugin `%s` %s failed: %s", c->name,
				  type, command, why);
	}
	return 0;
}

static const char *plugin_type(const json_t *p)
{
	return json_string_value(json_object_get(p, "type"));
}

int cni_add(const struct cni_netconf *c, const struct cni_attachment *at,
	    struct cni_result **result, kumo_error_t *err)
{
	struct cni_result *prev = NULL;
	for (size_t i = 0; i < json_array_size(c->plugins); i++) {
		const json_t *p = json_array_get(c->plugins, i);
		autofree char *req = cni_request(c, p, at->capabilities, prev ? prev->json : NULL);
		struct cni_exec_result res;
		if (run_plugin(c, plugin_type(p), "ADD", at, req, &res, err) < 0) {
			cni_result_free(prev);
			return -1;
		}
		struct cni_result *r = NULL;
		int rc = cni_result_parse(res.out, res.outlen, &r, err);
		cni_exec_result_clear(&res);
		cni_result_free(prev);
		if (rc < 0)
			return kumo_error_wrap(err, "network `%s`: plugin `%s` ADD: malformed result",
					       c->name, plugin_type(p));
		prev = r;
	}
	*result = prev;
	return 0;
}

/* Compares dotted versions numerically ("0.4.0" < "1.0.0"); a missing part is 0. */
static int version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long x = strtoul(a, (char **)&a, 10), y = strtoul(b, (char **)&b, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
		if ((*a && !isdigit((unsigned char)*a)) || (*b && !isdigit((unsigned char)*b)))
			break;
	}
	return 0;
}

int cni_check(const struct cni_netconf *c, const struct cni_attachment *at, const json_t *prev,
	      kumo_error_t *err)
{
	if (c->disable_check)
		return 0;
	if (version_cmp(c->cni_version, "0.4.0") < 0)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "network `%s`: cniVersion `%s` has no CHECK (0.4.0 and later)", c->name,
				  c->cni_version);
	for (size_t i = 0; i < json_array_size(c->plugins); i++) {
		const json_t *p = json_array_get(c->plugins, i);
		autofree char *req = cni_request(c, p, at->capabilities, prev);
		struct cni_exec_result res;
		if (run_plugin(c, plugin_type(p), "CHECK", at, req, &res, err) < 0)
			return -1;
		cni_exec_result_clear(&res);
	}
	return 0;
}

int cni_del(const struct cni_netconf *c, const struct cni_attachment *at, const json_t *prev,
	    kumo_error_t *err)
{
	/* prevResult on DEL came with 0.4.0. */
	if (version_cmp(c->cni_version, "0.4.0") < 0)
		prev = NULL;
	for (size_t i = json_array_size(c->plugins); i-- > 0;) {
		const json_t *p = json_array_get(c->plugins, i);
		autofree char *req = cni_request(c, p, at->capabilities, prev);
		struct cni_exec_result res;
		if (run_plugin(c, plugin_type(p), "DEL", at, req, &res, err) < 0)
			return -1;
		cni_exec_result_clear(&res);
	}
	return 0;
}

int cni_version(const char *plugin_path, const char *type, const char *version, int timeout_ms,
		char ***supported, kumo_error_t *err)
{
	struct cni_netconf c = {.name = (char *)"-", .cni_version = (char *)version};
	struct cni_attachment at = {.plugin_path = plugin_path, .timeout_ms = timeout_ms};
	autofree char *req = xasprintf("{\"cniVersion\":\"%s\"}", version);
	struct cni_exec_result res;
	if (run_plugin(&c, type, "VERSION", &at, req, &res, err) < 0)
		return -1;
	json_t *j = json_loadb(res.out, res.outlen, 0, NULL);
	cni_exec_result_clear(&res);
	const json_t *v = json_object_get(j, "supportedVersions");
	if (!json_is_array(v)) {
		json_decref(j);
		return kumo_error(err, KUMO_E_INVALID,
				  "plugin `%s` VERSION: no `supportedVersions` list in its answer", type);
	}
	char **a = xzalloc((json_array_size(v) + 1) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < json_array_size(v); i++)
		if (json_is_string(json_array_get(v, i)))
			a[k++] = xstrdup(json_string_value(json_array_get(v, i)));
	json_decref(j);
	*supported = a;
	return 0;
}
