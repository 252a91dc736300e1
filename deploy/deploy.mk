# deploy/deploy.mk - the demo and the node installer's image (its tests: tests/tests.mk).
.PHONY: demo
demo: deps
	$(MAKE) all test-prereqs
	bash deploy/demo.sh

# The kumo-deploy installer image (OCI layout + docker-archive under
# $(BUILD)/deploy-image/), what deploy/k8s/kumo-deploy.yaml runs. Not part of `make test`.
DEPLOY_IMAGE_TAG ?= 0.1.0
.PHONY: deploy-image
deploy-image: $(BUILD)/bin/kumo $(BUILD)/bin/kumod $(BUILD)/bin/kumo-crictl $(BUILD)/bin/kumo-compile kernel
	bash deploy/image/build.sh $(BUILD)/deploy-image $(DEPLOY_IMAGE_TAG)

# What a DaemonSet pod does on a node, without Kubernetes: the image's entrypoint in a
# chroot, the "node" behind overlays in private mount/PID namespaces (needs root).
.PHONY: deploy-image-test
deploy-image-test: $(BUILD)/bin/kumo $(BUILD)/bin/kumod $(BUILD)/bin/kumo-crictl $(BUILD)/bin/kumo-compile kernel
	bash tests/e2e/deploy-daemonset-sim.sh
