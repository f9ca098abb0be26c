/** The spec of the fake server's one resource type, `test.widget`. */
export interface WidgetSpec {
  size: number;
  color?: string;
  /** Makes the change need one approval. */
  review?: boolean;
  /** Makes the change fail with this error. */
  fail?: string;
}

// Published the way a plugin package publishes its spec type. The type name is
// the tests' own, so it cannot clash with a real plugin's declaration.
declare module "@plinth/sdk" {
  interface ResourceTypes {
    "test.widget": WidgetSpec;
  }
}
