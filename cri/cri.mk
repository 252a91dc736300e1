# cri/cri.mk - the front door: kumod (CRI v1 server) and the kumo CLI.
# CLI subcommands live in cri/cli_*.c and register themselves (see cri/cli.h).
KUMO_CLI_SRCS := cri/kumo.c $(wildcard cri/cli_*.c)
KUMO_CLI_OBJS := $(KUMO_CLI_SRCS:%.c=$(BUILD)/host/%.o)
KUMO_CLI_LIBS := $(LIB_BUILDER) $(LIB_IMAGESTORE) $(LIB_VMM) $(LIB_HOSTED) $(LIB_COMPILER) $(LIB_COMMON)
$(BUILD)/bin/kumo: $(KUMO_CLI_OBJS) $(KUMO_CLI_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $(KUMO_CLI_OBJS) $(KUMO_CLI_LIBS) $(KUMO_CLI_LDLIBS) $(LIBS_LLVM) -lpthread -lm
PROGRAMS += $(BUILD)/bin/kumo
