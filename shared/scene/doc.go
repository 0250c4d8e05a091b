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
// then carry them as "referrer", and making new codes is rate-limited per
// user with a counter that expires with its window.
//
// # Attribution
//
// FirstTouch records the first scene and referrer a user logged in with
// (once: put-if-absent), and OrderPaid counts each paid order once, under
// the order's own scene and referrer; Summary reads the counters.
//
// # Keys
//
//	scene#<scene>          / entry     {"page","params"}: what the scene stands for (never changes)
//	scene#img#<hash>       / img       cached image: Content-Type, "\n", bytes; expires after CacheTTL
//	rl#qrcode#<openid>     / <window>  the user's code count in a window (N), expiring with it
//	scene#u#<openid>       / first     the user's first scene and referrer (JSON)
//	scene#o#<order id>     / paid      marks a paid order as counted
//	scene#stats            / scene#<scene>#<users|orders|revenue>, ref#<openid>#<…>  counters (N)
//
// # Caveats
//
//   - scene#stats is one partition (about 1,000 writes/s on DynamoDB): enough
//     for logins that carry a scene and paid orders of one shop.
//   - A scene's params are readable by anyone holding the scene (it is in a
//     public image): never put secrets in params. The referrer is an openid,
//     which is per Mini-Program and identifies nobody outside it.
//   - Images over MaxCachedImage bytes are not cached (DynamoDB's 400 KB
//     item limit); WeChat's are far smaller.
package scene
