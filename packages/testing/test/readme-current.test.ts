import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

const source = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");
const readme = source("../README.md");

/** The field names of one exported interface of a source file. */
function fieldsOf(file: string, name: string): string[] {
  const text = source(file);
  const start = text.search(new RegExp(`export interface ${name}(<[^{]*>)? \\{`));
  if (start < 0) throw new Error(`no interface ${name} in ${file}`);
  const body = text.slice(start, text.indexOf("\n}", start));
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((match) => match[1] ?? "");
}

// packages/testing/README.md lists every step and option of the kit: a new one that is not documented fails here.
it("the README names every option of the contract suite and of startKafka/startPostgres", () => {
  const missing = [
    ...fieldsOf("../src/contract/types.ts", "PluginContractFixtures").map((field) => `\`${field}\``),
    ...fieldsOf("../src/contract/types.ts", "RealContractFixture").map((field) => `\`real.${field}\``),
    ...fieldsOf("../src/contract/types.ts", "ContractSteps").map((field) => `\`steps.${field}\``),
    ...fieldsOf("../src/kafka.ts", "StartKafkaOptions").map((field) => `\`${field}\``),
    ...fieldsOf("../src/postgres.ts", "StartPostgresOptions").map((field) => `\`${field}\``),
  ].filter((needle) => !readme.includes(needle));
  expect(missing).toEqual([]);
});

it("the README names every step the contract suite runs", () => {
  const suite = source("../src/contract/describe-plugin-contract.ts");
  // Step titles: `const xStep = "..."`, `it("...")` and the fixed start of `it(\`...${...}\`)`.
  const titles = [
    ...[...suite.matchAll(/const \w+Step =\s+"([^"]+)"/g)].map((match) => match[1] ?? ""),
    ...[...suite.matchAll(/\bit\(\s*"([^"]+)"/g)].map((match) => match[1] ?? ""),
    ...[...suite.matchAll(/\bit\(\s*`([^`$]+)/g)].map((match) => match[1] ?? ""),
  ];
  expect(titles.length).toBeGreaterThan(10);
  expect(titles.filter((title) => !readme.includes(title.trim()))).toEqual([]);
});
