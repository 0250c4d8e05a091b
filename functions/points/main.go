// Command points serves loyalty points: scans, balance, rewards, redemptions.
package main

import "github.com/minifn/minifn/shared/catalog"

func main() { catalog.Main(catalog.Points) }
