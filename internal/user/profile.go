package user

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// ProfileInput creates a profile. Kids defaults to false; MaturityLevel
// defaults to MaturityAdult, or KidsMaxMaturity for kids profiles;
// Language to "en".
type ProfileInput struct {
	Name          string `json:"name"`
	Kids          bool   `json:"kids,omitempty"`
	MaturityLevel *int   `json:"maturity_level,omitempty"`
	Language      string `json:"language,omitempty"`
	Avatar        string `json:"avatar,omitempty"`
	// PIN is four digits; empty for none.
	PIN string `json:"pin,omitempty"`
}

// ProfilePatch changes some fields of a profile. PIN "" removes the PIN.
// CurrentPIN is required to change a profile that has a PIN.
type ProfilePatch struct {
	Name          *string `json:"name,omitempty"`
	Kids          *bool   `json:"kids,omitempty"`
	MaturityLevel *int    `json:"maturity_level,omitempty"`
	Language      *string `json:"language,omitempty"`
	Avatar        *string `json:"avatar,omitempty"`
	PIN           *string `json:"pin,omitempty"`
	CurrentPIN    string  `json:"current_pin,omitempty"`
}

var (
	languageRe = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)
	avatarRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	pinRe      = regexp.MustCompile(`^[0-9]{4}$`)
)

func validMaturity(level int) bool {
	switch level {
	case MaturityAllAges, MaturityOlderKid, MaturityTeen, MaturityMature, MaturityAdult:
		return true
	}
	return false
}

func validateProfileFields(name, language, avatar string) error {
	var errs []apperr.FieldError
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		errs = append(errs, apperr.FieldError{Field: "name", Code: "required", Message: "Give the profile a name."})
	case n > 40:
		errs = append(errs, apperr.FieldError{Field: "name", Code: "too_long", Message: "A profile name has at most 40 characters."})
	case api.LineProblem("name", name) != nil:
		errs = append(errs, apperr.FieldError{Field: "name", Code: "invalid", Message: "A profile name cannot hold control characters."})
	}
	if !languageRe.MatchString(language) {
		errs = append(errs, apperr.FieldError{Field: "language", Code: "invalid", Message: `Use a language code such as "en" or "pt-BR".`})
	}
	if avatar != "" && !avatarRe.MatchString(avatar) {
		errs = append(errs, apperr.FieldError{Field: "avatar", Code: "invalid", Message: "Pick one of the avatars by its id."})
	}
	if len(errs) > 0 {
		return apperr.Validation(errs...)
	}
	return nil
}

func validateMaturity(kids bool, level int) error {
	if !validMaturity(level) {
		return apperr.Validation(apperr.FieldError{Field: "maturity_level", Code: "invalid", Message: "Must be one of 10, 20, 30, 40, 50."})
	}
	if kids && level > KidsMaxMaturity {
		return apperr.Validation(apperr.FieldError{Field: "maturity_level", Code: "too_mature_for_kids", Message: fmt.Sprintf("A kids profile allows at most level %d.", KidsMaxMaturity)})
	}
	return nil
}

func validatePIN(field, pin string) error {
	if !pinRe.MatchString(pin) {
		return apperr.Validation(apperr.FieldError{Field: field, Code: "invalid", Message: "A PIN is four digits."})
	}
	return nil
}

// Profiles lists the account's profiles, oldest first.
func (s *Service) Profiles(ctx context.Context, accountID string) ([]Profile, error) {
	return listProfiles(ctx, s.db, accountID)
}

// Profile returns one of the account's profiles, or ErrProfileNotFound
// (also for another account's profile).
func (s *Service) Profile(ctx context.Context, accountID, id string) (Profile, error) {
	p, _, err := findProfile(ctx, s.db, accountID, id, false)
	return p, err
}

// CreateProfile adds a profile. It returns ErrProfileLimit at five,
// ErrProfileNameTaken, or a validation error.
func (s *Service) CreateProfile(ctx context.Context, accountID string, in ProfileInput) (Profile, error) {
	p := Profile{ID: uuid.NewString(), Name: strings.TrimSpace(in.Name), Kids: in.Kids, Language: in.Language, Avatar: in.Avatar,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if p.Language == "" {
		p.Language = "en"
	}
	p.MaturityLevel = MaturityAdult
	if p.Kids {
		p.MaturityLevel = KidsMaxMaturity
	}
	if in.MaturityLevel != nil {
		p.MaturityLevel = *in.MaturityLevel
	}
	if err := validateProfileFields(p.Name, p.Language, p.Avatar); err != nil {
		return Profile{}, err
	}
	if err := validateMaturity(p.Kids, p.MaturityLevel); err != nil {
		return Profile{}, err
	}
	var pinHash *string
	if in.PIN != "" {
		if err := validatePIN("pin", in.PIN); err != nil {
			return Profile{}, err
		}
		h, err := s.hasher.Hash(ctx, in.PIN)
		if err != nil {
			return Profile{}, err
		}
		pinHash, p.HasPIN = &h, true
	}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// Lock the account so two concurrent creates cannot both pass the limit.
		if _, err := findAccountForUpdate(ctx, tx, accountID); err != nil {
			return err
		}
		n, err := countProfiles(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if n >= MaxProfiles {
			return ErrProfileLimit
		}
		return insertProfile(ctx, tx, accountID, p, pinHash)
	})
	return p, err
}

// UpdateProfile changes a profile. A profile with a PIN needs CurrentPIN.
// It returns ErrProfileNotFound, ErrPINRequired, ErrWrongPIN, ErrPINLocked,
// ErrProfileNameTaken, or a validation error.
func (s *Service) UpdateProfile(ctx context.Context, accountID, id string, patch ProfilePatch) (Profile, error) {
	// argon2 costs about 25 ms a call, so the current PIN is checked and
	// the new one hashed before the row lock is taken.
	checked, err := s.verifyPIN(ctx, accountID, id, patch.CurrentPIN)
	if err != nil {
		return Profile{}, err
	}
	newPIN, err := s.hashNewPIN(ctx, patch.PIN)
	if err != nil {
		return Profile{}, err
	}
	var out Profile
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		p, pinHash, err := findProfile(ctx, tx, accountID, id, true)
		if err != nil {
			return err
		}
		if err := s.recheckPIN(ctx, p.ID, patch.CurrentPIN, checked, pinHash); err != nil {
			return err
		}
		if patch.Name != nil {
			p.Name = strings.TrimSpace(*patch.Name)
		}
		if patch.Kids != nil {
			p.Kids = *patch.Kids
			if p.Kids && patch.MaturityLevel == nil && p.MaturityLevel > KidsMaxMaturity {
				p.MaturityLevel = KidsMaxMaturity
			}
		}
		if patch.MaturityLevel != nil {
			p.MaturityLevel = *patch.MaturityLevel
		}
		if patch.Language != nil {
			p.Language = *patch.Language
		}
		if patch.Avatar != nil {
			p.Avatar = *patch.Avatar
		}
		if err := validateProfileFields(p.Name, p.Language, p.Avatar); err != nil {
			return err
		}
		if err := validateMaturity(p.Kids, p.MaturityLevel); err != nil {
			return err
		}
		// The stored PIN stays unless the patch sets ("1234") or removes ("") it.
		if patch.PIN != nil {
			pinHash = ""
			if *patch.PIN != "" {
				if err := validatePIN("pin", *patch.PIN); err != nil {
					return err
				}
				pinHash = newPIN
			}
		}
		var newHash *string
		if pinHash != "" {
			newHash = &pinHash
		}
		p.HasPIN = newHash != nil
		out = p
		return updateProfile(ctx, tx, accountID, p, newHash)
	})
	return out, err
}

// DeleteProfile removes a profile (its PIN is needed if it has one). It
// returns ErrLastProfile for the account's only profile.
func (s *Service) DeleteProfile(ctx context.Context, accountID, id, currentPIN string) error {
	checked, err := s.verifyPIN(ctx, accountID, id, currentPIN)
	if err != nil {
		return err
	}
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := findAccountForUpdate(ctx, tx, accountID); err != nil {
			return err
		}
		p, pinHash, err := findProfile(ctx, tx, accountID, id, true)
		if err != nil {
			return err
		}
		if err := s.recheckPIN(ctx, p.ID, currentPIN, checked, pinHash); err != nil {
			return err
		}
		n, err := countProfiles(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if n <= 1 {
			return ErrLastProfile
		}
		return deleteProfile(ctx, tx, accountID, id)
	})
}

// verifyPIN checks pin, as current_pin, against the profile's PIN on a
// plain read, so that argon2 never runs under a row lock, and returns the
// hash it checked ("" when the profile has none). A profile it cannot read
// is left to the caller's locked read to report.
func (s *Service) verifyPIN(ctx context.Context, accountID, id, pin string) (string, error) {
	_, hash, err := findProfile(ctx, s.db, accountID, id, false)
	if err != nil || hash == "" {
		return "", nil
	}
	return hash, s.checkPIN(ctx, id, "current_pin", pin, hash)
}

// recheckPIN checks pin against locked, the PIN hash read under the row
// lock, only when it is not the one verifyPIN checked: the PIN was set or
// changed in between, which is rare enough to hash under the lock.
func (s *Service) recheckPIN(ctx context.Context, profileID, pin, checked, locked string) error {
	if locked == "" || locked == checked {
		return nil
	}
	return s.checkPIN(ctx, profileID, "current_pin", pin, locked)
}

// hashNewPIN hashes the PIN a patch sets, ahead of the transaction. It
// returns "" when the patch sets none, or one that is not four digits: the
// validation in UpdateProfile reports that in its turn.
func (s *Service) hashNewPIN(ctx context.Context, pin *string) (string, error) {
	if pin == nil || *pin == "" || validatePIN("pin", *pin) != nil {
		return "", nil
	}
	return s.hasher.Hash(ctx, *pin)
}

// UnlockProfile returns the profile for a session to act as, checking its
// PIN when it has one. Wrong PINs are counted per profile: after
// maxPINFailures within pinWindow it returns ErrPINLocked with Retry-After.
func (s *Service) UnlockProfile(ctx context.Context, accountID, id, pin string) (Profile, error) {
	p, pinHash, err := findProfile(ctx, s.db, accountID, id, false)
	if err != nil {
		return Profile{}, err
	}
	if pinHash != "" {
		if err := s.checkPIN(ctx, p.ID, "pin", pin, pinHash); err != nil {
			return Profile{}, err
		}
	}
	return p, nil
}

const (
	maxPINFailures = 5
	pinWindow      = 5 * time.Minute
)

func (s *Service) checkPIN(ctx context.Context, profileID, field, pin, hash string) error {
	key := "pin:" + profileID
	if pin == "" {
		return ErrPINRequired
	}
	if n, err := s.counter.Get(ctx, key); err == nil && n >= maxPINFailures {
		e := *ErrPINLocked
		e.RetryAfter = int(pinWindow.Seconds())
		return &e
	}
	if err := validatePIN(field, pin); err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, pin, hash)
	if err != nil {
		return err
	}
	if !ok {
		if _, _, err := s.counter.Incr(ctx, key, pinWindow); err != nil {
			s.log.Warn().Err(err).Msg("count failed pin")
		}
		return ErrWrongPIN
	}
	_ = s.counter.Reset(ctx, key)
	return nil
}
