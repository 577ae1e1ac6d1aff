package queue_test

import (
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/queue"
)

// The adapters implement the interfaces queue declares.
var (
	_ queue.Store        = (*journal.Journal)(nil)
	_ queue.ResolveStore = (*journal.Journal)(nil)
	_ queue.Centre       = (*centre.Client)(nil)
	_ queue.Reporter     = (*mode.Machine)(nil)
)
