package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/logging"
)

// EmailMaxAttempts is how many times an email job runs before it is
// discarded and its delivery recorded failed. With River's backoff
// (attempt⁴ seconds) the last attempt comes about 4 hours after the first.
const EmailMaxAttempts = 10

// EmailArgs is the notify.email job: one notification, emailed. The data
// (sign-in links included) lives in River's job row until River cleans up
// finished jobs; the email body is never stored.
type EmailArgs struct {
	Notification Kind              `json:"notification" river:"unique"`
	UserID       string            `json:"user_id,omitempty"`
	To           string            `json:"to,omitempty"`
	Locale       string            `json:"locale,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	DedupKey     string            `json:"dedup_key,omitempty" river:"unique"`
}

// Kind is the River job kind.
func (EmailArgs) Kind() string { return "notify.email" }

// InsertOpts puts the job on notify's queue with its own attempt limit.
func (EmailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: EmailMaxAttempts}
}

type emailWorker struct {
	river.WorkerDefaults[EmailArgs]
	s *Service
}

func (w *emailWorker) Timeout(*river.Job[EmailArgs]) time.Duration { return w.s.jobTimeout }

func (w *emailWorker) Work(ctx context.Context, job *river.Job[EmailArgs]) error {
	return w.s.deliver(ctx, job.JobRow, job.Args)
}

// deliver sends one email job's message, at most once per successful
// delivery record. It returns nil when the email went out (now or on an
// earlier run), was turned off, or belongs to another job;
// river.JobCancel when it can never go out; any other error to have River
// retry. Besides the job's own, the common case costs a share of two
// statements, batched with the other jobs running meanwhile: one recording
// the attempt before the SMTP conversation, one its success after.
func (s *Service) deliver(ctx context.Context, job *rivertype.JobRow, a EmailArgs) error {
	lc := s.log.With().Int64("job_id", job.ID).Int("attempt", job.Attempt).Str("notification", string(a.Notification))
	if a.UserID != "" {
		lc = lc.Str("user_id", a.UserID)
	}
	if id := logging.RequestID(ctx); id != "" {
		lc = lc.Str("request_id", id)
	}
	log := lc.Logger()

	// Work out what this run will do, then record it in one statement.
	row := deliveryRow{
		JobID: job.ID, Kind: string(a.Notification), UserID: nullString(a.UserID),
		DedupKey: nullString(a.DedupKey), MessageID: newMessageID(s.domain), Status: StatusSending,
	}
	var msg *Message
	var cause error // why this run will not send
	skip := false
	if a.UserID != "" && !a.Notification.Essential() {
		// The user may have turned this kind off since it was asked for.
		email, _, err := effectivePreference(ctx, s.db, a.UserID, a.Notification)
		if err != nil {
			return err
		}
		skip = !email
	}
	switch {
	case skip:
		row.Status = StatusSkipped
	default:
		msg, cause = s.compose(ctx, a, row.MessageID)
		switch {
		case cause == nil:
			row.ToAddress, row.Subject, row.Attempts = msg.To.Address, msg.Subject, 1
		case IsPermanent(cause):
			row.Status, row.Error = StatusFailed, nullString(errorText(cause))
		case job.Attempt >= job.MaxAttempts:
			cause = fmt.Errorf("gave up after %d attempts: %w", job.Attempt, cause)
			row.Status, row.Error = StatusFailed, nullString(errorText(cause))
		default:
			row.Error = nullString(errorText(cause))
		}
	}
	b, err := s.begin.do(row)
	if err != nil {
		return err
	}
	id, messageID := b.id, b.messageID
	switch b.c {
	case claimTaken:
		log.Info().Msg("email not sent: another job already handles this dedup key")
		return nil
	case claimedSent:
		// An earlier run sent it and recorded so, but did not get to
		// complete the job (a crash, or an operator's retry).
		log.Info().Msg("email already sent; not sending again")
		return nil
	}
	log = log.With().Str("delivery_id", id).Logger()
	switch {
	case skip:
		log.Info().Msg("email not sent: the user turned this kind off")
		return nil
	case cause != nil && row.Status == StatusFailed:
		log.Warn().Err(cause).Msg("email failed for good; not retrying")
		if IsPermanent(cause) {
			return river.JobCancel(cause)
		}
		return cause // the last attempt: River discards the job
	case cause != nil:
		log.Warn().Err(cause).Msg("email failed; will retry")
		return cause
	}

	// Updates after the SMTP conversation must land even if the job's
	// context has just ended: they say what happened.
	bg := context.WithoutCancel(ctx)
	msg.MessageID = messageID // a retry resends under the first run's id
	if err := s.mailer.Send(ctx, msg); err != nil {
		if IsPermanent(err) {
			if err := markFailed(bg, s.db, id, err); err != nil {
				return err // retried: the next run fails the same way and records it
			}
			log.Warn().Err(err).Msg("email failed for good; not retrying")
			return river.JobCancel(err)
		}
		return s.retryLater(bg, job, id, err, log)
	}
	// The message is out. If this update is lost (the process dies now),
	// the job runs again and sends it again, with the same Message-ID:
	// SMTP gives at-least-once, not exactly-once.
	if _, err := s.sent.do(id); err != nil {
		log.Error().Err(err).Msg("email sent but not recorded; a retry will send it again")
		return err
	}
	log.Info().Str("message_id", messageID).Msg("email sent")
	return nil
}

// retryLater records a temporary failure and returns it so that River
// retries, or records the delivery failed when no attempt is left.
func (s *Service) retryLater(ctx context.Context, job *rivertype.JobRow, id string, cause error, log zerolog.Logger) error {
	if job.Attempt >= job.MaxAttempts {
		if err := markFailed(ctx, s.db, id, fmt.Errorf("gave up after %d attempts: %w", job.Attempt, cause)); err != nil {
			log.Error().Err(err).Msg("record failed delivery")
		}
		log.Warn().Err(cause).Msg("email failed; no attempts left")
		return cause
	}
	if err := markRetrying(ctx, s.db, id, cause); err != nil {
		log.Error().Err(err).Msg("record delivery error")
	}
	log.Warn().Err(cause).Msg("email failed; will retry")
	return cause
}

// compose resolves the recipient and renders the message. Errors wrapping
// *PermanentError cannot be fixed by retrying: an unknown kind, a user who
// no longer exists (and no To), an address that is not one.
func (s *Service) compose(ctx context.Context, a EmailArgs, messageID string) (*Message, error) {
	if !a.Notification.Valid() {
		return nil, &PermanentError{fmt.Errorf("unknown notification kind %q", a.Notification)}
	}
	var to, name string
	locale := a.Locale
	if a.UserID != "" {
		r, err := s.recipients.Recipient(ctx, a.UserID)
		switch {
		case err == nil:
			to, name = r.Email, r.Name
			if locale == "" {
				locale = r.Locale
			}
		case apperr.KindOf(err) == apperr.NotFound:
			if a.To == "" {
				return nil, &PermanentError{fmt.Errorf("recipient %s: %w", a.UserID, err)}
			}
			// The user is gone (AccountDeleted): To addresses the email.
		default:
			return nil, fmt.Errorf("find recipient %s: %w", a.UserID, err)
		}
	}
	if a.To != "" {
		to = a.To
	}
	if to == "" {
		return nil, &PermanentError{errors.New("recipient has no email address")}
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return nil, &PermanentError{fmt.Errorf("recipient address: %w", err)}
	}
	unsub := ""
	if a.UserID != "" && !a.Notification.Essential() {
		if unsub, err = s.unsubscribeURL(ctx, a.UserID, a.Notification); err != nil {
			return nil, err
		}
	}
	r, err := s.tmpl.render(a.Notification, locale, a.Data, name, addr.Address, s.appURL, unsub)
	if err != nil {
		// Start-up rendered every template; this is a bug, and retrying
		// renders the same.
		return nil, &PermanentError{fmt.Errorf("render: %w", err)}
	}
	return &Message{
		MessageID: messageID,
		From:      s.from,
		To:        mail.Address{Name: name, Address: addr.Address},
		Subject:   r.Subject,
		Text:      r.Text,
		HTML:      r.HTML,

		ListUnsubscribe: unsub,
	}, nil
}
