//go:build integration

package prometheus

// requirePromtool: integration runs fail without promtool.
const requirePromtool = true
