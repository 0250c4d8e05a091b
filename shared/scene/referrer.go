package scene

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/minifn/minifn/shared/store"
)

// A referrer id stands for a user in public places: the params of their
// share codes (readable by anyone through GET /scenes/{scene}), the
// "referrer" a login or an order reports, the user and order records their
// owners read. It is random, made once per user, and only the store maps it
// back to the openid, so holding a scene reveals nothing about the sharer.
//
//	scene#rid#<openid>  / rid  Value: the user's referrer id
//	scene#ref#<id>      / ref  Value: the openid behind a referrer id

func ridKey(openid string) store.Key { return store.Key{PK: "scene#rid#" + openid, SK: "rid"} }
func refKey(id string) store.Key     { return store.Key{PK: "scene#ref#" + id, SK: "ref"} }

// ReferrerID returns openid's referrer id, making it the first time. Two
// concurrent first calls agree: the id is claimed with a put-if-absent.
func (s *Service) ReferrerID(ctx context.Context, openid string) (string, error) {
	for range 3 {
		it, err := s.st.Get(ctx, ridKey(openid))
		if err == nil {
			return string(it.Value), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		id := rand.Text() // 26 base32 characters, 128 random bits
		err = s.st.Write(ctx,
			store.Put(store.Item{Key: ridKey(openid), Value: []byte(id)}).IfAbsent(),
			store.Put(store.Item{Key: refKey(id), Value: []byte(openid)}).IfAbsent())
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return "", err
		}
		// Another call made the user's id first: read it.
	}
	return "", errors.New("scene: no referrer id after 3 tries")
}

// referrerOpenID returns the openid behind a referrer id ("" for an id
// never made here).
func (s *Service) referrerOpenID(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	it, err := s.st.Get(ctx, refKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(it.Value), nil
}
