import { useEffect, useState } from "react";

/** Rows that fill a 900 px window at 100 % zoom with room to scroll: what a person sees first. */
export const firstScreenful = 40;

/**
 * How many of a list's `length` rows to render: on the page's first render, a
 * screenful; a frame after that is painted, all of them. A 500-row table costs
 * the browser hundreds of milliseconds of style and layout before anything
 * shows; a screenful costs a tenth of that. Every row still ends up in the DOM
 * (unlike a virtualised table), so find-in-page, Tab order, screen readers and
 * printing see the whole list. Only the first render is split: a reload or
 * "Load more" later renders every row at once, so a person scrolled down the
 * list is never thrown back up by a table that shrinks for a frame.
 * `onComplete` runs once, when every row is first in the DOM.
 */
export function useFirstScreenful(length: number, onComplete?: () => void): number {
  const [full, setFull] = useState(false);
  const count = full ? length : Math.min(length, firstScreenful);
  const complete = length > 0 && count >= length;
  const split = !full && length > firstScreenful;
  useEffect(() => {
    if (complete) onComplete?.();
    // Once per list: when its rows are first all there.
  }, [complete]);
  useEffect(() => {
    if (!split) return;
    // The second frame's callback runs after the first frame's paint; a task queued in the first can run before it.
    let frame = requestAnimationFrame(() => {
      frame = requestAnimationFrame(() => setFull(true));
    });
    return () => cancelAnimationFrame(frame);
  }, [split]);
  return count;
}
