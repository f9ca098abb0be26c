// The third-party modules the benchmark uses, re-exported from @plinth/core's
// own dependencies. bench/ is not a workspace package (it has no package.json
// and no entry in pnpm-workspace.yaml), so a bare `import "@connectrpc/connect"`
// would not resolve from this folder. Importing the very files core resolves
// also guarantees one copy of each library (same real path, same module
// instance) in the server, the baseline and the load generator.
export {
  Code,
  ConnectError,
  createClient,
  type Client,
  type ServiceImpl,
} from "../packages/core/node_modules/@connectrpc/connect/dist/esm/index.js";
export {
  connectNodeAdapter,
  createConnectTransport,
} from "../packages/core/node_modules/@connectrpc/connect-node/dist/esm/index.js";
export {
  create,
  fromBinary,
  toBinary,
  type JsonObject,
} from "../packages/core/node_modules/@bufbuild/protobuf/dist/esm/index.js";
export { timestampFromDate } from "../packages/core/node_modules/@bufbuild/protobuf/dist/esm/wkt/index.js";

// zod's package.json sends TypeScript to index.d.cts and Node to index.js; core
// sees zod that way, so the plugin's schema must too (index.d.ts is a second,
// incompatible copy of the same types).
import * as zodModule from "../packages/core/node_modules/zod/index.js";
import type * as zodTypes from "../packages/core/node_modules/zod/index.cjs";
export const z = (zodModule as unknown as typeof zodTypes).z;
