import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. The kernel picks it, so
 * parallel test files do not collide on a fixed number.
 */
export async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("could not read the port the kernel picked"));
      });
    });
  });
}
