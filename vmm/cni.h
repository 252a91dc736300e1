/* vmm/cni.h - private to vmm/: a CNI runtime after the Container Network Interface
 * specification v1.0.0 (github.com/containernetworking/cni SPEC.md at spec-v1.0.0):
 * network configuration loading, plugin lookup and execution, ADD/CHECK/DEL over a
 * list with prevResult chaining and runtimeConfig, VERSION, and result parsing.
 * vmm/podnet.c drives it per pod; tests/unit/test_vmm_cni.c tests the pure parts.
 *
 * Everything here is synchronous and thread-safe (no global state): one call runs the
 * plugins one after another as child processes. Functions returning int return 0 on
 * success and -1 with *err set.
 */
#ifndef KUMO_VMM_CNI_H
#define KUMO_VMM_CNI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#define CNI_DEFAULT_CONF_DIR "/etc/cni/net.d"
#define CNI_DEFAULT_PLUGIN_PATH "/opt/cni/bin:/usr/lib/cni"
#define CNI_DEFAULT_TIMEOUT_MS 60000
#define CNI_CONF_MAX_BYTES (1u << 20)   /* a network configuration file */
#define CNI_OUTPUT_MAX_BYTES (1u << 20) /* a plugin's stdout */

/* ---- Network configuration -------------------------------------------------------- */

/* One network configuration (a "list"; a single-plugin .conf becomes a list of one, as
 * libcni's ConfListFromConf does). */
struct cni_netconf {
	char *origin;       /* the file it was read from, or a caller's label */
	char *name;         /* network name (required) */
	char *cni_version;  /* the list's cniVersion (required) */
	bool disable_check; /* "disableCheck": CHECK is a no-op */
	json_t *plugins;    /* array of plugin configuration objects, each with a "type" */
};

/* Parses a network configuration from text. list: the text is a .conflist (a "plugins"
 * array), else a single plugin configuration (.conf / .json) that becomes a list of one.
 * Checks what the spec requires: name (alphanumeric start, then [A-Za-z0-9_.-]),
 * cniVersion, at least one plugin, every plugin a JSON object whose "type" is a
 * non-empty string without '/'. Errors name origin and the offending key. */
int cni_conf_parse(const char *text, size_t len, bool list, const char *origin,
		   struct cni_netconf **out, kumo_error_t *err);
/* Reads and parses one file; a name ending in ".conflist" is a list, ".conf" and
 * ".json" are single configurations. */
int cni_conf_load_file(const char *path, struct cni_netconf **out, kumo_error_t *err);
/* The first configuration file of dir in lexical (byte) order among *.conflist, *.conf
 * and *.json (libcni's extensions), parsed. KUMO_E_NOT_FOUND when dir is missing or
 * holds none; a malformed first file is an error (it is not skipped: the administrator
 * meant it). */
int cni_conf_load_dir(const char *dir, struct cni_netconf **out, kumo_error_t *err);
/* The list as one JSON object {"cniVersion","name","disableCheck"?,"plugins"} (what
 * records keep so that DEL runs the configuration ADD ran). New reference. */
json_t *cni_conf_to_json(const struct cni_netconf *c);
void cni_conf_free(struct cni_netconf *c); /* NULL is fine */

/* ---- Results ---------------------------------------------------------------------- */

struct cni_interface {
	char *name;    /* interface name */
	char *mac;     /* "aa:bb:cc:dd:ee:ff", NULL when absent */
	char *sandbox; /* netns path for interfaces in the container, NULL on the host */
};

struct cni_ip {
	int family;          /* AF_INET or AF_INET6 */
	char address[46];    /* the address without its prefix */
	unsigned prefix;     /* prefix length */
	char gateway[46];    /* "" when none */
	int interface;       /* index into interfaces, -1 when absent */
};

struct cni_route {
	int family;          /* AF_INET or AF_INET6 */
	char dst[46];        /* destination network address */
	unsigned prefix;     /* destination prefix length */
	char gw[46];         /* next hop, "" when none (the ip's gateway may be used) */
};

struct cni_dns {
	char **nameservers;  /* in priority order */
	size_t nnameservers;
	char *domain;        /* NULL when absent */
	char **search;
	size_t nsearch;
	char **options;
	size_t noptions;
};

/* A Success result (spec section 5), any version from 0.1.0 to 1.x: 0.1.0/0.2.0
 * results ("ip4"/"ip6" objects) are read into ips and routes as libcni converts them. */
struct cni_result {
	char *cni_version;               /* as the plugin wrote it, "" when absent */
	struct cni_interface *interfaces;
	size_t ninterfaces;
	struct cni_ip *ips;
	size_t nips;
	struct cni_route *routes;
	size_t nroutes;
	struct cni_dns dns;
	json_t *json;                    /* the result object itself (the next prevResult) */
};

/* Parses and checks a plugin's ADD output: a JSON object; every address and gateway
 * an IP literal (addresses in CIDR notation), every interface index in range, every MAC
 * six hex pairs, every list of the right type. Errors say which field and why
 * ("`ips[0].address` `10.1.2.3` is not in CIDR notation"). */
int cni_result_parse(const char *text, size_t len, struct cni_result **out, kumo_error_t *err);
/* The same from an already-decoded object (records); takes a new reference to j. */
int cni_result_from_json(json_t *j, struct cni_result **out, kumo_error_t *err);
void cni_result_free(struct cni_result *r); /* NULL is fine */

/* ---- Execution -------------------------------------------------------------------- */

/* One attachment (spec section 3: container id, namespace, interface, args) and how
 * plugins are run for it. */
struct cni_attachment {
	const char *container_id; /* CNI_CONTAINERID: [A-Za-z0-9][A-Za-z0-9_.-]* */
	const char *netns;        /* CNI_NETNS, NULL or "" for a DEL whose namespace is gone */
	const char *ifname;       /* CNI_IFNAME */
	const char *args;         /* CNI_ARGS ("K=V;K=V"), NULL: none */
	const char *plugin_path;  /* CNI_PATH and where plugins are looked up (':'-separated) */
	json_t *capabilities;     /* capability arguments by name ({"portMappings": [...]}),
				   * NULL: none; borrowed */
	int timeout_ms;           /* per plugin run, <= 0: CNI_DEFAULT_TIMEOUT_MS */
};

/* Finds the executable named type in the ':'-separated path: the first dir/type that is
 * an executable regular file. Returns its path (caller frees) or NULL. */
char *cni_find_plugin(const char *plugin_path, const char *type);

/* The request configuration for one plugin run (spec "Deriving execution configuration
 * from plugin configuration"): the plugin object with "cniVersion" and "name" from the
 * list, "capabilities" removed, "runtimeConfig" holding each capability the plugin
 * declares true and caps provides (absent when none), and "prevResult" when prev is not
 * NULL. Returns compact JSON text (caller frees). Pure. */
char *cni_request(const struct cni_netconf *c, const json_t *plugin, const json_t *caps,
		  const json_t *prev);

/* ADD: every plugin in order, each given the previous one's result; the last result is
 * returned (*result, caller frees). On a plugin's failure execution stops and the error
 * carries the plugin's own message ("plugin `bridge` ADD: <msg>: <details>"); the caller
 * must still DEL the attachment (spec "Lifecycle"). */
int cni_add(const struct cni_netconf *c, const struct cni_attachment *at,
	    struct cni_result **result, kumo_error_t *err);
/* CHECK: every plugin in order with prev (the final ADD result); a no-op when the list
 * has disableCheck. */
int cni_check(const struct cni_netconf *c, const struct cni_attachment *at, const json_t *prev,
	      kumo_error_t *err);
/* DEL: every plugin in reverse order with prev (the final ADD result, NULL when ADD
 * never finished). Stops at the first failure. */
int cni_del(const struct cni_netconf *c, const struct cni_attachment *at, const json_t *prev,
	    kumo_error_t *err);
/* VERSION of one plugin: its supportedVersions (NULL-terminated, caller frees each and
 * the array) for cniVersion version. */
int cni_version(const char *plugin_path, const char *type, const char *version, int timeout_ms,
		char ***supported, kumo_error_t *err);

/* What a plugin run produced. */
struct cni_exec_result {
	int status;   /* exit status 0-255, 128+N when killed by signal N */
	bool timed_out; /* killed after the timeout */
	char *out;    /* stdout, NUL-terminated (at most CNI_OUTPUT_MAX_BYTES) */
	size_t outlen;
	char *errout; /* stderr, NUL-terminated (the last 64 KiB) */
};
/* Runs exe with envp (complete environment), input on its stdin (a socket, so a plugin
 * that exits early never raises SIGPIPE here), collecting stdout and stderr, in its own
 * process group, which is killed when timeout_ms passes. -1 only when it cannot run. */
int cni_exec(const char *exe, char *const envp[], const char *input, size_t inlen, int timeout_ms,
	     struct cni_exec_result *res, kumo_error_t *err);
void cni_exec_result_clear(struct cni_exec_result *res);

/* The message of a failed run: the plugin's Error result ("msg: details (code N)") when
 * stdout holds one, else the last line of stderr, else the exit status. Caller frees. */
char *cni_exec_error(const struct cni_exec_result *res);

#endif /* KUMO_VMM_CNI_H */
