import type { JsonObject } from "@bufbuild/protobuf";
import { type Resource, ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { resourceStatusLabel } from "../format.ts";
import { Link, resourceHref } from "../router.tsx";
import { readAllResources } from "../read-all.ts";
import { useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";
import { ErrorNote } from "./ErrorNote.tsx";

/** Avro and JSON Schema laid out to read; Protobuf (or anything that is not JSON) as written. */
function readable(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema), null, 2);
  } catch {
    return schema;
  }
}

const text = (value: unknown): string => (typeof value === "string" || typeof value === "number" ? String(value) : "");

/** One subject's schema, folded until asked for: a topic may carry several long ones. */
function SchemaText({ schema, subject }: { schema: Resource; subject: string }) {
  const spec = (schema.resolvedSpec ?? schema.spec ?? {}) as JsonObject;
  return (
    <details>
      <summary>Schema of {subject}</summary>
      <pre className="schema-text" data-testid={`schema-text-${subject}`}>
        {readable(text(spec.schema))}
      </pre>
    </details>
  );
}

/**
 * The schema subjects (`kafka.schema` resources) bound to a topic, with their
 * format, level, registered version and schema: what its producers and
 * consumers agree on. Lists every managed subject and keeps the live ones on this topic.
 */
export function TopicSchemas({ topic }: { topic: Resource }) {
  const { api } = useSession();
  const cluster = text((topic.resolvedSpec ?? topic.spec)?.cluster);
  const loaded = useLoad(async (signal) => {
    const schemas = await readAllResources(api, { type: "kafka.schema" }, signal);
    const bound = schemas.filter((schema) => {
      const spec = (schema.resolvedSpec ?? schema.spec ?? {}) as JsonObject;
      return schema.status !== ResourceStatus.DELETED && spec.topic === topic.name && spec.cluster === cluster;
    });
    return bound.sort((a, b) => a.name.localeCompare(b.name));
  }, `${cluster}/${topic.name}`);
  return (
    <section aria-labelledby="schemas-heading">
      <h2 id="schemas-heading">Schemas</h2>
      <ErrorNote error={loaded.error} onRetry={loaded.reload} />
      {loaded.loading && !loaded.data && <p role="status">Loading…</p>}
      {loaded.data?.length === 0 && (
        <p className="muted" data-testid="topic-schemas-none">
          No schema subject is bound to this topic in Plinth.
        </p>
      )}
      {loaded.data && loaded.data.length > 0 && (
        <div className="table-wrap">
          <table data-testid="topic-schemas">
            <thead>
              <tr>
                <th scope="col">Subject</th>
                <th scope="col">Part</th>
                <th scope="col">Format</th>
                <th scope="col">Compatibility</th>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.map((schema) => {
                const spec = (schema.resolvedSpec ?? schema.spec ?? {}) as JsonObject;
                const outputs = (schema.outputs ?? {}) as JsonObject;
                const subject = text(spec.subject) || schema.name;
                return (
                  <tr key={schema.name} data-subject={subject}>
                    <td>
                      <Link href={resourceHref(schema.type, schema.name)}>{subject}</Link>
                      <SchemaText schema={schema} subject={subject} />
                    </td>
                    <td>{text(spec.part)}</td>
                    <td>{text(spec.format)}</td>
                    <td>{text(outputs.compatibility) || text(spec.compatibility)}</td>
                    <td>{text(outputs.version)}</td>
                    <td>{resourceStatusLabel(schema.status)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
