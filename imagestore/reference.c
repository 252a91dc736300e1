/* imagestore/reference.c - image references parsed and normalized like kubelet and containerd. */
#include <ctype.h>
#include <string.h>

#include "imagestore/istore.h"

#define NAME_MAX_LEN 255

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := alnum+ ((sep) alnum+)*, sep := "." | "_" | "__" | "-"+ */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		if (s[i] == '.') {
			j++;
		} else if (s[i] == '_') {
			j++;
			if (j < n && s[j] == '_')
				j++;
		} else if (s[i] == '-') {
			while (j < n && s[j] == '-')
				j++;
		} else {
			return false;
		}
		if (j >= n || !is_lower_alnum(s[j]))
			return false;
		i = j;
	}
	return true;
}

/* domain := host[:port]; host := labels of [A-Za-z0-9-] separated by dots, or [v6] */
static bool domain_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	size_t i = 0;
	if (s[0] == '[') {
		while (i < n && s[i] != ']') {
			if (i > 0 && !isxdigit((unsigned char)s[i]) && s[i] != ':')
				return false;
			i++;
		}
		if (i >= n)
			return false;
		i++;
	} else {
		size_t label = 0;
		while (i < n && s[i] != ':') {
			char c = s[i];
			if (c == '.') {
				if (label == 0)
					return false;
				label = 0;
			} else if (isalnum((unsigned char)c) || c == '-') {
				if (label == 0 && c == '-')
					return false;
				label++;
			} else {
				return false;
			}
			i++;
		}
		if (label == 0)
			return false;
	}
	if (i == n)
		return true;
	if (s[i] != ':' || i + 1 == n)
		return false;
	for (i++; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool tag_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128)
		return false;
	if (!(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

void imagestore_ref_clear(struct imagestore_ref *ref)
{
	if (!ref)
		return;
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

int imagestore_ref_parse(const char *s, struct imagestore_ref *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == 0)
		return kumo_error(err, KUMO_E_INVALID, "empty image reference");
	if (strlen(s) > 4096)
		return kumo_error(err, KUMO_E_INVALID, "image reference is longer than 4096 bytes");
	autofree char *copy = xstrdup(s);
	struct imagestore_ref r = {0};
	char *at = strrchr(copy, '@');
	if (at) {
		*at = 0;
		if (!digest_valid(at + 1)) {
			kumo_error(err, KUMO_E_INVALID,
				   "invalid digest `%s` in image reference `%s` (want sha256:<64 hex>)",
				   at + 1, s);
			return -1;
		}
		r.digest = xstrdup(at + 1);
	}
	char *slash = strrchr(copy, '/');
	char *colon = strrchr(slash ? slash : copy, ':');
	if (colon) {
		*colon = 0;
		if (!tag_ok(colon + 1)) {
			imagestore_ref_clear(&r);
			return kumo_error(err, KUMO_E_INVALID, "invalid tag `%s` in image reference `%s`",
					  colon + 1, s);
		}
		r.tag = xstrdup(colon + 1);
	}
	char *name = copy;
	char *first_slash = strchr(name, '/');
	const char *domain = "docker.io";
	char *path = name;
	if (first_slash) {
		size_t dl = (size_t)(first_slash - name);
		bool is_domain = memchr(name, '.', dl) || memchr(name, ':', dl) ||
				 (dl == 9 && memcmp(name, "localhost", 9) == 0) ||
				 name[0] == '[';
		for (size_t i = 0; i < dl && !is_domain; i++)
			if (isupper((unsigned char)name[i]))
				is_domain = true;
		if (is_domain) {
			*first_slash = 0;
			if (!domain_ok(name, dl)) {
				imagestore_ref_clear(&r);
				return kumo_error(err, KUMO_E_INVALID,
						  "invalid registry host `%s` in image reference `%s`",
						  name, s);
			}
			domain = name;
			path = first_slash + 1;
		}
	}
	if (strcmp(domain, "index.docker.io") == 0 || strcmp(domain, "registry-1.docker.io") == 0)
		domain = "docker.io";
	/* Validate the path components. */
	if (*path == 0) {
		imagestore_ref_clear(&r);
		return kumo_error(err, KUMO_E_INVALID, "image reference `%s` has no repository name", s);
	}
	for (const char *p = path;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!path_component_ok(p, n)) {
			imagestore_ref_clear(&r);
			return kumo_error(err, KUMO_E_INVALID,
					  "invalid repository name `%s` in image reference `%s` "
					  "(lowercase letters, digits and separators)",
					  path, s);
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (strcmp(domain, "docker.io") == 0 && !strchr(path, '/'))
		r.path = xasprintf("library/%s", path);
	else
		r.path = xstrdup(path);
	r.domain = xstrdup(domain);
	if (strlen(r.domain) + 1 + strlen(r.path) > NAME_MAX_LEN) {
		imagestore_ref_clear(&r);
		return kumo_error(err, KUMO_E_INVALID,
				  "repository name in image reference `%s` is longer than %d bytes", s,
				  NAME_MAX_LEN);
	}
	if (!r.tag && !r.digest)
		r.tag = xstrdup("latest");
	*out = r;
	return 0;
}

char *imagestore_ref_name(const struct imagestore_ref *ref)
{
	return xasprintf("%s/%s", ref->domain, ref->path);
}

char *imagestore_ref_string(const struct imagestore_ref *ref)
{
	if (ref->tag && ref->digest)
		return xasprintf("%s/%s:%s@%s", ref->domain, ref->path, ref->tag, ref->digest);
	if (ref->digest)
		return xasprintf("%s/%s@%s", ref->domain, ref->path, ref->digest);
	return xasprintf("%s/%s:%s", ref->domain, ref->path, ref->tag ? ref->tag : "latest");
}
