export { assertTimeZone, nextWindowStart, parseAwsCron, type AwsCron } from './next-window';
