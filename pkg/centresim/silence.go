package centresim

import (
	"net"
	"sync"
	"time"
)

// A black hole is silence, as behind a dead route or a firewall that drops
// packets (toxiproxy's timeout toxic plays the same): nothing comes back on
// the FHIR port, not an answer, not a TLS handshake, and where the system
// allows not even the TCP handshake. A slow service (fault slow) differs:
// it connects at once and answers late. A client may tell the two apart
// only by what it gets before the answer, so the simulator must not leak a
// handshake in a black hole (DESIGN §10, issue 20).
//
// quietListener is the FHIR port's listener. While the fault is a black
// hole it stops accepting, and on Linux it shrinks its accept queue to
// nothing and fills it, so that the kernel drops every new SYN: a connect
// hangs. Elsewhere a connection still completes in the kernel, and then
// stays silent. Connections already open go silent too (silentConn).
type quietListener struct {
	net.Listener
	s      *Server
	closed chan struct{}
	once   sync.Once

	mu      sync.Mutex
	shrunk  bool       // the accept queue is shrunk to nothing
	fillers []net.Conn // our own connections that fill the accept queue
}

func newQuietListener(ln net.Listener, s *Server) *quietListener {
	return &quietListener{Listener: ln, s: s, closed: make(chan struct{})}
}

// Accept waits out a black hole without accepting. A connection accepted
// just as one begins is held silent, never handed to the server.
func (l *quietListener) Accept() (net.Conn, error) {
	for {
		f, changed := l.s.faultNow()
		if f.Kind == FaultBlackhole {
			select {
			case <-changed:
				continue
			case <-l.closed:
				return nil, net.ErrClosed
			}
		}
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		sc := &silentConn{Conn: c, s: l.s, l: l, done: make(chan struct{})}
		if f, changed := l.s.faultNow(); f.Kind == FaultBlackhole {
			go sc.hold(changed)
			continue
		}
		return sc, nil
	}
}

// Close stops accepting, ends every hold and closes the fillers.
func (l *quietListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	l.unsilence()
	return l.Listener.Close()
}

// fillDial bounds the connect of one filler: on loopback a connect takes
// microseconds, and a dropped SYN is retried only after a second.
const fillDial = 50 * time.Millisecond

// silence makes new connects hang where the system allows: an accept
// queue of no length, filled with the simulator's own connections. It is
// called once the black hole is in force.
func (l *quietListener) silence() {
	if err := setBacklog(l.Listener, 0); err != nil {
		return // connections complete in the kernel, then stay silent
	}
	addr := l.Addr().String()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shrunk = true
	// One may be taken by an Accept already waiting (and held), one
	// fills the queue, and the next connect is dropped. A connect made
	// while that Accept had not yet taken the first may be dropped too, so
	// the queue is full only after two dropped in a row.
	for dropped := 0; dropped < 2 && len(l.fillers) < 8; {
		c, err := net.DialTimeout("tcp", addr, fillDial)
		if err != nil {
			dropped++
			continue
		}
		dropped = 0
		l.fillers = append(l.fillers, c)
	}
}

// unsilence restores the accept queue and lets the fillers go.
func (l *quietListener) unsilence() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.shrunk {
		return
	}
	l.shrunk = false
	_ = setBacklog(l.Listener, maxBacklog)
	for _, c := range l.fillers {
		c.Close()
	}
	l.fillers = nil
}

// maxBacklog asks for the longest accept queue; the kernel caps it at its
// own limit (net.core.somaxconn), as Go's net.Listen does.
const maxBacklog = 1<<16 - 1

// silentConn is a connection on the FHIR port. Bytes that arrive on it in
// a black hole go nowhere: the connection is held, without a word, until
// the fault changes or the simulator closes, and then cut.
type silentConn struct {
	net.Conn
	s    *Server
	l    *quietListener
	done chan struct{}
	once sync.Once
}

func (c *silentConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if f, changed := c.s.faultNow(); f.Kind == FaultBlackhole && n > 0 {
		c.hold(changed)
		return 0, net.ErrClosed
	}
	return n, err
}

// hold keeps the connection silent until the fault changes, the
// connection or listener closes or the simulator does, then cuts it.
func (c *silentConn) hold(changed <-chan struct{}) {
	c.s.mu.Lock()
	c.s.silent++
	c.s.mu.Unlock()
	defer func() {
		c.s.mu.Lock()
		c.s.silent--
		c.s.mu.Unlock()
	}()
	select {
	case <-changed:
	case <-c.done:
	case <-c.l.closed:
	case <-c.s.closing:
	}
	c.Close()
}

func (c *silentConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}
