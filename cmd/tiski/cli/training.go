package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// trainingPINHash is the argon2id hash of the training people's PIN, 1234
// (the demo's pharmacist and a drill's trainee). It is computed once here
// rather than at every start, where it cost 180 ms of the 200 ms a first
// frame may take (DESIGN §10); the PIN is public, so a fixed salt gives
// nothing away. TestTrainingPINHash checks it.
const (
	trainingPIN     = "1234"
	trainingPINHash = "$argon2id$v=19$m=65536,t=1,p=2$K8s0sKm4f2Eu2mDO8VIapA$pKX1ex8HiwEYgdRGxKl9DwsXXuGtxHNnTovaga4Dn4o"
)

// trainingCounter prepares a training counter in dir against the
// simulator at centreURL: it writes conf as the folder's configuration (the
// Prescription Centre's URL is added), points the factory at the folder,
// opens its journal and adds who, with the training PIN, when missing.
//
// The environment and flags outrank the configuration file, so it refuses
// when they would point the counter anywhere but the simulator: training never
// reaches a real Prescription Centre.
func trainingCounter(ctx context.Context, f *Factory, centreURL, dir, conf string, who rx.Pharmacist) (*journal.Journal, error) {
	if err := trainingConfig(f, centreURL, dir, conf); err != nil {
		return nil, err
	}
	if err := trainingCatalogue(ctx, dir); err != nil {
		return nil, err
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return nil, err
	}
	if err := trainingUser(ctx, j, who); err != nil {
		return nil, err
	}
	return j, nil
}

// trainingCatalogue makes the fixtures' made-up medicines the medicine
// catalogue of the training folder dir (issue 24): the demo's and a
// drill's counters find the medicines of the simulator's prescriptions,
// and a pharmacy's counter, whose folder this never touches, finds only
// what IT imported. It is imported at every start, so a training folder
// kept between runs has the fixtures of this tiski.
func trainingCatalogue(ctx context.Context, dir string) error {
	if _, err := importFixtures(ctx, filepath.Join(dir, catalogue.FileName), time.Now()); err != nil {
		return fmt.Errorf("make the training medicine catalogue: %w", err)
	}
	return nil
}

// trainingConfig is trainingCounter's first half: it writes conf, with the
// simulator's URL, as the configuration of the training folder dir, points
// the factory at the folder and refuses when the environment or flags
// point the counter elsewhere. The counter opens the journal itself.
func trainingConfig(f *Factory, centreURL, dir, conf string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make training folder: %w", err)
	}
	conf += fmt.Sprintf("\n[centre]\nurl = %q\ntimeout = \"3s\"\nconnect_timeout = \"1s\"\n", centreURL)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write training configuration: %w", err)
	}
	f.dataDir, f.config = dir, nil
	c, err := f.Config()
	if err != nil {
		return err
	}
	if c.Centre.URL != centreURL {
		return rx.Errorf(rx.EINVALID, "The training counter would use the Prescription Centre %s from TISKI_CENTRE_URL or --centre, not its simulator. Unset TISKI_CENTRE_URL and drop --centre for training.", c.Centre.URL)
	}
	return nil
}

// trainingUser is trainingCounter's second half: it adds who to the
// training journal j, with the training PIN, when missing.
func trainingUser(ctx context.Context, j *journal.Journal, who rx.Pharmacist) error {
	if _, err := j.User(ctx, who.ID); rx.ErrorCode(err) == rx.ENOTFOUND {
		return j.AddUser(ctx, journal.User{ID: who.ID, Name: who.Name, Registration: who.Registration, Role: who.Role, PINHash: trainingPINHash})
	} else if err != nil {
		return err
	}
	return nil
}
