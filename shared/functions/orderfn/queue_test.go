package orderfn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/functions/engagefn"
	"github.com/minifn/minifn/shared/functions/orderfn/orderfntest"
	"github.com/minifn/minifn/shared/order"
	"github.com/minifn/minifn/shared/order/ordertest"
	"github.com/minifn/minifn/shared/outlet"
	"github.com/minifn/minifn/shared/scene"
	"github.com/minifn/minifn/shared/session"
	"github.com/minifn/minifn/shared/store/storetest"
	"github.com/minifn/minifn/shared/wechat"
	wxemu "github.com/minifn/minifn/shared/wechat/emulator"
)

// tableServedTTL is short: the Pay emulator checks signatures' times, so
// the test clock may move by a few minutes only.
const tableServedTTL = time.Minute

const (
	tableApp    = "wxtabletest000001"
	tableSecret = "table-test-secret-0123456789"
)

// tableEnv is an order environment whose orders know the stores (the
// real outlet service: stores S1 and S2; staff1 and staff1b work at S1,
// staff2 at S2, roamer at no one store) and check tables against scenes,
// and which also serves the qrcode function's POST /qrcode and GET
// /scenes/{scene} (the real handlers, over the WeChat emulator).
type tableEnv struct {
	*orderfntest.Env
	S1, S2 string
}

// tableEach runs f on every backend with a tableEnv.
func tableEach(t *testing.T, f func(t *testing.T, e *tableEnv)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, newTableEnv(t, b)) })
	}
}

func newTableEnv(t *testing.T, b storetest.Backend) *tableEnv {
	e := &tableEnv{Env: orderfntest.New(t, b, ordertest.Options{})}
	ctx := context.Background()
	stores := outlet.New(e.Store, outlet.Options{Now: e.Clock.Now})
	for i, id := range []*string{&e.S1, &e.S2} {
		name, addr, lat, lng := fmt.Sprintf("面馆 %d", i+1), "上海市黄浦区南京东路 1 号", 31.2304, 121.4737
		st, _, err := stores.Create(ctx, outlet.Edit{Name: &name, Address: &addr, Lat: &lat, Lng: &lng}, "")
		if err != nil {
			t.Fatal(err)
		}
		*id = st.ID
	}
	for openid, at := range map[string]string{"staff1": e.S1, "staff1b": e.S1, "staff2": e.S2, "roamer": ""} {
		if _, err := stores.GrantStaff(ctx, openid, at); err != nil {
			t.Fatal(err)
		}
	}
	emu := wxemu.New(wxemu.Options{Now: e.Clock.Now, Apps: map[string]wxemu.App{tableApp: {Secret: tableSecret}}})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	wc := wechat.New(wechat.Config{AppID: tableApp, Secret: tableSecret, BaseURL: srv.URL, Store: e.Store, Now: e.Clock.Now})
	sc := scene.New(e.Store, scene.Options{WeChat: wc, Now: e.Clock.Now, IsStaff: stores.IsStaff, Stores: stores})
	e.SetOrders(func(o *order.Options) { o.Stores, o.Tables, o.ServedTTL = stores, sc, tableServedTTL })

	orders := e.Handler
	mux := http.NewServeMux()
	mux.Handle("POST /qrcode", engagefn.MakeCode(sc))
	mux.Handle("GET /scenes/{scene}", engagefn.GetScene(sc))
	mux.Handle("/", orders)
	e.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if u := r.Header.Get(orderfntest.UserHeader); u != "" {
			ctx = session.WithUser(ctx, u)
		}
		if r.Header.Get(orderfntest.AdminHeader) != "" {
			ctx = session.WithAdmin(ctx)
		}
		mux.ServeHTTP(w, r.WithContext(ctx))
	})
	e.Product(t, "noodles", 2800, nil)
	return e
}

// tableCode makes a table code through POST /qrcode as user and returns
// its scene.
func tableCode(t *testing.T, e *tableEnv, user, storeID, table string) string {
	t.Helper()
	st, out, h := e.Do(t, "POST", "/qrcode", user, map[string]any{"page": "pages/table/index",
		"params": map[string]any{"store_id": storeID, "table": table}})
	if st != http.StatusOK || h.Get(engagefn.SceneHeader) == "" {
		t.Fatalf("table code %s/%s by %s: %d %v", storeID, table, user, st, out)
	}
	return h.Get(engagefn.SceneHeader)
}

func tableOrderBody(storeID, table, sc string) map[string]any {
	b := map[string]any{"items": []any{map[string]any{"sku": "noodles", "quantity": 1}}, "store_id": storeID, "table": table}
	if sc != "" {
		b["scene"] = sc
	}
	return b
}

// errCode returns the error code of an answer.
func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// queue reads a store's queue as user, following every page.
func queue(t *testing.T, e *tableEnv, user, storeID, status string, limit int) []map[string]any {
	t.Helper()
	var all []map[string]any
	after := ""
	for range 100 {
		path := fmt.Sprintf("/stores/%s/queue?limit=%d&status=%s&after=%s", storeID, limit, status, after)
		st, out, _ := e.Do(t, "GET", path, user, nil)
		if st != http.StatusOK {
			t.Fatalf("GET %s as %s: %d %v", path, user, st, out)
		}
		for _, q := range out["queue"].([]any) {
			all = append(all, q.(map[string]any))
		}
		next, _ := out["next"].(string)
		if next == "" {
			return all
		}
		after = next
	}
	t.Fatalf("queue of %s: over 100 pages", storeID)
	return nil
}

func serve(t *testing.T, e *tableEnv, user, id, to string) (int, map[string]any) {
	t.Helper()
	st, out, _ := e.Do(t, "POST", "/orders/"+id+"/serve", user, map[string]any{"status": to})
	return st, out
}

// TestTableOrderHTTP: a table code made by the store's staff, the order
// that carries its scene, the queue new → serving → served, and everything
// refused on the way: forged tables, other stores' staff, users, wrong
// steps; a served entry expires; a refund in full leaves the queue.
func TestTableOrderHTTP(t *testing.T) {
	tableEach(t, func(t *testing.T, e *tableEnv) {
		sc := tableCode(t, e, "staff1", e.S1, "A3")
		if st, out, _ := e.Do(t, "GET", "/scenes/"+sc, "", nil); st != http.StatusOK ||
			fmt.Sprint(out["params"]) != "map[store_id:"+e.S1+" table:A3]" || out["page"] != "pages/table/index" {
			t.Fatalf("GET /scenes/%s: %d %v", sc, st, out)
		}
		if again := tableCode(t, e, "admin", e.S1, "A3"); again != sc {
			t.Fatalf("the admin's code of the same table has scene %s, staff's %s", again, sc)
		}

		// Who may make a table code.
		for _, c := range []struct{ user, store, code string }{
			{"u1", e.S1, "not_staff"}, {"staff2", e.S1, "not_store_staff"}, {"roamer", e.S1, "not_store_staff"},
			{"admin", "s9", "store_not_found"},
		} {
			st, out, _ := e.Do(t, "POST", "/qrcode", c.user, map[string]any{"page": "pages/table/index",
				"params": map[string]any{"store_id": c.store, "table": "9"}})
			if st/100 != 4 || errCode(out) != c.code {
				t.Errorf("table code %s by %s: %d %v, want %s", c.store, c.user, st, out, c.code)
			}
		}

		// Forged tables: no scene, the scene of another table or store, a
		// user's own share code that names a store, an unknown scene.
		other := tableCode(t, e, "staff2", e.S2, "A3")
		_, _, h := e.Do(t, "POST", "/qrcode", "u1", map[string]any{"page": "pages/table/index", "params": map[string]any{"store_id": e.S1}})
		share := h.Get(engagefn.SceneHeader)
		for name, body := range map[string]map[string]any{
			"no scene":          tableOrderBody(e.S1, "A3", ""),
			"another table":     tableOrderBody(e.S1, "B7", sc),
			"another store":     tableOrderBody(e.S1, "A3", other),
			"a user's share":    tableOrderBody(e.S1, "A3", share),
			"unknown scene":     tableOrderBody(e.S1, "A3", "nosuchscene0"),
			"store of the code": tableOrderBody(e.S2, "A3", sc),
		} {
			st, out, _ := e.Do(t, "POST", "/orders", "u1", body, "Idempotency-Key", "forged-"+name)
			if st != http.StatusForbidden || errCode(out) != "table_not_verified" {
				t.Errorf("%s: %d %v, want 403 table_not_verified", name, st, out)
			}
		}

		o, _ := ordCreate(t, e.Env, "u1", tableOrderBody(e.S1, "A3", sc), "t1")
		id := o["id"].(string)
		if o["table"] != "A3" || o["store_id"] != e.S1 || o["table_status"] != nil {
			t.Fatalf("table order %v", o)
		}
		// Unpaid: not in the queue, not servable.
		if q := queue(t, e, "staff1", e.S1, "", 50); len(q) != 0 {
			t.Fatalf("an unpaid order is queued: %v", q)
		}
		if st, out := serve(t, e, "staff1", id, "served"); st != http.StatusConflict || errCode(out) != "not_servable" {
			t.Fatalf("serve unpaid: %d %v", st, out)
		}
		payOrder(t, e.Env, id)

		q := queue(t, e, "staff1", e.S1, "", 50)
		if len(q) != 1 || q[0]["order_id"] != id || q[0]["status"] != "new" || q[0]["table"] != "A3" ||
			q[0]["total"] != 2800.0 || q[0]["paid_at"] == nil || q[0]["owner"] != nil {
			t.Fatalf("queue after paid: %v", q)
		}
		if o := ordGet(t, e.Env, "u1", id); o["table_status"] != "new" {
			t.Fatalf("paid table order %v", o)
		}
		// Who may read the queue.
		for _, c := range []struct{ user, store, code string }{
			{"staff2", e.S1, "not_store_staff"}, {"roamer", e.S1, "not_store_staff"}, {"u1", e.S1, "not_staff"},
			{"staff1", e.S2, "not_store_staff"},
		} {
			if st, out, _ := e.Do(t, "GET", "/stores/"+c.store+"/queue", c.user, nil); st != http.StatusForbidden || errCode(out) != c.code {
				t.Errorf("queue of %s as %s: %d %v, want 403 %s", c.store, c.user, st, out, c.code)
			}
		}
		if q := queue(t, e, "admin", e.S1, "new", 50); len(q) != 1 {
			t.Fatalf("admin's queue %v", q)
		}
		if st, out, _ := e.Do(t, "GET", "/stores/"+e.S1+"/queue?status=ready", "staff1", nil); st != http.StatusBadRequest {
			t.Fatalf("?status=ready: %d %v", st, out)
		}
		// Who may serve, and which steps.
		for _, c := range []struct {
			user, to string
			status   int
			code     string
		}{
			{"staff2", "serving", 403, "not_store_staff"}, {"u1", "serving", 403, "not_staff"},
			{"staff1", "ready", 400, "invalid_request"},
		} {
			if st, out := serve(t, e, c.user, id, c.to); st != c.status || errCode(out) != c.code {
				t.Errorf("serve %s by %s: %d %v, want %d %s", c.to, c.user, st, out, c.status, c.code)
			}
		}
		if st, out := serve(t, e, "staff1", id, "serving"); st != http.StatusOK || ordMap(t, out, "order")["table_status"] != "serving" {
			t.Fatalf("serving: %d %v", st, out)
		}
		if st, out := serve(t, e, "staff1b", id, "serving"); st != http.StatusConflict || errCode(out) != "not_servable" {
			t.Fatalf("serving twice: %d %v", st, out)
		}
		if q := queue(t, e, "staff1", e.S1, "new", 50); len(q) != 0 {
			t.Fatalf("new after serving: %v", q)
		}
		if q := queue(t, e, "staff1", e.S1, "serving", 50); len(q) != 1 || q[0]["status"] != "serving" || q[0]["serving_at"] == nil {
			t.Fatalf("serving queue: %v", q)
		}
		if st, out := serve(t, e, "admin", id, "served"); st != http.StatusOK || ordMap(t, out, "order")["served_at"] == nil {
			t.Fatalf("served: %d %v", st, out)
		}
		for _, to := range []string{"served", "serving"} {
			if st, out := serve(t, e, "staff1", id, to); st != http.StatusConflict || errCode(out) != "not_servable" {
				t.Fatalf("%s after served: %d %v", to, st, out)
			}
		}
		if q := queue(t, e, "staff1", e.S1, "", 50); len(q) != 1 || q[0]["status"] != "served" {
			t.Fatalf("queue after served: %v", q)
		}
		if o := ordGet(t, e.Env, "u1", id); o["table_status"] != "served" || o["served_at"] == nil {
			t.Fatalf("served order as its owner sees it: %v", o)
		}
		// The served entry expires; the order keeps its status.
		e.Clock.Advance(tableServedTTL - time.Second)
		if q := queue(t, e, "staff1", e.S1, "", 50); len(q) != 1 {
			t.Fatalf("a served entry expired before ServedTTL: %v", q)
		}
		e.Clock.Advance(time.Second)
		if q := queue(t, e, "staff1", e.S1, "", 50); len(q) != 0 {
			t.Fatalf("a served entry outlived ServedTTL: %v", q)
		}

		// Not a table order (admin): 409; unknown order: 404.
		plain, _ := ordCreate(t, e.Env, "u2", map[string]any{"items": []any{map[string]any{"sku": "noodles", "quantity": 1}}}, "plain")
		payOrder(t, e.Env, plain["id"].(string))
		if st, out := serve(t, e, "admin", plain["id"].(string), "served"); st != http.StatusConflict || errCode(out) != "not_servable" {
			t.Fatalf("serve a delivered order: %d %v", st, out)
		}
		if st, out := serve(t, e, "staff1", plain["id"].(string), "served"); st != http.StatusForbidden || errCode(out) != "not_store_staff" {
			t.Fatalf("staff serve an online order: %d %v", st, out)
		}
		if st, out := serve(t, e, "staff1", "0123456789abcdef0123456789ab", "served"); st != http.StatusNotFound {
			t.Fatalf("serve an unknown order: %d %v", st, out)
		}

		// A refund in full takes the order out of the queue; a partial one
		// shows what went back.
		o2, _ := ordCreate(t, e.Env, "u1", tableOrderBody(e.S1, "A3", sc), "t2")
		o3, _ := ordCreate(t, e.Env, "u1", map[string]any{"items": []any{map[string]any{"sku": "noodles", "quantity": 2}},
			"store_id": e.S1, "table": "A3", "scene": sc}, "t3")
		id2, id3 := o2["id"].(string), o3["id"].(string)
		payOrder(t, e.Env, id2)
		payOrder(t, e.Env, id3)
		if q := queue(t, e, "staff1", e.S1, "new", 50); len(q) != 2 {
			t.Fatalf("two new orders: %v", q)
		}
		if st, out, _ := e.Do(t, "POST", "/orders/"+id2+"/refund", "admin", map[string]any{"reason": "售罄"}); st != http.StatusOK {
			t.Fatalf("refund: %d %v", st, out)
		}
		if st, out, _ := e.Do(t, "POST", "/orders/"+id3+"/refund", "admin", map[string]any{"reason": "少一碗", "amount": 2800}); st != http.StatusOK {
			t.Fatalf("partial refund: %d %v", st, out)
		}
		ordWaitAllRefunds(t, e.Env, id2, 1)
		ordWaitAllRefunds(t, e.Env, id3, 1)
		q = queue(t, e, "staff1", e.S1, "", 50)
		if len(q) != 1 || q[0]["order_id"] != id3 || q[0]["refunded"] != 2800.0 || q[0]["status"] != "new" {
			t.Fatalf("queue after a full and a partial refund: %v", q)
		}
		if st, out := serve(t, e, "staff1", id2, "served"); st != http.StatusConflict || errCode(out) != "not_servable" {
			t.Fatalf("serve a refunded order: %d %v", st, out)
		}
		if st, _ := serve(t, e, "staff1", id3, "served"); st != http.StatusOK {
			t.Fatalf("serve the partly refunded order: %d", st)
		}
	})
}

// TestTableServeRaceHTTP: two staff of the store serve the same order at
// once: one 200, one 409, and the queue holds the order once, served.
func TestTableServeRaceHTTP(t *testing.T) {
	tableEach(t, func(t *testing.T, e *tableEnv) {
		sc := tableCode(t, e, "staff1", e.S1, "7")
		const orders = 6
		ids := make([]string, orders)
		for i := range ids {
			o, _ := ordCreate(t, e.Env, "u1", tableOrderBody(e.S1, "7", sc), fmt.Sprintf("race-%d", i))
			ids[i] = o["id"].(string)
			payOrder(t, e.Env, ids[i])
		}
		for i, id := range ids {
			to := []string{"serving", "served"}[i%2]
			var wg sync.WaitGroup
			codes := make([]int, 2)
			for j, user := range []string{"staff1", "staff1b"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[j], _ = serve(t, e, user, id, to)
				}()
			}
			wg.Wait()
			sort.Ints(codes)
			if codes[0] != http.StatusOK || codes[1] != http.StatusConflict {
				t.Fatalf("order %d, two staff to %s: %v, want one 200 and one 409", i, to, codes)
			}
		}
		q := queue(t, e, "staff1", e.S1, "", 4)
		seen := map[string]string{}
		for _, x := range q {
			if _, dup := seen[x["order_id"].(string)]; dup {
				t.Fatalf("order %s twice in the queue: %v", x["order_id"], q)
			}
			seen[x["order_id"].(string)] = x["status"].(string)
		}
		for i, id := range ids {
			if want := []string{"serving", "served"}[i%2]; seen[id] != want {
				t.Errorf("order %d: queue status %q, want %s", i, seen[id], want)
			}
		}
	})
}

// TestTableQueueConcurrentPaidHTTP: many table orders of two stores paid
// at once each appear exactly once in their own store's queue (read in
// pages), oldest paid first.
func TestTableQueueConcurrentPaidHTTP(t *testing.T) {
	tableEach(t, func(t *testing.T, e *tableEnv) {
		scs := map[string]string{e.S1: tableCode(t, e, "staff1", e.S1, "1"), e.S2: tableCode(t, e, "staff2", e.S2, "1")}
		const n = 24
		ids := make([]string, n)
		storeOf := map[string]string{}
		for i := range ids {
			s := []string{e.S1, e.S2}[i%2]
			o, _ := ordCreate(t, e.Env, fmt.Sprintf("u%d", i), tableOrderBody(s, "1", scs[s]), fmt.Sprintf("many-%d", i))
			ids[i] = o["id"].(string)
			storeOf[ids[i]] = s
		}
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%3 == 0 {
					e.Clock.Advance(time.Second) // spread the paid times
				}
				if err := e.Emulator.Pay(context.Background(), id); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			e.WaitNotify(t, id, "TRANSACTION.SUCCESS")
		}
		for s, staff := range map[string]string{e.S1: "staff1", e.S2: "staff2"} {
			q := queue(t, e, staff, s, "new", 5)
			seen := map[string]int{}
			for i, x := range q {
				seen[x["order_id"].(string)]++
				if storeOf[x["order_id"].(string)] != s {
					t.Errorf("store %s lists order %s of another store", s, x["order_id"])
				}
				if i > 0 && x["paid_at"].(string) < q[i-1]["paid_at"].(string) {
					t.Errorf("store %s: paid_at %s after %s: not oldest first", s, x["paid_at"], q[i-1]["paid_at"])
				}
			}
			for _, id := range ids {
				if storeOf[id] == s && seen[id] != 1 {
					t.Errorf("store %s: order %s listed %d times, want once", s, id, seen[id])
				}
			}
			if len(q) != n/2 {
				t.Errorf("store %s: %d entries, want %d", s, len(q), n/2)
			}
		}
	})
}

// TestTableLimitsAgree: any table a code may name, an order may carry.
func TestTableLimitsAgree(t *testing.T) {
	if order.MaxTable != scene.MaxTable {
		t.Fatalf("order.MaxTable %d, scene.MaxTable %d", order.MaxTable, scene.MaxTable)
	}
}
