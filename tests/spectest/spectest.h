/* tests/spectest/spectest.h - the runner's execution interface (spectest_exec.c), so the
 * command interpreter (spectest.c) also builds where the hosted runtime is absent. */
#ifndef KUMO_TESTS_SPECTEST_H
#define KUMO_TESTS_SPECTEST_H

#include <stddef.h>
#include <stdint.h>

#define EXEC_MAX_VALUES 64

enum exec_kind {
	EXEC_OK = 0,
	EXEC_LOAD_FAILED, /* compile, link or load of the module failed */
	EXEC_ERROR,       /* link/instantiation error or a missing export */
	EXEC_TRAP,        /* a Wasm trap (msg = its wording) */
};

struct exec_value {
	uint8_t type;   /* KUMO_T_* */
	uint64_t bits;  /* i32/f32 in the low 32 bits; externref N is N + 1, null 0;
	                 * v128: bytes 0..7 */
	uint64_t hi;    /* v128: bytes 8..15 */
};

struct exec_result {
	enum exec_kind kind;
	char msg[512];
	uint32_t nvalues;
	struct exec_value values[EXEC_MAX_VALUES];
};

struct exec;
struct exec *exec_new(void);
void exec_free(struct exec *x);
int exec_begin_file(struct exec *x);
void exec_end_file(struct exec *x);
/* Compiles, loads and instantiates a module; it becomes the current one (and is
 * findable by `name` when not NULL). */
int exec_module(struct exec *x, const char *path, const char *name, struct exec_result *res);
int exec_register(struct exec *x, const char *as, const char *name);
/* field is field_len bytes (export names may contain NUL). */
int exec_invoke(struct exec *x, const char *module, const char *field, size_t field_len,
		const struct exec_value *args, uint32_t nargs, struct exec_result *res);
int exec_get(struct exec *x, const char *module, const char *field, size_t field_len,
	     struct exec_result *res);

#endif /* KUMO_TESTS_SPECTEST_H */
