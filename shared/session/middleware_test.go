package session_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/minifn/minifn/shared/session"
)

const adminToken = "admin-0123456789abcdef"

// whoami echoes what the middleware put in the context.
func whoami(w http.ResponseWriter, r *http.Request) {
	openid, _ := session.UserFrom(r.Context())
	fmt.Fprintf(w, "user=%s admin=%v", openid, session.IsAdmin(r.Context()))
}

type reply struct {
	status int
	code   string // error code, or the echoed body on success
}

func call(t *testing.T, url, auth string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == 200 {
		var b [256]byte
		n, _ := res.Body.Read(b[:])
		return reply{200, string(b[:n])}
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("error Content-Type = %q", ct)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Error.Message == "" {
		t.Fatalf("error body: %v %+v", err, e)
	}
	return reply{res.StatusCode, e.Error.Code}
}

func TestMiddleware(t *testing.T) {
	now := func() time.Time { return t0 }
	s := session.New(secret, time.Hour, adminToken, now)
	noAdmin := session.New(secret, time.Hour, "", now)
	userTok, _ := s.Issue(openid1)
	expired, _ := session.New(secret, time.Hour, "", func() time.Time { return t0.Add(-3 * time.Hour) }).Issue(openid1)
	forged, _ := session.New(other, time.Hour, "", now).Issue(openid1)

	mux := http.NewServeMux()
	mux.Handle("/user", s.Require(http.HandlerFunc(whoami)))
	mux.Handle("/admin", s.RequireAdmin(http.HandlerFunc(whoami)))
	mux.Handle("/any", s.RequireAny(http.HandlerFunc(whoami)))
	mux.Handle("/noadmin", noAdmin.RequireAdmin(http.HandlerFunc(whoami)))
	mux.Handle("/noadmin-any", noAdmin.RequireAny(http.HandlerFunc(whoami)))
	mux.Handle("/public", s.AllowAdmin(http.HandlerFunc(whoami)))
	mux.Handle("/noadmin-public", noAdmin.AllowAdmin(http.HandlerFunc(whoami)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	user := reply{200, "user=" + openid1 + " admin=false"}
	admin := reply{200, "user= admin=true"}
	cases := []struct {
		path, auth string
		want       reply
	}{
		{"/user", "", reply{401, "unauthenticated"}},
		{"/user", "Basic dXNlcjpwYXNz", reply{401, "unauthenticated"}},
		{"/user", "Bearer ", reply{401, "unauthenticated"}},
		{"/user", "Bearer " + userTok, user},
		{"/user", "bearer " + userTok, user},
		{"/user", "Bearer " + userTok[:len(userTok)-1], reply{401, "invalid_token"}},
		{"/user", "Bearer " + expired, reply{401, "invalid_token"}},
		{"/user", "Bearer " + forged, reply{401, "invalid_token"}},
		{"/user", "Bearer garbage", reply{401, "invalid_token"}},
		{"/user", "Bearer " + adminToken, reply{401, "invalid_token"}},

		{"/admin", "", reply{401, "unauthenticated"}},
		{"/admin", "Bearer " + adminToken, admin},
		{"/admin", "Bearer " + adminToken + "x", reply{403, "forbidden"}},
		{"/admin", "Bearer " + userTok, reply{403, "forbidden"}},
		{"/noadmin", "Bearer " + adminToken, reply{403, "forbidden"}},
		{"/noadmin", "", reply{403, "forbidden"}},

		{"/any", "", reply{401, "unauthenticated"}},
		{"/any", "Bearer " + userTok, user},
		{"/any", "Bearer " + adminToken, admin},
		{"/any", "Bearer " + forged, reply{401, "invalid_token"}},
		{"/noadmin-any", "Bearer " + adminToken, reply{401, "invalid_token"}},
		{"/noadmin-any", "Bearer " + userTok, user},

		// AllowAdmin refuses nobody and marks only the admin token.
		{"/public", "", reply{200, "user= admin=false"}},
		{"/public", "Bearer " + adminToken, admin},
		{"/public", "Bearer " + adminToken + "x", reply{200, "user= admin=false"}},
		{"/public", "Bearer " + userTok, reply{200, "user= admin=false"}},
		{"/public", "Bearer garbage", reply{200, "user= admin=false"}},
		{"/noadmin-public", "Bearer " + adminToken, reply{200, "user= admin=false"}},
		{"/noadmin-public", "Bearer ", reply{200, "user= admin=false"}},
	}
	for _, c := range cases {
		t.Run(c.path+" "+c.auth, func(t *testing.T) {
			if got := call(t, srv.URL+c.path, c.auth); got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
