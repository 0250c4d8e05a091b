package app

import (
	"errors"
	"strconv"

	"github.com/minifn/minifn/shared/risk"
)

// Risk is the risk-control section of Config (docs/security.md), used by
// the functions it guards (coupon-claim, points).
type Risk struct {
	// RankMax is a string so that unset (off) differs from 0 (only rank 0 allowed).
	RankMax string `envconfig:"MINIFN_RISK_RANK_MAX" desc:"highest getUserRiskRank rank (0-4) allowed to claim coupons and scan points; unset: no check"`
	Fail    string `envconfig:"MINIFN_RISK_FAIL" default:"open" desc:"when WeChat cannot rate the caller: open (allow) or closed (refuse)"`
}

// validate checks the section. Its error is one line naming the variable.
func (c *Risk) validate() error {
	if c.RankMax != "" {
		if n, err := strconv.Atoi(c.RankMax); err != nil || n < 0 || n > risk.MaxRank {
			return errors.New("MINIFN_RISK_RANK_MAX must be 0 to 4 (unset: no risk check)")
		}
	}
	if c.Fail == "" {
		c.Fail = "open" // set but empty, as deploy files write an unused optional variable
	}
	if c.Fail != "open" && c.Fail != "closed" {
		return errors.New("MINIFN_RISK_FAIL must be open or closed")
	}
	return nil
}

// Risk builds the risk check of the functions that guard offers with it:
// nil (no check, no call) when MINIFN_RISK_RANK_MAX is unset. The check
// needs the WeChat client: the error names what is missing.
func (a *App) Risk() (*risk.Service, error) {
	c := a.Config.Risk
	if c.RankMax == "" {
		return nil, nil
	}
	if a.WeChat == nil {
		return nil, errors.New("MINIFN_RISK_RANK_MAX needs MINIFN_WECHAT_APPID and MINIFN_WECHAT_SECRET (getUserRiskRank)")
	}
	max, _ := strconv.Atoi(c.RankMax) // validate checked it
	return risk.New(a.Store, risk.Options{WeChat: a.WeChat, Now: a.Now, Max: max, FailClosed: c.Fail == "closed"}), nil
}
