package consistency

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"crm/tests/k8s/validate"
)

var (
	once     sync.Once
	overlays []Overlay
	problems []string
	buildErr error
	helps    = map[string]map[string]Setting{}
)

func load(t *testing.T) []Overlay {
	t.Helper()
	once.Do(func() {
		overlays, problems, buildErr = Overlays()
		for _, name := range Names() {
			h, err := Help(name)
			if err != nil && buildErr == nil {
				buildErr = err
			}
			helps[name] = h
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return overlays
}

func container(deploy validate.Object, name string) map[string]any {
	for _, c := range List(deploy.Content, "spec", "template", "spec", "containers") {
		if Str(c, "name") == name {
			return c.(map[string]any)
		}
	}
	return nil
}

func envOf(c any) map[string]any {
	out := map[string]any{}
	for _, e := range List(c, "env") {
		out[Str(e, "name")] = e
	}
	return out
}

func port(c any, name string) int {
	for _, p := range List(c, "ports") {
		if Str(p, "name") == name {
			return int(Get(p, "containerPort").(float64))
		}
	}
	return 0
}

// Every object of every overlay decodes strictly: built-in kinds into the Kubernetes API types, custom resources
// against their CRDs' published schemas.
func TestOverlaysDecodeStrictly(t *testing.T) {
	all := load(t)
	for _, p := range problems {
		t.Error(p)
	}
	for _, o := range all {
		kinds := map[string]int{}
		for _, obj := range o.Objects {
			kinds[obj.Kind]++
		}
		t.Logf("%s: %d objects %v", o.Name, len(o.Objects), kinds)
	}
	if len(all) < 2 {
		t.Errorf("overlays dev and prod expected, got %d", len(all))
	}
}

// The gateway and every service have, in every overlay: a Deployment of their image (crm/<name>) with a migration init
// container, gRPC probes and the restricted security context; a Service; a ServiceAccount without token; a PDB;
// their NetworkPolicy; their CloudNativePG Cluster; in an overlay with autoscaling, an HPA.
func TestEveryNameIsDeployed(t *testing.T) {
	for _, o := range load(t) {
		autoscaled := len(o.All("HorizontalPodAutoscaler")) > 0
		for _, name := range Names() {
			where := o.Name + ": " + name
			if _, err := os.Stat(Binary(name)); err != nil {
				t.Errorf("%s: no binary %s: the image is made from it", where, Binary(name))
			}
			deploy, ok := o.Find("Deployment", name)
			if !ok {
				t.Errorf("%s: no Deployment", where)
				continue
			}
			c := container(deploy, name)
			if c == nil {
				t.Errorf("%s: no container named %s", where, name)
				continue
			}
			image := Str(c, "image")
			if !strings.Contains(image, "crm/"+name+":") && !strings.HasSuffix(image, "crm/"+name) {
				t.Errorf("%s: image %q is not crm/%s", where, image, name)
			}
			inits := List(deploy.Content, "spec", "template", "spec", "initContainers")
			if len(inits) != 1 || Str(inits[0], "image") != image ||
				!reflect.DeepEqual(List(inits[0], "args"), []any{"--migrate-only"}) {
				t.Errorf("%s: expected one init container running %s --migrate-only", where, image)
			}
			grpc := port(c, "grpc")
			for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
				if p, _ := Get(c, probe, "grpc", "port").(float64); int(p) != grpc || grpc == 0 {
					t.Errorf("%s: %s is not a gRPC probe of the grpc port %d", where, probe, grpc)
				}
			}
			pod := Get(deploy.Content, "spec", "template", "spec")
			if Get(pod, "automountServiceAccountToken") != false || Str(pod, "serviceAccountName") != name {
				t.Errorf("%s: pod must run as ServiceAccount %s without a token", where, name)
			}
			if Get(pod, "securityContext", "runAsNonRoot") != true ||
				Str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
				t.Errorf("%s: pod securityContext must be runAsNonRoot with seccomp RuntimeDefault", where)
			}
			for _, ctr := range append(List(pod, "containers"), inits...) {
				sc := Get(ctr, "securityContext")
				if Get(sc, "readOnlyRootFilesystem") != true || Get(sc, "allowPrivilegeEscalation") != false ||
					!reflect.DeepEqual(List(sc, "capabilities", "drop"), []any{"ALL"}) {
					t.Errorf("%s: container %s: read-only root, no privilege escalation, all capabilities dropped",
						where, Str(ctr, "name"))
				}
				if Get(ctr, "resources", "requests", "cpu") == nil || Get(ctr, "resources", "limits", "memory") == nil {
					t.Errorf("%s: container %s: CPU request and memory limit required", where, Str(ctr, "name"))
				}
			}
			if len(List(pod, "topologySpreadConstraints")) == 0 {
				t.Errorf("%s: no topology spread", where)
			}
			if sa, ok := o.Find("ServiceAccount", name); !ok || Get(sa.Content, "automountServiceAccountToken") != false {
				t.Errorf("%s: ServiceAccount %s with automountServiceAccountToken: false required", where, name)
			}
			svc, ok := o.Find("Service", name)
			if !ok {
				t.Errorf("%s: no Service", where)
			} else {
				found := false
				for _, p := range List(svc.Content, "spec", "ports") {
					if Str(p, "name") == "grpc" && int(Get(p, "port").(float64)) == grpc {
						found = true
					}
				}
				if !found || Str(svc.Content, "spec", "selector", "app.kubernetes.io/name") != name {
					t.Errorf("%s: Service must select the pods and expose grpc port %d", where, grpc)
				}
			}
			if pdb, ok := o.Find("PodDisruptionBudget", name); !ok ||
				Str(pdb.Content, "spec", "selector", "matchLabels", "app.kubernetes.io/name") != name {
				t.Errorf("%s: no PodDisruptionBudget selecting the pods", where)
			}
			if _, ok := o.Find("NetworkPolicy", name); !ok {
				t.Errorf("%s: no NetworkPolicy", where)
			}
			if _, ok := o.Find("Cluster", name+"-db"); !ok {
				t.Errorf("%s: no CloudNativePG Cluster %s-db", where, name)
			}
			if autoscaled {
				hpa, ok := o.Find("HorizontalPodAutoscaler", name)
				if !ok || Str(hpa.Content, "spec", "scaleTargetRef", "name") != name {
					t.Errorf("%s: no HorizontalPodAutoscaler for the Deployment", where)
				} else if Get(deploy.Content, "spec", "replicas") != nil {
					t.Errorf("%s: an autoscaled Deployment must leave replicas to the HPA", where)
				}
			}
		}
	}
}

// Every gRPC package of proto/ whose service exists is routed by the gateway to that service's Service and port,
// in every overlay, and nothing else is.
func TestGatewayRoutesEveryService(t *testing.T) {
	want := map[string]string{}
	for _, o := range load(t) {
		for _, name := range Routed() {
			d, ok := o.Find("Deployment", name)
			if !ok {
				continue // reported by TestEveryNameIsDeployed
			}
			want["crm."+name+".v1"] = fmt.Sprintf("%s:%d", name, port(container(d, name), "grpc"))
		}
		gw, ok := o.Find("Deployment", "gateway")
		if !ok {
			t.Fatalf("%s: no gateway Deployment", o.Name)
		}
		containers := append(List(gw.Content, "spec", "template", "spec", "containers"),
			List(gw.Content, "spec", "template", "spec", "initContainers")...)
		for _, c := range containers {
			routes := Str(envOf(c)["CRM_ROUTES"], "value")
			got := map[string]string{}
			for _, r := range strings.Split(routes, ",") {
				if pkg, target, ok := strings.Cut(strings.TrimSpace(r), "="); ok {
					got[pkg] = target
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: gateway container %s: CRM_ROUTES\n got %v\nwant %v", o.Name, Str(c, "name"), got, want)
			}
		}
		if http := Str(envOf(container(gw, "gateway"))["CRM_HTTP_LISTEN"], "value"); !strings.HasPrefix(http, "0.0.0.0:") {
			t.Errorf("%s: CRM_HTTP_LISTEN=%q: HTTP/JSON must listen on every interface of the pod", o.Name, http)
		}
	}
}

// The gateway's policy ConfigMap holds the roles and public tokens of deploy/local/gateway-policy.json (k8s/base/
// gateway-policy.json is generated from it by tests/k8s/policy.py) and the gateway mounts it.
func TestGatewayPolicyIsTheLocalOne(t *testing.T) {
	var local map[string]any
	data, err := os.ReadFile(filepath.Join(Repo(), "deploy", "local", "gateway-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &local); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(Repo(), "k8s", "base", "gateway-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range load(t) {
		var cm validate.Object
		for _, c := range o.All("ConfigMap") {
			if strings.HasPrefix(c.Name, "gateway-policy") {
				cm = c
			}
		}
		text := Str(cm.Content, "data", "policy.json")
		if text == "" {
			t.Errorf("%s: no ConfigMap gateway-policy with policy.json", o.Name)
			continue
		}
		if text != string(committed) {
			t.Errorf("%s: the ConfigMap is not k8s/base/gateway-policy.json", o.Name)
		}
		var policy map[string]any
		if err := json.Unmarshal([]byte(text), &policy); err != nil {
			t.Fatalf("%s: policy.json: %v", o.Name, err)
		}
		for key, value := range local {
			if key == "description" || key == "rate_limits" {
				continue
			}
			if !reflect.DeepEqual(policy[key], value) {
				t.Errorf("%s: policy %q differs from deploy/local/gateway-policy.json (run tests/k8s/policy.py --write)",
					o.Name, key)
			}
		}
		gw, _ := o.Find("Deployment", "gateway")
		mounted := ""
		for _, v := range List(gw.Content, "spec", "template", "spec", "volumes") {
			if Str(v, "name") == "policy" {
				mounted = Str(v, "configMap", "name")
			}
		}
		if mounted != cm.Name {
			t.Errorf("%s: the gateway mounts ConfigMap %q, not %q", o.Name, mounted, cm.Name)
		}
	}
}

// Every environment variable a Deployment sets is declared by that binary's --help, and every required one is set.
func TestEnvNamesAreDeclared(t *testing.T) {
	for _, o := range load(t) {
		for _, name := range Names() {
			d, ok := o.Find("Deployment", name)
			help := helps[name]
			if !ok || help == nil {
				continue
			}
			pod := Get(d.Content, "spec", "template", "spec")
			for _, c := range append(List(pod, "containers"), List(pod, "initContainers")...) {
				env := envOf(c)
				for v := range env {
					if _, declared := help[v]; !declared {
						t.Errorf("%s: %s container %s sets %s, which `crm-%s --help` does not declare",
							o.Name, name, Str(c, "name"), v, name)
					}
				}
				for v, s := range help {
					if _, set := env[v]; s.Required && !set && s.Default == "" {
						t.Errorf("%s: %s container %s does not set the required %s", o.Name, name, Str(c, "name"), v)
					}
				}
			}
		}
	}
}

// Every service that declares CRM_PRIVACY_KEYS (the master keys of crypto-shredding) takes it, in every container, from
// the Secret crm-privacy-keys (key keys, optional: false): inlined keys or a forgotten container would be a leak or a
// service that cannot open its data.
func TestPrivacyKeysFromTheSecret(t *testing.T) {
	for _, o := range load(t) {
		for _, name := range Names() {
			d, ok := o.Find("Deployment", name)
			if _, declared := helps[name]["CRM_PRIVACY_KEYS"]; !ok || !declared {
				continue
			}
			pod := Get(d.Content, "spec", "template", "spec")
			for _, c := range append(List(pod, "containers"), List(pod, "initContainers")...) {
				ref := Get(envOf(c)["CRM_PRIVACY_KEYS"], "valueFrom", "secretKeyRef")
				if Str(ref, "name") != "crm-privacy-keys" || Str(ref, "key") != "keys" || Get(ref, "optional") != false {
					t.Errorf("%s: %s container %s: CRM_PRIVACY_KEYS must come from secretKeyRef {name: crm-privacy-keys, "+
						"key: keys, optional: false}, got %v", o.Name, name, Str(c, "name"), envOf(c)["CRM_PRIVACY_KEYS"])
				}
			}
		}
	}
}

type peerSet map[string]int // app name -> port

// podPeers are the rules' peers selected by app.kubernetes.io/name alone (pods of this namespace), with the ports.
func podPeers(rules []any, key string) peerSet {
	out := peerSet{}
	for _, r := range rules {
		for _, peer := range List(r, key) {
			if Get(peer, "namespaceSelector") != nil || Get(peer, "ipBlock") != nil {
				continue
			}
			app := Str(peer, "podSelector", "matchLabels", "app.kubernetes.io/name")
			if app == "" {
				continue
			}
			for _, p := range List(r, "ports") {
				out[app] = int(Get(p, "port").(float64))
			}
		}
	}
	return out
}

// The NetworkPolicies allow exactly the calls the code makes: a service takes gRPC from the gateway and from the
// services whose CRM_<SERVICE>_<TARGET>_ADDR setting names it, on its gRPC port, and from nothing else of the
// namespace; a caller's egress reaches exactly its targets' gRPC ports; each reaches its own database only; the
// namespace denies by default.
func TestNetworkPoliciesAllowExactlyTheCalls(t *testing.T) {
	for _, o := range load(t) {
		deny, ok := o.Find("NetworkPolicy", "default-deny")
		if !ok || len(Get(deny.Content, "spec", "podSelector").(map[string]any)) != 0 ||
			!reflect.DeepEqual(List(deny.Content, "spec", "policyTypes"), []any{"Ingress", "Egress"}) {
			t.Errorf("%s: NetworkPolicy default-deny must select every pod for Ingress and Egress", o.Name)
		}
		grpcPort := map[string]int{}
		for _, name := range Names() {
			if d, ok := o.Find("Deployment", name); ok {
				grpcPort[name] = port(container(d, name), "grpc")
			}
		}
		callers := map[string][]string{}
		for _, name := range Names() {
			for _, target := range Calls(name, helps[name]) {
				callers[target] = append(callers[target], name)
			}
		}
		for _, name := range Names() {
			np, ok := o.Find("NetworkPolicy", name)
			if !ok {
				continue // reported by TestEveryNameIsDeployed
			}
			if Str(np.Content, "spec", "podSelector", "matchLabels", "app.kubernetes.io/name") != name {
				t.Errorf("%s: NetworkPolicy %s must select the pods of %s", o.Name, name, name)
			}
			wantIn := peerSet{}
			for _, c := range callers[name] {
				wantIn[c] = grpcPort[name]
			}
			if gotIn := podPeers(List(np.Content, "spec", "ingress"), "from"); !reflect.DeepEqual(gotIn, wantIn) {
				t.Errorf("%s: %s takes gRPC from %v, the code calls it from %v", o.Name, name, gotIn, wantIn)
			}
			wantOut := peerSet{}
			for _, target := range Calls(name, helps[name]) {
				wantOut[target] = grpcPort[target]
			}
			if gotOut := podPeers(List(np.Content, "spec", "egress"), "to"); !reflect.DeepEqual(gotOut, wantOut) {
				t.Errorf("%s: %s may call %v, the code calls %v", o.Name, name, gotOut, wantOut)
			}
			var dbs []string
			for _, r := range List(np.Content, "spec", "egress") {
				for _, peer := range List(r, "to") {
					if c := Str(peer, "podSelector", "matchLabels", "cnpg.io/cluster"); c != "" {
						dbs = append(dbs, c)
					}
				}
			}
			if !reflect.DeepEqual(dbs, []string{name + "-db"}) {
				t.Errorf("%s: %s may reach databases %v, expected only %s-db", o.Name, name, dbs, name)
			}
			// The address settings point at the Services the policy opens.
			d, _ := o.Find("Deployment", name)
			env := envOf(container(d, name))
			for _, target := range Calls(name, helps[name]) {
				if name == "gateway" {
					continue
				}
				v := fmt.Sprintf("CRM_%s_%s_ADDR", strings.ToUpper(name), strings.ToUpper(target))
				if want := fmt.Sprintf("%s:%d", target, grpcPort[target]); Str(env[v], "value") != want {
					t.Errorf("%s: %s: %s=%q, expected %q", o.Name, name, v, Str(env[v], "value"), want)
				}
			}
		}
	}
}

// egressKinds classifies the egress rules of a NetworkPolicy other than gRPC to pods of the namespace and PostgreSQL
// (checked above): "kafka" (Strimzi's brokers, 9092), "redis" (the namespace redis, 6379), "smtp" (25, 465, 587),
// "https" (443 outside the cluster: the identity providers' JWKS). A rule of none of these kinds is "unknown <rule>".
func egressKinds(np validate.Object) map[string]bool {
	out := map[string]bool{}
	for _, r := range List(np.Content, "spec", "egress") {
		ports := map[int]bool{}
		for _, p := range List(r, "ports") {
			if n, ok := Get(p, "port").(float64); ok {
				ports[int(n)] = true
			}
		}
		known := false
		for _, peer := range List(r, "to") {
			switch {
			case Str(peer, "podSelector", "matchLabels", "app.kubernetes.io/name") != "",
				Str(peer, "podSelector", "matchLabels", "cnpg.io/cluster") != "":
				known = true
			case Str(peer, "podSelector", "matchLabels", "strimzi.io/cluster") != "" || ports[9092]:
				out["kafka"], known = true, true
			case Str(peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "redis" || ports[6379]:
				out["redis"], known = true, true
			case Get(peer, "ipBlock") != nil && (ports[25] || ports[465] || ports[587]):
				out["smtp"], known = true, true
			case Get(peer, "ipBlock") != nil && ports[443]:
				out["https"], known = true, true
			}
		}
		if !known {
			out[fmt.Sprintf("unknown %v", r)] = true
		}
	}
	return out
}

// egressWanted is what a component's --help says it connects to besides gRPC and its database: Kafka when it declares
// CRM_KAFKA_BROKERS (the services publish through their outbox and consume; the gateway uses no Kafka), Redis when it
// declares a CRM_REDIS_* setting (the gateway), an SMTP relay when it declares a *_SMTP_URL (marketing, support),
// HTTPS when it declares CRM_JWT_ISSUERS (JWKS of the identity providers: the gateway).
func egressWanted(help map[string]Setting) map[string]bool {
	out := map[string]bool{}
	for v := range help {
		switch {
		case v == "CRM_KAFKA_BROKERS":
			out["kafka"] = true
		case strings.HasPrefix(v, "CRM_REDIS_"):
			out["redis"] = true
		case strings.HasSuffix(v, "_SMTP_URL") || strings.HasSuffix(v, "_SMTP_HOST"):
			out["smtp"] = true
		case v == "CRM_JWT_ISSUERS":
			out["https"] = true
		}
	}
	return out
}

// Each NetworkPolicy lets its pods reach Kafka, Redis, an SMTP relay and HTTPS exactly when the binary's --help
// declares the setting for it; and a service that publishes events (an events package) or consumes a topic declares
// CRM_KAFKA_BROKERS.
func TestNetworkPoliciesAllowExactlyTheEgress(t *testing.T) {
	for _, o := range load(t) {
		for _, name := range Names() {
			np, ok := o.Find("NetworkPolicy", name)
			help := helps[name]
			if !ok || help == nil {
				continue // reported by TestEveryNameIsDeployed / load
			}
			want, got := egressWanted(help), egressKinds(np)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: NetworkPolicy %s allows egress to %v; its --help says it needs %v", o.Name, name,
					keys(got), keys(want))
			}
		}
	}
	for _, name := range Services() {
		help := helps[name]
		if help == nil {
			continue
		}
		_, kafka := help["CRM_KAFKA_BROKERS"]
		consumes := false
		for v := range help {
			consumes = consumes || strings.HasSuffix(v, "_TOPIC") || strings.HasSuffix(v, "_TOPICS")
		}
		if (slices.Contains(Publishers(), name) || consumes) && !kafka {
			t.Errorf("%s publishes or consumes events but its --help declares no CRM_KAFKA_BROKERS", name)
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var callPair = regexp.MustCompile(`([a-z]+)→([a-z]+)`)

// docs/operations.md names the calls between services that the NetworkPolicies allow, after "from the services that
// call it (": exactly the calls the code makes (the CRM_<SERVICE>_<TARGET>_ADDR settings).
func TestOperationsDocNamesTheCalls(t *testing.T) {
	load(t)
	data, err := os.ReadFile(filepath.Join(Repo(), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "from the services that call it ("
	text := strings.Join(strings.Fields(string(data)), " ")
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("docs/operations.md: no %q listing the calls between services", marker)
	}
	list := text[i+len(marker):]
	list = list[:strings.Index(list+")", ")")]
	var got, want []string
	for _, m := range callPair.FindAllStringSubmatch(list, -1) {
		got = append(got, m[1]+"→"+m[2])
	}
	for _, name := range Services() {
		for _, target := range Calls(name, helps[name]) {
			want = append(want, name+"→"+target)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("docs/operations.md lists the calls %v; the code (--help) makes %v", got, want)
	}
}

// Each service that publishes events has its topic; each topic a service consumes has its dead-letter topic.
func TestKafkaTopics(t *testing.T) {
	for _, o := range load(t) {
		topics := map[string]bool{}
		for _, kt := range o.All("KafkaTopic") {
			topics[Str(kt.Content, "spec", "topicName")] = true
		}
		var want []string
		for _, name := range Publishers() {
			want = append(want, "crm."+name+".v1")
		}
		for _, name := range Services() {
			d, _ := o.Find("Deployment", name)
			env := envOf(container(d, name))
			for v, s := range helps[name] {
				if !strings.HasSuffix(v, "_TOPICS") && !strings.HasSuffix(v, "_TOPIC") {
					continue
				}
				value := s.Default
				if e, ok := env[v]; ok {
					value = Str(e, "value")
				}
				for _, topic := range strings.Split(value, ",") {
					if topic = strings.TrimSpace(topic); topic != "" {
						want = append(want, topic, topic+".dlq")
					}
				}
			}
		}
		sort.Strings(want)
		want = slices.Compact(want)
		for _, topic := range want {
			if !topics[topic] {
				t.Errorf("%s: no KafkaTopic for %s", o.Name, topic)
			}
		}
	}
}

// Each ServiceMonitor (k8s/base/monitoring) selects Services of the suite by their labels and scrapes a port they
// have, and the NetworkPolicy of those pods lets the namespace monitoring reach that port.
func TestServiceMonitorsReachTheServices(t *testing.T) {
	for _, o := range load(t) {
		for _, sm := range o.All("ServiceMonitor") {
			selector, _ := Get(sm.Content, "spec", "selector", "matchLabels").(map[string]any)
			if len(selector) == 0 {
				t.Errorf("%s: ServiceMonitor %s: selector.matchLabels required", o.Name, sm.Name)
				continue
			}
			var matched []validate.Object
			for _, svc := range o.All("Service") {
				labels, _ := Get(svc.Content, "metadata", "labels").(map[string]any)
				ok := true
				for k, v := range selector {
					ok = ok && labels[k] == v
				}
				if ok {
					matched = append(matched, svc)
				}
			}
			if len(matched) == 0 {
				t.Errorf("%s: ServiceMonitor %s selects no Service (%v)", o.Name, sm.Name, selector)
			}
			for _, ep := range List(sm.Content, "spec", "endpoints") {
				name := Str(ep, "port")
				for _, svc := range matched {
					number := 0
					for _, p := range List(svc.Content, "spec", "ports") {
						if Str(p, "name") == name {
							number = int(Get(p, "port").(float64))
						}
					}
					if number == 0 {
						t.Errorf("%s: ServiceMonitor %s scrapes port %q, which Service %s does not have",
							o.Name, sm.Name, name, svc.Name)
						continue
					}
					np, _ := o.Find("NetworkPolicy", svc.Name)
					open := false
					for _, r := range List(np.Content, "spec", "ingress") {
						for _, peer := range List(r, "from") {
							if Str(peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != "monitoring" {
								continue
							}
							for _, p := range List(r, "ports") {
								open = open || int(Get(p, "port").(float64)) == number
							}
						}
					}
					if !open {
						t.Errorf("%s: NetworkPolicy %s does not open port %d to the namespace monitoring", o.Name,
							svc.Name, number)
					}
				}
			}
		}
	}
}
