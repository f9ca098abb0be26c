import { z } from "zod";

/**
 * Who owns a topic or user. `team` is the resource's owning team, the one
 * fact Plinth authorizes by: a requester names its own team, an admin any,
 * and changing it is an ownership transfer the receiving team approves.
 */
export const Owner = z.strictObject({
  team: z.string().min(1).max(63),
  /** Where to reach the owners: a channel, an email, a pager alias. */
  contact: z.string().min(1).max(256),
});
export type Owner = z.output<typeof Owner>;

/** A cluster named in the plugin settings. */
export const ClusterName = z.string().min(1).max(63);
