package storetest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/minifn/minifn/shared/store"
	"github.com/minifn/minifn/shared/store/dynamo"
)

// dynamoBackend is always available: the real aws-sdk-go-v2 client against
// minidyn's DynamoDB JSON protocol, served in-process on 127.0.0.1.
func dynamoBackend(testing.TB) (Backend, bool) {
	return Backend{Name: "dynamodb", Open: OpenDynamo}, true
}

// OpenDynamo starts a DynamoDB emulator for tb, creates a table on it and
// returns a dynamo store on that table, reading time from now.
func OpenDynamo(tb testing.TB, now func() time.Time) store.Store {
	tb.Helper()
	st := dynamo.New(DynamoClient(Minidyn(tb), nil), "minifn", dynamo.Options{Now: now})
	if err := st.CreateTable(context.Background()); err != nil {
		tb.Fatalf("create DynamoDB table: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// Minidyn serves an empty minidyn on 127.0.0.1 until tb ends and returns its
// URL.
//
// minidyn v0.8.2 has no UpdateTimeToLive (it never deletes expired items,
// which is what the contract suite wants to exercise anyway), so this server
// answers that call itself, as DynamoDB would.
func Minidyn(tb testing.TB) string {
	tb.Helper()
	md := server.NewServer()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".UpdateTimeToLive") {
			answerTTL(w, r)
			return
		}
		md.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// answerTTL echoes the TTL specification of an UpdateTimeToLive request.
func answerTTL(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TimeToLiveSpecification json.RawMessage
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]json.RawMessage{"TimeToLiveSpecification": in.TimeToLiveSpecification})
}

// DynamoClient returns a real DynamoDB client for endpoint with static test
// credentials; hc, when not nil, carries its requests (to count them).
func DynamoClient(endpoint string, hc *http.Client) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   httpClient(hc),
	})
}

func httpClient(hc *http.Client) dynamodb.HTTPClient {
	if hc == nil {
		return &http.Client{}
	}
	return hc
}
