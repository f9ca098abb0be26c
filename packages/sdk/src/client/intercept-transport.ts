import { create, isMessage, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";

type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;

/**
 * Wraps a transport that was built elsewhere (e.g. `createRouterTransport` in
 * tests) so that `interceptors` run around each of its calls, in the same
 * order as a transport's own `interceptors` option: the first is outermost.
 * Each interceptor's `next` runs one whole call on `transport`.
 */
export function interceptTransport(transport: Transport, interceptors: Interceptor[]): Transport {
  const chain = (inner: AnyFn): AnyFn => interceptors.reduceRight((next, interceptor) => interceptor(next), inner);
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const run = chain(async (req) => {
        const r = req as UnaryRequest<typeof method.input, typeof method.output>;
        return await transport.unary(r.method, r.signal, timeoutMs, r.header, r.message, r.contextValues);
      });
      const req: UnaryRequest<typeof method.input, typeof method.output> = {
        stream: false,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: "",
        signal: signal ?? new AbortController().signal,
        header: new Headers(header),
        contextValues: contextValues ?? createContextValues(),
        message: toMessage(method.input, input),
      };
      return (await run(req as UnaryRequest)) as UnaryResponse<typeof method.input, typeof method.output>;
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const run = chain(async (req) => {
        const r = req as StreamRequest<typeof method.input, typeof method.output>;
        return await transport.stream(r.method, r.signal, timeoutMs, r.header, r.message, r.contextValues);
      });
      const req: StreamRequest<typeof method.input, typeof method.output> = {
        stream: true,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: "",
        signal: signal ?? new AbortController().signal,
        header: new Headers(header),
        contextValues: contextValues ?? createContextValues(),
        message: mapMessages(method.input, input),
      };
      return (await run(req as StreamRequest)) as StreamResponse<typeof method.input, typeof method.output>;
    },
  };
}

function toMessage<D extends DescMessage>(desc: D, input: MessageInitShape<D>): MessageShape<D> {
  return isMessage(input, desc) ? input : create(desc, input);
}

async function* mapMessages<D extends DescMessage>(
  desc: D,
  input: AsyncIterable<MessageInitShape<D>>,
): AsyncIterable<MessageShape<D>> {
  for await (const message of input) {
    yield toMessage(desc, message);
  }
}
