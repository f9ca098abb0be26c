// One Plinth replica on a shared PostgreSQL store (changes, jobs and Pulumi state), with the real
// Pulumi engine and kafka.topic. Test-only.
// Usage: node --import tsx postgres-replica-server.ts <dataDir> <bootstrapServers> <postgresUrl>
import { startRealService } from "./real-service.ts";

const [dataDir, bootstrapServers, url] = process.argv.slice(2);
if (!dataDir || !bootstrapServers || !url)
  throw new Error("usage: postgres-replica-server.ts <dataDir> <bootstrap> <url>");

const service = await startRealService(bootstrapServers, { dataDir, config: { store: { postgres: { url } } } });
process.stdout.write(`READY ${service.url}\n`);
