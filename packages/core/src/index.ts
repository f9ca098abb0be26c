export * from "./domain/types.ts";
export * from "./plugin/define-plugin.ts";
export * from "./engine/engine.ts";
