import type { OutputMap } from "@pulumi/pulumi/automation/index.js";
import type { Json } from "../../domain/types.ts";
import type { EngineOutputs } from "../engine.ts";

/**
 * Splits a stack's outputs into plain and secret ones: a key is secret when
 * the plugin lists it in `secretOutputs` or when Pulumi marks its value
 * secret (a `pulumi.secret(...)` anywhere in it). Pure.
 */
export function splitOutputs(outputs: OutputMap, secretKeys: readonly string[]): EngineOutputs {
  const result: EngineOutputs = { outputs: {}, secretOutputs: {} };
  for (const [key, { value, secret }] of Object.entries(outputs)) {
    const target = secret || secretKeys.includes(key) ? result.secretOutputs : result.outputs;
    target[key] = (value ?? null) as Json;
  }
  return result;
}
