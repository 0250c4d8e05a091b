// Package dynamo implements store.Store on one Amazon DynamoDB table.
//
// # Table
//
// Every item lives in one table with a string hash key "pk" and a string
// range key "sk" (store.Key's PK and SK), plus these attributes:
//
//	val  B  the item's Value (absent when empty)
//	n    N  the counter N
//	ver  N  the Version
//	ttl  N  ExpiresAt in epoch seconds (absent: never expires)
//
// DynamoDB's Time to Live must be enabled on "ttl" so that expired items are
// eventually deleted; CreateTable does that. Deletion can lag expiry by days,
// so every read and every condition treats an item whose ttl is at or before
// now (the injected clock) as absent.
//
// # Writes
//
// A Write of one op is one UpdateItem, DeleteItem or (for a bare check)
// GetItem request. A Write of several ops is one TransactWriteItems request,
// which DynamoDB bills at two write units per item and KB. Conditions are
// condition expressions evaluated by DynamoDB, so concurrent writers on any
// number of Lambda instances stay correct.
//
// Two kinds of op (a Put or an Add without a condition) produce an item that
// depends on whether the current item is live or expired-but-not-yet-deleted
// (an expired counter restarts from 0 and its version from 1). A condition
// expression cannot branch, so such an op is first sent assuming "live or
// absent"; if DynamoDB reports the item expired (the failed item comes back
// with ReturnValuesOnConditionCheckFailure ALL_OLD), the Write is sent again
// treating that item as expired. Only writes that meet an expired item pay the
// second request.
//
// # Caveats
//
//   - One partition key takes about 1,000 writes/s. A hot counter (a flash
//     sale's stock) must be spread over several keys by the domain package;
//     see docs/storage.md.
//   - Transactions on one hot item conflict with each other; Write retries a
//     cancelled transaction a few times, then returns an error wrapping
//     store.ErrUnavailable.
//   - TransactWriteItems carries a client request token, so an SDK retry after
//     a lost response is not applied twice. A single-op Add has no such token:
//     a retried UpdateItem after a lost response adds twice. Writes that move
//     money or stock put an idempotency record in the same Write, which makes
//     them transactions.
package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/minifn/minifn/shared/store"
)

// Attribute names of the table.
const (
	attrPK  = "pk"
	attrSK  = "sk"
	attrVal = "val"
	attrN   = "n"
	attrVer = "ver"
	attrTTL = "ttl"
)

// Options configures a Store.
type Options struct {
	// Now is the clock used for expiry; nil means time.Now.
	Now func() time.Time
}

// Store is a store.Store on one DynamoDB table.
type Store struct {
	db     *dynamodb.Client
	table  string
	now    func() time.Time
	closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open returns a Store on table, configured from the SDK's standard sources
// (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, credentials from the environment or
// the Lambda role). It makes no request: a cold start pays nothing here.
//
// When the environment holds a region and keys, as it always does on Lambda
// (the runtime sets AWS_REGION and the role's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the client is built from them
// alone. Anything else (a profile, SSO, a web identity) goes through the
// SDK's config package, which Lambda builds leave out: see config.go.
func Open(ctx context.Context, table string, o Options) (*Store, error) {
	if table == "" {
		return nil, errors.New("store: dynamo: empty table name")
	}
	cfg, ok := fromEnv()
	if !ok {
		var err error
		if cfg, err = loadConfig(ctx); err != nil {
			return nil, fmt.Errorf("store: dynamo: load AWS config: %w", err)
		}
	}
	return New(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := cmp.Or(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), os.Getenv("AWS_ENDPOINT_URL")); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	}), table, o), nil
}

// fromEnv is the configuration the standard variables give alone, when
// they hold a region and credentials and name no profile.
func fromEnv() (aws.Config, bool) {
	region := cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || id == "" || secret == "" || os.Getenv("AWS_PROFILE") != "" {
		return aws.Config{}, false
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")),
	}, true
}

// New returns a Store on table using client (tests point it at an emulator).
func New(client *dynamodb.Client, table string, o Options) *Store {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: client, table: table, now: now}
}

// Close makes every later call fail. It releases nothing: the SDK client
// holds only idle HTTP connections.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// errClosed is returned by every call after Close.
var errClosed = errors.New("store: dynamo: the store is closed")

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// CreateTable creates the table (on-demand billing) if it does not exist,
// waits until it is active, and enables TTL on the "ttl" attribute. It is
// for tests and `minifn` setup; production stacks declare the table in
// their template.
func (s *Store) CreateTable(ctx context.Context) error {
	_, err := s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(s.table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("store: dynamo: create table %s: %w", s.table, err)
	}
	if err := s.waitActive(ctx); err != nil {
		return err
	}
	_, err = s.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(s.table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" {
		// DynamoDB refuses to enable a TTL that is already enabled.
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: dynamo: enable TTL on %s: %w", s.table, err)
	}
	return nil
}

// waitActive polls DescribeTable until the table is active. An empty status
// counts as active: emulators omit it, DynamoDB always sends it.
func (s *Store) waitActive(ctx context.Context) error {
	for {
		out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
		if err != nil {
			return fmt.Errorf("store: dynamo: describe table %s: %w", s.table, err)
		}
		if st := out.Table.TableStatus; st == types.TableStatusActive || st == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// clientFault reports the error codes that mean the request itself is
// wrong; every other failure means DynamoDB could not serve it now.
func clientFault(code string) bool {
	switch code {
	case "ValidationException", "SerializationException",
		"ItemCollectionSizeLimitExceededException", "IdempotentParameterMismatchException":
		return true
	}
	return false
}

// wrapErr turns an SDK error into the store's vocabulary: throttling, server
// faults, network errors, a missing table and a cancelled context wrap
// store.ErrUnavailable; a malformed request stays a plain error.
func wrapErr(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && clientFault(ae.ErrorCode()) {
		return fmt.Errorf("store: dynamo: %s: %w", op, err)
	}
	return store.Unavailable(fmt.Errorf("store: dynamo: %s: %w", op, err))
}
