# kernel/kernel.mk - the unikernel (freestanding) and the hosted runtime (libkumo-hosted.a).
