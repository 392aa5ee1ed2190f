export * from './client.ts';
export * from './errors.ts';
export * from './types.ts';
export { parseTimestamp } from './parse.ts';
export type { ProvisionRequest } from './provision.ts';
