// Conformance of the cloud simulator with a second official SDK: the Go
// github.com/aliyun/alibaba-cloud-sdk-go (old RPC signature, its own models), which the
// provider does not use. It drives CreateContainerGroup, DescribeContainerGroups,
// DescribeContainerGroupStatus, DescribeMultiContainerGroupMetric, DeleteContainerGroup and VPC
// DescribeVSwitches against a running simulator and checks every answer twice: the SDK's own
// parse, and a strict decode of the raw body into the SDK's response type (encoding/json with
// DisallowUnknownFields: a field the SDK does not know, or a value of the wrong JSON type, fails).
//
// Usage: conformance-go -endpoint 127.0.0.1:PORT -region R -ak ID -secret S -vswitch V -sg G
// Prints `PASS <check>` / `FAIL <check>: <why>` lines and `N passed, N failed`; exit 1 on a failure.
package main

import (
	"bytes"
	"encoding/json"
	stderrors "errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
)

var passed, failed int

func check(name string, err error) bool {
	if err != nil {
		failed++
		fmt.Printf("FAIL %s: %v\n", name, err)
		return false
	}
	passed++
	fmt.Printf("PASS %s\n", name)
	return true
}

// strict decodes raw into a fresh value of the SDK's response type: every JSON value must have
// the type of its field (encoding/json, no fuzzy decoding), and every field must be one the
// type knows (all of them are listed, not only the first), but for the fields in `newerThanSDK`.
func strict(raw []byte, into any) error {
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("decode into %T: %w (body: %.300s)", into, err, raw)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	var unknown []string
	walk(doc, reflect.TypeOf(into), "", &unknown)
	if len(unknown) > 0 {
		return fmt.Errorf("fields %T does not know: %s", into, strings.Join(unknown, ", "))
	}
	return nil
}

// newerThanSDK: fields of the simulator's answers that the TypeScript SDK models (the simulator
// follows @alicloud/eci20180808 2.x, dist/client.d.ts) and this Go SDK version's models do not
// have. Each was checked in that file; anything else unknown fails.
var newerThanSDK = map[string]bool{
	// DescribeContainerGroupsResponseBodyContainerGroups.spotStrategy
	"ContainerGroups[].SpotStrategy": true,
	// DescribeMultiContainerGroupMetricResponseBodyMonitorDatasRecords.disk / .filesystem
	"MonitorDatas[].Records[].Disk":       true,
	"MonitorDatas[].Records[].Filesystem": true,
	// ...RecordsNetworkInterfaces.rxPackets, rxDrops, txPackets, txDrops
	"MonitorDatas[].Records[].Network.Interfaces[].RxPackets": true,
	"MonitorDatas[].Records[].Network.Interfaces[].RxDrops":   true,
	"MonitorDatas[].Records[].Network.Interfaces[].TxPackets": true,
	"MonitorDatas[].Records[].Network.Interfaces[].TxDrops":   true,
}

func walk(v any, t reflect.Type, path string, unknown *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := v.(type) {
	case map[string]any:
		if t.Kind() == reflect.Map {
			for k, e := range x {
				walk(e, t.Elem(), path+"."+k, unknown)
			}
			return
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for k, e := range x {
			f, ok := field(t, k)
			if !ok {
				if !newerThanSDK[strings.TrimPrefix(path+"."+k, ".")] {
					*unknown = append(*unknown, strings.TrimPrefix(path+"."+k, "."))
				}
				continue
			}
			walk(e, f.Type, path+"."+k, unknown)
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for _, e := range x {
				walk(e, t.Elem(), path+"[]", unknown)
			}
		}
	}
}

// field finds the struct field encoding/json would fill for key (exact, then case-insensitive;
// embedded structs included).
func field(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold *reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			inner := f.Type
			for inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				if g, ok := field(inner, key); ok {
					return g, true
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag := strings.Split(f.Tag.Get("json"), ",")[0]; tag == "-" {
			continue
		} else if tag != "" {
			name = tag
		}
		if name == key {
			return f, true
		}
		if fold == nil && strings.EqualFold(name, key) {
			ff := f
			fold = &ff
		}
	}
	if fold != nil {
		return *fold, true
	}
	return reflect.StructField{}, false
}

// statusResponse is DescribeContainerGroupStatus as the API reference documents it: this SDK
// version has no model for the action, so it is called through the SDK's CommonRequest.
type statusResponse struct {
	RequestId  string
	NextToken  string
	TotalCount int
	Data       []struct {
		ContainerGroupId string
		Name             string
		Namespace        string
		Uuid             string `json:"uuid"`
		Status           string
		Annotations      string
		PodStatus        json.RawMessage
	}
}

func main() {
	endpoint := flag.String("endpoint", "", "simulator host:port")
	region := flag.String("region", "", "region id")
	ak := flag.String("ak", "", "AccessKey id")
	secret := flag.String("secret", "", "AccessKey secret")
	vswitch := flag.String("vswitch", "", "vSwitch id")
	sg := flag.String("sg", "", "security group id")
	timeout := flag.Duration("timeout", 60*time.Second, "how long a group may take to run")
	flag.Parse()
	if *endpoint == "" || *region == "" || *ak == "" || *secret == "" || *vswitch == "" || *sg == "" {
		fmt.Fprintln(os.Stderr, "usage: conformance-go -endpoint HOST:PORT -region R -ak ID -secret S -vswitch V -sg G")
		os.Exit(2)
	}
	run(*endpoint, *region, *ak, *secret, *vswitch, *sg, *timeout)
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func run(endpoint, region, ak, secret, vswitch, sg string, timeout time.Duration) {
	eciClient, err := eci.NewClientWithAccessKey(region, ak, secret)
	if !check("eci client", err) {
		return
	}
	vpcClient, err := vpc.NewClientWithAccessKey(region, ak, secret)
	if !check("vpc client", err) {
		return
	}
	at := func(r requests.AcsRequest) {
		r.SetDomain(endpoint)
		r.SetScheme("http")
	}

	// VPC DescribeVSwitches
	vs := vpc.CreateDescribeVSwitchesRequest()
	at(vs)
	vs.VSwitchId = vswitch
	vsRes, err := vpcClient.DescribeVSwitches(vs)
	if check("DescribeVSwitches (SDK parse)", err) {
		check("DescribeVSwitches (strict)", strict(vsRes.GetHttpContentBytes(), vpc.CreateDescribeVSwitchesResponse()))
		check("DescribeVSwitches answers the vSwitch with free IPs", expect(len(vsRes.VSwitches.VSwitch) == 1 && vsRes.VSwitches.VSwitch[0].VSwitchId == vswitch && vsRes.VSwitches.VSwitch[0].AvailableIpAddressCount > 0, "got %+v", vsRes.VSwitches.VSwitch))
	}

	// CreateContainerGroup, twice under one ClientToken
	token := fmt.Sprintf("conformance-go-%d", time.Now().UnixNano())
	create := func() (*eci.CreateContainerGroupResponse, error) {
		r := eci.CreateCreateContainerGroupRequest()
		at(r)
		r.ContainerGroupName = "conformance-go"
		r.VSwitchId = vswitch
		r.SecurityGroupId = sg
		r.RestartPolicy = "Always"
		r.ClientToken = token
		r.Tag = &[]eci.CreateContainerGroupTag{{Key: "suite", Value: "conformance-go"}}
		r.Container = &[]eci.CreateContainerGroupContainer{{
			Name:           "web",
			Image:          "nginx:1.27",
			Port:           &[]eci.CreateContainerGroupPort{{Port: "80", Protocol: "TCP"}},
			EnvironmentVar: &[]eci.CreateContainerGroupEnvironmentVar{{Key: "GREETING", Value: "hi"}},
		}}
		return eciClient.CreateContainerGroup(r)
	}
	created, err := create()
	if !check("CreateContainerGroup (SDK parse)", err) {
		return
	}
	id := created.ContainerGroupId
	check("CreateContainerGroup (strict)", strict(created.GetHttpContentBytes(), eci.CreateCreateContainerGroupResponse()))
	again, err := create()
	if check("CreateContainerGroup again under the same ClientToken", err) {
		check("the same ClientToken answers the same group", expect(again.ContainerGroupId == id, "got %s, want %s", again.ContainerGroupId, id))
	}

	// DescribeContainerGroups until Running with an IP
	describe := func() (*eci.DescribeContainerGroupsResponse, error) {
		r := eci.CreateDescribeContainerGroupsRequest()
		at(r)
		r.ContainerGroupIds = fmt.Sprintf(`["%s"]`, id)
		r.WithEvent = requests.NewBoolean(true)
		return eciClient.DescribeContainerGroups(r)
	}
	var last *eci.DescribeContainerGroupsResponse
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		res, err := describe()
		if err != nil {
			check("DescribeContainerGroups (SDK parse)", err)
			return
		}
		last = res
		if len(res.ContainerGroups) == 1 && res.ContainerGroups[0].Status == "Running" && res.ContainerGroups[0].IntranetIp != "" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	check("DescribeContainerGroups (SDK parse)", nil)
	check("DescribeContainerGroups (strict)", strict(last.GetHttpContentBytes(), eci.CreateDescribeContainerGroupsResponse()))
	if check("the group runs with an IP and the request's container", expect(len(last.ContainerGroups) == 1, "got %d groups", len(last.ContainerGroups))) {
		g := last.ContainerGroups[0]
		check("group fields", expect(g.Status == "Running" && g.IntranetIp != "" && g.VSwitchId == vswitch && g.SecurityGroupId == sg && len(g.Containers) == 1 && g.Containers[0].Image == "nginx:1.27" && len(g.Tags) == 1,
			"status %s ip %q vsw %s sg %s containers %d tags %d", g.Status, g.IntranetIp, g.VSwitchId, g.SecurityGroupId, len(g.Containers), len(g.Tags)))
	}

	// DescribeContainerGroupStatus through the SDK's CommonRequest (no model in this SDK version)
	cr := requests.NewCommonRequest()
	cr.Method = "POST"
	cr.Scheme = "http"
	cr.Domain = endpoint
	cr.Product = "Eci"
	cr.Version = "2018-08-08"
	cr.ApiName = "DescribeContainerGroupStatus"
	cr.QueryParams["RegionId"] = region
	cr.QueryParams["ContainerGroupIds"] = fmt.Sprintf(`["%s"]`, id)
	st, err := eciClient.ProcessCommonRequest(cr)
	if check("DescribeContainerGroupStatus (CommonRequest)", err) {
		var body statusResponse
		if check("DescribeContainerGroupStatus (strict, documented fields)", strict(st.GetHttpContentBytes(), &body)) {
			check("DescribeContainerGroupStatus names the group", expect(len(body.Data) == 1 && body.Data[0].ContainerGroupId == id && body.Data[0].Status == "Running", "got %+v", body.Data))
		}
	}

	// DescribeMultiContainerGroupMetric
	mr := eci.CreateDescribeMultiContainerGroupMetricRequest()
	at(mr)
	mr.ContainerGroupIds = fmt.Sprintf(`["%s"]`, id)
	metrics, err := eciClient.DescribeMultiContainerGroupMetric(mr)
	if check("DescribeMultiContainerGroupMetric (SDK parse)", err) {
		check("DescribeMultiContainerGroupMetric (strict)", strict(metrics.GetHttpContentBytes(), eci.CreateDescribeMultiContainerGroupMetricResponse()))
		check("DescribeMultiContainerGroupMetric answers the group", expect(len(metrics.MonitorDatas) == 1 && metrics.MonitorDatas[0].ContainerGroupId == id, "got %+v", metrics.MonitorDatas))
	}

	// DeleteContainerGroup, then an unknown id
	del := eci.CreateDeleteContainerGroupRequest()
	at(del)
	del.ContainerGroupId = id
	deleted, err := eciClient.DeleteContainerGroup(del)
	if check("DeleteContainerGroup (SDK parse)", err) {
		check("DeleteContainerGroup (strict)", strict(deleted.GetHttpContentBytes(), eci.CreateDeleteContainerGroupResponse()))
	}
	// A deleted group may still be listed for a moment (List is eventually consistent).
	gone := false
	for end := time.Now().Add(timeout); !gone && time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		res, err := describe()
		if err != nil {
			check("DescribeContainerGroups after the delete", err)
			break
		}
		gone = len(res.ContainerGroups) == 0
	}
	check("the deleted group leaves the list", expect(gone, "still listed after %s", timeout))
	unknown := eci.CreateDeleteContainerGroupRequest()
	at(unknown)
	unknown.ContainerGroupId = "eci-doesnotexist0000000"
	_, err = eciClient.DeleteContainerGroup(unknown)
	var serverErr *errors.ServerError
	check("an unknown id is a ServerError the SDK decodes (code, HTTP status, request id)", expect(stderrors.As(err, &serverErr) && serverErr.ErrorCode() == "InvalidContainerGroupId.NotFound" && serverErr.HttpStatus() == 404 && serverErr.RequestId() != "", "got %v", err))
}

func expect(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}
