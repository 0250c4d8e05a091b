package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The multi-scf inputs schema, checked offline: Serverless Cloud Framework
// validates serverless.yml only in Tencent's cloud, during `scf deploy`.
//
// Written from the component's own source, serverless-components/
// tencent-multi-scf at commit 02cf5633e30e53c02528b03f1458c2b2d6e86b34
// (2022-05-11, component version 0.3.14, the newest there is):
//   - src/interface/inputs.ts: the Inputs, FaasInputs, FaasBaseConfig,
//     TriggerInputs and ApiInputs types (which keys exist, their types,
//     which are required);
//   - serverless.component.yml: the allowed regions, runtimes, memory sizes
//     and the timeout range that the cloud checks;
//   - src/formatter.ts: how the inputs are used (a trigger's and an API's
//     `function` is looked up as a key of `functions`, the API gateway's
//     service name is `parameters.name`, environments become a map);
//   - docs/configure.md: the documented keys of each trigger type, the
//     function type (event, web), the function-name rule.
//
// Each struct below is decoded with yaml.v3 KnownFields(true), so a key the
// component does not read (a misspelling) fails; validate() then checks the
// required keys, the allowed values and the references between sections.
// Keys the component overwrites before use are left out on purpose, so they
// fail too (see apigwParams, slsTrigger).

// slsFile is the whole serverless.yml of a Serverless Cloud Framework app.
type slsFile struct {
	Org       string    `yaml:"org"`
	App       string    `yaml:"app"`
	Stage     string    `yaml:"stage"`
	Component string    `yaml:"component"`
	Name      string    `yaml:"name"`
	Inputs    slsInputs `yaml:"inputs"`
}

// faasBase is FaasBaseConfig: what a function sets, and what inputs sets as
// the default of every function (formatter.ts merges inputs into each).
type faasBase struct {
	Type        string     `yaml:"type"`
	Runtime     string     `yaml:"runtime"`
	MemorySize  *int       `yaml:"memorySize"`
	Timeout     *int       `yaml:"timeout"`
	Description string     `yaml:"description"`
	NodeType    string     `yaml:"nodeType"`
	NodeSpec    string     `yaml:"nodeSpec"`
	Environment []keyValue `yaml:"environments"`
	// environment: {variables: {…}} is the old form; formatter.ts replaces
	// it with environments whenever environments is a list.
	OldEnvironment *struct {
		Variables map[string]string `yaml:"variables"`
	} `yaml:"environment"`
	Namespace         string     `yaml:"namespace"`
	VPC               *slsVPC    `yaml:"vpc"`
	VPCConfig         *slsVPC    `yaml:"vpcConfig"`
	CFS               []slsCFS   `yaml:"cfs"`
	CLS               *slsCLS    `yaml:"cls"`
	Tags              slsTags    `yaml:"tags"`
	Layers            []slsLayer `yaml:"layers"`
	EIP               *slsBool   `yaml:"eip"`
	PublicAccess      *slsBool   `yaml:"publicAccess"`
	InstallDependency *slsBool   `yaml:"installDependency"`
	IgnoreTriggers    *slsBool   `yaml:"ignoreTriggers"`
	AsyncRunEnable    *slsBool   `yaml:"asyncRunEnable"`
	TraceEnable       *slsBool   `yaml:"traceEnable"`
}

// slsInputs is Inputs (inputs.ts). srcOriginal, commandOptions and function
// are injected by the framework and the CLI, not written in the file.
type slsInputs struct {
	faasBase           `yaml:",inline"`
	Region             string                 `yaml:"region"`
	Src                slsSrc                 `yaml:"src"`
	Functions          map[string]slsFunction `yaml:"functions"`
	Triggers           []slsTrigger           `yaml:"triggers"`
	Code               *slsCode               `yaml:"code"`
	IsAutoPublish      *slsBool               `yaml:"isAutoPublish"`
	PublishDescription string                 `yaml:"publishDescription"`
}

// slsFunction is FaasInputs, plus role, msgTTL and retryNum that
// docs/configure.md documents. key is set by formatter.ts from the map key;
// imageConfig is built by it from image.
type slsFunction struct {
	faasBase `yaml:",inline"`
	Name     string    `yaml:"name"`
	Src      string    `yaml:"src"`
	Code     *slsCode  `yaml:"code"`
	Handler  string    `yaml:"handler"`
	Image    *slsImage `yaml:"image"`
	Role     string    `yaml:"role"`
	MsgTTL   *int      `yaml:"msgTTL"`
	RetryNum *int      `yaml:"retryNum"`
}

type keyValue struct {
	Key   *string `yaml:"key"`
	Value *string `yaml:"value"`
}

type slsVPC struct {
	VPCID    string `yaml:"vpcId"`
	SubnetID string `yaml:"subnetId"`
}

type slsCFS struct {
	CFSID          string `yaml:"cfsId"`
	MountInsID     string `yaml:"mountInsId"`
	LocalMountDir  string `yaml:"localMountDir"`
	RemoteMountDir string `yaml:"remoteMountDir"`
}

type slsCLS struct {
	LogsetID string `yaml:"logsetId"`
	TopicID  string `yaml:"topicId"`
}

type slsLayer struct {
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
}

type slsCode struct {
	Bucket string `yaml:"bucket"`
	Object string `yaml:"object"`
}

type slsImage struct {
	ImageURL   string `yaml:"imageUrl"`
	RegistryID string `yaml:"registryId"`
	ImageType  string `yaml:"imageType"`
	Command    string `yaml:"command"`
	Args       string `yaml:"args"`
}

// slsSrc is `string | SrcObject`; the framework also reads src.src and
// src.exclude (docs/configure.md, "Src").
type slsSrc struct {
	Path   string
	Object struct {
		Src     string   `yaml:"src"`
		Exclude []string `yaml:"exclude"`
		Bucket  string   `yaml:"bucket"`
		Object  string   `yaml:"object"`
	}
}

func (s *slsSrc) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s.Path = n.Value
		return nil
	}
	return decodeStrict(n, &s.Object)
}

// slsBool is a YAML boolean, true or false unquoted. yaml.v3 alone would
// take "yes" or "on" (YAML 1.1) into a bool, which the component, reading
// YAML 1.2, gets as a string.
type slsBool bool

func (b *slsBool) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return fmt.Errorf("line %d: %q is not true or false", n.Line, n.Value)
	}
	var v bool
	if err := n.Decode(&v); err != nil {
		return err
	}
	*b = slsBool(v)
	return nil
}

// slsTags is `KeyValue[] | Record<string, string>`.
type slsTags struct {
	List []keyValue
	Map  map[string]string
}

func (s *slsTags) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		return decodeStrict(n, &s.List)
	}
	return decodeStrict(n, &s.Map)
}

// slsTrigger is TriggerInputs. Its namespace is left out: formatter.ts
// overwrites it with inputs.namespace. function is a string, the key of a
// function in `functions` (formatter.ts looks it up as faasKeyMap[function]).
// parameters is decoded by type, into the struct of that trigger type.
type slsTrigger struct {
	Type       string
	Function   string
	HasFunc    bool
	Parameters any
}

func (tr *slsTrigger) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Type       string    `yaml:"type"`
		Function   *string   `yaml:"function"`
		Parameters yaml.Node `yaml:"parameters"`
	}
	if err := decodeStrict(n, &raw); err != nil {
		return err
	}
	tr.Type = raw.Type
	if raw.Function != nil {
		tr.Function, tr.HasFunc = *raw.Function, true
	}
	if raw.Parameters.Kind == 0 {
		return fmt.Errorf("line %d: %s trigger without parameters", n.Line, raw.Type)
	}
	var p any
	switch raw.Type {
	case "timer":
		p = &timerParams{}
	case "apigw":
		p = &apigwParams{}
	case "cos":
		p = &cosParams{}
	case "cmq":
		p = &cmqParams{}
	case "ckafka":
		p = &ckafkaParams{}
	case "cls":
		p = &clsParams{}
	case "mps":
		p = &mpsParams{}
	default:
		// The trigger types of docs/configure.md ("Trigger") and of the
		// commented-out TriggerType enum in inputs.ts. Not http (a
		// function URL): see docs/deploy.md, "Caveats".
		return fmt.Errorf("line %d: trigger type %q, want timer, cos, apigw, cmq, ckafka, cls or mps", n.Line, raw.Type)
	}
	if err := decodeStrict(&raw.Parameters, p); err != nil {
		return fmt.Errorf("%s trigger parameters: %w", raw.Type, err)
	}
	tr.Parameters = p
	return nil
}

// timerParams: https://cloud.tencent.com/document/product/583/9708
type timerParams struct {
	Name           string    `yaml:"name"`
	CronExpression string    `yaml:"cronExpression"`
	Qualifier      string    `yaml:"qualifier"`
	Argument       yaml.Node `yaml:"argument"`
	Enable         *slsBool  `yaml:"enable"`
}

// apigwParams: the service is named by `name` (formatter.ts sets
// parameters.serviceName = parameters.name, so a serviceName written in the
// file, as docs/configure.md shows it, is overwritten: left out here).
type apigwParams struct {
	Name        string     `yaml:"name"`
	ID          string     `yaml:"id"`
	Protocols   []string   `yaml:"protocols"`
	Environment string     `yaml:"environment"`
	NetTypes    []string   `yaml:"netTypes"`
	Description string     `yaml:"description"`
	Qualifier   string     `yaml:"qualifier"`
	APIs        []apigwAPI `yaml:"apis"`
}

// apigwAPI is ApiInputs with the endpoint keys of docs/configure.md.
// function is the key of a function (formatter.ts replaces it with the
// function object it builds, which is why isIntegratedResponse cannot be set).
type apigwAPI struct {
	Path           string       `yaml:"path"`
	Method         string       `yaml:"method"`
	Function       string       `yaml:"function"`
	APIID          string       `yaml:"apiId"`
	APIName        string       `yaml:"apiName"`
	Description    string       `yaml:"description"`
	EnableCORS     *slsBool     `yaml:"enableCORS"`
	ResponseType   string       `yaml:"responseType"`
	ServiceTimeout *int         `yaml:"serviceTimeout"`
	Param          []apigwParam `yaml:"param"`
	UsagePlan      *struct {
		UsagePlanID   string `yaml:"usagePlanId"`
		UsagePlanName string `yaml:"usagePlanName"`
		UsagePlanDesc string `yaml:"usagePlanDesc"`
		MaxRequestNum *int   `yaml:"maxRequestNum"`
	} `yaml:"usagePlan"`
	Auth *struct {
		SecretName string   `yaml:"secretName"`
		SecretIDs  []string `yaml:"secretIds"`
	} `yaml:"auth"`
	IsBase64Encoded           *slsBool `yaml:"isBase64Encoded"`
	IsBase64Trigger           *slsBool `yaml:"isBase64Trigger"`
	Base64EncodedTriggerRules []struct {
		Name  string   `yaml:"name"`
		Value []string `yaml:"value"`
	} `yaml:"base64EncodedTriggerRules"`
}

type apigwParam struct {
	Name         string   `yaml:"name"`
	Position     string   `yaml:"position"`
	Required     *slsBool `yaml:"required"`
	Type         string   `yaml:"type"`
	DefaultValue string   `yaml:"defaultValue"`
	Desc         string   `yaml:"desc"`
}

type cosParams struct {
	Qualifier string `yaml:"qualifier"`
	Bucket    string `yaml:"bucket"`
	Filter    struct {
		Prefix string `yaml:"prefix"`
		Suffix string `yaml:"suffix"`
	} `yaml:"filter"`
	Events string   `yaml:"events"`
	Enable *slsBool `yaml:"enable"`
}

type cmqParams struct {
	Qualifier  string   `yaml:"qualifier"`
	Name       string   `yaml:"name"`
	FilterType *int     `yaml:"filterType"`
	FilterKey  []string `yaml:"filterKey"`
	Enable     *slsBool `yaml:"enable"`
}

type ckafkaParams struct {
	Qualifier string   `yaml:"qualifier"`
	Name      string   `yaml:"name"`
	Topic     string   `yaml:"topic"`
	MaxMsgNum *int     `yaml:"maxMsgNum"`
	Offset    string   `yaml:"offset"`
	Retry     *int     `yaml:"retry"`
	Timeout   *int     `yaml:"timeout"`
	Enable    *slsBool `yaml:"enable"`
}

type clsParams struct {
	Qualifier string   `yaml:"qualifier"`
	TopicID   string   `yaml:"topicId"`
	MaxWait   *int     `yaml:"maxWait"`
	Enable    *slsBool `yaml:"enable"`
}

type mpsParams struct {
	Qualifier string   `yaml:"qualifier"`
	Type      string   `yaml:"type"`
	Enable    *slsBool `yaml:"enable"`
}

// decodeStrict decodes n into v, failing on a key v has no field for.
// (A custom UnmarshalYAML's n.Decode would not inherit KnownFields.)
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	return d.Decode(v)
}

// The allowed values, from serverless.component.yml (regions, runtimes,
// memory sizes, timeout) and docs/configure.md.
var (
	slsRegions = []string{"ap-beijing", "ap-chengdu", "ap-chongqing", "ap-guangzhou", "ap-hongkong",
		"ap-mumbai", "ap-seoul", "ap-shanghai", "ap-shanghai-fsi", "ap-shenzhen-fsi", "ap-singapore",
		"ap-tokyo", "eu-frankfurt", "na-siliconvalley", "na-toronto"}
	slsRuntimes = []string{"Python2.7", "Python3.6", "Python3.7", "Nodejs6.10", "Nodejs8.9",
		"Nodejs10.15", "Nodejs12.16", "Nodejs14.18", "Nodejs16.13", "Php5", "Php7", "Php7.4",
		"Php8.0", "Go1", "Java8", "Java11", "CustomRuntime"}
	// A function name: letters, digits, _ and -, starting with a letter,
	// ending with a letter or digit, 2 to 60 characters (docs/configure.md).
	slsFunctionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$`)
	slsEnvRef       = regexp.MustCompile(`^\$\{env:\w+\}$`)
)

// parseServerless decodes and validates a serverless.yml.
func parseServerless(b []byte) (*slsFile, error) {
	var f slsFile
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&f); err != nil {
		return nil, err
	}
	return &f, errors.Join(f.validate()...)
}

func (f *slsFile) validate() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if f.Component != "multi-scf" {
		bad("component %q, want multi-scf", f.Component)
	}
	if f.Name == "" {
		bad("name is required")
	}
	in := &f.Inputs
	if in.Region != "" && !slsEnvRef.MatchString(in.Region) && !slices.Contains(slsRegions, in.Region) {
		bad("inputs.region %q is not an SCF region", in.Region)
	}
	if in.Src.Path == "" && in.Src.Object.Src == "" && in.Src.Object.Object == "" && in.Code == nil {
		bad("inputs.src is required (src.src, or src.bucket and src.object)")
	}
	errs = append(errs, in.faasBase.check("inputs")...)
	if len(in.Functions) == 0 {
		bad("inputs.functions is required")
	}
	names := map[string]string{}
	for key, fn := range in.Functions {
		at := "inputs.functions." + key
		errs = append(errs, fn.faasBase.check(at)...)
		if fn.Handler == "" && fn.Image == nil {
			bad("%s: handler is required", at)
		}
		if fn.Image != nil && fn.Image.ImageURL == "" {
			bad("%s: image.imageUrl is required", at)
		}
		name := fn.Name
		if name == "" {
			name = f.Name + "-" + f.Stage + "-" + f.App + "-" + key // formatScfName
		} else if !strings.Contains(name, "${") && !slsFunctionName.MatchString(name) {
			bad("%s: name %q: letters, digits, _ and -, from a letter to a letter or digit, 2-60 characters", at, name)
		}
		if other, dup := names[name]; dup {
			bad("%s and %s are both named %s", other, key, name)
		}
		names[name] = key
	}
	for i, tr := range in.Triggers {
		at := fmt.Sprintf("inputs.triggers[%d] (%s)", i, tr.Type)
		if tr.Type != "apigw" {
			if !tr.HasFunc {
				bad("%s: function is required", at)
			} else if _, ok := in.Functions[tr.Function]; !ok {
				bad("%s: function %q is not a key of inputs.functions", at, tr.Function)
			}
		}
		switch p := tr.Parameters.(type) {
		case *timerParams:
			if p.Name == "" {
				bad("%s: parameters.name is required", at)
			}
			// Tencent's cron: second minute hour day month weekday year.
			if len(strings.Fields(p.CronExpression)) != 7 {
				bad("%s: cronExpression %q needs 7 fields (second to year)", at, p.CronExpression)
			}
		case *apigwParams:
			errs = append(errs, p.check(at, in.Functions)...)
		case *cosParams:
			if p.Bucket == "" || p.Events == "" {
				bad("%s: parameters.bucket and parameters.events are required", at)
			}
		case *cmqParams:
			if p.Name == "" {
				bad("%s: parameters.name is required", at)
			}
		case *ckafkaParams:
			if p.Name == "" || p.Topic == "" {
				bad("%s: parameters.name and parameters.topic are required", at)
			}
		case *clsParams:
			if p.TopicID == "" {
				bad("%s: parameters.topicId is required", at)
			}
		case *mpsParams:
			if p.Type != "WorkflowTask" && p.Type != "EditMediaTask" {
				bad("%s: parameters.type %q, want WorkflowTask or EditMediaTask", at, p.Type)
			}
		}
	}
	return errs
}

func (c *faasBase) check(at string) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(at+": "+format, a...)) }
	if c.Type != "" && c.Type != "event" && c.Type != "web" {
		bad("type %q, want event or web", c.Type)
	}
	if c.Runtime != "" && !slices.Contains(slsRuntimes, c.Runtime) {
		bad("runtime %q is not an SCF runtime", c.Runtime)
	}
	if m := c.MemorySize; m != nil && *m != 64 && (*m < 128 || *m > 3072 || *m%128 != 0) {
		bad("memorySize %d: 64, or 128 to 3072 by 128", *m)
	}
	if t := c.Timeout; t != nil && (*t < 1 || *t > 900) {
		bad("timeout %d: 1 to 900 seconds", *t)
	}
	if c.NodeType != "" && c.NodeType != "CPU" && c.NodeType != "GPU" {
		bad("nodeType %q, want CPU or GPU", c.NodeType)
	}
	// formatter.ts folds environments into a map: a repeated key would
	// silently keep only its last value.
	seen := map[string]bool{}
	for i, kv := range c.Environment {
		if kv.Key == nil || *kv.Key == "" || kv.Value == nil {
			bad("environments[%d]: key and value are required", i)
			continue
		}
		if seen[*kv.Key] {
			bad("environments: %s twice", *kv.Key)
		}
		seen[*kv.Key] = true
	}
	if c.VPC != nil && (c.VPC.VPCID == "" || c.VPC.SubnetID == "") {
		bad("vpc: vpcId and subnetId are required")
	}
	if c.TraceEnable != nil && bool(*c.TraceEnable) && (c.AsyncRunEnable == nil || !bool(*c.AsyncRunEnable)) {
		bad("traceEnable needs asyncRunEnable")
	}
	return errs
}

// API gateway values: SCF's API gateway trigger (methods ANY, GET, HEAD,
// POST, PUT, DELETE; environments release, test, prepub), in
// https://cloud.tencent.com/document/product/583/39901, and
// docs/configure.md ("API 网关触发器", "Parameter").
var (
	apigwMethods   = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "ANY"}
	apigwPositions = []string{"PATH", "QUERY", "HEADER"}
)

func (p *apigwParams) check(at string, functions map[string]slsFunction) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(at+": "+format, a...)) }
	for _, proto := range p.Protocols {
		if proto != "http" && proto != "https" {
			bad("protocols: %q, want http or https", proto)
		}
	}
	if e := p.Environment; e != "" && e != "release" && e != "test" && e != "prepub" {
		bad("environment %q, want release, test or prepub", e)
	}
	for _, nt := range p.NetTypes {
		if nt != "OUTER" && nt != "INNER" {
			bad("netTypes: %q, want OUTER or INNER", nt)
		}
	}
	if len(p.APIs) == 0 {
		bad("parameters.apis is required")
	}
	seen := map[string]bool{}
	for i, a := range p.APIs {
		api := fmt.Sprintf("apis[%d] %s %s", i, a.Method, a.Path)
		if !strings.HasPrefix(a.Path, "/") {
			bad("%s: path must start with /", api)
		}
		if !slices.Contains(apigwMethods, a.Method) {
			bad("%s: method %q, want one of %v", api, a.Method, apigwMethods)
		}
		if a.Function == "" {
			bad("%s: function is required", api)
		} else if _, ok := functions[a.Function]; !ok {
			bad("%s: function %q is not a key of inputs.functions", api, a.Function)
		}
		if seen[a.Method+" "+a.Path] {
			bad("%s: declared twice", api)
		}
		seen[a.Method+" "+a.Path] = true
		if t := a.ServiceTimeout; t != nil && (*t < 1 || *t > 1800) {
			bad("%s: serviceTimeout %d", api, *t)
		}
		for _, prm := range a.Param {
			if prm.Name == "" || !slices.Contains(apigwPositions, prm.Position) {
				bad("%s: param %q at %q, want a name at PATH, QUERY or HEADER", api, prm.Name, prm.Position)
			}
		}
	}
	return errs
}

// TestServerlessSchema: the repository's serverless.yml passes the schema,
// and copies broken in one place each (mutated in memory) fail it.
func TestServerlessSchema(t *testing.T) {
	src := mustRead(t, repoFile(t, "serverless.yml"))
	f, err := parseServerless(src)
	if err != nil {
		t.Fatalf("serverless.yml: %v", err)
	}
	if len(f.Inputs.Functions) == 0 || len(f.Inputs.Triggers) == 0 {
		t.Fatal("serverless.yml decoded to no functions or triggers")
	}

	cases := []struct {
		name   string
		mutate func(t *testing.T, root *yaml.Node)
		want   string // in the error
	}{
		{"misspelled inputs key", func(t *testing.T, r *yaml.Node) {
			keyNode(t, r, "inputs", "memorySize").Value = "memorySise"
		}, "field memorySise not found"},
		{"misspelled function key", func(t *testing.T, r *yaml.Node) {
			keyNode(t, r, "inputs", "functions", "admin", "handler").Value = "hanlder"
		}, "field hanlder not found"},
		{"handler missing", func(t *testing.T, r *yaml.Node) {
			deleteKey(t, r, "inputs", "functions", "admin", "handler")
		}, "admin: handler is required"},
		{"memorySize a string", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "256", "inputs", "memorySize")
		}, "cannot unmarshal !!str `256` into int"},
		{"memorySize off the 128 MB steps", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!int", "200", "inputs", "memorySize")
		}, "memorySize 200"},
		{"timeout over 900", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!int", "901", "inputs", "functions", "order-expire", "timeout")
		}, "timeout 901"},
		{"function type not event or web", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "http", "inputs", "functions", "order-expire", "type")
		}, `type "http", want event or web`},
		{"runtime unknown", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "Go1.21", "inputs", "runtime")
		}, `runtime "Go1.21"`},
		{"environments as a map", func(t *testing.T, r *yaml.Node) {
			env := valueNode(t, r, "inputs", "functions", "admin", "environments")
			*env = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "MINIFN_STORE"},
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "${env:MINIFN_STORE}"}}}
		}, "cannot unmarshal !!map into []main.keyValue"},
		{"environment entry without value", func(t *testing.T, r *yaml.Node) {
			deleteKey(t, r, "inputs", "functions", "admin", "environments", "0", "value")
		}, "admin: environments[0]: key and value are required"},
		{"environment key twice", func(t *testing.T, r *yaml.Node) {
			env := valueNode(t, r, "inputs", "functions", "admin", "environments")
			env.Content = append(env.Content, env.Content[0])
		}, "environments: MINIFN_STORE twice"},
		{"invalid function name", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "minifn-admin-", "inputs", "functions", "admin", "name")
		}, `name "minifn-admin-"`},
		{"timer without its function", func(t *testing.T, r *yaml.Node) {
			deleteKey(t, r, "inputs", "triggers", "0", "function")
		}, "triggers[0] (timer): function is required"},
		{"timer naming the function, not its key", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "minifn-order-expire", "inputs", "triggers", "0", "function")
		}, `function "minifn-order-expire" is not a key of inputs.functions`},
		{"timer with a 6-field cron", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "0 */1 * * * *", "inputs", "triggers", "0", "parameters", "cronExpression")
		}, "needs 7 fields"},
		{"timer enable a string", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "yes", "inputs", "triggers", "0", "parameters", "enable")
		}, `"yes" is not true or false`},
		{"misspelled timer parameter", func(t *testing.T, r *yaml.Node) {
			keyNode(t, r, "inputs", "triggers", "0", "parameters", "cronExpression").Value = "cron"
		}, "field cron not found"},
		{"trigger without parameters", func(t *testing.T, r *yaml.Node) {
			deleteKey(t, r, "inputs", "triggers", "0", "parameters")
		}, "timer trigger without parameters"},
		{"function URL trigger", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "http", "inputs", "triggers", "0", "type")
		}, `trigger type "http"`},
		{"apigw serviceName (overwritten by name)", func(t *testing.T, r *yaml.Node) {
			keyNode(t, r, "inputs", "triggers", "1", "parameters", "name").Value = "serviceName"
		}, "field serviceName not found"},
		{"apigw protocol", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "ftp", "inputs", "triggers", "1", "parameters", "protocols", "0")
		}, `protocols: "ftp"`},
		{"apigw environment", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "prod", "inputs", "triggers", "1", "parameters", "environment")
		}, `environment "prod"`},
		{"API without its function", func(t *testing.T, r *yaml.Node) {
			deleteKey(t, r, "inputs", "triggers", "1", "parameters", "apis", "0", "function")
		}, ": function is required"},
		{"API naming an unknown function", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "adminn", "inputs", "triggers", "1", "parameters", "apis", "0", "function")
		}, `function "adminn" is not a key`},
		{"API method", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "FETCH", "inputs", "triggers", "1", "parameters", "apis", "0", "method")
		}, `method "FETCH"`},
		{"API path without /", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "admin", "inputs", "triggers", "1", "parameters", "apis", "0", "path")
		}, "path must start with /"},
		{"API declared twice", func(t *testing.T, r *yaml.Node) {
			apis := valueNode(t, r, "inputs", "triggers", "1", "parameters", "apis")
			apis.Content = append(apis.Content, apis.Content[0])
		}, "declared twice"},
		{"API enableCORS a string", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "yes", "inputs", "triggers", "1", "parameters", "apis", "0", "enableCORS")
		}, `"yes" is not true or false`},
		// The toolkit reads only api.function.isIntegratedResponse, and
		// formatter.ts rebuilds api.function: the key would do nothing.
		{"API isIntegratedResponse (ignored)", func(t *testing.T, r *yaml.Node) {
			api := valueNode(t, r, "inputs", "triggers", "1", "parameters", "apis", "0")
			api.Content = append(api.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "isIntegratedResponse"},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
		}, "field isIntegratedResponse not found"},
		{"param position", func(t *testing.T, r *yaml.Node) {
			for _, api := range valueNode(t, r, "inputs", "triggers", "1", "parameters", "apis").Content {
				for i := 0; i < len(api.Content); i += 2 {
					if api.Content[i].Value == "param" {
						setScalar(t, api.Content[i+1], "!!str", "BODY", "0", "position")
						return
					}
				}
			}
			t.Fatal("no API declares a param")
		}, `at "BODY"`},
		{"unknown region", func(t *testing.T, r *yaml.Node) {
			setScalar(t, r, "!!str", "us-east-1", "inputs", "region")
		}, `region "us-east-1"`},
		{"functions missing", func(t *testing.T, r *yaml.Node) {
			deleteKey(t, r, "inputs", "functions")
		}, "inputs.functions is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal(src, &doc); err != nil {
				t.Fatal(err)
			}
			c.mutate(t, doc.Content[0])
			b, err := yaml.Marshal(&doc)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseServerless(b)
			if err == nil {
				t.Fatalf("the broken copy passed")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
		})
	}
}

// walk follows keys (mapping keys, or sequence indexes) from n and returns
// the key node and the value node of the last one (key nil in a sequence),
// with the parent node and the index of the pair in it.
func walk(t *testing.T, n *yaml.Node, keys ...string) (key, val, parent *yaml.Node, at int) {
	t.Helper()
	for _, k := range keys {
		parent, key, val = n, nil, nil
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					key, val, at = n.Content[i], n.Content[i+1], i
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(k); err == nil && i < len(n.Content) {
				val, at = n.Content[i], i
			}
		}
		if val == nil {
			t.Fatalf("serverless.yml has no %s", strings.Join(keys, "."))
		}
		n = val
	}
	return key, val, parent, at
}

func keyNode(t *testing.T, n *yaml.Node, keys ...string) *yaml.Node {
	t.Helper()
	k, _, _, _ := walk(t, n, keys...)
	if k == nil {
		t.Fatalf("%s is not a mapping key", strings.Join(keys, "."))
	}
	return k
}

func valueNode(t *testing.T, n *yaml.Node, keys ...string) *yaml.Node {
	t.Helper()
	_, v, _, _ := walk(t, n, keys...)
	return v
}

func setScalar(t *testing.T, n *yaml.Node, tag, value string, keys ...string) {
	t.Helper()
	v := yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	if tag == "!!str" {
		v.Style = yaml.DoubleQuotedStyle // "256" stays a string
	}
	*valueNode(t, n, keys...) = v
}

func deleteKey(t *testing.T, n *yaml.Node, keys ...string) {
	t.Helper()
	_, _, parent, at := walk(t, n, keys...)
	if parent.Kind != yaml.MappingNode {
		t.Fatalf("%s is not a mapping key", strings.Join(keys, "."))
	}
	parent.Content = slices.Delete(parent.Content, at, at+2)
}
