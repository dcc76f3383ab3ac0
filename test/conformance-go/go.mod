module eci-virtual-node/test/conformance-go

go 1.24

require github.com/aliyun/alibaba-cloud-sdk-go v1.63.107 // indirect
