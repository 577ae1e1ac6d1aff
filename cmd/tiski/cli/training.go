package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tiski-rx/tiski/pkg/centresim"
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
// simulator srv: it writes conf as the folder's configuration (the
// Prescription Centre's URL is added), points the factory at the folder,
// opens its journal and adds who, with the training PIN, when missing.
//
// The environment and flags outrank the configuration file, so it refuses
// when they would point the counter anywhere but srv: training never
// reaches a real Prescription Centre.
func trainingCounter(ctx context.Context, f *Factory, srv *centresim.Server, dir, conf string, who rx.Pharmacist) (*journal.Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make training folder: %w", err)
	}
	conf += fmt.Sprintf("\n[centre]\nurl = %q\ntimeout = \"3s\"\nconnect_timeout = \"1s\"\n", srv.URL())
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write training configuration: %w", err)
	}
	f.dataDir, f.config = dir, nil
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	if c.Centre.URL != srv.URL() {
		return nil, rx.Errorf(rx.EINVALID, "The training counter would use the Prescription Centre %s from TISKI_CENTRE_URL or --centre, not its simulator. Unset TISKI_CENTRE_URL and drop --centre for training.", c.Centre.URL)
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := j.User(ctx, who.ID); rx.ErrorCode(err) == rx.ENOTFOUND {
		if err := j.AddUser(ctx, journal.User{ID: who.ID, Name: who.Name, Registration: who.Registration, Role: who.Role, PINHash: trainingPINHash}); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return j, nil
}
