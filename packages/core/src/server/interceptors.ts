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

interface MethodSeries {
  duration: { startTimer: () => () => void };
  counted: (code: string) => { inc: () => void };
}

/**
 * Outermost interceptor: every error leaves as a Connect error with the
 * right code (streams included), and every call is counted and timed.
 */
export function createObservingInterceptor(metrics: Metrics, logger: Logger): Interceptor {
  // prom-client hashes the label values on every observation; the series of
  // each method are looked up once instead (the method descriptors are constants).
  const series = new WeakMap<object, MethodSeries>();
  const seriesOf = (service: string, method: string, key: object): MethodSeries => {
    let found = series.get(key);
    if (!found) {
      const counters = new Map<string, { inc: () => void }>();
      found = {
        duration: metrics.requestDuration.labels({ service, method }),
        counted: (code) => {
          let counter = counters.get(code);
          if (!counter) {
            counter = metrics.requests.labels({ service, method, code });
            counters.set(code, counter);
          }
          return counter;
        },
      };
      series.set(key, found);
    }
    return found;
  };
  // No closures made per call: run under tsx, every named one costs a defineProperty for its name.
  return (next) => async (req) => {
    const { duration, counted } = seriesOf(req.service.name, req.method.name, req.method);
    const stop = duration.startTimer();
    try {
      const res = await next(req);
      if (res.stream) return { ...res, message: translated(res.message) };
      stop();
      counted("ok").inc();
      return res;
    } catch (error) {
      const connectError = toConnectError(error);
      stop();
      counted(Code[connectError.code]).inc();
      if (connectError.code === Code.Internal) {
        logger.error({ err: error, rpc: `${req.service.name}/${req.method.name}` }, "request failed unexpectedly");
      }
      throw connectError;
    }
  };
}
