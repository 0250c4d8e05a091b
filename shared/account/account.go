// Package account implements minifn's users and their login: a wx.login
// code is exchanged with WeChat (code2Session) for the user's openid and
// session_key, the user is created on their first login, and the
// session_key is kept server-side.
//
// # Keys
//
//	user#{openid} / profile  the User's lasting fields as JSON (openid, unionid, created_at, phone, …):
//	                         created by the first login, then changed only by versioned updates
//	user#{openid} / login    {"session_key","at"}: the latest login, replaced by every login
//
// A login replaces the login item blindly and creates the profile only when
// it is absent, so concurrent logins of one user (two devices, a double tap)
// never conflict with each other, nor with a feature updating the profile.
// Get reads both items with one Query of the user's collection.
//
// # Why the session_key is stored, and replaced on every login
//
// WeChat keeps one valid session_key per user: every wx.login may issue a
// new one and invalidate the previous (the wx.checkSession and login pages
// of developers.weixin.qq.com). The key is needed later to verify or decrypt
// what the Mini-Program sends (open data, the older getPhoneNumber flow), and
// it must be the latest login's, or decryption fails with a padding error
// that looks like corrupt input. So it lives in the login item, replaced on
// every login, and is never sent to a client, put in an error or logged: it
// is a key to the user's data.
//
// # Caveats
//
//   - The session_key is stored in the clear, like every other item; the
//     store's access control (IAM, database roles) is what protects it.
//   - An openid is per Mini-Program; unionid is present only when the app is
//     bound to an Open Platform account.
//   - The user# collection is the account's: features that keep per-user
//     records use their own prefixes (coupon#, points#, …), so Get stays one
//     small Query.
package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/stats"
	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// User is a Mini-Program user as minifn knows them. It holds no secret and
// is what GET /me shows.
type User struct {
	OpenID      string    `json:"openid"`
	UnionID     string    `json:"unionid,omitempty"`
	CreatedAt   time.Time `json:"created_at"`             // first login
	LastLoginAt time.Time `json:"last_login_at,omitzero"` // latest login: kept in the login item, not the profile

	// Phone is the number bound with getPhoneNumber (POST /me/phone).
	Phone string `json:"phone,omitempty"`
	// Scene and Referrer record where the user first came from (the scene of
	// a Mini-Program code), set once by the features that know it.
	Scene    string `json:"scene,omitempty"`
	Referrer string `json:"referrer,omitempty"`
}

// WeChat is what the service needs of the WeChat client (*wechat.Client).
type WeChat interface {
	Code2Session(ctx context.Context, code string) (wechat.Session, error)
}

var (
	// ErrNotFound is returned by Get for an openid that never logged in.
	ErrNotFound = apperr.New(apperr.NotFound, "user_not_found", "no such user; log in first")

	// ErrNoSessionKey is returned by SessionKey when the user has no stored
	// key (they never logged in on this store).
	ErrNoSessionKey = apperr.New(apperr.Conflict, "session_key_missing",
		"no WeChat session for this user; call wx.login and log in again")
)

// Store keys' sort keys, within the user#{openid} collection.
const (
	skProfile = "profile"
	skLogin   = "login"
)

// Service runs logins and reads users.
type Service struct {
	st     store.Store
	wechat WeChat
	now    func() time.Time
}

// Options are the client and clock of a Service.
type Options struct {
	WeChat WeChat           // nil for a Service that only reads users (Login needs it)
	Now    func() time.Time // nil: time.Now
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: st, wechat: o.WeChat, now: o.Now}
}

// PK is the collection that holds a user's records.
func PK(openid string) string { return "user#" + openid }

// ProfileKey is the key of the user's profile.
func ProfileKey(openid string) store.Key { return store.Key{PK: PK(openid), SK: skProfile} }

// LoginKey is the key of the user's latest login and its session_key.
func LoginKey(openid string) store.Key { return store.Key{PK: PK(openid), SK: skLogin} }

// loginRecord is the login item's Value.
type loginRecord struct {
	SessionKey string    `json:"session_key"`
	At         time.Time `json:"at"`
}

// maxAttempts bounds the retries of a profile update that races another
// update of the same profile.
const maxAttempts = 4

// Login exchanges a wx.login code for the user, creating them on their first
// login. Returns invalid_request for an empty code, and the wechat package's
// errors (ErrInvalidCode for a used or unknown code, ErrRateLimited,
// ErrLoginBlocked, ErrUnavailable) as they come.
func (s *Service) Login(ctx context.Context, code string) (User, error) {
	if code == "" {
		return User{}, apperr.Invalidf(`field "code" is required: the code from wx.login`)
	}
	ws, err := s.wechat.Code2Session(ctx, code)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	rec, err := json.Marshal(loginRecord{SessionKey: ws.SessionKey, At: now})
	if err != nil {
		return User{}, err
	}
	login := store.Put(store.Item{Key: LoginKey(ws.OpenID), Value: rec})
	for attempt := 1; ; attempt++ {
		u, err := s.saveLogin(ctx, ws, now, login)
		if err == nil {
			u.LastLoginAt = now
			return u, nil
		}
		if store.FailedOp(err) != 0 || attempt == maxAttempts {
			return User{}, err
		}
		// The profile was created or changed between our read and our
		// write: read it again.
	}
}

// saveLogin writes the login item, with the profile when it is new or its
// unionid is news, in one Write. Op 0 is the profile's when there is one.
func (s *Service) saveLogin(ctx context.Context, ws wechat.Session, now time.Time, login store.Op) (User, error) {
	u, version, err := s.profile(ctx, ws.OpenID)
	switch {
	case errors.Is(err, ErrNotFound):
		u = User{OpenID: ws.OpenID, UnionID: ws.UnionID, CreatedAt: now}
	case err != nil:
		return User{}, err
	case ws.UnionID == "" || ws.UnionID == u.UnionID:
		return u, s.st.Write(ctx, login)
	default:
		u.UnionID = ws.UnionID
	}
	put, err := profileOp(u, version)
	if err != nil {
		return User{}, err
	}
	if version == 0 { // a new user: the day's counter (package stats), in the Write that creates them
		return u, s.st.Write(ctx, put, login, stats.Op(stats.NewUsers, now, u.OpenID, 1))
	}
	return u, s.st.Write(ctx, put, login)
}

// profileOp returns the op that stores u's profile, created if version is 0
// and else updated only if still at version.
func profileOp(u User, version int64) (store.Op, error) {
	u.LastLoginAt = time.Time{} // the login item holds it
	p, err := json.Marshal(u)
	if err != nil {
		return store.Op{}, err
	}
	put := store.Put(store.Item{Key: ProfileKey(u.OpenID), Value: p})
	if version == 0 {
		return put.IfAbsent(), nil
	}
	return put.IfVersion(version), nil
}

// profile reads the stored profile and its version, or ErrNotFound.
func (s *Service) profile(ctx context.Context, openid string) (User, int64, error) {
	it, err := s.st.Get(ctx, ProfileKey(openid))
	if errors.Is(err, store.ErrNotFound) {
		return User{}, 0, ErrNotFound
	}
	if err != nil {
		return User{}, 0, err
	}
	var u User
	if err := json.Unmarshal(it.Value, &u); err != nil {
		return User{}, 0, fmt.Errorf("account: decode %s: %w", it.Key, err)
	}
	return u, it.Version, nil
}

// Get returns the user with this openid, or ErrNotFound.
func (s *Service) Get(ctx context.Context, openid string) (User, error) {
	if openid == "" {
		return User{}, ErrNotFound
	}
	items, _, err := s.st.Query(ctx, PK(openid), store.Query{})
	if err != nil {
		return User{}, err
	}
	var u User
	var found bool
	for _, it := range items {
		switch it.SK {
		case skProfile:
			if err := json.Unmarshal(it.Value, &u); err != nil {
				return User{}, fmt.Errorf("account: decode %s: %w", it.Key, err)
			}
			found = true
		case skLogin:
			var rec loginRecord
			if err := json.Unmarshal(it.Value, &rec); err != nil {
				return User{}, fmt.Errorf("account: decode %s: %w", it.Key, err)
			}
			u.LastLoginAt = rec.At
		}
	}
	if !found {
		return User{}, ErrNotFound
	}
	return u, nil
}

// Update applies change to the user's profile with a versioned write,
// retrying when another update got there first, and returns the result.
// change must not touch OpenID or CreatedAt; it may return an error to
// abandon the update. Returns ErrNotFound for a user that never logged in.
func (s *Service) Update(ctx context.Context, openid string, change func(*User) error) (User, error) {
	for attempt := 1; ; attempt++ {
		u, version, err := s.profile(ctx, openid)
		if err != nil {
			return User{}, err
		}
		if err := change(&u); err != nil {
			return User{}, err
		}
		u.OpenID = openid
		put, err := profileOp(u, version)
		if err != nil {
			return User{}, err
		}
		err = s.st.Write(ctx, put)
		if err == nil {
			return s.Get(ctx, openid)
		}
		if store.FailedOp(err) != 0 || attempt == maxAttempts {
			return User{}, err
		}
	}
}

// SessionKey returns the user's latest WeChat session_key, for verifying
// or decrypting what the Mini-Program sends (see the package doc). Returns
// ErrNoSessionKey when there is none. Never send the result to a client.
func (s *Service) SessionKey(ctx context.Context, openid string) (string, error) {
	it, err := s.st.Get(ctx, LoginKey(openid))
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNoSessionKey
	}
	if err != nil {
		return "", err
	}
	var rec loginRecord
	if err := json.Unmarshal(it.Value, &rec); err != nil {
		return "", fmt.Errorf("account: decode %s: %w", it.Key, err)
	}
	return rec.SessionKey, nil
}
