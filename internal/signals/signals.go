// Package signals turns SIGINT and SIGTERM into a graceful shutdown: the
// first cancels the returned context, the second exits at once.
package signals

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Context returns a context cancelled by the first SIGINT or SIGTERM. A
// second signal exits the process with status 130 without waiting for the
// graceful shutdown.
func Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			fmt.Fprintf(os.Stderr, "received %s: shutting down gracefully (send again to exit at once)\n", s)
			cancel()
		case <-ctx.Done():
			signal.Stop(ch)
			return
		}
		s := <-ch
		fmt.Fprintf(os.Stderr, "received %s again: exiting now\n", s)
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}
