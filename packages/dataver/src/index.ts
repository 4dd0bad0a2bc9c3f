// Public library API of dataver.
export * from './errors.js';
export type * from './meta/types.js';
export type * from './storage/types.js';
