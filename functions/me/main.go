// Command me serves GET /me: the signed-in user's record.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.Me) }
