package order

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/idem"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/store"
)

// Exit passes (scan-and-go). A paid scan-and-go order's owner asks for an
// exit pass (IssueExitPass: GET /orders/{id}/exit-pass, a QR of the code);
// staff of the order's store scan it at the door (VerifyExitPass: POST
// /exit-passes/verify) and compare the items shown with the bag. The
// first verify lets the shopper out: it records ExitedAt and ExitedBy on
// the order, in a Write conditioned on the order's version, so however
// many verifies race, one wins and the others answer ErrAlreadyExited.
//
// A pass is a random code of 128 bits (unguessable, so it needs no rate
// limit), valid ExitPassTTL after it was issued. The order holds its one
// current code (record.PassCode): a new GET replaces the previous code,
// which verify then refuses (ErrExitPassExpired; ErrAlreadyExited once the
// order is out). The entry
//
//	order#exitpass#<code> / pass   {owner, id, expires_at}
//
// is stored with a store expiry exitPassKeep after expires_at, so that a
// late scan is told "expired" (410) rather than "unknown" for a while.
// Every condition is checked again at verify, on the order as it is then:
// a pass issued before a refund, a cancel or another pass is refused.

// ExitPassTTL is how long an exit pass can be verified after it was
// issued: long enough to walk to the door, short enough that a screenshot
// is useless soon after. The Mini-Program asks for a new one when it runs
// out (a new pass replaces the old one).
const ExitPassTTL = 5 * time.Minute

// exitPassKeep is how long an entry is kept past its expiry so that a
// late scan is answered ErrExitPassExpired.
const exitPassKeep = time.Hour

const exitPassPrefix = "order#exitpass#"

func exitPassKey(code string) store.Key { return store.Key{PK: exitPassPrefix + code, SK: "pass"} }

// passEntry is the value of an exit pass entry.
type passEntry struct {
	Owner     string    `json:"owner"`
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// passCodeLen is the length of a code: 16 random bytes in base32.
const passCodeLen = 26

var passEncoding = base32.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567").WithPadding(base32.NoPadding)

func newPassCode() string {
	var b [16]byte
	rand.Read(b[:])
	return passEncoding.EncodeToString(b[:])
}

// validPassCode is a cheap check before a read; it accepts lower case, as
// some scanners report it.
func validPassCode(code string) bool {
	if len(code) != passCodeLen {
		return false
	}
	_, err := passEncoding.DecodeString(strings.ToUpper(code))
	return err == nil
}

// Errors of exit passes.
var (
	// ErrExitRefused is returned when an order may not have, or be let out
	// with, an exit pass: not a scan-and-go order, not paid (pending,
	// cancelled, closed), refunding, or (partly) refunded.
	ErrExitRefused = apperr.New(apperr.Conflict, "exit_refused", "this order cannot leave the store with an exit pass")
	// ErrAlreadyExited is returned when the order was already let out: a
	// second verify of its pass (or of any of its passes), or a pass asked
	// for afterwards.
	ErrAlreadyExited = apperr.New(apperr.Conflict, "already_exited", "the order was already let out of the store")
	// ErrExitPassNotFound is returned by VerifyExitPass for a code that is
	// no pass: mistyped, or expired over an hour ago.
	ErrExitPassNotFound = apperr.New(apperr.NotFound, "exit_pass_not_found", "no such exit pass")
	// ErrExitPassExpired is returned by VerifyExitPass for a pass older than
	// ExitPassTTL, or one that a newer pass of the order replaced.
	ErrExitPassExpired = apperr.New(apperr.Gone, "exit_pass_expired", "the exit pass has expired: ask for a new one")
	// ErrNotStoreStaff is returned when the caller is staff, but not of the
	// order's store (or of no one store): by VerifyExitPass, and by the
	// queue's List and Serve. It is outlet's, so that every store-bound
	// action answers the same error.
	ErrNotStoreStaff = outlet.ErrNotStoreStaff
)

// ExitPass is an issued pass.
type ExitPass struct {
	OrderID   string    `json:"order_id"`
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// exitable returns why the order cannot leave with a pass, or nil.
func (r *record) exitable() error {
	switch {
	case r.Fulfillment != FulfillScanAndGo:
		return ErrExitRefused.WithMessage("order %s is not a scan-and-go order", r.ID)
	case r.ExitedAt != nil:
		return ErrAlreadyExited.WithMessage("order %s was let out at %s", r.ID, r.ExitedAt.Format(time.RFC3339))
	case r.Status != Paid:
		return ErrExitRefused.WithMessage("order %s is %s: only a paid order leaves the store", r.ID, r.Status)
	case r.Refunded > 0 || r.openRefund() != nil:
		return ErrExitRefused.WithMessage("order %s has a refund: check it at the counter", r.ID)
	}
	return nil
}

// IssueExitPass returns a new exit pass for openid's paid scan-and-go order
// id, replacing any earlier one. Returns ErrNotFound (also another user's
// order), ErrExitRefused, ErrAlreadyExited.
func (s *Service) IssueExitPass(ctx context.Context, openid, id string) (ExitPass, error) {
	cur, err := s.load(ctx, openid, id)
	if err != nil {
		return ExitPass{}, err
	}
	if err := cur.exitable(); err != nil {
		return ExitPass{}, err
	}
	code := newPassCode()
	exp := s.o.Now().UTC().Add(ExitPassTTL).Truncate(time.Second)
	val, err := json.Marshal(passEntry{Owner: openid, ID: id, ExpiresAt: exp})
	if err != nil {
		return ExitPass{}, err
	}
	_, _, err = s.update(ctx, openid, id, func(r *record) ([]store.Op, error) {
		if err := r.exitable(); err != nil {
			return nil, err
		}
		// The previous pass's entry stays until its store expiry: the
		// order no longer names it, so it is refused as replaced (or as
		// already let out), which says more at the door than "unknown".
		r.PassCode = code
		return []store.Op{store.Put(store.Item{Key: exitPassKey(code), Value: val, ExpiresAt: exp.Add(exitPassKeep)}).IfAbsent()}, nil
	})
	if err != nil {
		return ExitPass{}, err
	}
	return ExitPass{OrderID: id, Code: code, ExpiresAt: exp}, nil
}

// Verifier is who verifies an exit pass: a staff member's openid, or the
// admin token.
type Verifier struct {
	OpenID string
	Admin  bool
}

func (v Verifier) name() string {
	if v.Admin {
		return "admin"
	}
	return v.OpenID
}

// Exit is what the door sees of a verified pass: the order's items, to
// compare with the bag, and who let it out when.
type Exit struct {
	OrderID  string     `json:"order_id"`
	StoreID  string     `json:"store_id"`
	Items    []Item     `json:"items"`
	Total    int64      `json:"total"`
	PaidAt   *time.Time `json:"paid_at,omitempty"`
	ExitedAt time.Time  `json:"exited_at"`
	ExitedBy string     `json:"exited_by"`
}

// IdemExitVerify names VerifyExitPass in Idempotency-Key records.
const IdemExitVerify = "exit-pass-verify"

// VerifyExitPass lets the order of the pass code out, once: the caller
// must be the admin or staff of the order's store (Options.Stores
// StaffStore). With idemKey, a retry of the same verify by the same caller
// answers the first Exit again; any other verify of a pass of an order
// already let out is ErrAlreadyExited. Returns the Stores' not-staff
// error, ErrNotStoreStaff, ErrExitPassNotFound, ErrExitPassExpired,
// ErrExitRefused, ErrAlreadyExited, idem's errors.
func (s *Service) VerifyExitPass(ctx context.Context, by Verifier, code, idemKey string) (Exit, bool, error) {
	staffStore := ""
	if !by.Admin {
		if s.o.Stores == nil || by.OpenID == "" {
			return Exit{}, false, ErrNotStoreStaff.WithMessage("this shop has no stores: only the admin token verifies exit passes")
		}
		var err error
		// The role first: a caller who is not staff learns nothing of the code.
		if staffStore, err = s.o.Stores.StaffStore(ctx, by.OpenID); err != nil {
			return Exit{}, false, err
		}
	}
	ik, err := idem.New(IdemExitVerify, by.name(), idemKey, struct {
		Code string `json:"code"`
	}{code})
	if err != nil {
		return Exit{}, false, err
	}
	if b, ok, err := ik.Lookup(ctx, s.st); err != nil || ok {
		return replayExit(b, err)
	}
	code = strings.ToUpper(code)
	if !validPassCode(code) {
		return Exit{}, false, ErrExitPassNotFound.WithMessage("%q is not an exit pass code", clipCode(code))
	}
	it, err := s.st.Get(ctx, exitPassKey(code))
	if errors.Is(err, store.ErrNotFound) {
		return Exit{}, false, ErrExitPassNotFound.WithMessage("no exit pass has this code (mistyped, or expired over %s ago)", exitPassKeep)
	}
	if err != nil {
		return Exit{}, false, err
	}
	var pe passEntry
	if err := json.Unmarshal(it.Value, &pe); err != nil {
		return Exit{}, false, fmt.Errorf("order: corrupt exit pass %s: %w", it.Key, err)
	}
	cur, err := s.load(ctx, pe.Owner, pe.ID)
	if err != nil {
		return Exit{}, false, err
	}
	if !by.Admin && (staffStore == "" || staffStore != cur.StoreID) {
		return Exit{}, false, ErrNotStoreStaff.WithMessage("the order was made in store %q; you are staff of %s", cur.StoreID, storeName(staffStore))
	}
	now := s.o.Now().UTC()
	var ex Exit
	_, _, err = s.update(ctx, pe.Owner, pe.ID, func(r *record) ([]store.Op, error) {
		if r.ExitedAt != nil {
			return nil, ErrAlreadyExited.WithMessage("order %s was let out at %s by %s", r.ID, r.ExitedAt.Format(time.RFC3339), r.ExitedBy)
		}
		switch {
		case r.PassCode != code:
			return nil, ErrExitPassExpired.WithMessage("a newer exit pass of order %s replaced this one", r.ID)
		case !now.Before(pe.ExpiresAt):
			return nil, ErrExitPassExpired.WithMessage("the exit pass expired at %s (passes last %s): the shopper asks for a new one", pe.ExpiresAt.Format(time.RFC3339), ExitPassTTL)
		}
		if err := r.exitable(); err != nil {
			return nil, err
		}
		r.ExitedAt, r.ExitedBy = &now, by.name()
		ex = exitOf(r)
		if ik.IsZero() {
			return nil, nil
		}
		b, err := json.Marshal(ex)
		if err != nil {
			return nil, err
		}
		return []store.Op{ik.Op(b, now)}, nil
	})
	if errors.Is(err, errDuplicate) {
		// The same verify (same caller, same key) won meanwhile.
		b, _, err := ik.Lookup(ctx, s.st)
		return replayExit(b, err)
	}
	if err != nil {
		return Exit{}, false, err
	}
	return ex, false, nil
}

func exitOf(r *record) Exit {
	return Exit{OrderID: r.ID, StoreID: r.StoreID, Items: r.Items, Total: r.Total, PaidAt: r.PaidAt,
		ExitedAt: *r.ExitedAt, ExitedBy: r.ExitedBy}
}

func replayExit(b []byte, err error) (Exit, bool, error) {
	if err != nil {
		return Exit{}, false, err
	}
	var ex Exit
	if err := json.Unmarshal(b, &ex); err != nil {
		return Exit{}, false, fmt.Errorf("order: corrupt exit pass verify record: %w", err)
	}
	return ex, true, nil
}

func storeName(id string) string {
	if id == "" {
		return "no one store"
	}
	return fmt.Sprintf("store %q", id)
}

func clipCode(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
