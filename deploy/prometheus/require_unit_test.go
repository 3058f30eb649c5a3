//go:build !integration

package prometheus

// requirePromtool: plain `go test` skips without promtool.
const requirePromtool = false
