import { duration } from "./format.ts";

const binary = ["bytes", "KiB", "MiB", "GiB", "TiB"];

/** A summary's number in its unit, for a person: "1.5 MiB (1,572,864 bytes)", "3", "120 messages". */
export function summaryValue(value: number, unit: string): string {
  const exact = value.toLocaleString("en");
  switch (unit) {
    case "bytes": {
      let scaled = value;
      let step = 0;
      while (Math.abs(scaled) >= 1024 && step < binary.length - 1) {
        scaled /= 1024;
        step++;
      }
      return step === 0 ? `${exact} bytes` : `${scaled.toFixed(1)} ${binary[step]} (${exact} bytes)`;
    }
    case "count":
      return exact;
    case "seconds":
      return duration(value * 1000);
    default:
      return `${exact} ${unit}`;
  }
}
