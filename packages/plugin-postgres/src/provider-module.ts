import { createRequire } from "node:module";
import type * as ProviderHelpers from "@plinth/core/provider-helpers";
import type * as DatabaseProviderModule from "./database-provider.cjs";

/**
 * The dynamic provider's CommonJS module, loaded with Node's own require()
 * whatever loader imported this file (tsx in the service and the engine
 * child, Vite in tests), so Pulumi serializes exactly the code in the file.
 */
export const providerModule = createRequire(import.meta.url)(
  "./database-provider.cjs",
) as typeof DatabaseProviderModule;

/** Plinth's provider helpers, loaded the same way (they are CommonJS, for the provider host). */
export const providerHelpers = createRequire(import.meta.url)(
  "@plinth/core/provider-helpers",
) as typeof ProviderHelpers;
