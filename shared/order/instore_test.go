package order_test

import (
	"strings"
	"testing"

	"github.com/minifn/minifn/shared/apperr"
	"github.com/minifn/minifn/shared/order"
)

// TestInStoreFieldsValidate pins which combinations of "store_id",
// "fulfillment" and "table" an order may carry.
func TestInStoreFieldsValidate(t *testing.T) {
	items := []order.LineRequest{{SKU: "tea", Quantity: 1}}
	ok := []order.CreateRequest{
		{Items: items},
		{Items: items, StoreID: "s1", Fulfillment: order.FulfillScanAndGo},
		{Items: items, StoreID: "s1", Table: "A3"},
	}
	for _, r := range ok {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	bad := map[string]order.CreateRequest{
		"fulfillment": {Items: items, StoreID: "s1", Fulfillment: "drive_through"},
		"store_id\" is required with \"fulfillment": {Items: items, Fulfillment: order.FulfillScanAndGo},
		"store_id\" is required with \"table":       {Items: items, Table: "3"},
		"exclude each other":                        {Items: items, StoreID: "s1", Table: "3", Fulfillment: order.FulfillScanAndGo},
		"needs":                                     {Items: items, StoreID: "s1"},
		"table":                                     {Items: items, StoreID: "s1", Table: strings.Repeat("x", order.MaxTable+1)},
		"address":                                   {Items: items, StoreID: "s1", Table: "3", Address: &order.Address{}},
	}
	for want, r := range bad {
		err := r.Validate()
		if apperr.From(err).Code != "invalid_request" || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want invalid_request naming %q", r, err, want)
		}
	}
}
