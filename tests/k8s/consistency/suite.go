// Package consistency checks the Kubernetes overlays against the code: what exists in services/ and proto/, what
// each binary declares in --help, the gateway policy of the local stack. The facts come from the repository and the
// built binaries; the tests in this package fail for a new service until its manifests exist.
package consistency

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"crm/tests/k8s/validate"
)

// Repo is the repository root (this package lives in tests/k8s/consistency).
func Repo() string {
	if r := os.Getenv("CRM_REPO"); r != "" {
		return r
	}
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", "..", ".."))
}

// Names are the gateway and every service with a CMakeLists.txt under services/.
func Names() []string {
	names := []string{"gateway"}
	dirs, _ := filepath.Glob(filepath.Join(Repo(), "services", "*", "CMakeLists.txt"))
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	return names
}

// Services are the names without the gateway.
func Services() []string { return Names()[1:] }

// Binary is the built executable of a name.
func Binary(name string) string {
	build := os.Getenv("CRM_BUILD_DIR")
	if build == "" {
		build = filepath.Join(Repo(), "build")
	}
	if name == "gateway" {
		return filepath.Join(build, "gateway", "crm-gateway")
	}
	return filepath.Join(build, "services", name, "crm-"+name)
}

// Setting is one variable of a binary's --help.
type Setting struct {
	Name     string
	Required bool
	Default  string
}

var helpVar = regexp.MustCompile(`^  (CRM_[A-Z0-9_]+)( \(required\))?$`)

// Help runs `<binary> --help` and returns its settings by name.
func Help(name string) (map[string]Setting, error) {
	out, err := exec.Command(Binary(name), "--help").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --help: %w", Binary(name), err)
	}
	settings := map[string]Setting{}
	var last string
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		line := scanner.Text()
		if m := helpVar.FindStringSubmatch(line); m != nil {
			settings[m[1]] = Setting{Name: m[1], Required: m[2] != ""}
			last = m[1]
		} else if d, ok := strings.CutPrefix(line, "      default: "); ok && last != "" {
			s := settings[last]
			s.Default = d
			settings[last] = s
		}
	}
	if len(settings) == 0 {
		return nil, fmt.Errorf("%s --help declared no CRM_* setting", Binary(name))
	}
	return settings, nil
}

var addrVar = regexp.MustCompile(`^CRM_([A-Z]+)_([A-Z]+)_ADDR$`)

// Calls are the services a service calls over gRPC: its CRM_<SERVICE>_<TARGET>_ADDR settings; the gateway calls
// every routed service.
func Calls(name string, settings map[string]Setting) []string {
	if name == "gateway" {
		return Routed()
	}
	var out []string
	for v := range settings {
		if m := addrVar.FindStringSubmatch(v); m != nil && strings.EqualFold(m[1], name) {
			out = append(out, strings.ToLower(m[2]))
		}
	}
	sort.Strings(out)
	return out
}

var serviceDecl = regexp.MustCompile(`(?m)^service\s+\w+\s*\{`)

// Routed are the services whose gRPC package (proto/crm/<name>/v1) declares a service and which exist in services/.
func Routed() []string {
	var out []string
	for _, name := range Services() {
		protos, _ := filepath.Glob(filepath.Join(Repo(), "proto", "crm", name, "v1", "*.proto"))
		for _, p := range protos {
			data, err := os.ReadFile(p)
			if err == nil && serviceDecl.Match(data) {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Publishers are the services with an events package (proto/crm/<name>/events/v1): each has the topic crm.<name>.v1.
func Publishers() []string {
	var out []string
	for _, name := range Services() {
		if protos, _ := filepath.Glob(filepath.Join(Repo(), "proto", "crm", name, "events", "v1", "*.proto")); len(protos) > 0 {
			out = append(out, name)
		}
	}
	return out
}

// Overlay is one kustomize overlay, built and strictly decoded.
type Overlay struct {
	Name    string
	Objects []validate.Object
}

// Overlays builds every k8s/overlays/* with kustomize ($KUSTOMIZE, else kustomize on PATH) and validates every object
// (CRDs from $CRM_K8S_CRDS). The problems of all overlays are returned together.
func Overlays() ([]Overlay, []string, error) {
	v, err := NewValidator()
	if err != nil {
		return nil, nil, err
	}
	dirs, _ := filepath.Glob(filepath.Join(Repo(), "k8s", "overlays", "*", "kustomization.yaml"))
	if len(dirs) == 0 {
		return nil, nil, fmt.Errorf("no overlays in k8s/overlays")
	}
	kustomize := os.Getenv("KUSTOMIZE")
	if kustomize == "" {
		kustomize = "kustomize"
	}
	var overlays []Overlay
	var problems []string
	for _, k := range dirs {
		dir := filepath.Dir(k)
		out, err := exec.Command(kustomize, "build", dir).Output()
		if err != nil {
			msg := err.Error()
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			return nil, nil, fmt.Errorf("kustomize build %s: %s", dir, msg)
		}
		objects, bad := v.Validate(out)
		for _, b := range bad {
			problems = append(problems, filepath.Base(dir)+": "+b.Error())
		}
		overlays = append(overlays, Overlay{Name: filepath.Base(dir), Objects: objects})
	}
	return overlays, problems, nil
}

// NewValidator loads every CRD of $CRM_K8S_CRDS.
func NewValidator() (*validate.Validator, error) {
	v, err := validate.New()
	if err != nil {
		return nil, err
	}
	dir := os.Getenv("CRM_K8S_CRDS")
	if dir == "" {
		return nil, fmt.Errorf("CRM_K8S_CRDS is not set (tests/k8s/run fetches the CRDs and sets it)")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		return nil, fmt.Errorf("no CRD files in %s", dir)
	}
	for _, f := range files {
		if err := v.LoadCRDFile(f); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Find returns the object of a kind and name.
func (o Overlay) Find(kind, name string) (validate.Object, bool) {
	for _, obj := range o.Objects {
		if obj.Kind == kind && obj.Name == name {
			return obj, true
		}
	}
	return validate.Object{}, false
}

// All returns the objects of a kind.
func (o Overlay) All(kind string) []validate.Object {
	var out []validate.Object
	for _, obj := range o.Objects {
		if obj.Kind == kind {
			out = append(out, obj)
		}
	}
	return out
}

// Get walks a generic JSON value: keys for objects, ints for arrays. Missing: nil.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch key := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[key]
		case int:
			a, ok := v.([]any)
			if !ok || key >= len(a) {
				return nil
			}
			v = a[key]
		}
	}
	return v
}

// Str is Get as a string ("" when absent).
func Str(v any, path ...any) string {
	s, _ := Get(v, path...).(string)
	return s
}

// List is Get as a list.
func List(v any, path ...any) []any {
	l, _ := Get(v, path...).([]any)
	return l
}
