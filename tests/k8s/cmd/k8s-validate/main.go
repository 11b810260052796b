// k8s-validate decodes Kubernetes manifests strictly (package validate): built-in kinds into the k8s.io/api types,
// custom resources against the published CRD schemas loaded with --crds.
//
//	k8s-validate --crds DIR FILE...   (FILE: multi-document YAML, e.g. `kustomize build k8s/overlays/prod`; - = stdin)
//
// Prints one line per bad object and exits 1 if there is any; else a summary of what was checked.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"crm/tests/k8s/validate"
)

func main() {
	crds := flag.String("crds", "", "folder of CustomResourceDefinition YAML files (*.yaml)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: k8s-validate --crds DIR FILE...")
		os.Exit(2)
	}
	v, err := validate.New()
	if err != nil {
		fail(err)
	}
	if *crds != "" {
		files, err := filepath.Glob(filepath.Join(*crds, "*.yaml"))
		if err != nil || len(files) == 0 {
			fail(fmt.Errorf("no CRD files in %s", *crds))
		}
		for _, f := range files {
			if err := v.LoadCRDFile(f); err != nil {
				fail(err)
			}
		}
	}
	bad := 0
	kinds := map[string]int{}
	total := 0
	for _, name := range flag.Args() {
		var data []byte
		if name == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			fail(err)
		}
		objects, problems := v.Validate(data)
		for _, p := range problems {
			fmt.Printf("%s: %v\n", name, p)
			bad++
		}
		for _, o := range objects {
			kinds[o.Kind]++
			total++
		}
	}
	var summary []string
	for k, n := range kinds {
		summary = append(summary, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(summary)
	if bad > 0 {
		fmt.Printf("k8s-validate: %d bad objects (%d valid: %s)\n", bad, total, strings.Join(summary, ", "))
		os.Exit(1)
	}
	fmt.Printf("k8s-validate: %d objects valid: %s\n", total, strings.Join(summary, ", "))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "k8s-validate:", err)
	os.Exit(2)
}
