package common

import (
	"context"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Notices is offered by services that keep Kela's notices (issue 22): the
// status line shows the next planned break and, in FAULT, whether Kela
// has announced the fault. ok is false when this counter keeps none (a
// training counter): the status line then says nothing of notices.
type Notices interface {
	Notices(ctx context.Context) (ns []rx.Notice, ok bool, err error)
}

// ReadNotices reads Kela's notices through svc when it offers them.
func ReadNotices(ctx context.Context, svc Services) ([]rx.Notice, bool, error) {
	n, ok := svc.(Notices)
	if !ok {
		return nil, false, nil
	}
	return n.Notices(ctx)
}
