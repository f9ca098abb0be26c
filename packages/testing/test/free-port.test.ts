import { createServer } from "node:net";
import { expect, it } from "vitest";
import { ephemeralRangeStart, freePort } from "../src/free-port.ts";

// A port inside the ephemeral range can be taken by any outgoing connection before the server that was
// promised it binds it (make start's replicas bind theirs minutes later): freePort stays below that range.
it("freePort gives ports below the kernel's ephemeral range, free and spread out", async () => {
  const rangeStart = ephemeralRangeStart();
  expect(rangeStart, "this Linux machine's ip_local_port_range").toBeGreaterThan(1024);
  const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
  for (const port of ports) expect(port).toBeLessThan(rangeStart!);
  expect(new Set(ports).size).toBeGreaterThan(40);
  const port = ports[0]!;
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  server.close();
});
