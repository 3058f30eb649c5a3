// Package work is the handler every contender runs, the same in Java
// (java/handler/.../Work.java): sleep for the workload's I/O time, then hash
// the value with SHA-256 k times over, each round hashing the previous
// digest. The output is the input's first 8 bytes (its sequence number)
// followed by the last digest; with k = 0 it is the input unchanged.
package work

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// Apply runs the handler on value.
func Apply(value []byte, k int, sleep time.Duration) []byte {
	if sleep > 0 {
		time.Sleep(sleep)
	}
	if k == 0 {
		return value
	}
	d := sha256.Sum256(value)
	for i := 1; i < k; i++ {
		d = sha256.Sum256(d[:])
	}
	out := make([]byte, 8+len(d))
	copy(out, value[:8])
	copy(out[8:], d[:])
	return out
}

// Calibrate finds the k for which one Apply call on value costs target CPU
// time on this machine, and returns it with the measured cost per call at
// that k. It measures the CPU time of its own OS thread, not wall time, so
// other load on a shared machine moves the result little; each measurement
// runs for about measure.
func Calibrate(value []byte, target, measure time.Duration) (k int, perCall time.Duration, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const probe = 1000
	if _, err := perCallCPU(value, probe, measure/2); err != nil { // warm-up
		return 0, 0, err
	}
	c, err := perCallCPU(value, probe, measure)
	if err != nil {
		return 0, 0, err
	}
	k = max(1, int(float64(target)/float64(c)*probe+0.5))
	// A second round corrects for the first digest hashing the whole value.
	if c, err = perCallCPU(value, k, measure); err != nil {
		return 0, 0, err
	}
	k = max(1, int(float64(k)*float64(target)/float64(c)+0.5))
	if perCall, err = perCallCPU(value, k, measure); err != nil {
		return 0, 0, err
	}
	return k, perCall, nil
}

var sink byte

func perCallCPU(value []byte, k int, budget time.Duration) (time.Duration, error) {
	start, err := threadCPU()
	if err != nil {
		return 0, err
	}
	var calls int64
	for {
		for range 10 {
			sink ^= Apply(value, k, 0)[9]
		}
		calls += 10
		now, err := threadCPU()
		if err != nil {
			return 0, err
		}
		if now-start >= budget {
			return (now - start) / time.Duration(calls), nil
		}
	}
}

// rusageThread is RUSAGE_THREAD from <sys/resource.h> (Linux).
const rusageThread = 1

func threadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, fmt.Errorf("getrusage(RUSAGE_THREAD): %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
