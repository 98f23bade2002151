// deploycheck k8s [FILE]: decodes every manifest of a multi-document YAML stream (a file argument, or stdin)
// strictly into the Kubernetes API's own Go types (k8s.io/api, and the Prometheus Operator's
// monitoring.coreos.com/v1 types for ServiceMonitor and PodMonitor), as the API server's strict
// field validation does: an unknown or duplicate field, a wrong type, an unparsable quantity or
// an apiVersion/kind the pinned release does not serve is an error. It also checks object names
// and label keys and values with apimachinery's validators. Prints one line per object
// ("ok apps/v1 Deployment spanmeter") and exits 1 after listing every problem.
//
// deploycheck alloy FILE: parses an Alloy configuration with Alloy's own parser
// (github.com/grafana/alloy/syntax) and prints its blocks as JSON (alloy.go), for the tests to
// check what the configuration wires together. Exits 1 on a syntax error.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: deploycheck k8s [FILE] | deploycheck alloy FILE")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "k8s":
		checkK8s(os.Args[2:])
	case "alloy":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: deploycheck alloy FILE")
			os.Exit(2)
		}
		checkAlloy(os.Args[2])
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

func checkK8s(args []string) {
	var in io.Reader = os.Stdin
	if len(args) > 0 {
		f, err := os.Open(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
		monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})

	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	problems := 0
	objects := 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Printf("error reading the stream: %v\n", err)
			os.Exit(1)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		objects++
		obj, gvk, err := strict.Decode(doc, nil, nil)
		if err != nil {
			problems++
			fmt.Printf("error %s: %v\n", firstLine(doc), err)
			continue
		}
		accessor, err := meta.Accessor(obj)
		if err != nil {
			problems++
			fmt.Printf("error %s: %v\n", gvk, err)
			continue
		}
		var errs []string
		for _, msg := range validation.IsDNS1123Subdomain(accessor.GetName()) {
			errs = append(errs, "metadata.name: "+msg)
		}
		if gvk.Kind == "Service" {
			for _, msg := range validation.IsDNS1035Label(accessor.GetName()) {
				errs = append(errs, "metadata.name (a Service): "+msg)
			}
		}
		errs = append(errs, checkLabels("metadata.labels", accessor.GetLabels())...)
		errs = append(errs, checkKind(obj)...)
		if len(errs) > 0 {
			problems++
			fmt.Printf("error %s %s %s: %s\n", gvk.GroupVersion(), gvk.Kind, accessor.GetName(), strings.Join(errs, "; "))
			continue
		}
		fmt.Printf("ok %s %s %s\n", gvk.GroupVersion(), gvk.Kind, accessor.GetName())
	}
	if objects == 0 {
		fmt.Println("error: no objects in the stream")
		os.Exit(1)
	}
	if problems > 0 {
		fmt.Printf("%d of %d objects refused\n", problems, objects)
		os.Exit(1)
	}
}

func checkLabels(where string, labels map[string]string) []string {
	var errs []string
	for k, v := range labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Sprintf("%s key %q: %s", where, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Sprintf("%s[%q] value %q: %s", where, k, v, msg))
		}
	}
	return errs
}

// checkKind: what the API server's validation refuses that decoding alone lets through, for the
// fields a chart gets wrong most easily: pod template labels, container and port names.
func checkKind(obj runtime.Object) []string {
	var errs []string
	var tmpl *corev1.PodTemplateSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		tmpl = &o.Spec.Template
		errs = append(errs, checkSelector("spec.selector", o.Spec.Selector.MatchLabels, tmpl.Labels)...)
	case *appsv1.DaemonSet:
		tmpl = &o.Spec.Template
		errs = append(errs, checkSelector("spec.selector", o.Spec.Selector.MatchLabels, tmpl.Labels)...)
	case *corev1.Service:
		for i, p := range o.Spec.Ports {
			for _, msg := range validation.IsValidPortName(p.Name) {
				errs = append(errs, fmt.Sprintf("spec.ports[%d].name %q: %s", i, p.Name, msg))
			}
		}
	case *corev1.ConfigMap:
		for k := range o.Data {
			for _, msg := range validation.IsConfigMapKey(k) {
				errs = append(errs, fmt.Sprintf("data key %q: %s", k, msg))
			}
		}
	}
	if tmpl != nil {
		errs = append(errs, checkLabels("spec.template.metadata.labels", tmpl.Labels)...)
		for i, c := range tmpl.Spec.Containers {
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				errs = append(errs, fmt.Sprintf("containers[%d].name %q: %s", i, c.Name, msg))
			}
			for j, p := range c.Ports {
				for _, msg := range validation.IsValidPortName(p.Name) {
					errs = append(errs, fmt.Sprintf("containers[%d].ports[%d].name %q: %s", i, j, p.Name, msg))
				}
			}
		}
	}
	return errs
}

func checkSelector(where string, selector, labels map[string]string) []string {
	if len(selector) == 0 {
		return []string{where + ": empty"}
	}
	for k, v := range selector {
		if labels[k] != v {
			return []string{fmt.Sprintf("%s: %s=%s does not select the pod template's labels", where, k, v)}
		}
	}
	return nil
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

func firstLine(doc []byte) string {
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "# Source:") {
			return strings.TrimPrefix(line, "# ")
		}
	}
	return "document"
}
