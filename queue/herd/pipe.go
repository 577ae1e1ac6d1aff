package herd

import (
	"context"
	"net"
	"sync"
)

// A storm of thousands of pharmacies in one process runs out of file
// descriptors before it runs out of anything else: each pharmacy's journal
// holds five (two connections' database and WAL files and the shared
// memory) and each kept-alive HTTP connection two (both ends in this
// process), against a limit of some 20,000 on a typical machine. Above
// what the limit allows (fdsPerClient), a run keeps the same parts but
// holds fewer descriptors: journals that release their connections when
// idle (journal.Options.ReleaseIdle), and HTTP between the Workers and
// the simulator's handler over in-memory pipes (pipeListener) instead of
// loopback TCP. Requests, answers, 429s and journal writes are what they
// are over sockets; only the transport differs, and it takes no simulated
// time either way.

// fdsPerClient is what one pharmacy holds open over sockets: five for its
// journal, two for its kept-alive connection, with room for a second one.
const fdsPerClient = 9

// fdReserve is kept free for the simulator's database, the run's own files
// and the Go runtime.
const fdReserve = 512

// needsPipes reports whether clients pharmacies over sockets would exceed
// the process's descriptor limit (limit 0: unknown, assume they fit).
func needsPipes(clients int, limit uint64) bool {
	return limit > 0 && uint64(clients)*fdsPerClient+fdReserve > limit
}

// pipeListener is a net.Listener whose connections are in-memory pipes
// made by its DialContext: a socket-free way between the Workers'
// http.Transports and an http.Server in the same process.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next DialContext.
func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and refuses later dials; pipes already made stay.
func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr names the listener.
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// DialContext makes a pipe and hands its server end to Accept. network and
// addr are ignored: every dial reaches this listener.
func (l *pipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	case <-l.done:
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: net.ErrClosed}
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
