import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";

interface FileInputs {
  file: string;
  content: string;
  mode: string;
}

const { fileProvider } = createRequire(import.meta.url)("./file-provider.cjs") as {
  fileProvider: pulumi.dynamic.ResourceProvider;
};

/** One file, managed by the dynamic provider in file-provider.cjs. */
class LocalFile extends pulumi.dynamic.Resource {
  declare readonly file: pulumi.Output<string>;
  declare readonly sha256: pulumi.Output<string>;
  constructor(name: string, inputs: FileInputs) {
    // Output-only properties are declared as undefined inputs.
    super(fileProvider, name, { ...inputs, sha256: undefined }, {});
  }
}

/** Declares the file; outputs `{ file, sha256 }`. */
export function declareFile(name: string, inputs: FileInputs) {
  const file = new LocalFile(name, inputs);
  return { file: file.file, sha256: file.sha256 };
}
