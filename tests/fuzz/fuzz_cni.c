/* tests/fuzz/fuzz_cni.c - fuzz target for vmm/'s CNI parsers: network configurations
 * (a .conflist and a single .conf), plugin results of every version, a plugin's error
 * output, and the request built from a parsed configuration with a parsed result as
 * prevResult. A result that parses must have its indexes in range and its strings
 * terminated; a request must be JSON again. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "vmm/cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(const struct cni_result *r)
{
	for (size_t i = 0; i < r->nips; i++)
		if (r->ips[i].interface >= (int)r->ninterfaces || r->ips[i].interface < -1 ||
		    !memchr(r->ips[i].address, 0, sizeof(r->ips[i].address)) ||
		    !memchr(r->ips[i].gateway, 0, sizeof(r->ips[i].gateway)))
			abort();
	for (size_t i = 0; i < r->nroutes; i++)
		if (!memchr(r->routes[i].dst, 0, sizeof(r->routes[i].dst)) ||
		    r->routes[i].prefix > 128)
			abort();
	for (size_t i = 0; i < r->ninterfaces; i++)
		if (!r->interfaces[i].name)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cni_result *res = NULL;
	kumo_error_t err = NULL;
	if (cni_result_parse(text, size, &res, &err) == 0)
		check_result(res);
	else if (!err || !kumo_error_msg(err)[0])
		abort();
	kumo_error_free(&err);
	for (int list = 0; list < 2; list++) {
		struct cni_netconf *c = NULL;
		if (cni_conf_parse(text, size, list, "fuzz", &c, &err) < 0) {
			if (!err || !kumo_error_msg(err)[0])
				abort();
			kumo_error_free(&err);
			continue;
		}
		if (!c->name || !c->cni_version || json_array_size(c->plugins) == 0)
			abort();
		json_t *caps = json_pack("{s:[{s:i,s:i,s:s}]}", "portMappings", "hostPort", 8080,
					 "containerPort", 80, "protocol", "tcp");
		for (size_t i = 0; i < json_array_size(c->plugins); i++) {
			char *req = cni_request(c, json_array_get(c->plugins, i), caps,
						res ? res->json : NULL);
			json_t *back = json_loads(req, 0, NULL);
			if (!json_is_object(back))
				abort();
			json_decref(back);
			free(req);
		}
		json_decref(caps);
		json_t *j = cni_conf_to_json(c);
		if (!json_is_object(j))
			abort();
		json_decref(j);
		cni_conf_free(c);
	}
	cni_result_free(res);
	/* The same bytes as a failed plugin's stdout, then as its stderr. */
	char *buf = xstrndup(text, size);
	char empty[1] = "";
	struct cni_exec_result er = {.status = 1, .out = buf, .outlen = strlen(buf), .errout = empty};
	free(cni_exec_error(&er));
	er = (struct cni_exec_result){.status = 2, .out = empty, .errout = buf};
	free(cni_exec_error(&er));
	free(buf);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
