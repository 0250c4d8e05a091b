//go:build lambda.norpc

package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// errNoEnvCredentials: a Lambda build (-tags lambda.norpc) reads AWS
// settings from the environment only, which the Lambda runtime always
// fills with the region and the execution role's keys; see config.go.
var errNoEnvCredentials = errors.New("this binary was built for Lambda (-tags lambda.norpc) and reads AWS_REGION, " +
	"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) from the environment only, " +
	"without AWS_PROFILE; build it without that tag to use profiles, SSO or instance roles")

func loadConfig(context.Context) (aws.Config, error) { return aws.Config{}, errNoEnvCredentials }
