package catalogue

import (
	"context"
	"strconv"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
)

// FromCentre reads the catalogue from the Prescription Centre's Medication
// resources through c, in pages of pageSize (0: the client's default), for
// Sync: each Medication a package, an inactive one a withdrawn package
// number.
func FromCentre(c *centre.Client, pageSize int) Fetch {
	return func(ctx context.Context, since time.Time, page func([]Change) error) (int, error) {
		read, err := c.Medications(ctx, since, pageSize, func(meds []centre.Medication) error {
			changes := make([]Change, len(meds))
			for i, m := range meds {
				changes[i] = Change{Package: packageOf(m), Withdrawn: !m.Active, LastUpdated: m.LastUpdated}
			}
			return page(changes)
		})
		return read.Pages, err
	}
}

func packageOf(m centre.Medication) Package {
	p := Package{
		VNR: m.VNR, Name: m.Name, Substance: m.Substance, Strength: m.Strength, Form: m.Form,
		PackSize: m.PackSize, Size: m.Size, Unit: m.Unit, ATC: m.ATC, Prescription: m.Prescription,
		SubstitutionGroup: m.SubstitutionGroup,
	}
	switch m.Class {
	case "narcotic":
		p.NarcoticClass = m.Class
	case "pkv":
		p.PKVClass = m.Class
	}
	if p.PackSize == "" && m.Size > 0 {
		p.PackSize = strconv.Itoa(m.Size) + " " + m.Unit
	}
	return p
}
