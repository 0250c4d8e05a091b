package ordertest

import (
	"context"
	"errors"

	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/pay"
)

// ErrNotFaked is returned by a FakePay call whose …Fn is nil.
var ErrNotFaked = errors.New("ordertest: this WeChat Pay call is not faked")

// FakePay is an order.Pay made of functions, for tests that need no WeChat
// Pay on the wire (the crash test's child processes). Each method calls its
// …Fn; a nil …Fn returns ErrNotFaked (AppID and MchID return ""). Tests
// that talk to WeChat Pay use an Env, whose Pay wraps the real client.
type FakePay struct {
	AppIDFn         func() string
	MchIDFn         func() string
	PrepayFn        func(ctx context.Context, r pay.PrepayRequest) (string, error)
	PaymentParamsFn func(prepayID string) (pay.Payment, error)
	QueryFn         func(ctx context.Context, outTradeNo string) (pay.Transaction, error)
	CloseFn         func(ctx context.Context, outTradeNo string) error
	RefundFn        func(ctx context.Context, r pay.RefundRequest) (pay.Refund, error)
	QueryRefundFn   func(ctx context.Context, outRefundNo string) (pay.Refund, error)
}

var _ order.Pay = (*FakePay)(nil)

// AppID calls AppIDFn.
func (f *FakePay) AppID() string {
	if f.AppIDFn == nil {
		return ""
	}
	return f.AppIDFn()
}

// MchID calls MchIDFn.
func (f *FakePay) MchID() string {
	if f.MchIDFn == nil {
		return ""
	}
	return f.MchIDFn()
}

// Prepay calls PrepayFn.
func (f *FakePay) Prepay(ctx context.Context, r pay.PrepayRequest) (string, error) {
	if f.PrepayFn == nil {
		return "", ErrNotFaked
	}
	return f.PrepayFn(ctx, r)
}

// PaymentParams calls PaymentParamsFn.
func (f *FakePay) PaymentParams(prepayID string) (pay.Payment, error) {
	if f.PaymentParamsFn == nil {
		return pay.Payment{}, ErrNotFaked
	}
	return f.PaymentParamsFn(prepayID)
}

// Query calls QueryFn.
func (f *FakePay) Query(ctx context.Context, outTradeNo string) (pay.Transaction, error) {
	if f.QueryFn == nil {
		return pay.Transaction{}, ErrNotFaked
	}
	return f.QueryFn(ctx, outTradeNo)
}

// Close calls CloseFn.
func (f *FakePay) Close(ctx context.Context, outTradeNo string) error {
	if f.CloseFn == nil {
		return ErrNotFaked
	}
	return f.CloseFn(ctx, outTradeNo)
}

// Refund calls RefundFn.
func (f *FakePay) Refund(ctx context.Context, r pay.RefundRequest) (pay.Refund, error) {
	if f.RefundFn == nil {
		return pay.Refund{}, ErrNotFaked
	}
	return f.RefundFn(ctx, r)
}

// QueryRefund calls QueryRefundFn.
func (f *FakePay) QueryRefund(ctx context.Context, outRefundNo string) (pay.Refund, error) {
	if f.QueryRefundFn == nil {
		return pay.Refund{}, ErrNotFaked
	}
	return f.QueryRefundFn(ctx, outRefundNo)
}
