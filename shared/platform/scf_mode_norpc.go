//go:build lambda.norpc

package platform

import (
	"context"
	"errors"
)

// errNoSCF: see scf_mode.go for why Lambda builds leave SCF out.
var errNoSCF = errors.New("_LAMBDA_SERVER_PORT is set, but this binary was built for Lambda (-tags lambda.norpc) without SCF support; build it without that tag for SCF")

func startSCF(Function, string) error { return errNoSCF }

func invokeSCF(context.Context, Function, []byte) ([]byte, error) { return nil, errNoSCF }
