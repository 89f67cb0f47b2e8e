/**
 * Backstage backend plugin that signs requests with AWS SigV4 and forwards them.
 *
 * New backend: `backend.add(import('backstage-plugin-proxy-sigv4-backend'))`.
 * Legacy backend: `apiRouter.use('/proxy-sigv4', await createRouter({ logger, config, httpAuth }))`.
 *
 * @packageDocumentation
 */
export { proxySigV4Plugin as default } from './plugin';
export { createRouter } from './router';
export type { RouterOptions } from './router';
export { ProxySigV4ConfigError, readProxySigV4Settings } from './config';
export type { ProxySigV4Settings } from './config';
export type { BackstageErrorBody } from './errors';
export { AWS_ROLE_RESOURCE_TYPE, temporaryCredentialsPermission } from './temporary-credentials';
