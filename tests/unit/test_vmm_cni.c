/* tests/unit/test_vmm_cni.c - vmm/'s CNI runtime without real plugins: network
 * configuration loading (lists, single configurations, lexical choice, malformed
 * files), result parsing (1.0.0, 0.4.0, 0.2.0, IPv6, malformed inputs field by field),
 * request derivation (name/cniVersion injected, capabilities to runtimeConfig,
 * prevResult), the plugin protocol against shell-script plugins (environment, stdin,
 * chaining, DEL order, errors, timeouts), readiness, and the default network list
 * (byte-identical to deploy/cni/99-kumo.conflist). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/cni.h"
#include "vmm/vmm.h"

static char dir[] = "/tmp/kumo-cni-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	autofree char *cmd = xasprintf("rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, int mode)
{
	autofree char *copy = xstrdup(path);
	char *slash = strrchr(copy, '/');
	*slash = 0;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_mkdir_p(copy, 0755, &err), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

/* Parses text and expects failure whose message contains want. */
static void conf_fails(const char *text, bool list, const char *want)
{
	struct cni_netconf *c = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cni_conf_parse(text, strlen(text), list, "t.conflist", &c, &err), -1);
	assert_null(c);
	if (!strstr(kumo_error_msg(err), want))
		fail_msg("message `%s` lacks `%s`", kumo_error_msg(err), want);
	kumo_error_free(&err);
}

static void test_conf_list(void **state)
{
	(void)state;
	const char *t = "{\"cniVersion\":\"1.0.0\",\"name\":\"net-1.a_b\",\"disableCheck\":true,"
			"\"plugins\":[{\"type\":\"bridge\",\"x\":[1,2]},{\"type\":\"portmap\","
			"\"capabilities\":{\"portMappings\":true}}]}";
	struct cni_netconf *c = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cni_conf_parse(t, strlen(t), true, "t", &c, &err), 0);
	assert_string_equal(c->name, "net-1.a_b");
	assert_string_equal(c->cni_version, "1.0.0");
	assert_true(c->disable_check);
	assert_int_equal(json_array_size(c->plugins), 2);
	/* The list round-trips through records. */
	json_t *j = cni_conf_to_json(c);
	char *s = json_dumps(j, JSON_COMPACT);
	struct cni_netconf *c2 = NULL;
	assert_int_equal(cni_conf_parse(s, strlen(s), true, "again", &c2, &err), 0);
	assert_true(json_equal(c->plugins, c2->plugins));
	assert_true(c2->disable_check);
	free(s);
	json_decref(j);
	cni_conf_free(c2);
	cni_conf_free(c);
}

static void test_conf_single(void **state)
{
	(void)state;
	const char *t = "{\"cniVersion\":\"0.4.0\",\"name\":\"one\",\"type\":\"ptp\",\"ipMasq\":true}";
	struct cni_netconf *c = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cni_conf_parse(t, strlen(t), false, "t.conf", &c, &err), 0);
	assert_int_equal(json_array_size(c->plugins), 1);
	const json_t *p = json_array_get(c->plugins, 0);
	assert_string_equal(json_string_value(json_object_get(p, "type")), "ptp");
	assert_true(json_is_true(json_object_get(p, "ipMasq")));
	cni_conf_free(c);
}

static void test_conf_malformed(void **state)
{
	(void)state;
	conf_fails("{\"name\":", true, "is not valid JSON");
	conf_fails("[1]", true, "is not a JSON object");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"a\"}]}", true, "`name`");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"-x\",\"plugins\":[{\"type\":\"a\"}]}", true,
		   "`name`");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"a b\",\"plugins\":[{\"type\":\"a\"}]}", true,
		   "`name`");
	conf_fails("{\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}", true, "`cniVersion` is missing");
	conf_fails("{\"cniVersion\":\"\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}", true,
		   "`cniVersion` is missing");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", true, "`plugins` is missing or empty");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[]}", true, "`plugins` is missing");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[3]}", true,
		   "`plugins[0]` is not an object");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"},{}]}", true,
		   "`plugins[1].type`");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"../bin/sh\"}]}",
		   true, "`plugins[0].type`");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\","
		   "\"capabilities\":true}]}",
		   true, "`plugins[0].capabilities` is not an object");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"name\":\"m\",\"plugins\":[]}", true,
		   "duplicate");
	conf_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", false, "`plugins[0].type`");
}

static void test_conf_dir(void **state)
{
	(void)state;
	autofree char *d = tmp_path("confdir");
	struct cni_netconf *c = NULL;
	kumo_error_t err = NULL;
	/* Missing, then empty of configurations. */
	assert_int_equal(cni_conf_load_dir(d, &c, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	assert_non_null(strstr(kumo_error_msg(err), "does not exist"));
	kumo_error_free(&err);
	autofree char *junk = xasprintf("%s/README", d);
	write_file(junk, "not a config", 0644);
	autofree char *hidden = xasprintf("%s/.00-hidden.conflist", d);
	write_file(hidden, "{", 0644);
	assert_int_equal(cni_conf_load_dir(d, &c, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	assert_non_null(strstr(kumo_error_msg(err), "no network configuration in"));
	kumo_error_free(&err);
	/* Lexical order decides, whatever the extension. */
	autofree char *b = xasprintf("%s/20-b.conflist", d);
	autofree char *a = xasprintf("%s/10-a.conf", d);
	autofree char *z = xasprintf("%s/99-z.json", d);
	write_file(b, "{\"cniVersion\":\"1.0.0\",\"name\":\"b\",\"plugins\":[{\"type\":\"bridge\"}]}", 0644);
	write_file(z, "{\"cniVersion\":\"1.0.0\",\"name\":\"z\",\"type\":\"ptp\"}", 0644);
	assert_int_equal(cni_conf_load_dir(d, &c, &err), 0);
	assert_string_equal(c->name, "b");
	cni_conf_free(c);
	write_file(a, "{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"type\":\"ptp\"}", 0644);
	assert_int_equal(cni_conf_load_dir(d, &c, &err), 0);
	assert_string_equal(c->name, "a");
	assert_string_equal(c->origin, a);
	cni_conf_free(c);
	/* A malformed first file is an error naming it, not skipped. */
	write_file(a, "{\"cniVersion\":\"1.0.0\",", 0644);
	assert_int_equal(cni_conf_load_dir(d, &c, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "10-a.conf"));
	assert_non_null(strstr(kumo_error_msg(err), "is not valid JSON"));
	kumo_error_free(&err);
}

static struct cni_result *parse_ok(const char *t)
{
	struct cni_result *r = NULL;
	kumo_error_t err = NULL;
	if (cni_result_parse(t, strlen(t), &r, &err) < 0)
		fail_msg("parse failed: %s", kumo_error_msg(err));
	return r;
}

static void result_fails(const char *t, const char *want)
{
	struct cni_result *r = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cni_result_parse(t, strlen(t), &r, &err), -1);
	assert_null(r);
	if (!strstr(kumo_error_msg(err), want))
		fail_msg("message `%s` lacks `%s`", kumo_error_msg(err), want);
	kumo_error_free(&err);
}

/* What Debian's bridge plugin returned here. */
static const char *bridge_result =
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cnit0\",\"mac\":\"66:d4:63:3e:a5:b9\"},"
	"{\"name\":\"vethf7e4645f\",\"mac\":\"92:14:f2:47:d0:5c\"},{\"name\":\"eth0\",\"mac\":"
	"\"ce:b6:2f:42:d7:bc\",\"sandbox\":\"/run/netns/p1\"}],\"ips\":[{\"interface\":2,\"address\":"
	"\"10.66.0.2/24\",\"gateway\":\"10.66.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}";

static void test_result_current(void **state)
{
	(void)state;
	struct cni_result *r = parse_ok(bridge_result);
	assert_string_equal(r->cni_version, "1.0.0");
	assert_int_equal(r->ninterfaces, 3);
	assert_string_equal(r->interfaces[2].name, "eth0");
	assert_string_equal(r->interfaces[2].mac, "ce:b6:2f:42:d7:bc");
	assert_string_equal(r->interfaces[2].sandbox, "/run/netns/p1");
	assert_null(r->interfaces[0].sandbox);
	assert_int_equal(r->nips, 1);
	assert_int_equal(r->ips[0].family, AF_INET);
	assert_string_equal(r->ips[0].address, "10.66.0.2");
	assert_int_equal(r->ips[0].prefix, 24);
	assert_string_equal(r->ips[0].gateway, "10.66.0.1");
	assert_int_equal(r->ips[0].interface, 2);
	assert_int_equal(r->nroutes, 1);
	assert_string_equal(r->routes[0].dst, "0.0.0.0");
	assert_int_equal(r->routes[0].prefix, 0);
	assert_string_equal(r->routes[0].gw, "");
	assert_int_equal(r->dns.nnameservers, 0);
	assert_true(json_is_object(r->json));
	cni_result_free(r);

	/* 0.4.0 with "version" in ips, IPv6, DNS, a route's destination normalised. */
	r = parse_ok("{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],"
		     "\"ips\":[{\"version\":\"6\",\"interface\":0,\"address\":\"fd00::0005/64\","
		     "\"gateway\":\"fd00::1\"},{\"version\":\"4\",\"address\":\"192.168.9.7/30\"}],"
		     "\"routes\":[{\"dst\":\"10.1.2.3/16\",\"gw\":\"192.168.9.5\"},{\"dst\":\"::/0\"}],"
		     "\"dns\":{\"nameservers\":[\"10.96.0.10\",\"fd00::a\"],\"domain\":\"cluster.local\","
		     "\"search\":[\"default.svc.cluster.local\"],\"options\":[\"ndots:5\"]}}");
	assert_int_equal(r->nips, 2);
	assert_int_equal(r->ips[0].family, AF_INET6);
	assert_string_equal(r->ips[0].address, "fd00::5");
	assert_int_equal(r->ips[0].prefix, 64);
	assert_int_equal(r->ips[1].interface, -1);
	assert_string_equal(r->ips[1].gateway, "");
	assert_string_equal(r->routes[0].dst, "10.1.0.0");
	assert_int_equal(r->routes[0].prefix, 16);
	assert_string_equal(r->routes[0].gw, "192.168.9.5");
	assert_int_equal(r->routes[1].family, AF_INET6);
	assert_int_equal(r->dns.nnameservers, 2);
	assert_string_equal(r->dns.nameservers[1], "fd00::a");
	assert_string_equal(r->dns.domain, "cluster.local");
	assert_string_equal(r->dns.search[0], "default.svc.cluster.local");
	assert_string_equal(r->dns.options[0], "ndots:5");
	assert_null(r->interfaces[0].mac);
	cni_result_free(r);
}

static void test_result_legacy(void **state)
{
	(void)state;
	struct cni_result *r = parse_ok(
		"{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.2.0.9/16\",\"gateway\":\"10.2.0.1\","
		"\"routes\":[{\"dst\":\"0.0.0.0/0\"}]},\"dns\":{\"nameservers\":[\"10.2.0.1\"]}}");
	assert_int_equal(r->nips, 1);
	assert_string_equal(r->ips[0].address, "10.2.0.9");
	assert_int_equal(r->ips[0].prefix, 16);
	assert_string_equal(r->ips[0].gateway, "10.2.0.1");
	assert_int_equal(r->nroutes, 1);
	assert_int_equal(r->dns.nnameservers, 1);
	cni_result_free(r);
}

static void test_result_malformed(void **state)
{
	(void)state;
	result_fails("", "not valid JSON");
	result_fails("not json", "not valid JSON");
	result_fails("[]", "not a JSON object");
	result_fails("{\"cniVersion\":1}", "`result.cniVersion` is not a string");
	result_fails("{\"interfaces\":{}}", "`interfaces` is not a list");
	result_fails("{\"interfaces\":[1]}", "`interfaces[0]` is not an object");
	result_fails("{\"interfaces\":[{\"mac\":\"aa:bb:cc:dd:ee:ff\"}]}", "`interfaces[0]` has no `name`");
	result_fails("{\"interfaces\":[{\"name\":\"e\",\"mac\":\"aa:bb:cc:dd:ee\"}]}",
		     "`interfaces[0].mac` `aa:bb:cc:dd:ee` is not a MAC address");
	result_fails("{\"interfaces\":[{\"name\":\"e\",\"mac\":\"aa:bb:cc:dd:ee:fg\"}]}", "not a MAC");
	result_fails("{\"interfaces\":[{\"name\":7}]}", "`interfaces[0].name` is not a string");
	result_fails("{\"ips\":\"10.0.0.1/8\"}", "`ips` is not a list");
	result_fails("{\"ips\":[{}]}", "`ips[0]` has no `address`");
	result_fails("{\"ips\":[{\"address\":\"10.0.0.1\"}]}",
		     "`ips[0].address` `10.0.0.1` is not an address in CIDR notation");
	result_fails("{\"ips\":[{\"address\":\"10.0.0.1/33\"}]}", "is not an address in CIDR");
	result_fails("{\"ips\":[{\"address\":\"10.0.0.1/-1\"}]}", "is not an address in CIDR");
	result_fails("{\"ips\":[{\"address\":\"10.0.0.1/8x\"}]}", "is not an address in CIDR");
	result_fails("{\"ips\":[{\"address\":\"10.0.0.256/8\"}]}", "is not an address in CIDR");
	result_fails("{\"ips\":[{\"address\":\"/8\"}]}", "is not an address in CIDR");
	result_fails("{\"ips\":[{\"address\":\"fd00::1/129\"}]}", "is not an address in CIDR");
	result_fails("{\"ips\":[{\"address\":\"10.0.0.2/8\",\"gateway\":\"10.0.0\"}]}",
		     "`ips[0].gateway` `10.0.0` is not an address");
	result_fails("{\"ips\":[{\"address\":\"10.0.0.2/8\",\"gateway\":\"fd00::1\"}]}", "same family");
	result_fails("{\"ips\":[{\"address\":\"10.0.0.2/8\",\"interface\":0}]}",
		     "`ips[0].interface` is not an index into `interfaces` (0 entries)");
	result_fails("{\"interfaces\":[{\"name\":\"e\"}],\"ips\":[{\"address\":\"10.0.0.2/8\","
		     "\"interface\":-1}]}",
		     "`ips[0].interface`");
	result_fails("{\"interfaces\":[{\"name\":\"e\"}],\"ips\":[{\"address\":\"10.0.0.2/8\","
		     "\"interface\":\"0\"}]}",
		     "`ips[0].interface`");
	result_fails("{\"routes\":[{\"dst\":\"10.0.0.0\"}]}", "`routes[0].dst` `10.0.0.0` is not in CIDR");
	result_fails("{\"routes\":[{}]}", "`routes[0].dst` `` is not in CIDR");
	result_fails("{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"::1\"}]}", "`routes[0].gw` `::1`");
	result_fails("{\"routes\":{}}", "`routes` is not a list");
	result_fails("{\"dns\":[]}", "`dns` is not an object");
	result_fails("{\"dns\":{\"nameservers\":\"1.1.1.1\"}}", "`dns.nameservers` is not a list");
	result_fails("{\"dns\":{\"nameservers\":[\"dns.example\"]}}",
		     "`dns.nameservers[0]` `dns.example` is not an IP address");
	result_fails("{\"dns\":{\"search\":[1]}}", "`dns.search[0]` is not a string");
	result_fails("{\"dns\":{\"domain\":[]}}", "`dns.domain` is not a string");
	result_fails("{\"ip4\":{\"ip\":\"10.0.0.1\"}}", "`ip4.ip` `10.0.0.1` is not an address in CIDR");
}

static void test_request(void **state)
{
	(void)state;
	const char *t = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":[{\"type\":\"portmap\","
			"\"capabilities\":{\"portMappings\":true,\"bandwidth\":false,\"ips\":true},"
			"\"runtimeConfig\":{\"stale\":1},\"keep\":{\"a\":[1]}},{\"type\":\"plain\"}]}";
	struct cni_netconf *c = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cni_conf_parse(t, strlen(t), true, "t", &c, &err), 0);
	json_t *caps = json_pack("{s:[{s:i,s:i,s:s}], s:{s:i}, s:{s:[s]}}", "portMappings", "hostPort",
				 8080, "containerPort", 80, "protocol", "tcp", "bandwidth",
				 "ingressRate", 1000, "dns", "servers", "10.96.0.10");
	json_t *prev = json_pack("{s:s, s:[]}", "cniVersion", "1.0.0", "ips");
	char *s = cni_request(c, json_array_get(c->plugins, 0), caps, prev);
	json_t *req = json_loads(s, 0, NULL);
	assert_non_null(req);
	assert_string_equal(json_string_value(json_object_get(req, "name")), "net");
	assert_string_equal(json_string_value(json_object_get(req, "cniVersion")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(req, "type")), "portmap");
	assert_null(json_object_get(req, "capabilities"));
	assert_non_null(json_object_get(req, "keep"));
	json_t *rc = json_object_get(req, "runtimeConfig");
	/* Declared true and provided; not declared, declared false, or not provided: absent. */
	assert_int_equal(json_object_size(rc), 1);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(rc, "portMappings"), 0), "hostPort")),
			 8080);
	assert_true(json_equal(json_object_get(req, "prevResult"), prev));
	json_decref(req);
	free(s);
	/* Nothing to inject: no runtimeConfig, no prevResult. */
	s = cni_request(c, json_array_get(c->plugins, 1), caps, NULL);
	req = json_loads(s, 0, NULL);
	assert_null(json_object_get(req, "runtimeConfig"));
	assert_null(json_object_get(req, "prevResult"));
	json_decref(req);
	free(s);
	json_decref(caps);
	json_decref(prev);
	cni_conf_free(c);
}

/* A plugin written in sh: logs its command, environment and stdin under dir/log, then
 * does what body says. */
static void make_plugin(const char *bin, const char *name, const char *body)
{
	autofree char *p = xasprintf("%s/%s", bin, name);
	autofree char *text = xasprintf(
		"#!/bin/sh\n"
		"in=$(cat)\n"
		"echo \"$CNI_COMMAND %s id=$CNI_CONTAINERID netns=$CNI_NETNS if=$CNI_IFNAME "
		"args=$CNI_ARGS path=$CNI_PATH\" >>%s/log\n"
		"printf '%%s\\n' \"$in\" >>%s/log.stdin\n"
		"%s\n",
		name, dir, dir, body);
	write_file(p, text, 0755);
}

static char *read_text(const char *path)
{
	uint8_t *buf = NULL;
	size_t len;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 1 << 20, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return xstrdup("");
	}
	return (char *)buf;
}

static struct cni_netconf *conf_of(const char *t)
{
	struct cni_netconf *c = NULL;
	kumo_error_t err = NULL;
	if (cni_conf_parse(t, strlen(t), true, "t", &c, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
	return c;
}

static void test_protocol(void **state)
{
	(void)state;
	autofree char *bin = tmp_path("bin");
	autofree char *log = tmp_path("log");
	autofree char *login = tmp_path("log.stdin");
	unlink(log);
	unlink(login);
	/* first: prints a result; second: passes prevResult through with its own marker. */
	make_plugin(bin, "first",
		    "[ \"$CNI_COMMAND\" = ADD ] && echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":"
		    "[{\"name\":\"eth0\",\"sandbox\":\"/ns\"}],\"ips\":[{\"address\":\"10.9.0.2/24\","
		    "\"gateway\":\"10.9.0.1\",\"interface\":0}]}'\nexit 0");
	make_plugin(bin, "second",
		    "[ \"$CNI_COMMAND\" = ADD ] && printf '%s' \"$in\" | "
		    "sed 's/.*\"prevResult\":\\(.*\\)}$/\\1/'\nexit 0");
	autofree char *path = xasprintf("/nonexistent:%s", bin);
	struct cni_netconf *c = conf_of("{\"cniVersion\":\"1.0.0\",\"name\":\"chain\",\"plugins\":"
					"[{\"type\":\"first\"},{\"type\":\"second\"}]}");
	struct cni_attachment at = {.container_id = "pod-1", .netns = "/ns", .ifname = "eth0",
				    .args = "IgnoreUnknown=1;K8S_POD_NAME=web", .plugin_path = path,
				    .timeout_ms = 10000};
	struct cni_result *r = NULL;
	kumo_error_t err = NULL;
	if (cni_add(c, &at, &r, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
	assert_string_equal(r->ips[0].address, "10.9.0.2");
	assert_int_equal(cni_del(c, &at, r->json, &err), 0);
	autofree char *l = read_text(log);
	autofree char *want = xasprintf(
		"ADD first id=pod-1 netns=/ns if=eth0 args=IgnoreUnknown=1;K8S_POD_NAME=web path=%s\n"
		"ADD second id=pod-1 netns=/ns if=eth0 args=IgnoreUnknown=1;K8S_POD_NAME=web path=%s\n"
		"DEL second id=pod-1 netns=/ns if=eth0 args=IgnoreUnknown=1;K8S_POD_NAME=web path=%s\n"
		"DEL first id=pod-1 netns=/ns if=eth0 args=IgnoreUnknown=1;K8S_POD_NAME=web path=%s\n",
		path, path, path, path);
	assert_string_equal(l, want);
	/* stdin: the first ADD without prevResult, the second with the first's result, both
	 * DELs with the final result. */
	autofree char *in = read_text(login);
	char *line2 = strchr(in, '\n') + 1, *line3 = strchr(line2, '\n') + 1;
	assert_true(strstr(in, "prevResult") > line2);
	assert_non_null(strstr(line2, "\"prevResult\":{"));
	assert_non_null(strstr(line3, "\"prevResult\":{"));
	assert_non_null(strstr(in, "\"name\":\"chain\""));
	cni_result_free(r);

	/* CHECK runs in order; disableCheck skips it. */
	unlink(log);
	assert_int_equal(cni_check(c, &at, NULL, &err), 0);
	autofree char *l2 = read_text(log);
	assert_non_null(strstr(l2, "CHECK first"));
	assert_true(strstr(l2, "CHECK first") < strstr(l2, "CHECK second"));
	c->disable_check = true;
	unlink(log);
	assert_int_equal(cni_check(c, &at, NULL, &err), 0);
	autofree char *l3 = read_text(log);
	assert_string_equal(l3, "");
	cni_conf_free(c);
}

static void test_protocol_errors(void **state)
{
	(void)state;
	autofree char *bin = tmp_path("ebin");
	make_plugin(bin, "ok", "echo '{\"cniVersion\":\"1.0.0\"}'");
	make_plugin(bin, "fails",
		    "echo '{\"cniVersion\":\"1.0.0\",\"code\":100,\"msg\":\"kumo test failure\","
		    "\"details\":\"the details\"}'; echo noise >&2; exit 1");
	make_plugin(bin, "stderr", "echo 'first line' >&2; echo 'the last words' >&2; exit 3");
	make_plugin(bin, "garbage", "echo 'this is not json'");
	make_plugin(bin, "badip", "echo '{\"ips\":[{\"address\":\"10.0.0.300/24\"}]}'");
	make_plugin(bin, "slow", "sleep 30");
	make_plugin(bin, "killed", "kill -9 $$");
	autofree char *noexec = xasprintf("%s/noexec", bin);
	write_file(noexec, "#!/bin/sh\n", 0644);
	struct cni_attachment at = {.container_id = "p", .netns = "/ns", .ifname = "eth0",
				    .plugin_path = bin, .timeout_ms = 10000};
	static const struct {
		const char *plugin, *want;
	} cases[] = {
		{"fails", "network `n`: plugin `fails` ADD failed: kumo test failure: the details (code 100)"},
		{"stderr", "plugin `stderr` ADD failed: the last words (exit status 3)"},
		{"garbage", "plugin `garbage` ADD: malformed result: the result is not valid JSON"},
		{"badip", "plugin `badip` ADD: malformed result: `ips[0].address` `10.0.0.300/24`"},
		{"missing", "plugin `missing` not found in the plugin path"},
		{"noexec", "plugin `noexec` not found in the plugin path"},
		{"killed", "plugin `killed` ADD failed: exit status 137, no message"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		autofree char *t = xasprintf("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":"
					     "[{\"type\":\"ok\"},{\"type\":\"%s\"}]}",
					     cases[i].plugin);
		struct cni_netconf *c = conf_of(t);
		struct cni_result *r = NULL;
		kumo_error_t err = NULL;
		assert_int_equal(cni_add(c, &at, &r, &err), -1);
		assert_null(r);
		if (!strstr(kumo_error_msg(err), cases[i].want))
			fail_msg("%s: message `%s` lacks `%s`", cases[i].plugin, kumo_error_msg(err),
				 cases[i].want);
		kumo_error_free(&err);
		cni_conf_free(c);
	}
	/* A hanging plugin is killed at the timeout. */
	struct cni_netconf *c = conf_of("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":"
					"[{\"type\":\"slow\"}]}");
	at.timeout_ms = 300;
	struct cni_result *r = NULL;
	kumo_error_t err = NULL;
	uint64_t t0 = kumo_now_ns();
	assert_int_equal(cni_add(c, &at, &r, &err), -1);
	uint64_t ms = (kumo_now_ns() - t0) / 1000000;
	assert_true(ms >= 300 && ms < 5000);
	assert_non_null(strstr(kumo_error_msg(err), "plugin `slow` ADD timed out after 300 ms"));
	kumo_error_free(&err);
	/* DEL stops at the first failure, in reverse order. */
	cni_conf_free(c);
	c = conf_of("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"fails\"},"
		    "{\"type\":\"stderr\"}]}");
	assert_int_equal(cni_del(c, &at, NULL, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "plugin `stderr` DEL failed"));
	kumo_error_free(&err);
	cni_conf_free(c);
}

static void test_exec(void **state)
{
	(void)state;
	autofree char *p = tmp_path("exec.sh");
	/* Reads all of a large stdin, answers with its size on stdout and a lot on stderr. */
	write_file(p, "#!/bin/sh\nn=$(wc -c)\nhead -c 200000 /dev/zero | tr '\\0' e >&2\necho \"$n\"\n",
		   0755);
	size_t len = 3u << 20;
	char *input = xmalloc(len);
	memset(input, 'x', len);
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	struct cni_exec_result res;
	kumo_error_t err = NULL;
	assert_int_equal(cni_exec(p, env, input, len, 20000, &res, &err), 0);
	assert_int_equal(res.status, 0);
	assert_false(res.timed_out);
	assert_int_equal(atol(res.out), (long)len);
	assert_true(strlen(res.errout) <= 64 * 1024);
	cni_exec_result_clear(&res);
	free(input);
	/* More than CNI_OUTPUT_MAX_BYTES on stdout is refused. */
	write_file(p, "#!/bin/sh\nhead -c 3000000 /dev/zero\n", 0755);
	assert_int_equal(cni_exec(p, env, "", 0, 20000, &res, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "wrote more than"));
	kumo_error_free(&err);
	/* A plugin that exits at once without reading its stdin is not an error here. */
	write_file(p, "#!/bin/sh\necho '{}'\n", 0755);
	char *big = xzalloc(1 << 20);
	memset(big, 'y', (1 << 20) - 1);
	assert_int_equal(cni_exec(p, env, big, (1 << 20) - 1, 20000, &res, &err), 0);
	assert_string_equal(res.out, "{}\n");
	cni_exec_result_clear(&res);
	free(big);
}

static void test_version(void **state)
{
	(void)state;
	autofree char *bin = tmp_path("vbin");
	make_plugin(bin, "v", "echo '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\"]}'");
	make_plugin(bin, "nov", "echo '{}'");
	char **v = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cni_version(bin, "v", "1.0.0", 5000, &v, &err), 0);
	assert_string_equal(v[0], "0.4.0");
	assert_string_equal(v[1], "1.0.0");
	assert_null(v[2]);
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
	assert_int_equal(cni_version(bin, "nov", "1.0.0", 5000, &v, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "supportedVersions"));
	kumo_error_free(&err);
}

static void test_ready(void **state)
{
	(void)state;
	autofree char *conf = tmp_path("rconf");
	autofree char *bin = tmp_path("rbin");
	autofree char *st = tmp_path("rstate");
	struct vmm_podnet_config cfg = {.conf_dir = conf, .plugin_path = bin, .state_dir = st};
	char *msg = NULL;
	assert_false(vmm_podnet_ready(&cfg, &msg));
	assert_non_null(strstr(msg, "does not exist"));
	free(msg);
	autofree char *f = xasprintf("%s/10-x.conflist", conf);
	write_file(f, "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"alpha\"},"
		      "{\"type\":\"beta\"},{\"type\":\"gamma\"}]}",
		   0644);
	make_plugin(bin, "beta", "exit 0");
	assert_false(vmm_podnet_ready(&cfg, &msg));
	if (!strstr(msg, "network `x`") || !strstr(msg, "plugins `alpha`, `gamma` are not in the plugin path"))
		fail_msg("message `%s`", msg);
	free(msg);
	make_plugin(bin, "alpha", "exit 0");
	make_plugin(bin, "gamma", "exit 0");
	msg = NULL;
	assert_true(vmm_podnet_ready(&cfg, &msg));
	assert_null(msg);
	write_file(f, "{\"cniVersion\":\"1.0.0\",\"name\":", 0644);
	assert_false(vmm_podnet_ready(&cfg, &msg));
	assert_non_null(strstr(msg, "is not valid JSON"));
	free(msg);
}

static void test_default_conflist(void **state)
{
	(void)state;
	/* Byte-identical to the deploy/ file (run from the top of the tree, as make test). */
	autofree char *deploy = read_text("deploy/cni/99-kumo.conflist");
	autofree char *gen = vmm_podnet_default_conflist(NULL);
	assert_string_equal(gen, deploy);
	struct cni_netconf *c = conf_of(gen);
	assert_string_equal(c->name, "kumo");
	assert_int_equal(json_array_size(c->plugins), 3);
	cni_conf_free(c);

	autofree char *d = tmp_path("netd");
	autofree char *f = xasprintf("%s/%s", d, VMM_PODNET_DEFAULT_FILE);
	bool written;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_podnet_write_default(d, NULL, &written, &err), 0);
	assert_true(written);
	autofree char *t1 = read_text(f);
	assert_string_equal(t1, gen);
	assert_int_equal(vmm_podnet_write_default(d, NULL, &written, &err), 0);
	assert_false(written);
	/* kubelet's pod CIDR replaces the default's. */
	assert_int_equal(vmm_podnet_write_default(d, "10.244.3.0/24", &written, &err), 0);
	assert_true(written);
	autofree char *t2 = read_text(f);
	assert_non_null(strstr(t2, "\"subnet\": \"10.244.3.0/24\""));
	assert_int_equal(vmm_podnet_write_default(d, "10.244.3.0/24", &written, &err), 0);
	assert_false(written);
	/* Edited by hand: left alone. */
	write_file(f, "{\"cniVersion\":\"1.0.0\",\"name\":\"mine\",\"plugins\":[{\"type\":\"ptp\"}]}", 0644);
	assert_int_equal(vmm_podnet_write_default(d, "10.244.4.0/24", &written, &err), 0);
	assert_false(written);
	/* Another configuration: left alone. */
	unlink(f);
	autofree char *other = xasprintf("%s/05-flannel.conflist", d);
	write_file(other, "{}", 0644);
	assert_int_equal(vmm_podnet_write_default(d, "10.244.4.0/24", &written, &err), 0);
	assert_false(written);
	assert_int_equal(access(f, F_OK), -1);
	assert_int_equal(vmm_podnet_write_default(d, "10.244.4.0/33", &written, &err), -1);
	kumo_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_list),
		cmocka_unit_test(test_conf_single),
		cmocka_unit_test(test_conf_malformed),
		cmocka_unit_test(test_conf_dir),
		cmocka_unit_test(test_result_current),
		cmocka_unit_test(test_result_legacy),
		cmocka_unit_test(test_result_malformed),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_protocol),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_default_conflist),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
