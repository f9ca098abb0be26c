// Command pulumi-tfgen-kafka generates the Pulumi package schema of the Kafka
// provider at build time: `pulumi-tfgen-kafka schema --out DIR` writes
// DIR/schema.json, which cmd/pulumi-resource-kafka then embeds.
package main

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	pschema "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/spf13/afero"

	kafkaprovider "plinth/toolchain/pulumi-resource-kafka"
)

func main() {
	info := kafkaprovider.Provider()
	if err := info.P.InternalValidate(); err != nil {
		panic(fmt.Sprintf("internal validation of the kafka provider failed: %v", err))
	}
	tfgen.MainWithCustomGenerate(kafkaprovider.Package, kafkaprovider.Version, info, generate)
}

// generate runs the bridge's generator, then, for the schema target, writes
// the package version into schema.json: the bridge leaves it out on purpose
// (its own release builds add it afterwards), but the engine and the SDK
// expect the plugin's schema to carry the version it is installed under.
func generate(opts tfgen.GeneratorOptions) error {
	g, err := tfgen.NewGenerator(opts)
	if err != nil {
		return err
	}
	if _, err := g.Generate(); err != nil {
		return err
	}
	if opts.Language != tfgen.Schema {
		return nil
	}
	raw, err := afero.ReadFile(opts.Root, "schema.json")
	if err != nil {
		return fmt.Errorf("reading generated schema: %w", err)
	}
	var spec pschema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("parsing generated schema: %w", err)
	}
	spec.Version = opts.Version
	out, err := json.MarshalIndent(spec, "", "    ")
	if err != nil {
		return err
	}
	return afero.WriteFile(opts.Root, "schema.json", append(out, '\n'), 0o644)
}
