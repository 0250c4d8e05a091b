package wechat

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAccessTokenMemo is the warm path: the in-process memo.
func BenchmarkAccessTokenMemo(b *testing.B) {
	ev := newEnv(b)
	c := ev.client(0)
	c.AccessToken(context.Background())
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.AccessToken(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccessTokenStore is a cold instance's path: one store read (bbolt).
func BenchmarkAccessTokenStore(b *testing.B) {
	ev := newEnv(b)
	ev.client(0).AccessToken(context.Background())
	b.ResetTimer()
	for b.Loop() {
		c := ev.client(0)
		if _, err := c.AccessToken(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCode2Session is one login against the emulator over loopback HTTP.
func BenchmarkCode2Session(b *testing.B) {
	ev := newEnv(b)
	c := ev.client(5 * time.Second)
	for b.Loop() {
		code, _ := ev.emu.MintCode(testApp, "bench")
		ev.clk.Advance(time.Second) // stay under 100 logins per minute
		if _, err := c.Code2Session(context.Background(), code); err != nil {
			b.Fatal(err)
		}
	}
}
