//go:build probe

package offsetmeta_test

import "syscall"

const (
	syscallStop = syscall.SIGSTOP
	syscallCont = syscall.SIGCONT
)
