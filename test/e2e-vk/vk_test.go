// virtual-kubelet's importable end-to-end suite (v1.14.1), run against one virtual node of
// eci-virtual-node. run.ts starts the control plane, the simulator and the provider, then runs
// `go test` here with the flags below.
package e2evk

import (
	"flag"
	"testing"
	"time"

	vke2e "github.com/virtual-kubelet/virtual-kubelet/test/e2e"
)

var (
	kubeconfig   = flag.String("kubeconfig", "", "kubeconfig of the cluster the virtual node is in")
	namespace    = flag.String("namespace", "", "namespace the suite creates its pods in (must exist)")
	nodeName     = flag.String("node-name", "", "the virtual node under test")
	watchTimeout = flag.Duration("watch-timeout", 2*time.Minute, "how long each watch waits for its condition")
)

func TestEndToEnd(t *testing.T) {
	if *nodeName == "" || *namespace == "" || *kubeconfig == "" {
		t.Fatal("-kubeconfig, -namespace and -node-name are required (npm run e2e:vk sets them)")
	}
	suite := vke2e.NewEndToEndTestSuite(vke2e.EndToEndTestSuiteConfig{
		Kubeconfig:   *kubeconfig,
		Namespace:    *namespace,
		NodeName:     *nodeName,
		WatchTimeout: *watchTimeout,
	})
	suite.Run(t)
}
