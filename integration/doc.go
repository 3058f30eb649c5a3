// Package integration holds Sluice's end-to-end suites: the reference order
// pipeline (validate → score → decide) running as containers against real
// Kafka, under crashes, scaling, broker loss and freezes, and a wire check
// against a third-party client. They are behind the integration build tag
// and need podman's Docker API (bash .ci/containers.sh) and, for the wire
// check, the Python client (bash integration/thirdparty/setup.sh):
//
//	go test -tags integration -run Integration -p 1 -timeout 40m ./...
//
// Each scenario logs its figures and prints a one-line "INTEGRATION ..."
// summary to stdout. The building blocks are in package orderchain.
package integration
