# kernel/runtime.mk - kernel/rt (instances, libcalls, traps), kernel/wasi (WASI preview1) and kernel/hosted (POSIX platform).
