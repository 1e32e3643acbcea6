package user

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

func ptr[T any](v T) *T { return &v }

// createProfile adds a profile to acc.
func (b *testBundle) createProfile(t *testing.T, accountID string, in ProfileInput) Profile {
	t.Helper()
	p, err := b.svc.CreateProfile(b.ctx, accountID, in)
	if err != nil {
		t.Fatalf("CreateProfile(%s): %v", in.Name, err)
	}
	return p
}

func TestProfiles(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "family@example.com")
		kid := b.createProfile(t, acc.ID, ProfileInput{Name: "Kid", Kids: true, Language: "pt-BR"})
		if !kid.Kids || kid.MaturityLevel != KidsMaxMaturity || kid.Language != "pt-BR" || kid.HasPIN {
			t.Fatalf("kids profile = %+v; want maturity %d", kid, KidsMaxMaturity)
		}
		ps, err := b.svc.Profiles(b.ctx, acc.ID)
		if err != nil || len(ps) != 2 || ps[1].ID != kid.ID {
			t.Fatalf("Profiles = %+v, %v; want the first profile, then Kid", ps, err)
		}
		got, err := b.svc.UpdateProfile(b.ctx, acc.ID, kid.ID, ProfilePatch{Name: ptr("Kiddo"), MaturityLevel: ptr(MaturityAllAges)})
		if err != nil || got.Name != "Kiddo" || got.MaturityLevel != MaturityAllAges {
			t.Fatalf("UpdateProfile = %+v, %v", got, err)
		}
		if err := b.svc.DeleteProfile(b.ctx, acc.ID, kid.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err = b.svc.Profile(b.ctx, acc.ID, kid.ID)
		wantCode(t, "Profile after delete", err, ErrProfileNotFound.Code)
	})

	t.Run("ErrProfileLimit", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "crowd@example.com")
		for i := 2; i <= MaxProfiles; i++ {
			b.createProfile(t, acc.ID, ProfileInput{Name: fmt.Sprintf("P%d", i)})
		}
		_, err := b.svc.CreateProfile(b.ctx, acc.ID, ProfileInput{Name: "One too many"})
		wantCode(t, "sixth CreateProfile", err, ErrProfileLimit.Code)
	})

	t.Run("ErrProfileNameTaken", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "names@example.com")
		b.createProfile(t, acc.ID, ProfileInput{Name: "Sam"})
		_, err := b.svc.CreateProfile(b.ctx, acc.ID, ProfileInput{Name: "Sam"})
		wantCode(t, "CreateProfile(same name)", err, ErrProfileNameTaken.Code)
	})

	t.Run("ErrValidation", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "invalid@example.com")
		_, err := b.svc.CreateProfile(b.ctx, acc.ID, ProfileInput{Name: "Kid", Kids: true, MaturityLevel: ptr(MaturityAdult)})
		wantField(t, "kids profile at level 50", err, "maturity_level")
		_, err = b.svc.CreateProfile(b.ctx, acc.ID, ProfileInput{Name: "Pinned", PIN: "12a4"})
		wantField(t, "PIN of letters", err, "pin")
	})

	t.Run("ErrLastProfile", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "alone@example.com")
		ps, err := b.svc.Profiles(b.ctx, acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "DeleteProfile(only profile)", b.svc.DeleteProfile(b.ctx, acc.ID, ps[0].ID, ""), ErrLastProfile.Code)
	})

	t.Run("ErrProfileNotFoundOtherAccount", func(t *testing.T) {
		t.Parallel()
		owner := b.signUp(t, "owner@example.com")
		other := b.signUp(t, "other@example.com")
		p := b.createProfile(t, owner.ID, ProfileInput{Name: "Mine"})
		_, err := b.svc.Profile(b.ctx, other.ID, p.ID)
		wantCode(t, "Profile", err, ErrProfileNotFound.Code)
		_, err = b.svc.UpdateProfile(b.ctx, other.ID, p.ID, ProfilePatch{Name: ptr("Stolen")})
		wantCode(t, "UpdateProfile", err, ErrProfileNotFound.Code)
		_, err = b.svc.UnlockProfile(b.ctx, other.ID, p.ID, "")
		wantCode(t, "UnlockProfile", err, ErrProfileNotFound.Code)
		wantCode(t, "DeleteProfile", b.svc.DeleteProfile(b.ctx, other.ID, p.ID, ""), ErrProfileNotFound.Code)
		if got, err := b.svc.Profile(b.ctx, owner.ID, p.ID); err != nil || got.Name != "Mine" {
			t.Fatalf("owner's profile = %+v, %v; want it untouched", got, err)
		}
	})
}

func TestPIN(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "pin@example.com")
		p := b.createProfile(t, acc.ID, ProfileInput{Name: "Locked", PIN: "1234"})
		if !p.HasPIN {
			t.Fatalf("CreateProfile with a PIN = %+v, want HasPIN", p)
		}
		if got, err := b.svc.UnlockProfile(b.ctx, acc.ID, p.ID, "1234"); err != nil || got.ID != p.ID {
			t.Fatalf("UnlockProfile(right PIN) = %+v, %v", got, err)
		}
		got, err := b.svc.UpdateProfile(b.ctx, acc.ID, p.ID, ProfilePatch{CurrentPIN: "1234", PIN: ptr("5678")})
		if err != nil || !got.HasPIN {
			t.Fatalf("UpdateProfile(new PIN) = %+v, %v", got, err)
		}
		_, err = b.svc.UnlockProfile(b.ctx, acc.ID, p.ID, "1234")
		wantCode(t, "UnlockProfile(old PIN)", err, ErrWrongPIN.Code)
		got, err = b.svc.UpdateProfile(b.ctx, acc.ID, p.ID, ProfilePatch{CurrentPIN: "5678", PIN: ptr("")})
		if err != nil || got.HasPIN {
			t.Fatalf("UpdateProfile(remove PIN) = %+v, %v; want no PIN", got, err)
		}
		if _, err := b.svc.UnlockProfile(b.ctx, acc.ID, p.ID, ""); err != nil {
			t.Fatalf("UnlockProfile without a PIN after removing it = %v", err)
		}
	})

	t.Run("ErrPINRequired", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "required@example.com")
		p := b.createProfile(t, acc.ID, ProfileInput{Name: "Locked", PIN: "1234"})
		_, err := b.svc.UnlockProfile(b.ctx, acc.ID, p.ID, "")
		wantCode(t, "UnlockProfile(no PIN)", err, ErrPINRequired.Code)
		_, err = b.svc.UpdateProfile(b.ctx, acc.ID, p.ID, ProfilePatch{Name: ptr("Open")})
		wantCode(t, "UpdateProfile(no current PIN)", err, ErrPINRequired.Code)
		wantCode(t, "DeleteProfile(no current PIN)", b.svc.DeleteProfile(b.ctx, acc.ID, p.ID, ""), ErrPINRequired.Code)
	})

	t.Run("ErrWrongPIN", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "wrongpin@example.com")
		p := b.createProfile(t, acc.ID, ProfileInput{Name: "Locked", PIN: "1234"})
		_, err := b.svc.UpdateProfile(b.ctx, acc.ID, p.ID, ProfilePatch{CurrentPIN: "0000", PIN: ptr("")})
		wantCode(t, "UpdateProfile(wrong current PIN)", err, ErrWrongPIN.Code)
		wantCode(t, "DeleteProfile(wrong current PIN)", b.svc.DeleteProfile(b.ctx, acc.ID, p.ID, "0000"), ErrWrongPIN.Code)
		if got, err := b.svc.Profile(b.ctx, acc.ID, p.ID); err != nil || !got.HasPIN {
			t.Fatalf("profile after wrong PINs = %+v, %v; want it unchanged", got, err)
		}
	})

	t.Run("ErrPINLocked", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "lockout@example.com")
		p := b.createProfile(t, acc.ID, ProfileInput{Name: "Locked", PIN: "1234"})
		for i := range maxPINFailures {
			_, err := b.svc.UnlockProfile(b.ctx, acc.ID, p.ID, fmt.Sprintf("000%d", i))
			wantCode(t, fmt.Sprintf("wrong PIN %d", i+1), err, ErrWrongPIN.Code)
		}
		_, err := b.svc.UnlockProfile(b.ctx, acc.ID, p.ID, "1234")
		wantCode(t, "UnlockProfile(right PIN) after five wrong", err, ErrPINLocked.Code)
		if e := (*apperr.Error)(nil); !errors.As(err, &e) || e.RetryAfter != 300 {
			t.Fatalf("ErrPINLocked = %+v, want RetryAfter 300", err)
		}
		_, err = b.svc.UpdateProfile(b.ctx, acc.ID, p.ID, ProfilePatch{CurrentPIN: "1234", PIN: ptr("")})
		wantCode(t, "UpdateProfile while locked", err, ErrPINLocked.Code)
	})
}

// TestPINOutsideLock checks that argon2 (here a stand-in that looks at the
// database when called) never runs while the Service holds a row lock on
// the profile or its account.
func TestPINOutsideLock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.signUp(t, "nolock@example.com")
	p := b.createProfile(t, acc.ID, ProfileInput{Name: "Locked", PIN: "1234"})
	b.createProfile(t, acc.ID, ProfileInput{Name: "Spare"})

	var mu sync.Mutex
	var calls int
	var locked []string
	b.hasher.during = func(op string) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		tx, err := b.db.BeginTxx(b.ctx, nil)
		if err != nil {
			locked = append(locked, op+": "+err.Error())
			return
		}
		defer func() { _ = tx.Rollback() }()
		for _, row := range []struct{ query, id string }{
			{`SELECT 1 FROM users.profiles WHERE id = $1 FOR UPDATE NOWAIT`, p.ID},
			{`SELECT 1 FROM users.accounts WHERE id = $1 FOR UPDATE NOWAIT`, acc.ID},
		} {
			if _, err := tx.ExecContext(b.ctx, row.query, row.id); err != nil {
				locked = append(locked, op+": "+err.Error())
				return
			}
		}
	}

	if _, err := b.svc.UpdateProfile(b.ctx, acc.ID, p.ID, ProfilePatch{CurrentPIN: "1234", PIN: ptr("4321")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CreateProfile(b.ctx, acc.ID, ProfileInput{Name: "Another", PIN: "1111"}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.DeleteProfile(b.ctx, acc.ID, p.ID, "4321"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 4 {
		t.Errorf("hasher called %d times, want 4: check and hash, hash, check", calls)
	}
	if len(locked) > 0 {
		t.Errorf("hashing or checking a PIN while a row is locked: %v", locked)
	}
}
