import { parse, toSeconds } from 'iso8601-duration';

/** ISO 8601 duration (`P7D`, `PT2S`, `PT1H30M`) → whole seconds. Throws on anything else. */
export function durationToSeconds(iso: string): number {
  if (!/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/.test(iso)) {
    throw new Error(`"${iso}" is not an ISO 8601 duration such as P7D, PT2S or PT1H30M`);
  }
  return Math.round(toSeconds(parse(iso)));
}

export function isIsoDuration(iso: string): boolean {
  try {
    durationToSeconds(iso);
    return true;
  } catch {
    return false;
  }
}
