// Package scene implements Mini-Program code scenes, the codes themselves
// and the attribution of users and paid orders to the scene and referrer
// that brought them.
//
// # Scenes
//
// wxacode.getUnlimited carries at most 32 characters of
// [0-9A-Za-z!#$&'()*+,/:;=?@-._~] to the page (options.scene), so arbitrary
// params cannot travel in it. Encode turns (page, params) into a short scene
// instead: the canonical JSON of {page, params} (encoding/json sorts map
// keys) is hashed with SHA-256 and mapped to base62, and the first 12
// characters are the scene. The scene → params record is stored with a
// put-if-absent; if another (page, params) already holds that scene, the
// scene is extended by 4 characters of the same hash (up to 32), so the same
// params always give the same scene and two different params never share one.
// The page calls GET /scenes/{scene} on load to get them back (Lookup).
//
// # Codes
//
// Code makes the image with WeChat and caches it under a key that covers
// everything that shapes it (page, scene, width, env_version, check_path,
// line colour, auto colour, transparency), so a second request makes no
// WeChat call. Admins and staff may make any code. A user may make a share
// code for a published page (check_path true, release version): the params
// then carry their referrer id as "referrer", and making new codes is
// rate-limited per user with a counter that expires with its window.
//
// A table code (table.go) is a scene whose params are exactly
// {"store_id","table"}: only the admin or staff of that store may make one
// (Options.Stores), and table orders are trusted only through it (Table).
//
// # Referrer ids
//
// A scene's params are public (GET /scenes/{scene} needs no token), so a
// share code names its sharer by a referrer id: random (128 bits), made
// once per user (ReferrerID), mapped back to the openid only in the store.
// Logins and orders send it back as "referrer"; Resolve turns it into the
// openid for the counters, and drops ids never made here (a raw openid
// included), so nobody can attribute users to an arbitrary openid. Only the
// admin's Summary shows referrers' openids.
//
// # Attribution
//
// FirstTouch records the first scene and referrer id a user logged in with
// (once: put-if-absent), and OrderPaid counts each paid order once, under
// the order's own scene and referrer (resolved the same way; never the
// buyer themself); Summarize reads the counters.
//
// # Keys
//
//	scene#<scene>          / entry     {"page","params"}: what the scene stands for (never changes)
//	scene#img#<hash>       / img       cached image: Content-Type, "\n", bytes; expires after CacheTTL
//	scene#rid#<openid>     / rid       the user's referrer id
//	scene#ref#<id>         / ref       the openid behind a referrer id
//	scene#u#<openid>       / first     the user's first scene and referrer id (JSON)
//	scene#o#<order id>     / paid      marks a paid order as counted
//	scene#stats            / scene#<scene>#<users|orders|revenue>, ref#<openid>#<…>  counters (N)
//
// The user's share-code count lives in the ratelimit package's keys, under
// the action "qrcode" (rl#qrcode#openid#<openid> / <window>): the scene
// package asks a ratelimit.Limiter and never builds those keys.
//
// # Caveats
//
//   - scene#stats is one partition (about 1,000 writes/s on DynamoDB): enough
//     for logins that carry a scene and paid orders of one shop.
//   - A scene's params are readable by anyone holding the scene (it is in a
//     public image): never put secrets in params. The referrer id is random
//     and reveals nothing, but it is stable: codes of one sharer can be told
//     to come from the same person.
//   - Images over MaxCachedImage bytes are not cached (DynamoDB's 400 KB
//     item limit); WeChat's are far smaller.
package scene
