import { ChangeStatus, type Change, type ChangeEvent } from "@plinth/sdk";
import type { CliContext, Session } from "./cli-context.ts";
import { ExitCode } from "./exit-codes.ts";
import { describeChange, describeEvent } from "./format.ts";

/**
 * Follows change `id` until it is final (`--wait`, `watch`), printing each
 * event as progress, and returns the final change. A change that did not
 * succeed sets exit code 1 and says why on stderr; it is not an exception,
 * since the command itself worked.
 */
export async function followChange(
  ctx: CliContext,
  session: Session,
  id: string,
  onEvent?: (event: ChangeEvent) => void,
): Promise<Change> {
  const { client, print } = session;
  const final = await client.waitForChange(id, {
    onEvent: (event) => {
      onEvent?.(event);
      print.progress(describeEvent(event));
    },
  });
  if (final.status !== ChangeStatus.SUCCEEDED) {
    ctx.exitCode = ExitCode.ChangeNotSucceeded;
    print.error(`error: ${describeChange(final)}`);
  }
  return final;
}
