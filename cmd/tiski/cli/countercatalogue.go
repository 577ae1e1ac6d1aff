package cli

import (
	"context"
	"os"
	"sync"

	"github.com/tiski-rx/tiski/pkg/catalogue"
)

// counterCatalogue is the counter's reader of the data folder's medicine
// catalogue (issue 24). A catalogue.Catalogue follows imports by itself,
// and answers catalogue.ErrNoCatalogue until the first; but a file that
// is no catalogue at all (another tiski's format, a stranger's database)
// fails its opening, and the counter must neither stay shut for it nor
// keep the failure once IT imports again. So the reader is opened anew
// when the file at the path has changed since it failed: a stat per call
// until then, the same cost as the reader's own check.
type counterCatalogue struct {
	path string

	mu     sync.Mutex
	cat    *catalogue.Catalogue
	owned  bool        // cat was opened here: close closes it
	err    error       // why the file at path did not open
	failed os.FileInfo // the file that did not open
}

// newCounterCatalogue starts from the factory's reader, or from its error.
func newCounterCatalogue(path string, cat *catalogue.Catalogue, err error) *counterCatalogue {
	c := &counterCatalogue{path: path, cat: cat, err: err}
	if err != nil {
		c.cat = nil
		c.failed, _ = os.Stat(path)
	}
	return c
}

// reader returns the catalogue's reader, or why the file does not open.
func (c *counterCatalogue) reader(ctx context.Context) (*catalogue.Catalogue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cat != nil {
		return c.cat, nil
	}
	fi, statErr := os.Stat(c.path)
	if c.err != nil && statErr == nil && c.failed != nil && os.SameFile(fi, c.failed) &&
		fi.ModTime().Equal(c.failed.ModTime()) && fi.Size() == c.failed.Size() {
		return nil, c.err
	}
	cat, err := catalogue.Open(ctx, c.path)
	if err != nil {
		c.err, c.failed = err, fi
		return nil, err
	}
	c.cat, c.owned, c.err, c.failed = cat, true, nil, nil
	return cat, nil
}

// close closes a reader opened here; the factory closes its own.
func (c *counterCatalogue) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owned && c.cat != nil {
		c.cat.Close()
		c.cat = nil
	}
}
