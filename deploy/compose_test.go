package deploy

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/dynamicconfig"
	"gopkg.in/yaml.v3"

	"github.com/journeyshq/journeys/workflows"
)

// The services docker-compose.yml must have, by role.
const (
	svcPostgres = "postgresql"
	svcSchema   = "temporal-schema" // one-shot: Temporal's database schemas
	svcTemporal = "temporal"
	svcSetup    = "temporal-setup" // one-shot: namespace and search attributes
	svcUI       = "temporal-ui"
	svcWorker   = "worker"
	svcAPI      = "api"
)

// oneShots are the services that run to completion before others start.
var oneShots = []string{svcSchema, svcSetup}

// composeOnlyVars are the .env variables the compose stack itself reads (no
// journeys code does): the PostgreSQL passwords.
var composeOnlyVars = map[string]bool{"POSTGRES_PASSWORD": true, "LEDGER_DB_PASSWORD": true}

// notEnvVars are string literals in the code that look like our
// environment variables but are not, with the reason.
var notEnvVars = map[string]string{
	"HUBSPOT_DEFINED": "a HubSpot association category sent in CRM API request bodies",
}

// envName is what the code's environment variables look like.
var envName = regexp.MustCompile(`^(TEMPORAL|JOURNEYS|SENDGRID|TWILIO|SLACK|HUBSPOT|BILLING|STRIPE)_[A-Z0-9_]+$`)

type composeFile struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image           string       `yaml:"image"`
	Build           any          `yaml:"build"`
	ContainerName   string       `yaml:"container_name"`
	Entrypoint      any          `yaml:"entrypoint"`
	Command         any          `yaml:"command"`
	Environment     any          `yaml:"environment"`
	Ports           []any        `yaml:"ports"`
	DependsOn       any          `yaml:"depends_on"`
	Healthcheck     *healthcheck `yaml:"healthcheck"`
	StopGracePeriod string       `yaml:"stop_grace_period"`
	Restart         string       `yaml:"restart"`
	Volumes         []any        `yaml:"volumes"`
	Deploy          any          `yaml:"deploy"`
}

type healthcheck struct {
	Test    any  `yaml:"test"`
	Disable bool `yaml:"disable"`
}

func (s service) healthy() bool { return s.Healthcheck != nil && !s.Healthcheck.Disable }

// root is the repository's root: this package is one level below it.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "go.mod"), "deploy/ must sit right below the module root")
	return dir
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), name))
	require.NoError(t, err)
	return string(b)
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "docker-compose.yml")), &c), "docker-compose.yml")
	for _, name := range []string{svcPostgres, svcSchema, svcTemporal, svcSetup, svcUI, svcWorker, svcAPI} {
		require.Contains(t, c.Services, name, "docker-compose.yml has no service %q", name)
	}
	return c
}

// interpolation matches compose's $$, ${NAME}, ${NAME:-default},
// ${NAME-default}, ${NAME:?message}, ${NAME?message} and $NAME.
var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// has reports whether m holds k (assert.Contains would print all of m).
func has[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// resolve interpolates s as compose would with every variable unset (as
// with .env.example copied to .env): defaults apply, required ones are "".
func resolve(s string) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := interpolation.FindStringSubmatch(m)
		if strings.HasSuffix(sub[2], "-") {
			return sub[3]
		}
		return ""
	})
}

// referencedVars returns every variable s interpolates, and whether it is
// required (${NAME:?...}).
func referencedVars(s string) map[string]bool {
	out := map[string]bool{}
	for _, sub := range interpolation.FindAllStringSubmatch(s, -1) {
		name := sub[1] + sub[4]
		if name != "" {
			out[name] = out[name] || strings.HasSuffix(sub[2], "?")
		}
	}
	return out
}

// composeInterpolations returns every variable docker-compose.yml's values
// interpolate (comments aside), and whether it is required.
func composeInterpolations(t *testing.T) map[string]bool {
	t.Helper()
	var doc any
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "docker-compose.yml")), &doc))
	out := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(k)
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			for name, required := range referencedVars(v) {
				out[name] = out[name] || required
			}
		}
	}
	walk(doc)
	return out
}

// env is a service's environment, uninterpolated, from either form.
func env(t *testing.T, s service) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case nil:
	case map[string]any:
		for k, v := range e {
			if v == nil {
				out[k] = ""
			} else {
				out[k] = scalar(v)
			}
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(scalar(kv), "=")
			out[k] = v
		}
	default:
		t.Fatalf("environment: unexpected %T", e)
	}
	return out
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	default:
		return ""
	}
}

// words is a command, entrypoint or healthcheck test as one string.
func words(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var parts []string
		for _, p := range v {
			parts = append(parts, scalar(p))
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// dependency is one depends_on entry.
type dependency struct{ service, condition string }

func dependsOn(t *testing.T, s service) []dependency {
	t.Helper()
	var out []dependency
	switch d := s.DependsOn.(type) {
	case nil:
	case []any: // short form: no condition at all
		for _, name := range d {
			out = append(out, dependency{service: scalar(name)})
		}
	case map[string]any:
		for name, v := range d {
			m, _ := v.(map[string]any)
			out = append(out, dependency{service: name, condition: scalar(m["condition"])})
		}
	default:
		t.Fatalf("depends_on: unexpected %T", d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].service < out[j].service })
	return out
}

// portMapping is one published port.
type portMapping struct{ hostIP, host, container string }

func ports(t *testing.T, s service) []portMapping {
	t.Helper()
	var out []portMapping
	for _, p := range s.Ports {
		switch p := p.(type) {
		case map[string]any:
			out = append(out, portMapping{hostIP: scalar(p["host_ip"]), host: scalar(p["published"]), container: scalar(p["target"])})
		default:
			spec, _, _ := strings.Cut(resolve(scalar(p)), "/") // drop /tcp
			parts := strings.Split(spec, ":")
			switch len(parts) {
			case 1:
				out = append(out, portMapping{container: parts[0]})
			case 2:
				out = append(out, portMapping{host: parts[0], container: parts[1]})
			case 3:
				out = append(out, portMapping{hostIP: parts[0], host: parts[1], container: parts[2]})
			default:
				t.Fatalf("port %q: want [IP:]HOST:CONTAINER", spec)
			}
		}
	}
	return out
}

// goModVersions reads the go directive (or the toolchain, which wins) and
// the required versions of the modules whose images we run.
func goModVersions(t *testing.T) (goVersion string, mods map[string]string) {
	t.Helper()
	mods = map[string]string{}
	modLine := regexp.MustCompile(`^\s*(?:require\s+)?(\S+)\s+v(\S+)`)
	for line := range strings.Lines(readFile(t, "go.mod")) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "go "); ok && goVersion == "" {
			goVersion = v
		} else if v, ok := strings.CutPrefix(line, "toolchain go"); ok {
			goVersion = v
		} else if m := modLine.FindStringSubmatch(line); m != nil {
			mods[m[1]] = m[2]
		}
	}
	if goVersion == "" || mods["go.temporal.io/server"] == "" || mods["github.com/temporalio/ui-server/v2"] == "" {
		t.Fatalf("go.mod: want a go line and requirements of go.temporal.io/server and github.com/temporalio/ui-server/v2; got go %q, %v", goVersion, mods)
	}
	return goVersion, mods
}

// pinned is an image reference with an exact version tag, name:X.Y.Z with
// an optional suffix (golang:1.26.8-trixie) and digest.
var pinned = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*:\d+\.\d+\.\d+(?:-[A-Za-z0-9._-]+)?(?:@sha256:[0-9a-f]{64})?$`)

// pinnedMajorMinor is the same for images whose releases have two numbers:
// postgres:16.15 is an exact release (16.15.0 does not exist).
var pinnedMajorMinor = regexp.MustCompile(`^postgres:\d+\.\d+(?:-[A-Za-z0-9._-]+)?(?:@sha256:[0-9a-f]{64})?$`)

// assertPinned fails unless image names an exact release.
func assertPinned(t *testing.T, image, what string) {
	t.Helper()
	if !pinned.MatchString(image) && !pinnedMajorMinor.MatchString(image) {
		assert.Fail(t, "image not pinned", "%s: %q: pin the image to an exact version tag (name:X.Y.Z), not a floating or latest tag", what, image)
	}
	assert.NotEqual(t, "latest", imageTag(image), "%s: no latest", what)
}

// imageTag is the tag of an image reference, "" without one.
func imageTag(image string) string {
	ref, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return ""
}

func TestComposeImagesArePinned(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		t.Run(name, func(t *testing.T) {
			if s.Build != nil {
				assert.Equal(t, "journeys:local", s.Image, "a service built from ./Dockerfile runs the one local journeys image")
				return
			}
			require.NotEmpty(t, s.Image, "service %s has neither image nor build", name)
			assertPinned(t, s.Image, "service "+name)
		})
	}
}

func TestTemporalImagesMatchGoMod(t *testing.T) {
	c := loadCompose(t)
	_, mods := goModVersions(t)
	server, ui := mods["go.temporal.io/server"], mods["github.com/temporalio/ui-server/v2"]
	want := map[string]string{
		svcTemporal: "temporalio/server:" + server,
		svcSchema:   "temporalio/admin-tools:" + server,
		svcSetup:    "temporalio/admin-tools:" + server,
		svcUI:       "temporalio/ui:" + ui,
	}
	for name, image := range want {
		assert.Equal(t, image, c.Services[name].Image,
			"service %s: run the version go.mod links (go.temporal.io/server v%s, ui-server v%s), so the embedded dev server and the stack agree", name, server, ui)
	}
}

// saCreate matches one search attribute registration of temporal-setup.
var saCreate = regexp.MustCompile(`search-attribute\s+create\b(.*)`)

// flagValues returns the values of --name or --name=value in args.
func flagValues(args, name string) []string {
	var out []string
	fields := strings.Fields(args)
	for i, f := range fields {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			out = append(out, strings.Trim(v, `"'`))
		} else if f == "--"+name && i+1 < len(fields) {
			out = append(out, strings.Trim(fields[i+1], `"'`))
		}
	}
	return out
}

func TestSetupRegistersTheWorkflowsSearchAttributes(t *testing.T) {
	c := loadCompose(t)
	setup := c.Services[svcSetup]
	script := resolve(words(setup.Entrypoint) + "\n" + words(setup.Command))
	namespace := resolve(env(t, c.Services[svcWorker])["TEMPORAL_NAMESPACE"])
	require.NotEmpty(t, namespace, "the worker's TEMPORAL_NAMESPACE")

	got := map[string]enums.IndexedValueType{}
	for _, m := range saCreate.FindAllStringSubmatch(script, -1) {
		args := m[1]
		names, types := flagValues(args, "name"), flagValues(args, "type")
		require.Len(t, types, len(names), "%s: each --name needs its --type: %s", svcSetup, m[0])
		assert.Equal(t, []string{namespace}, flagValues(args, "namespace"), "%s registers in the worker's namespace: %s", svcSetup, m[0])
		for i, n := range names {
			// The CLI takes the short names (Keyword, Int, Bool...).
			typ, ok := enums.IndexedValueType_shorthandValue[types[i]]
			if assert.True(t, ok, "%s: search attribute %s: type %q is not one of the CLI's (Keyword, Int, Bool...)", svcSetup, n, types[i]) {
				assert.NotContains(t, got, n, "%s registers %s twice", svcSetup, n)
				got[n] = enums.IndexedValueType(typ)
			}
		}
	}
	want := workflows.SearchAttributes()
	assert.Equal(t, want, got, "%s must register exactly workflows.SearchAttributes(), by name and type (temporal operator search-attribute create --name N --type T)", svcSetup)

	// The namespace it registers them in is the one it creates.
	assert.Regexp(t, regexp.MustCompile(`namespace\s+create\b[^\n]*--namespace[ =]`+regexp.QuoteMeta(namespace)+`\b`), script,
		"%s creates the worker's namespace %q", svcSetup, namespace)
}

// codeEnvVars scans the repository's non-test Go files for string literals
// that name one of our environment variables.
func codeEnvVars(t *testing.T) map[string][]string {
	t.Helper()
	dir := root(t)
	found := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && envName.MatchString(s) {
				if _, skip := notEnvVars[s]; !skip && !slices.Contains(found[s], rel) {
					found[s] = append(found[s], rel)
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, found, "JOURNEYS_API_TOKENS", "the scan found none of the known variables: is it looking in the right place?")
	return found
}

// envExample reads .env.example: NAME=value lines, in order.
func envExample(t *testing.T) (names []string, values map[string]string) {
	t.Helper()
	values = map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(readFile(t, ".env.example")))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !assert.True(t, ok, ".env.example:%d: want NAME=value, got %q", n, line) {
			continue
		}
		assert.NotContains(t, values, name, ".env.example:%d: %s twice", n, name)
		names = append(names, name)
		values[name] = value
	}
	return names, values
}

func TestComposeEnvVarsAreReadByTheCode(t *testing.T) {
	c := loadCompose(t)
	code := codeEnvVars(t)
	for _, name := range []string{svcWorker, svcAPI} {
		for k := range env(t, c.Services[name]) {
			assert.True(t, has(code, k), "service %s sets %s, which no journeys code reads (a typo, or a renamed variable?)", name, k)
		}
	}
}

func TestDockerfileEnvVarsAreReadByTheCode(t *testing.T) {
	code := codeEnvVars(t)
	stages := dockerStages(t)
	for _, ins := range stages[len(stages)-1].instructions {
		if ins.cmd != "ENV" {
			continue
		}
		for _, kv := range strings.Fields(ins.args) {
			k, _, _ := strings.Cut(kv, "=")
			assert.True(t, has(code, k), "Dockerfile's runtime stage sets %s, which no journeys code reads", k)
		}
	}
}

func TestEnvExampleVarsAreReadAndUsed(t *testing.T) {
	c := loadCompose(t)
	code := codeEnvVars(t)
	names, values := envExample(t)
	referenced := composeInterpolations(t)
	for _, n := range names {
		if !composeOnlyVars[n] {
			assert.True(t, has(code, n), ".env.example lists %s, which no journeys code reads", n)
		}
		assert.True(t, has(referenced, n), ".env.example lists %s, but docker-compose.yml never interpolates it: setting it would do nothing", n)
		assert.Empty(t, values[n], ".env.example: leave %s empty (examples go in comments), so a copied .env never ships a placeholder secret", n)
	}
	for v, required := range referenced {
		assert.True(t, has(values, v), "docker-compose.yml interpolates ${%s}: list it in .env.example", v)
		if required {
			assert.Regexp(t, regexp.MustCompile(`(?m)^#.*\bREQUIRED\b.*(\n#.*)*\n`+v+`=`), readFile(t, ".env.example"),
				".env.example: say REQUIRED in the comment above %s (compose refuses to start without it)", v)
		}
	}
	// The worker and the API get the same settings from .env.
	assert.Equal(t, env(t, c.Services[svcWorker]), env(t, c.Services[svcAPI]), "the worker and the API share one environment")
}

func TestReadmeTablesListEveryEnvVar(t *testing.T) {
	code := codeEnvVars(t)
	var rows []string
	for line := range strings.Lines(readFile(t, "docs/configuration.md")) {
		if strings.HasPrefix(line, "|") {
			rows = append(rows, line)
		}
	}
	var missing []string
	for v, files := range code {
		if !slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, "`"+v+"`") }) {
			missing = append(missing, v+" (read in "+strings.Join(files, ", ")+")")
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "docs/configuration.md: give each variable the code reads a table row (a line starting with | holding the name in backticks)")
}

// hostPort splits an address, failing the test on a malformed one.
func hostPort(t *testing.T, what, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	require.NoError(t, err, "%s: %q", what, addr)
	return h, p
}

func TestComposePortsAgree(t *testing.T) {
	c := loadCompose(t)
	api, worker, ui, temporal := c.Services[svcAPI], c.Services[svcWorker], c.Services[svcUI], c.Services[svcTemporal]
	apiEnv, uiEnv := env(t, api), env(t, ui)

	// The API listens where its published port points, on every interface.
	apiHost, apiPort := hostPort(t, "api JOURNEYS_HTTP_ADDR", resolve(apiEnv["JOURNEYS_HTTP_ADDR"]))
	assert.Contains(t, []string{"0.0.0.0", "", "::"}, apiHost, "api: JOURNEYS_HTTP_ADDR must listen on all of the container's interfaces, or the published port reaches nothing")
	apiPorts := ports(t, api)
	require.Len(t, apiPorts, 1, "api publishes one port")
	assert.Equal(t, apiPort, apiPorts[0].container, "api: the published port's container side is JOURNEYS_HTTP_ADDR's port")
	require.NotEmpty(t, apiPorts[0].host, "api: publish a fixed host port (the UI's codec endpoint names it)")

	// Health checks probe the address each process listens on.
	for name, s := range map[string]service{svcAPI: api, svcWorker: worker} {
		_, port := hostPort(t, name+" JOURNEYS_HTTP_ADDR", resolve(env(t, s)["JOURNEYS_HTTP_ADDR"]))
		require.True(t, s.healthy(), "service %s has a health check", name)
		test := words(s.Healthcheck.Test)
		assert.Contains(t, test, "127.0.0.1:"+port+"/readyz", "service %s: the health check probes /readyz on JOURNEYS_HTTP_ADDR's port", name)
	}

	// Everything that talks to Temporal reaches the temporal service's frontend.
	frontend := "7233"
	if p := resolve(env(t, temporal)["FRONTEND_GRPC_PORT"]); p != "" {
		frontend = p
	}
	wantTemporal := svcTemporal + ":" + frontend
	for _, name := range []string{svcWorker, svcAPI, svcUI} {
		assert.Equal(t, wantTemporal, resolve(env(t, c.Services[name])["TEMPORAL_ADDRESS"]), "service %s: TEMPORAL_ADDRESS", name)
	}
	setup := resolve(words(c.Services[svcSetup].Command))
	for _, addr := range flagValues(setup, "address") {
		assert.Equal(t, wantTemporal, addr, "%s: --address", svcSetup)
	}
	assert.NotEmpty(t, flagValues(setup, "address"), "%s passes --address to every temporal command", svcSetup)
	require.True(t, temporal.healthy(), "temporal has a health check")
	assert.Contains(t, words(temporal.Healthcheck.Test), frontend, "temporal's health check probes the frontend port")

	// The browser loads the UI from its published port and calls the codec
	// server on the API's published port; the API allows that origin.
	uiContainerPort := "8080"
	if p := resolve(uiEnv["TEMPORAL_UI_PORT"]); p != "" {
		uiContainerPort = p
	}
	uiPorts := ports(t, ui)
	require.Len(t, uiPorts, 1, "temporal-ui publishes one port")
	assert.Equal(t, uiContainerPort, uiPorts[0].container, "temporal-ui: the container side of its port is where the UI listens (TEMPORAL_UI_PORT, default 8080)")
	uiOrigin := "http://localhost:" + uiPorts[0].host
	assert.Equal(t, "http://localhost:"+apiPorts[0].host+"/codec", resolve(uiEnv["TEMPORAL_CODEC_ENDPOINT"]), "temporal-ui: TEMPORAL_CODEC_ENDPOINT is the API's codec server as the browser sees it")
	origins := strings.Split(resolve(apiEnv["JOURNEYS_CODEC_ORIGINS"]), ",")
	assert.Contains(t, origins, uiOrigin, "api: JOURNEYS_CODEC_ORIGINS allows the UI's origin")
	assert.Contains(t, origins, "http://127.0.0.1:"+uiPorts[0].host, "api: JOURNEYS_CODEC_ORIGINS allows the UI's origin by IP too")
	assert.Contains(t, strings.Split(resolve(uiEnv["TEMPORAL_CORS_ORIGINS"]), ","), uiOrigin, "temporal-ui: TEMPORAL_CORS_ORIGINS holds its own origin")
	assert.Equal(t, uiOrigin, resolve(apiEnv["JOURNEYS_UI_URL"]), "JOURNEYS_UI_URL (where CSM alerts link) defaults to the stack's UI")

	// The API's container port is the one the image exposes.
	assert.Contains(t, dockerExposed(t), apiPort, "Dockerfile: EXPOSE the API's port")
}

func TestComposeStartOrder(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, d := range dependsOn(t, s) {
			target, ok := c.Services[d.service]
			if !assert.True(t, ok, "service %s depends on %s, which does not exist", name, d.service) {
				continue
			}
			switch {
			case slices.Contains(oneShots, d.service):
				assert.Equal(t, "service_completed_successfully", d.condition, "service %s: wait for the one-shot %s to finish", name, d.service)
			case target.healthy():
				assert.Equal(t, "service_healthy", d.condition, "service %s: %s has a health check: wait for it (condition: service_healthy)", name, d.service)
			default:
				assert.Fail(t, "dependency without a readiness signal", "service %s depends on %s, which has no health check and is not a one-shot", name, d.service)
			}
		}
	}
	want := map[string][]string{
		svcSchema:   {svcPostgres},
		svcTemporal: {svcSchema},
		svcSetup:    {svcTemporal},
		svcWorker:   {svcPostgres, svcSetup},
		svcAPI:      {svcPostgres, svcSetup},
	}
	for name, deps := range want {
		var got []string
		for _, d := range dependsOn(t, c.Services[name]) {
			got = append(got, d.service)
		}
		for _, d := range deps {
			assert.Contains(t, got, d, "service %s must depend on %s", name, d)
		}
	}
	for _, name := range oneShots {
		s := c.Services[name]
		assert.Contains(t, []string{"", "no"}, s.Restart, "one-shot %s must not restart: its exit code is what others wait for", name)
		assert.False(t, s.healthy(), "one-shot %s: no health check, others wait for its exit", name)
	}
	for _, name := range []string{svcPostgres, svcTemporal} {
		assert.True(t, c.Services[name].healthy(), "service %s has a health check", name)
	}
	// Stopping: the API drains 10 s, then the worker's activities 30 s.
	for _, name := range []string{svcWorker, svcAPI} {
		d, err := time.ParseDuration(c.Services[name].StopGracePeriod)
		if assert.NoError(t, err, "service %s: stop_grace_period", name) {
			assert.GreaterOrEqual(t, d, 40*time.Second, "service %s: give the graceful stop (10 s API + 30 s activities) time before SIGKILL", name)
		}
	}
}

func TestWorkerScales(t *testing.T) {
	c := loadCompose(t)
	w := c.Services[svcWorker]
	assert.Empty(t, w.ContainerName, "worker: no container_name, or --scale worker=N cannot name the copies")
	for _, p := range ports(t, w) {
		assert.Empty(t, p.host, "worker: no host port (%v), or a second copy cannot bind it", p)
	}
	assert.Nil(t, w.Deploy, "worker: no deploy section: --scale decides the replicas")
	assert.Equal(t, []string{"--role", svcWorker}, strings.Fields(words(w.Command)), "worker runs --role worker")
	assert.Equal(t, []string{"--role", svcAPI}, strings.Fields(words(c.Services[svcAPI].Command)), "api runs --role api")
	assert.Empty(t, c.Services[svcAPI].ContainerName, "api: no container_name")
}

func TestCredentialsAgree(t *testing.T) {
	c := loadCompose(t)
	pgEnv := env(t, c.Services[svcPostgres])
	pgPassword := referencedVars(pgEnv["POSTGRES_PASSWORD"])
	require.Len(t, pgPassword, 1, "postgresql: POSTGRES_PASSWORD comes from one .env variable")
	pgUser := pgEnv["POSTGRES_USER"]
	for _, uses := range []struct{ service, user, password string }{
		{svcSchema, "SQL_USER", "SQL_PASSWORD"},
		{svcTemporal, "POSTGRES_USER", "POSTGRES_PWD"},
	} {
		e := env(t, c.Services[uses.service])
		assert.Equal(t, pgUser, e[uses.user], "service %s: %s", uses.service, uses.user)
		assert.Equal(t, pgPassword, referencedVars(e[uses.password]), "service %s: %s is PostgreSQL's password", uses.service, uses.password)
	}

	// The ledger's URL names the role and database postgres-init.sql makes,
	// with the password the init script reads.
	raw := env(t, c.Services[svcWorker])["JOURNEYS_DATABASE_URL"]
	u, err := url.Parse(resolve(raw))
	require.NoError(t, err, "JOURNEYS_DATABASE_URL")
	assert.Equal(t, svcPostgres+":5432", u.Host, "JOURNEYS_DATABASE_URL points at the postgresql service")
	require.NotNil(t, u.User, "JOURNEYS_DATABASE_URL names a user")
	initSQL := readFile(t, "deploy/postgres-init.sql")
	db, user := strings.TrimPrefix(u.Path, "/"), u.User.Username()
	getenv := regexp.MustCompile(`(?m)^\\getenv (\w+) (\w+)$`).FindStringSubmatch(initSQL)
	require.NotNil(t, getenv, "postgres-init.sql reads the password with \\getenv")
	assert.Regexp(t, regexp.MustCompile(`(?m)^CREATE ROLE `+regexp.QuoteMeta(user)+` LOGIN PASSWORD :'`+getenv[1]+`';`), initSQL, "postgres-init.sql creates the URL's role %s with the password it read", user)
	assert.Regexp(t, regexp.MustCompile(`(?m)^CREATE DATABASE `+regexp.QuoteMeta(db)+` OWNER `+regexp.QuoteMeta(user)+`;`), initSQL, "postgres-init.sql creates the URL's database %s, owned by %s", db, user)
	ledgerVar := referencedVars(raw)
	assert.Equal(t, map[string]bool{getenv[2]: true}, referencedVars(pgEnv[getenv[2]]), "postgresql passes %s, which postgres-init.sql reads, from .env", getenv[2])
	assert.Equal(t, referencedVars(pgEnv[getenv[2]]), ledgerVar, "the ledger's URL and postgres-init.sql use the same password variable")
	assert.Equal(t, "disable", u.Query().Get("sslmode"), "the stack's PostgreSQL has no TLS")

	mounted := false
	for _, v := range c.Services[svcPostgres].Volumes {
		if strings.HasPrefix(scalar(v), "./deploy/postgres-init.sql:/docker-entrypoint-initdb.d/") {
			mounted = true
		}
	}
	assert.True(t, mounted, "postgresql mounts deploy/postgres-init.sql into /docker-entrypoint-initdb.d")
}

func TestTemporalDynamicConfigLoads(t *testing.T) {
	c := loadCompose(t)
	temporal := c.Services[svcTemporal]
	want := resolve(env(t, temporal)["DYNAMIC_CONFIG_FILE_PATH"])
	require.True(t, path.IsAbs(want), "temporal: DYNAMIC_CONFIG_FILE_PATH is absolute (the server does not start without the file)")
	var source string
	for _, v := range temporal.Volumes {
		src, rest, _ := strings.Cut(scalar(v), ":")
		if dst, _, _ := strings.Cut(rest, ":"); dst == want {
			source = src
		}
	}
	require.NotEmpty(t, source, "temporal mounts a file at DYNAMIC_CONFIG_FILE_PATH %s", want)
	lr := dynamicconfig.LoadYamlFile([]byte(readFile(t, source)))
	assert.Empty(t, lr.Errors, "%s: the Temporal server's loader reports errors", source)
	assert.Empty(t, lr.Warnings, "%s: the Temporal server's loader reports warnings (an unknown key?)", source)
}

// Dockerfile parsing: enough for FROM, ENV, USER, EXPOSE, RUN.

type instruction struct{ cmd, args string }

type stage struct {
	image, name  string
	instructions []instruction
}

func dockerStages(t *testing.T) []stage {
	t.Helper()
	var stages []stage
	var logical strings.Builder
	flush := func() {
		line := strings.TrimSpace(logical.String())
		logical.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		cmd, args = strings.ToUpper(cmd), strings.TrimSpace(args)
		if cmd == "FROM" {
			fields := strings.Fields(args)
			fields = slices.DeleteFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--") })
			require.NotEmpty(t, fields, "Dockerfile: FROM without an image")
			st := stage{image: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			stages = append(stages, st)
			return
		}
		require.NotEmpty(t, stages, "Dockerfile: %s before the first FROM", cmd)
		last := &stages[len(stages)-1]
		last.instructions = append(last.instructions, instruction{cmd, args})
	}
	for line := range strings.Lines(readFile(t, "Dockerfile")) {
		line = strings.TrimRight(line, "\r\n")
		if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "#") {
			continue
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			logical.WriteString(body + " ")
			continue
		}
		logical.WriteString(line)
		flush()
	}
	flush()
	return stages
}

func dockerExposed(t *testing.T) []string {
	t.Helper()
	stages := dockerStages(t)
	var out []string
	for _, ins := range stages[len(stages)-1].instructions {
		if ins.cmd == "EXPOSE" {
			for _, p := range strings.Fields(ins.args) {
				p, _, _ = strings.Cut(p, "/")
				out = append(out, p)
			}
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	stages := dockerStages(t)
	require.GreaterOrEqual(t, len(stages), 2, "Dockerfile: multi-stage, a Go builder and a small runtime")
	goVersion, _ := goModVersions(t)
	var names []string
	builder := -1
	for i, st := range stages {
		if !slices.Contains(names, st.image) {
			assertPinned(t, st.image, "Dockerfile stage "+strconv.Itoa(i))
		}
		if st.name != "" {
			names = append(names, st.name)
		}
		for _, ins := range st.instructions {
			if ins.cmd == "RUN" && strings.Contains(ins.args, "go build") {
				builder = i
			}
		}
	}
	require.GreaterOrEqual(t, builder, 0, "Dockerfile: no stage runs go build")
	b := stages[builder]
	assert.Regexp(t, regexp.MustCompile(`^golang:`+regexp.QuoteMeta(goVersion)+`-[a-z]`), b.image,
		"Dockerfile: the builder is golang:%s-<distribution>, go.mod's Go version", goVersion)
	var buildEnv, buildRun string
	for _, ins := range b.instructions {
		switch ins.cmd {
		case "ENV", "ARG":
			buildEnv += " " + ins.args
		case "RUN":
			if strings.Contains(ins.args, "go build") {
				buildRun = ins.args
			}
		}
	}
	assert.Contains(t, buildEnv+" "+buildRun, "CGO_ENABLED=0", "Dockerfile: build static binaries (the runtime stage has no glibc)")
	for _, pkg := range []string{"./worker", "./starter"} {
		assert.Contains(t, buildRun, pkg, "Dockerfile: go build %s", pkg)
	}
	assert.Contains(t, buildRun, "--mount=type=cache,target=/go/pkg/mod", "Dockerfile: cache the module download")
	assert.Contains(t, buildRun, "--mount=type=cache,target=/root/.cache/go-build", "Dockerfile: cache the build")

	final := stages[len(stages)-1]
	assert.NotEqual(t, builder, len(stages)-1, "Dockerfile: the final stage is not the builder")
	var user, entrypoint string
	for _, ins := range final.instructions {
		switch ins.cmd {
		case "USER":
			user = ins.args
		case "ENTRYPOINT":
			entrypoint = ins.args
		}
	}
	assert.Regexp(t, regexp.MustCompile(`^[1-9][0-9]*(:[0-9]+)?$`), user,
		"Dockerfile: the final stage runs as a numeric non-root USER (a name cannot be checked for root by Kubernetes' runAsNonRoot)")
	assert.Contains(t, entrypoint, "worker", "Dockerfile: the worker is the entrypoint")
}

// ignoredBy is whether .dockerignore's patterns exclude rel (or a directory
// above it), the last matching pattern winning as in Docker.
func ignoredBy(patterns []string, rel string) bool {
	ignored := false
	for _, p := range patterns {
		negate := strings.HasPrefix(p, "!")
		p = path.Clean(strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/"))
		re := regexp.QuoteMeta(p)
		re = strings.ReplaceAll(re, `\*\*/`, `(.*/)?`)
		re = strings.ReplaceAll(re, `\*\*`, `.*`)
		re = strings.ReplaceAll(re, `\*`, `[^/]*`)
		re = strings.ReplaceAll(re, `\?`, `[^/]`)
		if regexp.MustCompile(`^` + re + `(/.*)?$`).MatchString(rel) {
			ignored = !negate
		}
	}
	return ignored
}

func TestDockerignoreKeepsWhatTheBuildNeeds(t *testing.T) {
	dir := root(t)
	var patterns []string
	for line := range strings.Lines(readFile(t, ".dockerignore")) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	require.True(t, ignoredBy(patterns, ".git/config"), ".dockerignore: leave .git out of the build context")
	require.True(t, ignoredBy(patterns, ".data/temporal.db"), ".dockerignore: leave .data out of the build context")

	// What the build reads: go.mod, go.sum, every non-test Go file, what
	// go:embed directives name, and what the Dockerfile copies from the
	// context (a directory: everything in it).
	need := []string{"go.mod", "go.sum"}
	roots := map[string]bool{}
	for _, st := range dockerStages(t) {
		for _, ins := range st.instructions {
			fields := strings.Fields(ins.args)
			if (ins.cmd != "COPY" && ins.cmd != "ADD") || slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--from=") }) {
				continue
			}
			fields = slices.DeleteFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--") })
			for _, src := range fields[:len(fields)-1] {
				if src = path.Clean(src); src != "." {
					roots[src] = true
				}
			}
		}
	}
	embed := regexp.MustCompile(`(?m)^//go:embed (.+)$`)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		files = append(files, rel)
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		need = append(need, rel)
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range embed.FindAllStringSubmatch(string(src), -1) {
			for _, pattern := range strings.Fields(m[1]) {
				roots[path.Join(path.Dir(rel), strings.Trim(pattern, `"`))] = true
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, roots, "messages/templates", "the go:embed scan found the message templates")
	for _, f := range files {
		for r := range roots {
			if f == r || strings.HasPrefix(f, r+"/") {
				need = append(need, f)
			}
		}
	}
	for _, rel := range need {
		assert.False(t, ignoredBy(patterns, rel), ".dockerignore excludes %s, which the image build needs", rel)
	}
}
