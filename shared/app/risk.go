package app

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/kelseyhightower/envconfig"

	"github.com/minifn/minifn/shared/risk"
)

// Risk is the risk-control configuration (docs/security.md):
// read by the functions it guards (coupon-claim, points) at their start.
type Risk struct {
	// RankMax is a string so that unset (off) differs from 0 (only rank 0 allowed).
	RankMax string `envconfig:"MINIFN_RISK_RANK_MAX" desc:"highest getUserRiskRank rank (0-4) allowed to claim coupons and scan points; unset: no check"`
	Fail    string `envconfig:"MINIFN_RISK_FAIL" default:"open" desc:"when WeChat cannot rate the caller: open (allow) or closed (refuse)"`
}

// LoadRisk reads the risk-control variables. Its error is one line naming
// the variable.
func LoadRisk() (Risk, error) {
	var c Risk
	if err := envconfig.Process("", &c); err != nil {
		return c, fmt.Errorf("risk configuration: %w", err)
	}
	if c.RankMax != "" {
		if n, err := strconv.Atoi(c.RankMax); err != nil || n < 0 || n > risk.MaxRank {
			return c, errors.New("MINIFN_RISK_RANK_MAX must be 0 to 4 (unset: no risk check)")
		}
	}
	if c.Fail == "" {
		c.Fail = "open" // set but empty, as deploy files write an unused optional variable
	}
	if c.Fail != "open" && c.Fail != "closed" {
		return c, errors.New("MINIFN_RISK_FAIL must be open or closed")
	}
	return c, nil
}

// Risk builds the risk check of the functions that guard offers with it:
// nil (no check, no call) when MINIFN_RISK_RANK_MAX is unset. The check
// needs the WeChat client: the error names what is missing.
func (a *App) Risk() (*risk.Service, error) {
	c, err := LoadRisk()
	if err != nil || c.RankMax == "" {
		return nil, err
	}
	if a.WeChat == nil {
		return nil, errors.New("MINIFN_RISK_RANK_MAX needs MINIFN_WECHAT_APPID and MINIFN_WECHAT_SECRET (getUserRiskRank)")
	}
	max, _ := strconv.Atoi(c.RankMax)
	return &risk.Service{Store: a.Store, WeChat: a.WeChat, Now: a.Now, Max: max, FailClosed: c.Fail == "closed"}, nil
}
