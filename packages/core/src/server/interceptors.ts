import { Code, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { toConnectError } from "./error-translator.ts";

async function* translated<T>(stream: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (error) {
    throw toConnectError(error);
  }
}

/**
 * Outermost interceptor: every error leaves as a Connect error with the
 * right code (streams included), and every call is counted and timed.
 */
export function createObservingInterceptor(metrics: Metrics, logger: Logger): Interceptor {
  return (next) => async (req) => {
    const labels = { service: req.service.name, method: req.method.name };
    const stop = metrics.requestDuration.startTimer(labels);
    const record = (code: string) => {
      stop();
      metrics.requests.inc({ ...labels, code });
    };
    try {
      const res = await next(req);
      if (res.stream) return { ...res, message: translated(res.message) };
      record("ok");
      return res;
    } catch (error) {
      const connectError = toConnectError(error);
      record(Code[connectError.code]);
      if (connectError.code === Code.Internal) {
        logger.error({ err: error, rpc: `${labels.service}/${labels.method}` }, "request failed unexpectedly");
      }
      throw connectError;
    }
  };
}
