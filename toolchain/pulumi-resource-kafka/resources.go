// Package kafkaprovider describes how the upstream Terraform Kafka provider
// (github.com/Mongey/terraform-provider-kafka) is presented to Pulumi.
//
// The names chosen here must match what the npm package @pulumi/kafka asks
// the engine for (resource types, function tokens, property names), because
// Plinth uses that SDK against a plugin built from this module.
package kafkaprovider

import (
	"github.com/Mongey/terraform-provider-kafka/kafka"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Version is the Pulumi package version this plugin answers to. It must equal
// the "pulumi.version" field of the @pulumi/kafka npm package in use, since
// the SDK asks the engine for a plugin of exactly that version.
const Version = "3.13.2"

// Package is the Pulumi package name.
const Package = "kafka"

// resourceToken builds "kafka:index/<lowerCamel>:<Name>".
func resourceToken(name string) tokens.Type {
	lower := string(name[0]|0x20) + name[1:]
	return tokens.Type(Package + ":index/" + lower + ":" + name)
}

// functionToken builds "kafka:index:<name>" (the SDK invokes data sources
// with this short form, not "kafka:index/<name>:<name>").
func functionToken(name string) tokens.ModuleMember {
	return tokens.ModuleMember(Package + ":index:" + name)
}

// envDefault is a config default taken from an environment variable, or the
// given value when the variable is unset.
func envDefault(env string, value interface{}) *tfbridge.SchemaInfo {
	return &tfbridge.SchemaInfo{Default: &tfbridge.DefaultInfo{EnvVars: []string{env}, Value: value}}
}

// Provider returns the bridge description of the Kafka provider.
func Provider() tfbridge.ProviderInfo {
	mit := tfbridge.MITLicenseType
	info := tfbridge.ProviderInfo{
		P:                 shimv2.NewProvider(kafka.Provider()),
		Name:              Package,
		Version:           Version,
		GitHubOrg:         "Mongey",
		Description:       "A Pulumi package for creating and managing Kafka.",
		Keywords:          []string{"pulumi", "kafka"},
		License:           "Apache-2.0",
		TFProviderLicense: &mit,
		Config: map[string]*tfbridge.SchemaInfo{
			"sasl_mechanism":  envDefault("KAFKA_SASL_MECHANISM", "plain"),
			"skip_tls_verify": envDefault("KAFKA_SKIP_VERIFY", false),
			"tls_enabled":     envDefault("KAFKA_ENABLE_TLS", true),
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"kafka_topic": {Tok: resourceToken("Topic")},
			"kafka_acl": {
				Tok: resourceToken("Acl"),
				// "resourceName" and "resourceType" would clash with names the
				// SDKs reserve, so the Pulumi package prefixes them.
				Fields: map[string]*tfbridge.SchemaInfo{
					"resource_name": {Name: "aclResourceName"},
					"resource_type": {Name: "aclResourceType"},
				},
			},
			"kafka_quota":                 {Tok: resourceToken("Quota")},
			"kafka_user_scram_credential": {Tok: resourceToken("UserScramCredential")},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"kafka_topic":  {Tok: functionToken("getTopic")},
			"kafka_topics": {Tok: functionToken("getTopics")},
		},
	}
	// A topic without an explicit name gets "<resource name>-<random suffix>".
	info.SetAutonaming(255, "-")
	return info
}
