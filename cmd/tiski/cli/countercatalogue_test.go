package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestCounterCatalogueRecovers: a data folder's catalogue.db that is no
// catalogue does not keep the counter shut; its error is answered until
// the file changes, and IT's import is read while the counter runs.
func TestCounterCatalogueRecovers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), catalogue.FileName)
	if err := os.WriteFile(path, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, openErr := catalogue.Open(ctx, path)
	if openErr == nil {
		t.Fatal("a file of text opened as a catalogue")
	}
	c := newCounterCatalogue(path, nil, openErr)
	defer c.close()
	for range 2 {
		if _, err := c.reader(ctx); err == nil || err.Error() != openErr.Error() {
			t.Fatalf("the unreadable file: %v, want %v", err, openErr)
		}
	}
	if _, err := importFixtures(ctx, path, time.Now()); err != nil {
		t.Fatal(err)
	}
	cat, err := c.reader(ctx)
	if err != nil {
		t.Fatalf("after the import: %v", err)
	}
	info, err := cat.Info(ctx)
	if err != nil || info.Source != catalogue.SourceFixtures || info.Count == 0 {
		t.Fatalf("after the import: %+v, %v", info, err)
	}

	none := newCounterCatalogue(filepath.Join(t.TempDir(), catalogue.FileName), nil, nil)
	defer none.close()
	if cat, err := none.reader(ctx); err != nil {
		t.Fatal(err)
	} else if _, err := cat.Info(ctx); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Fatalf("no file: %v, want ErrNoCatalogue", err)
	}
}
