import { type DescMessage, type MessageShape, isMessage } from "@bufbuild/protobuf";
import { plainJson } from "./plain-json.ts";

/**
 * Gives `message` (and every message inside it) a `toJSON`, so `JSON.stringify` prints its
 * {@link plainJson} form instead of throwing on its int64 fields (bigint). The method is not
 * enumerable: the message compares, clones and encodes as before. Returns the same object.
 */
export function jsonSerializable<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): MessageShape<Desc> {
  Object.defineProperty(message, "toJSON", {
    value: () => plainJson(schema, message),
    enumerable: false,
    configurable: true,
  });
  // Only what is a message object: a google.protobuf.Struct or Value field already holds plain JSON.
  const fields = message as unknown as Record<string, unknown>;
  for (const field of schema.fields) {
    if (field.fieldKind === "message") {
      const value = fields[field.localName];
      if (isMessage(value, field.message)) jsonSerializable(field.message, value);
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      for (const item of fields[field.localName] as unknown[]) {
        if (isMessage(item, field.message)) jsonSerializable(field.message, item);
      }
    }
  }
  return message;
}
