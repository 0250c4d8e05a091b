// Command hellofn is the baseline of the cold-start benchmark: the smallest
// aws-lambda-go function answering a function URL event, with none of
// minifn's code.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		return events.LambdaFunctionURLResponse{StatusCode: 200, Body: "hello"}, nil
	})
}
