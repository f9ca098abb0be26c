import { useCallback, useEffect, useState } from "react";
import { describeError } from "./errors.ts";

export interface Loaded<T> {
  data?: T;
  /** In words, ready to show. */
  error?: string;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `key` changes (and on reload), cancelling the previous call. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ error: describeError(error), loading: false });
      },
    );
    return () => controller.abort();
    // `load` is a fresh closure each render; `key` says when its inputs changed.
  }, [key, tick]);
  return { ...state, reload };
}
