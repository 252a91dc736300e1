# vmm/vmm.mk - source list of vmm/ (empty until its issue lands).
