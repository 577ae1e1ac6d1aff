package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// medicines looks up the packages that `tiski record` names in the data
// folder's medicine catalogue (issue 24), never in the bundled fixtures: a
// record holds the medicine as the pharmacy's catalogue stated it when it
// was recorded.
type medicines struct {
	ctx     context.Context
	c       *catalogue.Catalogue
	version string
	l       i18n.Lang
}

// openMedicines opens the data folder's catalogue for tiski record. No
// catalogue imported is a refusal that says what to run.
func openMedicines(ctx context.Context, f *Factory) (*medicines, error) {
	l := f.Lang()
	c, err := f.Catalogue(ctx)
	if err != nil {
		return nil, unreadableCatalogue(l, err)
	}
	info, err := c.Info(ctx)
	if errors.Is(err, catalogue.ErrNoCatalogue) {
		return nil, rx.Errorf(rx.ENOTFOUND, "%s", l.T(i18n.CLIRecordNoCatalogue))
	}
	if err != nil {
		return nil, unreadableCatalogue(l, err)
	}
	return &medicines{ctx: ctx, c: c, version: info.Version, l: l}, nil
}

// byVNR returns the product of the package vnr with the package number as
// six digits. A missing, malformed or unknown number is a problem in
// problems, so that every problem of the record is told at once; only a
// catalogue that cannot be read is an error.
func (m *medicines) byVNR(vnr string, problems *rx.ValidationError) (rx.Medicine, string, error) {
	if strings.TrimSpace(vnr) == "" {
		problems.Add("vnr", "the package number (VNR) is required")
		return rx.Medicine{}, vnr, nil
	}
	n, ok := catalogue.NormalVNR(vnr)
	if !ok {
		problems.Add("vnr", "%s", m.l.T(i18n.CLIRecordBadVNR, vnr))
		return rx.Medicine{}, vnr, nil
	}
	med, err := m.c.Product(m.ctx, n)
	switch {
	case rx.ErrorCode(err) == rx.ENOTFOUND && !errors.Is(err, catalogue.ErrNoCatalogue):
		// The version of the file that answered: an import may have
		// replaced the one opened before the lookup.
		version := m.version
		if info, err := m.c.Info(m.ctx); err == nil {
			version = info.Version
		}
		problems.Add("vnr", "%s", m.l.T(i18n.CLIRecordUnknownVNR, n, version))
		return rx.Medicine{}, n, nil
	case errors.Is(err, catalogue.ErrNoCatalogue):
		return rx.Medicine{}, n, rx.Errorf(rx.ENOTFOUND, "%s", m.l.T(i18n.CLIRecordNoCatalogue))
	case err != nil:
		return rx.Medicine{}, n, unreadableCatalogue(m.l, err)
	}
	return med, n, nil
}

// catalogueError is a catalogue that cannot be read, said in the user's
// language; its code and cause stay reachable for the exit code.
type catalogueError struct {
	msg string
	err error
}

func (e *catalogueError) Error() string { return e.msg }
func (e *catalogueError) Unwrap() error { return e.err }

func unreadableCatalogue(l i18n.Lang, err error) error {
	text := err.Error()
	var re *rx.Error
	if errors.As(err, &re) {
		text = re.Message
	}
	return &catalogueError{msg: l.T(i18n.CLIRecordCatalogue, text), err: err}
}

// substitutionGroups is the queue's lookup of a package's substitution
// group in the data folder's catalogue, for the upload's duplicate check
// (queue.Config.SubstitutionGroup). The reader is opened here, before the
// queue's goroutines ask it anything; no catalogue imported, or a package
// not in it, is no group.
func (f *Factory) substitutionGroups() func(ctx context.Context, vnr string) (string, error) {
	c, err := f.Catalogue(context.Background())
	if err != nil {
		f.Logger().Warn("medicine catalogue not opened for the duplicate check", "error", err.Error())
		return nil
	}
	return func(ctx context.Context, vnr string) (string, error) {
		p, err := c.ByVNR(ctx, vnr)
		if rx.ErrorCode(err) == rx.ENOTFOUND {
			return "", nil // no catalogue, or not in it
		}
		if err != nil {
			return "", err
		}
		return p.SubstitutionGroup, nil
	}
}
