package scene

import (
	"context"
	"time"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/wechat"
)

// WeChat is what codes need of the WeChat client (*wechat.Client).
type WeChat interface {
	GetUnlimited(ctx context.Context, r wechat.UnlimitedRequest) (wechat.Image, error)
}

var _ WeChat = (*wechat.Client)(nil)

// Defaults of a Service.
const (
	DefaultUserLimit  = 30 // new share codes a user may make per window
	DefaultUserWindow = time.Hour
	CacheTTL          = 30 * 24 * time.Hour
	MaxCachedImage    = 300 << 10
)

// Service encodes scenes, makes and caches codes, and keeps attribution.
// It is safe for concurrent use.
type Service struct {
	st store.Store
	o  Options
}

// New returns the Service over st.
func New(st store.Store, o Options) *Service { return &Service{st: st, o: o} }

// Options are the clients and settings of a Service.
type Options struct {
	WeChat WeChat           // nil: Code refuses (scenes and attribution work without it)
	Now    func() time.Time // nil: time.Now
	// IsStaff reports whether a user has the staff role (outlet.Service.IsStaff);
	// nil: no user is staff.
	IsStaff func(ctx context.Context, openid string) (bool, error)
	// Stores checks who may make a table code (table.go); nil: none can.
	Stores Stores
	// UserLimit codes per UserWindow for users who are neither admin nor
	// staff; 0: the defaults.
	UserLimit  int
	UserWindow time.Duration
}

func (s *Service) now() time.Time {
	if s.o.Now == nil {
		return time.Now()
	}
	return s.o.Now()
}
