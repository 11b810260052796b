package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func validator(t *testing.T) *Validator {
	t.Helper()
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CRM_K8S_CRDS")
	if dir == "" {
		t.Fatal("CRM_K8S_CRDS is not set (tests/k8s/run fetches the CRDs)")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if err := v.LoadCRDFile(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []string{"KafkaTopic", "Cluster", "PrometheusRule", "ServiceMonitor"} {
		found := false
		for _, k := range v.Kinds() {
			found = found || strings.Contains(k, " "+kind+" ")
		}
		if !found {
			t.Fatalf("no CRD for %s in %s", kind, dir)
		}
	}
	return v
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - name: x
          image: crm/x:1
          readinessProbe: {grpc: {port: 50051}}
`

const kafkaTopic = `apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaTopic
metadata: {name: t, labels: {strimzi.io/cluster: c}}
spec: {topicName: crm.x.v1, partitions: 3, replicas: 3, config: {retention.ms: -1}}
`

const cluster = `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: x-db}
spec:
  instances: 3
  storage: {size: 1Gi}
  bootstrap: {initdb: {database: x, owner: x_owner, secret: {name: x-db-owner}}}
  managed: {roles: [{name: x_app, ensure: present, login: true, passwordSecret: {name: x-db-app}}]}
`

const prometheusRule = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: r}
spec:
  groups:
    - name: g
      rules:
        - alert: A
          expr: up == 0
          for: 5m
          labels: {severity: page}
          annotations: {summary: s}
`

const serviceMonitor = `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: m}
spec:
  selector: {matchLabels: {app.kubernetes.io/part-of: crm}}
  endpoints: [{port: metrics, interval: 30s}]
`

func TestValidObjectsPass(t *testing.T) {
	v := validator(t)
	for _, doc := range []string{deployment, kafkaTopic, cluster, prometheusRule, serviceMonitor} {
		if _, err := v.ValidateDocument([]byte(doc)); err != nil {
			t.Errorf("valid object refused: %v\n%s", err, doc)
		}
	}
}

// Each mistake must be refused, and the message must name what is wrong.
func TestMistakesAreRefused(t *testing.T) {
	v := validator(t)
	cases := []struct{ name, doc, want string }{
		{"unknown field of a container", strings.Replace(deployment, "image: crm/x:1", "image: crm/x:1\n          imagePullPolicyy: Always", 1), "imagePullPolicyy"},
		{"wrong type", strings.Replace(deployment, "port: 50051", "port: [1]", 1), "port"},
		{"duplicate key", strings.Replace(deployment, "metadata: {name: x}", "metadata: {name: x, name: y}", 1), "name"},
		{"unknown kind", strings.Replace(deployment, "kind: Deployment", "kind: Deploymentt", 1), "Deploymentt"},
		{"unknown version", strings.Replace(deployment, "apps/v1", "apps/v2", 1), "apps/v2"},
		{"no name", strings.Replace(deployment, "metadata: {name: x}", "metadata: {}", 1), "metadata.name"},
		{"KafkaTopic unknown field", strings.Replace(kafkaTopic, "partitions: 3", "partitionz: 3", 1), "partitionz"},
		{"KafkaTopic wrong type", strings.Replace(kafkaTopic, "replicas: 3", "replicas: three", 1), "replicas"},
		{"KafkaTopic metadata unknown field", strings.Replace(kafkaTopic, "metadata: {name: t,", "metadata: {name: t, label: {}, ", 1), "label"},
		{"Cluster unknown field", strings.Replace(cluster, "instances: 3", "instance: 3", 1), "instance"},
		{"Cluster unknown nested field", strings.Replace(cluster, "owner: x_owner", "ownr: x_owner", 1), "ownr"},
		{"Cluster bad enum", strings.Replace(cluster, "ensure: present", "ensure: maybe", 1), "ensure"},
		{"PrometheusRule unknown field", strings.Replace(prometheusRule, "for: 5m", "for: 5m\n          severity: page", 1), "severity"},
		{"PrometheusRule bad duration", strings.Replace(prometheusRule, "for: 5m", "for: five minutes", 1), "for"},
		{"ServiceMonitor unknown field", strings.Replace(serviceMonitor, "interval: 30s", "intervall: 30s", 1), "intervall"},
	}
	for _, c := range cases {
		if c.doc == deployment || c.doc == kafkaTopic || c.doc == cluster || c.doc == prometheusRule || c.doc == serviceMonitor {
			t.Fatalf("%s: the case did not change the document", c.name)
		}
		_, err := v.ValidateDocument([]byte(c.doc))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error does not name %q: %v", c.name, c.want, err)
		}
	}
}

func TestClosedKeepsOpenObjectsOpen(t *testing.T) {
	s := Closed(map[string]any{"type": "object", "properties": map[string]any{
		"config":   map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true},
		"labels":   map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
		"port":     map[string]any{"x-kubernetes-int-or-string": true},
		"optional": map[string]any{"type": "string", "nullable": true},
	}})
	if s["additionalProperties"] != false {
		t.Error("an object with properties must be closed")
	}
	props := s["properties"].(map[string]any)
	if _, ok := props["config"].(map[string]any)["additionalProperties"]; ok {
		t.Error("x-kubernetes-preserve-unknown-fields must stay open")
	}
	if props["labels"].(map[string]any)["additionalProperties"].(map[string]any)["type"] != "string" {
		t.Error("a map's value schema must be kept")
	}
	if len(props["port"].(map[string]any)["type"].([]any)) != 2 {
		t.Error("int-or-string must accept both")
	}
	if len(props["optional"].(map[string]any)["type"].([]any)) != 2 {
		t.Error("nullable must accept null")
	}
}
