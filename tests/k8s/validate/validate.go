// Package validate decodes Kubernetes manifests strictly: objects of the built-in API groups into the k8s.io/api types
// with unknown and duplicate fields refused, custom resources against the OpenAPI v3 schema of their
// CustomResourceDefinition (as published by the operator's project), with every object type that has declared
// properties closed (additionalProperties: false) unless the schema preserves unknown fields, as the API server
// prunes them. An object whose kind is neither built in nor described by a loaded CRD is an error.
//
// Not evaluated: CEL rules (x-kubernetes-validations) of the CRDs, and the API server's semantic validation of
// built-in kinds beyond their types (e.g. a Deployment's selector matching its template).
package validate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest: its identity and its content as generic JSON (for the consistency tests).
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Content    map[string]any
}

func (o Object) String() string { return o.Kind + "/" + o.Name }

// Validator knows the built-in kinds and the custom resources of the CRDs loaded into it.
type Validator struct {
	decoder runtime.Decoder
	scheme  *runtime.Scheme
	crds    map[schema.GroupVersionKind]*jsonschema.Schema
	sources map[schema.GroupVersionKind]string
}

// New returns a validator for the built-in API groups the suite's manifests use.
func New() (*Validator, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, autoscalingv2.AddToScheme, rbacv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	return &Validator{
		decoder: codecs.UniversalDeserializer(),
		scheme:  scheme,
		crds:    map[schema.GroupVersionKind]*jsonschema.Schema{},
		sources: map[schema.GroupVersionKind]string{},
	}, nil
}

// Kinds lists the custom resource kinds loaded, with the file each came from.
func (v *Validator) Kinds() []string {
	var out []string
	for gvk, src := range v.sources {
		out = append(out, fmt.Sprintf("%s/%s %s (%s)", gvk.Group, gvk.Version, gvk.Kind, src))
	}
	sort.Strings(out)
	return out
}

// LoadCRDFile adds every version of every CustomResourceDefinition in a YAML file.
func (v *Validator) LoadCRDFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	docs, err := SplitYAML(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	loaded := 0
	for _, doc := range docs {
		var crd struct {
			Kind string `json:"kind"`
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &crd); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, version := range crd.Spec.Versions {
			if version.Schema.OpenAPIV3Schema == nil {
				return fmt.Errorf("%s: %s %s has no openAPIV3Schema", path, crd.Spec.Names.Kind, version.Name)
			}
			gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: version.Name, Kind: crd.Spec.Names.Kind}
			url := fmt.Sprintf("crd:///%s/%s/%s.json", gvk.Group, gvk.Version, gvk.Kind)
			compiler := jsonschema.NewCompiler()
			if err := compiler.AddResource(url, Closed(version.Schema.OpenAPIV3Schema)); err != nil {
				return fmt.Errorf("%s: %s: %w", path, gvk, err)
			}
			compiled, err := compiler.Compile(url)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", path, gvk, err)
			}
			v.crds[gvk] = compiled
			v.sources[gvk] = path
			loaded++
		}
	}
	if loaded == 0 {
		return fmt.Errorf("%s: no CustomResourceDefinition with a schema", path)
	}
	return nil
}

// Closed turns a CRD's structural OpenAPI v3 schema into a JSON Schema that refuses what the API server would
// prune or refuse: unknown properties of object types (unless x-kubernetes-preserve-unknown-fields), null where
// the schema is not nullable; x-kubernetes-int-or-string accepts an integer or a string; an embedded resource
// (x-kubernetes-embedded-resource) may carry apiVersion, kind and metadata.
func Closed(node map[string]any) map[string]any {
	out := map[string]any{}
	for key, value := range node {
		switch key {
		case "properties", "patternProperties":
			props := map[string]any{}
			for name, sub := range value.(map[string]any) {
				props[name] = Closed(sub.(map[string]any))
			}
			out[key] = props
		case "items", "not":
			if sub, ok := value.(map[string]any); ok {
				out[key] = Closed(sub)
			} else {
				out[key] = value
			}
		case "additionalProperties":
			if sub, ok := value.(map[string]any); ok {
				out[key] = Closed(sub)
			} else {
				out[key] = value
			}
		case "allOf", "anyOf", "oneOf":
			var subs []any
			for _, sub := range value.([]any) {
				subs = append(subs, Closed(sub.(map[string]any)))
			}
			out[key] = subs
		case "nullable", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
			"x-kubernetes-embedded-resource", "x-kubernetes-validations", "x-kubernetes-list-type",
			"x-kubernetes-list-map-keys", "x-kubernetes-map-type", "example", "externalDocs":
			// consumed below or annotations only
		default:
			out[key] = value
		}
	}
	if node["x-kubernetes-int-or-string"] == true {
		delete(out, "type")
		out["type"] = []any{"integer", "string"}
	}
	if node["x-kubernetes-embedded-resource"] == true {
		props, _ := out["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		for _, name := range []string{"apiVersion", "kind"} {
			if _, ok := props[name]; !ok {
				props[name] = map[string]any{"type": "string"}
			}
		}
		if _, ok := props["metadata"]; !ok {
			props["metadata"] = map[string]any{"type": "object"}
		}
		out["properties"] = props
	}
	_, hasProps := out["properties"]
	_, hasAdditional := out["additionalProperties"]
	if out["type"] == "object" && hasProps && !hasAdditional && node["x-kubernetes-preserve-unknown-fields"] != true {
		out["additionalProperties"] = false
	}
	if node["nullable"] == true {
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		}
	}
	return out
}

// SplitYAML splits a multi-document YAML stream into its non-empty documents.
func SplitYAML(data []byte) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufioReader(data))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, errEOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

// Validate decodes every document of a YAML stream; it returns the objects and one error per bad object.
func (v *Validator) Validate(data []byte) ([]Object, []error) {
	docs, err := SplitYAML(data)
	if err != nil {
		return nil, []error{err}
	}
	var objects []Object
	var problems []error
	for i, doc := range docs {
		obj, err := v.ValidateDocument(doc)
		if err != nil {
			problems = append(problems, fmt.Errorf("document %d (%s): %w", i+1, obj, err))
			continue
		}
		objects = append(objects, obj)
	}
	return objects, problems
}

// ValidateDocument decodes one YAML document strictly.
func (v *Validator) ValidateDocument(doc []byte) (Object, error) {
	var obj Object
	jsonDoc, err := yaml.YAMLToJSONStrict(doc) // duplicate keys refused
	if err != nil {
		return obj, err
	}
	if err := yaml.Unmarshal(jsonDoc, &obj.Content); err != nil {
		return obj, err
	}
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := yaml.Unmarshal(jsonDoc, &head); err != nil {
		return obj, err
	}
	obj.APIVersion, obj.Kind, obj.Name, obj.Namespace = head.APIVersion, head.Kind, head.Metadata.Name, head.Metadata.Namespace
	if obj.APIVersion == "" || obj.Kind == "" {
		return obj, errors.New("apiVersion and kind are required")
	}
	if obj.Name == "" {
		return obj, errors.New("metadata.name is required")
	}
	gv, err := schema.ParseGroupVersion(obj.APIVersion)
	if err != nil {
		return obj, err
	}
	gvk := gv.WithKind(obj.Kind)
	if v.scheme.Recognizes(gvk) {
		if _, _, err := v.decoder.Decode(jsonDoc, nil, nil); err != nil {
			return obj, err
		}
		return obj, nil
	}
	compiled, ok := v.crds[gvk]
	if !ok {
		return obj, fmt.Errorf("unknown kind %s: neither a built-in type nor a loaded CRD", gvk)
	}
	// metadata is "type: object" in CRD schemas: decode it strictly as the API server does.
	var meta struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	metaJSON, _ := yaml.Marshal(map[string]any{"metadata": obj.Content["metadata"]})
	if err := yaml.UnmarshalStrict(metaJSON, &meta); err != nil {
		return obj, fmt.Errorf("metadata: %w", err)
	}
	instance, err := jsonschema.UnmarshalJSON(bytes.NewReader(jsonDoc))
	if err != nil {
		return obj, err
	}
	if err := compiled.Validate(instance); err != nil {
		return obj, fmt.Errorf("against the %s CRD schema (%s): %s", gvk, v.sources[gvk],
			strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return obj, nil
}
