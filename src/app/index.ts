/** Building and closing Galen's services (the composition root). */
export { adminKeyPath, bootstrapAdminKey, createGalen } from './galen.js';
export type { Galen } from './galen.js';
export { describeStores } from './stores.js';
