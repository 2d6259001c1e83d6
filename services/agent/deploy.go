package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/artifact"
	"github.com/rollwave/rollwave/pkg/procgroup"
	"github.com/rollwave/rollwave/services/agent/internal/archive"
	"github.com/rollwave/rollwave/services/agent/internal/pidfile"
)

// checkAddressed refuses an action meant for another host.
func (s *Service) checkAddressed(a contracts.HostAction) error {
	if !strings.EqualFold(a.Host.Name, s.cfg.Name) || a.Environment != s.cfg.Environment {
		return fmt.Errorf("agent %s in %s was sent an action for %s in %s", s.cfg.Name, s.cfg.Environment, a.Host.Name, a.Environment)
	}
	return nil
}

// deploy puts the action's release in place and runs the commands. It
// reports whether current points at the new release, whether the artifact
// was downloaded, and the exit code of the last command run.
func (s *Service) deploy(ctx context.Context, a contracts.HostAction, out *procgroup.Tail, log *slog.Logger) (installed, downloaded bool, code *int, err error) {
	app := appDir(filepath.Join(s.cfg.Dir, a.App))
	if err := os.MkdirAll(app.releases(), 0o755); err != nil {
		return false, false, nil, err
	}
	previous, err := app.Current()
	if err != nil {
		return false, false, nil, err
	}
	if !app.hasRelease(a.Version) {
		if err := s.download(ctx, app, a.App, a.Version); err != nil {
			return false, false, nil, err
		}
		downloaded = true
	} else {
		log.Info("release is kept on the host; switching without a download")
	}
	env := append(slices.Clone(s.cfg.Env),
		"ROLLWAVE_HOST="+a.Host.Name, "ROLLWAVE_APP="+a.App, "ROLLWAVE_VERSION="+a.Version,
		"ROLLWAVE_PREVIOUS_VERSION="+previous, "ROLLWAVE_ROLLOUT="+a.Rollout, "ROLLWAVE_ENVIRONMENT="+a.Environment,
		"ROLLWAVE_ACTION_ID="+a.ID, "ROLLWAVE_ATTEMPT="+fmt.Sprint(a.Attempt),
		"ROLLWAVE_RELEASE_DIR="+app.release(a.Version), "ROLLWAVE_CURRENT="+app.current())
	run := func(what string, argv []string) error {
		if len(argv) == 0 {
			return nil
		}
		c, err := runCommand(ctx, argv, env, app.release(a.Version), s.cfg.CommandTimeout, out)
		code = c
		if err != nil {
			return fmt.Errorf("%s command: %w", what, err)
		}
		return nil
	}
	if previous != "" {
		if err := run("stop", s.cfg.Stop); err != nil {
			return false, downloaded, code, err
		}
	}
	if err := app.Switch(a.Version, s.clock.Now()); err != nil {
		return false, downloaded, code, err
	}
	if err := run("start", s.cfg.Start); err != nil {
		return true, downloaded, code, err
	}
	if err := run("restart", s.cfg.Restart); err != nil {
		return true, downloaded, code, err
	}
	if s.cfg.Signal != 0 {
		pid, err := pidfile.Read(s.cfg.PidFile)
		if err != nil {
			return true, downloaded, code, err
		}
		if err := syscall.Kill(pid, s.cfg.Signal); err != nil {
			return true, downloaded, code, fmt.Errorf("send %v to pid %d: %w", s.cfg.Signal, pid, err)
		}
	}
	if removed, err := app.Prune(s.cfg.Keep); err != nil {
		log.Warn("prune releases", "err", err)
	} else if len(removed) > 0 {
		log.Info("pruned releases", "removed", removed)
	}
	return true, downloaded, code, nil
}

// download fetches and verifies the artifact into a temporary file, then
// unpacks it under a temporary name that is renamed to releases/<version>
// only when complete.
func (s *Service) download(ctx context.Context, app appDir, name, version string) error {
	if s.store == nil {
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		store, err := artifact.Open(octx, s.deps.JS)
		cancel()
		if err != nil {
			return err
		}
		s.store = store
	}
	f, err := os.CreateTemp(app.releases(), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	fetchCtx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	if _, err := artifact.Fetch(fetchCtx, s.store, name, version, f); err != nil {
		return err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	tmp := filepath.Join(app.releases(), ".unpack-"+version+"-"+randomSuffix())
	if err := archive.Unpack(f, tmp, s.cfg.MaxUnpacked); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("unpack %s: %w", contracts.ArtifactName(name, version), err)
	}
	if err := os.Rename(tmp, app.release(version)); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	return syncDir(app.releases())
}
