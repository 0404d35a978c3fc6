package serve

import (
	"context"
	"path/filepath"

	"accountd/projections/outbox"
)

// newOutbox builds the outbox that follows the log and e-mails links and notices: over
// SMTP when an address is configured, otherwise as .eml files in DataDir/outbox, which is
// all a first start needs.
func newOutbox(ctx context.Context, s *Server) (*outbox.Outbox, error) {
	mc := s.cfg.Mail
	var mailer outbox.Mailer
	if mc.SMTPAddr != "" {
		m, err := outbox.NewSMTPMailer(outbox.SMTPConfig{
			Addr: mc.SMTPAddr, Username: mc.SMTPUsername, Password: mc.SMTPPassword, From: mc.From, StartTLS: mc.SMTPStartTLS,
		})
		if err != nil {
			return nil, err
		}
		mailer = m
	} else {
		m, err := outbox.NewFileMailer(filepath.Join(s.cfg.DataDir, "outbox"))
		if err != nil {
			return nil, err
		}
		mailer = m
	}
	var shared outbox.SharedCheckpoint
	if s.sharedLeases {
		shared = sharedOutbox{s.leases}
	}
	return outbox.New(ctx, outbox.Config{
		// The outbox records each delivery in the log (mail_sent.v1, mail_dead_lettered.v1)
		// through the store itself: the record must outlive readmodels.db.
		Store: s.store, Recorder: s.store, DB: s.readDB, Links: s.links, Mailer: mailer, PublicURL: s.cfg.PublicURL, From: mc.From,
		Logger: s.log, MaxAttempts: mc.MaxAttempts, Clock: s.cfg.Clock, MaxAge: mc.MaxAge,
		Shared: shared,
	})
}
