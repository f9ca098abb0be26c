// The Pulumi dynamic provider of `kafka.schema`: one subject in a schema
// registry, through its Confluent-compatible REST API.
//
// Pulumi serializes `schemaProvider` into the stack's state and runs it in
// its own provider host process, so this is plain CommonJS that needs no
// build step and everything it uses is defined here (Node's global fetch).
//
// Every step is safe to repeat after a crash: a subject whose latest version
// is the declared schema is not registered again, nor a level set that is
// already set (so `create` also adopts a subject that is as declared). Deleting is the registry's soft delete, then (only when the spec
// says hard) the permanent one.
"use strict";
/* global fetch, AbortSignal -- Node's own globals in the provider host. */

const contentType = "application/vnd.schemaregistry.v1+json";

async function call(url, method, path, body) {
  const response = await fetch(url + path, {
    method,
    headers: body === undefined ? { accept: contentType } : { accept: contentType, "content-type": contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = new Error(
      `schema registry answered ${response.status} to ${method} ${path}: ${(parsed && parsed.message) || text}`,
    );
    error.errorCode = parsed && parsed.error_code;
    error.status = response.status;
    throw error;
  }
  return parsed;
}

const notFound = (error) => error.errorCode === 40401 || error.errorCode === 40402 || error.status === 404;
const subjectPath = (subject) => `/subjects/${encodeURIComponent(subject)}`;

/** Avro and JSON Schema compare by their JSON; Protobuf by its text. */
function canonical(format, schema) {
  if (format === "PROTOBUF") return String(schema).trim();
  try {
    return JSON.stringify(JSON.parse(schema));
  } catch {
    return String(schema).trim();
  }
}

async function setLevel(props) {
  await call(props.url, "PUT", `/config/${encodeURIComponent(props.subject)}`, {
    compatibility: props.compatibility,
  });
}

async function register(props) {
  await call(props.url, "POST", `${subjectPath(props.subject)}/versions`, {
    schema: props.schema,
    schemaType: props.format,
    references: props.references || [],
  });
}

/** The subject's latest version and level as the registry has them; undefined when it has no live version. */
async function observe(props) {
  let latest;
  try {
    latest = await call(props.url, "GET", `${subjectPath(props.subject)}/versions/latest`);
  } catch (error) {
    if (notFound(error)) return undefined;
    throw error;
  }
  const config = await call(props.url, "GET", `/config/${encodeURIComponent(props.subject)}`);
  return { latest, compatibility: config.compatibilityLevel };
}

/**
 * The outputs after converging: the inputs, with what the registry assigned (version, schema id). What the subject
 * already has is left alone: a latest version that is the declared schema is not registered again (the registry would
 * add a version for the same schema written differently), and a level already set is not set again. So adopting a
 * subject that is as declared changes nothing, and a retry after a crash repeats nothing.
 */
async function converge(props) {
  const before = await observe(props);
  const levelDiffers = !before || before.compatibility !== props.compatibility;
  // An existing subject gets its new level first, so the registry checks the new schema under it (NONE lets anything
  // in); a new subject has no config to set before its first version.
  if (before && levelDiffers) await setLevel(props);
  if (!before || !sameVersion(before.latest, props)) await register(props);
  if (!before && levelDiffers) await setLevel(props);
  const observed = await observe(props);
  if (!observed) throw new Error(`subject "${props.subject}" has no live version right after registering it`);
  return { ...props, version: observed.latest.version, schemaId: observed.latest.id };
}

/** The registry's latest version is the declared schema, with the declared references. */
function sameVersion(latest, props) {
  const format = latest.schemaType || "AVRO";
  return (
    format === props.format &&
    canonical(format, latest.schema) === canonical(props.format, props.schema) &&
    JSON.stringify(latest.references || []) === JSON.stringify(props.references || [])
  );
}

function changed(olds, news) {
  return (
    olds.format !== news.format ||
    canonical(news.format, olds.schema) !== canonical(news.format, news.schema) ||
    JSON.stringify(olds.references || []) !== JSON.stringify(news.references || []) ||
    olds.compatibility !== news.compatibility ||
    olds.deletion !== news.deletion
  );
}

exports.schemaProvider = {
  async create(inputs) {
    return { id: inputs.subject, outs: await converge(inputs) };
  },

  /** The latest version and level in the registry (refresh and drift); a subject with no live version reads as gone. */
  async read(id, props) {
    const observed = await observe(props);
    if (!observed) return { id: "", props: {} };
    const format = observed.latest.schemaType || "AVRO";
    return {
      id,
      props: {
        ...props,
        format,
        // Keep the recorded text when it means the same schema, so a refresh of an unchanged subject plans nothing.
        schema:
          canonical(format, observed.latest.schema) === canonical(props.format, props.schema)
            ? props.schema
            : observed.latest.schema,
        references: observed.latest.references || [],
        compatibility: observed.compatibility,
        version: observed.latest.version,
        schemaId: observed.latest.id,
      },
    };
  },

  async diff(_id, olds, news) {
    const replaces = ["url", "subject"].filter((key) => olds[key] !== news[key]);
    return { changes: replaces.length > 0 || changed(olds, news), replaces, deleteBeforeReplace: true };
  },

  async update(_id, _olds, news) {
    return { outs: await converge(news) };
  },

  /** Soft delete; then the permanent delete when the spec says hard. Gone already is fine. */
  async delete(_id, props) {
    try {
      await call(props.url, "DELETE", subjectPath(props.subject));
    } catch (error) {
      // 40404: already soft-deleted.
      if (!notFound(error) && error.errorCode !== 40404) throw error;
    }
    if (props.deletion !== "hard") return;
    try {
      await call(props.url, "DELETE", `${subjectPath(props.subject)}?permanent=true`);
    } catch (error) {
      if (!notFound(error)) throw error;
    }
  },
};
