# kernel/kernel.mk - the unikernel (freestanding, kernel/arch + kernel/os) and, through
# kernel/runtime.mk, the runtime shared with the hosted runner (kernel/rt, kernel/wasi,
# kernel/hosted -> libkumo-hosted.a).
include kernel/runtime.mk
