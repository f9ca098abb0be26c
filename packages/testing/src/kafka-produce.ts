import { Producer, stringSerializers } from "@platformatic/kafka";

/** Writes `messages` to `topic` on a PLAINTEXT broker and waits for the broker's acknowledgement. */
export async function produce(
  bootstrapServers: string,
  topic: string,
  messages: { key: string; value: string }[],
): Promise<void> {
  const producer = new Producer({
    clientId: "plinth-test-producer",
    bootstrapBrokers: [bootstrapServers],
    serializers: stringSerializers,
  });
  try {
    await producer.send({ messages: messages.map((message) => ({ topic, ...message })) });
  } finally {
    await producer.close();
  }
}
