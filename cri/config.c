/* cri/config.c - kumod's configuration: defaults, /etc/kumo/kumo.json, then flags. */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "cri/cri.h"

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void add_registry(struct cri_config *cfg, const char *host)
{
	size_t n = 0;
	while (cfg->insecure_registries && cfg->insecure_registries[n])
		n++;
	cfg->insecure_registries = xrealloc(cfg->insecure_registries, sizeof(char *) * (n + 2));
	cfg->insecure_registries[n] = xstrdup(host);
	cfg->insecure_registries[n + 1] = NULL;
}

static int parse_int(const char *what, const char *v, int *out, kumo_error_t *err)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || *end || end == v || x < 0 || x > 1000000)
		return kumo_error(err, KUMO_E_INVALID, "%s: `%s` is not a valid number", what, v);
	*out = (int)x;
	return 0;
}

static int check_choice(const char *what, const char *v, const char *const *choices,
			kumo_error_t *err)
{
	for (size_t i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return 0;
	return kumo_error(err, KUMO_E_INVALID, "%s: unknown value `%s`", what, v);
}

/* A limit against hostile modules (compiler.h): the key, or as a flag "--max-functions". */
static bool is_limit_key(const char *name)
{
	size_t n;
	const struct kumo_limit_key *keys = kumo_compile_limit_keys(&n);
	for (size_t i = 0; i < n; i++) {
		const char *k = keys[i].key;
		size_t j = 0;
		while (k[j] && (name[j] == k[j] || (k[j] == '_' && name[j] == '-')))
			j++;
		if (!k[j] && !name[j])
			return true;
	}
	return false;
}

/* cni_bin_dirs: "A:B" or ["A", "B"], kept as "A:B" (CNI_PATH's form). */
static int set_dirs(struct cri_config *cfg, const char *path, json_t *v, kumo_error_t *err)
{
	if (json_is_string(v)) {
		set_str(&cfg->cni_bin_dirs, json_string_value(v));
		return 0;
	}
	char *dirs = xstrdup("");
	size_t i;
	json_t *d;
	json_array_foreach(v, i, d) {
		const char *s = json_string_value(d);
		if (!s || !*s || strchr(s, ':')) {
			free(dirs);
			return kumo_error(err, KUMO_E_INVALID,
					  "config `%s`: cni_bin_dirs holds directory names without `:`",
					  path);
		}
		char *t = *dirs ? xasprintf("%s:%s", dirs, s) : xstrdup(s);
		free(dirs);
		dirs = t;
	}
	free(cfg->cni_bin_dirs);
	cfg->cni_bin_dirs = dirs;
	return 0;
}

static const char *const backends[] = {"real", "test", NULL};
static const char *const vm_backends[] = {"qemu", "libvirt", NULL};
static const char *const accels[] = {"auto", "kvm", "tcg", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const host_networks[] = {"refuse", "no-network", NULL};
static const char *const runtimes[] = {"downstream", "kumo", NULL};

/* kumo's runtime handler names: non-empty (the empty handler is the default, which
 * default_runtime decides), no two alike. Replaces the list. */
static int set_handlers(struct cri_config *cfg, const char *what, char **names, size_t n,
			kumo_error_t *err)
{
	if (n == 0)
		return kumo_error(err, KUMO_E_INVALID, "%s: name at least one runtime handler", what);
	for (size_t i = 0; i < n; i++) {
		if (!*names[i])
			return kumo_error(err, KUMO_E_INVALID,
					  "%s: the empty handler is the default, not a name "
					  "(default_runtime says where it runs)", what);
		for (size_t k = 0; k < i; k++)
			if (strcmp(names[i], names[k]) == 0)
				return kumo_error(err, KUMO_E_INVALID, "%s: `%s` is named twice",
						  what, names[i]);
	}
	for (size_t i = 0; cfg->kumo_handlers && cfg->kumo_handlers[i]; i++)
		free(cfg->kumo_handlers[i]);
	free(cfg->kumo_handlers);
	cfg->kumo_handlers = xzalloc(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++)
		cfg->kumo_handlers[i] = xstrdup(names[i]);
	return 0;
}

/* --kumo-handlers a,b */
static int set_handlers_csv(struct cri_config *cfg, const char *v, kumo_error_t *err)
{
	autofree char *copy = xstrdup(v);
	char *names[64];
	size_t n = 0;
	char *p = copy;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		if (n == 64)
			return kumo_error(err, KUMO_E_INVALID, "--kumo-handlers: more than 64 names");
		names[n++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	return set_handlers(cfg, "--kumo-handlers", names, n, err);
}

static int load_file(struct cri_config *cfg, const char *path, bool required, kumo_error_t *err)
{
	uint8_t *text = NULL;
	size_t len = 0;
	if (kumo_read_file(path, CRI_CONFIG_MAX_BYTES, &text, &len, err) < 0) {
		if (!required && access(path, F_OK) < 0 && errno == ENOENT) {
			kumo_error_free(err);
			return 0;
		}
		return kumo_error_wrap(err, "config");
	}
	int r = cri_config_parse_json(cfg, (const char *)text, len, path, err);
	free(text);
	return r;
}

int cri_config_parse_json(struct cri_config *cfg, const char *text, size_t len, const char *path,
			  kumo_error_t *err)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return kumo_error(err, KUMO_E_INVALID, "config `%s` line %d: %s", path, je.line,
				  je.text);
	int r = 0;
	const char *key;
	json_t *v;
	if (!json_is_object(j))
		r = kumo_error(err, KUMO_E_INVALID, "config `%s`: expected a JSON object", path);
	json_object_foreach(j, key, v) {
		if (r < 0)
			break;
		bool is_str = json_is_string(v);
		const char *s = json_string_value(v);
		if (strcmp(key, "socket") == 0 && is_str)
			set_str(&cfg->socket, s);
		else if (strcmp(key, "root") == 0 && is_str)
			set_str(&cfg->root, s);
		else if (strcmp(key, "backend") == 0 && is_str)
			r = check_choice("config backend", s, backends, err) < 0 ? -1
			    : (set_str(&cfg->backend, s), 0);
		else if (strcmp(key, "vm_backend") == 0 && is_str)
			r = check_choice("config vm_backend", s, vm_backends, err) < 0 ? -1
			    : (set_str(&cfg->vm_backend, s), 0);
		else if (strcmp(key, "pod_vm") == 0 && json_is_boolean(v))
			cfg->pod_vm = json_is_true(v);
		else if (strcmp(key, "pod_vm_snapshot_start") == 0 && json_is_boolean(v))
			cfg->pod_vm_snapshot_start = json_is_true(v);
		else if (strcmp(key, "accel") == 0 && is_str)
			r = check_choice("config accel", s, accels, err) < 0 ? -1
			    : (set_str(&cfg->accel, s), 0);
		else if (strcmp(key, "bridge") == 0 && is_str)
			log_warn("config `%s`: `bridge` is no longer used: pods take their network "
				 "from CNI (cni_conf_dir)", path);
		else if (strcmp(key, "cni_conf_dir") == 0 && is_str)
			set_str(&cfg->cni_conf_dir, s);
		else if (strcmp(key, "netns_dir") == 0 && is_str)
			set_str(&cfg->netns_dir, s);
		else if (strcmp(key, "cni_bin_dirs") == 0 && (is_str || json_is_array(v)))
			r = set_dirs(cfg, path, v, err);
		else if (strcmp(key, "pod_cidr") == 0 && is_str)
			set_str(&cfg->pod_cidr, s);
		else if (strcmp(key, "host_network") == 0 && is_str)
			r = check_choice("config host_network", s, host_networks, err) < 0 ? -1
			    : (set_str(&cfg->host_network, s), 0);
		else if (strcmp(key, "stream_address") == 0 && is_str)
			set_str(&cfg->stream_address, s);
		else if (strcmp(key, "stream_token_ttl_ms") == 0 && json_is_integer(v) &&
			 json_integer_value(v) > 0 && json_integer_value(v) <= 3600000)
			cfg->stream_token_ttl_ms = (int)json_integer_value(v);
		else if (strcmp(key, "socket_group") == 0 && is_str)
			set_str(&cfg->socket_group, s);
		else if (strcmp(key, "jail") == 0 && json_is_boolean(v))
			cfg->jail = json_is_true(v);
		else if (strcmp(key, "jail_user") == 0 && is_str)
			set_str(&cfg->jail_user, s);
		else if (strcmp(key, "jail_memory_overhead_mib") == 0 && json_is_integer(v) &&
			 json_integer_value(v) >= 1 && json_integer_value(v) <= 65536)
			cfg->jail_memory_overhead_mib = (int)json_integer_value(v);
		else if (strcmp(key, "log_level") == 0 && is_str)
			r = check_choice("config log_level", s, levels, err) < 0 ? -1
			    : (set_str(&cfg->log_level, s), 0);
		else if (strcmp(key, "workers") == 0 && json_is_integer(v) &&
			 json_integer_value(v) > 0 && json_integer_value(v) <= 256)
			cfg->workers = (int)json_integer_value(v);
		else if (strcmp(key, "shutdown_grace_ms") == 0 && json_is_integer(v) &&
			 json_integer_value(v) >= 0 && json_integer_value(v) <= 3600000)
			cfg->shutdown_grace_ms = (int)json_integer_value(v);
		else if (is_limit_key(key) && json_is_integer(v) && json_integer_value(v) >= 0) {
			char num[32];
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			r = kumo_compile_limit_set(&cfg->limits, key, num, err);
		} else if (strcmp(key, "downstream_endpoint") == 0 && is_str)
			set_str(&cfg->downstream_endpoint, s);
		else if (strcmp(key, "default_runtime") == 0 && is_str)
			r = check_choice("config default_runtime", s, runtimes, err) < 0 ? -1
			    : (set_str(&cfg->default_runtime, s), 0);
		else if (strcmp(key, "kumo_handlers") == 0 && json_is_array(v)) {
			size_t i, n = json_array_size(v);
			json_t *h;
			autofree char **names = xzalloc(sizeof(char *) * (n + 1));
			json_array_foreach(v, i, h) {
				if (!json_is_string(h)) {
					r = kumo_error(err, KUMO_E_INVALID,
						       "config `%s`: kumo_handlers holds strings", path);
					break;
				}
				names[i] = (char *)json_string_value(h);
			}
			if (r == 0)
				r = set_handlers(cfg, "config kumo_handlers", names, n, err);
		} else if (strcmp(key, "insecure_registries") == 0 && json_is_array(v)) {
			size_t i;
			json_t *h;
			json_array_foreach(v, i, h) {
				if (!json_is_string(h)) {
					r = kumo_error(err, KUMO_E_INVALID,
						       "config `%s`: insecure_registries holds strings",
						       path);
					break;
				}
				add_registry(cfg, json_string_value(h));
			}
		} else
			r = kumo_error(err, KUMO_E_INVALID,
				       "config `%s`: unknown key or wrong type for `%s`", path, key);
	}
	json_decref(j);
	return r;
}

int cri_config_load(struct cri_config *cfg, const char *path, bool required, int argc,
		    char **argv, bool *show_version, kumo_error_t *err)
{
	*cfg = (struct cri_config){0};
	cfg->socket = xstrdup(CRI_DEFAULT_SOCKET);
	cfg->root = xstrdup(CRI_DEFAULT_ROOT);
	cfg->backend = xstrdup("real");
	cfg->vm_backend = xstrdup(CRI_DEFAULT_VM_BACKEND);
	cfg->accel = xstrdup("auto");
	cfg->pod_vm = true;
	cfg->log_level = xstrdup("info");
	cfg->host_network = xstrdup("refuse");
	cfg->stream_address = xstrdup("127.0.0.1:0");
	cfg->stream_token_ttl_ms = 60000;
	cfg->downstream_endpoint = xstrdup(CRI_DEFAULT_DOWNSTREAM);
	cfg->default_runtime = xstrdup("downstream");
	cfg->kumo_handlers = xzalloc(sizeof(char *) * 2);
	cfg->kumo_handlers[0] = xstrdup(CRI_DEFAULT_KUMO_HANDLER);
	cfg->workers = 8;
	cfg->shutdown_grace_ms = 10000;
	cfg->jail = true;
	cfg->insecure_registries = xzalloc(sizeof(char *));
	cfg->limits = KUMO_COMPILE_LIMITS_DEFAULT;
	*show_version = false;

	/* --config first: the file comes before every other flag. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[i + 1];
			required = true;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			path = argv[i] + 9;
			required = true;
		}
	}
	if (path && load_file(cfg, path, required, err) < 0)
		return -1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--version") == 0) {
			*show_version = true;
			continue;
		}
		const char *eq = strchr(a, '=');
		autofree char *name = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
		const char *val = eq ? eq + 1 : NULL;
		static const char *const with_value[] = {"--socket", "--root", "--insecure-registry",
							 "--backend", "--log-level", "--workers",
							 "--config", "--shutdown-grace-ms",
							 "--vm-backend", "--cni-conf-dir",
							 "--cni-bin-dirs", "--netns-dir",
							 "--pod-cidr", "--accel", "--host-network",
							 "--stream-address", "--stream-token-ttl-ms",
							 "--downstream-endpoint", "--kumo-handlers",
							 "--default-runtime", "--socket-group",
							 "--jail", "--pod-vm",
							 "--pod-vm-snapshot-start", NULL};
		bool limit = strncmp(name, "--", 2) == 0 && strchr(name + 2, '_') == NULL &&
			     is_limit_key(name + 2);
		bool known = limit;
		for (size_t k = 0; with_value[k]; k++)
			known |= strcmp(name, with_value[k]) == 0;
		if (!known)
			return kumo_error(err, KUMO_E_INVALID, "unknown option `%s`", a);
		if (!val) {
			if (i + 1 >= argc)
				return kumo_error(err, KUMO_E_INVALID, "option `%s` needs a value", a);
			val = argv[++i];
		}
		if (limit) {
			if (kumo_compile_limit_set(&cfg->limits, name + 2, val, err) < 0)
				return -1;
		} else if (strcmp(name, "--socket") == 0)
			set_str(&cfg->socket, val);
		else if (strcmp(name, "--socket-group") == 0)
			set_str(&cfg->socket_group, val);
		else if (strcmp(name, "--jail") == 0) {
			if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0)
				return kumo_error(err, KUMO_E_INVALID, "--jail `%s`: want on or off",
						  val);
			cfg->jail = strcmp(val, "on") == 0;
		}
		else if (strcmp(name, "--root") == 0)
			set_str(&cfg->root, val);
		else if (strcmp(name, "--cni-conf-dir") == 0)
			set_str(&cfg->cni_conf_dir, val);
		else if (strcmp(name, "--cni-bin-dirs") == 0)
			set_str(&cfg->cni_bin_dirs, val);
		else if (strcmp(name, "--netns-dir") == 0)
			set_str(&cfg->netns_dir, val);
		else if (strcmp(name, "--pod-cidr") == 0)
			set_str(&cfg->pod_cidr, val);
		else if (strcmp(name, "--stream-address") == 0)
			set_str(&cfg->stream_address, val);
		else if (strcmp(name, "--stream-token-ttl-ms") == 0) {
			if (parse_int("--stream-token-ttl-ms", val, &cfg->stream_token_ttl_ms, err) < 0)
				return -1;
			if (cfg->stream_token_ttl_ms < 1)
				return kumo_error(err, KUMO_E_INVALID,
						  "--stream-token-ttl-ms: `%s` is not positive", val);
		} else if (strcmp(name, "--insecure-registry") == 0)
			add_registry(cfg, val);
		else if (strcmp(name, "--backend") == 0) {
			if (check_choice("--backend", val, backends, err) < 0)
				return -1;
			set_str(&cfg->backend, val);
		} else if (strcmp(name, "--vm-backend") == 0) {
			if (check_choice("--vm-backend", val, vm_backends, err) < 0)
				return -1;
			set_str(&cfg->vm_backend, val);
		} else if (strcmp(name, "--pod-vm") == 0) {
			if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
				return kumo_error(err, KUMO_E_INVALID,
						  "--pod-vm: `%s` is not true or false", val);
			cfg->pod_vm = strcmp(val, "true") == 0;
		} else if (strcmp(name, "--pod-vm-snapshot-start") == 0) {
			if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
				return kumo_error(err, KUMO_E_INVALID,
						  "--pod-vm-snapshot-start: `%s` is not true or false", val);
			cfg->pod_vm_snapshot_start = strcmp(val, "true") == 0;
		} else if (strcmp(name, "--accel") == 0) {
			if (check_choice("--accel", val, accels, err) < 0)
				return -1;
			set_str(&cfg->accel, val);
		} else if (strcmp(name, "--host-network") == 0) {
			if (check_choice("--host-network", val, host_networks, err) < 0)
				return -1;
			set_str(&cfg->host_network, val);
		} else if (strcmp(name, "--downstream-endpoint") == 0) {
			set_str(&cfg->downstream_endpoint, val);
		} else if (strcmp(name, "--kumo-handlers") == 0) {
			if (set_handlers_csv(cfg, val, err) < 0)
				return -1;
		} else if (strcmp(name, "--default-runtime") == 0) {
			if (check_choice("--default-runtime", val, runtimes, err) < 0)
				return -1;
			set_str(&cfg->default_runtime, val);
		} else if (strcmp(name, "--log-level") == 0) {
			if (check_choice("--log-level", val, levels, err) < 0)
				return -1;
			set_str(&cfg->log_level, val);
		} else if (strcmp(name, "--workers") == 0) {
			if (parse_int("--workers", val, &cfg->workers, err) < 0)
				return -1;
			if (cfg->workers < 1 || cfg->workers > 256)
				return kumo_error(err, KUMO_E_INVALID, "--workers: `%s` is not in 1..256",
						  val);
		} else if (strcmp(name, "--shutdown-grace-ms") == 0) {
			if (parse_int("--shutdown-grace-ms", val, &cfg->shutdown_grace_ms, err) < 0)
				return -1;
		}
	}
	if (cfg->socket[0] != '/' || cfg->root[0] != '/')
		return kumo_error(err, KUMO_E_INVALID,
				  "socket `%s` and root `%s` must be absolute paths", cfg->socket,
				  cfg->root);
	return 0;
}

void cri_config_clear(struct cri_config *cfg)
{
	free(cfg->socket);
	free(cfg->root);
	free(cfg->backend);
	free(cfg->vm_backend);
	free(cfg->socket_group);
	free(cfg->jail_user);
	free(cfg->accel);
	free(cfg->log_level);
	free(cfg->cni_conf_dir);
	free(cfg->cni_bin_dirs);
	free(cfg->netns_dir);
	free(cfg->pod_cidr);
	free(cfg->host_network);
	free(cfg->stream_address);
	free(cfg->downstream_endpoint);
	free(cfg->default_runtime);
	for (size_t i = 0; cfg->kumo_handlers && cfg->kumo_handlers[i]; i++)
		free(cfg->kumo_handlers[i]);
	free(cfg->kumo_handlers);
	for (size_t i = 0; cfg->insecure_registries && cfg->insecure_registries[i]; i++)
		free(cfg->insecure_registries[i]);
	free(cfg->insecure_registries);
	*cfg = (struct cri_config){0};
}
