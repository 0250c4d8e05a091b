//go:build !lambda.norpc

package platform

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/minifn/minifn/shared/platform/scf"
)

// The SCF adapter is left out of builds tagged lambda.norpc (the Lambda
// build): scf-go-lib needs net/rpc, which drags html/template in and costs
// a Lambda binary about 3 MB and a millisecond of cold start for nothing.

func startSCF(f Function, port string) error {
	// scf-go-lib reports a bad port with log.Fatal; say which variable is wrong first.
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("_LAMBDA_SERVER_PORT %q: %v", port, err)
	}
	scf.Start(&scf.Handler{HTTP: f.Handler, Job: f.Job})
	return errors.New("the SCF rpc server returned")
}

func invokeSCF(ctx context.Context, f Function, event []byte) ([]byte, error) {
	return (&scf.Handler{HTTP: f.Handler, Job: f.Job}).Invoke(ctx, event)
}
