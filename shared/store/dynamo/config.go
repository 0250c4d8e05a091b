//go:build !lambda.norpc

package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// loadConfig is the SDK's whole search: shared config and credential files,
// profiles, SSO, web identity, the container and instance roles. Lambda
// builds never need it (config_lambda.go), and leave out the packages it
// brings in (sts, sso, ssooidc, imds), whose init alone costs about a
// millisecond of every cold start; see BENCHMARKS.md.
func loadConfig(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}
