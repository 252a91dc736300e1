# deploy/deploy.mk - source list of deploy/ (empty until its issue lands).
.PHONY: demo
demo: deps
	$(MAKE) all test-prereqs
	bash deploy/demo.sh
