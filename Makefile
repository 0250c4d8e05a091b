# Build targets for `sam build` (template.yaml: each function's Metadata is
# BuildMethod: makefile). SAM runs `make build-<LogicalId>` with ARTIFACTS_DIR
# set, and deploys what the target leaves there: ./bootstrap for
# provided.al2023 on arm64.
#
# The flags are `minifn build --cloud lambda`'s (cmd/minifn/build.go):
# cmd/minifn/deploy_test.go checks that both make byte-identical binaries.
# Outside SAM, `make dist` runs `minifn build` (both clouds, reproducible zips).

GO ?= go

# lambda.norpc: no net/rpc mode (provided.al2023 never uses it), hence no SCF
# adapter either; nopostgres: DynamoDB is the store on AWS.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 GOARM64=v8.0 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc,nopostgres -trimpath -buildvcs=false -ldflags "-s -w"

define lambda
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)"; exit 2; }
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o "$(ARTIFACTS_DIR)/bootstrap" ./functions/$(1)
endef

.PHONY: dist
dist:
	$(GO) run ./cmd/minifn build

build-AdminFunction: ; $(call lambda,admin)
build-BookingsFunction: ; $(call lambda,bookings)
build-CampaignsFunction: ; $(call lambda,campaigns)
build-CouponClaimFunction: ; $(call lambda,coupon-claim)
build-CouponRedeemFunction: ; $(call lambda,coupon-redeem)
build-CouponsFunction: ; $(call lambda,coupons)
build-LoginFunction: ; $(call lambda,login)
build-MeFunction: ; $(call lambda,me)
build-MembersFunction: ; $(call lambda,members)
build-OrderCreateFunction: ; $(call lambda,order-create)
build-OrderExpireFunction: ; $(call lambda,order-expire)
build-OrdersFunction: ; $(call lambda,orders)
build-PayNotifyFunction: ; $(call lambda,pay-notify)
build-PointsFunction: ; $(call lambda,points)
build-ProductsFunction: ; $(call lambda,products)
build-QrcodeFunction: ; $(call lambda,qrcode)
build-StoresFunction: ; $(call lambda,stores)
build-RefundFunction: ; $(call lambda,refund)
build-WalletFunction: ; $(call lambda,wallet)
build-GiftcardsFunction: ; $(call lambda,giftcards)
build-WxPushFunction: ; $(call lambda,wx-push)

.PHONY: build-AdminFunction build-BookingsFunction build-CampaignsFunction build-CouponClaimFunction build-CouponRedeemFunction build-CouponsFunction build-GiftcardsFunction build-LoginFunction build-MeFunction build-MembersFunction build-OrderCreateFunction build-OrderExpireFunction build-OrdersFunction build-PayNotifyFunction build-PointsFunction build-ProductsFunction build-QrcodeFunction build-RefundFunction build-StoresFunction build-WalletFunction build-WxPushFunction
